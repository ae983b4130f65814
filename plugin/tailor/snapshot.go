package tailor

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/sets"
	resourcehelper "k8s.io/component-helpers/resource"
	"k8s.io/kubernetes/pkg/scheduler/framework"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/requirements"
	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/launcher/catalog"
	"github.com/tailor-project/tailor/plugin/simulate"
	"github.com/tailor-project/tailor/plugin/solver"
)

// snapshot is the world the batch is solved in: the real nodes and their
// pods (from the informers, not the scheduler's cycle snapshot, which the
// scheduling cycle mutates), each claim that has not registered yet as a
// planned node with the pods reserved on it, and a placeholder per pool
// and zone. Claims with room left are returned as in-flight nodes.
//
// The nodes named in without are left out with their pods: the world as it
// will be once they are gone, which is where the pods of nodes about to be
// disrupted must find room.
func (t *Tailor) snapshot(set *poolSet, claims []karpv1.NodeClaim, without sets.Set[string]) (*simulate.Snapshot, []*solver.InFlight, error) {
	informers := t.handle.SharedInformerFactory().Core().V1()
	all, err := informers.Nodes().Lister().List(labels.Everything())
	if err != nil {
		return nil, nil, fmt.Errorf("listing nodes: %w", err)
	}
	nodes := make([]*corev1.Node, 0, len(all))
	for _, n := range all {
		if !without.Has(n.Name) {
			nodes = append(nodes, n)
		}
	}
	pods, err := informers.Pods().Lister().List(labels.Everything())
	if err != nil {
		return nil, nil, fmt.Errorf("listing pods: %w", err)
	}
	var bound []*corev1.Pod
	for _, p := range pods {
		if p.Spec.NodeName != "" && !without.Has(p.Spec.NodeName) && p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
			bound = append(bound, p)
		}
	}
	snap := simulate.NewSnapshot(nodes, bound)
	var inflight []*solver.InFlight
	for i := range claims {
		c := &claims[i]
		pool := set.byName[c.Labels[wellknown.NodePoolLabel]]
		if c.Status.NodeName != "" || c.DeletionTimestamp != nil || pool == nil || t.ledger.Withdrawing(c.Name) {
			continue
		}
		reqs := requirements.FromNodeSelectorRequirementsWithMinValues(c.Spec.Requirements...)
		reqs.Add(values(requirements.FromLabels(c.Labels))...)
		nodeLabels := reqs.Labels()
		nodeLabels[wellknown.HostnameLabel] = c.Name
		snap.AddNode(simulate.PlannedNode(c.Name, nodeLabels, c.Spec.Taints))
		used := corev1.ResourceList{}
		for _, r := range t.ledger.Waiting(c.Name) {
			if p, err := informers.Pods().Lister().Pods(r.Pod.Namespace).Get(r.Pod.Name); err == nil && p.UID == r.Pod.UID {
				if err := snap.AddPod(c.Name, p); err != nil {
					return nil, nil, err
				}
				add(used, t.ebsVolumesOf(p))
			}
			add(used, r.Requests)
			add(used, corev1.ResourceList{corev1.ResourcePods: *resource.NewQuantity(1, resource.DecimalSI)})
		}
		// Room held for displaced pods is taken too: the batch hands it to
		// the pods it is held for before solving (holds.go).
		for _, h := range t.ledger.Holds(c.Name) {
			add(used, h.Requests)
			add(used, corev1.ResourceList{corev1.ResourcePods: *resource.NewQuantity(1, resource.DecimalSI)})
		}
		room := roomOf(c, pool, used)
		if room == nil {
			continue
		}
		inflight = append(inflight, &solver.InFlight{Name: c.Name, Pool: pool, Requirements: reqs, Taints: c.Spec.Taints, Room: room})
	}
	simulate.AddPlaceholders(snap, set.pools)
	return snap, inflight, nil
}

// roomOf is what is left on a claim for more pods whichever of its types it
// becomes: the least allocatable among them, less daemons and what its
// pods already hold. Nil when nothing is left.
func roomOf(c *karpv1.NodeClaim, pool *solver.Pool, used corev1.ResourceList) corev1.ResourceList {
	allowed := map[string]bool{}
	for _, r := range c.Spec.Requirements {
		if r.Key == wellknown.InstanceTypeLabel {
			for _, v := range r.Values {
				allowed[v] = true
			}
		}
	}
	var least corev1.ResourceList
	for _, it := range pool.InstanceTypes {
		if !allowed[it.Name] {
			continue
		}
		if least == nil {
			least = corev1.ResourceList{}
			for n, q := range it.Allocatable {
				least[n] = q.DeepCopy()
			}
			continue
		}
		for n, q := range least {
			if a, ok := it.Allocatable[n]; !ok {
				delete(least, n)
			} else if a.Cmp(q) < 0 {
				least[n] = a.DeepCopy()
			}
		}
	}
	if least == nil {
		return nil
	}
	least[solver.ResourceEBSVolumes] = *resource.NewQuantity(leastEBSVolumes(pool, allowed), resource.DecimalSI)
	for _, minus := range []corev1.ResourceList{pool.DaemonOverhead, used} {
		for n, q := range minus {
			if l, ok := least[n]; ok {
				l.Sub(q)
				least[n] = l
			}
		}
	}
	for n, q := range least {
		switch {
		case n == solver.ResourceEBSVolumes && q.Sign() < 0:
			// Out of volumes is not out of room: pods without volumes
			// may still join.
			least[n] = resource.Quantity{}
		case n != solver.ResourceEBSVolumes && q.Sign() <= 0:
			return nil
		}
	}
	return least
}

// leastEBSVolumes is how many EBS volumes a claim attaches whichever of its
// types it becomes.
func leastEBSVolumes(pool *solver.Pool, allowed map[string]bool) int64 {
	least := int64(-1)
	for _, it := range pool.InstanceTypes {
		if !allowed[it.Name] || it.Info == nil {
			continue
		}
		if n := catalog.EBSVolumeLimit(it.Info, pool.ExtraBlockDevices, 1); least < 0 || n < least {
			least = n
		}
	}
	return max(least, 0)
}

// ebsVolumesOf is the EBS volumes a pod waiting for a claim will attach, in
// the solver's terms; nil for a pod without any.
func (t *Tailor) ebsVolumesOf(p *corev1.Pod) corev1.ResourceList {
	if t.volumes.Claims == nil || !hasClaims(p) {
		return nil
	}
	n := t.volumes.EBSVolumes(p)
	if n == 0 {
		return nil
	}
	return corev1.ResourceList{solver.ResourceEBSVolumes: *resource.NewQuantity(int64(n), resource.DecimalSI)}
}

func add(total, more corev1.ResourceList) {
	for n, q := range more {
		sum := total[n]
		sum.Add(q)
		total[n] = sum
	}
}

func values(r requirements.Requirements) []*requirements.Requirement {
	out := make([]*requirements.Requirement, 0, len(r))
	for _, req := range r {
		out = append(out, req)
	}
	return out
}

// requestsOf is what a pod reserves.
func requestsOf(p *corev1.Pod) corev1.ResourceList {
	return resourcehelper.PodRequests(p, resourcehelper.PodResourcesOptions{})
}

// profile is the scheduler profile the plugin runs in, for the simulation.
func (t *Tailor) profile() (simulate.Profile, error) {
	fw, ok := t.handle.(framework.Framework)
	if !ok {
		return simulate.DefaultProfile()
	}
	return simulate.Profile{Plugins: fw.ListPlugins(), Self: Name}, nil
}
