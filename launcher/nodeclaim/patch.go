package nodeclaim

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
)

// patchStatus writes the claim's status when it changed since before. The
// patch carries before's resource version: the controllers of this package
// write the same conditions list, and a stale write must fail rather than
// drop another controller's condition.
func patchStatus(ctx context.Context, c client.Client, before, claim *karpv1.NodeClaim) error {
	if equality.Semantic.DeepEqual(before.Status, claim.Status) {
		return nil
	}
	if err := c.Status().Patch(ctx, claim, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})); err != nil {
		return fmt.Errorf("updating the status of NodeClaim %s: %w", claim.Name, err)
	}
	return nil
}

// patchMetadata writes the claim's labels, annotations and finalizers when
// they changed since before, failing on a concurrent change.
func patchMetadata(ctx context.Context, c client.Client, before, claim *karpv1.NodeClaim) error {
	if equality.Semantic.DeepEqual(before.ObjectMeta, claim.ObjectMeta) {
		return nil
	}
	if err := c.Patch(ctx, claim, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})); err != nil {
		return fmt.Errorf("updating NodeClaim %s: %w", claim.Name, err)
	}
	return nil
}

// requeueOnConflict turns a conflict, which only says the claim changed
// under the reconciler, into a plain requeue: the next pass reads the new
// version. Other errors stay errors.
func requeueOnConflict(res reconcile.Result, err error) (reconcile.Result, error) {
	if apierrors.IsConflict(err) {
		return reconcile.Result{Requeue: true}, nil
	}
	return res, err
}
