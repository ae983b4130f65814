package solver

import (
	"sync"

	corev1 "k8s.io/api/core/v1"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/requirements"
	"github.com/tailor-project/tailor/launcher/catalog"
)

// Pool is a NodePool as the solver sees it for one batch.
type Pool struct {
	NodePool *karpv1.NodePool
	// Requirements are the pool's requirements and template labels.
	Requirements requirements.Requirements
	// InstanceTypes are the types the pool allows, with their offerings.
	InstanceTypes []*catalog.InstanceType
	// DaemonOverhead is what the DaemonSet pods that would run on a node of
	// the pool request; it is taken from every node's room.
	DaemonOverhead corev1.ResourceList
	// Remaining is what the pool's limits still allow, nil for no limit.
	Remaining corev1.ResourceList
	// ExtraBlockDevices are the EBS volumes a node of the pool attaches at
	// launch besides its root volume (catalog.ExtraBlockDevices); they take
	// attachment slots pods' volumes cannot have.
	ExtraBlockDevices int

	// options keeps, across the solves of one reading of the pool (a
	// disruption search solves hundreds), the options of each set of
	// requirements: they depend on nothing else but InstanceTypes and
	// DaemonOverhead, which a reading does not change.
	options optionCache
}

// Name is the NodePool's name.
func (p *Pool) Name() string { return p.NodePool.Name }

// Weight orders pools: heavier first.
func (p *Pool) Weight() int32 {
	if p.NodePool.Spec.Weight == nil {
		return 0
	}
	return *p.NodePool.Spec.Weight
}

// Checker decides whether a pod may go on a hypothetical node by the
// scheduler profile's own rules: taints, inter-pod affinity, topology
// spread, ports, volumes. The solver tells it of every node it opens and
// every pod it places, so later answers account for them.
type Checker interface {
	// Check returns nil if pod may join node, or why not.
	Check(pod *corev1.Pod, node *Node) error
	// Opened registers a new node (with no pods yet).
	Opened(node *Node)
	// Placed registers pod on node.
	Placed(pod *corev1.Pod, node *Node)
	// Closed forgets a node the solver gave up on.
	Closed(node *Node)
}

// InFlight is a node bought earlier that has room left: a NodeClaim not yet
// full of reservations. Pods that fit its room join it at no cost.
type InFlight struct {
	// Name is the node's name in the Checker's snapshot.
	Name string
	Pool *Pool
	// Requirements are the claim's; they no longer narrow.
	Requirements requirements.Requirements
	// Labels are the node's labels as the Checker's snapshot holds them,
	// hostname included, when they are more than the requirements say: a
	// running node carries labels no requirement can (karpenter.sh/
	// registered, say), and the Checker must judge the node as it is. Nil
	// for the requirements' labels and Name as hostname.
	Labels map[string]string
	Taints []corev1.Taint
	// Room is what is left for more pods on every instance type the claim
	// may become.
	Room corev1.ResourceList

	// Pods are the pods on the node already, when known. A pod whose
	// hostname anti-affinity or spread selects its own kind is refused
	// where they are without asking the Checker, which would refuse it too.
	Pods []*corev1.Pod

	// What Room and Pods come to in the solver's terms, computed once: a
	// disruption search solves against the same in-flight nodes hundreds
	// of times. Neither may change once the InFlight was solved with.
	roomOnce      sync.Once
	roomRes       resources
	labelSetsOnce sync.Once
	labelSetsMap  map[string]int
}

// room is Room in the solver's terms. A Room that does not name
// ResourceEBSVolumes limits no volumes.
func (f *InFlight) room() resources {
	f.roomOnce.Do(func() {
		f.roomRes = newResources(f.Room)
		if _, ok := f.Room[ResourceEBSVolumes]; !ok {
			f.roomRes.volumes = unlimitedVolumes
		}
	})
	return f.roomRes
}

// labelSets counts Pods by namespace and labels; nil when there are none.
// The map is shared: not to be written.
func (f *InFlight) labelSets() map[string]int {
	f.labelSetsOnce.Do(func() {
		for _, p := range f.Pods {
			if f.labelSetsMap == nil {
				f.labelSetsMap = map[string]int{}
			}
			f.labelSetsMap[labelSetOf(p)]++
		}
	})
	return f.labelSetsMap
}

// Input is one batch.
type Input struct {
	Pods []*corev1.Pod
	// InFlight nodes are tried before new ones.
	InFlight []*InFlight
	// Pools in any order; the solver tries heavier pools first.
	Pools []*Pool
	// Checker judges pods against nodes; nil judges taints only.
	Checker Checker
	// EmptyDomains says the Checker's snapshot always holds an empty node
	// per pool and zone (simulate.AddPlaceholders), so a hostname topology
	// spread always has a domain with no matching pod. The solver then
	// refuses, without asking, a pod whose spread its own copies on a node
	// already use up: the Filter would refuse it too.
	EmptyDomains bool
	// MaxInstanceTypes caps the instance types offered per node (60 when 0),
	// as EC2 caps a fleet's overrides.
	MaxInstanceTypes int
	// EBSVolumes counts the EBS volumes a pod attaches
	// (volumetopology.Reader.EBSVolumes); nil counts none. It is asked only
	// of pods with claims.
	EBSVolumes func(*corev1.Pod) int
}

// Result is the solver's plan.
type Result struct {
	// Nodes to create, each with the pods planned on it.
	Nodes []*Node
	// Joined maps in-flight nodes, by name, to the pods placed on them.
	Joined map[string][]*corev1.Pod
	// Unplaced are the pods no pool can host, with the reason.
	Unplaced map[*corev1.Pod]error
}

// Price is the plan's hourly price: each node at its cheapest type.
func (r *Result) Price() float64 {
	total := 0.0
	for _, n := range r.Nodes {
		total += n.Price
	}
	return total
}

// optionCache is safe for solves that run at once over one pool.
type optionCache struct {
	mu       sync.Mutex
	overhead resources
	byReqs   map[string][]option
}
