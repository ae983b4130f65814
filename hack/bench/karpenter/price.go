package main

import (
	"math"

	"sigs.k8s.io/karpenter/pkg/controllers/provisioning/scheduling"
)

// claimPrice is what a NodeClaim costs at its cheapest: the lowest price of
// an available offering, among all its instance type options, that the
// claim's requirements (zone, capacity type) admit. Tailor's solver prices
// a node the same way, so the two plans' sums compare.
func claimPrice(nc *scheduling.NodeClaim) float64 {
	best := math.Inf(1)
	for _, it := range nc.InstanceTypeOptions {
		for _, o := range it.Offerings.Available().Compatible(nc.Requirements) {
			best = math.Min(best, o.Price)
		}
	}
	return best
}

// planPrice is the sum of the claims' cheapest prices.
func planPrice(claims []*scheduling.NodeClaim) float64 {
	total := 0.0
	for _, nc := range claims {
		total += claimPrice(nc)
	}
	return total
}
