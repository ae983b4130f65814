package nodeclaim

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/launcher/fieldindex"
)

// nodesOf returns the Nodes with the claim's provider id: normally none
// before the node joins and one after.
func nodesOf(ctx context.Context, c client.Client, claim *karpv1.NodeClaim) ([]corev1.Node, error) {
	if claim.Status.ProviderID == "" {
		return nil, nil
	}
	nodes := &corev1.NodeList{}
	if err := c.List(ctx, nodes, client.MatchingFields{fieldindex.NodeProviderID: claim.Status.ProviderID}); err != nil {
		return nil, fmt.Errorf("listing the nodes of NodeClaim %s: %w", claim.Name, err)
	}
	return nodes.Items, nil
}

// claimOfNode maps a Node to the claim with its provider id.
func claimOfNode(c client.Client) handler.MapFunc {
	return func(ctx context.Context, o client.Object) []reconcile.Request {
		node, ok := o.(*corev1.Node)
		if !ok || node.Spec.ProviderID == "" {
			return nil
		}
		claims := &karpv1.NodeClaimList{}
		if err := c.List(ctx, claims, client.MatchingFields{fieldindex.NodeClaimProviderID: node.Spec.ProviderID}); err != nil {
			return nil
		}
		out := make([]reconcile.Request, 0, len(claims.Items))
		for _, claim := range claims.Items {
			out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Name: claim.Name}})
		}
		return out
	}
}

// hasTaint reports whether taints hold one with the key and effect of t.
func hasTaint(taints []corev1.Taint, t corev1.Taint) bool {
	for _, have := range taints {
		if have.MatchTaint(&t) {
			return true
		}
	}
	return false
}
