package drift

import (
	"context"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/tailor-project/tailor/apis/hash"
	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/launcher/backoff"
)

// NodePoolHash annotates each NodePool with the hash of its template's
// static fields and the hash's version, so that a person (and the drift
// check) can see at a glance which claims were made from the current
// template.
type NodePoolHash struct {
	Client client.Client
}

// Reconcile implements reconcile.Reconciler.
func (h *NodePoolHash) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	obj := &karpv1.NodePool{}
	if err := h.Client.Get(ctx, req.NamespacedName, obj); err != nil || !obj.DeletionTimestamp.IsZero() {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	return reconcile.Result{}, poolStamp.apply(ctx, h.Client, obj, hash.NodePool(obj))
}

// poolStamp writes a pool's hash; its claims carry its name as a label.
var poolStamp = stamp{
	kind:    "NodePool",
	hashKey: wellknown.NodePoolHashAnnotation, versionKey: wellknown.NodePoolHashVersionAnnotation,
	version:  hash.NodePoolVersion,
	ownClaim: func(client.Object, *karpv1.NodeClaim) bool { return true },
	listOptions: func(obj client.Object) []client.ListOption {
		return []client.ListOption{client.MatchingLabels{wellknown.NodePoolLabel: obj.GetName()}}
	},
}

// SetupWithManager registers the controller: a pool is looked at when its
// spec changes, and when its annotations do, in case the hash was removed.
func (h *NodePoolHash) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named("nodepool.hash").
		For(&karpv1.NodePool{}, builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		WithOptions(controller.Options{MaxConcurrentReconciles: 2, RateLimiter: backoff.RateLimiter()}).
		Complete(h)
}
