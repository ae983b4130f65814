// Package metrics holds the launcher's Prometheus metrics, registered on
// controller-runtime's registry, which the manager serves on its metrics
// bind address. Where a metric means what one of Karpenter's means it has
// Karpenter's name, type and labels, so that Karpenter's dashboards and
// alerts work unchanged; Tailor's own are named tailor_.
package metrics

import (
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
)

// Karpenter's namespace, subsystems and label names.
const (
	karpenter = "karpenter"
	tailor    = "tailor"

	nodeClaimSubsystem     = "nodeclaims"
	nodeSubsystem          = "nodes"
	nodePoolSubsystem      = "nodepools"
	interruptionSubsystem  = "interruption"
	cloudProviderSubsystem = "cloudprovider"

	labelNodePool            = "nodepool"
	labelReason              = "reason"
	labelCapacityType        = "capacity_type"
	labelZone                = "zone"
	labelConsolidationPolicy = "consolidation_policy"
	labelTerminationMode     = "termination_mode"
	labelResourceType        = "resource_type"
	labelMessageType         = "message_type"
	labelController          = "controller"
	labelMethod              = "method"
	labelProvider            = "provider"
	labelError               = "error"
	labelInstanceType        = "instance_type"
	labelNodeName            = "node_name"
	labelNodeClaim           = "nodeclaim"
	labelArch                = "arch"
	labelOS                  = "os"
	labelRegion              = "region"
)

// Provider is the provider label of the cloudprovider metrics: the AWS
// provider of Karpenter reports "aws" too.
const Provider = "aws"

// Termination modes, as Karpenter labels disruptions.
const (
	// TerminationGraceful: the node is drained respecting PDBs and grace
	// periods without a deadline (consolidation, drift, emptiness).
	TerminationGraceful = "graceful"
	// TerminationForceful: the node goes whatever its pods say (an
	// interruption).
	TerminationForceful = "forceful"
	// TerminationEventual: the node is drained, but goes at the pool's
	// terminationGracePeriod at the latest (expiration).
	TerminationEventual = "eventual"
)

// DurationBuckets are Karpenter's buckets for durations of seconds to
// minutes; the same buckets keep its dashboards' quantiles comparable.
func DurationBuckets() []float64 {
	return []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0,
		1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30, 40, 50, 60, 120, 150, 300, 450, 600}
}

var (
	nodeClaimsTerminated = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: karpenter, Subsystem: nodeClaimSubsystem, Name: "terminated_total",
		Help: "Number of nodeclaims terminated in total by Karpenter. Labeled by the owning nodepool, capacity type, and zone.",
	}, []string{labelNodePool, labelCapacityType, labelZone})

	nodeClaimsDisrupted = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: karpenter, Subsystem: nodeClaimSubsystem, Name: "disrupted_total",
		Help: "Number of nodeclaims disrupted in total by Karpenter. Labeled by reason the nodeclaim was disrupted, the owning nodepool, the capacity type, the consolidation policy, and the termination mode.",
	}, []string{labelReason, labelNodePool, labelCapacityType, labelConsolidationPolicy, labelTerminationMode})

	nodesCreated = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: karpenter, Subsystem: nodeSubsystem, Name: "created_total",
		Help: "Number of nodes created in total by Karpenter. Labeled by owning nodepool and zone.",
	}, []string{labelNodePool, labelZone})

	nodesTerminated = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: karpenter, Subsystem: nodeSubsystem, Name: "terminated_total",
		Help: "Number of nodes terminated in total by Karpenter. Labeled by owning nodepool and zone.",
	}, []string{labelNodePool, labelZone})

	interruptionReceived = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: karpenter, Subsystem: interruptionSubsystem, Name: "received_messages_total",
		Help: "Count of messages received from the SQS queue. Broken down by message type and whether the message was actionable.",
	}, []string{labelMessageType})

	interruptionDeleted = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: karpenter, Subsystem: interruptionSubsystem, Name: "deleted_messages_total",
		Help: "Count of messages deleted from the SQS queue.",
	})

	interruptionQueueDuration = prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: karpenter, Subsystem: interruptionSubsystem, Name: "message_queue_duration_seconds",
		Help:    "Amount of time an interruption message is on the queue before it is processed by karpenter.",
		Buckets: DurationBuckets(),
	})

	// Karpenter leaves these on the default buckets.
	cloudProviderDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: karpenter, Subsystem: cloudProviderSubsystem, Name: "duration_seconds",
		Help: "Duration of cloud provider method calls. Labeled by the controller, method name and provider.",
	}, []string{labelController, labelMethod, labelProvider})

	cloudProviderErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: karpenter, Subsystem: cloudProviderSubsystem, Name: "errors_total",
		Help: "Total number of errors returned from CloudProvider calls.",
	}, []string{labelController, labelMethod, labelProvider, labelError})
)

