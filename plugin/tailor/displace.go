package tailor

import (
	"context"
	"fmt"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/requirements"
	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/plugin/disruption"
	"github.com/tailor-project/tailor/plugin/reservation"
	"github.com/tailor-project/tailor/plugin/solver"
)

var _ disruption.Planner = &Tailor{}

// Displace implements disruption.Planner with the provisioning path: the
// pods of the nodes are solved as if pending, against the cluster without
// those nodes.
func (t *Tailor) Displace(ctx context.Context, nodes []string) (*disruption.Plan, error) {
	all, err := t.handle.SharedInformerFactory().Core().V1().Pods().Lister().List(labels.Everything())
	if err != nil {
		return nil, fmt.Errorf("listing pods: %w", err)
	}
	return t.displace(nodes, all, func(pods []*corev1.Pod, without sets.Set[string]) (*batchPlan, error) {
		return t.plan(ctx, pods, without, true)
	})
}

// displace is Displace over the pods in all (those on other nodes are left
// alone), with the planning step given: on a fresh reading of the cluster,
// or on a disruption search's (session.go).
func (t *Tailor) displace(nodes []string, all []*corev1.Pod, plan func([]*corev1.Pod, sets.Set[string]) (*batchPlan, error)) (*disruption.Plan, error) {
	without := sets.New(nodes...)
	var pods []*corev1.Pod
	for _, p := range all {
		if without.Has(p.Spec.NodeName) && disruption.Reschedulable(p) {
			// As the pod its controller makes anew will be: pending.
			pending := p.DeepCopy()
			pending.Spec.NodeName = ""
			pending.Status = corev1.PodStatus{Phase: corev1.PodPending}
			pods = append(pods, pending)
		}
	}
	out := &disruption.Plan{Pods: pods, Unplaced: map[*corev1.Pod]error{}}
	if len(pods) == 0 {
		return out, nil
	}
	planned, err := plan(pods, without)
	if err != nil {
		return nil, err
	}
	if planned.res == nil {
		for _, p := range pods {
			out.Unplaced[p] = planned.noPools()
		}
		return out, nil
	}
	out.Nodes = planned.res.Nodes
	out.Price = planned.res.Price()
	for p, err := range planned.res.Unplaced {
		out.Unplaced[p] = planned.withSkipped(err)
	}
	return out, nil
}

// Launch implements disruption.Planner: each planned node becomes a claim
// marked as the replacement of another. The pods it is for will come back
// as new pods, so the claim holds room for their controllers instead of
// reserving it for the pods themselves (reservation.Hold): a claim that
// recorded the old pods would look unneeded once they are gone, and be
// withdrawn.
func (t *Tailor) Launch(ctx context.Context, plan *disruption.Plan, replacing string) ([]string, error) {
	var names []string
	for _, n := range plan.Nodes {
		nc, err := nodeClaimFor(n, time.Now())
		if err != nil {
			return names, err
		}
		delete(nc.Annotations, reservation.Annotation)
		nc.Annotations[disruption.ReplacementForAnnotation] = replacing
		holds := holdsFor(n.Pods)
		if len(holds) > 0 {
			value, err := reservation.EncodeHolds(holds)
			if err != nil {
				return names, err
			}
			nc.Annotations[reservation.HoldAnnotation] = value
		}
		if err := t.client.Create(ctx, nc); err != nil {
			return names, fmt.Errorf("creating a replacement for NodeClaim %s: %w", replacing, err)
		}
		t.ledger.Track(nc.Name)
		t.firstHold(nc.Name)
		if err := t.ledger.Hold(nc.Name, holds...); err != nil {
			return names, err
		}
		names = append(names, nc.Name)
		msg := describeClaim(nc.Name, n)
		klog.FromContext(ctx).Info("Replacement NodeClaim created", "nodeClaim", nc.Name, "replacing", replacing, "plan", msg, "holds", len(holds))
		t.handle.EventRecorder().Eventf(nc, nil, corev1.EventTypeNormal, ReasonNodeClaimCreated, "Disrupting",
			"Replacement for NodeClaim %s: %s; room held for %d displaced pods", replacing, msg, len(holds))
	}
	return names, nil
}

// holdsFor keeps room for the pods planned on a replacement: each will come
// back as a new pod of its controller.
func holdsFor(pods []*corev1.Pod) []reservation.Hold {
	var out []reservation.Hold
	for _, p := range pods {
		ref := metav1.GetControllerOf(p)
		if ref == nil {
			continue
		}
		out = append(out, reservation.Hold{Namespace: p.Namespace, Owner: ref.UID, For: p.Name, Requests: requestsOf(p)})
	}
	return out
}

// Price implements disruption.Planner: the catalog's price of the offering
// the claim's node was launched from (its instance type, zone and capacity
// type labels), so a spot node is judged at today's spot price; the price
// planned for the claim when the catalog no longer offers that type to its
// pool.
func (t *Tailor) Price(ctx context.Context, nc *karpv1.NodeClaim) (float64, error) {
	labels := nc.Labels
	if nc.Status.NodeName != "" {
		if node, err := t.handle.SharedInformerFactory().Core().V1().Nodes().Lister().Get(nc.Status.NodeName); err == nil {
			labels = node.Labels
		}
	}
	typ, zone, capacityType := labels[wellknown.InstanceTypeLabel], labels[wellknown.ZoneLabel], labels[wellknown.CapacityTypeLabel]
	if price, ok := t.offeringPrice(ctx, nc.Labels[wellknown.NodePoolLabel], typ, zone, capacityType); ok {
		return price, nil
	}
	planned, err := strconv.ParseFloat(nc.Annotations[PriceAnnotation], 64)
	if err != nil {
		return 0, fmt.Errorf("NodeClaim %s: the catalog offers no %s %s in %s to its pool, and its %s annotation %q is not a price",
			nc.Name, capacityType, typ, zone, PriceAnnotation, nc.Annotations[PriceAnnotation])
	}
	return planned, nil
}

