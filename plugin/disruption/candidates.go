package disruption

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

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
	// allowed is how many of each pool's nodes the budgets for reason
	// Underutilized let be disrupted at once now, and retiring how many are
	// being disrupted: their claims deleted or their nodes tainted. A
	// replacement's old nodes are retired within allowed less retiring.
	allowed, retiring map[string]int
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
		replacements: replacementsOf(claims.Items), budget: map[string]int{}, budgetErr: map[string]error{},
		allowed: map[string]int{}, retiring: map[string]int{}}
	total, disrupting := map[string]int{}, map[string]int{}
	for i := range claims.Items {
		nc := &claims.Items[i]
		pool := nc.Labels[wellknown.NodePoolLabel]
		total[pool]++
		if nc.DeletionTimestamp != nil || len(f.replacements[nc.Name]) > 0 {
			disrupting[pool]++
		}
		if nc.DeletionTimestamp != nil || c.tainted(nc.Status.NodeName) {
			f.retiring[pool]++
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
		f.allowed[np.Name] = n
		f.budget[np.Name] = n - disrupting[np.Name]
	}
	return f, nil
}

// tainted reports whether a node carries the disrupted taint: it is being
// taken away.
func (c *consolidation) tainted(nodeName string) bool {
	if nodeName == "" {
		return false
	}
	node, err := c.Nodes.Get(nodeName)
	return err == nil && hasDisruptedTaint(node)
}

// candidates are the claims consolidation may take away now, least
// disruptive first. Those it may not are told why, once.
func (c *consolidation) candidates(f *fleet) []*candidate {
	out, passed := c.screen(f)
	for _, p := range passed {
		if p.told {
			c.tell(p.claim, p.why)
		}
	}
	return out
}

// passedOver is a claim consolidation leaves alone this pass, and why.
type passedOver struct {
	claim *karpv1.NodeClaim
	why   string
	// told: the loop sends the claim the reason (an Unconsolidatable
	// event). The other reasons are states a claim passes through
	// (launching, being deleted or replaced, drifted, not settled yet),
	// which the loop does not repeat to it; a dry run still says them.
	told bool
}

// screen sorts the claims into the candidates, least disruptive first, and
// those passed over, with why.
func (c *consolidation) screen(f *fleet) ([]*candidate, []passedOver) {
	exists := map[string]bool{}
	for i := range f.claims {
		exists[f.claims[i].Name] = true
	}
	var out []*candidate
	var passed []passedOver
	for i := range f.claims {
		nc := &f.claims[i]
		cand, why, told := c.screenOne(f, nc, exists)
		if cand == nil {
			passed = append(passed, passedOver{claim: nc, why: why, told: told})
			continue
		}
		out = append(out, cand)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].cost != out[j].cost {
			return out[i].cost < out[j].cost
		}
		// The older node first: it is closer to expiring anyway.
		return out[i].claim.CreationTimestamp.Before(&out[j].claim.CreationTimestamp)
	})
	return out, passed
}

// screenOne is the claim as a candidate, or why it is not one and whether
// the loop tells it so.
func (c *consolidation) screenOne(f *fleet, nc *karpv1.NodeClaim, exists map[string]bool) (*candidate, string, bool) {
	poolName := nc.Labels[wellknown.NodePoolLabel]
	np := f.pools[poolName]
	switch {
	case np == nil:
		return nil, fmt.Sprintf("its NodePool %q does not exist", poolName), false
	case nc.DeletionTimestamp != nil:
		return nil, "it is being deleted", false
	case nc.Status.NodeName == "":
		return nil, "it has no node yet", false
	case !c.state.consolidatable(nc):
		return nil, notConsolidatable(nc, np), false
	case np.Spec.Disruption.ConsolidationPolicy == karpv1.ConsolidationPolicyWhenEmpty:
		return nil, fmt.Sprintf("NodePool %s's consolidationPolicy is %s: only empty nodes go", np.Name, karpv1.ConsolidationPolicyWhenEmpty), false
	case len(f.replacements[nc.Name]) > 0:
		return nil, fmt.Sprintf("it is being replaced by NodeClaim %s, and goes once that is initialized", strings.Join(names(f.replacements[nc.Name]), ", ")), false
	case waitsToReplace(nc, exists):
		return nil, fmt.Sprintf("it replaces NodeClaim %s, still there", strings.Join(replacedBy(nc), ", ")), false
	case meta.IsStatusConditionTrue(nc.Status.Conditions, karpv1.ConditionTypeDrifted):
		return nil, "it is Drifted: drift replaces it", false
	}
	if c.Reservations != nil {
		if n := c.Reservations.Pending(nc.Name); n > 0 {
			return nil, fmt.Sprintf("%d pods are still on their way to it", n), false
		}
	}
	node, err := c.Nodes.Get(nc.Status.NodeName)
	if err != nil {
		return nil, fmt.Sprintf("its node %s cannot be read: %v", nc.Status.NodeName, err), false
	}
	if hasDisruptedTaint(node) {
		return nil, fmt.Sprintf("its node %s is tainted %s: it is being taken away", node.Name, wellknown.DisruptedTaintKey), false
	}
	pods := f.onNode[nc.Status.NodeName]
	if why := c.blocker(nc, pods); why != "" {
		return nil, why, true
	}
	if why := c.evictionBlocker(pods); why != "" {
		return nil, why, true
	}
	if err := f.budgetErr[np.Name]; err != nil {
		return nil, fmt.Sprintf("NodePool %s's disruption budgets cannot be read: %v", np.Name, err), true
	}
	if f.budget[np.Name] <= 0 {
		return nil, fmt.Sprintf("NodePool %s's disruption budget for reason %s allows no more nodes to go now", np.Name, karpv1.DisruptionReasonUnderutilized), true
	}
	return &candidate{claim: nc, pool: np, node: nc.Status.NodeName, pods: pods, cost: disruptionCost(pods)}, "", false
}

// notConsolidatable says why a claim's node has not settled.
func notConsolidatable(nc *karpv1.NodeClaim, np *karpv1.NodePool) string {
	after := np.Spec.Disruption.ConsolidateAfter
	if after.IsNever() {
		return fmt.Sprintf("NodePool %s's consolidateAfter is Never", np.Name)
	}
	if !meta.IsStatusConditionTrue(nc.Status.Conditions, karpv1.ConditionTypeInitialized) {
		return "not Consolidatable: its node is not initialized"
	}
	return fmt.Sprintf("not Consolidatable: a pod was added to or removed from its node, or the node was initialized, less than NodePool %s's consolidateAfter (%s) ago", np.Name, after.String())
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
	c.tellOnce(nc, ReasonUnconsolidatable, why)
}

// tellOnce sends a claim an event once per distinct reason and message.
func (c *consolidation) tellOnce(nc *karpv1.NodeClaim, reason, why string) {
	if c.state.told == nil {
		c.state.told = map[string]string{}
	}
	if c.state.told[nc.Name] == reason+why {
		return
	}
	c.state.told[nc.Name] = reason + why
	c.Recorder.Eventf(nc, nil, corev1.EventTypeNormal, reason, "Consolidating", "%s", why)
}
