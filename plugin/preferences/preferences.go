// Package preferences buys capacity for what pods prefer, not only for what
// they require, as Karpenter does.
//
// kube-scheduler weighs preferences among the nodes that exist: preferred
// node affinity, preferred pod affinity and anti-affinity, and topology
// spread with whenUnsatisfiable: ScheduleAnyway only score. When the nodes
// are being bought, nothing stops buying the node a pod prefers, so under
// the Respect policy a pod is planned with its preferences required. A pod
// that cannot be placed so gives up one preference and is planned again,
// until it is placed or has none left to give up:
//
//  1. preferred pod affinity terms, the heaviest first;
//  2. preferred pod anti-affinity terms, the heaviest first;
//  3. preferred node affinity terms, the heaviest first;
//  4. ScheduleAnyway topology spread constraints, in order.
//
// This is Karpenter's order, so a pod gets the capacity it would get there.
// The heaviest goes first because a heavy preference is the likeliest to be
// the one nothing can meet (a whole zone to itself, say), and giving it up
// lets the lighter ones be tried. Of the preferred node affinity terms, the
// heaviest still kept is required. The Ignore policy plans pods with their
// requirements only.
package preferences

import (
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
)

// Policy says whether preferences decide what is bought.
type Policy string

const (
	// Respect plans pods with their preferences required, relaxed one at a
	// time when a pod cannot be placed.
	Respect Policy = "Respect"
	// Ignore plans pods with their requirements only.
	Ignore Policy = "Ignore"
)

// Relaxable counts the preferences of a pod that may be given up.
func Relaxable(p *corev1.Pod) int {
	n := 0
	if a := p.Spec.Affinity; a != nil {
		if a.PodAffinity != nil {
			n += len(a.PodAffinity.PreferredDuringSchedulingIgnoredDuringExecution)
		}
		if a.PodAntiAffinity != nil {
			n += len(a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution)
		}
		if a.NodeAffinity != nil {
			n += len(a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution)
		}
	}
	for _, c := range p.Spec.TopologySpreadConstraints {
		if c.WhenUnsatisfiable == corev1.ScheduleAnyway {
			n++
		}
	}
	return n
}

// Required is the pod with the preferences it keeps after giving up
// relaxed of them made required, and what it gave up, in order. The pod
// itself is returned when it has no preference to require.
func Required(p *corev1.Pod, relaxed int) (*corev1.Pod, []string) {
	if Relaxable(p) == 0 {
		return p, nil
	}
	out := p.DeepCopy()
	var gaveUp []string
	drop := func(what string) bool {
		if relaxed == 0 {
			return false
		}
		relaxed--
		gaveUp = append(gaveUp, what)
		return true
	}
	a := out.Spec.Affinity
	if a != nil && a.PodAffinity != nil {
		kept := keepPodTerms(a.PodAffinity.PreferredDuringSchedulingIgnoredDuringExecution, "preferred pod affinity", drop)
		a.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution = append(a.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution, kept...)
		a.PodAffinity.PreferredDuringSchedulingIgnoredDuringExecution = nil
	}
	if a != nil && a.PodAntiAffinity != nil {
		kept := keepPodTerms(a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution, "preferred pod anti-affinity", drop)
		a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution = append(a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution, kept...)
		a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution = nil
	}
	if a != nil && a.NodeAffinity != nil {
		if heaviest, ok := keepNodeTerm(a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution, drop); ok {
			requireNodeTerm(a.NodeAffinity, heaviest)
		}
		a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution = nil
	}
	var spreads []corev1.TopologySpreadConstraint
	for _, c := range out.Spec.TopologySpreadConstraints {
		if c.WhenUnsatisfiable == corev1.ScheduleAnyway {
			if drop(fmt.Sprintf("ScheduleAnyway topology spread over %s (maxSkew %d)", c.TopologyKey, c.MaxSkew)) {
				continue
			}
			c.WhenUnsatisfiable = corev1.DoNotSchedule
		}
		spreads = append(spreads, c)
	}
	out.Spec.TopologySpreadConstraints = spreads
	return out, gaveUp
}

// keepPodTerms gives up the heaviest terms first and returns the others'
// terms.
func keepPodTerms(terms []corev1.WeightedPodAffinityTerm, kind string, drop func(string) bool) []corev1.PodAffinityTerm {
	sorted := append([]corev1.WeightedPodAffinityTerm(nil), terms...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Weight > sorted[j].Weight })
	var kept []corev1.PodAffinityTerm
	for _, t := range sorted {
		if drop(fmt.Sprintf("%s (weight %d, topology %s)", kind, t.Weight, t.PodAffinityTerm.TopologyKey)) {
			continue
		}
		kept = append(kept, t.PodAffinityTerm)
	}
	return kept
}

// keepNodeTerm gives up the heaviest preferred node affinity terms first
// and returns the heaviest kept.
func keepNodeTerm(terms []corev1.PreferredSchedulingTerm, drop func(string) bool) (corev1.NodeSelectorTerm, bool) {
	sorted := append([]corev1.PreferredSchedulingTerm(nil), terms...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Weight > sorted[j].Weight })
	var kept []corev1.PreferredSchedulingTerm
	for _, t := range sorted {
		if drop(fmt.Sprintf("preferred node affinity (weight %d)", t.Weight)) {
			continue
		}
		kept = append(kept, t)
	}
	if len(kept) == 0 {
		return corev1.NodeSelectorTerm{}, false
	}
	return kept[0].Preference, true
}

// requireNodeTerm ANDs a term into each of the required terms.
func requireNodeTerm(na *corev1.NodeAffinity, term corev1.NodeSelectorTerm) {
	if len(term.MatchExpressions) == 0 && len(term.MatchFields) == 0 {
		return
	}
	req := na.RequiredDuringSchedulingIgnoredDuringExecution
	if req == nil || len(req.NodeSelectorTerms) == 0 {
		na.RequiredDuringSchedulingIgnoredDuringExecution = &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{term}}
		return
	}
	for i := range req.NodeSelectorTerms {
		t := &req.NodeSelectorTerms[i]
		if len(t.MatchExpressions) == 0 && len(t.MatchFields) == 0 {
			// A term that selects no node stays so.
			continue
		}
		t.MatchExpressions = append(t.MatchExpressions, term.MatchExpressions...)
		t.MatchFields = append(t.MatchFields, term.MatchFields...)
	}
}
