package main

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"

	launcheraws "github.com/tailor-project/tailor/launcher/aws"
	"github.com/tailor-project/tailor/launcher/catalog"
	"github.com/tailor-project/tailor/launcher/manager"
	"github.com/tailor-project/tailor/launcher/nodeclaim"
)

type launcherOptions struct {
	clusterName             string
	clusterEndpoint         string
	clusterCABundle         string
	clusterCIDR             string
	kubeconfig              string
	leaderElect             bool
	leaderElectionNamespace string
	healthProbeBindAddress  string
	metricsBindAddress      string
	registrationTTL         time.Duration
	interruptionQueue       string
}

func newLauncherCommand() *cobra.Command {
	o := &launcherOptions{}
	cmd := &cobra.Command{
		Use:   "launcher --cluster-name NAME",
		Short: "Turn NodeClaims into EC2 instances and Nodes, and take them away again",
		Long: `Run the launcher: it resolves EC2NodeClasses, launches an EC2 instance for every
NodeClaim the scheduler writes, links the Node that joins, drains and terminates nodes
whose NodeClaim or Node is deleted, and cleans up instances no NodeClaim accounts for.
With --interruption-queue it also reads the SQS queue of EC2 interruption events (spot
interruption warnings, scheduled changes, state changes, rebalance recommendations) and
moves pods off instances before EC2 takes them.

Every flag can also be set by an environment variable of its name in capitals with
underscores (--cluster-name: CLUSTER_NAME); a flag given on the command line wins.
AWS is reached through the standard SDK configuration: credentials, AWS_REGION, and
AWS_ENDPOINT_URL to point the launcher at the EC2 simulator.`,
		Args: cobra.NoArgs,
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			return flagsFromEnv(cmd.Flags())
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.run(ctrl.SetupSignalHandler())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.clusterName, "cluster-name", "", "name of the cluster, in tags and user data (required)")
	f.StringVar(&o.clusterEndpoint, "cluster-endpoint", "", "URL of the API server that nodes join; the one the launcher talks to when empty")
	f.StringVar(&o.clusterCABundle, "cluster-ca-bundle", "", "base64 of the cluster's PEM CA certificates, for nodes; the launcher's own when empty")
	f.StringVar(&o.clusterCIDR, "cluster-cidr", "", "service CIDR of the cluster, which AL2023 nodes are told (optional)")
	f.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig of the cluster; in-cluster configuration or $KUBECONFIG when empty")
	f.BoolVar(&o.leaderElect, "leader-elect", true, "run the controllers in one replica at a time")
	f.StringVar(&o.leaderElectionNamespace, "leader-election-namespace", "", "namespace of the leader election lease; the pod's own when empty, kube-system outside a pod")
	f.StringVar(&o.healthProbeBindAddress, "health-probe-bind-address", ":8081", "address of /healthz and /readyz; 0 turns them off")
	f.StringVar(&o.metricsBindAddress, "metrics-bind-address", ":8080", "address of /metrics; 0 turns it off")
	f.DurationVar(&o.registrationTTL, "registration-ttl", nodeclaim.DefaultRegistrationTTL, "how long a launched instance has to register its node before its NodeClaim is deleted")
	f.StringVar(&o.interruptionQueue, "interruption-queue", "", "SQS queue EventBridge sends EC2 interruption events to: its name (resolved with GetQueueUrl) or its URL; empty turns interruption handling off")
	return cmd
}

// flagsFromEnv sets every flag not given on the command line from the
// environment variable of its name: CLUSTER_NAME for --cluster-name.
func flagsFromEnv(flags *pflag.FlagSet) error {
	var errs []error
	flags.VisitAll(func(f *pflag.Flag) {
		if f.Changed {
			return
		}
		name := strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if value, ok := os.LookupEnv(name); ok {
			if err := f.Value.Set(value); err != nil {
				errs = append(errs, fmt.Errorf("environment variable %s: %w", name, err))
			}
		}
	})
	return errors.Join(errs...)
}