// offeringPrice looks an offering up in what the catalog offers the pool.
func (t *Tailor) offeringPrice(ctx context.Context, pool, typ, zone, capacityType string) (float64, bool) {
	if typ == "" || zone == "" || capacityType == "" {
		return 0, false
	}
	np := &karpv1.NodePool{}
	if err := t.objects.Get(ctx, client.ObjectKey{Name: pool}, np); err != nil {
		return 0, false
	}
	class := &ec2v1.EC2NodeClass{}
	if err := t.objects.Get(ctx, client.ObjectKey{Name: np.Spec.Template.Spec.NodeClassRef.Name}, class); err != nil {
		return 0, false
	}
	types, err := t.catalog.InstanceTypes(ctx, np, class)
	if err != nil {
		return 0, false
	}
	for _, it := range types {
		if it.Name != typ {
			continue
		}
		for _, o := range it.Offerings {
			if o.Zone == zone && o.CapacityType == capacityType {
				return o.Price, true
			}
		}
	}
	return 0, false
}

// Displaced pods are planned with the running nodes as room too:
// provisioning never needs them, since the scheduler binds what fits there
// before the plugin sees a pod, but displaced pods must first try the nodes
// that stay. Each running node of a pool joins the solve as an in-flight node
// whose room is its allocatable less what its pods request and what is
// reserved on it; the profile's Filter plugins judge the pod on the node as
// it is. Nodes of no NodePool, and nodes cordoned or being disrupted, are
// left out.

// runningRoom is the room on each running node of a pool, as in-flight
// nodes named as in the snapshot.
func (t *Tailor) runningRoom(set *poolSet, without sets.Set[string]) ([]*solver.InFlight, error) {
	informers := t.handle.SharedInformerFactory().Core().V1()
	nodes, err := informers.Nodes().Lister().List(labels.Everything())
	if err != nil {
		return nil, fmt.Errorf("listing nodes: %w", err)
	}
	all, err := informers.Pods().Lister().List(labels.Everything())
	if err != nil {
		return nil, fmt.Errorf("listing pods: %w", err)
	}
	used := map[string]corev1.ResourceList{}
	onNode := map[string][]*corev1.Pod{}
	for _, p := range all {
		if p.Spec.NodeName == "" || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		onNode[p.Spec.NodeName] = append(onNode[p.Spec.NodeName], p)
		if used[p.Spec.NodeName] == nil {
			used[p.Spec.NodeName] = corev1.ResourceList{}
		}
		add(used[p.Spec.NodeName], requestsOf(p))
		add(used[p.Spec.NodeName], corev1.ResourceList{corev1.ResourcePods: *resource.NewQuantity(1, resource.DecimalSI)})
	}
	var out []*solver.InFlight
	for _, n := range nodes {
		pool := set.byName[n.Labels[wellknown.NodePoolLabel]]
		if pool == nil || without.Has(n.Name) || n.Spec.Unschedulable || n.DeletionTimestamp != nil || disrupted(n) {
			continue
		}
		// Room promised to pods on their way to the node is not free.
		taken := used[n.Name]
		if claim, ok := t.ledger.ClaimOf(n.Name, n.Spec.ProviderID); ok {
			if reserved, ok := t.ledger.ReservedOn(claim, reservation.Claimant{}); ok {
				taken = taken.DeepCopy()
				if taken == nil {
					taken = corev1.ResourceList{}
				}
				add(taken, reserved)
			}
		}
		room := corev1.ResourceList{}
		for name, q := range n.Status.Allocatable {
			left := q.DeepCopy()
			if u, ok := taken[name]; ok {
				left.Sub(u)
			}
			if left.Sign() < 0 {
				left = resource.Quantity{}
			}
			room[name] = left
		}
		if cpu, pods := room[corev1.ResourceCPU], room[corev1.ResourcePods]; cpu.Sign() <= 0 || pods.Sign() <= 0 {
			continue
		}
		// The node's labels as they are, its hostname included, so the
		// simulation judges the node object the snapshot holds.
		nodeLabels := map[string]string{}
		for k, v := range n.Labels {
			nodeLabels[k] = v
		}
		nodeLabels[wellknown.HostnameLabel] = n.Name
		out = append(out, &solver.InFlight{Name: n.Name, Pool: pool, Requirements: requirements.FromLabels(nodeLabels), Labels: nodeLabels, Taints: n.Spec.Taints, Room: room,
			Pods: onNode[n.Name]})
	}
	return out, nil
}

func disrupted(n *corev1.Node) bool {
	for i := range n.Spec.Taints {
		if n.Spec.Taints[i].MatchTaint(&wellknown.DisruptedNoScheduleTaint) {
			return true
		}
	}
	return false
}
