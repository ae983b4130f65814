// Package metrics holds the scheduler plugin's Prometheus metrics,
// registered on kube-scheduler's legacy registry, which the scheduler
// serves on its secure port's /metrics. Where a metric means what one of
// Karpenter's means it has Karpenter's name, type and labels, so that
// Karpenter's dashboards and alerts work unchanged; Tailor's own are
// named tailor_.
package metrics

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/component-base/metrics/legacyregistry"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/plugin/solver"
)

const (
	karpenter = "karpenter"
	tailor    = "tailor"

	labelNodePool            = "nodepool"
	labelReason              = "reason"
	labelMinValuesRelaxed    = "min_values_relaxed"
	labelCapacityType        = "capacity_type"
	labelConsolidationPolicy = "consolidation_policy"
	labelTerminationMode     = "termination_mode"
	labelController          = "controller"
	labelDecision            = "decision"
	labelConsolidationType   = "consolidation_type"
)

// Reasons a claim is created, as Karpenter labels them.
const (
	// ReasonProvisioned: for pending pods.
	ReasonProvisioned = "provisioned"
)

// Controllers that schedule, Karpenter's controller label of
// karpenter_scheduler_scheduling_duration_seconds.
const (
	ControllerProvisioner = "provisioner"
	ControllerDisruption  = "disruption"
)

// Disruption reasons, Karpenter's lower-cased DisruptionReasons.
const (
	ReasonUnderutilized = "underutilized"
	ReasonEmpty         = "empty"
	ReasonDrifted       = "drifted"
)

// Disruption decisions.
const (
	DecisionDelete  = "delete"
	DecisionReplace = "replace"
)

// terminationGraceful is how every voluntary disruption drains its node:
// through the Eviction API, respecting PDBs.
const terminationGraceful = "graceful"

// durationBuckets are Karpenter's buckets for durations of seconds to
// minutes.
func durationBuckets() []float64 {
	return []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0,
		1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30, 40, 50, 60, 120, 150, 300, 450, 600}
}

// summaryObjectives are Karpenter's quantiles of its summaries.
func summaryObjectives() map[float64]float64 {
	return map[float64]float64{0: 0.01, 0.5: 0.01, 0.9: 0.01, 0.99: 0.01, 1: 0.01}
}

var (
	nodeClaimsCreated = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: karpenter, Subsystem: "nodeclaims", Name: "created_total",
		Help: "Number of nodeclaims created in total by Karpenter. Labeled by reason the nodeclaim was created, the owning nodepool, and if min values was relaxed for this nodeclaim.",
	}, []string{labelReason, labelNodePool, labelMinValuesRelaxed})

	nodeClaimsDisrupted = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: karpenter, Subsystem: "nodeclaims", Name: "disrupted_total",
		Help: "Number of nodeclaims disrupted in total by Karpenter. Labeled by reason the nodeclaim was disrupted, the owning nodepool, the capacity type, the consolidation policy, and the termination mode.",
	}, []string{labelReason, labelNodePool, labelCapacityType, labelConsolidationPolicy, labelTerminationMode})

	podStartupDuration = prometheus.NewSummary(prometheus.SummaryOpts{
		Namespace: karpenter, Subsystem: "pods", Name: "startup_duration_seconds",
		Help:       "The time from pod creation until the pod is running.",
		Objectives: summaryObjectives(),
	})

	schedulingDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: karpenter, Subsystem: "scheduler", Name: "scheduling_duration_seconds",
		Help:    "Duration of scheduling simulations used for deprovisioning and provisioning in seconds.",
		Buckets: durationBuckets(),
	}, []string{labelController})

	disruptionDecisions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: karpenter, Subsystem: "voluntary_disruption", Name: "decisions_total",
		Help: "Number of disruption decisions performed. Labeled by disruption decision, reason, and consolidation type.",
	}, []string{labelDecision, labelReason, labelConsolidationType})

	eligibleNodes = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: karpenter, Subsystem: "voluntary_disruption", Name: "eligible_nodes",
		Help: "Number of nodes eligible for disruption by Karpenter. Labeled by disruption reason.",
	}, []string{labelReason})

	batchSize = prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: tailor, Subsystem: "batch", Name: "size",
		Help:    "Pods in a batch the plugin solved together.",
		Buckets: prometheus.ExponentialBuckets(1, 2, 14),
	})

	batchWait = prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: tailor, Subsystem: "batch", Name: "wait_seconds",
		Help:    "Time from the first pod joining a batch until the batch closed.",
		Buckets: durationBuckets(),
	})

	solveDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: tailor, Subsystem: "solver", Name: "duration_seconds",
		Help:    "Duration of the solver alone, without reading the cluster, by the controller that asked.",
		Buckets: durationBuckets(),
	}, []string{labelController})

	fleetPrice = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: tailor, Subsystem: "fleet", Name: "price_per_hour",
		Help: "Hourly price of the NodeClaims Tailor manages, at their launched offerings, when last measured.",
	})

	fleetPlanPrice = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: tailor, Subsystem: "fleet", Name: "plan_price_per_hour",
		Help: "Hourly price of what Tailor would buy today for the pods of its NodeClaims' nodes, planned afresh as tailor simulate plans, when last measured.",
	})

	fleetCostEfficiency = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: tailor, Subsystem: "fleet", Name: "cost_efficiency",
		Help: "tailor_fleet_plan_price_per_hour over tailor_fleet_price_per_hour: 1 when the fleet costs what a fresh plan would, lower as it costs more.",
	})

	schedulingDurationV1Alpha5 = prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: karpenter, Subsystem: "provisioner", Name: "scheduling_duration_seconds",
		Help:    "Duration of scheduling process in seconds. Karpenter's name before v1, for dashboards that still read it; karpenter_scheduler_scheduling_duration_seconds{controller=\"provisioner\"} observes the same.",
		Buckets: durationBuckets(),
	})

	reservationsHeld = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: tailor, Subsystem: "reservations", Name: "held",
		Help: "Pods holding a reservation of room on an in-flight or new node.",
	}, func() float64 {
		if f := ledgerSize.Load(); f != nil {
			return float64((*f)())
		}
		return 0
	})
)

