package tailor

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
)

// withdraw deletes a claim nobody needs any more, if it has not launched:
// the pods it was bought for bound elsewhere or went away. A launched claim
// stays; an empty node is for the disruption loop to remove after
// consolidateAfter, as the pool's policy says.
func (t *Tailor) withdraw(ctx context.Context, claimName string, because *corev1.Pod) {
	logger := klog.FromContext(ctx).WithValues("nodeClaim", claimName)
	nc := &karpv1.NodeClaim{}
	if err := t.objects.Get(ctx, client.ObjectKey{Name: claimName}, nc); err != nil {
		if !apierrors.IsNotFound(err) {
			logger.Error(err, "Reading a NodeClaim to withdraw")
		}
		return
	}
	if nc.Status.ProviderID != "" || meta.IsStatusConditionTrue(nc.Status.Conditions, karpv1.ConditionTypeLaunched) {
		logger.V(2).Info("NodeClaim no longer needed but already launched; left to consolidation")
		return
	}
	if err := t.client.Delete(ctx, nc, client.Preconditions{UID: &nc.UID}); err != nil && !apierrors.IsNotFound(err) {
		logger.Error(err, "Withdrawing a NodeClaim nobody needs")
		return
	}
	t.ledger.Forget(claimName)
	logger.Info("NodeClaim withdrawn: the pods it was bought for no longer need it", "lastPod", klog.KObj(because))
	t.handle.EventRecorder().Eventf(nc, because, corev1.EventTypeNormal, ReasonWithdrawn, "Provisioning",
		"Withdrawn before launch: the pods it was bought for bound elsewhere or were deleted")
}
