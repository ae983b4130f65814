package solver

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"

	"github.com/tailor-project/tailor/apis/requirements"
	"github.com/tailor-project/tailor/apis/wellknown"
)

const defaultMaxInstanceTypes = 60

// poolState is a pool during one solve.
type poolState struct {
	*Pool
	overhead resources
	// limits are what the pool's spec.limits still allow; nil when the pool
	// has none.
	limits *limits
	// base are the pool's options before any pod narrows them.
	base []option
	// narrowed caches the options of requirements pods narrowed the pool
	// to, by their canonical spelling: many nodes share a zone or an
	// architecture, and their options are read-only.
	narrowed map[string][]option
}

func (p *poolState) optionsFor(reqs requirements.Requirements) []option {
	key := reqs.String()
	if o, ok := p.narrowed[key]; ok {
		return o
	}
	if p.narrowed == nil {
		p.narrowed = map[string][]option{}
	}
	o := p.Pool.cachedOptions(key, reqs, p.overhead)
	p.narrowed[key] = o
	return o
}

// cachedOptions are optionsFor(p, reqs, overhead), computed once per key
// while the overhead stays the same.
func (p *Pool) cachedOptions(key string, reqs requirements.Requirements, overhead resources) []option {
	c := &p.options
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byReqs == nil || !c.overhead.equal(overhead) {
		c.byReqs, c.overhead = map[string][]option{}, overhead
	}
	if o, ok := c.byReqs[key]; ok {
		return o
	}
	o := optionsFor(p, reqs, overhead)
	c.byReqs[key] = o
	return o
}

type solver struct {
	pools []*poolState
	// inFlight are the in-flight nodes, tried first, in order; joined[i] is
	// inFlight[i]'s Node, made only once a pod's requests fit its room: of
	// a large cluster's nodes, most have no room for most pods.
	inFlight []*InFlight
	joined   []*Node
	// nodes are the new nodes, tried after the in-flight ones, in the
	// order they were opened. all lists them for the scan of each pod, and
	// zoned those whose zone is fixed, in the same order: the only ones a
	// pod with a zonal constraint can join.
	nodes []*Node
	all   nodeList
	zoned nodeList
	// holding counts, by label set, the new nodes that hold a pod of it: a
	// pod that must not share a node with its own kind skips the new nodes
	// when all of them do.
	holding map[string]int
	// zonalLeft counts the pods with a zonal constraint still to place.
	zonalLeft int
	// zoneNodes counts the new nodes of each zone, once their zone is
	// fixed; zoneOrder caches zonesByPrice.
	zoneNodes map[string]int
	zoneOrder map[zoneKey][]zonePrice
	checker   Checker
	classLeft map[string]int
	maxTypes  int
	seq       int
	sizePlans map[sizeKey]*sizePlan
	// emptyDomains: see Input.EmptyDomains.
	emptyDomains bool
	// scanAll: see solve.
	scanAll bool
}

// Solve packs the batch into new nodes. It never fails as a whole: a pod no
// pool can host is returned in Unplaced with the reasons of every pool.
func Solve(in Input) *Result {
	return solve(in, false)
}

