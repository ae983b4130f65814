package manager

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/discovery"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	ctrlmanager "sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/launcher/catalog"
	"github.com/tailor-project/tailor/launcher/drift"
	"github.com/tailor-project/tailor/launcher/expiration"
	"github.com/tailor-project/tailor/launcher/fieldindex"
	"github.com/tailor-project/tailor/launcher/fleet"
	"github.com/tailor-project/tailor/launcher/garbagecollection"
	"github.com/tailor-project/tailor/launcher/instance"
	"github.com/tailor-project/tailor/launcher/interruption"
	"github.com/tailor-project/tailor/launcher/launchtemplate"
	"github.com/tailor-project/tailor/launcher/metrics"
	"github.com/tailor-project/tailor/launcher/nodeclaim"
	"github.com/tailor-project/tailor/launcher/nodeclass"
	"github.com/tailor-project/tailor/launcher/nodepool"
	"github.com/tailor-project/tailor/launcher/termination"
)

// EC2API is every EC2 call the launcher makes.
type EC2API interface {
	nodeclass.EC2API
	instance.EC2API
	launchtemplate.EC2API
	fleet.EC2API
}

var _ EC2API = &ec2.Client{}

// AWS are the clients and the catalog the launcher works with.
type AWS struct {
	EC2     EC2API
	SSM     nodeclass.SSMAPI
	IAM     nodeclass.IAMAPI
	Catalog catalog.Catalog
	// SQS reads the interruption queue; needed only with
	// Options.InterruptionQueue.
	SQS interruption.SQSAPI
}

// The AWS clients satisfy the interfaces.
var (
	_ nodeclass.SSMAPI = &ssm.Client{}
	_ nodeclass.IAMAPI = &iam.Client{}
)

// leaderElectionID names the lease replicas of the launcher compete for.
const leaderElectionID = "tailor-launcher"

// eventSource is the component events are recorded as.
const eventSource = "tailor-launcher"

// Scheme returns the types the launcher reads and writes.
func Scheme() (*runtime.Scheme, error) {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, karpv1.AddToScheme, ec2v1.AddToScheme} {
		if err := add(scheme); err != nil {
			return nil, err
		}
	}
	return scheme, nil
}

