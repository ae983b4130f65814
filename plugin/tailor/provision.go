package tailor

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/plugin/reservation"
	"github.com/tailor-project/tailor/plugin/simulate"
	"github.com/tailor-project/tailor/plugin/solver"
)

// Event reasons on pods and NodeClaims.
const (
	ReasonNodeClaimCreated = "NodeClaimCreated"
	ReasonReserved         = "Reserved"
	ReasonCannotProvision  = "CannotProvision"
	ReasonWithdrawn        = "Withdrawn"
	ReasonReservationLost  = "ReservationLost"
)

// provision solves one batch and acts on the plan: pods that fit in-flight
// claims are reserved there, new claims are created for the rest, and each
// pod no pool can host is told why.
func (t *Tailor) provision(ctx context.Context, batch []*corev1.Pod) {
	logger := klog.FromContext(ctx).WithValues("plugin", Name)
	pods := t.stillPending(batch)
	if len(pods) == 0 {
		return
	}
	if err := t.solveAndAct(ctx, pods); err != nil {
		logger.Error(err, "Provisioning failed; the pods are retried when the scheduler next tries them", "pods", len(pods))
		for _, p := range pods {
			t.cannotProvision(ctx, p, err)
		}
	}
}

func (t *Tailor) solveAndAct(ctx context.Context, pods []*corev1.Pod) error {
	logger := klog.FromContext(ctx).WithValues("plugin", Name)
	var claims karpv1.NodeClaimList
	if err := t.objects.List(ctx, &claims); err != nil {
		return fmt.Errorf("listing NodeClaims: %w", err)
	}
	set, err := t.loadPools(ctx, claims.Items)
	if err != nil {
		return err
	}
	if len(set.pools) == 0 {
		reason := "no NodePool exists"
		if len(set.skipped) > 0 {
			reason = "no NodePool can be used: " + strings.Join(set.skipped, "; ")
		}
		for _, p := range pods {
			t.cannotProvision(ctx, p, errors.New(reason))
		}
		return nil
	}
	snap, inflight, err := t.snapshot(set, claims.Items)
	if err != nil {
		return err
	}
	prof, err := t.profile()
	if err != nil {
		return err
	}
	sim, err := simulate.New(ctx, t.registry, prof, snap)
	if err != nil {
		return err
	}
	res := solver.Solve(solver.Input{Pods: pods, Pools: set.pools, InFlight: inflight, Checker: sim, EmptyDomains: true})
	logger.V(1).Info("Batch solved", "pods", len(pods), "newNodeClaims", len(res.Nodes), "joinedInFlight", len(res.Joined),
		"unplaced", len(res.Unplaced), "hourlyPrice", fmt.Sprintf("%.4f", res.Price()))

	for _, name := range sortedKeys(res.Joined) {
		if err := t.join(ctx, name, res.Joined[name]); err != nil {
			logger.Error(err, "Reserving pods on an in-flight NodeClaim", "nodeClaim", name)
		}
	}
	for _, n := range res.Nodes {
		if err := t.createClaim(ctx, n); err != nil {
			logger.Error(err, "Creating a NodeClaim", "nodePool", n.Pool.Name(), "pods", len(n.Pods))
			for _, p := range n.Pods {
				t.cannotProvision(ctx, p, err)
			}
		}
	}
	for p, err := range res.Unplaced {
		if len(set.skipped) > 0 {
			err = fmt.Errorf("%w; %s", err, strings.Join(set.skipped, "; "))
		}
		t.cannotProvision(ctx, p, err)
	}
	return nil
}

// stillPending keeps the pods that still need a node: not bound, not
// deleted, not provided for meanwhile.
func (t *Tailor) stillPending(batch []*corev1.Pod) []*corev1.Pod {
	lister := t.handle.SharedInformerFactory().Core().V1().Pods().Lister()
	var out []*corev1.Pod
	for _, p := range batch {
		current, err := lister.Pods(p.Namespace).Get(p.Name)
		if err != nil || current.UID != p.UID || current.Spec.NodeName != "" || current.DeletionTimestamp != nil {
			continue
		}
		if _, reserved := t.ledger.Of(p.UID); reserved {
			continue
		}
		out = append(out, current)
	}
	sort.Slice(out, func(i, j int) bool { return podKey(out[i]) < podKey(out[j]) })
	return out
}

