package tailor_test

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// TestCostEfficiency: the disruption loop measures the settled fleet's
// price against a fresh plan for its pods. A node bought for three pods
// and left with one costs more than a fresh plan for that one; left with
// none, a fresh plan buys nothing.
func TestCostEfficiency(t *testing.T) {
	config := strings.Replace(schedulerConfig, "      catalog:", "      costEfficiencyInterval: 1s\n      catalog:", 1)
	e := newEnvWith(t, config, "01-nodepool-basic.yaml")
	// Consolidation would change the fleet under the measurement.
	e.consolidation("Never")
	claim, node := e.launchedWith("fleet", 3, owned)
	fleet := e.price(claim, node)

	e.deletePods("fleet-1", "fleet-2")
	plan := e.fleetCost(func(got fleetCost) bool {
		return got.fleet == fleet && got.plan > 0 && got.plan < fleet
	}, "a fleet of one $%.4f/h node left with one of its three pods", fleet)
	if want := plan / fleet; math.Abs(e.scrapedEfficiency()-want) > 1e-9 {
		t.Errorf("tailor_fleet_cost_efficiency is %v, want the plan's price over the fleet's, %v", e.scrapedEfficiency(), want)
	}

	e.deletePods("fleet-0")
	e.fleetCost(func(got fleetCost) bool {
		return got.fleet == fleet && got.plan == 0 && got.efficiency == 0
	}, "a fleet of one $%.4f/h node left with none of its pods", fleet)
}

type fleetCost struct{ fleet, plan, efficiency float64 }

// fleetCost waits for the fleet's cost metrics to satisfy ok, and returns
// the plan's price.
func (e *env) fleetCost(ok func(fleetCost) bool, what string, args ...any) float64 {
	e.t.Helper()
	var got fleetCost
	err := wait.PollUntilContextTimeout(e.ctx, 200*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		got = fleetCost{
			fleet:      scraped("tailor_fleet_price_per_hour", nil),
			plan:       scraped("tailor_fleet_plan_price_per_hour", nil),
			efficiency: e.scrapedEfficiency(),
		}
		return ok(got), nil
	})
	if err != nil {
		e.t.Fatalf("for "+what+": tailor_fleet_price_per_hour %v, tailor_fleet_plan_price_per_hour %v, tailor_fleet_cost_efficiency %v",
			append(args, got.fleet, got.plan, got.efficiency)...)
	}
	return got.plan
}

func (e *env) scrapedEfficiency() float64 { return scraped("tailor_fleet_cost_efficiency", nil) }
