package ec2sim

import (
	"context"
	"encoding/base64"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// override is a CreateFleet override in a test's shorthand.
type override struct {
	instanceType, zone string
	priority, weight   float64
}

// fleetSummary is what a CreateFleet response says, in a comparable form:
// launched instances as type@zone=count, errors as type@zone:lifecycle:code.
func fleetSummary(s *Simulator, out *ec2.CreateFleetOutput) (launched, errs []string) {
	zoneOf := map[string]string{}
	for _, sn := range s.world.subnets {
		zoneOf[sn.ID] = sn.Zone.Name
	}
	for _, i := range out.Instances {
		launched = append(launched, fmt.Sprintf("%s@%s=%d", i.InstanceType, zoneOf[aws.ToString(i.SubnetId)], len(i.InstanceIds)))
	}
	for _, e := range out.Errors {
		o := e.LaunchTemplateAndOverrides.Overrides
		where := "-"
		if o != nil {
			where = fmt.Sprintf("%s@%s", o.InstanceType, zoneOf[aws.ToString(o.SubnetId)])
		}
		errs = append(errs, fmt.Sprintf("%s:%s:%s", where, e.Lifecycle, aws.ToString(e.ErrorCode)))
	}
	sort.Strings(launched)
	sort.Strings(errs)
	return launched, errs
}

// TestCreateFleet checks CreateFleet (type instant) as EC2 answers it: each
// override is a pool; pools that cannot launch are reported in the errors,
// and the target is filled from the healthy ones in the order of the
// allocation strategy.
func TestCreateFleet(t *testing.T) {
	for _, tc := range []struct {
		name         string
		faults       Faults
		template     string
		capacityType ec2types.DefaultTargetCapacityType
		target       int32
		onDemand     *ec2types.OnDemandOptionsRequest
		spot         *ec2types.SpotOptionsRequest
		overrides    []override
		wantLaunched []string
		wantErrors   []string
	}{
		{
			name:         "on-demand lowest-price takes the cheapest healthy pool and reports the ICE'd one",
			faults:       Faults{InsufficientCapacity: []Pool{{InstanceType: "c5.large", Zone: "us-east-1a"}}},
			capacityType: ec2types.DefaultTargetCapacityTypeOnDemand, target: 1,
			overrides:    []override{{instanceType: "m5.large", zone: "us-east-1a"}, {instanceType: "c5.large", zone: "us-east-1a"}, {instanceType: "c5.large", zone: "us-east-1b"}},
			wantLaunched: []string{"c5.large@us-east-1b=1"},
			wantErrors:   []string{"c5.large@us-east-1a:on-demand:InsufficientInstanceCapacity"},
		},
		{
			name:         "prioritized takes the highest priority before the cheapest",
			capacityType: ec2types.DefaultTargetCapacityTypeOnDemand, target: 2,
			onDemand:     &ec2types.OnDemandOptionsRequest{AllocationStrategy: ec2types.FleetOnDemandAllocationStrategyPrioritized},
			overrides:    []override{{instanceType: "c5.large", zone: "us-east-1a", priority: 2}, {instanceType: "m5.2xlarge", zone: "us-east-1c", priority: 1}},
			wantLaunched: []string{"m5.2xlarge@us-east-1c=2"},
		},
		{
			name:         "an ICE fault for spot leaves on-demand alone",
			faults:       Faults{InsufficientCapacity: []Pool{{InstanceType: "m5.large", CapacityType: "spot"}}},
			capacityType: ec2types.DefaultTargetCapacityTypeOnDemand, target: 1,
			overrides:    []override{{instanceType: "m5.large", zone: "us-east-1a"}},
			wantLaunched: []string{"m5.large@us-east-1a=1"},
		},
		{
			name:         "every pool ICE'd launches nothing and reports each",
			faults:       Faults{InsufficientCapacity: []Pool{{InstanceType: "m5.large"}}},
			capacityType: ec2types.DefaultTargetCapacityTypeSpot, target: 1,
			overrides:  []override{{instanceType: "m5.large", zone: "us-east-1a"}, {instanceType: "m5.large", zone: "us-east-1b"}},
			wantErrors: []string{"m5.large@us-east-1a:spot:InsufficientInstanceCapacity", "m5.large@us-east-1b:spot:InsufficientInstanceCapacity"},
		},
		{
			name:         "a type not offered in a zone is Unsupported there",
			faults:       Faults{NotOffered: []Pool{{InstanceType: "m5.large", Zone: "us-east-1c"}}},
			capacityType: ec2types.DefaultTargetCapacityTypeOnDemand, target: 1,
			overrides:    []override{{instanceType: "m5.large", zone: "us-east-1c"}, {instanceType: "m5.xlarge", zone: "us-east-1c"}},
			wantLaunched: []string{"m5.xlarge@us-east-1c=1"},
			wantErrors:   []string{"m5.large@us-east-1c:on-demand:Unsupported"},
		},
		{
			name:         "weighted capacity counts units, not instances",
			capacityType: ec2types.DefaultTargetCapacityTypeOnDemand, target: 4,
			overrides:    []override{{instanceType: "m5.xlarge", zone: "us-east-1a", weight: 2}},
			wantLaunched: []string{"m5.xlarge@us-east-1a=2"},
		},
		{
			name:         "diversified spreads spot across pools",
			capacityType: ec2types.DefaultTargetCapacityTypeSpot, target: 3,
			spot:         &ec2types.SpotOptionsRequest{AllocationStrategy: ec2types.SpotAllocationStrategyDiversified},
			overrides:    []override{{instanceType: "m5.large", zone: "us-east-1a"}, {instanceType: "m5.large", zone: "us-east-1b"}, {instanceType: "m5.large", zone: "us-east-1c"}},
			wantLaunched: []string{"m5.large@us-east-1a=1", "m5.large@us-east-1b=1", "m5.large@us-east-1c=1"},
		},
		{
			name:         "an unreachable MinTargetCapacity launches nothing",
			faults:       Faults{InsufficientCapacity: []Pool{{Zone: "us-east-1b"}}},
			capacityType: ec2types.DefaultTargetCapacityTypeOnDemand, target: 1,
			onDemand:   &ec2types.OnDemandOptionsRequest{MinTargetCapacity: aws.Int32(9000)},
			overrides:  []override{{instanceType: "m5.large", zone: "us-east-1a"}, {instanceType: "m5.large", zone: "us-east-1b"}},
			wantErrors: []string{"m5.large@us-east-1a:on-demand:UnfulfillableCapacity", "m5.large@us-east-1b:on-demand:InsufficientInstanceCapacity"},
		},
		{
			name:         "a missing launch template is an error of each override",
			template:     "missing",
			capacityType: ec2types.DefaultTargetCapacityTypeOnDemand, target: 1,
			overrides: []override{{instanceType: "m5.large", zone: "us-east-1a"}, {instanceType: "c5.large", zone: "us-east-1a"}},
			wantErrors: []string{"c5.large@us-east-1a:on-demand:InvalidLaunchTemplateName.NotFoundException",
				"m5.large@us-east-1a:on-demand:InvalidLaunchTemplateName.NotFoundException"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startSim(t, Options{Faults: tc.faults})
			seedTemplate(t, s, "fleet", base64.StdEncoding.EncodeToString([]byte("#!/bin/bash\n")))
			template := "fleet"
			if tc.template != "" {
				template = tc.template
			}
			out, err := ec2Client(s).CreateFleet(context.Background(), fleetInput(s, template, tc.capacityType, tc.target, tc.overrides, tc.onDemand, tc.spot))
			if err != nil {
				t.Fatalf("CreateFleet: %v", err)
			}
			launched, errs := fleetSummary(s, out)
			if strings.Join(launched, " ") != strings.Join(tc.wantLaunched, " ") {
				t.Errorf("launched %v, want %v", launched, tc.wantLaunched)
			}
			if strings.Join(errs, " ") != strings.Join(tc.wantErrors, " ") {
				t.Errorf("errors %v, want %v", errs, tc.wantErrors)
			}
			if !strings.HasPrefix(aws.ToString(out.FleetId), "fleet-") {
				t.Errorf("fleet id %q", aws.ToString(out.FleetId))
			}
		})
	}
}

// TestCreateFleetSpotStrategies: with the same spot pools, lowest-price
// takes the cheapest pool, and price-capacity-optimized the cheapest of the
// pools in the top band of (simulated) capacity depth, passing over a
// cheaper pool that is shallow.
func TestCreateFleetSpotStrategies(t *testing.T) {
	s := startSim(t, Options{})
	seedTemplate(t, s, "fleet", base64.StdEncoding.EncodeToString([]byte("#!/bin/bash\n")))
	now := startOfPriceStep(t, s)
	type pool struct {
		override
		price float64
		depth int
	}
	var all []pool
	for _, it := range []string{"m5.large", "m5a.large", "m6i.large", "m6a.large", "m7i.large", "m7a.large", "c5.xlarge", "c6i.xlarge", "r5.large", "m5d.large"} {
		for _, z := range zones {
			price, _ := s.spotPrice(it, z, now)
			all = append(all, pool{override{instanceType: it, zone: z.Name}, price, spotDepth(it, z)})
		}
	}
	// The bait is the cheapest shallow pool; the rest are deep pools that
	// cost more, so the two strategies must disagree.
	sort.Slice(all, func(i, j int) bool { return all[i].price < all[j].price })
	var bait *pool
	var deep []pool
	for i := range all {
		if bait == nil && all[i].depth <= maxSpotDepth-4 {
			bait = &all[i]
		} else if bait != nil && all[i].depth == maxSpotDepth {
			deep = append(deep, all[i])
		}
	}
	if bait == nil || len(deep) == 0 {
		t.Fatalf("the candidate pools hold no cheap shallow pool with a deeper, pricier one: %v", all)
	}
	overrides := []override{bait.override}
	for _, d := range deep {
		overrides = append(overrides, d.override)
	}
	for _, tc := range []struct {
		strategy ec2types.SpotAllocationStrategy
		want     override
	}{
		{ec2types.SpotAllocationStrategyLowestPrice, bait.override},
		{ec2types.SpotAllocationStrategyPriceCapacityOptimized, deep[0].override},
		{ec2types.SpotAllocationStrategyCapacityOptimized, deep[0].override},
	} {
		t.Run(string(tc.strategy), func(t *testing.T) {
			out, err := ec2Client(s).CreateFleet(context.Background(), fleetInput(s, "fleet", ec2types.DefaultTargetCapacityTypeSpot, 1, overrides, nil,
				&ec2types.SpotOptionsRequest{AllocationStrategy: tc.strategy}))
			if err != nil {
				t.Fatalf("CreateFleet: %v", err)
			}
			launched, errs := fleetSummary(s, out)
			want := fmt.Sprintf("%s@%s=1", tc.want.instanceType, tc.want.zone)
			if len(errs) > 0 || len(launched) != 1 || launched[0] != want {
				t.Errorf("launched %v (errors %v), want %s", launched, errs, want)
			}
			if out.Instances[0].Lifecycle != ec2types.InstanceLifecycleSpot {
				t.Errorf("lifecycle %s, want spot", out.Instances[0].Lifecycle)
			}
		})
	}
}

// TestCreateFleetRejectsMalformedRequests: requests EC2 refuses as a whole
// fail with its error codes rather than launch anything.
func TestCreateFleetRejectsMalformedRequests(t *testing.T) {
	s := startSim(t, Options{})
	seedTemplate(t, s, "fleet", base64.StdEncoding.EncodeToString([]byte("#!/bin/bash\n")))
	ctx := context.Background()
	c := ec2Client(s)
	valid := func() *ec2.CreateFleetInput {
		return fleetInput(s, "fleet", ec2types.DefaultTargetCapacityTypeOnDemand, 1, []override{{instanceType: "m5.large", zone: "us-east-1a"}}, nil, nil)
	}
	for _, tc := range []struct {
		name   string
		mutate func(*ec2.CreateFleetInput)
		code   string
	}{
		{"maintain fleets are not simulated", func(in *ec2.CreateFleetInput) { in.Type = ec2types.FleetTypeMaintain }, "Unsupported"},
		{"unknown allocation strategy", func(in *ec2.CreateFleetInput) {
			in.SpotOptions = &ec2types.SpotOptionsRequest{AllocationStrategy: "cheapest-please"}
		}, "InvalidParameterValue"},
		{"targets above the total", func(in *ec2.CreateFleetInput) {
			in.TargetCapacitySpecification.OnDemandTargetCapacity = aws.Int32(5)
		}, "InvalidParameterValue"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := valid()
			tc.mutate(in)
			_, err := c.CreateFleet(ctx, in)
			wantAPIError(t, err, tc.code)
		})
	}
}

