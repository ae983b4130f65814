package disruption

import (
	"context"
	"fmt"
	"sort"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
)

// ReasonUnconsolidatable is the event reason on a claim consolidation
// leaves alone, with why.
const ReasonUnconsolidatable = "Unconsolidatable"

// podDeletionCostAnnotation is the ReplicaSet controller's: the cost of
// deleting a pod, relative to its siblings.
const podDeletionCostAnnotation = "controller.kubernetes.io/pod-deletion-cost"

// candidate is a node consolidation may take away.
type candidate struct {
	claim *karpv1.NodeClaim
	pool  *karpv1.NodePool
	node  string
	pods  []*corev1.Pod
	// cost is how much disruption taking the node away causes.
	cost float64
}

// fleet is one pass's view of the pools and their claims.
type fleet struct {
	pools        map[string]*karpv1.NodePool
	claims       []karpv1.NodeClaim
	onNode       map[string][]*corev1.Pod
	replacements map[string][]*karpv1.NodeClaim
	// budget is how many more of each pool's nodes may go for reason
	// Underutilized now; a pool whose budgets cannot be read has none.
	budget map[string]int
	// budgetErr says why a pool's budgets allow nothing, when unreadable.
	budgetErr map[string]error
}

// load reads the pools, claims and pods once for a pass.
func (c *consolidation) load(ctx context.Context) (*fleet, error) {
	var pools karpv1.NodePoolList
	if err := c.Objects.List(ctx, &pools); err != nil {
		return nil, fmt.Errorf("listing NodePools: %w", err)
	}
	var claims karpv1.NodeClaimList
	if err := c.Objects.List(ctx, &claims); err != nil {
		return nil, fmt.Errorf("listing NodeClaims: %w", err)
	}
	onNode, err := c.podsByNode()
	if err != nil {
		return nil, err
	}
	f := &fleet{pools: map[string]*karpv1.NodePool{}, claims: claims.Items, onNode: onNode,
		replacements: replacementsOf(claims.Items), budget: map[string]int{}, budgetErr: map[string]error{}}
	total, disrupting := map[string]int{}, map[string]int{}
	for i := range claims.Items {
		nc := &claims.Items[i]
		pool := nc.Labels[wellknown.NodePoolLabel]
		total[pool]++
		if nc.DeletionTimestamp != nil || len(f.replacements[nc.Name]) > 0 {
			disrupting[pool]++
		}
	}
	now := c.Clock.Now()
	for i := range pools.Items {
		np := &pools.Items[i]
		f.pools[np.Name] = np
		n, err := allowed(np, karpv1.DisruptionReasonUnderutilized, total[np.Name], now)
		if err != nil {
			f.budgetErr[np.Name] = err
			continue
		}
		f.budget[np.Name] = n - disrupting[np.Name]
	}
	return f, nil
}

// candidates are the claims consolidation may take away now, least
// disruptive first. Those it may not are told why, once.
func (c *consolidation) candidates(f *fleet) []*candidate {
	exists := map[string]bool{}
	for i := range f.claims {
		exists[f.claims[i].Name] = true
	}
	var out []*candidate
	for i := range f.claims {
		nc := &f.claims[i]
		np := f.pools[nc.Labels[wellknown.NodePoolLabel]]
		if np == nil || nc.DeletionTimestamp != nil || nc.Status.NodeName == "" || !c.state.consolidatable(nc) ||
			np.Spec.Disruption.ConsolidationPolicy == karpv1.ConsolidationPolicyWhenEmpty ||
			len(f.replacements[nc.Name]) > 0 || waitsToReplace(nc, exists) ||
			meta.IsStatusConditionTrue(nc.Status.Conditions, karpv1.ConditionTypeDrifted) {
			continue
		}
		if c.Reservations != nil && c.Reservations.Pending(nc.Name) > 0 {
			continue
		}
		node, err := c.Nodes.Get(nc.Status.NodeName)
		if err != nil || hasDisruptedTaint(node) {
			continue
		}
		pods := f.onNode[nc.Status.NodeName]
		if why := c.blocker(nc, pods); why != "" {
			c.tell(nc, why)
			continue
		}
		if why := c.evictionBlocker(pods); why != "" {
			c.tell(nc, why)
			continue
		}
		if err := f.budgetErr[np.Name]; err != nil {
			c.tell(nc, fmt.Sprintf("NodePool %s's disruption budgets cannot be read: %v", np.Name, err))
			continue
		}
		if f.budget[np.Name] <= 0 {
			c.tell(nc, fmt.Sprintf("NodePool %s's disruption budget for reason %s allows no more nodes to go now", np.Name, karpv1.DisruptionReasonUnderutilized))
			continue
		}
		out = append(out, &candidate{claim: nc, pool: np, node: nc.Status.NodeName, pods: pods, cost: disruptionCost(pods)})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].cost != out[j].cost {
			return out[i].cost < out[j].cost
		}
		// The older node first: it is closer to expiring anyway.
		return out[i].claim.CreationTimestamp.Before(&out[j].claim.CreationTimestamp)
	})
	return out
}

