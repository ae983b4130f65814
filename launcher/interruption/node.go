package interruption

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/launcher/fieldindex"
)

// nodesOf returns the Nodes of a claim: none before its node joins.
func (h *NodeClaimHandler) nodesOf(ctx context.Context, claim *karpv1.NodeClaim) ([]*corev1.Node, error) {
	if claim.Status.ProviderID == "" {
		return nil, nil
	}
	list := &corev1.NodeList{}
	if err := h.Client.List(ctx, list, client.MatchingFields{fieldindex.NodeProviderID: claim.Status.ProviderID}); err != nil {
		return nil, fmt.Errorf("listing the nodes of NodeClaim %s: %w", claim.Name, err)
	}
	out := make([]*corev1.Node, len(list.Items))
	for i := range list.Items {
		out[i] = &list.Items[i]
	}
	return out, nil
}

// taint puts karpenter.sh/disrupted:NoSchedule on the claim's nodes, so that
// no pod is scheduled there while the instance goes, and returns them.
func (h *NodeClaimHandler) taint(ctx context.Context, claim *karpv1.NodeClaim) ([]*corev1.Node, error) {
	nodes, err := h.nodesOf(ctx, claim)
	if err != nil {
		return nil, err
	}
	var tainted []*corev1.Node
	for _, cached := range nodes {
		node := &corev1.Node{}
		err := retry.RetryOnConflict(retry.DefaultBackoff, func() error {
			if err := h.Reader.Get(ctx, client.ObjectKeyFromObject(cached), node); err != nil {
				return err
			}
			for _, t := range node.Spec.Taints {
				if t.MatchTaint(&wellknown.DisruptedNoScheduleTaint) {
					return nil
				}
			}
			before := node.DeepCopy()
			node.Spec.Taints = append(node.Spec.Taints, wellknown.DisruptedNoScheduleTaint)
			return h.Client.Patch(ctx, node, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{}))
		})
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("tainting node %s %s: %w", cached.Name, wellknown.DisruptedNoScheduleTaint.ToString(), err)
		}
		tainted = append(tainted, node)
	}
	return tainted, nil
}