// solve is Solve; scanAll weighs every new node for every pod instead of
// skipping those the node list bounds out, for the test that proves the
// skip exact.
func solve(in Input, scanAll bool) *Result {
	s := &solver{scanAll: scanAll, checker: in.Checker, classLeft: map[string]int{}, holding: map[string]int{}, zoneNodes: map[string]int{}, zoneOrder: map[zoneKey][]zonePrice{}, maxTypes: in.MaxInstanceTypes, sizePlans: map[sizeKey]*sizePlan{}, emptyDomains: in.EmptyDomains}
	if s.checker == nil {
		s.checker = noChecker{}
	}
	if s.maxTypes <= 0 {
		s.maxTypes = defaultMaxInstanceTypes
	}
	for _, p := range in.Pools {
		ps := &poolState{Pool: p, overhead: newResources(p.DaemonOverhead), limits: newLimits(p.Remaining)}
		ps.base = ps.optionsFor(p.Requirements)
		s.pools = append(s.pools, ps)
	}
	sort.SliceStable(s.pools, func(i, j int) bool {
		if s.pools[i].Weight() != s.pools[j].Weight() {
			return s.pools[i].Weight() > s.pools[j].Weight()
		}
		return s.pools[i].Name() < s.pools[j].Name()
	})

	s.inFlight, s.joined = in.InFlight, make([]*Node, len(in.InFlight))
	pods := make([]*podInfo, len(in.Pods))
	for i, p := range in.Pods {
		pods[i] = newPodInfo(p, in.EBSVolumes)
		s.classLeft[pods[i].class]++
	}
	sortPods(pods)

	result := &Result{Unplaced: map[*corev1.Pod]error{}, Joined: map[string][]*corev1.Pod{}}
	for _, pi := range pods {
		if pi.zonal {
			s.zonalLeft++
		}
	}
	for _, pi := range pods {
		if pi.zonal {
			s.zonalLeft--
		}
		if err := s.place(pi); err != nil {
			result.Unplaced[pi.pod] = err
		}
		s.classLeft[pi.class]--
	}
	for _, n := range s.joined {
		if n != nil && len(n.Pods) > 0 {
			result.Joined[n.Name] = n.Pods
		}
	}
	for _, n := range s.nodes {
		pool := s.poolOf(n)
		n.finalize(s.maxTypes, pool.withinLimits(n))
		pool.countLargest(n)
		result.Nodes = append(result.Nodes, n)
	}
	return result
}

// inFlightNode is the Node of an in-flight node, whose only option is its
// room, free.
func inFlightNode(f *InFlight) *Node {
	room := option{alloc: f.room()}
	labels := f.Labels
	if labels == nil {
		labels = labelsOf(f.Name, f.Requirements)
	}
	return &Node{
		Name:         f.Name,
		Pool:         f.Pool,
		Requirements: f.Requirements,
		Labels:       labels,
		Taints:       f.Taints,
		options:      []option{room},
		target:       &room,
		inFlight:     true,

		labelSets:       f.labelSets(),
		labelSetsShared: true,
	}
}

// tryJoinInFlight judges adding the pod to an in-flight node: the claim's
// requirements must admit the pod as they are, and its room hold it.
func (s *solver) tryJoinInFlight(pi *podInfo, n *Node) (*candidate, error) {
	need := n.requests.add(pi.req)
	if !need.fitsIn(n.target.alloc) {
		return nil, errNoRoom
	}
	compatible := false
	for _, alt := range pi.alternatives {
		if n.Requirements.Compatible(alt) == nil {
			compatible = true
			break
		}
	}
	if !compatible {
		return nil, errClaimReqs
	}
	if s.sameLabelsRefuse(pi, n) {
		return nil, errSameLabels
	}
	if err := s.checker.Check(pi.pod, n); err != nil {
		return nil, err
	}
	return &candidate{node: n, reqs: n.Requirements, options: n.options, target: n.target}, nil
}

// sameLabelsRefuse reports whether the pods of the pod's own kind on the
// node refuse it, as the Checker would: its required hostname
// anti-affinity selects them, or its hostname spread does and the node
// holds as many as the skew allows while an empty hostname exists.
func (s *solver) sameLabelsRefuse(pi *podInfo, n *Node) bool {
	return pi.exclusive && n.labelSets[pi.labelSet] > 0 || s.emptyDomains && pi.spreadCap > 0 && n.labelSets[pi.labelSet] >= pi.spreadCap
}

// place puts the pod on the open node where it costs least, or on a new node
// when that is cheaper per pod.
func (s *solver) place(pi *podInfo) error {
	var best *candidate
	// consider weighs joining n and reports whether to look no further: a
	// placement that costs nothing.
	consider := func(n *Node) bool {
		bound := math.Inf(1)
		if best != nil {
			bound = best.delta
		}
		c, err := s.tryJoin(pi, n, bound)
		if err != nil {
			return false
		}
		if best == nil || c.delta < best.delta {
			best = c
		}
		return c.delta == 0
	}
	done := false
	for i, f := range s.inFlight {
		n := s.joined[i]
		if n == nil {
			// No pod joined it yet: its room is all there is to check
			// before it becomes a Node.
			if !pi.req.fitsIn(f.room()) {
				continue
			}
			n = inFlightNode(f)
			s.joined[i] = n
		}
		if done = consider(n); done {
			break
		}
	}
	if list := s.newNodesFor(pi); list != nil && !done && s.scanAll {
		for _, n := range list.nodes {
			if consider(n) {
				break
			}
		}
	} else if list != nil && !done {
		list.scan(pi.req, func() float64 {
			if best == nil {
				return math.Inf(1)
			}
			return best.delta
		}, consider)
	}
	if best != nil && best.delta == 0 {
		s.commit(pi, best)
		return nil
	}
	fresh, errs := s.tryOpen(pi)
	switch {
	case fresh != nil && (best == nil || fresh.perPod < best.delta):
		fresh.node.order = len(s.nodes)
		s.nodes = append(s.nodes, fresh.node)
		s.all.insert(fresh.node)
		s.commit(pi, fresh)
		return nil
	case best != nil:
		if fresh != nil {
			s.discard(fresh)
		}
		s.commit(pi, best)
		return nil
	}
	return errs
}

