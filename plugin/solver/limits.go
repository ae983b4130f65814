package solver

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// ResourceNodes is the key of spec.limits that caps a pool's node count.
const ResourceNodes corev1.ResourceName = "nodes"

// limits is what a pool's spec.limits still allow during one solve: every
// resource the limits name (cpu, memory, ephemeral-storage, pods, any
// extended resource such as nvidia.com/gpu) and the node count. A resource
// the limits do not name is not limited.
//
// A node is counted at the capacity of the largest instance type it may
// become, not the one it was planned at: the launcher may pick any type the
// claim offers, and a batch must stay within the limits whichever it picks.
type limits struct {
	names map[corev1.ResourceName]bool
	// list holds the names too, for the loop every placement runs.
	list  []corev1.ResourceName
	left  resources
	nodes int64
}

// newLimits reads what Pool.Remaining leaves; nil when nothing is limited.
func newLimits(remaining corev1.ResourceList) *limits {
	if len(remaining) == 0 {
		return nil
	}
	l := &limits{names: map[corev1.ResourceName]bool{}}
	for name, q := range remaining {
		l.names[name] = true
		l.list = append(l.list, name)
		if name == ResourceNodes {
			l.nodes = q.Value()
			continue
		}
		l.left.set(name, q)
	}
	return l
}

// allows reports whether growth of capacity by grow, and nodes more nodes,
// stays within what is left.
func (l *limits) allows(grow resources, nodes int64) bool {
	if l == nil {
		return true
	}
	for _, name := range l.list {
		if l.get(grow, name, nodes) > l.get(l.left, name, l.nodes) {
			return false
		}
	}
	return true
}

// take counts growth of capacity by grow, and nodes more nodes.
func (l *limits) take(grow resources, nodes int64) {
	if l == nil {
		return
	}
	l.nodes -= nodes
	l.left.cpu -= grow.cpu
	l.left.memory -= grow.memory
	l.left.storage -= grow.storage
	l.left.pods -= grow.pods
	for name, v := range grow.extended {
		if l.names[name] {
			if l.left.extended == nil {
				l.left.extended = map[corev1.ResourceName]int64{}
			}
			l.left.extended[name] -= v
		}
	}
}

func (l *limits) get(r resources, name corev1.ResourceName, nodes int64) int64 {
	switch name {
	case ResourceNodes:
		return nodes
	case corev1.ResourceCPU:
		return r.cpu
	case corev1.ResourceMemory:
		return r.memory
	case corev1.ResourceEphemeralStorage:
		return r.storage
	case corev1.ResourcePods:
		return r.pods
	}
	return r.extended[name]
}

// describe names what the limits still allow.
func (l *limits) describe() string {
	names := make([]string, 0, len(l.names))
	for name := range l.names {
		names = append(names, string(name))
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, name := range names {
		v := l.get(l.left, corev1.ResourceName(name), l.nodes)
		switch corev1.ResourceName(name) {
		case corev1.ResourceCPU:
			parts[i] = fmt.Sprintf("cpu=%dm", v)
		case corev1.ResourceMemory, corev1.ResourceEphemeralStorage:
			parts[i] = fmt.Sprintf("%s=%dMi", name, v>>20)
		default:
			parts[i] = fmt.Sprintf("%s=%d", name, v)
		}
	}
	return strings.Join(parts, " ")
}

// growth is what capacity grows by when a node goes from one option (nil for
// a new node) to another.
func growth(from, to *option) resources {
	if from == nil || from.it == nil {
		return to.capacity
	}
	return to.capacity.sub(from.capacity)
}

// largest is the capacity of the largest of the options, resource by
// resource: what a node counts against the limits whichever it becomes.
func largest(options []*option) resources {
	var out resources
	for _, o := range options {
		c := o.capacity
		out.cpu, out.memory = max(out.cpu, c.cpu), max(out.memory, c.memory)
		out.storage, out.pods = max(out.storage, c.storage), max(out.pods, c.pods)
		for name, v := range c.extended {
			if out.extended == nil {
				out.extended = map[corev1.ResourceName]int64{}
			}
			out.extended[name] = max(out.extended[name], v)
		}
	}
	return out
}
