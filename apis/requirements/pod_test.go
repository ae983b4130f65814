package requirements

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/tailor-project/tailor/apis/wellknown"
)

func expr(key string, op corev1.NodeSelectorOperator, values ...string) corev1.NodeSelectorRequirement {
	return corev1.NodeSelectorRequirement{Key: key, Operator: op, Values: values}
}

func podWith(nodeSelector map[string]string, required *corev1.NodeSelector, preferred ...corev1.PreferredSchedulingTerm) *corev1.Pod {
	pod := &corev1.Pod{}
	pod.Spec.NodeSelector = nodeSelector
	if required != nil || preferred != nil {
		pod.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution:  required,
			PreferredDuringSchedulingIgnoredDuringExecution: preferred,
		}}
	}
	return pod
}

func TestForPod(t *testing.T) {
	zone, arch, ct := wellknown.ZoneLabel, wellknown.ArchLabel, wellknown.CapacityTypeLabel
	tests := []struct {
		name string
		pod  *corev1.Pod
		want []string // String of each alternative
	}{
		{
			name: "nothing: one unconstrained alternative",
			pod:  podWith(nil, nil),
			want: []string{""},
		},
		{
			name: "nodeSelector alone",
			pod:  podWith(map[string]string{arch: "arm64", "team": "blue"}, nil),
			want: []string{"kubernetes.io/arch In [arm64], team In [blue]"},
		},
		{
			name: "affinity without required terms",
			pod: podWith(map[string]string{arch: "arm64"}, nil, corev1.PreferredSchedulingTerm{
				Weight:     10,
				Preference: corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{expr(zone, corev1.NodeSelectorOpIn, "us-east-1a")}},
			}),
			want: []string{"kubernetes.io/arch In [arm64]"},
		},
		{
			name: "nodeSelector ANDed into each of several ORed terms",
			pod: podWith(map[string]string{arch: "arm64"}, &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{
				{MatchExpressions: []corev1.NodeSelectorRequirement{expr(zone, corev1.NodeSelectorOpIn, "us-east-1a")}},
				{MatchExpressions: []corev1.NodeSelectorRequirement{
					expr(zone, corev1.NodeSelectorOpIn, "us-east-1b", "us-east-1c"),
					expr(ct, corev1.NodeSelectorOpIn, "spot"),
				}},
				{MatchExpressions: []corev1.NodeSelectorRequirement{expr("team", corev1.NodeSelectorOpDoesNotExist)}},
			}}),
			want: []string{
				"kubernetes.io/arch In [arm64], topology.kubernetes.io/zone In [us-east-1a]",
				"karpenter.sh/capacity-type In [spot], kubernetes.io/arch In [arm64], topology.kubernetes.io/zone In [us-east-1b us-east-1c]",
				"kubernetes.io/arch In [arm64], team DoesNotExist",
			},
		},
		{
			name: "expressions on one key within a term are ANDed",
			pod: podWith(nil, &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{
				{MatchExpressions: []corev1.NodeSelectorRequirement{
					expr(wellknown.InstanceCPULabel, corev1.NodeSelectorOpGt, "2"),
					expr(wellknown.InstanceCPULabel, corev1.NodeSelectorOpLt, "17"),
				}},
			}}),
			want: []string{"karpenter.k8s.aws/instance-cpu Gt 2 and Lt 17"},
		},
		{
			name: "a term contradicting the nodeSelector admits nothing",
			pod: podWith(map[string]string{arch: "amd64"}, &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{
				{MatchExpressions: []corev1.NodeSelectorRequirement{expr(arch, corev1.NodeSelectorOpIn, "arm64")}},
			}}),
			want: []string{"kubernetes.io/arch In []"},
		},
		{
			name: "empty terms select no node and are skipped",
			pod: podWith(nil, &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{
				{},
				{MatchExpressions: []corev1.NodeSelectorRequirement{expr(zone, corev1.NodeSelectorOpIn, "us-east-1a")}},
			}}),
			want: []string{"topology.kubernetes.io/zone In [us-east-1a]"},
		},
		{
			name: "only empty terms: no alternative, no node fits",
			pod:  podWith(map[string]string{arch: "amd64"}, &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{}}}),
			want: []string{},
		},
		{
			name: "no terms: no alternative, no node fits",
			pod:  podWith(nil, &corev1.NodeSelector{}),
			want: []string{},
		},
		{
			name: "matchFields are ignored",
			pod: podWith(map[string]string{arch: "amd64"}, &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{
				{MatchFields: []corev1.NodeSelectorRequirement{expr("metadata.name", corev1.NodeSelectorOpIn, "node-1")}},
			}}),
			want: []string{"kubernetes.io/arch In [amd64]"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ForPod(tt.pod)
			if got == nil {
				t.Fatal("ForPod() = nil")
			}
			if len(got) != len(tt.want) {
				t.Fatalf("ForPod() has %d alternatives %v, want %d", len(got), got, len(tt.want))
			}
			for i := range got {
				if s := got[i].String(); s != tt.want[i] {
					t.Errorf("alternative %d = %q, want %q", i, s, tt.want[i])
				}
			}
		})
	}
}

// TestForPodAlternativesAreIndependent guards against the nodeSelector's
// requirements being shared and narrowed by one term for the others.
func TestForPodAlternativesAreIndependent(t *testing.T) {
	pod := podWith(map[string]string{"team": "blue"}, &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{
		{MatchExpressions: []corev1.NodeSelectorRequirement{expr("team", corev1.NodeSelectorOpNotIn, "blue")}},
		{MatchExpressions: []corev1.NodeSelectorRequirement{expr("team", corev1.NodeSelectorOpExists)}},
	}})
	got := ForPod(pod)
	if len(got) != 2 || got[0].String() != "team In []" || got[1].String() != "team In [blue]" {
		t.Fatalf("ForPod() = %v", got)
	}
	got[0].Add(NewRequirement("zone", corev1.NodeSelectorOpIn, "a"))
	if got[1].Has("zone") {
		t.Fatal("alternatives share a map")
	}
}
