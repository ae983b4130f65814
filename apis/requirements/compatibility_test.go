package requirements

import (
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
)

func TestIntersects(t *testing.T) {
	tests := []struct {
		name    string
		a, b    Requirements
		wantErr string
	}{
		{
			name: "shared key with a common value",
			a:    NewRequirements(NewRequirement("zone", in, "a", "b")),
			b:    NewRequirements(NewRequirement("zone", in, "b", "c")),
		},
		{
			name:    "shared key without a common value",
			a:       NewRequirements(NewRequirement("zone", in, "a")),
			b:       NewRequirements(NewRequirement("zone", in, "b")),
			wantErr: `key "zone": zone In [a] and zone In [b] cannot both hold`,
		},
		{
			name: "keys on one side only are not looked at",
			a:    NewRequirements(NewRequirement("zone", in, "a")),
			b:    NewRequirements(NewRequirement("team", in, "blue"), NewRequirement("arch", in)),
		},
		{
			name: "both sides allow a missing label",
			a:    NewRequirements(NewRequirement("team", dne)),
			b:    NewRequirements(NewRequirement("team", notIn, "red")),
		},
		{
			name:    "Exists against DoesNotExist",
			a:       NewRequirements(NewRequirement("team", exists)),
			b:       NewRequirements(NewRequirement("team", dne)),
			wantErr: `key "team": team Exists and team DoesNotExist cannot both hold`,
		},
		{
			name:    "Exists and NotIn against DoesNotExist",
			a:       NewRequirements(NewRequirement("team", exists).Intersection(NewRequirement("team", notIn, "red"))),
			b:       NewRequirements(NewRequirement("team", dne)),
			wantErr: `key "team": team Exists and NotIn [red] and team DoesNotExist cannot both hold`,
		},
		{
			name:    "every conflict, in key order",
			a:       NewRequirements(NewRequirement("zone", in, "a"), NewRequirement("arch", in, "amd64"), NewRequirement("os", in, "linux")),
			b:       NewRequirements(NewRequirement("zone", in, "b"), NewRequirement("arch", in, "arm64"), NewRequirement("os", in, "linux")),
			wantErr: `key "arch": arch In [amd64] and arch In [arm64] cannot both hold; key "zone": zone In [a] and zone In [b] cannot both hold`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.a.Intersects(tt.b)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Intersects() = %v, want nil", err)
				}
				if err := tt.b.Intersects(tt.a); err != nil {
					t.Fatalf("reversed Intersects() = %v, want nil", err)
				}
				return
			}
			if err == nil || err.Error() != tt.wantErr {
				t.Fatalf("Intersects() = %v, want %s", err, tt.wantErr)
			}
			if tt.b.Intersects(tt.a) == nil {
				t.Fatal("reversed Intersects() = nil, want an error")
			}
			var conflict *ConflictError
			if !errors.As(err, &conflict) || conflict.Existing == nil || conflict.Incoming == nil {
				t.Fatalf("error %v does not unwrap to a *ConflictError with both sides", err)
			}
			if conflict.Existing != tt.a[conflict.Key] || conflict.Incoming != tt.b[conflict.Key] {
				t.Fatal("ConflictError sides are not the receiver's and the argument's")
			}
		})
	}
}