// waitsToReplace: the claim was bought to replace claims still there; it is
// not for consolidation to take until they are gone.
func waitsToReplace(nc *karpv1.NodeClaim, exists map[string]bool) bool {
	for _, old := range replacedBy(nc) {
		if exists[old] {
			return true
		}
	}
	return false
}

func hasDisruptedTaint(n *corev1.Node) bool {
	for i := range n.Spec.Taints {
		if n.Spec.Taints[i].MatchTaint(&wellknown.DisruptedNoScheduleTaint) {
			return true
		}
	}
	return false
}

// evictionBlocker names a pod that would not come back or may not be
// evicted now, "" when there is none: a pod no controller owns would be
// gone for good, and one whose PodDisruptionBudget allows no eviction
// would hold the drain.
func (c *consolidation) evictionBlocker(pods []*corev1.Pod) string {
	for _, p := range pods {
		if !Reschedulable(p) {
			continue
		}
		if metav1.GetControllerOf(p) == nil {
			return fmt.Sprintf("pod %s/%s has no controller: it would not come back", p.Namespace, p.Name)
		}
		if c.PDBs == nil {
			continue
		}
		pdbs, err := c.PDBs.PodDisruptionBudgets(p.Namespace).List(labels.Everything())
		if err != nil {
			return fmt.Sprintf("the PodDisruptionBudgets of namespace %s cannot be read: %v", p.Namespace, err)
		}
		for _, pdb := range pdbs {
			sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
			if err != nil || sel.Empty() || !sel.Matches(labels.Set(p.Labels)) {
				continue
			}
			if pdb.Status.DisruptionsAllowed <= 0 {
				return fmt.Sprintf("PodDisruptionBudget %s/%s allows no eviction of pod %s now", pdb.Namespace, pdb.Name, p.Name)
			}
		}
	}
	return ""
}

// disruptionCost weighs a node's pods as Karpenter does: each pod counts
// one, shifted by its pod-deletion-cost and its priority, so nodes with
// fewer and less important pods go first.
func disruptionCost(pods []*corev1.Pod) float64 {
	cost := 0.0
	for _, p := range pods {
		if !Reschedulable(p) {
			continue
		}
		cost++
		if v, ok := p.Annotations[podDeletionCostAnnotation]; ok {
			if n, err := strconv.ParseInt(v, 10, 32); err == nil {
				cost += float64(n) / (1 << 27)
			}
		}
		if p.Spec.Priority != nil {
			cost += float64(*p.Spec.Priority) / (1 << 25)
		}
	}
	return cost
}

// tell sends a claim an Unconsolidatable event once per distinct reason.
func (c *consolidation) tell(nc *karpv1.NodeClaim, why string) {
	if c.state.told[nc.Name] == why {
		return
	}
	c.state.told[nc.Name] = why
	c.Recorder.Eventf(nc, nil, corev1.EventTypeNormal, ReasonUnconsolidatable, "Consolidating", "%s", why)
}
