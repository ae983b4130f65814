package tailor_test

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
)

// TestVolumeZones: a pod gets a node in the zone its volume allows: a
// claim bound to a volume in us-east-1c, and an unbound claim of a
// WaitForFirstConsumer class that provisions in us-east-1b only. The pool
// allows all three zones; the node bought for the bound volume's pod is
// launched in the claim's first zone, and the pod binds there.
func TestVolumeZones(t *testing.T) {
	e := newEnv(t, "01-nodepool-basic.yaml")
	wffc := storagev1.VolumeBindingWaitForFirstConsumer
	e.create(&storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "gp3-b"}, Provisioner: "ebs.csi.aws.com", VolumeBindingMode: &wffc,
		AllowedTopologies: []corev1.TopologySelectorTerm{{MatchLabelExpressions: []corev1.TopologySelectorLabelRequirement{{Key: wellknown.ZoneLabel, Values: []string{"us-east-1b"}}}}}})
	e.create(&corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "scratch", Namespace: "default"}, Spec: corev1.PersistentVolumeClaimSpec{
		StorageClassName: ptr.To("gp3-b"), AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
		Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("10Gi")}}}})
	// A volume the test binds as the volume controller would.
	e.create(&corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pv-data"}, Spec: corev1.PersistentVolumeSpec{
		Capacity: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("10Gi")}, AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
		StorageClassName:       "",
		ClaimRef:               &corev1.ObjectReference{Kind: "PersistentVolumeClaim", Namespace: "default", Name: "data"},
		PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{Driver: "ebs.csi.aws.com", VolumeHandle: "vol-0c"}},
		NodeAffinity: &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{
			{Key: wellknown.ZoneLabel, Operator: corev1.NodeSelectorOpIn, Values: []string{"us-east-1c"}}}}}}},
	}})
	e.create(&corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "data", Namespace: "default", Annotations: map[string]string{"pv.kubernetes.io/bind-completed": "yes"}},
		Spec: corev1.PersistentVolumeClaimSpec{StorageClassName: ptr.To(""), VolumeName: "pv-data", AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("10Gi")}}}})

	mount := func(claim string) func(*corev1.Pod) {
		return func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{{Name: "v", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim}}}}
		}
	}
	for _, tc := range []struct {
		pod, claim, zone string
		// launch launches the node and checks the pod binds there; an
		// unbound claim's volume would need a provisioner first.
		launch bool
	}{
		{pod: "bound", claim: "data", zone: "us-east-1c", launch: true},
		{pod: "provisioned", claim: "scratch", zone: "us-east-1b"},
	} {
		pods := e.pods(tc.pod, 1, "1", mount(tc.claim))
		var nc *karpv1.NodeClaim
		for _, c := range e.claimsFor(pods) {
			if strings.Contains(c.Annotations["tailor.sh/reserved-for"], string(pods[0].UID)) {
				nc = c.DeepCopy()
			}
		}
		if nc == nil {
			t.Fatalf("no NodeClaim records pod %s", pods[0].Name)
		}
		if zones := requirementValues(nc, wellknown.ZoneLabel); !slices.Equal(zones, []string{tc.zone}) {
			t.Errorf("NodeClaim %s for pod %s, whose volume is in %s, may launch in %v", nc.Name, tc.pod, tc.zone, zones)
			continue
		}
		if tc.launch {
			node := e.launch(nc)
			if got := e.boundTo(pods[0]); got != node.Name {
				t.Errorf("pod %s bound to %q, not to node %s in %s", tc.pod, got, node.Name, tc.zone)
			}
		}
	}
}

// create creates objects, failing the test on the first error.
func (e *env) create(objs ...client.Object) {
	e.t.Helper()
	for _, o := range objs {
		if err := e.client.Create(e.ctx, o); err != nil {
			e.t.Fatalf("creating %T %s: %v", o, o.GetName(), err)
		}
	}
}
