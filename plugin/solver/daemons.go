package solver

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	resourcehelper "k8s.io/component-helpers/resource"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/requirements"
)

// DaemonOverhead sums the requests of the DaemonSets whose pods would run
// on a node of the pool: they tolerate its taints and its labels meet their
// node affinity.
func DaemonOverhead(np *karpv1.NodePool, daemons []*appsv1.DaemonSet) corev1.ResourceList {
	total := corev1.ResourceList{}
	poolReqs := requirements.FromNodePool(np)
	taints := append(append([]corev1.Taint{}, np.Spec.Template.Spec.Taints...), np.Spec.Template.Spec.StartupTaints...)
	for _, ds := range daemons {
		pod := &corev1.Pod{Spec: ds.Spec.Template.Spec}
		if _, untolerated := corev1helpers.FindMatchingUntoleratedTaint(taints, pod.Spec.Tolerations, func(t *corev1.Taint) bool {
			return t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute
		}); untolerated {
			continue
		}
		compatible := false
		for _, alt := range requirements.ForPod(pod) {
			if poolReqs.Compatible(alt) == nil {
				compatible = true
				break
			}
		}
		if !compatible {
			continue
		}
		for name, q := range resourcehelper.PodRequests(pod, resourcehelper.PodResourcesOptions{}) {
			sum := total[name]
			sum.Add(q)
			total[name] = sum
		}
		pods := total[corev1.ResourcePods]
		pods.Add(*resource.NewQuantity(1, resource.DecimalSI))
		total[corev1.ResourcePods] = pods
	}
	return total
}
