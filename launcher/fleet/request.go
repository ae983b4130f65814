package fleet

import (
	"maps"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/launcher/tags"
)

// fleetInput is the CreateFleet request: one instance, of the capacity
// type, from the overrides, tagged for the claim. A launch into Capacity
// Blocks (block) targets the capacity-block capacity type, as EC2 requires.
func (l *Launcher) fleetInput(req Request, ct string, block bool, configs []ec2types.FleetLaunchTemplateConfigRequest) *ec2.CreateFleetInput {
	claimTags := l.claimTags(req)
	ec2Tags := make([]ec2types.Tag, 0, len(claimTags))
	for _, k := range slices.Sorted(maps.Keys(claimTags)) {
		ec2Tags = append(ec2Tags, ec2types.Tag{Key: aws.String(k), Value: aws.String(claimTags[k])})
	}
	target := ec2types.DefaultTargetCapacityTypeOnDemand
	switch {
	case ct == wellknown.CapacityTypeSpot:
		target = ec2types.DefaultTargetCapacityTypeSpot
	case block:
		target = ec2types.DefaultTargetCapacityTypeCapacityBlock
	}
	// A reserved launch that finds its reservations full is followed by
	// one on-demand or spot, which EC2 would refuse as a different request
	// under the same token; the reserved one has a token of its own.
	token := string(req.NodeClaim.UID)
	if ct == wellknown.CapacityTypeReserved {
		token += "-reserved"
	}
	return &ec2.CreateFleetInput{
		Type:                  ec2types.FleetTypeInstant,
		ClientToken:           aws.String(token),
		LaunchTemplateConfigs: configs,
		TargetCapacitySpecification: &ec2types.TargetCapacitySpecificationRequest{
			TotalTargetCapacity:       aws.Int32(1),
			DefaultTargetCapacityType: target,
		},
		OnDemandOptions: &ec2types.OnDemandOptionsRequest{AllocationStrategy: ec2types.FleetOnDemandAllocationStrategyLowestPrice},
		SpotOptions:     &ec2types.SpotOptionsRequest{AllocationStrategy: ec2types.SpotAllocationStrategyPriceCapacityOptimized},
		// The fleet is tagged too, not only what it launches: the IAM
		// policy lets CreateFleet create a fleet only with the cluster's
		// and a pool's tags in the request.
		TagSpecifications: []ec2types.TagSpecification{
			{ResourceType: ec2types.ResourceTypeFleet, Tags: ec2Tags},
			{ResourceType: ec2types.ResourceTypeInstance, Tags: ec2Tags},
			{ResourceType: ec2types.ResourceTypeVolume, Tags: ec2Tags},
		},
	}
}

// claimTags are the tags of what a claim's launch creates: its instance,
// volumes and fleet and, less the claim's own tag, its launch template and
// what that tags. The pool tag is there even for a claim of no NodePool,
// empty then, because the IAM policy lets the launcher create, launch from
// and later terminate or delete only what carries one (EKS managed node
// groups tag their instances owned too; they carry no pool tag).
func (l *Launcher) claimTags(req Request) map[string]string {
	pool := req.NodeClaim.Labels[wellknown.NodePoolLabel]
	out := tags.Instance(l.Cluster.Name, req.NodeClass.Name, pool, req.NodeClaim.Name, req.NodeClass.Spec.Tags)
	out[tags.NodePool] = pool
	return out
}
