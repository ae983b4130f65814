package manager

import (
	"errors"
	"time"

	"k8s.io/utils/clock"
)

// Options configure the launcher.
type Options struct {
	// ClusterName names the cluster in tags and user data; required.
	ClusterName string
	// ClusterEndpoint and ClusterCABundle (base64 PEM) are where nodes find
	// the API server; required for every AMI family but Custom.
	ClusterEndpoint string
	ClusterCABundle string
	// ClusterCIDR is the service CIDR AL2023 nodes are told; optional.
	ClusterCIDR string
	// Region is the AWS region, which names instance profiles.
	Region string

	// RegistrationTTL is how long a node has to register after its launch.
	RegistrationTTL time.Duration
	// NotLaunchableBackoff is how long a claim that cannot be launched is
	// kept before it is deleted.
	NotLaunchableBackoff time.Duration
	// NodeClassRefreshInterval is how often node classes are resolved again.
	NodeClassRefreshInterval time.Duration
	// GarbageCollectionInterval and GarbageCollectionGracePeriod tune the
	// comparison of EC2 with the API server.
	GarbageCollectionInterval    time.Duration
	GarbageCollectionGracePeriod time.Duration

	// InterruptionQueue is the SQS queue EventBridge sends EC2 interruption
	// events to, by name (resolved with GetQueueUrl) or URL; empty turns
	// interruption handling off. AWS.SQS must be set with it.
	InterruptionQueue string
	// InterruptionWaitTime is the long poll of one receive from the queue;
	// interruption.DefaultWaitTime when zero.
	InterruptionWaitTime time.Duration

	// LeaderElection runs the controllers in one replica at a time.
	LeaderElection          bool
	LeaderElectionNamespace string
	// HealthProbeBindAddress and MetricsBindAddress are where /healthz,
	// /readyz and /metrics are served; "0" turns one off.
	HealthProbeBindAddress string
	MetricsBindAddress     string

	// Clock tells the time for TTLs and intervals; the real clock when nil.
	Clock clock.WithTicker
	// SeveralPerProcess lets more than one launcher run in a process, one
	// after the other, as tests that restart the launcher do; controller
	// names are otherwise unique per process, since they name metrics.
	SeveralPerProcess bool
}

func (o Options) validate() error {
	if o.ClusterName == "" {
		return errors.New("no cluster name")
	}
	if o.Region == "" {
		return errors.New("no AWS region")
	}
	return nil
}
