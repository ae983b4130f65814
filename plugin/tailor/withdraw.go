package tailor

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/plugin/reservation"
)

// withdraw deletes a claim nobody needs any more, if it has not launched:
// the pods it was bought for bound elsewhere or went away. A launched claim
// stays; an empty node is for the disruption loop to remove after
// consolidateAfter, as the pool's policy says.
//
// The decision is made on a fresh read from the API server, never on the
// cache, and the delete carries that read's resourceVersion: a claim the
// launcher launched (or changed in any way) since is not deleted. While the
// withdrawal runs, the ledger refuses reservations on the claim.
func (t *Tailor) withdraw(ctx context.Context, claimName string) {
	if !t.ledger.BeginWithdraw(claimName) {
		return
	}
	deleted := false
	defer func() { t.ledger.EndWithdraw(claimName, deleted) }()
	logger := klog.FromContext(ctx).WithValues("nodeClaim", claimName)
	nc := &karpv1.NodeClaim{}
	if err := t.client.Get(ctx, client.ObjectKey{Name: claimName}, nc); err != nil {
		if apierrors.IsNotFound(err) {
			deleted = true
			return
		}
		logger.Error(err, "Reading a NodeClaim to withdraw; it stays")
		return
	}
	if nc.DeletionTimestamp != nil {
		deleted = true
		return
	}
	if nc.Status.ProviderID != "" || meta.IsStatusConditionTrue(nc.Status.Conditions, karpv1.ConditionTypeLaunched) {
		logger.V(2).Info("NodeClaim no longer needed but already launched; left to consolidation")
		return
	}
	if p, waiting := t.stillWaitedFor(nc); waiting {
		// Another replica's ledger, or a batch that just joined the claim,
		// knows better than this one's.
		logger.V(2).Info("NodeClaim still records a pending pod; it stays", "pod", klog.KRef(p.Namespace, p.Name))
		return
	}
	err := t.client.Delete(ctx, nc, client.Preconditions{UID: &nc.UID, ResourceVersion: &nc.ResourceVersion})
	switch {
	case apierrors.IsNotFound(err):
		deleted = true
		return
	case apierrors.IsConflict(err):
		logger.V(2).Info("NodeClaim changed while it was being withdrawn; it stays")
		return
	case err != nil:
		logger.Error(err, "Withdrawing a NodeClaim nobody needs; it stays")
		return
	}
	deleted = true
	logger.Info("NodeClaim withdrawn: the pods it was bought for no longer need it")
	t.handle.EventRecorder().Eventf(nc, nil, corev1.EventTypeNormal, ReasonWithdrawn, "Provisioning",
		"Withdrawn before launch: the pods it was bought for bound elsewhere or were deleted")
}

// stillWaitedFor returns a pod the claim records that is still pending, if
// any: the claim's own record, read fresh, is the word of whichever replica
// made or joined it last.
func (t *Tailor) stillWaitedFor(nc *karpv1.NodeClaim) (reservation.Pod, bool) {
	recorded, err := reservation.Decode(nc.Annotations[reservation.Annotation])
	if err != nil {
		return reservation.Pod{}, false
	}
	for _, p := range recorded {
		if state, _ := t.podState(p); state == reservation.PodPending {
			if lost := t.lostRoomOn(p.UID); lost != nc.Name {
				return p, true
			}
		}
	}
	return reservation.Pod{}, false
}
