package nodepool

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
)

// baseResources are reported even when zero, as Karpenter does, so that a
// pool without nodes shows 0 rather than nothing.
var baseResources = []corev1.ResourceName{
	corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourcePods, corev1.ResourceEphemeralStorage, wellknown.ResourceNodes,
}

// resources sums the capacity of the launched claims and counts them. A
// claim being deleted still holds its instance and counts until it is
// gone; a claim not launched yet holds nothing.
func resources(claims []karpv1.NodeClaim) (corev1.ResourceList, int64) {
	out := corev1.ResourceList{}
	for _, name := range baseResources {
		out[name] = resource.MustParse("0")
	}
	var nodes int64
	for i := range claims {
		claim := &claims[i]
		if !meta.IsStatusConditionTrue(claim.Status.Conditions, karpv1.ConditionTypeLaunched) {
			continue
		}
		nodes++
		for name, q := range claim.Status.Capacity {
			sum := out[name]
			sum.Add(q)
			out[name] = sum
		}
	}
	out[wellknown.ResourceNodes] = *resource.NewQuantity(nodes, resource.DecimalSI)
	return out, nodes
}