func (o *launcherOptions) run(ctx context.Context) error {
	ctrl.SetLogger(klog.NewKlogr())
	logger := klog.FromContext(ctx)
	if o.clusterName == "" {
		return errors.New("--cluster-name (or CLUSTER_NAME) is required")
	}
	restConfig, err := o.restConfig()
	if err != nil {
		return err
	}
	awsConfig, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("loading the AWS configuration: %w", err)
	}
	awsConfig.HTTPClient = launcheraws.LoopbackSafe(awsConfig.HTTPClient)
	if awsConfig.Region == "" {
		return errors.New("no AWS region: set AWS_REGION or a region in the AWS configuration")
	}
	ec2Client, pricingClient := launcheraws.NewClients(awsConfig, launcheraws.Endpoints{})
	source, err := launcheraws.NewSource(ec2Client, pricingClient, launcheraws.Options{Region: awsConfig.Region})
	if err != nil {
		return err
	}
	instanceTypes, err := catalog.New(source, catalog.Options{})
	if err != nil {
		return err
	}
	if o.leaderElect && o.leaderElectionNamespace == "" {
		o.leaderElectionNamespace = podNamespace()
	}
	opts := manager.Options{
		ClusterName:             o.clusterName,
		ClusterEndpoint:         o.clusterEndpoint,
		ClusterCABundle:         o.clusterCABundle,
		ClusterCIDR:             o.clusterCIDR,
		Region:                  awsConfig.Region,
		RegistrationTTL:         o.registrationTTL,
		LeaderElection:          o.leaderElect,
		LeaderElectionNamespace: o.leaderElectionNamespace,
		HealthProbeBindAddress:  o.healthProbeBindAddress,
		MetricsBindAddress:      o.metricsBindAddress,
		InterruptionQueue:       o.interruptionQueue,
	}
	// Nodes join the API server the launcher talks to unless told
	// otherwise: in the local cluster that is the kube-apiserver itself.
	if opts.ClusterEndpoint == "" {
		opts.ClusterEndpoint = restConfig.Host
	}
	if opts.ClusterCABundle == "" && len(restConfig.CAData) > 0 {
		opts.ClusterCABundle = base64.StdEncoding.EncodeToString(restConfig.CAData)
	}
	mgr, err := manager.New(restConfig, opts, manager.AWS{
		EC2:     ec2Client,
		SSM:     ssm.NewFromConfig(awsConfig),
		IAM:     iam.NewFromConfig(awsConfig),
		Catalog: instanceTypes,
		SQS:     sqs.NewFromConfig(awsConfig),
	})
	if err != nil {
		return err
	}
	logger.Info("Starting the launcher", "cluster", o.clusterName, "region", awsConfig.Region, "clusterEndpoint", opts.ClusterEndpoint,
		"interruptionQueue", opts.InterruptionQueue)
	return mgr.Start(ctx)
}

// restConfig reads --kubeconfig, or the in-cluster configuration or
// $KUBECONFIG; the CA is loaded into CAData so that nodes can be given it.
func (o *launcherOptions) restConfig() (*rest.Config, error) {
	var cfg *rest.Config
	var err error
	if o.kubeconfig != "" {
		cfg, err = clientcmd.BuildConfigFromFlags("", o.kubeconfig)
	} else {
		cfg, err = ctrl.GetConfig()
	}
	if err != nil {
		return nil, fmt.Errorf("reading the Kubernetes configuration: %w", err)
	}
	if len(cfg.CAData) == 0 && cfg.CAFile != "" {
		if cfg.CAData, err = os.ReadFile(cfg.CAFile); err != nil {
			return nil, fmt.Errorf("reading the cluster CA: %w", err)
		}
	}
	return cfg, nil
}

// serviceAccountNamespace is where a pod finds its own namespace.
const serviceAccountNamespace = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

// podNamespace is the launcher's namespace when it runs in a pod, and
// kube-system when it runs elsewhere (against the local cluster, say).
func podNamespace() string {
	if ns, err := os.ReadFile(serviceAccountNamespace); err == nil && len(strings.TrimSpace(string(ns))) > 0 {
		return strings.TrimSpace(string(ns))
	}
	return "kube-system"
}
