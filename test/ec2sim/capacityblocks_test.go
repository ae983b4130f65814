package ec2sim

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// TestCapacityBlocks checks what sets a Capacity Block apart from an ODCR:
// DescribeCapacityReservations reports its type, start and end and moves its
// state along the clock, a launch goes into it only with the capacity-block
// market type, in a fleet of that target type, its instances say they are
// in a block, and EC2 reclaims them 30 minutes before its end.
func TestCapacityBlocks(t *testing.T) {
	s := startSim(t, Options{})
	ctx := context.Background()
	now := s.Clock().Now()
	add := func(r CapacityReservation) CapacityReservation {
		t.Helper()
		got, err := s.AddCapacityReservation(r)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	block := add(CapacityReservation{InstanceType: "p5.48xlarge", AvailabilityZone: "us-east-1a", TotalInstanceCount: 2,
		ReservationType: "capacity-block", EndDate: now.Add(2 * time.Hour)})
	later := add(CapacityReservation{InstanceType: "p5.48xlarge", AvailabilityZone: "us-east-1a", TotalInstanceCount: 1,
		ReservationType: "capacity-block", StartDate: now.Add(time.Hour), EndDate: now.Add(3 * time.Hour)})
	odcr := add(CapacityReservation{InstanceType: "m5.large", AvailabilityZone: "us-east-1a", TotalInstanceCount: 1})
	if _, err := s.AddCapacityReservation(CapacityReservation{InstanceType: "p5.48xlarge", AvailabilityZone: "us-east-1a", TotalInstanceCount: 1, ReservationType: "capacity-block"}); err == nil {
		t.Error("a capacity block without an end was added")
	}

	c := ec2Client(s)
	desc, err := c.DescribeCapacityReservations(ctx, &ec2.DescribeCapacityReservationsInput{CapacityReservationIds: []string{block.ID, later.ID}})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range desc.CapacityReservations {
		want := map[string]ec2types.CapacityReservationState{block.ID: "active", later.ID: "scheduled"}[aws.ToString(r.CapacityReservationId)]
		if r.ReservationType != ec2types.CapacityReservationTypeCapacityBlock || r.State != want || r.EndDate == nil || r.EndDateType != ec2types.EndDateTypeLimited {
			t.Errorf("%s: type %s, state %s (want %s), end %v (%s)", aws.ToString(r.CapacityReservationId), r.ReservationType, r.State, want, r.EndDate, r.EndDateType)
		}
	}

	img := s.world.ssmParameters["/aws/service/eks/optimized-ami/1.34/amazon-linux-2023/x86_64/standard/recommended/image_id"]
	template := func(name, reservation string, market ec2types.MarketType) {
		t.Helper()
		data := &ec2types.RequestLaunchTemplateData{
			ImageId:          aws.String(img),
			SecurityGroupIds: []string{s.world.securityGroups[0].ID},
			CapacityReservationSpecification: &ec2types.LaunchTemplateCapacityReservationSpecificationRequest{
				CapacityReservationTarget: &ec2types.CapacityReservationTarget{CapacityReservationId: aws.String(reservation)},
			},
		}
		if market != "" {
			data.InstanceMarketOptions = &ec2types.LaunchTemplateInstanceMarketOptionsRequest{MarketType: market}
		}
		if _, err := c.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String(name), LaunchTemplateData: data}); err != nil {
			t.Fatal(err)
		}
	}
	template("block", block.ID, ec2types.MarketTypeCapacityBlock)
	template("block-no-market", block.ID, "")
	template("later", later.ID, ec2types.MarketTypeCapacityBlock)
	template("odcr-as-block", odcr.ID, ec2types.MarketTypeCapacityBlock)
	template("odcr", odcr.ID, "")

	for _, tc := range []struct {
		name, template string
		target         ec2types.DefaultTargetCapacityType
		instanceType   string
		wantLaunched   bool
		wantError      string
	}{
		{"into the block", "block", ec2types.DefaultTargetCapacityTypeCapacityBlock, "p5.48xlarge", true, ""},
		{"a block without its market type", "block-no-market", ec2types.DefaultTargetCapacityTypeOnDemand, "p5.48xlarge", false, "InvalidParameterCombination"},
		{"a block template in an on-demand fleet", "block", ec2types.DefaultTargetCapacityTypeOnDemand, "p5.48xlarge", false, "InvalidParameterCombination"},
		{"an on-demand template in a block fleet", "block-no-market", ec2types.DefaultTargetCapacityTypeCapacityBlock, "p5.48xlarge", false, "InvalidParameterCombination"},
		{"a block that has not started", "later", ec2types.DefaultTargetCapacityTypeCapacityBlock, "p5.48xlarge", false, "InvalidCapacityReservationId.NotFound"},
		{"an ODCR with the block market type", "odcr-as-block", ec2types.DefaultTargetCapacityTypeCapacityBlock, "m5.large", false, "InvalidParameterCombination"},
		{"an ODCR as before", "odcr", ec2types.DefaultTargetCapacityTypeOnDemand, "m5.large", true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := c.CreateFleet(ctx, fleetInput(s, tc.template, tc.target, 1, []override{{instanceType: tc.instanceType, zone: "us-east-1a"}}, nil, nil))
			if err != nil {
				t.Fatal(err)
			}
			launched, errs := fleetSummary(s, out)
			if got := len(launched) == 1; got != tc.wantLaunched {
				t.Errorf("launched %v, errors %v; want a launch: %v", launched, errs, tc.wantLaunched)
			}
			if tc.wantError != "" && !slices.ContainsFunc(errs, func(e string) bool { return len(e) > len(tc.wantError) && e[len(e)-len(tc.wantError):] == tc.wantError }) {
				t.Errorf("errors %v, want %s", errs, tc.wantError)
			}
		})
	}

	var inBlock []string
	for _, i := range s.Instances() {
		if i.CapacityReservationID == block.ID {
			inBlock = append(inBlock, i.ID)
		}
	}
	if len(inBlock) != 1 {
		t.Fatalf("instances in the block: %v, want one", inBlock)
	}
	out, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: inBlock})
	if err != nil {
		t.Fatal(err)
	}
	if got := out.Reservations[0].Instances[0].InstanceLifecycle; got != ec2types.InstanceLifecycleTypeCapacityBlock {
		t.Errorf("instance lifecycle %q, want capacity-block", got)
	}

	// Thirty minutes before the block's end EC2 reclaims its instances.
	if err := s.Clock().Advance(90*time.Minute + time.Second); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		out, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: inBlock})
		if err != nil {
			t.Fatal(err)
		}
		inst := out.Reservations[0].Instances[0]
		if inst.State.Name == ec2types.InstanceStateNameShuttingDown || inst.State.Name == ec2types.InstanceStateNameTerminated {
			if inst.StateReason == nil || aws.ToString(inst.StateReason.Code) != reasonCapacityBlockEnding.Code {
				t.Errorf("state reason %+v, want %s", inst.StateReason, reasonCapacityBlockEnding.Code)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("instance %s is %s half an hour before its block's end, want reclaimed", aws.ToString(inst.InstanceId), inst.State.Name)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// The block ends: it is expired and takes no launch.
	if err := s.Clock().Advance(30 * time.Minute); err != nil {
		t.Fatal(err)
	}
	states := map[string]string{}
	for _, r := range s.CapacityReservations() {
		states[r.ID] = r.State
	}
	if states[block.ID] != "expired" || states[later.ID] != "active" {
		t.Errorf("after two hours: states %v, want %s expired and %s active", states, block.ID, later.ID)
	}
}
