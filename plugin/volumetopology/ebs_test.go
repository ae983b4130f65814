package volumetopology

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestEBSVolumes(t *testing.T) {
	csi := func(name, driver string) *corev1.PersistentVolume {
		return &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PersistentVolumeSpec{
			PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{Driver: driver, VolumeHandle: name}},
		}}
	}
	inTree := &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pv-intree"}, Spec: corev1.PersistentVolumeSpec{
		PersistentVolumeSource: corev1.PersistentVolumeSource{AWSElasticBlockStore: &corev1.AWSElasticBlockStoreVolumeSource{VolumeID: "vol-1"}},
	}}
	efs := class("efs", storagev1.VolumeBindingImmediate)
	efs.Provisioner = "efs.csi.aws.com"
	r := reader(t,
		csi("pv-ebs", "ebs.csi.aws.com"), csi("pv-efs", "efs.csi.aws.com"), inTree,
		class("gp3", storagev1.VolumeBindingWaitForFirstConsumer), efs,
		claim("bound-ebs", "gp3", "pv-ebs"), claim("bound-efs", "efs", "pv-efs"), claim("bound-intree", "", "pv-intree"),
		claim("unbound-ebs", "gp3", ""), claim("unbound-efs", "efs", ""), claim("no-class", "", ""),
		claim("web-0-scratch", "gp3", ""),
	)
	withClaims := func(names ...string) *corev1.Pod {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-0", Namespace: "db"}}
		for _, n := range names {
			pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{Name: n, VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: n}}})
		}
		return pod
	}
	ephemeral := withClaims("bound-ebs")
	ephemeral.Spec.Volumes = append(ephemeral.Spec.Volumes, corev1.Volume{Name: "scratch", VolumeSource: corev1.VolumeSource{Ephemeral: &corev1.EphemeralVolumeSource{}}},
		corev1.Volume{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})

	tests := []struct {
		name string
		pod  *corev1.Pod
		want int
	}{
		{name: "no volumes", pod: withClaims(), want: 0},
		{name: "bound to the EBS CSI driver", pod: withClaims("bound-ebs"), want: 1},
		{name: "bound to another driver", pod: withClaims("bound-efs"), want: 0},
		{name: "bound to an in-tree EBS volume", pod: withClaims("bound-intree"), want: 1},
		{name: "unbound, EBS class", pod: withClaims("unbound-ebs"), want: 1},
		{name: "unbound, other class or none", pod: withClaims("unbound-efs", "no-class"), want: 0},
		{name: "missing claim", pod: withClaims("missing"), want: 0},
		{name: "one claim mounted twice counts once", pod: withClaims("bound-ebs", "bound-ebs", "unbound-ebs"), want: 2},
		{name: "generic ephemeral volume's claim", pod: ephemeral, want: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := r.EBSVolumes(tt.pod); got != tt.want {
				t.Errorf("EBSVolumes = %d, want %d", got, tt.want)
			}
		})
	}
}
