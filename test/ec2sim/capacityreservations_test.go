package ec2sim

import (
	"context"
	"net/http"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// TestDescribeCapacityReservations checks the filters Tailor selects
// reservations by: id, tags, owner and state.
func TestDescribeCapacityReservations(t *testing.T) {
	s := startSim(t, Options{})
	add := func(r CapacityReservation) string {
		t.Helper()
		got, err := s.AddCapacityReservation(r)
		if err != nil {
			t.Fatal(err)
		}
		return got.ID
	}
	a := add(CapacityReservation{InstanceType: "m5.large", AvailabilityZone: "us-east-1a", TotalInstanceCount: 2, Tags: map[string]string{"team": "a"}})
	b := add(CapacityReservation{InstanceType: "c5.large", AvailabilityZone: "us-east-1b", TotalInstanceCount: 1, Tags: map[string]string{"team": "b"}, OwnerID: "210987654321"})
	add(CapacityReservation{InstanceType: "m5.large", AvailabilityZone: "us-east-1a", TotalInstanceCount: 1, Tags: map[string]string{"team": "a"}, State: "expired"})
	if _, err := s.AddCapacityReservation(CapacityReservation{InstanceType: "m5.large", AvailabilityZone: "us-east-1a"}); err == nil {
		t.Error("a reservation of no instances was added")
	}
	c := ec2Client(s)
	active := ec2types.Filter{Name: aws.String("state"), Values: []string{"active"}}
	for _, tc := range []struct {
		name    string
		filters []ec2types.Filter
		want    []string
	}{
		{"by id", []ec2types.Filter{active, {Name: aws.String("capacity-reservation-id"), Values: []string{a}}}, []string{a}},
		{"by tags", []ec2types.Filter{active, {Name: aws.String("tag:team"), Values: []string{"a"}}}, []string{a}},
		{"by tag key", []ec2types.Filter{active, {Name: aws.String("tag-key"), Values: []string{"team"}}}, []string{a, b}},
		{"by owner", []ec2types.Filter{active, {Name: aws.String("owner-id"), Values: []string{"210987654321"}}}, []string{b}},
		{"other owner", []ec2types.Filter{active, {Name: aws.String("tag:team"), Values: []string{"a"}}, {Name: aws.String("owner-id"), Values: []string{"210987654321"}}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := c.DescribeCapacityReservations(context.Background(), &ec2.DescribeCapacityReservationsInput{Filters: tc.filters})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range out.CapacityReservations {
				got = append(got, aws.ToString(r.CapacityReservationId))
				if r.State != ec2types.CapacityReservationStateActive || aws.ToInt32(r.AvailableInstanceCount) != aws.ToInt32(r.TotalInstanceCount) {
					t.Errorf("%s: state %s, %d of %d available", aws.ToString(r.CapacityReservationId), r.State, aws.ToInt32(r.AvailableInstanceCount), aws.ToInt32(r.TotalInstanceCount))
				}
			}
			slices.Sort(got)
			slices.Sort(tc.want)
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
	_, err := c.DescribeCapacityReservations(context.Background(), &ec2.DescribeCapacityReservationsInput{CapacityReservationIds: []string{"cr-0000"}})
	wantAPIError(t, err, "InvalidCapacityReservationId.NotFound")
}

// TestCreateFleetIntoCapacityReservation checks that a launch template
// targeting a reservation launches into it until it is full, and then gets
// ReservationCapacityExceeded; a terminated instance gives its place back.
func TestCreateFleetIntoCapacityReservation(t *testing.T) {
	s := startSim(t, Options{})
	ctx := context.Background()
	r, err := s.AddCapacityReservation(CapacityReservation{InstanceType: "m5.large", AvailabilityZone: "us-east-1a", TotalInstanceCount: 2})
	if err != nil {
		t.Fatal(err)
	}
	c := ec2Client(s)
	seedTemplate(t, s, "plain", "")
	img := s.world.ssmParameters["/aws/service/eks/optimized-ami/1.34/amazon-linux-2023/x86_64/standard/recommended/image_id"]
	if _, err := c.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{
		LaunchTemplateName: aws.String("reserved"),
		LaunchTemplateData: &ec2types.RequestLaunchTemplateData{
			ImageId:          aws.String(img),
			SecurityGroupIds: []string{s.world.securityGroups[0].ID},
			CapacityReservationSpecification: &ec2types.LaunchTemplateCapacityReservationSpecificationRequest{
				CapacityReservationTarget: &ec2types.CapacityReservationTarget{CapacityReservationId: aws.String(r.ID)},
			},
		},
	}); err != nil {
		t.Fatal(err)
	}
	launch := func(template, zone string) *ec2.CreateFleetOutput {
		t.Helper()
		out, err := c.CreateFleet(ctx, fleetInput(s, template, ec2types.DefaultTargetCapacityTypeOnDemand, 1, []override{{instanceType: "m5.large", zone: zone}}, nil, nil))
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	var ids []string
	for range 2 {
		out := launch("reserved", "us-east-1a")
		if launched, errs := fleetSummary(s, out); len(launched) != 1 || len(errs) != 0 {
			t.Fatalf("launched %v, errors %v; want one instance", launched, errs)
		}
		ids = append(ids, out.Instances[0].InstanceIds[0])
	}
	if _, errs := fleetSummary(s, launch("reserved", "us-east-1a")); !slices.Equal(errs, []string{"m5.large@us-east-1a:on-demand:ReservationCapacityExceeded"}) {
		t.Errorf("a launch into the full reservation: errors %v, want ReservationCapacityExceeded", errs)
	}
	if _, errs := fleetSummary(s, launch("reserved", "us-east-1b")); len(errs) != 1 || errs[0] != "m5.large@us-east-1b:on-demand:InvalidParameterCombination" {
		t.Errorf("a launch into the reservation in another zone: errors %v, want InvalidParameterCombination", errs)
	}
	if launched, _ := fleetSummary(s, launch("plain", "us-east-1a")); len(launched) != 1 {
		t.Errorf("an on-demand launch beside the full reservation launched %v", launched)
	}
	desc, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: ids})
	if err != nil {
		t.Fatal(err)
	}
	for _, res := range desc.Reservations {
		for _, inst := range res.Instances {
			if aws.ToString(inst.CapacityReservationId) != r.ID {
				t.Errorf("instance %s: capacity reservation %q, want %s", aws.ToString(inst.InstanceId), aws.ToString(inst.CapacityReservationId), r.ID)
			}
		}
	}
	if got := s.CapacityReservations()[0].AvailableInstanceCount; got != 0 {
		t.Errorf("available %d, want 0", got)
	}
	if _, err := c.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: ids[:1]}); err != nil {
		t.Fatal(err)
	}
	if got := s.CapacityReservations()[0].AvailableInstanceCount; got != 1 {
		t.Errorf("after a termination: available %d, want 1", got)
	}
}

