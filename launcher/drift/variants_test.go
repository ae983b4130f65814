package drift

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
)

// TestAMIDriftFollowsTheVariant: with an alias's builds in the status, a
// GPU node that runs the standard build has drifted to the NVIDIA one,
// while a node without GPUs on the standard build has not.
func TestAMIDriftFollowsTheVariant(t *testing.T) {
	amd64 := corev1.NodeSelectorRequirement{Key: wellknown.ArchLabel, Operator: corev1.NodeSelectorOpIn, Values: []string{wellknown.ArchAMD64}}
	nc := &ec2v1.EC2NodeClass{ObjectMeta: metav1.ObjectMeta{Name: "default"}}
	nc.Status.AMIs = []ec2v1.AMI{
		{ID: "ami-standard", Name: "standard", Requirements: []corev1.NodeSelectorRequirement{amd64,
			{Key: wellknown.InstanceAcceleratorCountLabel, Operator: corev1.NodeSelectorOpDoesNotExist},
			{Key: wellknown.InstanceGPUCountLabel, Operator: corev1.NodeSelectorOpDoesNotExist}}},
		{ID: "ami-nvidia", Name: "nvidia", Requirements: []corev1.NodeSelectorRequirement{amd64,
			{Key: wellknown.InstanceGPUCountLabel, Operator: corev1.NodeSelectorOpExists}}},
	}
	claim := func(labels map[string]string) *karpv1.NodeClaim {
		c := &karpv1.NodeClaim{ObjectMeta: metav1.ObjectMeta{Name: "c", Labels: labels}}
		c.Status.ImageID = "ami-standard"
		return c
	}
	if f := amiDrift(nc, claim(map[string]string{wellknown.ArchLabel: wellknown.ArchAMD64})); f != nil {
		t.Errorf("a CPU node on the standard build drifted: %+v", f)
	}
	f := amiDrift(nc, claim(map[string]string{wellknown.ArchLabel: wellknown.ArchAMD64, wellknown.InstanceGPUCountLabel: "1"}))
	if f == nil || f.reason != ec2v1.DriftReasonAMIDrift || !strings.Contains(f.message, "ami-nvidia") {
		t.Errorf("a GPU node on the standard build: %+v, want AMIDrift to ami-nvidia", f)
	}
}