// createClaim writes a planned node as a NodeClaim and reserves it for its pods.
func (t *Tailor) createClaim(ctx context.Context, n *solver.Node) error {
	nc, err := nodeClaimFor(n)
	if err != nil {
		return err
	}
	if err := t.client.Create(ctx, nc); err != nil {
		return fmt.Errorf("creating a NodeClaim of NodePool %s: %w", n.Pool.Name(), err)
	}
	t.ledger.Reserve(nc.Name, reservationsOf(n.Pods)...)
	msg := describeClaim(nc.Name, n)
	klog.FromContext(ctx).Info("NodeClaim created", "nodeClaim", nc.Name, "nodePool", n.Pool.Name(), "plan", msg)
	rec := t.handle.EventRecorder()
	rec.Eventf(nc, nil, corev1.EventTypeNormal, ReasonNodeClaimCreated, "Provisioning", "%s", msg)
	for _, p := range n.Pods {
		t.forgetUnplaceable(p)
		rec.Eventf(p, nc, corev1.EventTypeNormal, ReasonNodeClaimCreated, "Provisioning", "%s", msg)
	}
	return nil
}

// join reserves pods on an in-flight claim and records them on it.
func (t *Tailor) join(ctx context.Context, claimName string, pods []*corev1.Pod) error {
	nc := &karpv1.NodeClaim{}
	if err := t.objects.Get(ctx, client.ObjectKey{Name: claimName}, nc); err != nil {
		return fmt.Errorf("reading NodeClaim %s: %w", claimName, err)
	}
	recorded, err := reservation.Decode(nc.Annotations[reservation.Annotation])
	if err != nil {
		recorded = nil
	}
	for _, p := range pods {
		recorded = append(recorded, reservation.Pod{UID: p.UID, Namespace: p.Namespace, Name: p.Name})
	}
	value, err := reservation.Encode(recorded)
	if err != nil {
		return err
	}
	patch := client.MergeFrom(nc.DeepCopy())
	if nc.Annotations == nil {
		nc.Annotations = map[string]string{}
	}
	nc.Annotations[reservation.Annotation] = value
	if err := t.client.Patch(ctx, nc, patch); err != nil {
		return fmt.Errorf("recording reservations on NodeClaim %s: %w", claimName, err)
	}
	t.ledger.Reserve(claimName, reservationsOf(pods)...)
	for _, p := range pods {
		t.forgetUnplaceable(p)
		t.handle.EventRecorder().Eventf(p, nc, corev1.EventTypeNormal, ReasonReserved, "Provisioning",
			"Room reserved on NodeClaim %s, which is being launched", claimName)
	}
	return nil
}

func reservationsOf(pods []*corev1.Pod) []reservation.Reservation {
	out := make([]reservation.Reservation, len(pods))
	for i, p := range pods {
		out[i] = reservation.Reservation{Pod: reservation.Pod{UID: p.UID, Namespace: p.Namespace, Name: p.Name}, Requests: requestsOf(p)}
	}
	return out
}

// cannotProvision tells a pod why nothing can be launched for it, once per
// distinct reason, so a pod that keeps failing does not flood its events.
func (t *Tailor) cannotProvision(ctx context.Context, p *corev1.Pod, err error) {
	msg := err.Error()
	t.mu.Lock()
	same := t.unplaceable[string(p.UID)] == msg
	t.unplaceable[string(p.UID)] = msg
	t.mu.Unlock()
	if same {
		return
	}
	klog.FromContext(ctx).Info("Cannot provision for pod", "pod", klog.KObj(p), "reason", msg)
	t.handle.EventRecorder().Eventf(p, nil, corev1.EventTypeWarning, ReasonCannotProvision, "Provisioning", "%s", msg)
}

func (t *Tailor) forgetUnplaceable(p *corev1.Pod) {
	t.mu.Lock()
	delete(t.unplaceable, string(p.UID))
	t.mu.Unlock()
}

// forgetPod drops what the plugin remembers of a pod that is gone.
func (t *Tailor) forgetPod(uid types.UID) {
	t.mu.Lock()
	delete(t.unplaceable, string(uid))
	t.mu.Unlock()
}

func sortedKeys(m map[string][]*corev1.Pod) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
