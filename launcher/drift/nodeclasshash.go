package drift

import (
	"context"
	"errors"
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
	nc := &ec2v1.EC2NodeClass{}
	if err := h.Client.Get(ctx, req.NamespacedName, nc); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	if !nc.DeletionTimestamp.IsZero() {
		return reconcile.Result{}, nil
	}
	current := hash.EC2NodeClass(nc)
	if nc.Annotations[ec2v1.AnnotationEC2NodeClassHashVersion] != hash.EC2NodeClassVersion {
		if err := h.restampClaims(ctx, nc, current); err != nil {
			return reconcile.Result{}, err
		}
	}
	if nc.Annotations[wellknown.NodeClassHashAnnotation] == current && nc.Annotations[ec2v1.AnnotationEC2NodeClassHashVersion] == hash.EC2NodeClassVersion {
		return reconcile.Result{}, nil
	}
	before := nc.DeepCopy()
	metav1.SetMetaDataAnnotation(&nc.ObjectMeta, wellknown.NodeClassHashAnnotation, current)
	metav1.SetMetaDataAnnotation(&nc.ObjectMeta, ec2v1.AnnotationEC2NodeClassHashVersion, hash.EC2NodeClassVersion)
	if err := h.Client.Patch(ctx, nc, client.MergeFrom(before)); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(fmt.Errorf("annotating EC2NodeClass %s with its hash: %w", nc.Name, err))
	}
	return reconcile.Result{}, nil
}

// restampClaims gives the class's claims of another hash version the
// current hash, as NodePoolHash does for pools: hashes of two versions
// cannot be compared, and a claim already drifted stays so.
func (h *NodeClassHash) restampClaims(ctx context.Context, nc *ec2v1.EC2NodeClass, current string) error {
	// All claims, filtered here: this runs when a class is new or Tailor
	// was upgraded, and reads the cache.
	claims := &karpv1.NodeClaimList{}
	if err := h.Client.List(ctx, claims); err != nil {
		return fmt.Errorf("listing the NodeClaims of EC2NodeClass %s: %w", nc.Name, err)
	}
	var errs []error
	for i := range claims.Items {
		claim := &claims.Items[i]
		if ref := claim.Spec.NodeClassRef; ref == nil || ref.Name != nc.Name {
			continue
		}
		// Claims not launched yet get the hash when they are.
		if _, stamped := claim.Annotations[wellknown.NodeClassHashAnnotation]; !stamped ||
			claim.Annotations[ec2v1.AnnotationEC2NodeClassHashVersion] == hash.EC2NodeClassVersion {
			continue
		}
		before := claim.DeepCopy()
		metav1.SetMetaDataAnnotation(&claim.ObjectMeta, ec2v1.AnnotationEC2NodeClassHashVersion, hash.EC2NodeClassVersion)
		if meta.FindStatusCondition(claim.Status.Conditions, karpv1.ConditionTypeDrifted) == nil {
			metav1.SetMetaDataAnnotation(&claim.ObjectMeta, wellknown.NodeClassHashAnnotation, current)
		}
		if err := h.Client.Patch(ctx, claim, client.MergeFrom(before)); client.IgnoreNotFound(err) != nil {
			errs = append(errs, fmt.Errorf("stamping NodeClaim %s with hash version %s: %w", claim.Name, hash.EC2NodeClassVersion, err))
		}
	}
	return errors.Join(errs...)
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
