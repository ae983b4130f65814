package nodeclaim

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/launcher/backoff"
)

// Defaults of Liveness.
const (
	// DefaultRegistrationTTL is how long a launched instance has to register
	// its node: AMIs boot and join in a few minutes; one that has not in
	// fifteen will not.
	DefaultRegistrationTTL = 15 * time.Minute
	// DefaultNotLaunchableBackoff is how long a claim that cannot be
	// launched stays before it is deleted: long enough for a person to see
	// why, short enough that the pods waiting for it get a new decision
	// soon.
	DefaultNotLaunchableBackoff = 10 * time.Second
)

// Liveness deletes the claims that will not become nodes, which terminates
// their instances and lets the scheduler decide again.
type Liveness struct {
	Client   client.Client
	Recorder record.EventRecorder
	Clock    clock.PassiveClock
	// RegistrationTTL is DefaultRegistrationTTL when zero.
	RegistrationTTL time.Duration
	// NotLaunchableBackoff is DefaultNotLaunchableBackoff when zero.
	NotLaunchableBackoff time.Duration
}

// Reconcile implements reconcile.Reconciler.
func (l *Liveness) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	claim := &karpv1.NodeClaim{}
	if err := l.Client.Get(ctx, req.NamespacedName, claim); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	if !claim.DeletionTimestamp.IsZero() {
		return reconcile.Result{}, nil
	}
	launched := findCondition(claim, karpv1.ConditionTypeLaunched)
	switch {
	case givenUp(claim):
		return l.deleteAfter(ctx, claim, launched.LastTransitionTime.Time, orDefault(l.NotLaunchableBackoff, DefaultNotLaunchableBackoff),
			"NotLaunchable", "Deleting NodeClaim, which cannot be launched: "+launched.Message)
	case isTrue(claim, karpv1.ConditionTypeLaunched) && !isTrue(claim, karpv1.ConditionTypeRegistered):
		ttl := orDefault(l.RegistrationTTL, DefaultRegistrationTTL)
		return l.deleteAfter(ctx, claim, launched.LastTransitionTime.Time, ttl,
			"RegistrationTimeout", fmt.Sprintf("Deleting NodeClaim: the node of %s did not register within %s of the launch; its instance is terminated", claim.Status.ProviderID, ttl))
	}
	return reconcile.Result{}, nil
}

// deleteAfter deletes the claim once wait has passed since start, with an
// event that says why, and until then comes back when it will have.
func (l *Liveness) deleteAfter(ctx context.Context, claim *karpv1.NodeClaim, start time.Time, wait time.Duration, reason, message string) (reconcile.Result, error) {
	if left := start.Add(wait).Sub(l.Clock.Now()); left > 0 {
		return reconcile.Result{RequeueAfter: left}, nil
	}
	l.Recorder.Event(claim, corev1.EventTypeWarning, reason, message)
	if err := l.Client.Delete(ctx, claim, client.Preconditions{UID: &claim.UID}); client.IgnoreNotFound(err) != nil {
		return reconcile.Result{}, fmt.Errorf("deleting NodeClaim %s: %w", claim.Name, err)
	}
	return reconcile.Result{}, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// SetupWithManager registers the controller.
func (l *Liveness) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named("nodeclaim.liveness").
		For(&karpv1.NodeClaim{}).
		WithOptions(controller.Options{MaxConcurrentReconciles: 2, RateLimiter: backoff.RateLimiter()}).
		Complete(l)
}
