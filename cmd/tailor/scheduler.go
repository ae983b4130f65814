package main

import (
	"context"
	"fmt"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	cliflag "k8s.io/component-base/cli/flag"
	"k8s.io/component-base/cli/globalflag"
	basecompatibility "k8s.io/component-base/compatibility"
	"k8s.io/component-base/logs"
	logsapi "k8s.io/component-base/logs/api/v1"
	"k8s.io/component-base/term"
	"k8s.io/component-base/version/verflag"
	"k8s.io/klog/v2"
	"k8s.io/kubernetes/cmd/kube-scheduler/app"
	"k8s.io/kubernetes/cmd/kube-scheduler/app/options"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins"
	frameworkruntime "k8s.io/kubernetes/pkg/scheduler/framework/runtime"
	"sigs.k8s.io/scheduler-plugins/pkg/capacityscheduling"
	"sigs.k8s.io/scheduler-plugins/pkg/coscheduling"
	"sigs.k8s.io/scheduler-plugins/pkg/networkaware/networkoverhead"
	"sigs.k8s.io/scheduler-plugins/pkg/networkaware/topologicalsort"
	"sigs.k8s.io/scheduler-plugins/pkg/noderesources"
	"sigs.k8s.io/scheduler-plugins/pkg/noderesourcetopology"
	"sigs.k8s.io/scheduler-plugins/pkg/podstate"
	"sigs.k8s.io/scheduler-plugins/pkg/preemptiontoleration"
	"sigs.k8s.io/scheduler-plugins/pkg/qos"
	"sigs.k8s.io/scheduler-plugins/pkg/sysched"
	"sigs.k8s.io/scheduler-plugins/pkg/trimaran/loadvariationriskbalancing"
	"sigs.k8s.io/scheduler-plugins/pkg/trimaran/lowriskovercommitment"
	"sigs.k8s.io/scheduler-plugins/pkg/trimaran/peaks"
	"sigs.k8s.io/scheduler-plugins/pkg/trimaran/targetloadpacking"

	ctrl "sigs.k8s.io/controller-runtime"

	// The scheme of scheduler-plugins' args, so their pluginConfig decodes.
	_ "sigs.k8s.io/scheduler-plugins/apis/config/scheme"

	"github.com/tailor-project/tailor/plugin/tailor"
)

// outOfTree are the plugins the scheduler is built with besides the
// in-tree ones: Tailor and scheduler-plugins', so a profile may combine
// Tailor with, say, Coscheduling.
func outOfTree() frameworkruntime.Registry {
	return frameworkruntime.Registry{
		tailor.Name:                     tailor.New,
		capacityscheduling.Name:         capacityscheduling.New,
		coscheduling.Name:               coscheduling.New,
		loadvariationriskbalancing.Name: loadvariationriskbalancing.New,
		networkoverhead.Name:            networkoverhead.New,
		topologicalsort.Name:            topologicalsort.New,
		noderesources.AllocatableName:   noderesources.NewAllocatable,
		noderesourcetopology.Name:       noderesourcetopology.New,
		preemptiontoleration.Name:       preemptiontoleration.New,
		targetloadpacking.Name:          targetloadpacking.New,
		lowriskovercommitment.Name:      lowriskovercommitment.New,
		sysched.Name:                    sysched.New,
		peaks.Name:                      peaks.New,
		podstate.Name:                   podstate.New,
		qos.Name:                        qos.New,
	}
}

// schedulerOptions registers the out-of-tree plugins with the scheduler, and
// tells the Tailor plugin the whole registry, so its simulation runs the
// same plugins the profile does.
func schedulerOptions() []app.Option {
	registry := plugins.NewInTreeRegistry()
	var opts []app.Option
	for name, factory := range outOfTree() {
		registry[name] = factory
		opts = append(opts, app.WithPlugin(name, factory))
	}
	tailor.Registry = registry
	return opts
}

// newSchedulerCommand is kube-scheduler's command with the plugins compiled
// in, built from kube-scheduler's own options, Setup and Run. It is not
// app.NewSchedulerCommand because the Tailor plugin must learn the identity
// kube-scheduler's leader election runs as, which only Setup's result holds:
// only the leading replica may provision (plugin/tailor/leader.go).
func newSchedulerCommand() *cobra.Command {
	opts := options.NewOptions()
	plugins := schedulerOptions()
	cmd := &cobra.Command{
		Use:   "scheduler",
		Short: "Run kube-scheduler with the Tailor plugin (and scheduler-plugins') compiled in",
		Long: `Run kube-scheduler with the Tailor plugin compiled in. Enable it in a profile of a
KubeSchedulerConfiguration (see manifests/scheduler/): pods that set that profile's schedulerName and
fit on no node get NodeClaims decided for them. Every kube-scheduler flag applies.`,
		PersistentPreRunE: func(*cobra.Command, []string) error {
			// Feature gates are set before anything reads them.
			return opts.ComponentGlobalsRegistry.Set()
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runScheduler(cmd, opts, plugins)
		},
		Args: cobra.NoArgs,
	}
	flags := opts.Flags
	verflag.AddFlags(flags.FlagSet("global"))
	globalflag.AddGlobalFlags(flags.FlagSet("global"), cmd.Name(), logs.SkipLoggingConfigurationFlags())
	for _, f := range flags.FlagSets {
		cmd.Flags().AddFlagSet(f)
	}
	cols, _, _ := term.TerminalSize(cmd.OutOrStdout())
	cliflag.SetUsageAndHelpFunc(cmd, *flags, cols)
	return cmd
}

// runScheduler sets kube-scheduler up, tells the plugin the leader election
// it runs under, and runs it until a signal.
func runScheduler(cmd *cobra.Command, opts *options.Options, plugins []app.Option) error {
	verflag.PrintAndExitIfRequested()
	gates := opts.ComponentGlobalsRegistry.FeatureGateFor(basecompatibility.DefaultKubeComponent)
	if err := logsapi.ValidateAndApply(opts.Logs, gates); err != nil {
		return fmt.Errorf("logging options: %w", err)
	}
	cliflag.PrintFlags(cmd.Flags())
	// The plugin's controller-runtime cache and client log through klog too.
	ctrl.SetLogger(klog.NewKlogr())
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	cc, sched, err := app.Setup(ctx, opts, plugins...)
	if err != nil {
		return err
	}
	if le := cc.LeaderElection; le != nil {
		cfg := cc.ComponentConfig.LeaderElection
		tailor.SetLeaderElection(le.Lock.Identity(), cfg.ResourceNamespace, cfg.ResourceName)
	}
	return app.Run(ctx, cc, sched)
}
