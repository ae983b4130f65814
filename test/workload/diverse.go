// Package workload makes the pods of the benchmarks, so that Tailor's
// figures can be read next to Karpenter's.
package workload

import (
	"fmt"
	"math/rand"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Namespace is the namespace of the pods made here.
const Namespace = "default"

// The label keys of Karpenter's diverse pods, spelt as Karpenter spells
// them ("my-affininity" included), so selectors match alike.
const (
	LabelKey         = "my-label"
	AffinityLabelKey = "my-affininity"
)

// DiversePods makes the n pods of Karpenter's scheduling benchmark
// (makeDiversePods in sigs.k8s.io/karpenter's
// pkg/controllers/provisioning/scheduling/scheduling_benchmark_test.go), in
// its order and with its random draws from seed 42: n/5 each of
//   - pods without constraint, labelled my-label: <a-g>;
//   - pods spread over zones (maxSkew 1, DoNotSchedule), labelled
//     my-label: <a-g> and counting the pods of another draw of my-label;
//   - the same spread over hostnames;
//   - pods with required affinity by zone to their own label
//     my-affininity: <a-g>;
//   - pods labelled app: nginx with required anti-affinity by hostname to
//     app: nginx, so no two share a node;
//
// and pods without constraint for the remainder. Requests are drawn from
// CPU {100m, 250m, 500m, 1, 1.5} and memory {100Mi, 256Mi, 512Mi, 1Gi, 2Gi,
// 4Gi}. The pods are named diverse-<i>, with UIDs alike, in Namespace, and
// are not bound to any node.
func DiversePods(n int) []*corev1.Pod {
	g := &diverse{rng: rand.New(rand.NewSource(42))}
	part := n / 5
	g.generic(part)
	g.spread(part, corev1.LabelTopologyZone)
	g.spread(part, corev1.LabelHostname)
	g.affinity(part, corev1.LabelTopologyZone)
	g.antiAffinity(part, corev1.LabelHostname)
	g.generic(n - len(g.pods))
	return g.pods
}

// diverse draws the pods in Karpenter's order: each pod's labels, then its
// selector's, then its CPU and its memory.
type diverse struct {
	rng  *rand.Rand
	pods []*corev1.Pod
}

var (
	labelValues = []string{"a", "b", "c", "d", "e", "f", "g"}
	cpuMillis   = []int64{100, 250, 500, 1000, 1500}
	memoryMi    = []int64{100, 256, 512, 1024, 2048, 4096}
)

func (g *diverse) value() string { return labelValues[g.rng.Intn(len(labelValues))] }

// add makes the next pod with its labels, drawing its requests.
func (g *diverse) add(labels map[string]string) *corev1.Pod {
	name := fmt.Sprintf("diverse-%d", len(g.pods))
	cpu := resource.NewMilliQuantity(cpuMillis[g.rng.Intn(len(cpuMillis))], resource.DecimalSI)
	memory := resource.NewQuantity(memoryMi[g.rng.Intn(len(memoryMi))]<<20, resource.BinarySI)
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: Namespace, UID: types.UID(name), Labels: labels},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "pause", Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: *cpu, corev1.ResourceMemory: *memory},
		}}}},
	}
	g.pods = append(g.pods, p)
	return p
}

func (g *diverse) generic(n int) {
	for range n {
		g.add(map[string]string{LabelKey: g.value()})
	}
}

func (g *diverse) spread(n int, key string) {
	for range n {
		labels := map[string]string{LabelKey: g.value()}
		selector := map[string]string{LabelKey: g.value()}
		p := g.add(labels)
		p.Spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{
			MaxSkew: 1, TopologyKey: key, WhenUnsatisfiable: corev1.DoNotSchedule,
			LabelSelector: &metav1.LabelSelector{MatchLabels: selector},
		}}
	}
}

func (g *diverse) affinity(n int, key string) {
	for range n {
		labels := map[string]string{AffinityLabelKey: g.value()}
		p := g.add(labels)
		p.Spec.Affinity = &corev1.Affinity{PodAffinity: &corev1.PodAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
			TopologyKey: key, LabelSelector: &metav1.LabelSelector{MatchLabels: copyLabels(labels)},
		}}}}
	}
}

func (g *diverse) antiAffinity(n int, key string) {
	for range n {
		labels := map[string]string{"app": "nginx"}
		p := g.add(labels)
		p.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
			TopologyKey: key, LabelSelector: &metav1.LabelSelector{MatchLabels: copyLabels(labels)},
		}}}}
	}
}

// copyLabels keeps a selector apart from the labels it selects, so that
// changing a pod's labels does not change what it selects.
func copyLabels(in map[string]string) map[string]string {
	out := make(map[string]string, len(in))
	for k, v := range in {
		out[k] = v
	}
	return out
}
