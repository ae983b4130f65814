package catalog

import (
	"fmt"
	"time"

	"k8s.io/utils/clock"
)

// Defaults of Options.
const (
	// DefaultVMMemoryOverheadFraction is the share of an instance's memory
	// that the guest does not see. Nitro instances lose a few percent of their
	// memory to the hypervisor and firmware; 7.5% covers the common types, so
	// a node never has less memory than the catalog promised.
	DefaultVMMemoryOverheadFraction = 0.075
	// DefaultUnavailableOfferingTTL is how long an offering EC2 refused for
	// lack of capacity is skipped: long enough not to retry into the same
	// shortage on the next decision, short enough to use capacity that
	// returns.
	DefaultUnavailableOfferingTTL = 3 * time.Minute
)

// Options tune a Provider. The zero value means the defaults.
type Options struct {
	// VMMemoryOverheadFraction is subtracted from each type's memory to get
	// the node's memory capacity; DefaultVMMemoryOverheadFraction when zero.
	VMMemoryOverheadFraction float64
	// UnavailableOfferingTTL is how long MarkUnavailable takes an offering
	// away; DefaultUnavailableOfferingTTL when zero.
	UnavailableOfferingTTL time.Duration
	// Clock tells the time for the TTL; the real clock when nil.
	Clock clock.PassiveClock
}

func (o Options) withDefaults() (Options, error) {
	if o.VMMemoryOverheadFraction == 0 {
		o.VMMemoryOverheadFraction = DefaultVMMemoryOverheadFraction
	}
	if o.VMMemoryOverheadFraction < 0 || o.VMMemoryOverheadFraction >= 1 {
		return o, fmt.Errorf("VM memory overhead fraction %v is not in [0, 1)", o.VMMemoryOverheadFraction)
	}
	if o.UnavailableOfferingTTL == 0 {
		o.UnavailableOfferingTTL = DefaultUnavailableOfferingTTL
	}
	if o.UnavailableOfferingTTL < 0 {
		return o, fmt.Errorf("unavailable offering TTL %v is negative", o.UnavailableOfferingTTL)
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	return o, nil
}
