package fleet

import (
	"fmt"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/launcher/catalog"
)

func offering(zone, ct string, price float64, available bool) catalog.Offering {
	return catalog.Offering{Zone: zone, CapacityType: ct, Price: price, PriceKnown: true, Available: available}
}

func TestCapacityType(t *testing.T) {
	tests := []struct {
		name      string
		offerings catalog.Offerings
		want      string
	}{
		{"spot available", catalog.Offerings{offering("a", "on-demand", 1, true), offering("a", "spot", 0.3, true)}, "spot"},
		{"spot unavailable", catalog.Offerings{offering("a", "on-demand", 1, true), offering("a", "spot", 0.3, false)}, "on-demand"},
		{"on-demand only", catalog.Offerings{offering("a", "on-demand", 1, true)}, "on-demand"},
		{"nothing available", catalog.Offerings{offering("a", "on-demand", 1, false)}, ""},
		{"a reservation before spot", catalog.Offerings{offering("a", "on-demand", 1, true), offering("a", "spot", 0.3, true), offering("a", "reserved", 1e-7, true)}, "reserved"},
		{"a full reservation", catalog.Offerings{offering("a", "on-demand", 1, true), offering("a", "spot", 0.3, true), offering("a", "reserved", 1e-7, false)}, "spot"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := capacityType([]*catalog.InstanceType{{Name: "m5.large", Offerings: tc.offerings}}); got != tc.want {
				t.Errorf("capacityType = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestPoolsOneOverridePerReservedTypeAndSubnet: two reservations of a type
// in a zone are one override, the first's, since CreateFleet's answer
// names an override by type and subnet only.
func TestPoolsOneOverridePerReservedTypeAndSubnet(t *testing.T) {
	reserved := func(zone, id string) catalog.Offering {
		o := offering(zone, "reserved", 1e-7, true)
		o.ReservationID = id
		return o
	}
	types := []*catalog.InstanceType{{Name: "m5.large", Offerings: catalog.Offerings{reserved("a", "cr-1"), reserved("a", "cr-2"), reserved("b", "cr-3")}}}
	var got []string
	for _, p := range pools(types, "reserved", map[string]string{"a": "subnet-a", "b": "subnet-b"}) {
		got = append(got, p.subnet+"/"+p.offering.ReservationID)
	}
	if want := []string{"subnet-a/cr-1", "subnet-b/cr-3"}; !reflect.DeepEqual(got, want) {
		t.Errorf("pools %v, want %v", got, want)
	}
}

// TestPoolsOrderAndCap: overrides go cheapest first, skip unavailable
// offerings and zones without a subnet, and cover at most maxInstanceTypes
// types, the cheapest.
func TestPoolsOrderAndCap(t *testing.T) {
	var types []*catalog.InstanceType
	for i := range maxInstanceTypes + 5 {
		types = append(types, &catalog.InstanceType{Name: fmt.Sprintf("t%03d", i), Offerings: catalog.Offerings{
			offering("a", "on-demand", float64(100-i), true),
			offering("b", "on-demand", float64(100-i)+0.5, true),
			offering("c", "on-demand", 0.01, true),
			offering("a", "spot", 0.01, true),
			offering("b", "on-demand", 0.02, false),
		}})
	}
	got := pools(types, "on-demand", map[string]string{"a": "subnet-a", "b": "subnet-b"})
	if len(got) != 2*maxInstanceTypes {
		t.Fatalf("%d pools, want two zones of %d types", len(got), maxInstanceTypes)
	}
	if got[0].instanceType.Name != "t064" || got[0].subnet != "subnet-a" {
		t.Errorf("first pool %s in %s, want the cheapest t064 in subnet-a", got[0].instanceType.Name, got[0].subnet)
	}
	for i := 1; i < len(got); i++ {
		if got[i].offering.Price < got[i-1].offering.Price {
			t.Fatalf("pool %d is cheaper than pool %d", i, i-1)
		}
	}
	for _, p := range got {
		if p.instanceType.Name <= "t004" {
			t.Errorf("the dearest type %s made it in", p.instanceType.Name)
		}
	}
}

func TestAMIFor(t *testing.T) {
	arch := func(a string) []corev1.NodeSelectorRequirement {
		return []corev1.NodeSelectorRequirement{{Key: wellknown.ArchLabel, Operator: corev1.NodeSelectorOpIn, Values: []string{a}}}
	}
	nc := &ec2v1.EC2NodeClass{Status: ec2v1.EC2NodeClassStatus{AMIs: []ec2v1.AMI{
		{ID: "ami-arm-new", Requirements: arch("arm64")},
		{ID: "ami-x86-new", Requirements: arch("amd64")},
		{ID: "ami-x86-old", Requirements: arch("amd64")},
	}}}
	tests := []struct {
		arch, want string
	}{{"amd64", "ami-x86-new"}, {"arm64", "ami-arm-new"}, {"riscv64", ""}}
	for _, tc := range tests {
		ami, ok := amiFor(nc, &catalog.InstanceType{Labels: map[string]string{wellknown.ArchLabel: tc.arch}})
		if ami.ID != tc.want || ok != (tc.want != "") {
			t.Errorf("AMI for %s: %q, %v; want %q", tc.arch, ami.ID, ok, tc.want)
		}
	}
}

// TestNodeLabels: a node registers with the claim's labels and the labels
// its requirements decide, minus those kubelet may not set on itself.
func TestNodeLabels(t *testing.T) {
	claim := &karpv1.NodeClaim{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{wellknown.NodePoolLabel: "default", "team": "a", "node-role.kubernetes.io/worker": ""}},
		Spec: karpv1.NodeClaimSpec{
			Requirements: []karpv1.NodeSelectorRequirementWithMinValues{
				{Key: wellknown.CapacityTypeLabel, Operator: corev1.NodeSelectorOpIn, Values: []string{"spot"}},
				{Key: wellknown.InstanceTypeLabel, Operator: corev1.NodeSelectorOpIn, Values: []string{"m5.large"}},
				{Key: wellknown.ZoneLabel, Operator: corev1.NodeSelectorOpIn, Values: []string{"us-east-1a", "us-east-1b"}},
				{Key: "node.kubernetes.io/lifecycle", Operator: corev1.NodeSelectorOpIn, Values: []string{"batch"}},
				{Key: "example.kubernetes.io/custom", Operator: corev1.NodeSelectorOpIn, Values: []string{"x"}},
			},
			NodeClassRef: &karpv1.NodeClassReference{Name: "default"},
		},
	}
	want := map[string]string{
		wellknown.NodePoolLabel: "default", "team": "a", wellknown.CapacityTypeLabel: "spot",
		wellknown.InstanceTypeLabel: "m5.large", "node.kubernetes.io/lifecycle": "batch", wellknown.EC2NodeClassLabel: "default",
	}
	if got := NodeLabels(claim); !reflect.DeepEqual(got, want) {
		t.Errorf("NodeLabels = %v, want %v", got, want)
	}
	taints := NodeTaints(&karpv1.NodeClaim{Spec: karpv1.NodeClaimSpec{
		Taints:        []corev1.Taint{{Key: "a", Effect: corev1.TaintEffectNoSchedule}},
		StartupTaints: []corev1.Taint{{Key: "b", Effect: corev1.TaintEffectNoExecute}},
	}})
	if len(taints) != 3 || taints[2] != wellknown.UnregisteredNoExecuteTaint {
		t.Errorf("NodeTaints = %v, want the taints, the startup taints and the unregistered taint", taints)
	}
}
