package drift

import (
	"context"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
	"github.com/tailor-project/tailor/apis/hash"
	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/launcher/backoff"
)

// NodeClassHash annotates each EC2NodeClass with the hash of its static
// fields and the hash's version; the launcher stamps the same on every
// claim it launches from the class.
type NodeClassHash struct {
	Client client.Client
}

// Reconcile implements reconcile.Reconciler.
func (h *NodeClassHash) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	obj := &ec2v1.EC2NodeClass{}
	if err := h.Client.Get(ctx, req.NamespacedName, obj); err != nil || !obj.DeletionTimestamp.IsZero() {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	return reconcile.Result{}, classStamp.apply(ctx, h.Client, obj, hash.EC2NodeClass(obj))
}

// classStamp writes a class's hash. Its claims are found among all (this
// runs when a class is new or Tailor was upgraded, and reads the cache);
// claims not launched yet get the hash when they are.
var classStamp = stamp{
	kind:    "EC2NodeClass",
	hashKey: wellknown.NodeClassHashAnnotation, versionKey: ec2v1.AnnotationEC2NodeClassHashVersion,
	version: hash.EC2NodeClassVersion,
	ownClaim: func(obj client.Object, claim *karpv1.NodeClaim) bool {
		_, stamped := claim.Annotations[wellknown.NodeClassHashAnnotation]
		return stamped && claim.Spec.NodeClassRef != nil && claim.Spec.NodeClassRef.Name == obj.GetName()
	},
	listOptions: func(client.Object) []client.ListOption { return nil },
}

// SetupWithManager registers the controller: a class is looked at when its
// spec or its annotations change; its status, which changes far more often,
// does not concern the hash.
func (h *NodeClassHash) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named("ec2nodeclass.hash").
		For(&ec2v1.EC2NodeClass{}, builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		WithOptions(controller.Options{MaxConcurrentReconciles: 2, RateLimiter: backoff.RateLimiter()}).
		Complete(h)
}
