package solver

import (
	"math"
	"sort"
)

// blockSize is how many nodes a block of a nodeList sums up.
const blockSize = 64

// nodeList is a list of new nodes in the order they were opened, in blocks
// that say what their nodes could still take: a pod is weighed against
// every node of a batch, and with thousands of nodes most refuse it, or
// hold it only by growing by more than a node already found. A block none
// of whose nodes could do better is skipped whole. The skip is exact: it
// uses the same bounds tryJoin refuses a node by (growthFloor), so a scan
// visits, in order, every node tryJoin would not refuse for them.
type nodeList struct {
	nodes  []*Node
	blocks []block
}

// block sums up blockSize nodes of a list.
type block struct {
	// free is, resource by resource, the most any node could take without
	// costing more: its room, as growthFloor counts it, less its requests.
	// Extended resources are not summed up: a pod that requests any is
	// never skipped by free.
	free resources
	// floor is the least any node costs more with a pod it has no room for.
	floor float64
	dirty bool
}

// insert adds n at its place in the order.
func (l *nodeList) insert(n *Node) {
	i := sort.Search(len(l.nodes), func(i int) bool { return l.nodes[i].order > n.order })
	l.nodes = append(l.nodes, nil)
	copy(l.nodes[i+1:], l.nodes[i:])
	l.nodes[i] = n
	for len(l.blocks)*blockSize < len(l.nodes) {
		l.blocks = append(l.blocks, block{})
	}
	// Every block from n's on holds other nodes now.
	for b := i / blockSize; b < len(l.blocks); b++ {
		l.blocks[b].dirty = true
	}
}

// changed notes that n's requests, options or size changed.
func (l *nodeList) changed(n *Node) {
	i := sort.Search(len(l.nodes), func(i int) bool { return l.nodes[i].order >= n.order })
	if i < len(l.nodes) && l.nodes[i] == n {
		l.blocks[i/blockSize].dirty = true
	}
}

// scan visits, in order, the nodes that could take req for less than
// bound() (read again after each visit) or without growing, until visit
// returns true.
func (l *nodeList) scan(req resources, bound func() float64, visit func(*Node) bool) {
	for b := range l.blocks {
		blk := &l.blocks[b]
		lo, hi := b*blockSize, min((b+1)*blockSize, len(l.nodes))
		if blk.dirty {
			l.sum(blk, l.nodes[lo:hi])
		}
		if len(req.extended) == 0 && !req.fitsIn(blk.free) && blk.floor >= bound() {
			continue
		}
		for _, n := range l.nodes[lo:hi] {
			if visit(n) {
				return
			}
		}
	}
}

func (l *nodeList) sum(blk *block, nodes []*Node) {
	*blk = block{free: resources{cpu: math.MinInt64, memory: math.MinInt64, storage: math.MinInt64, pods: math.MinInt64, volumes: math.MinInt64}, floor: math.Inf(1)}
	for _, n := range nodes {
		room, step := n.growthBounds()
		free := room.sub(n.requests)
		blk.free.cpu, blk.free.memory = max(blk.free.cpu, free.cpu), max(blk.free.memory, free.memory)
		blk.free.storage, blk.free.pods = max(blk.free.storage, free.storage), max(blk.free.pods, free.pods)
		blk.free.volumes = max(blk.free.volumes, free.volumes)
		blk.floor = min(blk.floor, step)
	}
}
