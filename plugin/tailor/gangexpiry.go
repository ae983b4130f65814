package tailor

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/plugin/gang"
	"github.com/tailor-project/tailor/plugin/reservation"
)

// ReasonGangTimedOut is the event reason on the pods of a gang that did not
// start within its PodGroup's scheduleTimeoutSeconds.
const ReasonGangTimedOut = "GangTimedOut"

// expireGangs gives up the room held for a gang that did not start within
// its PodGroup's scheduleTimeoutSeconds, counted from its oldest
// reservation: the reservations of its waiting pods are released, the
// claims left with nothing to wait for are withdrawn if not launched, and
// launched ones are left empty for the disruption loop. The gang is
// provided for again after as long again, not at once, so a gang that
// cannot start does not buy and give up capacity in a loop. A PodGroup
// without scheduleTimeoutSeconds keeps its room until its pods bind.
func (t *Tailor) expireGangs(ctx context.Context) {
	if !t.leads() {
		return
	}
	lister := t.handle.SharedInformerFactory().Core().V1().Pods().Lister()
	byGang := map[gang.Key][]reservation.Reservation{}
	for _, r := range t.ledger.All() {
		p, err := lister.Pods(r.Pod.Namespace).Get(r.Pod.Name)
		if err != nil || p.UID != r.Pod.UID {
			continue
		}
		if k, ok := gang.KeyOf(p); ok {
			byGang[k] = append(byGang[k], r)
		}
	}
	now := time.Now()
	for k, rs := range byGang {
		g, err := t.gangs.Read(ctx, k)
		if err != nil || g.Timeout == 0 || started(lister, g) {
			continue
		}
		oldest := now
		for _, r := range rs {
			if r.Pod.Since.Before(oldest) {
				oldest = r.Pod.Since
			}
		}
		if now.Sub(oldest) >= g.Timeout {
			t.expireGang(ctx, g, rs)
		}
	}
}

// started reports whether minMember of the gang's pods are bound: the room
// its other pods hold is then for pods beyond the quorum, and stays.
func started(lister corelisters.PodLister, g *gang.Gang) bool {
	pods, err := lister.Pods(g.Namespace).List(labels.SelectorFromSet(labels.Set{gang.Label: g.Name}))
	if err != nil {
		return false
	}
	bound := 0
	for _, p := range pods {
		if p.Spec.NodeName != "" && p.DeletionTimestamp == nil {
			bound++
		}
	}
	return bound >= g.MinMember
}

// expireGang releases the room held for a gang's waiting pods.
func (t *Tailor) expireGang(ctx context.Context, g *gang.Gang, rs []reservation.Reservation) {
	logger := klog.FromContext(ctx).WithValues("podGroup", g.String())
	byClaim := map[string]sets.Set[types.UID]{}
	for _, r := range rs {
		t.ledger.Release(r.Pod.UID)
		if byClaim[r.Claim] == nil {
			byClaim[r.Claim] = sets.New[types.UID]()
		}
		byClaim[r.Claim].Insert(r.Pod.UID)
	}
	retryAt := time.Now().Add(g.Timeout)
	t.mu.Lock()
	t.gangBackoff[g.Key] = retryAt
	t.mu.Unlock()
	for claim, uids := range byClaim {
		// A claim that still recorded the pods would give them their
		// room back on the next resync, or on another replica.
		if err := t.unrecord(ctx, claim, uids); err != nil {
			logger.Error(err, "Removing a timed-out gang's pods from its NodeClaim; the next resync tries again", "nodeClaim", claim)
			continue
		}
		if t.ledger.Unused(claim) {
			t.withdraw(ctx, claim)
		}
	}
	logger.Info("Gang did not start within its scheduleTimeoutSeconds; the room held for it is given up",
		"timeout", g.Timeout, "pods", len(rs), "nodeClaims", len(byClaim), "retryAt", retryAt)
	lister := t.handle.SharedInformerFactory().Core().V1().Pods().Lister()
	msg := fmt.Sprintf("gang %s did not start within its scheduleTimeoutSeconds (%s): the room held for its %d waiting pods is given up, NodeClaims not launched are withdrawn and launched ones left to consolidation; capacity is bought for the gang again after %s",
		g, g.Timeout, len(rs), retryAt.UTC().Format(time.RFC3339))
	for _, r := range rs {
		if p, err := lister.Pods(r.Pod.Namespace).Get(r.Pod.Name); err == nil && p.UID == r.Pod.UID {
			t.explain(p, corev1.EventTypeWarning, ReasonGangTimedOut, msg)
			t.retries.queue.AddAfter(refOf(p), g.Timeout)
		}
	}
}

// unrecord removes pods from the reservations a claim records.
func (t *Tailor) unrecord(ctx context.Context, claimName string, uids sets.Set[types.UID]) error {
	nc := &karpv1.NodeClaim{}
	if err := t.client.Get(ctx, client.ObjectKey{Name: claimName}, nc); err != nil {
		return client.IgnoreNotFound(err)
	}
	recorded, err := reservation.Decode(nc.Annotations[reservation.Annotation])
	if err != nil {
		return fmt.Errorf("reading the reservations NodeClaim %s records: %w", claimName, err)
	}
	var kept []reservation.Pod
	for _, p := range recorded {
		if !uids.Has(p.UID) {
			kept = append(kept, p)
		}
	}
	if len(kept) == len(recorded) {
		return nil
	}
	value, err := reservation.Encode(kept)
	if err != nil {
		return err
	}
	patch := client.MergeFromWithOptions(nc.DeepCopy(), client.MergeFromWithOptimisticLock{})
	nc.Annotations[reservation.Annotation] = value
	if err := t.client.Patch(ctx, nc, patch); err != nil {
		return fmt.Errorf("recording reservations on NodeClaim %s: %w", claimName, err)
	}
	return nil
}

// gangBackingOff is when a gang that timed out may be provided for again,
// if it is not yet.
func (t *Tailor) gangBackingOff(k gang.Key) (time.Time, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	at, ok := t.gangBackoff[k]
	if ok && !time.Now().Before(at) {
		delete(t.gangBackoff, k)
		return time.Time{}, false
	}
	return at, ok
}
