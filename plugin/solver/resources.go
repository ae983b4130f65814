package solver

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	resourcehelper "k8s.io/component-helpers/resource"
)

// resources is a resource list in integers, so the packing loop adds and
// compares without allocating. cpu is in millicores, the others in their base
// unit; extended resources, rare, live in a small map. volumes is
// ResourceEBSVolumes, a field of its own because every instance type offers
// it: in the map it would cost every option an allocation.
type resources struct {
	cpu, memory, storage, pods, volumes int64
	extended                            map[corev1.ResourceName]int64
}

func newResources(list corev1.ResourceList) resources {
	var r resources
	for name, q := range list {
		r.set(name, q)
	}
	return r
}

func (r *resources) set(name corev1.ResourceName, q resource.Quantity) {
	switch name {
	case corev1.ResourceCPU:
		r.cpu = q.MilliValue()
	case corev1.ResourceMemory:
		r.memory = q.Value()
	case corev1.ResourceEphemeralStorage:
		r.storage = q.Value()
	case corev1.ResourcePods:
		r.pods = q.Value()
	case ResourceEBSVolumes:
		r.volumes = q.Value()
	default:
		if r.extended == nil {
			r.extended = map[corev1.ResourceName]int64{}
		}
		r.extended[name] = q.Value()
	}
}

func (r resources) equal(o resources) bool {
	if r.cpu != o.cpu || r.memory != o.memory || r.storage != o.storage || r.pods != o.pods || r.volumes != o.volumes || len(r.extended) != len(o.extended) {
		return false
	}
	for n, v := range r.extended {
		if w, ok := o.extended[n]; !ok || w != v {
			return false
		}
	}
	return true
}

// add returns r + o; the extended map is copied, never shared.
func (r resources) add(o resources) resources {
	out := resources{cpu: r.cpu + o.cpu, memory: r.memory + o.memory, storage: r.storage + o.storage, pods: r.pods + o.pods, volumes: r.volumes + o.volumes}
	if len(r.extended)+len(o.extended) > 0 {
		out.extended = make(map[corev1.ResourceName]int64, len(r.extended)+len(o.extended))
		for n, v := range r.extended {
			out.extended[n] += v
		}
		for n, v := range o.extended {
			out.extended[n] += v
		}
	}
	return out
}

// sub returns r - o; the extended map is copied, never shared.
func (r resources) sub(o resources) resources {
	neg := resources{cpu: -o.cpu, memory: -o.memory, storage: -o.storage, pods: -o.pods, volumes: -o.volumes}
	if len(o.extended) > 0 {
		neg.extended = make(map[corev1.ResourceName]int64, len(o.extended))
		for n, v := range o.extended {
			neg.extended[n] = -v
		}
	}
	return r.add(neg)
}

// atLeastZero returns r with every negative amount raised to zero.
func (r resources) atLeastZero() resources {
	out := resources{cpu: max(r.cpu, 0), memory: max(r.memory, 0), storage: max(r.storage, 0), pods: max(r.pods, 0), volumes: max(r.volumes, 0)}
	for n, v := range r.extended {
		if out.extended == nil {
			out.extended = map[corev1.ResourceName]int64{}
		}
		out.extended[n] = max(v, 0)
	}
	return out
}

// fitsIn reports whether r is no more than capacity in every resource.
func (r resources) fitsIn(capacity resources) bool {
	if r.cpu > capacity.cpu || r.memory > capacity.memory || r.storage > capacity.storage || r.pods > capacity.pods || r.volumes > capacity.volumes {
		return false
	}
	for n, v := range r.extended {
		if v > 0 && v > capacity.extended[n] {
			return false
		}
	}
	return true
}

// timesFit is how many copies of r fit in capacity, after used is taken.
func (r resources) timesFit(capacity, used resources) int64 {
	k := int64(1 << 40)
	limit := func(need, have int64) {
		if need <= 0 {
			return
		}
		if n := (have) / need; n < k {
			k = n
		}
	}
	limit(r.cpu, capacity.cpu-used.cpu)
	limit(r.memory, capacity.memory-used.memory)
	limit(r.storage, capacity.storage-used.storage)
	limit(r.pods, capacity.pods-used.pods)
	limit(r.volumes, capacity.volumes-used.volumes)
	for n, v := range r.extended {
		limit(v, capacity.extended[n]-used.extended[n])
	}
	if k < 0 {
		return 0
	}
	return k
}

func (r resources) list() corev1.ResourceList {
	out := corev1.ResourceList{}
	if r.cpu > 0 {
		out[corev1.ResourceCPU] = *resource.NewMilliQuantity(r.cpu, resource.DecimalSI)
	}
	if r.memory > 0 {
		out[corev1.ResourceMemory] = *resource.NewQuantity(r.memory, resource.BinarySI)
	}
	if r.storage > 0 {
		out[corev1.ResourceEphemeralStorage] = *resource.NewQuantity(r.storage, resource.BinarySI)
	}
	if r.pods > 0 {
		out[corev1.ResourcePods] = *resource.NewQuantity(r.pods, resource.DecimalSI)
	}
	if r.volumes > 0 {
		out[ResourceEBSVolumes] = *resource.NewQuantity(r.volumes, resource.DecimalSI)
	}
	for n, v := range r.extended {
		if v > 0 {
			out[n] = *resource.NewQuantity(v, resource.DecimalSI)
		}
	}
	return out
}

// podRequests is what a pod asks of a node, computed as kubelet and the
// scheduler do (init and sidecar containers, overhead), and one pod slot.
func podRequests(pod *corev1.Pod) resources {
	r := newResources(resourcehelper.PodRequests(pod, resourcehelper.PodResourcesOptions{}))
	r.pods = 1
	return r
}

// atLeast returns the most of r and o, resource by resource; the extended
// map is copied, never shared.
func (r resources) atLeast(o resources) resources {
	out := resources{cpu: max(r.cpu, o.cpu), memory: max(r.memory, o.memory), storage: max(r.storage, o.storage), pods: max(r.pods, o.pods), volumes: max(r.volumes, o.volumes)}
	if len(r.extended)+len(o.extended) > 0 {
		out.extended = make(map[corev1.ResourceName]int64, len(r.extended)+len(o.extended))
		for n, v := range r.extended {
			out.extended[n] = v
		}
		for n, v := range o.extended {
			out.extended[n] = max(out.extended[n], v)
		}
	}
	return out
}

// fitsWith reports whether r fits in capacity beside used: (r + used)
// fitsIn capacity, without making the sum.
func (r resources) fitsWith(used, capacity resources) bool {
	if r.cpu+used.cpu > capacity.cpu || r.memory+used.memory > capacity.memory || r.storage+used.storage > capacity.storage ||
		r.pods+used.pods > capacity.pods || r.volumes+used.volumes > capacity.volumes {
		return false
	}
	for n, v := range r.extended {
		if sum := v + used.extended[n]; sum > 0 && sum > capacity.extended[n] {
			return false
		}
	}
	for n, v := range used.extended {
		if _, counted := r.extended[n]; !counted && v > 0 && v > capacity.extended[n] {
			return false
		}
	}
	return true
}
