package workload

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// TestDiversePods: five equal kinds in Karpenter's order, the same pods on
// every call.
func TestDiversePods(t *testing.T) {
	pods := DiversePods(1003)
	if len(pods) != 1003 {
		t.Fatalf("%d pods, want 1003", len(pods))
	}
	kind := func(p *corev1.Pod) string {
		switch {
		case len(p.Spec.TopologySpreadConstraints) > 0:
			return "spread/" + p.Spec.TopologySpreadConstraints[0].TopologyKey
		case p.Spec.Affinity != nil && p.Spec.Affinity.PodAffinity != nil:
			return "affinity"
		case p.Spec.Affinity != nil && p.Spec.Affinity.PodAntiAffinity != nil:
			return "anti-affinity"
		}
		return "generic"
	}
	want := []string{"generic", "spread/" + corev1.LabelTopologyZone, "spread/" + corev1.LabelHostname, "affinity", "anti-affinity"}
	for i, p := range pods {
		w := "generic"
		if i < 1000 {
			w = want[i/200]
		}
		if got := kind(p); got != w {
			t.Fatalf("pod %d is %s, want %s", i, got, w)
		}
	}
	again := DiversePods(1003)
	for i := range pods {
		a, b := pods[i], again[i]
		if a.Name != b.Name || a.Labels[LabelKey] != b.Labels[LabelKey] || a.Labels[AffinityLabelKey] != b.Labels[AffinityLabelKey] ||
			!a.Spec.Containers[0].Resources.Requests.Cpu().Equal(*b.Spec.Containers[0].Resources.Requests.Cpu()) ||
			!a.Spec.Containers[0].Resources.Requests.Memory().Equal(*b.Spec.Containers[0].Resources.Requests.Memory()) {
			t.Fatalf("pod %d differs between calls", i)
		}
	}
}
