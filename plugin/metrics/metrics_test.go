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
	"karpenter_voluntary_disruption_decisions_total":  {Type: dto.MetricType_COUNTER, Labels: "consolidation_type,decision,reason"},
	"karpenter_voluntary_disruption_eligible_nodes":   {Type: dto.MetricType_GAUGE, Labels: "reason"},
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
