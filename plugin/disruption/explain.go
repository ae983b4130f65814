package disruption

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
)

// A dry run of consolidation (`tailor simulate --consolidation`) decides
// with the loop's own code: Emptiness.decide, consolidation.load and
// screen, MultiNode.search, SingleNode.search and evaluate, over the same
// Planner. It only leaves out acting: no claim is deleted or launched, and
// the events the loop would send are captured as the reasons it prints.

// Decision kinds and methods, as a dry run reports them.
const (
	KindDelete  = "delete"
	KindReplace = "replace"

	MethodEmpty      = "empty"
	MethodMultiNode  = methodMultiNode
	MethodSingleNode = methodSingleNode
)

// ExplainOptions tune a dry run.
type ExplainOptions struct {
	// AssumeSettled counts every claim whose node registered as unchanged
	// for its pool's consolidateAfter: Consolidatable, and empty for that
	// long when its node is empty. Objects read from files carry no
	// history; otherwise the Consolidatable condition the loop keeps on the
	// claims says, as the loop reads it.
	AssumeSettled bool
}

// Explanation is what one pass of the disruption loop would decide about
// consolidation, and why it leaves every other claim alone.
type Explanation struct {
	// Decisions in the order the loop takes them: empty nodes, then the one
	// consolidation decision (multi-node, else single-node).
	Decisions []Decision `json:"decisions"`
	// Kept are the claims no decision takes, each with why.
	Kept []Kept `json:"kept"`
	// Notes say what the loop would do around the decisions.
	Notes []string `json:"notes,omitempty"`
	// FleetPrice is what the claims with a node cost an hour now;
	// FleetPriceAfter once the decisions are carried out.
	FleetPrice      float64 `json:"fleetPrice"`
	FleetPriceAfter float64 `json:"fleetPriceAfter"`
	// Unpriced are the claims the planner could not price, with why; they
	// are left out of the fleet's price.
	Unpriced map[string]string `json:"unpriced,omitempty"`
}

// Decision is one thing the loop would do.
type Decision struct {
	// Kind is delete or replace; Method empty, multi-node or single-node.
	Kind       string   `json:"kind"`
	Method     string   `json:"method"`
	NodeClaims []string `json:"nodeClaims"`
	Nodes      []string `json:"nodes"`
	// Pods are the pods that would be evicted and come back elsewhere.
	Pods []string `json:"pods,omitempty"`
	// Replacement is the new claim, for a replace.
	Replacement *Replacement `json:"replacement,omitempty"`
	// Before is what the claims cost an hour; After what the replacement
	// does, 0 for a delete.
	Before float64 `json:"before"`
	After  float64 `json:"after"`
	// Why is the loop's own account of the decision.
	Why string `json:"why"`
}

// Replacement is the claim a replace would launch.
type Replacement struct {
	NodePool string `json:"nodePool"`
	// InstanceTypes are the types the claim would allow, cheapest first.
	InstanceTypes []string `json:"instanceTypes"`
	// Zones and CapacityTypes are those the claim would allow; empty for
	// any the pool allows.
	Zones         []string `json:"zones,omitempty"`
	CapacityTypes []string `json:"capacityTypes,omitempty"`
	// Pods are the displaced pods planned on it; the others fit on the
	// nodes that stay.
	Pods []string `json:"pods,omitempty"`
}

// Kept is a claim the loop would leave alone this pass.
type Kept struct {
	NodeClaim string `json:"nodeClaim"`
	Node      string `json:"node,omitempty"`
	NodePool  string `json:"nodePool,omitempty"`
	Why       string `json:"why"`
	// Alone is what single-node consolidation would decide for the claim on
	// its own: the loop only takes one consolidation decision at a time,
	// and decides again once it is carried out.
	Alone *Decision `json:"alone,omitempty"`
}

