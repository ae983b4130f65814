package solver

import (
	"fmt"
	"math"
	"sort"

	corev1 "k8s.io/api/core/v1"

	"github.com/tailor-project/tailor/apis/requirements"
	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/launcher/catalog"
)

// option is an instance type a node may still become, priced under the
// node's requirements.
type option struct {
	it    *catalog.InstanceType
	alloc resources
	// capacity is it.Capacity, read once: the limits weigh it for every
	// pod against every node.
	capacity resources
	price    float64
}

// Node is a node the solver plans to buy.
type Node struct {
	// Name is a placeholder hostname, unique within the batch, that the
	// Checker uses as the node's kubernetes.io/hostname.
	Name string
	Pool *Pool
	// Requirements are the pool's narrowed by every pod on the node.
	Requirements requirements.Requirements
	// Labels are the labels the node is sure to carry: the requirements with
	// one value, and its hostname.
	Labels map[string]string
	Taints []corev1.Taint
	Pods   []*corev1.Pod

	// InstanceTypes are, once the plan is final, every type that holds the
	// pods, cheapest first; Price is the cheapest one's.
	InstanceTypes []*catalog.InstanceType
	Price         float64

	requests resources
	options  []option // sorted by price
	// target is the size the node was opened for; pods that fit in it cost nothing more.
	target *option
	// labelSets counts the pods on the node by namespace and labels;
	// labelSetsShared, that the map is an InFlight's, not to be written.
	labelSets       map[string]int
	labelSetsShared bool
	// inFlight marks a node bought earlier: its options are its room.
	inFlight bool
	// order is the node's place among the solve's new nodes; zoned, that
	// it is in the solver's list of nodes whose zone is fixed.
	order int
	zoned bool
	// floor caches what growthFloor reads from the options and target.
	floor growthFloor
}

// growthFloor bounds what a pod adds to the node's price, for the options
// and target it was computed for. Options come in price steps: room[0] is
// the most of each resource among the options no dearer than the target,
// room[1] among those no dearer than the next price, and floor[k] what the
// node costs more at the price after room[k]'s: a pod whose sum with the
// node's requests room[k] cannot hold costs at least floor[k] more.
type growthFloor struct {
	options []option
	target  *option
	room    [2]resources
	floor   [2]float64
}

// growthFloor is a lower bound of what adding req adds to the node's
// price; cheap to ask of every node for every pod.
func (n *Node) growthFloor(req resources) float64 {
	f := n.growthBounds()
	for k := range f.room {
		if req.fitsWith(n.requests, f.room[k]) {
			if k == 0 {
				return 0
			}
			return f.floor[k-1]
		}
	}
	return f.floor[len(f.floor)-1]
}

// growthBounds are the node's growth floor, computed again when its
// options or target changed.
func (n *Node) growthBounds() *growthFloor {
	f := &n.floor
	if f.target == n.target && sameOptions(f.options, n.options) {
		return f
	}
	*f = growthFloor{options: n.options, target: n.target, floor: [2]float64{math.Inf(1), math.Inf(1)}}
	k, price := 0, n.target.price
	for i := range n.options {
		o := &n.options[i]
		for o.price > price {
			f.floor[k] = o.price - n.target.price
			if k+1 == len(f.room) {
				return f
			}
			f.room[k+1] = f.room[k]
			k, price = k+1, o.price
		}
		f.room[k] = f.room[k].atLeast(o.alloc)
	}
	return f
}

// Requests are what the pods and daemons on the node request in sum. The
// solver's volume count is left out: no node advertises it, and a claim
// that asked for it would wait for it forever.
func (n *Node) Requests() corev1.ResourceList {
	list := n.requests.list()
	delete(list, ResourceEBSVolumes)
	return list
}

func copyRequirements(r requirements.Requirements) requirements.Requirements {
	out := make(requirements.Requirements, len(r))
	for k, v := range r {
		out[k] = v
	}
	return out
}

// offeringKeys are decided by the offering, not the instance type.
func isOfferingKey(key string) bool {
	switch key {
	case wellknown.ZoneLabel, wellknown.CapacityTypeLabel, wellknown.TopologyZoneIDLabel,
		wellknown.CapacityReservationIDLabel, wellknown.CapacityReservationTypeLabel:
		return true
	}
	return false
}

