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
// type, from the overrides, tagged for the claim.
func (l *Launcher) fleetInput(req Request, ct string, configs []ec2types.FleetLaunchTemplateConfigRequest) *ec2.CreateFleetInput {
	claim, nc := req.NodeClaim, req.NodeClass
	instanceTags := tags.Instance(l.Cluster.Name, nc.Name, claim.Labels[wellknown.NodePoolLabel], claim.Name, nc.Spec.Tags)
	ec2Tags := make([]ec2types.Tag, 0, len(instanceTags))
	for _, k := range slices.Sorted(maps.Keys(instanceTags)) {
		ec2Tags = append(ec2Tags, ec2types.Tag{Key: aws.String(k), Value: aws.String(instanceTags[k])})
	}
	target := ec2types.DefaultTargetCapacityTypeOnDemand
	if ct == wellknown.CapacityTypeSpot {
		target = ec2types.DefaultTargetCapacityTypeSpot
	}
	return &ec2.CreateFleetInput{
		Type:                  ec2types.FleetTypeInstant,
		ClientToken:           aws.String(string(claim.UID)),
		LaunchTemplateConfigs: configs,
		TargetCapacitySpecification: &ec2types.TargetCapacitySpecificationRequest{
			TotalTargetCapacity:       aws.Int32(1),
			DefaultTargetCapacityType: target,
		},
		OnDemandOptions: &ec2types.OnDemandOptionsRequest{AllocationStrategy: ec2types.FleetOnDemandAllocationStrategyLowestPrice},
		SpotOptions:     &ec2types.SpotOptionsRequest{AllocationStrategy: ec2types.SpotAllocationStrategyPriceCapacityOptimized},
		TagSpecifications: []ec2types.TagSpecification{
			{ResourceType: ec2types.ResourceTypeInstance, Tags: ec2Tags},
			{ResourceType: ec2types.ResourceTypeVolume, Tags: ec2Tags},
		},
	}
}
