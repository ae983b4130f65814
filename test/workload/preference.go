package workload

import (
	"fmt"
	"math/rand"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// PreferenceZone is the zone the preference pods prefer: the first zone of
// Karpenter's fake instance types.
const PreferenceZone = "test-zone-1"

// PreferencePods makes the n pods of Karpenter's preference benchmark
// (makePreferencePods in sigs.k8s.io/karpenter's
// pkg/controllers/provisioning/scheduling/scheduling_benchmark_test.go):
// copies of one pod labelled app: nginx, with one request drawn, CPU then
// memory, from seed 42 and the sets of DiversePods, that prefers
//   - a node in PreferenceZone (weight 1), which can be met;
//   - no other app: nginx pod in its zone (weight 10), which only three
//     pods can have;
//   - no other app: nginx pod on its node (weight 1), which can be met.
func PreferencePods(n int) []*corev1.Pod {
	rng := rand.New(rand.NewSource(42))
	cpu := resource.NewMilliQuantity(cpuMillis[rng.Intn(len(cpuMillis))], resource.DecimalSI)
	memory := resource.NewQuantity(memoryMi[rng.Intn(len(memoryMi))]<<20, resource.BinarySI)
	nginx := func() *metav1.LabelSelector {
		return &metav1.LabelSelector{MatchLabels: map[string]string{"app": "nginx"}}
	}
	pods := make([]*corev1.Pod, n)
	for i := range pods {
		name := fmt.Sprintf("preference-%d", i)
		pods[i] = &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: Namespace, UID: types.UID(name), Labels: map[string]string{"app": "nginx"}},
			Spec: corev1.PodSpec{
				Containers: []corev1.Container{{Name: "app", Image: "pause", Resources: corev1.ResourceRequirements{
					Requests: corev1.ResourceList{corev1.ResourceCPU: *cpu, corev1.ResourceMemory: *memory},
				}}},
				Affinity: &corev1.Affinity{
					NodeAffinity: &corev1.NodeAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []corev1.PreferredSchedulingTerm{{
						Weight: 1, Preference: corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{
							{Key: corev1.LabelTopologyZone, Operator: corev1.NodeSelectorOpIn, Values: []string{PreferenceZone}},
						}},
					}}},
					PodAntiAffinity: &corev1.PodAntiAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{
						{Weight: 10, PodAffinityTerm: corev1.PodAffinityTerm{LabelSelector: nginx(), TopologyKey: corev1.LabelTopologyZone}},
						{Weight: 1, PodAffinityTerm: corev1.PodAffinityTerm{LabelSelector: nginx(), TopologyKey: corev1.LabelHostname}},
					}},
				},
			},
		}
	}
	return pods
}