// TestCompatibleVersusIntersects shows where the two differ: keys that only
// the pod's side constrains.
func TestCompatibleVersusIntersects(t *testing.T) {
	pool := NewRequirements(
		NewRequirement(wellknown.ZoneLabel, in, "us-east-1a", "us-east-1b"),
		NewRequirement("team", in, "blue", "green"),
	)
	tests := []struct {
		name          string
		pod           *Requirement
		intersects    bool
		compatible    bool
		compatibleErr string
	}{
		{name: "custom key the pool defines, common value", pod: NewRequirement("team", in, "blue"), intersects: true, compatible: true},
		{name: "custom key the pool defines, no common value", pod: NewRequirement("team", in, "red"), compatibleErr: `key "team": team In [blue green] and team In [red] cannot both hold`},
		{name: "custom key the pool does not define, In", pod: NewRequirement("owner", in, "x"), intersects: true,
			compatibleErr: `key "owner": owner In [x] needs the label, which is neither defined nor well-known, so no node would carry it`},
		{name: "custom key the pool does not define, Exists", pod: NewRequirement("owner", exists), intersects: true,
			compatibleErr: `key "owner": owner Exists needs the label, which is neither defined nor well-known, so no node would carry it`},
		{name: "custom key the pool does not define, Gt", pod: NewRequirement("owner", gt, "1"), intersects: true,
			compatibleErr: `key "owner": owner Gt 1 needs the label, which is neither defined nor well-known, so no node would carry it`},
		{name: "custom key the pool does not define, NotIn", pod: NewRequirement("owner", notIn, "x"), intersects: true, compatible: true},
		{name: "custom key the pool does not define, DoesNotExist", pod: NewRequirement("owner", dne), intersects: true, compatible: true},
		{name: "well-known key the pool does not define, In", pod: NewRequirement(wellknown.ArchLabel, in, "arm64"), intersects: true, compatible: true},
		{name: "well-known key the pool does not define, Exists", pod: NewRequirement(wellknown.InstanceTypeLabel, exists), intersects: true, compatible: true},
		{name: "well-known key the pool does not define, Gt", pod: NewRequirement(wellknown.InstanceCPULabel, gt, "4"), intersects: true, compatible: true},
		{name: "well-known key the pool does not define, admits nothing", pod: NewRequirement(wellknown.ArchLabel, in), intersects: true,
			compatibleErr: `key "kubernetes.io/arch": kubernetes.io/arch In [] admits nothing`},
		{name: "well-known key the pool defines, no common value", pod: NewRequirement(wellknown.ZoneLabel, in, "us-east-1c"),
			compatibleErr: `key "topology.kubernetes.io/zone": topology.kubernetes.io/zone In [us-east-1a us-east-1b] and topology.kubernetes.io/zone In [us-east-1c] cannot both hold`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := NewRequirements(tt.pod)
			if err := pool.Intersects(pod); (err == nil) != tt.intersects {
				t.Errorf("Intersects() = %v, want ok=%v", err, tt.intersects)
			}
			err := pool.Compatible(pod)
			if tt.compatible {
				if err != nil {
					t.Fatalf("Compatible() = %v, want nil", err)
				}
				return
			}
			if err == nil || err.Error() != tt.compatibleErr {
				t.Fatalf("Compatible() = %v, want %s", err, tt.compatibleErr)
			}
			var conflict *ConflictError
			if !errors.As(err, &conflict) || conflict.Key != tt.pod.Key || conflict.Incoming != tt.pod {
				t.Fatalf("error %v does not unwrap to the pod's *ConflictError", err)
			}
			if (conflict.Existing == nil) == pool.Has(tt.pod.Key) {
				t.Fatalf("Existing = %v for a key the pool defines: %v", conflict.Existing, pool.Has(tt.pod.Key))
			}
		})
	}
}

