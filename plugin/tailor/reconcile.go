package tailor

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/plugin/reservation"
)

// The ledger is only worth what it agrees with the cluster. Three things keep
// it honest:
//
//   - settle, right after a batch reserves pods: a pod can bind to another
//     node between the batch reading it pending and the ledger recording its
//     reservation, and would otherwise hold room it never uses;
//   - settle on every update of a pod with a reservation;
//   - resync, every reservationResyncPeriod: every reservation is settled,
//     claims that are gone are forgotten, the reservations recorded on the
//     claims (tailor.sh/reserved-for) are adopted for pods the ledger does
//     not know, the room replacements hold (tailor.sh/held-for) is held,
//     and holds nobody will take are released (holds.go). The first resync, before any batch, is what rebuilds
//     the ledger after a restart, and later ones keep a standby replica
//     ready to take over.

// podState reads what the cluster says of a pod: pending, bound (and to
// which claim's node, "" for another node), or gone.
func (t *Tailor) podState(pod reservation.Pod) (reservation.PodState, string) {
	p, err := t.handle.SharedInformerFactory().Core().V1().Pods().Lister().Pods(pod.Namespace).Get(pod.Name)
	switch {
	case err != nil, p.UID != pod.UID, p.DeletionTimestamp != nil,
		p.Status.Phase == corev1.PodSucceeded, p.Status.Phase == corev1.PodFailed:
		return reservation.PodGone, ""
	case p.Spec.NodeName == "":
		return reservation.PodPending, ""
	}
	providerID := ""
	if node, err := t.handle.SharedInformerFactory().Core().V1().Nodes().Lister().Get(p.Spec.NodeName); err == nil {
		providerID = node.Spec.ProviderID
	}
	claim, _ := t.ledger.ClaimOf(p.Spec.NodeName, providerID)
	return reservation.PodBound, claim
}

// settle brings one pod's reservation in line with the pod, and withdraws
// a claim it leaves with nothing to do.
func (t *Tailor) settle(ctx context.Context, pod reservation.Pod) {
	state, boundTo := t.podState(pod)
	claim, unused := t.ledger.Settle(pod.UID, state, boundTo)
	if claim == "" {
		return
	}
	klog.FromContext(ctx).V(2).Info("Reservation released: the pod bound to another node or is gone",
		"pod", klog.KRef(pod.Namespace, pod.Name), "nodeClaim", claim)
	if unused {
		// Informer handlers call settle: the API calls go elsewhere.
		go t.withdraw(ctx, claim)
	}
}

// onPodUpdate settles the reservation of a pod that changed: it bound, or
// started to go away.
func (t *Tailor) onPodUpdate(ctx context.Context, obj interface{}) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	if p.Spec.NodeName != "" || p.DeletionTimestamp != nil {
		t.binding.Delete(p.UID)
	}
	if r, ok := t.ledger.Of(p.UID); ok {
		t.settle(ctx, r.Pod)
	}
}

// runResync resyncs until ctx ends.
func (t *Tailor) runResync(ctx context.Context) {
	wait.UntilWithContext(ctx, func(ctx context.Context) {
		if err := t.resync(ctx); err != nil {
			klog.FromContext(ctx).Error(err, "Resyncing reservations")
		}
	}, t.args.ReservationResyncPeriod.Duration)
}

// resync settles every reservation, forgets the claims that are gone, and
// adopts the reservations the claims record. It returns how many it adopted.
func (t *Tailor) resync(ctx context.Context) error {
	_, err := t.resyncCount(ctx)
	return err
}

func (t *Tailor) resyncCount(ctx context.Context) (int, error) {
	for _, r := range t.ledger.All() {
		t.settle(ctx, r.Pod)
	}
	var claims karpv1.NodeClaimList
	if err := t.objects.List(ctx, &claims); err != nil {
		return 0, fmt.Errorf("listing NodeClaims: %w", err)
	}
	known := make(map[string]bool, len(claims.Items))
	for i := range claims.Items {
		known[claims.Items[i].Name] = true
	}
	for _, name := range t.ledger.Claims() {
		if !known[name] {
			t.confirmGone(ctx, name)
		}
	}
	adopted := t.adopt(ctx, claims.Items)
	t.releaseHolds(ctx, claims.Items)
	t.expireGangs(ctx)
	t.withdrawUnused(ctx, claims.Items)
	return adopted, nil
}

