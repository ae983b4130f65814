package fleet_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/launcher/fleet"
	"github.com/tailor-project/tailor/launcher/nodeclass"
	"github.com/tailor-project/tailor/test/ec2sim"
)

// TestLaunchIntoCapacityReservation launches three m5.large claims that
// allow reserved and on-demand, against a class that selects a reservation
// of two m5.large in us-east-1a: two go into the reservation, the third
// finds it full and launches on-demand in the same attempt, and the
// reserved offering is taken away for a while.
func TestLaunchIntoCapacityReservation(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	cr, err := w.sim.AddCapacityReservation(ec2sim.CapacityReservation{InstanceType: "m5.large", AvailabilityZone: "us-east-1a", TotalInstanceCount: 2,
		Tags: map[string]string{"team": "ml"}})
	if err != nil {
		t.Fatal(err)
	}
	w.class.Spec.CapacityReservationSelectorTerms = []ec2v1.CapacityReservationSelectorTerm{{Tags: map[string]string{"team": "ml"}}}
	r := &nodeclass.Resolver{EC2: w.ec2, SSM: ssm.NewFromConfig(aws.Config{}), IAM: iam.NewFromConfig(aws.Config{})}
	reservations, unmatched, err := r.CapacityReservations(ctx, w.class, time.Now())
	if err != nil || len(unmatched) > 0 {
		t.Fatalf("resolving reservations: %v, unmatched %v", err, unmatched)
	}
	if len(reservations) != 1 || reservations[0].ID != cr.ID || reservations[0].InstanceType != "m5.large" || reservations[0].AvailabilityZone != "us-east-1a" {
		t.Fatalf("reservations %+v, want %s", reservations, cr.ID)
	}
	w.class.Status.CapacityReservations = reservations

	var got []string
	for i, name := range []string{"a", "b", "c"} {
		claim := claimFor(name, in(wellknown.InstanceTypeLabel, "m5.large"), in(wellknown.CapacityTypeLabel, "reserved", "on-demand"))
		res, err := w.launcher.Launch(ctx, w.request(t, claim))
		if err != nil {
			t.Fatalf("claim %s: %v", name, err)
		}
		inst := res.Instance
		got = append(got, inst.CapacityType)
		if i < 2 {
			if inst.CapacityType != wellknown.CapacityTypeReserved || inst.CapacityReservationID != cr.ID || inst.Zone != "us-east-1a" || res.Offering.ReservationID != cr.ID {
				t.Errorf("claim %s: %s in %s, reservation %q; want reserved in %s", name, inst.CapacityType, inst.Zone, inst.CapacityReservationID, cr.ID)
			}
			continue
		}
		if inst.CapacityType != wellknown.CapacityTypeOnDemand || inst.CapacityReservationID != "" {
			t.Errorf("claim %s: %s, reservation %q; want on-demand outside the full reservation", name, inst.CapacityType, inst.CapacityReservationID)
		}
		if len(res.Unavailable) != 1 || res.Unavailable[0].CapacityType != wellknown.CapacityTypeReserved || res.Unavailable[0].Reason != "ReservationCapacityExceeded" {
			t.Errorf("claim %s: unavailable %+v, want the reserved offering, ReservationCapacityExceeded", name, res.Unavailable)
		}
	}
	t.Logf("capacity types: %v", got)
	// The full reservation is unavailable now: a fourth claim goes
	// on-demand without trying it.
	req := w.request(t, claimFor("d", in(wellknown.InstanceTypeLabel, "m5.large"), in(wellknown.CapacityTypeLabel, "reserved", "on-demand")))
	for _, it := range req.InstanceTypes {
		for _, o := range it.Offerings {
			if o.CapacityType == wellknown.CapacityTypeReserved && o.Available {
				t.Errorf("reserved offering %+v still available", o)
			}
		}
	}
	// What EC2 says of the instances: two in the reservation.
	inReservation := 0
	for _, i := range w.sim.Instances() {
		if i.CapacityReservationID == cr.ID {
			inReservation++
		}
	}
	if inReservation != 2 {
		t.Errorf("%d instances in the reservation, want 2", inReservation)
	}
	// Found again (after a restart, say), an instance in the reservation is
	// reserved.
	found, err := w.launcher.Instances.ForNodeClaim(ctx, "a")
	if err != nil || len(found) != 1 || found[0].CapacityType != wellknown.CapacityTypeReserved || found[0].CapacityReservationID != cr.ID {
		t.Errorf("instances of claim a: %+v, %v; want one reserved in %s", found, err, cr.ID)
	}
}

// TestReservedOnlyClaimFindsReservationFull checks that a claim that allows
// only reserved capacity is not launched when the reservation is full.
func TestReservedOnlyClaimFindsReservationFull(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	cr, err := w.sim.AddCapacityReservation(ec2sim.CapacityReservation{InstanceType: "m5.large", AvailabilityZone: "us-east-1b", TotalInstanceCount: 1})
	if err != nil {
		t.Fatal(err)
	}
	w.class.Status.CapacityReservations = []ec2v1.CapacityReservation{{ID: cr.ID, InstanceType: "m5.large", AvailabilityZone: "us-east-1b", OwnerID: cr.OwnerID}}
	only := func(name string) error {
		claim := claimFor(name, in(wellknown.InstanceTypeLabel, "m5.large"), in(wellknown.CapacityTypeLabel, "reserved"))
		_, err := w.launcher.Launch(ctx, w.request(t, claim))
		return err
	}
	if err := only("a"); err != nil {
		t.Fatal(err)
	}
	err = only("b")
	if err == nil {
		t.Fatal("a second claim launched into a reservation of one")
	}
	var nl *fleet.NotLaunchableError
	if !errors.As(err, &nl) || nl.Reason != fleet.ReasonInsufficientCapacity {
		t.Fatalf("second claim: %v, want %s", err, fleet.ReasonInsufficientCapacity)
	}
}
