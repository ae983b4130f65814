package requirements

import (
	"maps"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
)

func TestNewRequirementsIntersectsSameKey(t *testing.T) {
	r := NewRequirements(
		NewRequirement("zone", in, "a", "b"),
		NewRequirement("zone", in, "b", "c"),
		NewRequirement("arch", in, "amd64"),
	)
	if got, want := r.String(), "arch In [amd64], zone In [b]"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestAddDoesNotModifySharedRequirements(t *testing.T) {
	shared := NewRequirement("zone", in, "a", "b")
	r1 := NewRequirements(shared)
	r2 := NewRequirements(shared)
	r1.Add(NewRequirement("zone", in, "a"))
	if got := r1.Get("zone").String(); got != "zone In [a]" {
		t.Errorf("r1 zone = %q", got)
	}
	if got := r2.Get("zone").String(); got != "zone In [a b]" {
		t.Errorf("r2 zone changed to %q", got)
	}
	if got := shared.String(); got != "zone In [a b]" {
		t.Errorf("shared requirement changed to %q", got)
	}
}

func TestGetMissingKey(t *testing.T) {
	r := NewRequirements(NewRequirement("zone", in, "a"))
	got := r.Get("team")
	if got.Key != "team" {
		t.Errorf("Key = %q", got.Key)
	}
	if got.String() != "team Exists or DoesNotExist" {
		t.Errorf("String() = %q", got.String())
	}
	if got.Operator() != exists || !got.AllowsAbsent() || got.Empty() || got.Len() == 0 {
		t.Errorf("not unconstrained: op %s absent %v empty %v", got.Operator(), got.AllowsAbsent(), got.Empty())
	}
	for _, v := range []string{"", "a", "5"} {
		if !got.Has(v) {
			t.Errorf("Has(%q) = false", v)
		}
	}
	// It is the identity of Intersection, for every shape of requirement.
	for _, x := range []*Requirement{
		NewRequirement("team", in, "a"), NewRequirement("team", notIn, "a"),
		NewRequirement("team", exists), NewRequirement("team", dne),
		NewRequirement("team", gt, "3"), NewRequirement("team", lt, "3"),
		NewRequirement("team", in), NewRequirementWithMinValues("team", in, intPtr(1), "a", "b"),
	} {
		if a, b := got.Intersection(x).String(), x.Intersection(got).String(); a != x.String() || b != x.String() {
			t.Errorf("unconstrained ∩ %s = %q / %q", x, a, b)
		}
	}
	if r.Has("team") || len(r) != 1 {
		t.Error("Get added the missing key")
	}
	if !r.Has("zone") || r.Get("zone").String() != "zone In [a]" {
		t.Error("Get of a held key does not return it")
	}
}

func TestKeys(t *testing.T) {
	r := NewRequirements(NewRequirement("a", exists), NewRequirement("b", dne))
	if got, want := r.Keys(), sets.New("a", "b"); !got.Equal(want) {
		t.Fatalf("Keys() = %v, want %v", sets.List(got), sets.List(want))
	}
}

func TestLabels(t *testing.T) {
	r := NewRequirements(
		NewRequirement("team", in, "blue"),
		NewRequirement("tier", in, "a", "b"),
		NewRequirement("owner", notIn, "x"),
		NewRequirement("env", exists),
		NewRequirement("legacy", dne),
		NewRequirement("nothing", in),
		NewRequirement(wellknown.InstanceGenerationLabel, gt, "5").Intersection(NewRequirement(wellknown.InstanceGenerationLabel, lt, "7")),
		NewRequirement(wellknown.ArchLabel, in, "arm64"),
		NewRequirement(wellknown.NodePoolLabel, in, "default"),
		NewRequirement(wellknown.HostnameLabel, in, "ip-10-0-0-1"),
		NewRequirement(wellknown.EC2NodeClassLabel, in, "default"),
		NewRequirement(wellknown.InitializedLabel, in, "true"),
		NewRequirement(wellknown.RegisteredLabel, in, "true"),
	)
	want := map[string]string{
		"team":                  "blue",
		wellknown.ArchLabel:     "arm64",
		wellknown.NodePoolLabel: "default",
	}
	if got := r.Labels(); !maps.Equal(got, want) {
		t.Fatalf("Labels() = %v, want %v", got, want)
	}
}

func TestNodeSelectorRequirements(t *testing.T) {
	r := NewRequirements(
		NewRequirementWithMinValues("family", in, intPtr(2), "m7i", "c7i", "r7i"),
		NewRequirement("team", exists).Intersection(NewRequirement("team", notIn, "red")),
		NewRequirement("gen", gt, "5").Intersection(NewRequirement("gen", lt, "9")).Intersection(NewRequirement("gen", notIn, "7")),
		NewRequirement("legacy", dne),
		NewRequirement("owner", notIn, "x"),
		NewRequirement("cpu", lt, "17"),
	)
	r.Add(r.Get("anything")) // unconstrained: no spelling
	want := []karpv1.NodeSelectorRequirementWithMinValues{
		{Key: "cpu", Operator: lt, Values: []string{"17"}},
		{Key: "family", Operator: in, Values: []string{"c7i", "m7i", "r7i"}, MinValues: intPtr(2)},
		{Key: "gen", Operator: gt, Values: []string{"5"}},
		{Key: "gen", Operator: lt, Values: []string{"9"}},
		{Key: "gen", Operator: notIn, Values: []string{"7"}},
		{Key: "legacy", Operator: dne},
		{Key: "owner", Operator: notIn, Values: []string{"x"}},
		{Key: "team", Operator: exists},
		{Key: "team", Operator: notIn, Values: []string{"red"}},
	}
	got := r.NodeSelectorRequirements()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("NodeSelectorRequirements() =\n%+v\nwant\n%+v", got, want)
	}
	back := FromNodeSelectorRequirementsWithMinValues(got...)
	for key, req := range r {
		if a, b := back.Get(key).String(), req.String(); a != b {
			t.Errorf("round trip of %q: %q, want %q", key, a, b)
		}
	}
	// The output is the caller's: changing it leaves r alone.
	got[1].Values[0] = "zzz"
	*got[1].MinValues = 9
	if s := r.Get("family").String(); s != "family In [c7i m7i r7i] minValues 2" {
		t.Errorf("output aliases the requirement: %q", s)
	}
}

