package ec2sim

import (
	"hash/fnv"
	"math"
	"strconv"
	"time"
)

// Spot prices and capacity are simulated: AWS publishes no history the
// simulator could replay offline. Both are deterministic functions of the
// instance type, the zone and the hour, so every run and every client sees
// the same market.
const (
	// A pool's spot price is between these fractions of the type's
	// on-demand price: a base drawn per pool, plus a slow drift.
	spotMinFraction = 0.30
	spotMaxFraction = 0.70
	spotDrift       = 0.05
	// The price changes at most once per spotPriceStep, and drifts through
	// a cycle of spotMinPeriod to spotMinPeriod+spotPeriodSpread.
	spotPriceStep    = time.Hour
	spotMinPeriod    = 6 * time.Hour
	spotPeriodSpread = 18 * time.Hour
	// maxSpotDepth is the deepest simulated capacity pool.
	maxSpotDepth = 10
)

// unit hashes its parts into [0, 1). FNV alone leaves the high bits of
// similar inputs (the same type in two zones) close together; the
// finalizer of MurmurHash3 spreads every input bit over the whole word.
func unit(parts ...string) float64 {
	h := fnv.New64a()
	for _, p := range parts {
		_, _ = h.Write([]byte(p))
		_, _ = h.Write([]byte{0})
	}
	x := h.Sum64()
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return float64(x>>11) / (1 << 53)
}

// spotPrice is the simulated spot price of a type in a zone at t, in USD per
// hour, or false for a type without an on-demand price (and so no market).
func (s *Simulator) spotPrice(instanceType string, z zone, t time.Time) (float64, bool) {
	onDemand, ok := s.world.onDemand[instanceType]
	if !ok {
		return 0, false
	}
	return spotPriceAt(instanceType, z, onDemand, t), true
}

func spotPriceAt(instanceType string, z zone, onDemand float64, t time.Time) float64 {
	base := spotMinFraction + spotDrift + (spotMaxFraction-spotMinFraction-2*spotDrift)*unit("base", instanceType, z.ID)
	period := spotMinPeriod + time.Duration(unit("period", instanceType, z.ID)*float64(spotPeriodSpread))
	phase := 2 * math.Pi * unit("phase", instanceType, z.ID)
	step := t.Truncate(spotPriceStep)
	drift := spotDrift * math.Sin(2*math.Pi*float64(step.UnixNano())/float64(period)+phase)
	price := math.Round(onDemand*(base+drift)*1e4) / 1e4
	return max(price, 0.0001)
}

// spotDepth is the simulated depth of a spot pool, from 1 (shallow) to
// maxSpotDepth: what the capacity-optimized strategies prefer.
func spotDepth(instanceType string, z zone) int {
	return 1 + int(unit("depth", instanceType, z.ID)*maxSpotDepth)
}

// formatPrice writes a price as EC2 does, with six decimals.
func formatPrice(p float64) string {
	return strconv.FormatFloat(p, 'f', 6, 64)
}