// newNodesFor are the new nodes the pod may join, in order: each one
// that tryJoin would not refuse at once for the pod's zonal constraint or
// its own kind.
func (s *solver) newNodesFor(pi *podInfo) *nodeList {
	if pi.exclusive && s.holding[pi.labelSet] == len(s.nodes) {
		return nil
	}
	if pi.zonal {
		return &s.zoned
	}
	return &s.all
}

// listZoned adds a new node whose zone became fixed to the zoned nodes,
// in the order of the new nodes.
func (s *solver) listZoned(n *Node) {
	if n.inFlight || n.zoned || !zoneFixed(n.Requirements) {
		return
	}
	n.zoned = true
	s.zoned.insert(n)
	if r, ok := n.Requirements[wellknown.ZoneLabel]; ok {
		s.zoneNodes[r.Values()[0]]++
	}
}

// candidate is a way to place a pod: its node, and what the node becomes.
type candidate struct {
	node    *Node
	reqs    requirements.Requirements
	options []option
	target  *option
	// delta is what the placement adds to the hourly price; perPod, for a
	// new node, its price shared among the pods of the class it is sized for.
	delta, perPod float64
}

// narrow intersects reqs with the first of the pod's alternatives that is
// compatible, and returns the options left. A pod that adds no requirement
// leaves reqs and options as they are, shared, not copied.
func narrow(pool *poolState, reqs requirements.Requirements, options []option, pi *podInfo) (requirements.Requirements, []option, error) {
	var errs []error
	for _, alt := range pi.alternatives {
		if len(alt) == 0 {
			return reqs, options, nil
		}
		if err := reqs.Compatible(alt); err != nil {
			errs = append(errs, err)
			continue
		}
		merged := copyRequirements(reqs)
		merged.Add(alternativeValues(alt)...)
		if changesTypesOrOfferings(alt) {
			return merged, pool.optionsFor(merged), nil
		}
		return merged, options, nil
	}
	return nil, nil, errors.Join(errs...)
}

func alternativeValues(alt requirements.Requirements) []*requirements.Requirement {
	out := make([]*requirements.Requirement, 0, len(alt))
	for _, r := range alt {
		out = append(out, r)
	}
	return out
}

// changesTypesOrOfferings reports whether alt constrains any key the
// options depend on, so they must be recomputed.
func changesTypesOrOfferings(alt requirements.Requirements) bool {
	for key := range alt {
		if isOfferingKey(key) || wellknown.WellKnownLabels.Has(key) {
			return true
		}
	}
	return false
}

// untolerated returns the first taint of the pool the pod does not tolerate.
func untolerated(pool *Pool, pod *corev1.Pod) (corev1.Taint, bool) {
	return corev1helpers.FindMatchingUntoleratedTaint(pool.NodePool.Spec.Template.Spec.Taints, pod.Spec.Tolerations, func(t *corev1.Taint) bool {
		return t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute
	})
}