// ledgerSize counts the reservations of the running plugin; a test may run
// several schedulers in one process over time, and the last one wins.
var ledgerSize atomic.Pointer[func() int]

// Collectors are every metric of the plugin, for lint and tests.
func Collectors() []prometheus.Collector {
	return []prometheus.Collector{
		nodeClaimsCreated, nodeClaimsDisrupted, podStartupDuration, schedulingDuration,
		disruptionDecisions, eligibleNodes, batchSize, batchWait, solveDuration, reservationsHeld,
		fleetPrice, fleetPlanPrice, fleetCostEfficiency, schedulingDurationV1Alpha5,
	}
}

func init() {
	legacyregistry.Registerer().MustRegister(Collectors()...)
}

// NodeClaimCreated counts a claim written; minValuesRelaxed is false as the
// solver never relaxes minValues.
func NodeClaimCreated(reason, nodePool string) {
	nodeClaimsCreated.WithLabelValues(reason, nodePool, "false").Inc()
}

// ReplacementsCreated counts the first n of a disruption plan's claims,
// which were written, with the disruption's reason, as Karpenter does.
func ReplacementsCreated(reason string, nodes []*solver.Node, n int) {
	for _, node := range nodes[:min(n, len(nodes))] {
		NodeClaimCreated(reason, node.Pool.Name())
	}
}

// NodeClaimDisrupted counts a claim a disruption method takes away, when
// it decides to: replaced claims count then, not when they finally go.
func NodeClaimDisrupted(reason string, nc *karpv1.NodeClaim, np *karpv1.NodePool) {
	var policy string
	if np != nil {
		policy = string(np.Spec.Disruption.ConsolidationPolicy)
	}
	nodeClaimsDisrupted.WithLabelValues(reason, nc.Labels[wellknown.NodePoolLabel], nc.Labels[wellknown.CapacityTypeLabel], policy, terminationGraceful).Inc()
}

// consolidationTypes are Karpenter's names of the consolidation methods.
var consolidationTypes = map[string]string{"single-node": "single", "multi-node": "multi"}

// Decided counts a disruption decision; method is the consolidation
// method, empty for other reasons.
func Decided(replaces bool, reason, method string) {
	decision := DecisionDelete
	if replaces {
		decision = DecisionReplace
	}
	typ, ok := consolidationTypes[method]
	if !ok {
		typ = method
	}
	disruptionDecisions.WithLabelValues(decision, reason, typ).Inc()
}

// Eligible sets how many nodes a disruption method may act on now.
func Eligible(reason string, n int) {
	eligibleNodes.WithLabelValues(reason).Set(float64(n))
}

// Scheduling measures one scheduling simulation (snapshot and solve):
// defer Scheduling(running)(). running means disruption: it plans with the
// running nodes' room.
func Scheduling(running bool) func() {
	start := time.Now()
	controller := ControllerProvisioner
	if running {
		controller = ControllerDisruption
	}
	return func() {
		took := time.Since(start).Seconds()
		schedulingDuration.WithLabelValues(controller).Observe(took)
		if !running {
			schedulingDurationV1Alpha5.Observe(took)
		}
	}
}

// FleetCost records a measurement of the fleet's cost efficiency: what its
// claims cost an hour and what a fresh plan for their pods would.
func FleetCost(fleet, plan float64) {
	fleetPrice.Set(fleet)
	fleetPlanPrice.Set(plan)
	efficiency := 1.0
	if fleet > 0 {
		efficiency = plan / fleet
	}
	fleetCostEfficiency.Set(efficiency)
}

// Solve measures the solver alone: defer Solve(running)().
func Solve(running bool) func() {
	start := time.Now()
	controller := ControllerProvisioner
	if running {
		controller = ControllerDisruption
	}
	return func() { solveDuration.WithLabelValues(controller).Observe(time.Since(start).Seconds()) }
}

// BatchClosed records a batch's size and how long it stayed open.
func BatchClosed(pods int, open time.Duration) {
	batchSize.Observe(float64(pods))
	batchWait.Observe(open.Seconds())
}

// WatchReservations makes tailor_reservations_held report count.
func WatchReservations(count func() int) { ledgerSize.Store(&count) }

// PodUpdated observes the startup duration of a pod that has just started
// running: once per pod, on the informer's update that made it Running.
func PodUpdated(oldObj, obj interface{}) {
	before, ok := oldObj.(*corev1.Pod)
	after, ok2 := obj.(*corev1.Pod)
	if !ok || !ok2 || before.Status.Phase == corev1.PodRunning || after.Status.Phase != corev1.PodRunning {
		return
	}
	podStartupDuration.Observe(time.Since(after.CreationTimestamp.Time).Seconds())
}
