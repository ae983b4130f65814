package disruption

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/klog/v2"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/requirements"
	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/launcher/catalog"
	pluginmetrics "github.com/tailor-project/tailor/plugin/metrics"
)

// minSpotTypes is how many instance types cheaper than a spot node a spot
// replacement must be able to choose from, as Karpenter requires: with
// fewer, the replacement would likely be the type interrupted most, and
// consolidation would chase the cheapest pool into interruptions.
const minSpotTypes = 15

// consolidationState is what multi-node and single-node consolidation
// share: one decision waits for validation at a time, and a claim is told
// why it stays once per reason whichever method looked at it.
type consolidationState struct {
	told    map[string]string
	pending *decision
	// settled are the claims the Consolidatable method last found
	// consolidatable.
	settled map[string]bool
	// acted says a method just acted: the next one skips its turn, since the
	// cache may not show the claims just launched or deleted yet.
	acted bool
}

// consolidation is the machinery the two consolidation methods share.
type consolidation struct {
	Env
	state *consolidationState
}

// decision is what consolidation would do with some candidates: delete
// them, or replace them by the plan's one new claim.
type decision struct {
	method     string
	candidates []*candidate
	// fingerprints are the candidates' pod sets when decided; validation
	// drops the decision if one changed.
	fingerprints map[string]uint64
	plan         *Plan
	// before is what the candidates cost an hour.
	before float64
	at     time.Time
}

func (d *decision) replaces() bool { return len(d.plan.Nodes) > 0 }

func (d *decision) claimNames() []string {
	out := make([]string, len(d.candidates))
	for i, c := range d.candidates {
		out[i] = c.claim.Name
	}
	return out
}

// pass runs one method's pass: it carries out the waiting decision once
// validated, or searches for a new one.
func (c *consolidation) pass(ctx context.Context, method string, search func(context.Context, *fleet, []*candidate) (*decision, error)) error {
	if c.state.told == nil {
		c.state.told = map[string]string{}
	}
	f, err := c.load(ctx)
	if err != nil {
		return err
	}
	if c.state.acted {
		c.state.acted = false
		return nil
	}
	cands := c.candidates(f)
	pluginmetrics.Eligible(pluginmetrics.ReasonUnderutilized, len(cands))
	if c.state.pending != nil {
		return c.validate(ctx, f, cands)
	}
	d, err := search(ctx, f, cands)
	if err != nil || d == nil {
		return err
	}
	d.method, d.at = method, c.Clock.Now()
	d.fingerprints = map[string]uint64{}
	for _, cand := range d.candidates {
		d.fingerprints[cand.claim.Name] = fingerprint(cand.pods)
	}
	c.state.pending = d
	klog.FromContext(ctx).Info("Consolidation decided; validating", "method", method, "nodeClaims", d.claimNames(),
		"replace", d.replaces(), "before", d.before, "after", d.plan.Price, "validationPeriod", c.ValidationPeriod)
	return nil
}

// validate carries out the waiting decision once the validation period is
// over, if the same decision still holds: the same candidates, with the
// same pods, and the planner still agrees.
func (c *consolidation) validate(ctx context.Context, f *fleet, cands []*candidate) error {
	p := c.state.pending
	if c.Clock.Since(p.at) < c.ValidationPeriod {
		return nil
	}
	c.state.pending = nil
	logger := klog.FromContext(ctx).WithValues("method", p.method, "nodeClaims", p.claimNames())
	byName := map[string]*candidate{}
	for _, cand := range cands {
		byName[cand.claim.Name] = cand
	}
	var current []*candidate
	perPool := map[string]int{}
	for _, was := range p.candidates {
		cand := byName[was.claim.Name]
		if cand == nil || fingerprint(cand.pods) != p.fingerprints[cand.claim.Name] {
			logger.Info("Consolidation dropped: a node changed or may no longer go", "nodeClaim", was.claim.Name)
			return nil
		}
		perPool[cand.pool.Name]++
		if !withinBudget(f, cand.pool.Name, perPool[cand.pool.Name], p.replaces()) {
			logger.Info("Consolidation dropped: the disruption budget no longer allows it", "nodePool", cand.pool.Name)
			return nil
		}
		current = append(current, cand)
	}
	d, why, err := c.evaluate(ctx, current, p.method == methodMultiNode)
	if err != nil {
		return err
	}
	if d == nil || d.replaces() != p.replaces() {
		logger.Info("Consolidation dropped: the decision no longer holds", "why", why)
		return nil
	}
	d.method = p.method
	c.state.acted = true
	return c.act(ctx, d)
}