// tryJoin judges adding the pod to an open node. A placement that would
// add bound or more to the price cannot be chosen, and is refused before
// the Checker is asked: of a large batch's nodes, most hold the pod only
// by growing.
func (s *solver) tryJoin(pi *podInfo, n *Node, bound float64) (*candidate, error) {
	if n.inFlight {
		return s.tryJoinInFlight(pi, n)
	}
	if pi.zonal && !n.zoned {
		return nil, errZoneOpen
	}
	// A pod whose required anti-affinity selects its own labels is refused
	// by any node that holds a pod with the same labels: the Filter would
	// say so too, so skip asking.
	if s.sameLabelsRefuse(pi, n) {
		return nil, errSameLabels
	}
	// Narrowing only takes options away, so what the options hold now
	// bounds what the node costs more with the pod: a node that must grow
	// by at least the bound is refused before the pods' sum is made.
	grows := !pi.req.fitsWith(n.requests, n.target.alloc)
	if grows && n.growthFloor(pi.req) >= bound {
		return nil, errCostlier
	}
	pool := s.poolOf(n)
	need := n.requests.add(pi.req)
	// The largest option cannot hold the pods.
	if !s.anyFits(n.options, need) {
		return nil, errNoRoom
	}
	fit := cheapestFitting(n.options, need)
	if fit == nil {
		return nil, errNoRoom
	}
	if grows && fit.price-n.target.price >= bound {
		return nil, errCostlier
	}
	reqs, options, err := narrow(pool, n.Requirements, n.options, pi)
	if err != nil {
		return nil, err
	}
	if !sameOptions(options, n.options) {
		if fit = cheapestFitting(options, need); fit == nil {
			return nil, errNoRoom
		}
	}
	if err := minValuesMet(reqs, options, need); err != nil {
		return nil, err
	}
	c := &candidate{node: n, reqs: reqs, options: options, target: n.target}
	if !targetStillFits(n.target, options, need) {
		c.target = fit
		c.delta = fit.price - n.target.price
		if c.delta < 0 {
			c.delta = 0
		}
		if c.delta >= bound {
			return nil, errCostlier
		}
		if !pool.allows(n.target, fit) {
			return nil, fmt.Errorf("NodePool %s: growing the node would exceed the pool's limits", pool.Name())
		}
	}
	if c.delta >= bound {
		return nil, errCostlier
	}
	if err := s.check(pi, n, reqs); err != nil {
		return nil, err
	}
	return c, nil
}

// Reasons a pod cannot join an open node; preallocated, since the solver
// weighs every pod against every node.
var (
	errNoRoom     = errors.New("no instance type has room")
	errZoneOpen   = errors.New("the node's zone is not fixed yet")
	errSameLabels = errors.New("a pod with the same labels is on the node")
	errClaimReqs  = errors.New("the claim's requirements do not admit the pod")
	errCostlier   = errors.New("another node holds the pod for less")
)

func (s *solver) anyFits(options []option, need resources) bool {
	for i := len(options) - 1; i >= 0; i-- {
		if need.fitsIn(options[i].alloc) {
			return true
		}
	}
	return false
}

// targetStillFits: the node's size survives the narrowing and holds need.
func targetStillFits(target *option, options []option, need resources) bool {
	if !need.fitsIn(target.alloc) {
		return false
	}
	for i := range options {
		if options[i].it == target.it {
			return true
		}
	}
	return false
}

func zoneFixed(reqs requirements.Requirements) bool {
	r, ok := reqs[wellknown.ZoneLabel]
	return ok && r.Len() == 1
}

// check asks the Checker with the node's labels as the narrowed
// requirements would fix them.
func (s *solver) check(pi *podInfo, n *Node, reqs requirements.Requirements) error {
	if sameMap(reqs, n.Requirements) {
		return s.checker.Check(pi.pod, n)
	}
	saved := n.Labels
	n.Labels = labelsOf(n.Name, reqs)
	err := s.checker.Check(pi.pod, n)
	n.Labels = saved
	return err
}

// tryOpen finds the heaviest pool that can host the pod on a new node.
func (s *solver) tryOpen(pi *podInfo) (*candidate, error) {
	var reasons []string
	for _, pool := range s.pools {
		c, err := s.openIn(pool, pi)
		if err == nil {
			return c, nil
		}
		reasons = append(reasons, fmt.Sprintf("NodePool %s: %v", pool.Name(), err))
	}
	if len(reasons) == 0 {
		return nil, errors.New("no NodePool exists")
	}
	return nil, fmt.Errorf("no NodePool can host the pod: %s", strings.Join(reasons, "; "))
}

