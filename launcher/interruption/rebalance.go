package interruption

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
)

// recommendRebalance records a rebalance recommendation on the claim and
// its nodes, and does nothing else, as Karpenter does by default: the
// warning is early and often not followed by an interruption.
func (h *NodeClaimHandler) recommendRebalance(ctx context.Context, id, name string) (Outcome, error) {
	claim := &karpv1.NodeClaim{}
	if err := h.Client.Get(ctx, client.ObjectKey{Name: name}, claim); err != nil {
		if apierrors.IsNotFound(err) {
			return OutcomeIgnored, nil
		}
		return OutcomeFailed, fmt.Errorf("reading NodeClaim %s: %w", name, err)
	}
	nodes, err := h.nodesOf(ctx, claim)
	if err != nil {
		return OutcomeFailed, err
	}
	message := fmt.Sprintf("EC2 recommends rebalancing spot instance %s: it is at elevated risk of interruption", id)
	h.Recorder.Event(claim, corev1.EventTypeNormal, reasonRebalanceRecommendation, message)
	for _, n := range nodes {
		h.Recorder.Event(n, corev1.EventTypeNormal, reasonRebalanceRecommendation, message)
	}
	return OutcomeHandled, nil
}
