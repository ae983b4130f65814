package tailor_test

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/plugin/reservation"
)

// TestEBSVolumeLimit: 28 small pods, each with its own EBS volume, on a
// pool of m5.large only. One m5.large holds 29 pods but attaches 26
// volumes (a shared limit of 27, less the root volume the class maps), so
// the pods are bought two claims, neither reserved for more than 26.
func TestEBSVolumeLimit(t *testing.T) {
	e := newEnv(t)
	e.create(smallPool())
	const n, limit = 28, 26
	pods := e.podsWithVolumes("db", n)
	claims := e.claimsFor(pods)
	if len(claims) < 2 {
		t.Errorf("%d pods with a volume each on %d NodeClaim(s); an m5.large attaches %d", n, len(claims), limit)
	}
	for _, nc := range claims {
		recorded, err := reservation.Decode(nc.Annotations[reservation.Annotation])
		if err != nil {
			t.Fatal(err)
		}
		if len(recorded) > limit {
			t.Errorf("NodeClaim %s is reserved for %d pods with a volume each; an m5.large attaches %d", nc.Name, len(recorded), limit)
		}
		if _, ok := nc.Spec.Resources.Requests["tailor.internal/ebs-volumes"]; ok {
			t.Errorf("NodeClaim %s requests the solver's own volume count: %v", nc.Name, nc.Spec.Resources.Requests)
		}
	}
}

// TestEBSVolumeLimitOfInFlightClaims: pods that arrive after a claim was
// bought join it only as far as its volume limit allows. 20 pods with a
// volume each get an m5.large claim; of 9 more, which its pod limit of 29
// would all take, only 6 join it, as it attaches 26 volumes.
func TestEBSVolumeLimitOfInFlightClaims(t *testing.T) {
	e := newEnv(t)
	e.create(smallPool())
	const limit = 26
	first := e.podsWithVolumes("first", 20)
	if claims := e.claimsFor(first); len(claims) != 1 {
		t.Fatalf("20 pods on %d NodeClaims, want one", len(claims))
	}
	more := e.podsWithVolumes("more", 9)
	for _, nc := range e.claimsFor(append(first, more...)) {
		recorded, err := reservation.Decode(nc.Annotations[reservation.Annotation])
		if err != nil {
			t.Fatal(err)
		}
		if len(recorded) > limit {
			t.Errorf("NodeClaim %s is reserved for %d pods with a volume each; an m5.large attaches %d", nc.Name, len(recorded), limit)
		}
	}
}

// smallPool allows on-demand m5.large alone.
func smallPool() *karpv1.NodePool {
	return &karpv1.NodePool{ObjectMeta: metav1.ObjectMeta{Name: "small"}, Spec: karpv1.NodePoolSpec{Template: karpv1.NodeClaimTemplate{
		Spec: karpv1.NodeClaimTemplateSpec{
			Requirements: []karpv1.NodeSelectorRequirementWithMinValues{
				{Key: wellknown.InstanceTypeLabel, Operator: corev1.NodeSelectorOpIn, Values: []string{"m5.large"}},
				{Key: wellknown.CapacityTypeLabel, Operator: corev1.NodeSelectorOpIn, Values: []string{"on-demand"}},
			},
			NodeClassRef: &karpv1.NodeClassReference{Group: "karpenter.k8s.aws", Kind: "EC2NodeClass", Name: "default"},
		},
	}}}
}

// podsWithVolumes creates n small pods, each with a claim of its name bound
// to an EBS volume of its own.
func (e *env) podsWithVolumes(prefix string, n int) []*corev1.Pod {
	e.t.Helper()
	for i := range n {
		name := fmt.Sprintf("%s-%d", prefix, i)
		e.create(ebsVolume("pv-"+name, name), boundClaim(name, "pv-"+name))
	}
	return e.pods(prefix, n, "10m", func(p *corev1.Pod) {
		p.Spec.Containers[0].Resources.Requests[corev1.ResourceMemory] = resource.MustParse("16Mi")
		p.Spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: p.Name}}}}
	})
}

// ebsVolume is a volume of the EBS CSI driver bound to a claim in default,
// as the volume controller binds it.
func ebsVolume(name, claim string) *corev1.PersistentVolume {
	return &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PersistentVolumeSpec{
		Capacity: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}, AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
		ClaimRef:               &corev1.ObjectReference{Kind: "PersistentVolumeClaim", Namespace: "default", Name: claim},
		PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{Driver: "ebs.csi.aws.com", VolumeHandle: "vol-" + name}},
	}}
}

func boundClaim(name, volume string) *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Annotations: map[string]string{"pv.kubernetes.io/bind-completed": "yes"}},
		Spec: corev1.PersistentVolumeClaimSpec{StorageClassName: ptr.To(""), VolumeName: volume, AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}}}
}