// withdrawUnused withdraws the claims no pod needs that have not launched.
// A withdrawal tried when a pod bound elsewhere may have found the pod
// still pending (its binding was on its way); this one finds it bound. The
// cache only picks the candidates: withdraw decides on a fresh read.
func (t *Tailor) withdrawUnused(ctx context.Context, claims []karpv1.NodeClaim) {
	for i := range claims {
		nc := &claims[i]
		if nc.DeletionTimestamp != nil || nc.Status.ProviderID != "" || !t.ledger.Unused(nc.Name) {
			continue
		}
		if _, err := reservation.Decode(nc.Annotations[reservation.Annotation]); err != nil || nc.Annotations[reservation.Annotation] == "" {
			// Not a claim this plugin bought for pods.
			continue
		}
		t.withdraw(ctx, nc.Name)
	}
}

// confirmGone forgets a claim the cache does not hold, once the API server
// confirms it is gone: a claim just created may not be in the cache yet.
func (t *Tailor) confirmGone(ctx context.Context, name string) {
	err := t.client.Get(ctx, client.ObjectKey{Name: name}, &karpv1.NodeClaim{})
	if !apierrors.IsNotFound(err) {
		return
	}
	pods := t.ledger.Forget(name)
	klog.FromContext(ctx).Info("A NodeClaim the reservations named is gone; its pods are decided again", "nodeClaim", name, "pods", len(pods))
	t.activate(ctx, podsAsReservations(name, pods), "its NodeClaim "+name+" is gone")
}

// adopt reserves, for every pending pod the ledger holds nothing for, the
// claim that records it last. It skips claims being deleted or forgotten,
// and a claim the pod already lost its room on.
func (t *Tailor) adopt(ctx context.Context, claims []karpv1.NodeClaim) int {
	type recorded struct {
		claim string
		pod   reservation.Pod
	}
	latest := map[types.UID]recorded{}
	for i := range claims {
		nc := &claims[i]
		if nc.DeletionTimestamp != nil || t.ledger.Gone(nc.Name) {
			continue
		}
		t.ledger.Track(nc.Name)
		if nc.Status.ProviderID != "" {
			t.ledger.SetProviderID(nc.Name, nc.Status.ProviderID)
		}
		if nc.Status.NodeName != "" {
			t.ledger.SetNode(nc.Name, nc.Status.NodeName)
		}
		t.adoptHolds(ctx, nc)
		pods, err := reservation.Decode(nc.Annotations[reservation.Annotation])
		if err != nil {
			klog.FromContext(ctx).Error(err, "Skipping the reservations recorded on a NodeClaim", "nodeClaim", nc.Name)
			continue
		}
		for _, p := range pods {
			if p.Since.IsZero() {
				p.Since = nc.CreationTimestamp.Time
			}
			if prev, ok := latest[p.UID]; !ok || p.Since.After(prev.pod.Since) {
				latest[p.UID] = recorded{claim: nc.Name, pod: p}
			}
		}
	}
	lister := t.handle.SharedInformerFactory().Core().V1().Pods().Lister()
	adopted := 0
	for uid, rec := range latest {
		if _, held := t.ledger.Of(uid); held || t.lostRoomOn(uid) == rec.claim {
			continue
		}
		if state, _ := t.podState(rec.pod); state != reservation.PodPending {
			continue
		}
		p, err := lister.Pods(rec.pod.Namespace).Get(rec.pod.Name)
		if err != nil {
			continue
		}
		if err := t.ledger.Reserve(rec.claim, reservation.Reservation{Pod: rec.pod, Requests: requestsOf(p)}); err == nil {
			adopted++
		}
	}
	return adopted
}

// lostRoomOn is the claim a pod lost its room on (its node came up full),
// "" if none: the claim still records the pod, and adopting that record would
// send the pod back to wait for room that is not there.
func (t *Tailor) lostRoomOn(uid types.UID) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.lostRoom[uid]
}

// waitForPods waits for the pod informer, which resync reads.
func (t *Tailor) waitForPods(ctx context.Context) error {
	informers := t.handle.SharedInformerFactory().Core().V1()
	if !toolscache.WaitForCacheSync(ctx.Done(), informers.Pods().Informer().HasSynced, informers.Nodes().Informer().HasSynced) {
		return fmt.Errorf("the pod and node informers did not sync")
	}
	return nil
}

// rebuild is the first resync, before any batch is solved, so a restarted
// scheduler waits for the claims it made instead of buying again.
func (t *Tailor) rebuild(ctx context.Context) error {
	start := time.Now()
	if err := t.waitForPods(ctx); err != nil {
		return err
	}
	adopted, err := t.resyncCount(ctx)
	if err != nil {
		return err
	}
	klog.FromContext(ctx).Info("Reservations rebuilt from NodeClaims", "nodeClaims", len(t.ledger.Claims()), "pendingPods", adopted, "took", time.Since(start))
	return nil
}

func podsAsReservations(claim string, pods []reservation.Pod) []reservation.Reservation {
	out := make([]reservation.Reservation, len(pods))
	for i, p := range pods {
		out[i] = reservation.Reservation{Pod: p, Claim: claim}
	}
	return out
}
