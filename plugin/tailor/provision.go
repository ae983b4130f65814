package tailor

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/plugin/gang"
	pluginmetrics "github.com/tailor-project/tailor/plugin/metrics"
	"github.com/tailor-project/tailor/plugin/reservation"
	"github.com/tailor-project/tailor/plugin/solver"
)

// Event reasons on pods and NodeClaims.
const (
	ReasonNodeClaimCreated = "NodeClaimCreated"
	ReasonReserved         = "Reserved"
	ReasonCannotProvision  = "CannotProvision"
	ReasonWithdrawn        = "Withdrawn"
	ReasonReservationLost  = "ReservationLost"
	// ReasonPreferenceRelaxed: capacity was bought for the pod without some
	// of its preferences, which no pool could meet (plugin/preferences).
	ReasonPreferenceRelaxed = "PreferenceRelaxed"
)

// provision solves one batch and acts on the plan: pods that fit in-flight
// claims are reserved there, new claims are created for the rest, and each
// pod no pool can host is told why. Pods whose provisioning failed for a
// reason that may pass are retried with backoff.
func (t *Tailor) provision(ctx context.Context, batch []*corev1.Pod) {
	if !t.leads() {
		klog.FromContext(ctx).V(2).Info("Batch dropped: this replica does not lead; the leader provides for its pods", "pods", len(batch))
		return
	}
	pods := t.stillPending(batch)
	if len(pods) == 0 {
		return
	}
	if err := t.solveAndAct(ctx, pods); err != nil {
		t.retryLater(ctx, pods, err)
	}
}

// solveAndAct returns an error only when nothing was decided; pods whose
// claim could not be written are retried here.
func (t *Tailor) solveAndAct(ctx context.Context, pods []*corev1.Pod) error {
	pods = t.takeHolds(ctx, pods)
	pods = t.withoutShortTypes(ctx, pods)
	pods, gangs := t.splitGangs(ctx, pods)
	if len(pods) == 0 {
		return nil
	}
	plan, err := t.planWhole(ctx, pods, gangs)
	if err != nil {
		return err
	}
	if plan == nil {
		return nil
	}
	if len(plan.set.pools) == 0 {
		for _, p := range plan.pods {
			t.cannotProvision(ctx, p, plan.noPools())
		}
		return nil
	}
	res := plan.res
	for _, name := range sortedKeys(res.Joined) {
		joined := res.Joined[name]
		if err := t.join(ctx, name, joined); err != nil {
			t.retryLater(ctx, joined, fmt.Errorf("reserving room on NodeClaim %s: %w", name, err))
		}
	}
	for _, n := range res.Nodes {
		if err := t.createClaim(ctx, n); err != nil {
			t.retryLater(ctx, n.Pods, err)
		}
	}
	for p, err := range res.Unplaced {
		t.cannotProvision(ctx, p, plan.withSkipped(err))
	}
	t.tellRelaxed(plan)
	return nil
}

// planWhole plans pods of which gangs are whole: a gang the solve cannot
// place whole is taken out, told why, and the rest solved again, so no
// claim is bought for a pod of a gang that cannot start. nil when no pod is
// left.
func (t *Tailor) planWhole(ctx context.Context, pods []*corev1.Pod, gangs []*gang.Gang) (*batchPlan, error) {
	for {
		plan, err := t.plan(ctx, pods, nil, false)
		if err != nil {
			return nil, err
		}
		plan.pods = pods
		if plan.res == nil {
			return plan, nil
		}
		broken := gang.Broken(gangs, plan.res.Unplaced)
		if len(broken) == 0 {
			return plan, nil
		}
		out := sets.New[types.UID]()
		var kept []*gang.Gang
		for _, g := range gangs {
			why, ok := broken[g]
			if !ok {
				kept = append(kept, g)
				continue
			}
			klog.FromContext(ctx).Info("Gang cannot be placed whole; nothing is bought for it", "podGroup", g.String(), "pods", len(g.Pending), "reason", why.Error())
			t.gangNotPlaced(ctx, g, why)
			for _, p := range g.Pending {
				out.Insert(p.UID)
			}
		}
		gangs = kept
		var rest []*corev1.Pod
		for _, p := range pods {
			if !out.Has(p.UID) {
				rest = append(rest, p)
			}
		}
		if len(rest) == 0 {
			return nil, nil
		}
		pods = rest
	}
}

