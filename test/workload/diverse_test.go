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

// TestPreferencePods: copies of one pod, each preferring the first zone and
// preferring to be alone in its zone (weight 10) and on its node (weight 1),
// with requests from the benchmark's sets.
func TestPreferencePods(t *testing.T) {
	pods := PreferencePods(50)
	if len(pods) != 50 {
		t.Fatalf("%d pods, want 50", len(pods))
	}
	first := pods[0]
	for _, p := range pods {
		if p.Labels["app"] != "nginx" || p.Spec.Containers[0].Resources.Requests.Cpu().Cmp(*first.Spec.Containers[0].Resources.Requests.Cpu()) != 0 {
			t.Fatalf("pod %s differs from the first: %v", p.Name, p.Spec.Containers[0].Resources.Requests)
		}
		anti := p.Spec.Affinity.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution
		if len(anti) != 2 || anti[0].Weight != 10 || anti[0].PodAffinityTerm.TopologyKey != "topology.kubernetes.io/zone" || anti[1].PodAffinityTerm.TopologyKey != "kubernetes.io/hostname" {
			t.Fatalf("pod %s prefers %+v", p.Name, anti)
		}
		if pref := p.Spec.Affinity.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution; len(pref) != 1 || pref[0].Preference.MatchExpressions[0].Values[0] != PreferenceZone {
			t.Fatalf("pod %s prefers nodes %+v", p.Name, pref)
		}
	}
	if p := pods[1]; p.UID == first.UID || p.Name == first.Name {
		t.Error("two pods share a name or UID")
	}
}
