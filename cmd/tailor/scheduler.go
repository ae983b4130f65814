package main

import (
	"github.com/spf13/cobra"
	"k8s.io/kubernetes/cmd/kube-scheduler/app"
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

func newSchedulerCommand() *cobra.Command {
	cmd := app.NewSchedulerCommand(schedulerOptions()...)
	cmd.Use = "scheduler"
	cmd.Short = "Run kube-scheduler with the Tailor plugin (and scheduler-plugins') compiled in"
	cmd.Long = `Run kube-scheduler with the Tailor plugin compiled in. Enable it in a profile of a
KubeSchedulerConfiguration (see manifests/scheduler/): pods that set that profile's schedulerName and
fit on no node get NodeClaims decided for them. Every kube-scheduler flag applies.`
	return cmd
}