// typeAllowed reports whether an instance type's own labels satisfy reqs.
// Keys the type does not label are the node's (pool labels) or the
// offering's, judged elsewhere, except well-known instance keys the type
// lacks (a GPU key on a CPU type), which only an absent-tolerant
// requirement admits.
func typeAllowed(it *catalog.InstanceType, reqs requirements.Requirements) bool {
	for key, req := range reqs {
		if v, ok := it.Labels[key]; ok {
			if !req.Has(v) {
				return false
			}
			continue
		}
		if isOfferingKey(key) || key == wellknown.NodePoolLabel || !wellknown.WellKnownLabels.Has(key) {
			continue
		}
		if !req.AllowsAbsent() {
			return false
		}
	}
	return true
}

// cheapestOffering is the lowest price of an available offering that meets
// reqs, false if there is none.
func cheapestOffering(it *catalog.InstanceType, reqs requirements.Requirements) (float64, bool) {
	best, found := math.Inf(1), false
	for i := range it.Offerings {
		o := &it.Offerings[i]
		if o.Available && o.Matches(reqs) && o.Price < best {
			best, found = o.Price, true
		}
	}
	return best, found
}

// optionsFor lists the types of the pool that reqs allow and that can be
// launched under them, cheapest first, each with its room after daemons.
func optionsFor(pool *Pool, reqs requirements.Requirements, overhead resources) []option {
	var out []option
	for _, it := range pool.InstanceTypes {
		if !typeAllowed(it, reqs) {
			continue
		}
		price, ok := cheapestOffering(it, reqs)
		if !ok {
			continue
		}
		alloc := newResources(it.Allocatable)
		alloc.cpu -= overhead.cpu
		alloc.memory -= overhead.memory
		alloc.storage -= overhead.storage
		alloc.pods -= overhead.pods
		alloc.volumes = ebsVolumeLimit(pool, it)
		out = append(out, option{it: it, alloc: alloc, capacity: newResources(it.Capacity), price: price})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].price != out[j].price {
			return out[i].price < out[j].price
		}
		return out[i].it.Name < out[j].it.Name
	})
	return out
}

// cheapestFitting is the first (cheapest) option that holds req.
func cheapestFitting(options []option, req resources) *option {
	for i := range options {
		if req.fitsIn(options[i].alloc) {
			return &options[i]
		}
	}
	return nil
}

// minValuesMet reports whether the options that hold req span at least the
// minValues a requirement asks for.
func minValuesMet(reqs requirements.Requirements, options []option, req resources) error {
	for key, r := range reqs {
		if r.MinValues == nil {
			continue
		}
		values := map[string]struct{}{}
		for i := range options {
			if req.fitsIn(options[i].alloc) {
				if v, ok := options[i].it.Labels[key]; ok {
					values[v] = struct{}{}
				}
			}
		}
		if len(values) < *r.MinValues {
			return fmt.Errorf("%s needs %d values among the instance types that fit, only %d do", key, *r.MinValues, len(values))
		}
	}
	return nil
}

// labelsOf are the labels a node with these requirements is sure to carry.
func labelsOf(name string, reqs requirements.Requirements) map[string]string {
	labels := reqs.Labels()
	labels[wellknown.HostnameLabel] = name
	return labels
}

// finalize right-sizes the node: every option that holds its pods and that
// allowed admits, cheapest first, at most max of them but never fewer than
// minValues asks.
func (n *Node) finalize(max int, allowed func(*option) bool) {
	var fit []*option
	for i := range n.options {
		if n.requests.fitsIn(n.options[i].alloc) && allowed(&n.options[i]) {
			fit = append(fit, &n.options[i])
		}
	}
	keep := min(len(fit), max)
	for keep < len(fit) && !minValuesKept(n.Requirements, fit[:keep]) {
		keep++
	}
	n.InstanceTypes = make([]*catalog.InstanceType, keep)
	for i, o := range fit[:keep] {
		n.InstanceTypes[i] = o.it
	}
	if keep > 0 {
		n.Price = fit[0].price
	}
}

// minValuesKept reports whether the kept options span the values minValues
// asks for.
func minValuesKept(reqs requirements.Requirements, kept []*option) bool {
	for key, r := range reqs {
		if r.MinValues == nil {
			continue
		}
		values := map[string]struct{}{}
		for _, o := range kept {
			if v, ok := o.it.Labels[key]; ok {
				values[v] = struct{}{}
			}
		}
		if len(values) < *r.MinValues {
			return false
		}
	}
	return true
}