// Explain runs one pass's decisions over env without acting: env.Client
// is not used and env.Recorder is replaced by one that keeps what the loop
// would tell each claim.
func Explain(ctx context.Context, env Env, opts ExplainOptions) (*Explanation, error) {
	rec := &capture{told: map[string]string{}}
	env.Client, env.Recorder = nil, rec
	if env.Clock == nil {
		env.Clock = clock.RealClock{}
	}
	now := env.Clock.Now()
	var pools karpv1.NodePoolList
	if err := env.Objects.List(ctx, &pools); err != nil {
		return nil, fmt.Errorf("listing NodePools: %w", err)
	}
	var claims karpv1.NodeClaimList
	if err := env.Objects.List(ctx, &claims); err != nil {
		return nil, fmt.Errorf("listing NodeClaims: %w", err)
	}
	byName := map[string]*karpv1.NodePool{}
	for i := range pools.Items {
		byName[pools.Items[i].Name] = &pools.Items[i]
	}
	settled, since := settledClaims(claims.Items, byName, opts.AssumeSettled, now)

	x := &explainer{env: env, rec: rec, out: &Explanation{Unpriced: map[string]string{}}, prices: map[string]float64{},
		decided: map[string]bool{}, emptyWhy: map[string]string{}, pools: byName, claims: map[string]*karpv1.NodeClaim{}}
	for i := range claims.Items {
		x.claims[claims.Items[i].Name] = &claims.Items[i]
	}
	x.fleet(ctx, claims.Items)
	gone, err := x.empty(ctx, since)
	if err != nil {
		return nil, err
	}
	if err := x.consolidate(ctx, gone, settled); err != nil {
		return nil, err
	}
	x.out.FleetPriceAfter = x.out.FleetPrice
	for _, d := range x.out.Decisions {
		x.out.FleetPriceAfter += d.After - d.Before
	}
	sort.Slice(x.out.Kept, func(i, j int) bool { return x.out.Kept[i].NodeClaim < x.out.Kept[j].NodeClaim })
	return x.out, nil
}

// explainer carries one dry run.
type explainer struct {
	env Env
	rec *capture
	out *Explanation
	// prices are the claims' hourly prices, by name.
	prices map[string]float64
	// decided are the claims a decision takes.
	decided map[string]bool
	// emptyWhy says why an empty node does not go as empty.
	emptyWhy map[string]string
	pools    map[string]*karpv1.NodePool
	claims   map[string]*karpv1.NodeClaim
}

// settledClaims is which claims count as Consolidatable, nil to read their
// conditions as the loop does, and since when each settled claim's pods
// have not changed, which is how long an empty one has been empty.
func settledClaims(claims []karpv1.NodeClaim, pools map[string]*karpv1.NodePool, assume bool, now time.Time) (map[string]bool, map[string]time.Time) {
	since := map[string]time.Time{}
	var settled map[string]bool
	if assume {
		settled = map[string]bool{}
	}
	for i := range claims {
		nc := &claims[i]
		np := pools[nc.Labels[wellknown.NodePoolLabel]]
		if np == nil || nc.DeletionTimestamp != nil || nc.Status.NodeName == "" {
			continue
		}
		after := np.Spec.Disruption.ConsolidateAfter
		if !assume {
			c := meta.FindStatusCondition(nc.Status.Conditions, karpv1.ConditionTypeConsolidatable)
			if c != nil && c.Status == metav1.ConditionTrue && !after.IsNever() {
				// The loop writes the condition consolidateAfter after the
				// last change of the node's pods.
				since[nc.Name] = c.LastTransitionTime.Add(-*after.Duration)
			}
			continue
		}
		// Files have no history, but a claim they say is not initialized is
		// not.
		if c := meta.FindStatusCondition(nc.Status.Conditions, karpv1.ConditionTypeInitialized); c != nil && c.Status != metav1.ConditionTrue {
			continue
		}
		if consolidatableCondition(after, time.Time{}, now) == nil {
			continue
		}
		settled[nc.Name] = true
		since[nc.Name] = now.Add(-*after.Duration)
	}
	return settled, since
}

// fleet prices the claims with a node.
func (x *explainer) fleet(ctx context.Context, claims []karpv1.NodeClaim) {
	for i := range claims {
		nc := &claims[i]
		if nc.Status.NodeName == "" || nc.DeletionTimestamp != nil {
			continue
		}
		price, err := x.env.Planner.Price(ctx, nc)
		if err != nil {
			x.out.Unpriced[nc.Name] = err.Error()
			continue
		}
		x.prices[nc.Name] = price
		x.out.FleetPrice += price
	}
}