func (s *solver) openIn(pool *poolState, pi *podInfo) (*candidate, error) {
	if t, found := untolerated(pool.Pool, pi.pod); found {
		return nil, fmt.Errorf("the pod does not tolerate taint %s", t.ToString())
	}
	reqs, options, err := narrow(pool, pool.Requirements, pool.base, pi)
	if err != nil {
		return nil, fmt.Errorf("incompatible requirements: %w", err)
	}
	if len(options) == 0 {
		return nil, errors.New("no instance type or offering meets the pool's and the pod's requirements")
	}
	if cheapestFitting(options, pi.req) == nil {
		return nil, fmt.Errorf("no instance type has room for the pod's requests (%s) besides daemons", describe(pi.req))
	}
	if err := minValuesMet(reqs, options, pi.req); err != nil {
		return nil, err
	}
	if !(pi.zonal || pi.exclusive && s.zonalLeft > 0) || zoneFixed(reqs) {
		return s.openWith(pool, pi, reqs, options)
	}
	// A zonal constraint is judged on a node whose zone is known: try the
	// zones from the cheapest.
	var errs []error
	zones := s.zonesByPrice(options, reqs, pi.req)
	if !pi.zonal {
		// A pod that must be alone on its node is given a zone at once,
		// although nothing of its own asks for one, when pods with zonal
		// constraints (spreads, zonal affinity) are still to come: they can
		// only join a node whose zone is fixed, and without them its node
		// would stay mostly empty. Otherwise the claim keeps every zone,
		// for the launch to choose from. Among the zones of one price, the one
		// with the fewest of the batch's nodes comes first, so that those
		// pods find room in every zone.
		zones = slices.Clone(zones)
		sort.SliceStable(zones, func(i, j int) bool {
			if zones[i].price != zones[j].price {
				return zones[i].price < zones[j].price
			}
			return s.zoneNodes[zones[i].zone] < s.zoneNodes[zones[j].zone]
		})
	}
	for _, zp := range zones {
		zone := zp.zone
		zreqs := copyRequirements(reqs)
		zreqs.Add(requirements.NewRequirement(wellknown.ZoneLabel, corev1.NodeSelectorOpIn, zone))
		c, err := s.openWith(pool, pi, zreqs, pool.optionsFor(zreqs))
		if err == nil {
			return c, nil
		}
		errs = append(errs, fmt.Errorf("zone %s: %w", zone, err))
	}
	return nil, errors.Join(errs...)
}

// openWith sizes a new node for the pod and its class and checks the pod on it.
func (s *solver) openWith(pool *poolState, pi *podInfo, reqs requirements.Requirements, options []option) (*candidate, error) {
	target, perPod := s.sizeFor(pool, pi, options)
	if target == nil {
		return nil, fmt.Errorf("the pool's limits leave no room (remaining %s)", pool.describeRemaining())
	}
	n := &Node{
		Pool:         pool.Pool,
		Requirements: reqs,
		Labels:       labelsOf("", reqs),
		Taints:       pool.NodePool.Spec.Template.Spec.Taints,
		requests:     pool.overhead,
		options:      options,
		target:       target,
		labelSets:    map[string]int{},
	}
	n.Name = fmt.Sprintf("%s-planned-%d", pool.Name(), s.nodeSeq())
	n.Labels[wellknown.HostnameLabel] = n.Name
	s.checker.Opened(n)
	if err := s.checker.Check(pi.pod, n); err != nil {
		s.checker.Closed(n)
		return nil, err
	}
	return &candidate{node: n, reqs: reqs, options: options, target: target, delta: target.price, perPod: perPod}, nil
}

// nodeSeq numbers nodes, opened or only weighed, so names never repeat.
func (s *solver) nodeSeq() int {
	s.seq++
	return s.seq
}

// sizeFor chooses the size a new node opens at. For the pods of this class
// still to place it finds the cheapest way to spread them over nodes by
// dynamic programming over how many go on each (the pods are alike, so
// that is exact for them), and opens the node the plan's largest share goes
// on. A pod that must be alone gets the cheapest type that holds it.
func (s *solver) sizeFor(pool *poolState, pi *podInfo, options []option) (*option, float64) {
	if len(options) == 0 {
		return nil, 0
	}
	left := s.classLeft[pi.class]
	if pi.alone || left < 1 {
		left = 1
	}
	key := sizeKey{class: pi.class, alone: pi.alone, options: &options[0], n: len(options)}
	sp := s.sizePlans[key]
	if sp == nil || len(sp.plan) <= left || pool.limits != nil {
		sp = newSizePlan(pool, pi.req, options, left)
		s.sizePlans[key] = sp
	}
	if sp.most == 0 {
		return nil, 0
	}
	k := sp.share[left]
	for i := range options {
		if sp.fits[i] >= k && options[i].price == sp.cheapest[k] {
			return &options[i], sp.cheapest[k] / float64(k)
		}
	}
	return nil, 0
}

