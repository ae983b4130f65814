package metrics

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/component-base/metrics/legacyregistry"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/plugin/solver"
	"github.com/tailor-project/tailor/test/scrape"
)

// karpenterMetrics are Karpenter's (v1) names, types and labels of the
// metrics the plugin reports as Karpenter's: a dashboard's query matches
// only if all three do.
var karpenterMetrics = map[string]scrape.Spec{
	"karpenter_nodeclaims_created_total":              {Type: dto.MetricType_COUNTER, Labels: "min_values_relaxed,nodepool,reason"},
	"karpenter_nodeclaims_disrupted_total":            {Type: dto.MetricType_COUNTER, Labels: "capacity_type,consolidation_policy,nodepool,reason,termination_mode"},
	"karpenter_pods_startup_duration_seconds":         {Type: dto.MetricType_SUMMARY, Labels: ""},
	"karpenter_scheduler_scheduling_duration_seconds": {Type: dto.MetricType_HISTOGRAM, Labels: "controller"},
	// The name before v1 (v1alpha5), which older dashboards read.
	"karpenter_provisioner_scheduling_duration_seconds": {Type: dto.MetricType_HISTOGRAM, Labels: ""},
	"karpenter_voluntary_disruption_decisions_total":    {Type: dto.MetricType_COUNTER, Labels: "consolidation_type,decision,reason"},
	"karpenter_voluntary_disruption_eligible_nodes":     {Type: dto.MetricType_GAUGE, Labels: "reason"},
}

// record gives every metric a sample, so that gathering shows them all.
func record(t *testing.T) {
	t.Helper()
	pool := &karpv1.NodePool{ObjectMeta: metav1.ObjectMeta{Name: "default"}}
	pool.Spec.Disruption.ConsolidationPolicy = "WhenEmptyOrUnderutilized"
	claim := &karpv1.NodeClaim{ObjectMeta: metav1.ObjectMeta{Name: "default-abc", Labels: map[string]string{
		wellknown.NodePoolLabel: "default", wellknown.CapacityTypeLabel: "spot",
	}}}
	NodeClaimCreated(ReasonProvisioned, "default")
	ReplacementsCreated(ReasonUnderutilized, []*solver.Node{{Pool: &solver.Pool{NodePool: pool}}}, 1)
	NodeClaimDisrupted(ReasonUnderutilized, claim, pool)
	Decided(true, ReasonUnderutilized, "single-node")
	Eligible(ReasonUnderutilized, 3)
	Scheduling(false)()
	Solve(true)()
	BatchClosed(10, 2*time.Second)
	WatchReservations(func() int { return 4 })
	FleetCost(2, 1.5)
	before := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{CreationTimestamp: metav1.NewTime(time.Now().Add(-time.Minute))}}
	after := before.DeepCopy()
	after.Status.Phase = corev1.PodRunning
	PodUpdated(before, after)
}

func TestLint(t *testing.T) {
	record(t)
	for _, c := range Collectors() {
		problems, err := testutil.CollectAndLint(c)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range problems {
			t.Errorf("%s: %s", p.Metric, p.Text)
		}
	}
}

// TestKarpenterNames: the metrics named like Karpenter's have its types and
// labels, Tailor's own are tailor_, and all are on the registry the
// scheduler serves.
func TestKarpenterNames(t *testing.T) {
	record(t)
	scrape.CheckNames(t, legacyregistry.DefaultGatherer, Collectors(), karpenterMetrics)
}

// TestFleetCost: the efficiency is the plan's price over the fleet's, and a
// fleet of nothing wastes nothing.
func TestFleetCost(t *testing.T) {
	for _, tc := range []struct {
		name        string
		fleet, plan float64
		want        float64
	}{
		{name: "fleet as cheap as a fresh plan", fleet: 1.25, plan: 1.25, want: 1},
		{name: "fleet costs a third more", fleet: 4, plan: 3, want: 0.75},
		{name: "no fleet", want: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			FleetCost(tc.fleet, tc.plan)
			for name, want := range map[string]float64{
				"tailor_fleet_price_per_hour":      tc.fleet,
				"tailor_fleet_plan_price_per_hour": tc.plan,
				"tailor_fleet_cost_efficiency":     tc.want,
			} {
				if got, _ := scrape.Value(legacyregistry.DefaultGatherer, name, nil); got != want {
					t.Errorf("%s = %v, want %v", name, got, want)
				}
			}
		})
	}
}

// TestSchedulingDurationBeforeV1: provisioning simulations are observed
// under Karpenter's name before v1 too, disruption's are not.
func TestSchedulingDurationBeforeV1(t *testing.T) {
	count := func() uint64 {
		families, err := legacyregistry.DefaultGatherer.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range families {
			if f.GetName() == "karpenter_provisioner_scheduling_duration_seconds" {
				return f.GetMetric()[0].GetHistogram().GetSampleCount()
			}
		}
		return 0
	}
	before := count()
	Scheduling(true)()
	if got := count(); got != before {
		t.Errorf("a disruption simulation was observed under the provisioner's name")
	}
	Scheduling(false)()
	if got := count(); got != before+1 {
		t.Errorf("observed %d provisioning simulations, want %d", got, before+1)
	}
}
