package catalog

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/tailor-project/tailor/apis/requirements"
	"github.com/tailor-project/tailor/apis/wellknown"
)

func TestOfferingMatches(t *testing.T) {
	withID := Offering{Zone: "us-east-1a", ZoneID: "use1-az1", CapacityType: wellknown.CapacityTypeSpot}
	withoutID := Offering{Zone: "us-east-1a", CapacityType: wellknown.CapacityTypeSpot}
	odcr := Offering{Zone: "us-east-1a", CapacityType: wellknown.CapacityTypeReserved, ReservationID: "cr-1", ReservationType: wellknown.CapacityReservationTypeDefault}
	block := Offering{Zone: "us-east-1a", CapacityType: wellknown.CapacityTypeReserved, ReservationID: "cr-3", ReservationType: wellknown.CapacityReservationTypeCapacityBlock}
	tests := []struct {
		name     string
		offering Offering
		reqs     requirements.Requirements
		want     bool
	}{
		{"no requirements", withID, requirements.NewRequirements(), true},
		{"zone allowed", withID, requirements.NewRequirements(requirements.NewRequirement(wellknown.ZoneLabel, corev1.NodeSelectorOpIn, "us-east-1a", "us-east-1b")), true},
		{"zone excluded", withID, requirements.NewRequirements(requirements.NewRequirement(wellknown.ZoneLabel, corev1.NodeSelectorOpNotIn, "us-east-1a")), false},
		{"capacity type excluded", withID, requirements.NewRequirements(requirements.NewRequirement(wellknown.CapacityTypeLabel, corev1.NodeSelectorOpIn, wellknown.CapacityTypeOnDemand)), false},
		{"zone id allowed", withID, requirements.NewRequirements(requirements.NewRequirement(wellknown.TopologyZoneIDLabel, corev1.NodeSelectorOpIn, "use1-az1")), true},
		{"zone id required but unknown", withoutID, requirements.NewRequirements(requirements.NewRequirement(wellknown.TopologyZoneIDLabel, corev1.NodeSelectorOpExists)), false},
		{"zone id excluded and unknown", withoutID, requirements.NewRequirements(requirements.NewRequirement(wellknown.TopologyZoneIDLabel, corev1.NodeSelectorOpNotIn, "use1-az1")), true},
		{"a block offering meets a capacity-block requirement", block, requirements.NewRequirements(requirements.NewRequirement(wellknown.CapacityReservationTypeLabel, corev1.NodeSelectorOpIn, wellknown.CapacityReservationTypeCapacityBlock)), true},
		{"an ODCR offering does not", odcr, requirements.NewRequirements(requirements.NewRequirement(wellknown.CapacityReservationTypeLabel, corev1.NodeSelectorOpIn, wellknown.CapacityReservationTypeCapacityBlock)), false},
		{"nor does a spot offering, whose node has no reservation", withID, requirements.NewRequirements(requirements.NewRequirement(wellknown.CapacityReservationTypeLabel, corev1.NodeSelectorOpIn, wellknown.CapacityReservationTypeCapacityBlock)), false},
		{"a block offering is kept out by NotIn", block, requirements.NewRequirements(requirements.NewRequirement(wellknown.CapacityReservationTypeLabel, corev1.NodeSelectorOpNotIn, wellknown.CapacityReservationTypeCapacityBlock)), false},
		{"a reservation id requirement", odcr, requirements.NewRequirements(requirements.NewRequirement(wellknown.CapacityReservationIDLabel, corev1.NodeSelectorOpIn, "cr-2")), false},
		{"other keys are not the offering's", withID, requirements.NewRequirements(requirements.NewRequirement(wellknown.ArchLabel, corev1.NodeSelectorOpIn, "s390x")), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.offering.Matches(tt.reqs); got != tt.want {
				t.Errorf("Matches(%v) = %t, want %t", tt.reqs, got, tt.want)
			}
		})
	}
}

func TestOfferingsCheapest(t *testing.T) {
	offerings := Offerings{
		{Zone: "a", CapacityType: "spot", Price: 0.05, PriceKnown: true, Available: false},
		{Zone: "b", CapacityType: "spot", Price: 0.07, PriceKnown: false, Available: true},
		{Zone: "c", CapacityType: "spot", Price: 0.07, PriceKnown: true, Available: true},
		{Zone: "a", CapacityType: "on-demand", Price: 0.10, PriceKnown: true, Available: true},
		{Zone: "b", CapacityType: "on-demand", Price: 0.09, PriceKnown: true, Available: true},
	}
	tests := []struct {
		capacityType string
		wantZone     string
		wantOK       bool
	}{
		{"spot", "c", true},      // the cheaper offering in a is unavailable; c is priced, b is not
		{"on-demand", "b", true}, // plain price order
		{"reserved", "", false},
	}
	for _, tt := range tests {
		got, ok := offerings.Cheapest(tt.capacityType)
		if ok != tt.wantOK || got.Zone != tt.wantZone {
			t.Errorf("Cheapest(%s) = %+v, %t; want zone %q, %t", tt.capacityType, got, ok, tt.wantZone, tt.wantOK)
		}
	}
	if got := len(offerings.Available()); got != 4 {
		t.Errorf("Available() has %d offerings, want 4", got)
	}
}