// empty runs Emptiness's decision, each claim empty since it settled, and
// returns the claims it would delete.
func (x *explainer) empty(ctx context.Context, since map[string]time.Time) (map[string]string, error) {
	e := &Emptiness{Objects: x.env.Objects, Pods: x.env.Pods, Nodes: x.env.Nodes, Reservations: x.env.Reservations,
		Recorder: x.rec, Clock: x.env.Clock, emptySince: map[string]time.Time{}, blocked: map[string]bool{}}
	for name, t := range since {
		e.emptySince[name] = t
	}
	pools, err := e.decide(ctx)
	if err != nil {
		return nil, err
	}
	gone := map[string]string{}
	for _, p := range pools {
		for i, n := range p.due {
			switch {
			case p.err != nil:
				x.emptyWhy[n.claim.Name] = fmt.Sprintf("empty, but NodePool %s's disruption budgets cannot be read: %v", p.pool.Name, p.err)
			case i >= p.budget:
				x.emptyWhy[n.claim.Name] = emptyBlocked(p.pool, n.since)
			default:
				gone[n.claim.Name] = n.claim.Status.NodeName
				x.decided[n.claim.Name] = true
				x.out.Decisions = append(x.out.Decisions, Decision{Kind: KindDelete, Method: MethodEmpty,
					NodeClaims: []string{n.claim.Name}, Nodes: []string{n.claim.Status.NodeName},
					Before: x.prices[n.claim.Name], Why: emptyFor(p.pool, n.since, p.now)})
			}
		}
	}
	// Empty nodes not due: what Emptiness remembers but did not take.
	for name := range e.emptySince {
		if _, known := x.emptyWhy[name]; known || x.decided[name] {
			continue
		}
		x.emptyWhy[name] = "empty, but not known to have been for its NodePool's consolidateAfter"
		if nc := x.claims[name]; nc != nil {
			if np := x.pools[nc.Labels[wellknown.NodePoolLabel]]; np != nil {
				after := np.Spec.Disruption.ConsolidateAfter
				x.emptyWhy[name] = fmt.Sprintf("empty, but not known to have been for NodePool %s's consolidateAfter (%s)", np.Name, after.String())
				if after.IsNever() {
					x.emptyWhy[name] = fmt.Sprintf("empty, but NodePool %s's consolidateAfter is Never", np.Name)
				}
			}
		}
	}
	return gone, nil
}

// consolidate runs the consolidation methods over the cluster as the loop
// sees it once the empty nodes are being deleted, and says why each claim
// left stays.
func (x *explainer) consolidate(ctx context.Context, gone map[string]string, settled map[string]bool) error {
	env := x.env
	if len(gone) > 0 {
		nodes := make([]string, 0, len(gone))
		for _, n := range gone {
			nodes = append(nodes, n)
		}
		sort.Strings(nodes)
		env.Objects = &deleting{Reader: env.Objects, claims: gone, at: metav1.NewTime(env.Clock.Now())}
		env.Planner = &without{Planner: env.Planner, nodes: nodes}
	}
	c := consolidation{Env: env, state: &consolidationState{told: map[string]string{}, settled: settled}}
	f, err := c.load(ctx)
	if err != nil {
		return err
	}
	cands, passed := c.screen(f)

	d, err := (&MultiNode{consolidation: c}).search(ctx, f, cands)
	if err != nil {
		return fmt.Errorf("multi-node consolidation: %w", err)
	}
	if d != nil {
		d.method = methodMultiNode
	} else {
		if err := x.whyNotMulti(ctx, c, f, cands); err != nil {
			return err
		}
		if d, err = (&SingleNode{consolidation: c}).search(ctx, f, cands); err != nil {
			return fmt.Errorf("single-node consolidation: %w", err)
		}
		if d != nil {
			d.method = methodSingleNode
		}
	}
	if d != nil {
		decision, err := x.describe(ctx, d)
		if err != nil {
			return err
		}
		x.out.Decisions = append(x.out.Decisions, decision)
		for _, cand := range d.candidates {
			x.decided[cand.claim.Name] = true
		}
		x.note("The loop carries a consolidation decision out after validationPeriod (%s), if the same nodes with the same pods still lead to it; a replacement launches first and the nodes go once it is initialized.", env.ValidationPeriod)
	}

	for _, p := range passed {
		if !x.decided[p.claim.Name] {
			x.keep(p.claim, p.why, nil)
		}
	}
	// The candidates evaluated alone are planned against one reading of
	// the cluster, as a search's steps are.
	if c, err = c.session(ctx); err != nil {
		return err
	}
	for _, cand := range cands {
		if x.decided[cand.claim.Name] {
			continue
		}
		if why, ok := x.rec.told[cand.claim.Name]; ok {
			x.keep(cand.claim, why, nil)
			continue
		}
		// Not looked at this pass: the loop takes one consolidation decision
		// at a time. On its own, single-node consolidation would say.
		alone, why, err := c.evaluate(ctx, []*candidate{cand}, false)
		if err != nil {
			return err
		}
		if alone == nil {
			x.keep(cand.claim, why, nil)
			continue
		}
		alone.method = methodSingleNode
		a, err := x.describe(ctx, alone)
		if err != nil {
			return err
		}
		why = fmt.Sprintf("could also go on its own (%s); the loop decides again once the decision above is carried out", a.summary())
		if d == nil {
			why = fmt.Sprintf("could go on its own (%s)", a.summary())
		}
		x.keep(cand.claim, why, &a)
	}
	return nil
}