func fleetInput(s *Simulator, template string, capacityType ec2types.DefaultTargetCapacityType, target int32, overrides []override,
	onDemand *ec2types.OnDemandOptionsRequest, spot *ec2types.SpotOptionsRequest) *ec2.CreateFleetInput {
	subnets := privateSubnets(s)
	cfg := ec2types.FleetLaunchTemplateConfigRequest{
		LaunchTemplateSpecification: &ec2types.FleetLaunchTemplateSpecificationRequest{LaunchTemplateName: aws.String(template), Version: aws.String("$Latest")},
	}
	for _, o := range overrides {
		req := ec2types.FleetLaunchTemplateOverridesRequest{InstanceType: ec2types.InstanceType(o.instanceType), SubnetId: aws.String(subnets[o.zone])}
		if o.priority != 0 {
			req.Priority = aws.Float64(o.priority)
		}
		if o.weight != 0 {
			req.WeightedCapacity = aws.Float64(o.weight)
		}
		cfg.Overrides = append(cfg.Overrides, req)
	}
	return &ec2.CreateFleetInput{
		Type:                  ec2types.FleetTypeInstant,
		LaunchTemplateConfigs: []ec2types.FleetLaunchTemplateConfigRequest{cfg},
		TargetCapacitySpecification: &ec2types.TargetCapacitySpecificationRequest{
			TotalTargetCapacity: aws.Int32(target), DefaultTargetCapacityType: capacityType,
		},
		OnDemandOptions: onDemand,
		SpotOptions:     spot,
		TagSpecifications: []ec2types.TagSpecification{{
			ResourceType: ec2types.ResourceTypeInstance,
			Tags:         []ec2types.Tag{{Key: aws.String("karpenter.sh/nodeclaim"), Value: aws.String("test")}},
		}},
	}
}

// startOfPriceStep moves the clock to the start of the next spot price step,
// so that the prices a test reads hold for the whole test.
func startOfPriceStep(t *testing.T, s *Simulator) time.Time {
	t.Helper()
	now := s.Clock().Now()
	if err := s.Clock().Advance(now.Truncate(spotPriceStep).Add(spotPriceStep).Sub(now)); err != nil {
		t.Fatal(err)
	}
	return s.Clock().Now()
}
