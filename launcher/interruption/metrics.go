package interruption

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// Outcome is what became of a message.
type Outcome string

// Outcomes of a message.
const (
	// OutcomeHandled: the claims of its instances were acted on.
	OutcomeHandled Outcome = "handled"
	// OutcomeNoClaim: no NodeClaim owns its instances.
	OutcomeNoClaim Outcome = "no-claim"
	// OutcomeIgnored: it asks nothing, or its claims are already going.
	OutcomeIgnored Outcome = "ignored"
	// OutcomeDuplicate: another copy of its event is or was handled.
	OutcomeDuplicate Outcome = "duplicate"
	// OutcomeUnparseable: it is no event the launcher can read.
	OutcomeUnparseable Outcome = "unparseable"
	// OutcomeFailed: acting on it failed; SQS delivers it again.
	OutcomeFailed Outcome = "failed"
)

// messagesTotal counts the messages read, by kind and outcome; messages
// about instances no claim owns are only counted (and logged at V(1)).
var messagesTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
	Namespace: "tailor",
	Subsystem: "interruption",
	Name:      "messages_total",
	Help:      "Messages read from the interruption queue, by kind and by what became of them.",
}, []string{"kind", "outcome"})

func init() {
	metrics.Registry.MustRegister(messagesTotal)
}

// kindUnknown labels the messages that could not be read.
const kindUnknown Kind = "unknown"

func count(kind Kind, outcome Outcome) {
	messagesTotal.WithLabelValues(string(kind), string(outcome)).Inc()
}
