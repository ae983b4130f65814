package ec2sim

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"regexp"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/client-go/rest"
)

// Defaults of Options.
const (
	DefaultClusterName = "my-cluster"
	DefaultAccountID   = "123456789012"
	// DefaultBootDelay is how long an instance is pending: long enough for a
	// launcher to see it pending, short enough for a demo.
	DefaultBootDelay = 5 * time.Second
	// NoBootDelay as Options.BootDelay runs and joins an instance as soon
	// as it is launched.
	NoBootDelay time.Duration = -1
	// DefaultShutdownDelay is how long an instance is shutting-down (or
	// stopping) before it is terminated (stopped).
	DefaultShutdownDelay = 5 * time.Second
	// DefaultHypervisorMemoryFraction is the share of an instance type's
	// memory that a node does not see, because the hypervisor and firmware
	// keep it: real kubelets on Nitro report a few percent less than the
	// type's nominal memory.
	DefaultHypervisorMemoryFraction = 0.05
)

// Options configure a Simulator. The zero value is usable: every field has a
// default.
type Options struct {
	// ClusterName is the value of the karpenter.sh/discovery tag on the
	// seeded subnets and security group, and the cluster that nodes join.
	ClusterName string
	// AccountID is the simulated account, in ARNs, queue URLs and owner ids.
	AccountID string
	// KubeConfig reaches the API server where instances register their
	// Nodes. Without it instances run but never join a cluster.
	KubeConfig *rest.Config
	// BootDelay is the simulated time an instance stays pending;
	// DefaultBootDelay when zero, none when NoBootDelay.
	BootDelay time.Duration
	// ShutdownDelay is the simulated time an instance stays shutting-down
	// or stopping.
	ShutdownDelay time.Duration
	// QueueName names the SQS queue that EventBridge events (interruptions,
	// rebalance recommendations, scheduled changes, state changes) go to;
	// the simulator creates it. Empty means no events are delivered.
	QueueName string
	// StateChangeEvents delivers an "EC2 Instance State-change
	// Notification" for every state an instance enters, as the EventBridge
	// rule of Karpenter's interruption queue does.
	StateChangeEvents bool
	// ClockScale is how many times faster than real time the simulated
	// clock runs; 1 when zero.
	ClockScale float64
	// Faults are injected from the start; SetFaults changes them later.
	Faults Faults
	// HypervisorMemoryFraction is subtracted from an instance type's memory
	// to get its node's memory capacity; DefaultHypervisorMemoryFraction
	// when zero.
	HypervisorMemoryFraction float64
	// Seed makes ids and throttling decisions reproducible; zero picks a
	// random seed, so that a restarted simulator does not hand out the ids
	// of its previous run.
	Seed uint64
	// Log receives what the simulated account does: launches, boots,
	// joins, terminations, faults. Credentials, tokens and user data are
	// never logged.
	Log logr.Logger
}

var clusterNamePattern = regexp.MustCompile(`^[0-9A-Za-z][A-Za-z0-9\-_]{0,99}$`)

func (o Options) withDefaults() (Options, error) {
	if o.ClusterName == "" {
		o.ClusterName = DefaultClusterName
	}
	if !clusterNamePattern.MatchString(o.ClusterName) {
		return o, fmt.Errorf("cluster name %q is not a valid EKS cluster name", o.ClusterName)
	}
	if o.AccountID == "" {
		o.AccountID = DefaultAccountID
	}
	if len(o.AccountID) != 12 {
		return o, fmt.Errorf("account id %q does not have 12 digits", o.AccountID)
	}
	switch o.BootDelay {
	case 0:
		o.BootDelay = DefaultBootDelay
	case NoBootDelay:
		o.BootDelay = 0
	}
	if o.ShutdownDelay == 0 {
		o.ShutdownDelay = DefaultShutdownDelay
	}
	if o.BootDelay < 0 || o.ShutdownDelay < 0 {
		return o, fmt.Errorf("boot delay %s and shutdown delay %s may not be negative", o.BootDelay, o.ShutdownDelay)
	}
	if o.QueueName != "" && !queueNamePattern.MatchString(o.QueueName) {
		return o, fmt.Errorf("queue name %q is not a valid SQS queue name", o.QueueName)
	}
	if o.ClockScale == 0 {
		o.ClockScale = 1
	}
	if err := validScale(o.ClockScale); err != nil {
		return o, err
	}
	if o.HypervisorMemoryFraction == 0 {
		o.HypervisorMemoryFraction = DefaultHypervisorMemoryFraction
	}
	if o.HypervisorMemoryFraction < 0 || o.HypervisorMemoryFraction >= 1 {
		return o, fmt.Errorf("hypervisor memory fraction %v is not in [0, 1)", o.HypervisorMemoryFraction)
	}
	if err := o.Faults.Validate(); err != nil {
		return o, err
	}
	if o.Seed == 0 {
		var b [8]byte
		if _, err := rand.Read(b[:]); err != nil {
			return o, fmt.Errorf("seeding the simulator: %w", err)
		}
		o.Seed = binary.LittleEndian.Uint64(b[:])
	}
	if o.Log.GetSink() == nil {
		o.Log = logr.Discard()
	}
	return o, nil
}