// sizeKey names a sizing problem: a class of pods on a set of options.
type sizeKey struct {
	class   string
	alone   bool
	options *option
	n       int
}

// sizePlan is the solution of a sizing problem for up to len(plan)-1 pods;
// a smaller count reads the same table.
type sizePlan struct {
	// fits[i] is how many pods option i holds; most the largest.
	fits []int
	most int
	// cheapest[k] is the price of the cheapest option holding k pods.
	cheapest []float64
	// plan[n] is the least price of n pods; share[n] the pods on its first node.
	plan  []float64
	share []int
}

func newSizePlan(pool *poolState, req resources, options []option, left int) *sizePlan {
	sp := &sizePlan{fits: make([]int, len(options))}
	for i := range options {
		if !pool.allows(nil, &options[i]) {
			continue
		}
		k := req.timesFit(options[i].alloc, resources{})
		if k > int64(left) {
			k = int64(left)
		}
		sp.fits[i] = int(k)
		sp.most = max(sp.most, sp.fits[i])
	}
	if sp.most == 0 {
		return sp
	}
	sp.cheapest = make([]float64, sp.most+1)
	for k := range sp.cheapest {
		sp.cheapest[k] = math.Inf(1)
	}
	for i, k := range sp.fits {
		if k > 0 && options[i].price < sp.cheapest[k] {
			sp.cheapest[k] = options[i].price
		}
	}
	for k := sp.most - 1; k >= 1; k-- {
		sp.cheapest[k] = min(sp.cheapest[k], sp.cheapest[k+1])
	}
	sp.plan = make([]float64, left+1)
	sp.share = make([]int, left+1)
	for n := 1; n <= left; n++ {
		sp.plan[n] = math.Inf(1)
		for k := min(n, sp.most); k >= 1; k-- {
			if p := sp.cheapest[k] + sp.plan[n-k]; p < sp.plan[n] {
				sp.plan[n], sp.share[n] = p, k
			}
		}
	}
	return sp
}

// allows reports whether the pool's limits let a node grow from one size
// (nil for a new node, which also counts one node more) to another.
func (p *poolState) allows(from, to *option) bool {
	if p.limits == nil {
		return true
	}
	nodes := int64(0)
	if from == nil {
		nodes = 1
	}
	return p.limits.allows(growth(from, to), nodes)
}

// withinLimits returns whether an option of the node stays within the
// pool's limits if the launcher picks it instead of the size the node was
// planned at: the plan counted the planned size, and what the limits still
// allow is the headroom. Nodes are finalized one at a time, each taking the
// headroom its largest option uses (countLargest), so no two nodes of a
// batch count on the same headroom.
func (p *poolState) withinLimits(n *Node) func(*option) bool {
	if p.limits == nil || n.target == nil || n.target.it == nil {
		return func(*option) bool { return true }
	}
	return func(o *option) bool { return p.limits.allows(growth(n.target, o), 0) }
}

// countLargest counts a finalized node at its largest offered type.
func (p *poolState) countLargest(n *Node) {
	if p.limits == nil || n.target == nil || n.target.it == nil || len(n.InstanceTypes) == 0 {
		return
	}
	kept := make([]*option, 0, len(n.InstanceTypes))
	for i := range n.options {
		for _, it := range n.InstanceTypes {
			if n.options[i].it == it {
				kept = append(kept, &n.options[i])
				break
			}
		}
	}
	extra := largest(kept).sub(n.target.capacity)
	p.limits.take(extra.atLeastZero(), 0)
}

// describeRemaining names what the limits still allow.
func (p *poolState) describeRemaining() string {
	return p.limits.describe()
}