// whyNotMulti says why multi-node consolidation decided nothing: too few
// candidates in pools whose budget lets a node go, or the two least
// disruptive, where its search ends, would not go together.
func (x *explainer) whyNotMulti(ctx context.Context, c consolidation, f *fleet, cands []*candidate) error {
	list := inOpenPools(f, cands)
	if len(list) < 2 {
		var budgets []string
		seen := map[string]bool{}
		for _, cand := range cands {
			if name := cand.pool.Name; !seen[name] {
				seen[name] = true
				budgets = append(budgets, fmt.Sprintf("NodePool %s's budget lets %d go now", name, max(f.budget[name], 0)))
			}
		}
		msg := fmt.Sprintf("Multi-node consolidation needs two candidates or more in NodePools whose budget for reason %s lets a node go now, and has %d", karpv1.DisruptionReasonUnderutilized, len(list))
		if len(budgets) > 0 {
			msg += " (" + strings.Join(budgets, ", ") + ")"
		}
		x.note("%s.", msg)
		return nil
	}
	d, why, err := c.evaluate(ctx, list[:2], true)
	if err != nil {
		return fmt.Errorf("multi-node consolidation: %w", err)
	}
	if d != nil && !d.replaces() && !fitsBudgets(f, d.candidates) {
		pool := list[0].pool.Name
		x.note("Multi-node consolidation takes no two nodes or more: %s and %s could both be deleted, but a delete takes its nodes away at once and NodePool %s's budget lets %d go now.",
			list[0].claim.Name, list[1].claim.Name, pool, max(f.budget[pool], 0))
		return nil
	}
	x.note("Multi-node consolidation takes no two nodes or more: the two least disruptive candidates, %s and %s, would not go together: %s.", list[0].claim.Name, list[1].claim.Name, why)
	return nil
}

// summary is a decision in a few words: "single-node delete, $0.0960/h →
// $0.0000/h".
func (d Decision) summary() string {
	s := d.Method + " " + d.Kind
	if d.Replacement != nil && len(d.Replacement.InstanceTypes) > 0 {
		s += " by " + d.Replacement.InstanceTypes[0]
		if n := len(d.Replacement.InstanceTypes); n > 1 {
			s += fmt.Sprintf(" (+%d)", n-1)
		}
	}
	return s + fmt.Sprintf(", $%.4f/h → $%.4f/h", d.Before, d.After)
}