// New returns the launcher's manager, ready to Start.
func New(cfg *rest.Config, opts Options, clients AWS) (ctrl.Manager, error) {
	if err := opts.validate(); err != nil {
		return nil, fmt.Errorf("configuring the launcher: %w", err)
	}
	clk := opts.Clock
	if clk == nil {
		clk = clock.RealClock{}
	}
	scheme, err := Scheme()
	if err != nil {
		return nil, err
	}
	mgr, err := ctrl.NewManager(cfg, ctrlmanager.Options{
		Scheme:                        scheme,
		LeaderElection:                opts.LeaderElection,
		LeaderElectionID:              leaderElectionID,
		LeaderElectionNamespace:       opts.LeaderElectionNamespace,
		LeaderElectionReleaseOnCancel: true,
		HealthProbeBindAddress:        opts.HealthProbeBindAddress,
		Metrics:                       metricsserver.Options{BindAddress: opts.MetricsBindAddress},
		Controller:                    config.Controller{SkipNameValidation: ptr.To(opts.SeveralPerProcess)},
	})
	if err != nil {
		return nil, fmt.Errorf("creating the controller manager: %w", err)
	}
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return nil, err
	}
	if err := mgr.AddReadyzCheck("ping", healthz.Ping); err != nil {
		return nil, err
	}
	if err := fieldindex.Register(context.Background(), mgr.GetFieldIndexer()); err != nil {
		return nil, err
	}
	version, err := kubernetesVersion(cfg)
	if err != nil {
		return nil, err
	}

	kube := mgr.GetClient()
	recorder := mgr.GetEventRecorderFor(eventSource)
	instances := instance.NewProvider(clients.EC2, opts.ClusterName)
	templates := launchtemplate.NewProvider(clients.EC2, opts.ClusterName)
	launcher := &fleet.Launcher{
		EC2:         clients.EC2,
		Templates:   templates,
		Instances:   instances,
		Unavailable: clients.Catalog,
		Cluster: fleet.Cluster{
			Name: opts.ClusterName, Endpoint: opts.ClusterEndpoint, CABundle: opts.ClusterCABundle, CIDR: opts.ClusterCIDR,
		},
	}
	controllers := []interface{ SetupWithManager(ctrl.Manager) error }{
		&nodeclass.Controller{
			Client: kube,
			Resolver: &nodeclass.Resolver{
				EC2: clients.EC2, SSM: clients.SSM, IAM: clients.IAM,
				ClusterName: opts.ClusterName, Region: opts.Region, KubernetesVersion: version,
			},
			Templates:       templates,
			Recorder:        recorder,
			Clock:           clk,
			RefreshInterval: opts.NodeClassRefreshInterval,
		},
		&nodeclaim.Launch{
			Client: kube, Reader: mgr.GetAPIReader(), Catalog: clients.Catalog, Recorder: recorder,
			Launcher: measuredLauncher{controller: "nodeclaim.launch", launcher: launcher},
		},
		&nodeclaim.Registration{Client: kube, Recorder: recorder},
		&nodeclaim.Initialization{Client: kube, Recorder: recorder},
		&nodeclaim.Liveness{
			Client: kube, Recorder: recorder, Clock: clk,
			RegistrationTTL: opts.RegistrationTTL, NotLaunchableBackoff: opts.NotLaunchableBackoff,
		},
		&termination.NodeClaimTermination{
			Client: kube, Recorder: recorder,
			Instances: measuredInstances{controller: "nodeclaim.termination", instances: instances},
		},
		&termination.NodeTermination{
			Client: kube, Reader: mgr.GetAPIReader(), Recorder: recorder, Clock: clk,
			Instances: measuredInstances{controller: "node.termination", instances: instances},
			Drainer:   &termination.Drainer{Client: kube, Recorder: recorder, Clock: clk},
		},
		&drift.NodePoolHash{Client: kube},
		&drift.NodeClassHash{Client: kube},
		&drift.Drift{Client: kube, Networks: &drift.Networks{EC2: clients.EC2, Clock: clk}, Recorder: recorder},
		&expiration.Expiration{Client: kube, Recorder: recorder, Clock: clk},
		&expiration.CapacityBlockExpiration{Client: kube, Recorder: recorder, Clock: clk},
		&nodepool.Status{Client: kube, Recorder: recorder},
	}
	var interruptions *interruption.Controller
	if opts.InterruptionQueue != "" {
		interruptions = &interruption.Controller{
			SQS: clients.SQS, Queue: opts.InterruptionQueue, WaitTime: opts.InterruptionWaitTime,
			Unavailable: clients.Catalog, Recorder: recorder, Clock: clk,
		}
		controllers = append(controllers, interruptions)
	}
	for _, c := range controllers {
		if err := c.SetupWithManager(mgr); err != nil {
			return nil, fmt.Errorf("setting up %T: %w", c, err)
		}
	}
	if interruptions != nil {
		// Readiness only: a restart does not bring the queue back, and the
		// launcher works on without it.
		if err := mgr.AddReadyzCheck("interruption-queue", interruptions.Ready); err != nil {
			return nil, err
		}
	}
	collector := &garbagecollection.Collector{
		Client: kube, Recorder: recorder, Clock: clk,
		Instances: measuredInstances{controller: "garbagecollection", instances: instances},
		Interval:  opts.GarbageCollectionInterval, GracePeriod: opts.GarbageCollectionGracePeriod,
	}
	if err := mgr.Add(collector); err != nil {
		return nil, fmt.Errorf("adding garbage collection: %w", err)
	}
	metrics.Watch(metrics.Source{Reader: kube, Catalog: clients.Catalog})
	return mgr, nil
}

// kubernetesVersion returns a function that reads the cluster's minor
// version ("1.34") from the API server, which AMI aliases resolve against.
func kubernetesVersion(cfg *rest.Config) (func(context.Context) (string, error), error) {
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("creating a discovery client: %w", err)
	}
	return func(context.Context) (string, error) {
		info, err := dc.ServerVersion()
		if err != nil {
			return "", fmt.Errorf("reading the API server's version: %w", err)
		}
		minor := strings.TrimSuffix(info.Minor, "+")
		return info.Major + "." + minor, nil
	}, nil
}