// evaluate asks the planner where the candidates' pods would go without
// them, and whether that is worth doing: nil and why not when it is not.
func (c *consolidation) evaluate(ctx context.Context, cands []*candidate, multi bool) (*decision, string, error) {
	nodes := make([]string, len(cands))
	for i, cand := range cands {
		nodes[i] = cand.node
	}
	plan, err := c.Planner.Displace(ctx, nodes)
	if err != nil {
		return nil, "", fmt.Errorf("planning without nodes %v: %w", nodes, err)
	}
	if len(plan.Unplaced) > 0 {
		return nil, fmt.Sprintf("%d of its pods would find no room elsewhere: %v", len(plan.Unplaced), firstReason(plan.Unplaced)), nil
	}
	d := &decision{candidates: cands, plan: plan}
	if len(plan.Nodes) == 0 {
		return d, "", nil
	}
	if len(plan.Nodes) > 1 {
		return nil, fmt.Sprintf("its pods would need %d new nodes", len(plan.Nodes)), nil
	}
	spot := false
	for _, cand := range cands {
		price, err := c.Planner.Price(ctx, cand.claim)
		if err != nil {
			return nil, "", fmt.Errorf("pricing NodeClaim %s: %w", cand.claim.Name, err)
		}
		d.before += price
		if c.capacityType(cand) == wellknown.CapacityTypeSpot {
			spot = true
		}
	}
	n := plan.Nodes[0]
	if most := d.before * (1 - c.MinSavings); plan.Price > most {
		return nil, fmt.Sprintf("a replacement would cost $%.4f/h against $%.4f/h now, saving less than minSavings (%.0f%%)", plan.Price, d.before, c.MinSavings*100), nil
	}
	if multi && len(n.InstanceTypes) > 0 {
		for _, cand := range cands {
			if cand.claim.Labels[wellknown.InstanceTypeLabel] == n.InstanceTypes[0].Name || c.nodeLabel(cand, wellknown.InstanceTypeLabel) == n.InstanceTypes[0].Name {
				return nil, fmt.Sprintf("the replacement would be a %s as NodeClaim %s is: deleting the others would do", n.InstanceTypes[0].Name, cand.claim.Name), nil
			}
		}
	}
	if spot && n.Requirements.Get(wellknown.CapacityTypeLabel).Has(wellknown.CapacityTypeSpot) {
		// EC2 launches spot with the price-capacity-optimized strategy: it
		// picks the deepest pools among the types offered, not the cheapest.
		// So the replacement offers only types whose spot price saves
		// minSavings whichever EC2 picks, and only the cheapest
		// minSpotTypes of them, so the pick stays near the price planned.
		most := d.before * (1 - c.MinSavings)
		cheaper := cheaperSpotTypes(n.InstanceTypes, n.Requirements, most)
		if !multi && len(cheaper) < minSpotTypes {
			return nil, fmt.Sprintf("a spot replacement needs at least %d instance types at $%.4f/h or less (minSavings below $%.4f/h) to choose from; the pool allows %d", minSpotTypes, most, d.before, len(cheaper)), nil
		}
		if len(cheaper) == 0 {
			return nil, fmt.Sprintf("no spot instance type the pool allows costs $%.4f/h or less (minSavings below $%.4f/h)", most, d.before), nil
		}
		n.InstanceTypes = cheaper[:min(len(cheaper), minSpotTypes)]
	}
	return d, "", nil
}