// describe reports a consolidation decision.
func (x *explainer) describe(ctx context.Context, d *decision) (Decision, error) {
	out := Decision{Kind: KindDelete, Method: d.method, NodeClaims: d.claimNames(), Before: d.before, After: d.plan.Price}
	for _, cand := range d.candidates {
		out.Nodes = append(out.Nodes, cand.node)
	}
	for _, p := range d.plan.Pods {
		out.Pods = append(out.Pods, p.Namespace+"/"+p.Name)
	}
	sort.Strings(out.Pods)
	if !d.replaces() {
		// evaluate prices only what it replaces.
		for _, cand := range d.candidates {
			price, err := x.price(ctx, cand.claim)
			if err != nil {
				return Decision{}, err
			}
			out.Before += price
		}
		out.Why = fmt.Sprintf("Underutilized (%s consolidation): its pods fit on the other nodes", d.method)
		return out, nil
	}
	n := d.plan.Nodes[0]
	out.Kind = KindReplace
	r := &Replacement{NodePool: n.Pool.Name(), Zones: n.Requirements.Get(wellknown.ZoneLabel).Values(),
		CapacityTypes: n.Requirements.Get(wellknown.CapacityTypeLabel).Values()}
	for _, it := range n.InstanceTypes {
		r.InstanceTypes = append(r.InstanceTypes, it.Name)
	}
	for _, p := range n.Pods {
		r.Pods = append(r.Pods, p.Namespace+"/"+p.Name)
	}
	sort.Strings(r.Zones)
	sort.Strings(r.CapacityTypes)
	sort.Strings(r.Pods)
	out.Replacement = r
	out.Why = fmt.Sprintf("Underutilized (%s consolidation): replacement $%.4f/h for $%.4f/h now; the nodes go once it is initialized", d.method, d.plan.Price, d.before)
	return out, nil
}

func (x *explainer) price(ctx context.Context, nc *karpv1.NodeClaim) (float64, error) {
	if p, ok := x.prices[nc.Name]; ok {
		return p, nil
	}
	p, err := x.env.Planner.Price(ctx, nc)
	if err != nil {
		return 0, fmt.Errorf("pricing NodeClaim %s: %w", nc.Name, err)
	}
	x.prices[nc.Name] = p
	return p, nil
}

func (x *explainer) keep(nc *karpv1.NodeClaim, why string, alone *Decision) {
	if empty := x.emptyWhy[nc.Name]; empty != "" {
		why = empty + "; " + why
	}
	x.out.Kept = append(x.out.Kept, Kept{NodeClaim: nc.Name, Node: nc.Status.NodeName, NodePool: nc.Labels[wellknown.NodePoolLabel], Why: why, Alone: alone})
}

func (x *explainer) note(format string, args ...any) {
	x.out.Notes = append(x.out.Notes, fmt.Sprintf(format, args...))
}

// capture is the recorder of a dry run: it keeps the last reason each
// claim would be told it stays, and sends nothing.
type capture struct {
	told map[string]string
}

// Eventf implements events.EventRecorder.
func (c *capture) Eventf(regarding runtime.Object, _ runtime.Object, _, reason, _, note string, args ...any) {
	nc, ok := regarding.(*karpv1.NodeClaim)
	if !ok || reason != ReasonUnconsolidatable {
		return
	}
	c.told[nc.Name] = fmt.Sprintf(note, args...)
}

// deleting shows the claims Emptiness would delete as being deleted, as
// the loop's next pass sees them: no longer candidates, and counted against
// the budgets.
type deleting struct {
	client.Reader
	claims map[string]string
	at     metav1.Time
}

func (d *deleting) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if err := d.Reader.Get(ctx, key, obj, opts...); err != nil {
		return err
	}
	if nc, ok := obj.(*karpv1.NodeClaim); ok {
		d.mark(nc)
	}
	return nil
}

func (d *deleting) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	if err := d.Reader.List(ctx, list, opts...); err != nil {
		return err
	}
	if l, ok := list.(*karpv1.NodeClaimList); ok {
		for i := range l.Items {
			d.mark(&l.Items[i])
		}
	}
	return nil
}

func (d *deleting) mark(nc *karpv1.NodeClaim) {
	if _, ok := d.claims[nc.Name]; ok && nc.DeletionTimestamp == nil {
		nc.DeletionTimestamp = &d.at
	}
}

// without plans with the nodes Emptiness would delete gone too.
type without struct {
	Planner
	nodes []string
}

func (w *without) Displace(ctx context.Context, nodes []string) (*Plan, error) {
	return w.Planner.Displace(ctx, append(append([]string(nil), nodes...), w.nodes...))
}

// Session implements Sessions, so a search keeps its one reading of the
// cluster when empty nodes are taken away too.
func (w *without) Session(ctx context.Context) (Planner, error) {
	s, ok := w.Planner.(Sessions)
	if !ok {
		return w, nil
	}
	p, err := s.Session(ctx)
	if err != nil {
		return nil, err
	}
	return &without{Planner: p, nodes: w.nodes}, nil
}
