package interruption

import (
	"context"
	"fmt"

	"sigs.k8s.io/controller-runtime/pkg/client"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/launcher/instance"
)

// InstanceIDIndex finds NodeClaims by the id of their instance, which is all
// an event names: the provider id also holds the zone.
const InstanceIDIndex = "status.providerID.instanceID"

// RegisterIndex adds InstanceIDIndex to a cache's indexer.
func RegisterIndex(ctx context.Context, indexer client.FieldIndexer) error {
	err := indexer.IndexField(ctx, &karpv1.NodeClaim{}, InstanceIDIndex, func(o client.Object) []string {
		id, err := instance.ParseProviderID(o.(*karpv1.NodeClaim).Status.ProviderID)
		if err != nil {
			return nil
		}
		return []string{id}
	})
	if err != nil {
		return fmt.Errorf("indexing NodeClaims by instance id: %w", err)
	}
	return nil
}
