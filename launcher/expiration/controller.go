package expiration

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/launcher/backoff"
	"github.com/tailor-project/tailor/launcher/metrics"
)

// ReasonExpired is the event of a claim deleted for its age.
const ReasonExpired = "Expired"

// Expiration deletes each NodeClaim once it is older than its expireAfter.
type Expiration struct {
	Client   client.Client
	Recorder record.EventRecorder
	Clock    clock.PassiveClock
}

// Reconcile implements reconcile.Reconciler.
func (e *Expiration) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	claim := &karpv1.NodeClaim{}
	if err := e.Client.Get(ctx, req.NamespacedName, claim); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	expireAfter := claim.Spec.ExpireAfter
	if !claim.DeletionTimestamp.IsZero() || expireAfter.IsNever() {
		return reconcile.Result{}, nil
	}
	// The age counts from the claim's creation, the moment the node was
	// asked for, as Karpenter counts it.
	expiry := claim.CreationTimestamp.Add(*expireAfter.Duration)
	if left := expiry.Sub(e.Clock.Now()); left > 0 {
		return reconcile.Result{RequeueAfter: left}, nil
	}
	node := "its node"
	if claim.Status.NodeName != "" {
		node = "node " + claim.Status.NodeName
	}
	e.Recorder.Eventf(claim, corev1.EventTypeNormal, ReasonExpired,
		"NodeClaim expired: older than its expireAfter (%s); deleting it drains %s and terminates its instance, whatever the disruption budgets say", expireAfter, node)
	if claim.Status.NodeName != "" {
		// The node is where a person looking at their pods lands first.
		n := &corev1.Node{}
		if err := e.Client.Get(ctx, types.NamespacedName{Name: claim.Status.NodeName}, n); err == nil {
			e.Recorder.Eventf(n, corev1.EventTypeNormal, ReasonExpired,
				"NodeClaim %s expired (expireAfter %s): the node is drained and its instance terminated", claim.Name, expireAfter)
		}
	}
	if err := e.Client.Delete(ctx, claim, client.Preconditions{UID: &claim.UID}); client.IgnoreNotFound(err) != nil {
		return reconcile.Result{}, fmt.Errorf("deleting expired NodeClaim %s: %w", claim.Name, err)
	}
	metrics.NodeClaimDisrupted(claim, "expired", "", metrics.TerminationEventual)
	return reconcile.Result{}, nil
}

// SetupWithManager registers the controller.
func (e *Expiration) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named("nodeclaim.expiration").
		For(&karpv1.NodeClaim{}).
		WithOptions(controller.Options{MaxConcurrentReconciles: 2, RateLimiter: backoff.RateLimiter()}).
		Complete(e)
}
