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
	np := &karpv1.NodePool{}
	if err := h.Client.Get(ctx, req.NamespacedName, np); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	if !np.DeletionTimestamp.IsZero() {
		return reconcile.Result{}, nil
	}
	current := hash.NodePool(np)
	if np.Annotations[wellknown.NodePoolHashVersionAnnotation] != hash.NodePoolVersion {
		if err := h.restampClaims(ctx, np, current); err != nil {
			return reconcile.Result{}, err
		}
	}
	if np.Annotations[wellknown.NodePoolHashAnnotation] == current && np.Annotations[wellknown.NodePoolHashVersionAnnotation] == hash.NodePoolVersion {
		return reconcile.Result{}, nil
	}
	before := np.DeepCopy()
	metav1.SetMetaDataAnnotation(&np.ObjectMeta, wellknown.NodePoolHashAnnotation, current)
	metav1.SetMetaDataAnnotation(&np.ObjectMeta, wellknown.NodePoolHashVersionAnnotation, hash.NodePoolVersion)
	if err := h.Client.Patch(ctx, np, client.MergeFrom(before)); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(fmt.Errorf("annotating NodePool %s with its hash: %w", np.Name, err))
	}
	return reconcile.Result{}, nil
}

// restampClaims gives the pool's claims of another hash version the
// current hash: the old and the new hash cannot be compared, and an
// upgrade of Tailor must not declare every node drifted. A claim already
// drifted stays so, keeping its old hash, since whether it still is cannot
// be told.
func (h *NodePoolHash) restampClaims(ctx context.Context, np *karpv1.NodePool, current string) error {
	claims := &karpv1.NodeClaimList{}
	if err := h.Client.List(ctx, claims, client.MatchingLabels{wellknown.NodePoolLabel: np.Name}); err != nil {
		return fmt.Errorf("listing the NodeClaims of NodePool %s: %w", np.Name, err)
	}
	var errs []error
	for i := range claims.Items {
		claim := &claims.Items[i]
		if claim.Annotations[wellknown.NodePoolHashVersionAnnotation] == hash.NodePoolVersion {
			continue
		}
		before := claim.DeepCopy()
		metav1.SetMetaDataAnnotation(&claim.ObjectMeta, wellknown.NodePoolHashVersionAnnotation, hash.NodePoolVersion)
		if meta.FindStatusCondition(claim.Status.Conditions, karpv1.ConditionTypeDrifted) == nil {
			metav1.SetMetaDataAnnotation(&claim.ObjectMeta, wellknown.NodePoolHashAnnotation, current)
		}
		if err := h.Client.Patch(ctx, claim, client.MergeFrom(before)); client.IgnoreNotFound(err) != nil {
			errs = append(errs, fmt.Errorf("stamping NodeClaim %s with hash version %s: %w", claim.Name, hash.NodePoolVersion, err))
		}
	}
	return errors.Join(errs...)
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
