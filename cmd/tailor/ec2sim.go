package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2/textlogger"

	"github.com/tailor-project/tailor/test/ec2sim"
)

// ec2SimFlags are the command line of `tailor ec2sim`.
type ec2SimFlags struct {
	listen            string
	kubeconfig        string
	opts              ec2sim.Options
	ice, notOffered   []string
	neverJoin         []string
	verbosity         int
	stateChangeEvents bool
}

func newEC2SimCommand() *cobra.Command {
	f := &ec2SimFlags{}
	cmd := &cobra.Command{
		Use:   "ec2sim",
		Short: "Run the EC2 simulator: EC2, SQS, SSM, Pricing, IAM and STS on one endpoint, with instances that join a cluster",
		Long: `Run the EC2 simulator, a simulated AWS account on one HTTP endpoint for the aws-sdk-go-v2
clients of EC2, SQS, SSM, Pricing, IAM and STS (point them at it with AWS_ENDPOINT_URL).
Instances it launches read their user data and register Nodes in the cluster of --kubeconfig,
annotated for kwok. Spot prices, spot capacity and the VPC are simulated; instance types and
on-demand prices are real (us-east-1). Faults are set with flags and at runtime under /_sim/.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runEC2Sim(cmd, f)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&f.listen, "listen", "127.0.0.1:4566", "address to serve on")
	fs.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig of the cluster instances join; without it they never join")
	fs.StringVar(&f.opts.ClusterName, "cluster-name", ec2sim.DefaultClusterName, "cluster whose karpenter.sh/discovery tag the subnets and security group carry, and that nodes join")
	fs.StringVar(&f.opts.AccountID, "account-id", ec2sim.DefaultAccountID, "the simulated AWS account")
	fs.DurationVar(&f.opts.BootDelay, "boot-delay", ec2sim.DefaultBootDelay, "simulated time an instance stays pending before it runs and joins")
	fs.DurationVar(&f.opts.ShutdownDelay, "shutdown-delay", ec2sim.DefaultShutdownDelay, "simulated time an instance stays shutting-down before it is terminated")
	fs.StringVar(&f.opts.QueueName, "queue", "tailor-interruptions", "SQS queue the simulator creates and delivers EventBridge events to; empty for none")
	fs.BoolVar(&f.stateChangeEvents, "state-change-events", true, "deliver an EC2 Instance State-change Notification for every state an instance enters")
	fs.Float64Var(&f.opts.ClockScale, "clock-scale", 1, "how many times faster than real time the simulated clock runs")
	fs.StringArrayVar(&f.ice, "ice", nil, "instance-type:zone:capacity-type with no capacity (InsufficientInstanceCapacity); parts may be empty or *; repeatable")
	fs.StringArrayVar(&f.notOffered, "not-offered", nil, "instance-type:zone not offered (Unsupported, left out of DescribeInstanceTypeOfferings); repeatable")
	fs.StringArrayVar(&f.neverJoin, "never-join", nil, "instance-type:zone:capacity-type whose instances run but never join the cluster; repeatable")
	fs.Float64Var(&f.opts.Faults.ThrottleRate, "throttle-rate", 0, "fraction of EC2 calls refused with RequestLimitExceeded, in [0, 1]")
	fs.Uint64Var(&f.opts.Seed, "seed", 0, "seed of ids and throttling decisions; 0 for a random one")
	fs.IntVarP(&f.verbosity, "v", "v", 0, "log verbosity; 1 logs every request (never bodies or credentials)")
	return cmd
}

func runEC2Sim(cmd *cobra.Command, f *ec2SimFlags) error {
	opts := f.opts
	if opts.BootDelay == 0 {
		// --boot-delay=0s asks for none, not for the default.
		opts.BootDelay = ec2sim.NoBootDelay
	}
	opts.StateChangeEvents = f.stateChangeEvents
	opts.Log = textlogger.NewLogger(textlogger.NewConfig(textlogger.Verbosity(f.verbosity), textlogger.Output(cmd.ErrOrStderr())))
	for _, list := range []struct {
		flag  string
		specs []string
		dst   *[]ec2sim.Pool
	}{
		{"--ice", f.ice, &opts.Faults.InsufficientCapacity},
		{"--not-offered", f.notOffered, &opts.Faults.NotOffered},
		{"--never-join", f.neverJoin, &opts.Faults.NeverJoin},
	} {
		for _, spec := range list.specs {
			p, err := ec2sim.ParsePool(spec)
			if err != nil {
				return fmt.Errorf("%s: %w", list.flag, err)
			}
			*list.dst = append(*list.dst, p)
		}
	}
	if f.kubeconfig != "" {
		cfg, err := clientcmd.BuildConfigFromFlags("", f.kubeconfig)
		if err != nil {
			return fmt.Errorf("loading --kubeconfig %s: %w", f.kubeconfig, err)
		}
		opts.KubeConfig = cfg
	} else {
		opts.Log.Info("No --kubeconfig: instances will run but never join a cluster")
	}
	sim, err := ec2sim.New(opts)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := sim.Start(ctx, f.listen); err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "export AWS_ENDPOINT_URL=%s AWS_REGION=%s AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s\n",
		sim.URL(), ec2sim.Region, ec2sim.FakeAccessKeyID, ec2sim.FakeSecretAccessKey)
	if q := sim.QueueURL(); q != "" {
		fmt.Fprintf(cmd.OutOrStdout(), "interruption queue: %s\n", q)
	}
	<-ctx.Done()
	sim.Stop()
	return nil
}
