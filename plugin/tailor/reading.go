package tailor

import (
	"context"
	"slices"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
)

// A disruption pass searches twice, multi-node then single-node, each on a
// session that reads the world once (session.go); the second reads what the
// first did unless something changed in between. The last session's world
// is kept with what it was read from, and the next session takes it when
// all of that is still the same: the same NodeClaims (by resourceVersion),
// NodePools and EC2NodeClasses, instance types and daemon overhead, and the
// same Node and Pod objects in the informers, which replace an object on
// every change. The ledger's reservations and holds change with those
// objects. Whatever a search read, its decision is planned again on a fresh
// reading before it is carried out.

// reading is a session's world and what it was read from. The world's
// simulator runs the plugins with the context it was read in, so it is not
// taken once that is done (the disruption Lease lost, say).
type reading struct {
	ctx    context.Context
	w      *world
	onNode map[string][]*corev1.Pod
	from   readFrom
}

// takes reports whether the reading serves a session whose world would be
// read from now.
func (r *reading) takes(now readFrom) bool {
	return r != nil && r.ctx.Err() == nil && r.from.equal(now)
}

// readFrom is what a world is read from, as far as it can change.
type readFrom struct {
	claims map[types.UID]string
	pools  *poolSet
	nodes  sets.Set[*corev1.Node]
	pods   sets.Set[*corev1.Pod]
}

// lastReading keeps the last reading; its zero value keeps none.
type lastReading struct {
	mu sync.Mutex
	r  *reading
}

func (l *lastReading) get() *reading {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r
}

func (l *lastReading) set(r *reading) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.r = r
}

// readFromNow is what the world would be read from now. ok is false when
// it cannot be told apart from another: a claim without a resourceVersion.
func readFromNow(claims []karpv1.NodeClaim, pools *poolSet, nodes []*corev1.Node, pods []*corev1.Pod) (readFrom, bool) {
	from := readFrom{claims: make(map[types.UID]string, len(claims)), pools: pools, nodes: sets.New(nodes...), pods: sets.New(pods...)}
	for i := range claims {
		c := &claims[i]
		if c.ResourceVersion == "" || c.UID == "" {
			return readFrom{}, false
		}
		from.claims[c.UID] = c.ResourceVersion
	}
	return from, true
}

func (a readFrom) equal(b readFrom) bool {
	if len(a.claims) != len(b.claims) || !a.nodes.Equal(b.nodes) || !a.pods.Equal(b.pods) || !samePools(a.pools, b.pools) {
		return false
	}
	for uid, rv := range a.claims {
		if b.claims[uid] != rv {
			return false
		}
	}
	return true
}

// samePools reports whether two loadings of the pools came to the same:
// the same NodePool and EC2NodeClass objects, the same instance types (the
// catalog hands out one slice per answer, never changed), the same daemon
// overhead and limits left.
func samePools(a, b *poolSet) bool {
	if len(a.pools) != len(b.pools) || !slices.Equal(a.skipped, b.skipped) {
		return false
	}
	for i, p := range a.pools {
		q := b.pools[i]
		ca, cb := a.classes[p.Name()], b.classes[q.Name()]
		if p.NodePool.UID != q.NodePool.UID || p.NodePool.ResourceVersion != q.NodePool.ResourceVersion || p.NodePool.ResourceVersion == "" ||
			ca.UID != cb.UID || ca.ResourceVersion != cb.ResourceVersion || ca.ResourceVersion == "" ||
			len(p.InstanceTypes) != len(q.InstanceTypes) || len(p.InstanceTypes) > 0 && &p.InstanceTypes[0] != &q.InstanceTypes[0] ||
			!sameList(p.DaemonOverhead, q.DaemonOverhead) || (p.Remaining == nil) != (q.Remaining == nil) || !sameList(p.Remaining, q.Remaining) {
			return false
		}
	}
	return true
}

func sameList(a, b corev1.ResourceList) bool {
	if len(a) != len(b) {
		return false
	}
	for name, q := range a {
		if r, ok := b[name]; !ok || q.Cmp(r) != 0 {
			return false
		}
	}
	return true
}