// TestAdminCapacityReservations adds and lists reservations over HTTP, as
// the README's curl example does.
func TestAdminCapacityReservations(t *testing.T) {
	s := startSim(t, Options{})
	var added CapacityReservation
	if code := admin(t, s, http.MethodPost, "/_sim/capacityreservations",
		`{"instanceType":"m5.large","availabilityZone":"us-east-1a","totalInstanceCount":2,"tags":{"team":"ml"}}`, &added); code != http.StatusCreated {
		t.Fatalf("POST /_sim/capacityreservations: %d", code)
	}
	if !reservationIDPattern.MatchString(added.ID) || added.AvailableInstanceCount != 2 || added.State != "active" || added.OwnerID == "" {
		t.Errorf("added %+v", added)
	}
	var errBody map[string]string
	if code := admin(t, s, http.MethodPost, "/_sim/capacityreservations", `{"instanceType":"m5.large","availabilityZone":"eu-west-1a","totalInstanceCount":1}`, &errBody); code != http.StatusBadRequest || errBody["error"] == "" {
		t.Errorf("a reservation in an unknown zone: %d %v", code, errBody)
	}
	var listed []CapacityReservation
	if code := admin(t, s, http.MethodGet, "/_sim/capacityreservations", "", &listed); code != http.StatusOK || len(listed) != 1 || listed[0].ID != added.ID {
		t.Errorf("GET /_sim/capacityreservations: %d %+v", code, listed)
	}
}
