package solver_test

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/plugin/solver"
)

// withClaims gives a pod n claims of its own.
func withClaims(n int) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		for i := range n {
			name := fmt.Sprintf("%s-data-%d", p.Name, i)
			p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: name}}})
		}
	}
}

// everyClaimIsEBS counts a pod's claims as EBS volumes, as the plugin's
// reader does for claims of the EBS CSI driver.
func everyClaimIsEBS(p *corev1.Pod) int {
	n := 0
	for _, v := range p.Spec.Volumes {
		if v.PersistentVolumeClaim != nil {
			n++
		}
	}
	return n
}

// TestEBSVolumeLimit: pods with EBS volumes are spread so that no planned
// node holds more volumes than its types can attach. An m5.large takes 29
// pods but, with a shared limit of 27 less the root volume, 26 volumes, and
// fewer again for each extra volume the class maps.
func TestEBSVolumeLimit(t *testing.T) {
	c := staticCatalog(t)
	np := seedPools(t, "01-nodepool-basic.yaml")[0].DeepCopy()
	np.Spec.Limits = nil
	np.Spec.Template.Spec.Requirements = []karpv1.NodeSelectorRequirementWithMinValues{
		{Key: wellknown.InstanceTypeLabel, Operator: corev1.NodeSelectorOpIn, Values: []string{"m5.large"}},
		{Key: wellknown.CapacityTypeLabel, Operator: corev1.NodeSelectorOpIn, Values: []string{"on-demand"}},
	}
	tests := []struct {
		name              string
		pods              int
		volumesPerPod     int
		extraBlockDevices int
		countVolumes      bool
		wantNodes         int
		wantMostVolumes   int
	}{
		{name: "pods without volumes share one node", pods: 28, wantNodes: 1, countVolumes: true},
		{name: "28 volumes need two nodes", pods: 28, volumesPerPod: 1, countVolumes: true, wantNodes: 2, wantMostVolumes: 26},
		{name: "a data volume mapped by the class takes a slot", pods: 28, volumesPerPod: 1, extraBlockDevices: 1, countVolumes: true, wantNodes: 2, wantMostVolumes: 25},
		{name: "three volumes a pod", pods: 20, volumesPerPod: 3, countVolumes: true, wantNodes: 3, wantMostVolumes: 24},
		{name: "volumes not counted without a counter", pods: 28, volumesPerPod: 1, wantNodes: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := pool(t, c, np)
			p.ExtraBlockDevices = tt.extraBlockDevices
			pods := make([]*corev1.Pod, tt.pods)
			for i := range pods {
				pods[i] = podWith(fmt.Sprintf("db-%d", i), "10m", "16Mi", withClaims(tt.volumesPerPod))
			}
			in := solver.Input{Pods: pods, Pools: []*solver.Pool{p}}
			if tt.countVolumes {
				in.EBSVolumes = everyClaimIsEBS
			}
			res := solver.Solve(in)
			if len(res.Unplaced) > 0 {
				t.Fatalf("unplaced: %v", res.Unplaced)
			}
			if len(res.Nodes) != tt.wantNodes {
				t.Errorf("%d nodes, want %d", len(res.Nodes), tt.wantNodes)
			}
			most := 0
			for _, n := range res.Nodes {
				volumes := 0
				for _, pod := range n.Pods {
					volumes += everyClaimIsEBS(pod)
				}
				if tt.countVolumes {
					most = max(most, volumes)
				}
				if len(n.InstanceTypes) == 0 {
					t.Errorf("node %s offers no instance type", n.Name)
				}
				if _, ok := n.Requests()[solver.ResourceEBSVolumes]; ok {
					t.Errorf("node %s requests the solver's own %s", n.Name, solver.ResourceEBSVolumes)
				}
			}
			if most != tt.wantMostVolumes {
				t.Errorf("the fullest node attaches %d volumes, want %d", most, tt.wantMostVolumes)
			}
		})
	}
}

// TestEBSVolumeLimitKeepsTypesThatAttachEnough: a node whose volumes
// outgrow a type's limit is not offered that type. m7i.large attaches 31
// volumes (dedicated), m5.large 26 (shared), and both hold 29 pods.
func TestEBSVolumeLimitKeepsTypesThatAttachEnough(t *testing.T) {
	c := staticCatalog(t)
	np := seedPools(t, "01-nodepool-basic.yaml")[0].DeepCopy()
	np.Spec.Limits = nil
	np.Spec.Template.Spec.Requirements = []karpv1.NodeSelectorRequirementWithMinValues{
		{Key: wellknown.InstanceTypeLabel, Operator: corev1.NodeSelectorOpIn, Values: []string{"m5.large", "m7i.large"}},
		{Key: wellknown.CapacityTypeLabel, Operator: corev1.NodeSelectorOpIn, Values: []string{"on-demand"}},
		{Key: wellknown.ZoneLabel, Operator: corev1.NodeSelectorOpIn, Values: []string{"us-east-1a"}},
	}
	p := pool(t, c, np)
	pods := make([]*corev1.Pod, 28)
	for i := range pods {
		pods[i] = podWith(fmt.Sprintf("db-%d", i), "10m", "16Mi", withClaims(1))
	}
	res := solver.Solve(solver.Input{Pods: pods, Pools: []*solver.Pool{p}, EBSVolumes: everyClaimIsEBS})
	if len(res.Unplaced) > 0 || len(res.Nodes) != 1 {
		t.Fatalf("%d nodes, unplaced %v; want one node", len(res.Nodes), res.Unplaced)
	}
	n := res.Nodes[0]
	if len(n.InstanceTypes) != 1 || n.InstanceTypes[0].Name != "m7i.large" {
		names := []string{}
		for _, it := range n.InstanceTypes {
			names = append(names, it.Name)
		}
		t.Errorf("node offers %v, want only m7i.large", names)
	}
}
