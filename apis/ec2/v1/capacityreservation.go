package v1

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Values of CapacityReservation's ReservationType and State.
const (
	CapacityReservationTypeDefault       = "default"
	CapacityReservationTypeCapacityBlock = "capacity-block"
	CapacityReservationStateActive       = "active"
	CapacityReservationStateExpiring     = "expiring"
)

// CapacityBlockExpiryLead is how long before a Capacity Block's end its
// nodes are drained and no more are launched into it. EC2 starts reclaiming a
// block's instances 30 minutes before its end; Karpenter's AWS provider marks
// the block expiring and deletes its NodeClaims 40 minutes before the end, 10
// minutes ahead of EC2, in line with the interruption notice EC2 sends
// (capacityReservationExpirationPeriod in its apis/v1). Tailor does the same,
// so that pods move before the hardware goes.
const CapacityBlockExpiryLead = 40 * time.Minute

// BlockExpiring reports whether a capacity reservation is a Capacity Block
// whose end is within CapacityBlockExpiryLead of now: its nodes are to go
// before EC2 reclaims them, and no more are to be launched into it. An ODCR,
// or a block without an end, never expires this way.
func BlockExpiring(reservationType string, end *metav1.Time, now time.Time) bool {
	return reservationType == CapacityReservationTypeCapacityBlock && end != nil && !now.Before(end.Add(-CapacityBlockExpiryLead))
}