// tellRelaxed tells each pod provided for without some of its preferences
// which it gave up.
func (t *Tailor) tellRelaxed(plan *batchPlan) {
	if len(plan.gaveUp) == 0 {
		return
	}
	for _, p := range plan.pods {
		if given := plan.gaveUp[p.UID]; len(given) > 0 {
			t.handle.EventRecorder().Eventf(p, nil, corev1.EventTypeNormal, ReasonPreferenceRelaxed, "Provisioning",
				"Capacity bought without %s: no NodePool could meet it with the pod's other constraints", strings.Join(given, ", "))
		}
	}
}

// batchPlan is what the solver decided for some pods, and the pools it
// decided among.
type batchPlan struct {
	// pods are the pods solved.
	pods []*corev1.Pod
	set  *poolSet
	// res is nil when no pool can be used.
	res *solver.Result
	// gaveUp is what each pod placed gave up of its preferences, by UID.
	gaveUp map[types.UID][]string
}

// noPools says why nothing can be bought at all.
func (p *batchPlan) noPools() error {
	if len(p.set.skipped) > 0 {
		return errors.New("no NodePool can be used: " + strings.Join(p.set.skipped, "; "))
	}
	return errors.New("no NodePool exists")
}

// withSkipped adds to a pod's reason why some pools were not tried.
func (p *batchPlan) withSkipped(err error) error {
	if len(p.set.skipped) > 0 {
		return fmt.Errorf("%w; %s", err, strings.Join(p.set.skipped, "; "))
	}
	return err
}

// plan solves pods against the cluster as it is, less the nodes in without
// (and their pods), with the room left on in-flight claims and new claims
// of every usable pool, and, with running, the free room of the running
// nodes (displace.go). Provisioning and disruption both decide here: one
// snapshot, one solver, the profile's own Filter plugins.
func (t *Tailor) plan(ctx context.Context, pods []*corev1.Pod, without sets.Set[string], running bool) (*batchPlan, error) {
	defer pluginmetrics.Scheduling(running)()
	w, err := t.read(ctx, without, running)
	if err != nil {
		return nil, err
	}
	return w.solve(ctx, pods, without), nil
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
		if _, binding := t.binding.Load(p.UID); binding {
			// Reserve consumed its room on the node bought for it; the
			// binding is on its way.
			continue
		}
		out = append(out, current)
	}
	sort.Slice(out, func(i, j int) bool { return podKey(out[i]) < podKey(out[j]) })
	return out
}

// createClaim writes a planned node as a NodeClaim and reserves it for its
// pods, then settles each reservation against the pod as it is now: a pod
// may have bound elsewhere while the batch was solved.
func (t *Tailor) createClaim(ctx context.Context, n *solver.Node) error {
	now := time.Now()
	nc, err := nodeClaimFor(n, now)
	if err != nil {
		return err
	}
	if err := t.client.Create(ctx, nc); err != nil {
		return fmt.Errorf("creating a NodeClaim of NodePool %s: %w", n.Pool.Name(), err)
	}
	pluginmetrics.NodeClaimCreated(pluginmetrics.ReasonProvisioned, n.Pool.Name())
	if err := t.ledger.Reserve(nc.Name, reservationsOf(n.Pods, now)...); err != nil {
		return err
	}
	t.placed(n.Pods)
	msg := describeClaim(nc.Name, n)
	klog.FromContext(ctx).Info("NodeClaim created", "nodeClaim", nc.Name, "nodePool", n.Pool.Name(), "plan", msg)
	rec := t.handle.EventRecorder()
	rec.Eventf(nc, nil, corev1.EventTypeNormal, ReasonNodeClaimCreated, "Provisioning", "%s", msg)
	for _, p := range n.Pods {
		t.forgetExplanation(p.UID)
		rec.Eventf(p, nc, corev1.EventTypeNormal, ReasonNodeClaimCreated, "Provisioning", "%s", msg)
	}
	t.settlePods(ctx, n.Pods)
	return nil
}

