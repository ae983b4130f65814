package nodepool

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/launcher/backoff"
)

// Status writes each NodePool's status: its resources, node count and
// conditions.
type Status struct {
	Client   client.Client
	Recorder record.EventRecorder
}

// Reconcile implements reconcile.Reconciler.
func (s *Status) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	np := &karpv1.NodePool{}
	if err := s.Client.Get(ctx, req.NamespacedName, np); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	before := np.DeepCopy()

	claims := &karpv1.NodeClaimList{}
	if err := s.Client.List(ctx, claims, client.MatchingLabels{wellknown.NodePoolLabel: np.Name}); err != nil {
		return reconcile.Result{}, fmt.Errorf("listing the NodeClaims of NodePool %s: %w", np.Name, err)
	}
	np.Status.Resources, np.Status.Nodes = resources(claims.Items)

	setValidation(np, validate(np))
	nc, err := s.nodeClass(ctx, np)
	if err != nil {
		return reconcile.Result{}, err
	}
	setNodeClassReady(np, nc)
	setReady(np)

	if equality.Semantic.DeepEqual(before.Status, np.Status) {
		return reconcile.Result{}, nil
	}
	// The conditions list is replaced whole by a merge patch: the resource
	// version makes a write over a newer status fail instead.
	err = s.Client.Status().Patch(ctx, np, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{}))
	switch {
	case apierrors.IsConflict(err):
		return reconcile.Result{Requeue: true}, nil
	case apierrors.IsNotFound(err):
		return reconcile.Result{}, nil
	case err != nil:
		return reconcile.Result{}, fmt.Errorf("updating the status of NodePool %s: %w", np.Name, err)
	}
	s.recordReadiness(before, np)
	return reconcile.Result{}, nil
}

// nodeClass returns the pool's class, nil when it does not exist or is not
// an EC2NodeClass (validation says so).
func (s *Status) nodeClass(ctx context.Context, np *karpv1.NodePool) (*ec2v1.EC2NodeClass, error) {
	name := "default"
	if ref := np.Spec.Template.Spec.NodeClassRef; ref != nil {
		if ref.Group != ec2v1.GroupVersion.Group || ref.Kind != "EC2NodeClass" {
			return nil, nil
		}
		name = ref.Name
	}
	nc := &ec2v1.EC2NodeClass{}
	if err := s.Client.Get(ctx, types.NamespacedName{Name: name}, nc); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("reading EC2NodeClass %s of NodePool %s: %w", name, np.Name, err)
	}
	return nc, nil
}

// recordReadiness leaves an event when the pool becomes Ready or stops
// being so, with why.
func (s *Status) recordReadiness(before, after *karpv1.NodePool) {
	was := meta.FindStatusCondition(before.Status.Conditions, karpv1.ConditionTypeReady)
	now := meta.FindStatusCondition(after.Status.Conditions, karpv1.ConditionTypeReady)
	if now == nil || was != nil && was.Status == now.Status && was.Reason == now.Reason {
		return
	}
	if now.Status == metav1.ConditionTrue {
		s.Recorder.Event(after, corev1.EventTypeNormal, ReasonReady, "NodePool is ready")
		return
	}
	s.Recorder.Eventf(after, corev1.EventTypeWarning, now.Reason, "NodePool is not ready, no node is made from it: %s", now.Message)
}

// SetupWithManager registers the controller. A pool is looked at when its
// spec changes, when one of its claims does, and when its class's
// readiness may have.
func (s *Status) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named("nodepool.status").
		For(&karpv1.NodePool{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&karpv1.NodeClaim{}, handler.EnqueueRequestsFromMapFunc(poolOfClaim)).
		Watches(&ec2v1.EC2NodeClass{}, handler.EnqueueRequestsFromMapFunc(poolsOfClass(s.Client))).
		WithOptions(controller.Options{MaxConcurrentReconciles: 2, RateLimiter: backoff.RateLimiter()}).
		Complete(s)
}

func poolOfClaim(_ context.Context, o client.Object) []reconcile.Request {
	name := o.GetLabels()[wellknown.NodePoolLabel]
	if name == "" {
		return nil
	}
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Name: name}}}
}

// poolsOfClass maps a class to the pools built from it.
func poolsOfClass(c client.Client) handler.MapFunc {
	return func(ctx context.Context, o client.Object) []reconcile.Request {
		pools := &karpv1.NodePoolList{}
		if err := c.List(ctx, pools); err != nil {
			return nil
		}
		var out []reconcile.Request
		for _, np := range pools.Items {
			name := "default"
			if ref := np.Spec.Template.Spec.NodeClassRef; ref != nil {
				name = ref.Name
			}
			if name == o.GetName() {
				out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Name: np.Name}})
			}
		}
		return out
	}
}
