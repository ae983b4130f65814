package fleet

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/launcher/launchtemplate"
	"github.com/tailor-project/tailor/launcher/nodeclass"
	"github.com/tailor-project/tailor/launcher/tags"
	"github.com/tailor-project/tailor/launcher/userdata"
)

// override is what a fleet override stands for.
type override struct {
	pool  pool
	image string
}

// overrideKey identifies an override in CreateFleet's answer.
type overrideKey struct {
	instanceType, subnet string
}

// launchTemplateConfigs makes one launch template per AMI, pod limit and
// number of EFA interfaces among the candidates, of capacity type ct, and lists each candidate as an
// override of its template, in the candidates' order.
func (l *Launcher) launchTemplateConfigs(ctx context.Context, req Request, ct string, candidates []pool) ([]ec2types.FleetLaunchTemplateConfigRequest, map[overrideKey]override, error) {
	nc, claim := req.NodeClass, req.NodeClaim
	family, err := nodeclass.Family(nc)
	if err != nil {
		return nil, nil, err
	}
	type group struct {
		image       string
		maxPods     int32
		efas        int32
		reservation string
		block       bool
	}
	wantsEFA := requestsEFA(claim)
	var order []group
	byGroup := map[group][]pool{}
	for _, p := range candidates {
		ami, ok := amiFor(nc, p.instanceType)
		if !ok {
			continue
		}
		g := group{image: ami.ID, reservation: p.offering.ReservationID,
			block: p.offering.ReservationType == wellknown.CapacityReservationTypeCapacityBlock}
		if writesPodLimit(nc, family) {
			g.maxPods = int32(p.instanceType.Capacity.Pods().Value())
		}
		if wantsEFA {
			g.efas = efaCount(p.instanceType)
		}
		if _, seen := byGroup[g]; !seen {
			order = append(order, g)
		}
		byGroup[g] = append(byGroup[g], p)
	}
	if len(order) == 0 {
		return nil, nil, &NotLaunchableError{Reason: ReasonNoCompatibleAMI,
			Message: fmt.Sprintf("EC2NodeClass %s has no AMI for the allowed instance types: status.amis lists the architecture and, for an alias, the GPUs or accelerators each AMI serves", nc.Name)}
	}
	// A template serves every claim of its pool, so it does not name one.
	ltTags := l.claimTags(req)
	delete(ltTags, tags.NodeClaim)
	groups := make([]string, 0, len(nc.Status.SecurityGroups))
	for _, g := range nc.Status.SecurityGroups {
		groups = append(groups, g.ID)
	}
	var configs []ec2types.FleetLaunchTemplateConfigRequest
	overrides := map[overrideKey]override{}
	for _, g := range order {
		var maxPods *int32
		if writesPodLimit(nc, family) {
			maxPods = aws.Int32(g.maxPods)
		}
		ud, err := userdata.Render(family, userDataConfig(l.Cluster, claim, nc, maxPods))
		if err != nil {
			return nil, nil, fmt.Errorf("writing the user data of EC2NodeClass %s: %w", nc.Name, err)
		}
		lt, err := l.Templates.Ensure(ctx, &launchtemplate.Spec{
			NodeClass:       nc,
			Family:          family,
			ImageID:         g.image,
			UserData:        ud,
			InstanceProfile: nc.Status.InstanceProfile,
			SecurityGroups:  groups,
			Tags:            ltTags,
			Spot:            ct == wellknown.CapacityTypeSpot,
			EFAs:            g.efas,
			// A reserved launch goes into the offering's reservation, one
			// template per reservation, as Karpenter's do.
			CapacityReservationID: g.reservation,
			CapacityBlock:         g.block,
		})
		if err != nil {
			return nil, nil, err
		}
		config := ec2types.FleetLaunchTemplateConfigRequest{
			LaunchTemplateSpecification: &ec2types.FleetLaunchTemplateSpecificationRequest{
				LaunchTemplateId: aws.String(lt.ID),
				Version:          aws.String("$Latest"),
			},
		}
		for _, p := range byGroup[g] {
			config.Overrides = append(config.Overrides, ec2types.FleetLaunchTemplateOverridesRequest{
				InstanceType: ec2types.InstanceType(p.instanceType.Name),
				SubnetId:     aws.String(p.subnet),
			})
			overrides[overrideKey{p.instanceType.Name, p.subnet}] = override{pool: p, image: g.image}
		}
		configs = append(configs, config)
	}
	return configs, overrides, nil
}