// collectors are the launcher's metrics but the cluster's, which need a
// source (Watch).
func collectors() []prometheus.Collector {
	return []prometheus.Collector{
		nodeClaimsTerminated, nodeClaimsDisrupted, nodesCreated, nodesTerminated,
		interruptionReceived, interruptionDeleted, interruptionQueueDuration,
		cloudProviderDuration, cloudProviderErrors,
	}
}

// Collectors are every metric of the launcher, for lint and for checking
// what dashboards query.
func Collectors() []prometheus.Collector {
	return append(collectors(), cluster)
}

func init() {
	crmetrics.Registry.MustRegister(Collectors()...)
}

// NodeClaimTerminated counts a claim whose instances are gone and whose
// finalizer was removed.
func NodeClaimTerminated(claim *karpv1.NodeClaim) {
	nodeClaimsTerminated.WithLabelValues(claim.Labels[wellknown.NodePoolLabel], claim.Labels[wellknown.CapacityTypeLabel], claim.Labels[wellknown.ZoneLabel]).Inc()
}

// NodeClaimDisrupted counts a claim the launcher deletes on its own
// account: expired or interrupted. policy is its pool's consolidation
// policy, empty when the pool is not known.
func NodeClaimDisrupted(claim *karpv1.NodeClaim, reason, policy, mode string) {
	nodeClaimsDisrupted.WithLabelValues(reason, claim.Labels[wellknown.NodePoolLabel], claim.Labels[wellknown.CapacityTypeLabel], policy, mode).Inc()
}

// NodeCreated counts a node linked to its claim for the first time.
func NodeCreated(claim *karpv1.NodeClaim) {
	nodesCreated.WithLabelValues(claim.Labels[wellknown.NodePoolLabel], claim.Labels[wellknown.ZoneLabel]).Inc()
}

// NodeTerminated counts a node whose finalizer was removed; the node's own
// labels say its pool and zone, as its claim may be gone already.
func NodeTerminated(labels map[string]string) {
	nodesTerminated.WithLabelValues(labels[wellknown.NodePoolLabel], labels[wellknown.ZoneLabel]).Inc()
}

// messageTypes are Karpenter's message_type values for Tailor's kinds of
// interruption message, so that a dashboard's filters keep working.
var messageTypes = map[string]string{
	"spot-interruption":        "spot_interrupted",
	"scheduled-change":         "scheduled_change",
	"state-change":             "instance_state_change",
	"rebalance-recommendation": "rebalance_recommendation",
	"no-op":                    "no_op",
}

// MessageType is Karpenter's name for a kind of interruption message.
func MessageType(kind string) string {
	if typ, ok := messageTypes[kind]; ok {
		return typ
	}
	return strings.ReplaceAll(kind, "-", "_")
}

// MessageReceived counts a message read from the interruption queue and
// how long it waited there since AWS emitted its event.
func MessageReceived(kind string, sent time.Time) {
	interruptionReceived.WithLabelValues(MessageType(kind)).Inc()
	if !sent.IsZero() {
		interruptionQueueDuration.Observe(time.Since(sent).Seconds())
	}
}

// MessageDeleted counts a message deleted from the interruption queue.
func MessageDeleted() { interruptionDeleted.Inc() }

// CloudProviderCall records one call to AWS on behalf of a controller:
// how long it took and, when it failed, the error's kind. Methods are
// Karpenter's CloudProvider methods (Create, Delete, Get, List), so that
// the two are compared like for like.
func CloudProviderCall(controller, method string, start time.Time, err error, kind func(error) string) {
	cloudProviderDuration.WithLabelValues(controller, method, Provider).Observe(time.Since(start).Seconds())
	if err != nil {
		cloudProviderErrors.WithLabelValues(controller, method, Provider, kind(err)).Inc()
	}
}