// commit places the pod as the candidate says.
func (s *solver) commit(pi *podInfo, c *candidate) {
	n := c.node
	if pool := s.poolOf(n); pool.limits != nil && !n.inFlight {
		// A new node takes its size and one node from the limits; a grown
		// one the difference.
		if len(n.Pods) == 0 {
			pool.limits.take(growth(nil, c.target), 1)
		} else {
			pool.limits.take(growth(n.target, c.target), 0)
		}
	}
	n.Pods = append(n.Pods, pi.pod)
	if n.labelSets == nil || n.labelSetsShared {
		// An in-flight node's are its InFlight's until a pod joins it.
		n.labelSets, n.labelSetsShared = maps.Clone(n.labelSets), false
		if n.labelSets == nil {
			n.labelSets = map[string]int{}
		}
	}
	n.labelSets[pi.labelSet]++
	if !n.inFlight && n.labelSets[pi.labelSet] == 1 {
		s.holding[pi.labelSet]++
	}
	n.requests = n.requests.add(pi.req)
	if !sameMap(c.reqs, n.Requirements) {
		n.Requirements = c.reqs
		n.Labels = labelsOf(n.Name, c.reqs)
	}
	s.listZoned(n)
	n.options = c.options
	n.target = c.target
	if !n.inFlight {
		s.all.changed(n)
		if n.zoned {
			s.zoned.changed(n)
		}
	}
	s.checker.Placed(pi.pod, n)
}

// discard forgets a node that was opened for a comparison and not used.
func (s *solver) discard(c *candidate) {
	s.checker.Closed(c.node)
}

func (s *solver) poolOf(n *Node) *poolState {
	for _, p := range s.pools {
		if p.Pool == n.Pool {
			return p
		}
	}
	// An in-flight node of a pool not in this batch's list has no limits to
	// track.
	return &poolState{Pool: n.Pool}
}

// zoneKey names a zonesByPrice question: a list of options, and a pod's
// requests (extended resources aside: such pods are not cached).
type zoneKey struct {
	first                               *option
	n                                   int
	cpu, memory, storage, pods, volumes int64
}

// zonesByPrice is zonesByPrice, cached: the pods of a class ask it of the
// same options again and again. The options of one requirements are
// computed once per solve (optionsFor), so their first element names them.
func (s *solver) zonesByPrice(options []option, reqs requirements.Requirements, req resources) []zonePrice {
	if len(options) == 0 || len(req.extended) > 0 {
		return zonesByPrice(options, reqs, req)
	}
	key := zoneKey{first: &options[0], n: len(options), cpu: req.cpu, memory: req.memory, storage: req.storage, pods: req.pods, volumes: req.volumes}
	if z, ok := s.zoneOrder[key]; ok {
		return z
	}
	z := zonesByPrice(options, reqs, req)
	s.zoneOrder[key] = z
	return z
}

// zonesByPrice lists the zones reqs allow, by the price of the cheapest
// option in each that holds req.
func zonesByPrice(options []option, reqs requirements.Requirements, req resources) []zonePrice {
	price := map[string]float64{}
	for i := range options {
		o := &options[i]
		if !req.fitsIn(o.alloc) {
			continue
		}
		for j := range o.it.Offerings {
			off := &o.it.Offerings[j]
			if !off.Available || !off.Matches(reqs) {
				continue
			}
			if p, ok := price[off.Zone]; !ok || off.Price < p {
				price[off.Zone] = off.Price
			}
		}
	}
	zones := make([]zonePrice, 0, len(price))
	for z, p := range price {
		zones = append(zones, zonePrice{zone: z, price: p})
	}
	sort.Slice(zones, func(i, j int) bool {
		if zones[i].price != zones[j].price {
			return zones[i].price < zones[j].price
		}
		return zones[i].zone < zones[j].zone
	})
	return zones
}

// zonePrice is a zone and the price of the cheapest option in it.
type zonePrice struct {
	zone  string
	price float64
}

func describe(r resources) string {
	return fmt.Sprintf("cpu=%dm memory=%dMi", r.cpu, r.memory>>20)
}

// noChecker judges nothing beyond what the solver does itself.
type noChecker struct{}

func (noChecker) Check(*corev1.Pod, *Node) error { return nil }
func (noChecker) Opened(*Node)                   {}
func (noChecker) Placed(*corev1.Pod, *Node)      {}
func (noChecker) Closed(*Node)                   {}

// sameOptions reports whether two option lists are the same list, not
// merely equal: narrow shares the node's list when the pod changes no key
// the options depend on.
func sameOptions(a, b []option) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// sameMap reports whether two requirement maps are the same map, not merely
// equal: narrow shares the node's map when a pod adds nothing.
func sameMap(a, b requirements.Requirements) bool {
	return len(a) == len(b) && (len(a) == 0 || reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer())
}
