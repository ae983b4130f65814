package fleet_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/launcher/fleet"
	"github.com/tailor-project/tailor/launcher/launchtemplate"
	"github.com/tailor-project/tailor/launcher/nodeclass"
	"github.com/tailor-project/tailor/test/ec2sim"
)

// fleetRecorder is EC2 that keeps the CreateFleet requests it passes on.
type fleetRecorder struct {
	fleet.EC2API
	inputs []*ec2.CreateFleetInput
}

func (r *fleetRecorder) CreateFleet(ctx context.Context, in *ec2.CreateFleetInput, opts ...func(*ec2.Options)) (*ec2.CreateFleetOutput, error) {
	r.inputs = append(r.inputs, in)
	return r.EC2API.CreateFleet(ctx, in, opts...)
}

// templateRecorder keeps the specs of the templates a launch ensures.
type templateRecorder struct {
	fleet.Templates
	specs []launchtemplate.Spec
}

func (r *templateRecorder) Ensure(ctx context.Context, spec *launchtemplate.Spec) (launchtemplate.Template, error) {
	r.specs = append(r.specs, *spec)
	return r.Templates.Ensure(ctx, spec)
}

// TestLaunchIntoCapacityBlock launches into an ODCR and into a Capacity
// Block: only the block's launch has the capacity-block target capacity type
// and, in its template, the capacity-block market type, without which the
// simulator, as EC2, refuses it. A claim requiring the reservation type
// label gets only that type's reservation, and the instance says which it
// is in, also when found again.
func TestLaunchIntoCapacityBlock(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	odcr, err := w.sim.AddCapacityReservation(ec2sim.CapacityReservation{InstanceType: "m5.large", AvailabilityZone: "us-east-1a", TotalInstanceCount: 1})
	if err != nil {
		t.Fatal(err)
	}
	end := w.sim.Clock().Now().Add(6 * time.Hour)
	block, err := w.sim.AddCapacityReservation(ec2sim.CapacityReservation{InstanceType: "m5.large", AvailabilityZone: "us-east-1b", TotalInstanceCount: 1,
		ReservationType: "capacity-block", EndDate: end})
	if err != nil {
		t.Fatal(err)
	}
	w.class.Spec.CapacityReservationSelectorTerms = []ec2v1.CapacityReservationSelectorTerm{{ID: odcr.ID}, {ID: block.ID}}
	recorder := &fleetRecorder{EC2API: w.launcher.EC2}
	w.launcher.EC2 = recorder
	templates := &templateRecorder{Templates: w.launcher.Templates}
	w.launcher.Templates = templates
	r := &nodeclass.Resolver{EC2: w.ec2}
	reservations, _, err := r.CapacityReservations(ctx, w.class, w.sim.Clock().Now())
	if err != nil {
		t.Fatal(err)
	}
	w.class.Status.CapacityReservations = reservations

	for _, tc := range []struct {
		name, kind, wantReservation string
		wantTarget                  ec2types.DefaultTargetCapacityType
		wantMarket                  ec2types.MarketType
	}{
		{"an ODCR", wellknown.CapacityReservationTypeDefault, odcr.ID, ec2types.DefaultTargetCapacityTypeOnDemand, ""},
		{"a capacity block", wellknown.CapacityReservationTypeCapacityBlock, block.ID, ec2types.DefaultTargetCapacityTypeCapacityBlock, ec2types.MarketTypeCapacityBlock},
	} {
		t.Run(tc.name, func(t *testing.T) {
			claim := claimFor(tc.kind, in(wellknown.InstanceTypeLabel, "m5.large"), in(wellknown.CapacityTypeLabel, "reserved"),
				in(wellknown.CapacityReservationTypeLabel, tc.kind))
			req := w.request(t, claim)
			for _, it := range req.InstanceTypes {
				for _, o := range it.Offerings {
					if o.CapacityType != wellknown.CapacityTypeReserved || o.ReservationType != tc.kind {
						t.Errorf("offering %+v, want only reserved ones of type %s", o, tc.kind)
					}
				}
			}
			res, err := w.launcher.Launch(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			if inst := res.Instance; inst.CapacityReservationID != tc.wantReservation || inst.CapacityReservationType != tc.kind {
				t.Errorf("launched into %q (%s), want %s (%s)", inst.CapacityReservationID, inst.CapacityReservationType, tc.wantReservation, tc.kind)
			}
			in := recorder.inputs[len(recorder.inputs)-1]
			if got := in.TargetCapacitySpecification.DefaultTargetCapacityType; got != tc.wantTarget {
				t.Errorf("DefaultTargetCapacityType %s, want %s", got, tc.wantTarget)
			}
			// The simulator, as EC2, launches into a block only with the
			// template's market type capacity-block; that it launched says
			// the template has it, and here that only the block's has.
			if spec := templates.specs[len(templates.specs)-1]; spec.CapacityReservationID != tc.wantReservation || spec.CapacityBlock != (tc.wantMarket != "") {
				t.Errorf("template of reservation %q, capacity block %v; want %s, %v", spec.CapacityReservationID, spec.CapacityBlock, tc.wantReservation, tc.wantMarket != "")
			}
			found, err := w.launcher.Instances.ForNodeClaim(ctx, claim.Name)
			if err != nil || len(found) != 1 || found[0].CapacityReservationType != tc.kind {
				t.Errorf("found again: %+v, %v; want one of reservation type %s", found, err, tc.kind)
			}
		})
	}
}