// act carries out a validated decision.
func (c *consolidation) act(ctx context.Context, d *decision) error {
	logger := klog.FromContext(ctx).WithValues("method", d.method, "nodeClaims", d.claimNames())
	pluginmetrics.Decided(d.replaces(), pluginmetrics.ReasonUnderutilized, d.method)
	for _, cand := range d.candidates {
		delete(c.state.told, cand.claim.Name)
		pluginmetrics.NodeClaimDisrupted(pluginmetrics.ReasonUnderutilized, cand.claim, cand.pool)
	}
	if !d.replaces() {
		logger.Info("Consolidating: the nodes' pods fit on the other nodes", "pods", len(d.plan.Pods))
		for _, cand := range d.candidates {
			why := fmt.Sprintf("Underutilized (%s consolidation): its pods fit on the other nodes", d.method)
			if err := c.retire(ctx, cand.claim, why); err != nil {
				return err
			}
		}
		return nil
	}
	launched, err := c.Planner.Launch(ctx, d.plan, strings.Join(d.claimNames(), ","))
	pluginmetrics.ReplacementsCreated(pluginmetrics.ReasonUnderutilized, d.plan.Nodes, len(launched))
	if err != nil {
		return err
	}
	logger.Info("Consolidating: replacement launching", "replacements", launched, "before", d.before, "after", d.plan.Price)
	for _, cand := range d.candidates {
		c.Recorder.Eventf(cand.claim, nil, corev1.EventTypeNormal, ReasonReplacing, "Consolidating",
			"Underutilized (%s consolidation): replacement NodeClaim %s launching ($%.4f/h for $%.4f/h now, NodeClaims %s); the node goes once it is initialized",
			d.method, strings.Join(launched, ", "), d.plan.Price, d.before, strings.Join(d.claimNames(), ", "))
	}
	return nil
}

// withinBudget reports whether n of a pool's nodes may be in one decision.
// A decision that deletes takes its nodes away at once, so they must fit in
// the budget. One that replaces retires its nodes one budget's worth at a
// time, each once the replacement is up and the budget allows
// (finishReplaced), so it needs only room for one: budgets bound how many
// nodes are disrupted at once, and the replacement lets a pool that may
// lose one node at a time still trade several small nodes for one.
func withinBudget(f *fleet, pool string, n int, replaces bool) bool {
	if replaces {
		return f.budget[pool] >= 1
	}
	return n <= f.budget[pool]
}

// finishReplaced retires the nodes consolidation replaced once their
// replacements are initialized, as many at once as the pool's budget
// allows. Drifted nodes are Drift's to finish.
func (c *consolidation) finishReplaced(ctx context.Context, f *fleet) {
	for i := range f.claims {
		nc := &f.claims[i]
		reps := f.replacements[nc.Name]
		if len(reps) == 0 || nc.DeletionTimestamp != nil || c.tainted(nc.Status.NodeName) ||
			meta.IsStatusConditionTrue(nc.Status.Conditions, karpv1.ConditionTypeDrifted) || !initialized(reps) {
			continue
		}
		pool := nc.Labels[wellknown.NodePoolLabel]
		if f.retiring[pool] >= f.allowed[pool] {
			c.tellOnce(nc, ReasonDisruptionBlocked, fmt.Sprintf("replacement NodeClaim %s is up; the node waits for NodePool %s's disruption budget for reason %s (%d of %d nodes being disrupted)",
				strings.Join(names(reps), ", "), pool, karpv1.DisruptionReasonUnderutilized, f.retiring[pool], f.allowed[pool]))
			continue
		}
		if err := c.retireReplaced(ctx, nc, reps, "Underutilized"); err != nil {
			klog.FromContext(ctx).Error(err, "Retiring a consolidated node", "nodeClaim", nc.Name)
			continue
		}
		f.retiring[pool]++
	}
}

// initialized reports whether every claim is Initialized.
func initialized(claims []*karpv1.NodeClaim) bool {
	for _, r := range claims {
		if !meta.IsStatusConditionTrue(r.Status.Conditions, karpv1.ConditionTypeInitialized) {
			return false
		}
	}
	return true
}

// capacityType is the candidate's node's, or its claim's.
func (c *consolidation) capacityType(cand *candidate) string {
	if v := c.nodeLabel(cand, wellknown.CapacityTypeLabel); v != "" {
		return v
	}
	return cand.claim.Labels[wellknown.CapacityTypeLabel]
}

func (c *consolidation) nodeLabel(cand *candidate, key string) string {
	node, err := c.Nodes.Get(cand.node)
	if err != nil {
		return ""
	}
	return node.Labels[key]
}

// cheaperSpotTypes keeps, cheapest first as given, the types with a spot
// offering the node's requirements allow at price or less.
func cheaperSpotTypes(types []*catalog.InstanceType, reqs requirements.Requirements, price float64) []*catalog.InstanceType {
	zone := reqs.Get(wellknown.ZoneLabel)
	var out []*catalog.InstanceType
	for _, it := range types {
		for _, o := range it.Offerings {
			if o.Available && o.CapacityType == wellknown.CapacityTypeSpot && zone.Has(o.Zone) && o.Price <= price {
				out = append(out, it)
				break
			}
		}
	}
	return out
}
