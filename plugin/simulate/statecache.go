package simulate

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/names"
)

// placement is a pod the solver placed, on its node as the snapshot holds
// it. The PreFilter extensions read only the node object of a NodeInfo,
// which stays the same until the node is relabelled, and relabelling
// forgets every state.
type placement struct {
	pod  fwk.PodInfo
	node *framework.NodeInfo
}

// forgetStates drops every cached PreFilter state, and the placements
// they would have caught up on.
func (s *Simulator) forgetStates() {
	clear(s.states)
	s.placements = s.placements[:0]
}

// catchUp brings a cached state up to date with the placements made since
// it was last read, through the plugins' own AddPod, as if it had been
// kept current at each. It reports false when the state cannot be kept
// exact and PreFilter must run again.
func (s *Simulator) catchUp(c *cachedState) bool {
	if !c.status.IsSuccess() && c.synced < len(s.placements) {
		return false
	}
	var touched, floors []int
	for ; c.synced < len(s.placements); c.synced++ {
		p := s.placements[c.synced]
		placed := p.pod.GetPod()
		// InterPodAffinity skips a pod with no affinity of its own that
		// no placed pod's required anti-affinity selects, and AddPod does
		// not tell a plugin that skipped: a state that skipped it is
		// stale once a pod whose anti-affinity selects its pod is placed.
		if anti := p.pod.GetRequiredAntiAffinityTerms(); len(anti) > 0 && c.state.GetSkipFilterPlugins().Has(names.InterPodAffinity) && maySelect(anti, c.pod) {
			return false
		}
		spread := c.selectsForSpread(placed.Namespace, labels.Set(placed.Labels))
		if spread && c.spreadState == nil {
			return false
		}
		if c.spreadOnly && !spread {
			// PodTopologySpread's AddPod counts only the pods the spread
			// selects, and no other plugin is left to tell.
			continue
		}
		touched, floors = touched[:0], floors[:0]
		if spread {
			touched = c.spreadState.onPaths(p.node.Node(), touched)
			for _, i := range touched {
				floors = append(floors, c.spreadState.floor(i))
			}
		}
		if st := s.fw.RunPreFilterExtensionAddPod(s.ctx, c.state, c.pod, p.pod, p.node); !st.IsSuccess() {
			return false
		}
		for j, i := range touched {
			c.spreadState.repair(i, floors[j])
		}
	}
	return true
}

// maySelect reports whether any of the terms may select pod. Namespace
// labels are not known here: a term with a namespace selector is taken
// to select.
func maySelect(terms []fwk.AffinityTerm, pod *corev1.Pod) bool {
	for _, t := range terms {
		if t.NamespaceSelector != nil && !t.NamespaceSelector.Empty() && t.NamespaceSelector.String() != labels.Nothing().String() {
			return true
		}
		if t.Matches(pod, nil) {
			return true
		}
	}
	return false
}