func TestMatchesLabels(t *testing.T) {
	gen := wellknown.InstanceGenerationLabel
	tests := []struct {
		name    string
		reqs    Requirements
		labels  map[string]string
		wantErr string
		absent  bool
	}{
		{name: "all satisfied", reqs: NewRequirements(NewRequirement(gen, gt, "5"), NewRequirement("team", notIn, "red")), labels: map[string]string{gen: "7"}},
		{name: "no requirements", reqs: Requirements{}, labels: map[string]string{gen: "7"}},
		{name: "Gt excludes a value", reqs: NewRequirements(NewRequirement(gen, gt, "5")), labels: map[string]string{gen: "5"},
			wantErr: `karpenter.k8s.aws/instance-generation Gt 5 excludes "5"`},
		{name: "Gt excludes a non-integer", reqs: NewRequirements(NewRequirement(gen, gt, "5")), labels: map[string]string{gen: "large"},
			wantErr: `karpenter.k8s.aws/instance-generation Gt 5 excludes "large"`},
		{name: "In needs the label", reqs: NewRequirements(NewRequirement(wellknown.ArchLabel, in, "arm64")), labels: map[string]string{},
			wantErr: `requires kubernetes.io/arch In [arm64], label absent`, absent: true},
		{name: "In excludes a value", reqs: NewRequirements(NewRequirement(wellknown.ArchLabel, in, "arm64")), labels: map[string]string{wellknown.ArchLabel: "amd64"},
			wantErr: `kubernetes.io/arch In [arm64] excludes "amd64"`},
		{name: "Exists needs the label", reqs: NewRequirements(NewRequirement("team", exists)), labels: nil,
			wantErr: `requires team Exists, label absent`, absent: true},
		{name: "Gt needs the label", reqs: NewRequirements(NewRequirement(gen, gt, "5")), labels: nil,
			wantErr: `requires karpenter.k8s.aws/instance-generation Gt 5, label absent`, absent: true},
		{name: "NotIn is met by a missing label", reqs: NewRequirements(NewRequirement("team", notIn, "red")), labels: nil},
		{name: "NotIn excludes a value", reqs: NewRequirements(NewRequirement("team", notIn, "red")), labels: map[string]string{"team": "red"},
			wantErr: `team NotIn [red] excludes "red"`},
		{name: "DoesNotExist is met by a missing label", reqs: NewRequirements(NewRequirement("team", dne)), labels: map[string]string{"other": "x"}},
		{name: "DoesNotExist excludes any value", reqs: NewRequirements(NewRequirement("team", dne)), labels: map[string]string{"team": ""},
			wantErr: `team DoesNotExist excludes ""`},
		{name: "Exists and NotIn needs the label", reqs: NewRequirements(NewRequirement("team", exists), NewRequirement("team", notIn, "red")), labels: nil,
			wantErr: `requires team Exists and NotIn [red], label absent`, absent: true},
		{name: "the smallest failing key is reported", labels: map[string]string{"b": "x", "d": "x"},
			reqs:    NewRequirements(NewRequirement("d", in, "y"), NewRequirement("c", exists), NewRequirement("b", in, "y"), NewRequirement("a", notIn, "x")),
			wantErr: `b In [y] excludes "x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for range 10 { // the answer must not depend on map order
				err := tt.reqs.MatchesLabels(tt.labels)
				if tt.wantErr == "" {
					if err != nil {
						t.Fatalf("MatchesLabels() = %v, want nil", err)
					}
					continue
				}
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("MatchesLabels() = %v, want %s", err, tt.wantErr)
				}
				var inc *IncompatibleError
				if !errors.As(err, &inc) {
					t.Fatalf("error %T is not an *IncompatibleError", err)
				}
				if inc.Absent != tt.absent || inc.Requirement != tt.reqs[inc.Key] {
					t.Fatalf("IncompatibleError = %+v", inc)
				}
				if !inc.Absent && inc.Value != tt.labels[inc.Key] {
					t.Fatalf("Value = %q, want %q", inc.Value, tt.labels[inc.Key])
				}
			}
		})
	}
}

// seedNodePool is the NodePool Tailor's examples start from.
func seedNodePool() *karpv1.NodePool {
	np := &karpv1.NodePool{}
	np.Name = "default"
	np.Spec.Template.Spec.Requirements = []karpv1.NodeSelectorRequirementWithMinValues{
		{Key: wellknown.InstanceCategoryLabel, Operator: corev1.NodeSelectorOpIn, Values: []string{"c", "m", "r"}},
		{Key: wellknown.InstanceGenerationLabel, Operator: corev1.NodeSelectorOpGt, Values: []string{"5"}},
		{Key: wellknown.CapacityTypeLabel, Operator: corev1.NodeSelectorOpIn, Values: []string{"on-demand", "spot"}},
		{Key: wellknown.ZoneLabel, Operator: corev1.NodeSelectorOpIn, Values: []string{"us-east-1a", "us-east-1b", "us-east-1c"}},
		{Key: wellknown.ArchLabel, Operator: corev1.NodeSelectorOpIn, Values: []string{"amd64"}},
	}
	return np
}

// instanceTypeLabels are the labels an instance type speaks for.
func instanceTypeLabels(name, category, family, generation, size string) map[string]string {
	return map[string]string{
		wellknown.InstanceTypeLabel:       name,
		wellknown.InstanceCategoryLabel:   category,
		wellknown.InstanceFamilyLabel:     family,
		wellknown.InstanceGenerationLabel: generation,
		wellknown.InstanceSizeLabel:       size,
		wellknown.ArchLabel:               "amd64",
		wellknown.OSLabel:                 "linux",
	}
}

// nodeLabels are the labels a node of the seed pool of that instance type,
// launched on demand in us-east-1a, would carry.
func nodeLabels(it map[string]string) map[string]string {
	labels := map[string]string{
		wellknown.ZoneLabel:         "us-east-1a",
		wellknown.CapacityTypeLabel: "on-demand",
		wellknown.NodePoolLabel:     "default",
	}
	for k, v := range it {
		labels[k] = v
	}
	return labels
}

func TestSeedNodePoolAgainstInstanceTypes(t *testing.T) {
	pool := FromNodePool(seedNodePool())
	tests := []struct {
		name         string
		labels       map[string]string
		matchErr     string // MatchesLabels on the node's labels
		intersectErr string // Intersects on the instance type's labels alone
	}{
		{
			name:         "m5.large",
			labels:       instanceTypeLabels("m5.large", "m", "m5", "5", "large"),
			matchErr:     `karpenter.k8s.aws/instance-generation Gt 5 excludes "5"`,
			intersectErr: `key "karpenter.k8s.aws/instance-generation": karpenter.k8s.aws/instance-generation Gt 5 and karpenter.k8s.aws/instance-generation In [5] cannot both hold`,
		},
		{
			name:   "m7i.large",
			labels: instanceTypeLabels("m7i.large", "m", "m7i", "7", "large"),
		},
		{
			name:     "t3.micro",
			labels:   instanceTypeLabels("t3.micro", "t", "t3", "3", "micro"),
			matchErr: `karpenter.k8s.aws/instance-category In [c m r] excludes "t"`,
			intersectErr: `key "karpenter.k8s.aws/instance-category": karpenter.k8s.aws/instance-category In [c m r] and karpenter.k8s.aws/instance-category In [t] cannot both hold; ` +
				`key "karpenter.k8s.aws/instance-generation": karpenter.k8s.aws/instance-generation Gt 5 and karpenter.k8s.aws/instance-generation In [3] cannot both hold`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := pool.MatchesLabels(nodeLabels(tt.labels))
			if got := errString(err); got != tt.matchErr {
				t.Errorf("MatchesLabels() = %q, want %q", got, tt.matchErr)
			}
			err = pool.Intersects(FromLabels(tt.labels))
			if got := errString(err); got != tt.intersectErr {
				t.Errorf("Intersects() = %q, want %q", got, tt.intersectErr)
			}
		})
	}
	// The instance type's labels alone lack the pool and offering labels,
	// which MatchesLabels, judging a whole node, reports.
	err := pool.MatchesLabels(instanceTypeLabels("m7i.large", "m", "m7i", "7", "large"))
	if err == nil || !strings.HasPrefix(err.Error(), "requires karpenter.sh/capacity-type In [on-demand spot], label absent") {
		t.Errorf("MatchesLabels() without pool labels = %v", err)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
