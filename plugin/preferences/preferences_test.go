package preferences

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func term(key string) corev1.PodAffinityTerm {
	return corev1.PodAffinityTerm{TopologyKey: key, LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}}
}

func zoneIn(zones ...string) corev1.NodeSelectorTerm {
	return corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: corev1.LabelTopologyZone, Operator: corev1.NodeSelectorOpIn, Values: zones}}}
}

// preferring is a pod with one of each kind of preference, and a required
// arch.
func preferring() *corev1.Pod {
	arch := corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: corev1.LabelArchStable, Operator: corev1.NodeSelectorOpIn, Values: []string{"arm64"}}}}
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-0", Labels: map[string]string{"app": "web"}}, Spec: corev1.PodSpec{
		Affinity: &corev1.Affinity{
			PodAffinity: &corev1.PodAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{
				{Weight: 50, PodAffinityTerm: term(corev1.LabelTopologyZone)}}},
			PodAntiAffinity: &corev1.PodAntiAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{
				{Weight: 80, PodAffinityTerm: term(corev1.LabelHostname)}, {Weight: 20, PodAffinityTerm: term("rack")}}},
			NodeAffinity: &corev1.NodeAffinity{
				RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{arch}},
				PreferredDuringSchedulingIgnoredDuringExecution: []corev1.PreferredSchedulingTerm{
					{Weight: 10, Preference: zoneIn("us-east-1a")}, {Weight: 90, Preference: zoneIn("us-east-1b")}}},
		},
		TopologySpreadConstraints: []corev1.TopologySpreadConstraint{
			{MaxSkew: 1, TopologyKey: corev1.LabelTopologyZone, WhenUnsatisfiable: corev1.ScheduleAnyway},
			{MaxSkew: 2, TopologyKey: corev1.LabelHostname, WhenUnsatisfiable: corev1.DoNotSchedule},
		},
	}}
}

func TestRequired(t *testing.T) {
	p := preferring()
	if got := Relaxable(p); got != 6 {
		t.Fatalf("Relaxable = %d, want 6 (1 affinity, 2 anti-affinity, 2 node affinity, 1 spread)", got)
	}
	for _, tc := range []struct {
		relaxed        int
		affinity, anti []string // topology keys required
		nodeZone       string   // zone ANDed into the required term, "" for none
		anywaySpread   bool     // the zone spread kept, now DoNotSchedule
		gaveUp         string
	}{
		{relaxed: 0, affinity: []string{"topology.kubernetes.io/zone"}, anti: []string{"kubernetes.io/hostname", "rack"}, nodeZone: "us-east-1b", anywaySpread: true},
		{relaxed: 1, anti: []string{"kubernetes.io/hostname", "rack"}, nodeZone: "us-east-1b", anywaySpread: true,
			gaveUp: "preferred pod affinity (weight 50, topology topology.kubernetes.io/zone)"},
		// The heavier anti-affinity term goes first, as in Karpenter.
		{relaxed: 2, anti: []string{"rack"}, nodeZone: "us-east-1b", anywaySpread: true, gaveUp: "preferred pod anti-affinity (weight 80, topology kubernetes.io/hostname)"},
		// The heavier node term goes first; the heaviest kept is required.
		{relaxed: 4, nodeZone: "us-east-1a", anywaySpread: true, gaveUp: "preferred node affinity (weight 90)"},
		{relaxed: 5, anywaySpread: true, gaveUp: "preferred node affinity (weight 10)"},
		{relaxed: 6, gaveUp: "ScheduleAnyway topology spread over topology.kubernetes.io/zone (maxSkew 1)"},
	} {
		got, gaveUp := Required(p, tc.relaxed)
		if !equality.Semantic.DeepEqual(p, preferring()) {
			t.Fatal("the pod given was changed, not copied")
		}
		if len(gaveUp) != tc.relaxed || (tc.gaveUp != "" && !strings.Contains(gaveUp[len(gaveUp)-1], tc.gaveUp)) {
			t.Errorf("relaxed %d: gave up %q, want %d ending with %q", tc.relaxed, gaveUp, tc.relaxed, tc.gaveUp)
		}
		a := got.Spec.Affinity
		var affinity, anti []string
		for _, term := range a.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution {
			affinity = append(affinity, term.TopologyKey)
		}
		for _, term := range a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution {
			anti = append(anti, term.TopologyKey)
		}
		if strings.Join(affinity, ",") != strings.Join(tc.affinity, ",") || strings.Join(anti, ",") != strings.Join(tc.anti, ",") {
			t.Errorf("relaxed %d: required affinity %v, anti-affinity %v; want %v, %v", tc.relaxed, affinity, anti, tc.affinity, tc.anti)
		}
		if len(a.PodAffinity.PreferredDuringSchedulingIgnoredDuringExecution)+len(a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution)+
			len(a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution) > 0 {
			t.Errorf("relaxed %d: preferences left preferred", tc.relaxed)
		}
		exprs := a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms[0].MatchExpressions
		zone := ""
		if len(exprs) == 2 {
			zone = exprs[1].Values[0]
		}
		if exprs[0].Key != corev1.LabelArchStable || zone != tc.nodeZone {
			t.Errorf("relaxed %d: required node terms %v, want arch and zone %q", tc.relaxed, exprs, tc.nodeZone)
		}
		spreads := got.Spec.TopologySpreadConstraints
		if tc.anywaySpread != (len(spreads) == 2) || spreads[len(spreads)-1].TopologyKey != corev1.LabelHostname {
			t.Errorf("relaxed %d: spreads %v", tc.relaxed, spreads)
		}
		for _, c := range spreads {
			if c.WhenUnsatisfiable != corev1.DoNotSchedule {
				t.Errorf("relaxed %d: spread over %s still ScheduleAnyway", tc.relaxed, c.TopologyKey)
			}
		}
	}
}

func TestRequiredLeavesPlainPods(t *testing.T) {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "plain"}}
	if got, gaveUp := Required(p, 0); got != p || gaveUp != nil {
		t.Errorf("a pod without preferences was copied or gave up %v", gaveUp)
	}
}
