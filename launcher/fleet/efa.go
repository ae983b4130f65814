package fleet

import (
	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/launcher/catalog"
)

// requestsEFA reports whether the pods the claim was made for use Elastic
// Fabric Adapters. Only then does the launch attach them, as Karpenter
// does: an instance with several EFA interfaces cannot take a public
// address, and pods that do not ask for the adapters gain nothing from
// them.
func requestsEFA(claim *karpv1.NodeClaim) bool {
	_, ok := claim.Spec.Resources.Requests[wellknown.ResourceEFA]
	return ok
}

// efaCount is how many EFA interfaces an instance of the type gets: all it
// supports, as the catalog advertises them as vpc.amazonaws.com/efa and the
// solver may have placed pods that use every one.
func efaCount(it *catalog.InstanceType) int32 {
	q, ok := it.Capacity[wellknown.ResourceEFA]
	if !ok {
		return 0
	}
	return int32(q.Value())
}