func TestRequirementsString(t *testing.T) {
	r := FromNodeSelectorRequirements(
		corev1.NodeSelectorRequirement{Key: "zone", Operator: in, Values: []string{"b", "a"}},
		corev1.NodeSelectorRequirement{Key: "arch", Operator: in, Values: []string{"amd64"}},
		corev1.NodeSelectorRequirement{Key: "gen", Operator: gt, Values: []string{"5"}},
	)
	want := "arch In [amd64], gen Gt 5, zone In [a b]"
	for range 20 { // map order varies between iterations
		if got := r.String(); got != want {
			t.Fatalf("String() = %q, want %q", got, want)
		}
	}
	if got := (Requirements{}).String(); got != "" {
		t.Errorf("empty String() = %q", got)
	}
}

func TestFromLabels(t *testing.T) {
	r := FromLabels(map[string]string{"team": "blue", "empty": ""})
	if got, want := r.String(), `empty In [""], team In [blue]`; got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
	if !r.Get("empty").Has("") || r.Get("empty").Empty() {
		t.Fatal(`label with empty value does not admit ""`)
	}
}

func TestFromNodePool(t *testing.T) {
	np := &karpv1.NodePool{}
	np.Name = "default"
	np.Spec.Template.ObjectMeta.Labels = map[string]string{"team": "blue", "tier": "a"}
	np.Spec.Template.Spec.Requirements = []karpv1.NodeSelectorRequirementWithMinValues{
		{Key: "tier", Operator: in, Values: []string{"a", "b"}},
		{Key: wellknown.InstanceFamilyLabel, Operator: in, Values: []string{"m7i", "c7i"}, MinValues: intPtr(2)},
	}
	got := FromNodePool(np).String()
	want := "karpenter.k8s.aws/instance-family In [c7i m7i] minValues 2, karpenter.sh/nodepool In [default], team In [blue], tier In [a]"
	if got != want {
		t.Fatalf("FromNodePool() =\n%s\nwant\n%s", got, want)
	}
}
