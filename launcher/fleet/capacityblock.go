package fleet

import (
	"github.com/tailor-project/tailor/apis/wellknown"
)

// oneReservationType keeps the reserved pools of the cheapest pool's
// reservation type, and says whether those are Capacity Blocks. EC2 fills a
// fleet from Capacity Blocks only when its DefaultTargetCapacityType is
// capacity-block and its templates' market type is too, which an ODCR's
// launch must not name: one request cannot hold both. Pools come cheapest
// first, so the claim's best offering decides.
func oneReservationType(candidates []pool) ([]pool, bool) {
	if len(candidates) == 0 {
		return candidates, false
	}
	block := isBlock(candidates[0])
	out := candidates[:0:0]
	for _, p := range candidates {
		if isBlock(p) == block {
			out = append(out, p)
		}
	}
	return out, block
}

func isBlock(p pool) bool {
	return p.offering.ReservationType == wellknown.CapacityReservationTypeCapacityBlock
}