// join reserves pods on an in-flight claim and records them on it. The
// record is written first: a reservation the claim does not record would
// not survive a restart or a failover.
func (t *Tailor) join(ctx context.Context, claimName string, pods []*corev1.Pod) error {
	if t.ledger.Withdrawing(claimName) {
		return reservation.ErrClaimGone
	}
	nc := &karpv1.NodeClaim{}
	if err := t.objects.Get(ctx, client.ObjectKey{Name: claimName}, nc); err != nil {
		return fmt.Errorf("reading NodeClaim %s: %w", claimName, err)
	}
	if nc.DeletionTimestamp != nil {
		return reservation.ErrClaimGone
	}
	recorded, err := reservation.Decode(nc.Annotations[reservation.Annotation])
	if err != nil {
		recorded = nil
	}
	now := time.Now()
	for _, p := range pods {
		recorded = append(recorded, reservation.Pod{UID: p.UID, Namespace: p.Namespace, Name: p.Name, Since: now})
	}
	value, err := reservation.Encode(recorded)
	if err != nil {
		return err
	}
	// The optimistic lock keeps a concurrent writer's record, and refuses a
	// claim deleted meanwhile.
	patch := client.MergeFromWithOptions(nc.DeepCopy(), client.MergeFromWithOptimisticLock{})
	if nc.Annotations == nil {
		nc.Annotations = map[string]string{}
	}
	nc.Annotations[reservation.Annotation] = value
	if err := t.client.Patch(ctx, nc, patch); err != nil {
		return fmt.Errorf("recording reservations on NodeClaim %s: %w", claimName, err)
	}
	if err := t.reserveOn(claimName, pods, now); err != nil {
		return err
	}
	t.placed(pods)
	for _, p := range pods {
		t.forgetExplanation(p.UID)
		t.handle.EventRecorder().Eventf(p, nc, corev1.EventTypeNormal, ReasonReserved, "Provisioning",
			"Room reserved on NodeClaim %s, which is being launched", claimName)
	}
	t.settlePods(ctx, pods)
	return nil
}

// settlePods settles the reservations just made for pods.
func (t *Tailor) settlePods(ctx context.Context, pods []*corev1.Pod) {
	for _, p := range pods {
		t.settle(ctx, reservation.Pod{UID: p.UID, Namespace: p.Namespace, Name: p.Name})
	}
}

func reservationsOf(pods []*corev1.Pod, since time.Time) []reservation.Reservation {
	out := make([]reservation.Reservation, len(pods))
	for i, p := range pods {
		out[i] = reservation.Reservation{Pod: reservation.Pod{UID: p.UID, Namespace: p.Namespace, Name: p.Name, Since: since}, Requests: requestsOf(p)}
	}
	return out
}

// explanation is the last thing a pod was told, so a pod that keeps
// failing for one reason hears it once, not on every attempt.
type explanation struct {
	pod            podRef
	reason, detail string
}

// cannotProvision tells a pod why nothing can be launched for it. Such a pod
// waits until a NodePool or EC2NodeClass changes (requeue.go).
func (t *Tailor) cannotProvision(ctx context.Context, p *corev1.Pod, err error) {
	t.placed([]*corev1.Pod{p})
	if t.explain(p, corev1.EventTypeWarning, ReasonCannotProvision, err.Error()) {
		klog.FromContext(ctx).Info("Cannot provision for pod", "pod", klog.KObj(p), "reason", err.Error())
	}
}

// explain sends a pod an event unless it was last told the same; it
// reports whether it did.
func (t *Tailor) explain(p *corev1.Pod, eventType, reason, detail string) bool {
	t.mu.Lock()
	last, ok := t.explained[p.UID]
	same := ok && last.reason == reason && last.detail == detail
	t.explained[p.UID] = explanation{pod: refOf(p), reason: reason, detail: detail}
	t.mu.Unlock()
	if same {
		return false
	}
	t.handle.EventRecorder().Eventf(p, nil, eventType, reason, "Provisioning", "%s", detail)
	return true
}

func (t *Tailor) forgetExplanation(uid types.UID) {
	t.mu.Lock()
	delete(t.explained, uid)
	t.mu.Unlock()
}

// forgetPod drops what the plugin remembers of a pod that is gone.
func (t *Tailor) forgetPod(uid types.UID) {
	t.mu.Lock()
	delete(t.explained, uid)
	delete(t.lostRoom, uid)
	delete(t.shortTypes, uid)
	t.mu.Unlock()
	t.binding.Delete(uid)
}

func sortedKeys(m map[string][]*corev1.Pod) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
