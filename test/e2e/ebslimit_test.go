package e2e

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/launcher/instance"
)

// TestEBSVolumeLimit: 30 pods, each with its own EBS CSI volume, on a pool
// of m5.large only. An m5.large holds 29 pods but attaches 26 volumes (a
// shared limit of 27, less the root volume): Tailor buys the pods enough
// nodes, each node registers the CSINode the EBS CSI node plugin would, with
// that limit, and no node runs more volumes than it says, so every pod runs.
func TestEBSVolumeLimit(t *testing.T) {
	e := start(t, options{})
	const pods, limit = 30, 26
	e.create(scenarioPool("ebs", "ebs",
		req(wellknown.InstanceTypeLabel, corev1.NodeSelectorOpIn, "m5.large"),
		req(wellknown.CapacityTypeLabel, corev1.NodeSelectorOpIn, wellknown.CapacityTypeOnDemand)))
	for i := range pods {
		name := fmt.Sprintf("ebs-%d", i)
		pv, pvc := prebound(name)
		e.create(pv, pvc, ebsPod(name))
	}

	running := e.running("ebs", pods)
	nodes := e.nodesOf(running)
	if len(nodes) < 2 {
		t.Errorf("%d pods with a volume each run on %d node(s); an m5.large attaches %d", pods, len(nodes), limit)
	}
	perNode := map[string]int{}
	for _, p := range running {
		perNode[p.Spec.NodeName]++
	}
	for name, n := range nodes {
		csiNode, err := e.kube.StorageV1().CSINodes().Get(e.ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Errorf("node %s has no CSINode: %v", name, err)
			continue
		}
		id, err := instance.ParseProviderID(n.Spec.ProviderID)
		if err != nil {
			t.Fatal(err)
		}
		if len(csiNode.Spec.Drivers) != 1 {
			t.Errorf("CSINode %s has drivers %+v, want ebs.csi.aws.com alone", name, csiNode.Spec.Drivers)
			continue
		}
		d := csiNode.Spec.Drivers[0]
		if d.Name != "ebs.csi.aws.com" || d.NodeID != id || len(d.TopologyKeys) != 1 || d.TopologyKeys[0] != "topology.ebs.csi.aws.com/zone" {
			t.Errorf("CSINode %s: driver %s, node id %s, topology keys %v; want ebs.csi.aws.com on %s by topology.ebs.csi.aws.com/zone",
				name, d.Name, d.NodeID, d.TopologyKeys, id)
		}
		if d.Allocatable == nil || d.Allocatable.Count == nil || *d.Allocatable.Count != limit {
			t.Errorf("CSINode %s of an %s allows %+v volumes, want %d", name, n.Labels[wellknown.InstanceTypeLabel], d.Allocatable, limit)
			continue
		}
		if perNode[name] > int(*d.Allocatable.Count) {
			t.Errorf("node %s runs %d pods with a volume each, its CSINode allows %d", name, perNode[name], *d.Allocatable.Count)
		}
	}
}

// prebound is an EBS CSI volume and its claim, bound to each other from
// the start, as a volume made by hand is.
func prebound(name string) (*corev1.PersistentVolume, *corev1.PersistentVolumeClaim) {
	size := corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}
	rwo := []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}
	pv := &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pv-" + name}, Spec: corev1.PersistentVolumeSpec{
		Capacity: size, AccessModes: rwo,
		ClaimRef:               &corev1.ObjectReference{Kind: "PersistentVolumeClaim", Namespace: namespace, Name: name},
		PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{Driver: "ebs.csi.aws.com", VolumeHandle: "vol-" + name}},
	}}
	pvc := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace}, Spec: corev1.PersistentVolumeClaimSpec{
		StorageClassName: ptr.To(""), VolumeName: pv.Name, AccessModes: rwo,
		Resources: corev1.VolumeResourceRequirements{Requests: size},
	}}
	return pv, pvc
}

// ebsPod is a small pod of the ebs scenario that mounts the claim of its
// name.
func ebsPod(name string) *corev1.Pod {
	spec := scenarioWorkload("ebs", "ebs", 1, "10m", nil).Spec.Template
	spec.Spec.Containers[0].Resources.Requests[corev1.ResourceMemory] = resource.MustParse("16Mi")
	spec.Spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{
		PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: name}}}}
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: spec.Labels}, Spec: spec.Spec}
}
