package disruption

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/klog/v2"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	pluginmetrics "github.com/tailor-project/tailor/plugin/metrics"
)

// Efficiency measures what the fleet costs against what Tailor would buy
// today for the same pods: the plan `tailor simulate` makes, taken by the
// provisioning path with every Tailor node away. The ratio tells an
// operator how much consolidation has left on the table (or cannot take,
// for budgets, do-not-disrupt pods and PDBs), which no single decision's
// event shows.
//
// It measures only a settled fleet: while a claim launches or goes, the
// pods in between would be counted on the wrong side.
type Efficiency struct {
	Env
	// Interval is the least time between two measurements; zero never
	// measures. A measurement plans every pod of the fleet afresh, a solve
	// as large as the cluster, so it runs far less often than a pass.
	Interval time.Duration

	last time.Time
}

// Reconcile measures, when the interval has passed since the last
// measurement.
func (e *Efficiency) Reconcile(ctx context.Context) error {
	if e.Interval == 0 {
		return nil
	}
	now := e.Clock.Now()
	if !e.last.IsZero() && now.Sub(e.last) < e.Interval {
		return nil
	}
	measured, why, err := e.measure(ctx)
	if err != nil {
		return err
	}
	if !measured {
		// Tried again next pass, so that a fleet that settles is measured
		// soon after.
		klog.FromContext(ctx).V(4).Info("Cost efficiency not measured", "why", why)
		return nil
	}
	e.last = now
	return nil
}

// measure sets the fleet's price, the fresh plan's and their ratio; it
// reports false, and why, when the fleet is not settled or the plan could
// not place every pod.
func (e *Efficiency) measure(ctx context.Context) (bool, string, error) {
	var claims karpv1.NodeClaimList
	if err := e.Objects.List(ctx, &claims); err != nil {
		return false, "", fmt.Errorf("listing NodeClaims: %w", err)
	}
	var nodes []string
	var fleet float64
	for i := range claims.Items {
		nc := &claims.Items[i]
		switch {
		case nc.DeletionTimestamp != nil:
			return false, "NodeClaim " + nc.Name + " is being deleted", nil
		case nc.Status.NodeName == "" || !meta.IsStatusConditionTrue(nc.Status.Conditions, karpv1.ConditionTypeInitialized):
			return false, "NodeClaim " + nc.Name + " is not initialized", nil
		}
		price, err := e.Planner.Price(ctx, nc)
		if err != nil {
			return false, "", fmt.Errorf("pricing NodeClaim %s: %w", nc.Name, err)
		}
		fleet += price
		nodes = append(nodes, nc.Status.NodeName)
	}
	if len(nodes) == 0 {
		pluginmetrics.FleetCost(0, 0)
		return true, "", nil
	}
	plan, err := e.Planner.Displace(ctx, nodes)
	if err != nil {
		return false, "", fmt.Errorf("planning the fleet's pods afresh: %w", err)
	}
	if len(plan.Unplaced) > 0 {
		return false, fmt.Sprintf("a fresh plan places %d of the fleet's pods nowhere", len(plan.Unplaced)), nil
	}
	pluginmetrics.FleetCost(fleet, plan.Price)
	klog.FromContext(ctx).V(2).Info("Cost efficiency measured", "nodeClaims", len(nodes), "pods", len(plan.Pods),
		"fleetPricePerHour", fleet, "planPricePerHour", plan.Price, "planNodeClaims", len(plan.Nodes))
	return true, "", nil
}
