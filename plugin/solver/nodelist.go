package solver

import (
	"math"
	"sort"
)

// nodeList is a list of new nodes in the order they were opened, over a
// tree that says what the nodes of each range could still take: a pod is
// weighed against every node of a batch, and with thousands of nodes most
// refuse it, or hold it only by growing by more than a node already found.
// A range none of whose nodes could do better is skipped whole. The skip
// is exact: it uses the bounds tryJoin refuses a node by (growthFloor), so
// a scan visits, in order, every node tryJoin would not refuse for them.
type nodeList struct {
	nodes []*Node
	// tree is a segment tree over nodes: leaf i is tree[leaves+i], the
	// children of k are 2k and 2k+1. stale marks it for a rebuild, after a
	// node was inserted before others.
	tree   []bound
	leaves int
	stale  bool
}

// bound sums up a range of nodes.
type bound struct {
	// free[k] is, resource by resource, the most any node could take for
	// less than floor[k-1] more (nothing more, for k = 0): its room[k], as
	// growthFloor counts it, less its requests. Extended resources are not
	// summed up: a pod that requests any is never skipped by free.
	free [2]resources
	// floor[k] is the least any node costs more with a pod free[k] does
	// not hold.
	floor [2]float64
}

// none bounds an empty range: it takes nothing and costs without bound.
var none = func() bound {
	b := bound{floor: [2]float64{math.Inf(1), math.Inf(1)}}
	for k := range b.free {
		b.free[k] = resources{cpu: math.MinInt64, memory: math.MinInt64, storage: math.MinInt64, pods: math.MinInt64, volumes: math.MinInt64}
	}
	return b
}()

// insert adds n at its place in the order.
func (l *nodeList) insert(n *Node) {
	i := sort.Search(len(l.nodes), func(i int) bool { return l.nodes[i].order > n.order })
	l.nodes = append(l.nodes, nil)
	copy(l.nodes[i+1:], l.nodes[i:])
	l.nodes[i] = n
	switch {
	case len(l.nodes) > l.leaves:
		l.stale = true
	case i < len(l.nodes)-1:
		// Every node after n moved one leaf on.
		l.stale = true
	case !l.stale:
		l.set(i)
	}
}

// changed notes that n's requests, options or size changed.
func (l *nodeList) changed(n *Node) {
	if l.stale {
		return
	}
	i := sort.Search(len(l.nodes), func(i int) bool { return l.nodes[i].order >= n.order })
	if i < len(l.nodes) && l.nodes[i] == n {
		l.set(i)
	}
}

// set recomputes leaf i and the ranges above it.
func (l *nodeList) set(i int) {
	k := l.leaves + i
	l.tree[k] = boundOf(l.nodes[i])
	for k /= 2; k >= 1; k /= 2 {
		l.tree[k] = merge(l.tree[2*k], l.tree[2*k+1])
	}
}

// rebuild sizes the tree for the nodes and sums every range again.
func (l *nodeList) rebuild() {
	l.leaves = 1
	for l.leaves < len(l.nodes) {
		l.leaves *= 2
	}
	// Room to grow, so that appending rebuilds seldom.
	l.leaves *= 2
	l.tree = make([]bound, 2*l.leaves)
	for k := range l.tree {
		l.tree[k] = none
	}
	for i, n := range l.nodes {
		l.tree[l.leaves+i] = boundOf(n)
	}
	for k := l.leaves - 1; k >= 1; k-- {
		l.tree[k] = merge(l.tree[2*k], l.tree[2*k+1])
	}
	l.stale = false
}

func boundOf(n *Node) bound {
	f := n.growthBounds()
	b := bound{floor: f.floor}
	for k := range f.room {
		b.free[k] = f.room[k].sub(n.requests)
		b.free[k].extended = nil
	}
	return b
}

func merge(a, b bound) bound {
	var m bound
	for k := range m.free {
		x, y := a.free[k], b.free[k]
		m.free[k] = resources{cpu: max(x.cpu, y.cpu), memory: max(x.memory, y.memory), storage: max(x.storage, y.storage), pods: max(x.pods, y.pods), volumes: max(x.volumes, y.volumes)}
		m.floor[k] = min(a.floor[k], b.floor[k])
	}
	return m
}

// costs reports whether every node of the range refuses req as tryJoin
// would: no room without growing, and growing costs limit or more.
func (b *bound) costs(req resources, limit float64) bool {
	if len(req.extended) > 0 || req.fitsIn(b.free[0]) {
		return false
	}
	return b.floor[0] >= limit || !req.fitsIn(b.free[1]) && b.floor[1] >= limit
}

// scan visits, in order, the nodes that could take req for less than
// limit() (read again after each visit) or without growing, until visit
// returns true.
func (l *nodeList) scan(req resources, limit func() float64, visit func(*Node) bool) {
	if len(l.nodes) == 0 {
		return
	}
	if l.stale {
		l.rebuild()
	}
	l.descend(1, req, limit, visit)
}

// descend scans the range under tree node k; it reports whether visit
// asked to stop.
func (l *nodeList) descend(k int, req resources, limit func() float64, visit func(*Node) bool) bool {
	b := &l.tree[k]
	if b.floor[0] == math.Inf(1) && b.free[0].cpu == math.MinInt64 {
		return false // an empty range
	}
	if b.costs(req, limit()) {
		return false
	}
	if k >= l.leaves {
		return visit(l.nodes[k-l.leaves])
	}
	return l.descend(2*k, req, limit, visit) || l.descend(2*k+1, req, limit, visit)
}
