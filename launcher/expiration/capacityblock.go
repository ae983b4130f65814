package expiration

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/launcher/backoff"
	"github.com/tailor-project/tailor/launcher/metrics"
)

// ReasonCapacityBlockExpiring is the event of a claim deleted because the
// Capacity Block it runs in is about to end.
const ReasonCapacityBlockExpiring = "CapacityBlockExpiring"

// disruptionCapacityBlockExpiring is the reason the disruption metric
// counts such a claim under.
const disruptionCapacityBlockExpiring = "capacity_block_expiring"

// unknownEndRecheck is how soon a claim in a capacity block whose end the
// class's status does not tell yet is looked at again: the class controller
// resolves its reservations about this often.
const unknownEndRecheck = 5 * time.Minute

// CapacityBlockExpiration deletes each NodeClaim running in a Capacity Block
// once the block is within ec2v1.CapacityBlockExpiryLead of its end, as
// Karpenter's capacity reservation expiration controller does: EC2
// reclaims a block's instances ahead of its end, and a node drained before
// then lets its pods move to capacity that stays, while a reclaimed one
// takes them down at once.
type CapacityBlockExpiration struct {
	Client   client.Client
	Recorder record.EventRecorder
	Clock    clock.PassiveClock
}

// Reconcile implements reconcile.Reconciler.
func (e *CapacityBlockExpiration) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	claim := &karpv1.NodeClaim{}
	if err := e.Client.Get(ctx, req.NamespacedName, claim); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	id := claim.Labels[wellknown.CapacityReservationIDLabel]
	if !claim.DeletionTimestamp.IsZero() || id == "" || claim.Labels[wellknown.CapacityReservationTypeLabel] != wellknown.CapacityReservationTypeCapacityBlock {
		return reconcile.Result{}, nil
	}
	end, found, err := e.blockEnd(ctx, claim, id)
	if err != nil || !found {
		return reconcile.Result{RequeueAfter: unknownEndRecheck}, err
	}
	if !ec2v1.BlockExpiring(wellknown.CapacityReservationTypeCapacityBlock, end, e.Clock.Now()) {
		return reconcile.Result{RequeueAfter: end.Add(-ec2v1.CapacityBlockExpiryLead).Sub(e.Clock.Now())}, nil
	}
	node := "its node"
	if claim.Status.NodeName != "" {
		node = "node " + claim.Status.NodeName
	}
	endText := end.UTC().Format(time.RFC3339)
	e.Recorder.Eventf(claim, corev1.EventTypeNormal, ReasonCapacityBlockExpiring,
		"Capacity block %s ends at %s and EC2 reclaims its instances before then: deleting the NodeClaim drains %s %s ahead of the end so its pods move first",
		id, endText, node, ec2v1.CapacityBlockExpiryLead)
	if claim.Status.NodeName != "" {
		n := &corev1.Node{}
		if err := e.Client.Get(ctx, types.NamespacedName{Name: claim.Status.NodeName}, n); err == nil {
			e.Recorder.Eventf(n, corev1.EventTypeNormal, ReasonCapacityBlockExpiring,
				"Capacity block %s of NodeClaim %s ends at %s: the node is drained and its instance terminated", id, claim.Name, endText)
		}
	}
	if err := e.Client.Delete(ctx, claim, client.Preconditions{UID: &claim.UID}); client.IgnoreNotFound(err) != nil {
		return reconcile.Result{}, fmt.Errorf("deleting NodeClaim %s of expiring capacity block %s: %w", claim.Name, id, err)
	}
	metrics.NodeClaimDisrupted(claim, disruptionCapacityBlockExpiring, "", metrics.TerminationEventual)
	return reconcile.Result{}, nil
}

// blockEnd is the end of the claim's reservation as its class's status
// lists it; found is false while the status does not list it with an end.
func (e *CapacityBlockExpiration) blockEnd(ctx context.Context, claim *karpv1.NodeClaim, id string) (*metav1.Time, bool, error) {
	ref := claim.Spec.NodeClassRef
	if ref == nil {
		return nil, false, nil
	}
	nc := &ec2v1.EC2NodeClass{}
	if err := e.Client.Get(ctx, types.NamespacedName{Name: ref.Name}, nc); err != nil {
		return nil, false, client.IgnoreNotFound(err)
	}
	for _, cr := range nc.Status.CapacityReservations {
		if cr.ID == id && cr.EndTime != nil {
			return cr.EndTime, true, nil
		}
	}
	return nil, false, nil
}

// SetupWithManager registers the controller. A class whose status changes
// (a block's end known, or moved) sends its claims in blocks again.
func (e *CapacityBlockExpiration) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named("nodeclaim.capacityblockexpiration").
		For(&karpv1.NodeClaim{}).
		Watches(&ec2v1.EC2NodeClass{}, handler.EnqueueRequestsFromMapFunc(e.claimsOfClass)).
		WithOptions(controller.Options{MaxConcurrentReconciles: 2, RateLimiter: backoff.RateLimiter()}).
		Complete(e)
}

// claimsOfClass are the claims of a class that run in capacity blocks.
func (e *CapacityBlockExpiration) claimsOfClass(ctx context.Context, obj client.Object) []reconcile.Request {
	claims := &karpv1.NodeClaimList{}
	if err := e.Client.List(ctx, claims, client.MatchingLabels{
		wellknown.EC2NodeClassLabel:            obj.GetName(),
		wellknown.CapacityReservationTypeLabel: wellknown.CapacityReservationTypeCapacityBlock,
	}); err != nil {
		// The claims come back on their own requeue at the latest.
		klog.FromContext(ctx).Error(err, "Listing the NodeClaims in capacity blocks of a class", "ec2NodeClass", obj.GetName())
		return nil
	}
	out := make([]reconcile.Request, 0, len(claims.Items))
	for _, c := range claims.Items {
		out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Name: c.Name}})
	}
	return out
}
