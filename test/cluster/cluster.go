// Package cluster starts, for one end-to-end test, everything Tailor runs
// against: a real control plane (etcd, kube-apiserver,
// kube-controller-manager, kwok) and the EC2 simulator whose instances
// register their Nodes there. Every cluster has its own ports, directory and
// simulated account, so tests run in parallel.
package cluster

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/go-logr/logr/testr"
	"k8s.io/client-go/rest"

	"github.com/tailor-project/tailor/test/controlplane"
	"github.com/tailor-project/tailor/test/ec2sim"
)

// Defaults of Options: a short boot and shutdown, so that tests do not wait
// on simulated instances, and the queue name of the launcher's flag default.
const (
	DefaultBootDelay     = time.Second
	DefaultShutdownDelay = time.Second
	DefaultQueueName     = "tailor-interruptions"
)

// Options say how to build a test cluster.
type Options struct {
	// Simulator configures the simulated account. KubeConfig and Log are set
	// by Start; BootDelay, ShutdownDelay and QueueName default to the
	// constants above, and state-change events are delivered.
	Simulator ec2sim.Options
	// ControlPlane configures the control plane; ControllerManager and Kwok
	// are always on.
	ControlPlane controlplane.Options
}

// Cluster is a running control plane with the EC2 simulator attached.
type Cluster struct {
	// Config is an admin client configuration of the API server.
	Config *rest.Config
	// Kubeconfig is the path of an admin kubeconfig file, for processes.
	Kubeconfig string
	// Endpoint is the simulator's URL: what AWS_ENDPOINT_URL or an SDK
	// client's BaseEndpoint should be.
	Endpoint string
	// AWS configures SDK clients of the simulator: region us-east-1, static
	// fake credentials, the endpoint, and an HTTP client safe on loopback.
	AWS aws.Config
	// QueueURL is the interruption queue's URL.
	QueueURL string
	// ClusterName is the cluster the simulated account's resources are
	// tagged for (karpenter.sh/discovery).
	ClusterName string

	ControlPlane *controlplane.ControlPlane
	Simulator    *ec2sim.Simulator
}

// Start brings up a cluster for a test; t.Cleanup stops the simulator, then
// the control plane.
func Start(t testing.TB, opts Options) *Cluster {
	t.Helper()
	cpOpts := opts.ControlPlane
	cpOpts.ControllerManager, cpOpts.Kwok = true, true
	cp := controlplane.StartT(t, cpOpts)

	simOpts := opts.Simulator
	simOpts.KubeConfig = cp.Config
	simOpts.Log = testr.NewWithInterface(t, testr.Options{}).WithName("ec2sim")
	if simOpts.BootDelay == 0 {
		simOpts.BootDelay = DefaultBootDelay
	}
	if simOpts.ShutdownDelay == 0 {
		simOpts.ShutdownDelay = DefaultShutdownDelay
	}
	if simOpts.QueueName == "" {
		simOpts.QueueName = DefaultQueueName
	}
	simOpts.StateChangeEvents = true
	sim, err := ec2sim.New(simOpts)
	if err != nil {
		t.Fatalf("building the EC2 simulator: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := sim.Start(ctx, "127.0.0.1:0"); err != nil {
		cancel()
		t.Fatalf("starting the EC2 simulator: %v", err)
	}
	// Registered after the control plane's cleanup, so it runs first: the
	// simulator's kubelet stops before the API server goes away.
	t.Cleanup(func() {
		cancel()
		sim.Stop()
	})
	return &Cluster{
		Config:       cp.Config,
		Kubeconfig:   cp.Kubeconfig,
		Endpoint:     sim.URL(),
		AWS:          sim.SDKConfig(),
		QueueURL:     sim.QueueURL(),
		ClusterName:  sim.ClusterName(),
		ControlPlane: cp,
		Simulator:    sim,
	}
}
