package simulate

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/informers"
	clientset "k8s.io/client-go/kubernetes"
	"k8s.io/kubernetes/pkg/scheduler/apis/config"
	"k8s.io/kubernetes/pkg/scheduler/apis/config/latest"
	"k8s.io/kubernetes/pkg/scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/names"
	frameworkruntime "k8s.io/kubernetes/pkg/scheduler/framework/runtime"
	"k8s.io/kubernetes/pkg/scheduler/metrics"
)

// excluded are the plugins a planned node cannot be judged by; see the
// package doc for why.
var excluded = sets.New(
	names.NodeResourcesFit,
	names.NodeAffinity,
	names.VolumeBinding,
	names.DynamicResources,
	coscheduling,
)

// coscheduling is scheduler-plugins' gang plugin. Whether a gang may start
// is not a question of a node: Tailor decides it for the whole gang
// (plugin/gang), and Coscheduling's PreFilter would only repeat its quorum
// check against the real cluster, not the planned nodes.
const coscheduling = "Coscheduling"

// Profile is the part of a scheduler profile the simulation runs: its
// plugins (PreFilter, Filter and MultiPoint are read) and their args.
type Profile struct {
	Plugins *config.Plugins
	// PluginConfig holds the args of the plugins; a plugin without an entry
	// gets the default args of the default profile.
	PluginConfig []config.PluginConfig
	// Self is the plugin that runs the simulation, left out of it.
	Self string
}

// DefaultProfile is the default scheduler profile.
func DefaultProfile() (Profile, error) {
	cfg, err := latest.Default()
	if err != nil {
		return Profile{}, fmt.Errorf("reading the default scheduler configuration: %w", err)
	}
	return Profile{Plugins: cfg.Profiles[0].Plugins, PluginConfig: cfg.Profiles[0].PluginConfig}, nil
}

// Deps are what plugins need from the scheduler: listers of PVs, CSI nodes,
// storage classes, namespaces, and the plugin factories.
type Deps struct {
	Registry        frameworkruntime.Registry
	InformerFactory informers.SharedInformerFactory
	Client          clientset.Interface
}

// newFramework builds a framework that runs the profile's PreFilter and
// Filter plugins over snap. Multi-point plugins are expanded by the
// framework itself, which knows which phases each implements.
func newFramework(ctx context.Context, deps Deps, prof Profile, snap *Snapshot) (framework.Framework, error) {
	defaults, err := latest.Default()
	if err != nil {
		return nil, fmt.Errorf("reading the default scheduler configuration: %w", err)
	}
	skip := excluded.Clone().Insert(prof.Self)
	keep := func(in []config.Plugin) []config.Plugin {
		var out []config.Plugin
		for _, pl := range in {
			if _, known := deps.Registry[pl.Name]; known && !skip.Has(pl.Name) {
				out = append(out, pl)
			}
		}
		return out
	}
	plugins := &config.Plugins{
		MultiPoint: config.PluginSet{Enabled: keep(prof.Plugins.MultiPoint.Enabled)},
		PreFilter:  config.PluginSet{Enabled: keep(prof.Plugins.PreFilter.Enabled)},
		Filter:     config.PluginSet{Enabled: keep(prof.Plugins.Filter.Enabled)},
	}
	// Multi-point plugins bring their own queue sort and binder; otherwise
	// add them, since the framework insists on both. Neither is ever called.
	multi := sets.New[string]()
	for _, pl := range plugins.MultiPoint.Enabled {
		multi.Insert(pl.Name)
	}
	if !multi.Has(names.PrioritySort) {
		plugins.QueueSort.Enabled = []config.Plugin{{Name: names.PrioritySort}}
	}
	if !multi.Has(names.DefaultBinder) {
		plugins.Bind.Enabled = []config.Plugin{{Name: names.DefaultBinder}}
	}

	args := map[string]config.PluginConfig{}
	for _, pc := range defaults.Profiles[0].PluginConfig {
		args[pc.Name] = pc
	}
	for _, pc := range prof.PluginConfig {
		args[pc.Name] = pc
	}
	cfg := &config.KubeSchedulerProfile{SchedulerName: "tailor-simulation", Plugins: plugins}
	for _, pc := range args {
		if _, known := deps.Registry[pc.Name]; known && !skip.Has(pc.Name) {
			cfg.PluginConfig = append(cfg.PluginConfig, pc)
		}
	}
	// The framework records plugin metrics; in the scheduler they are
	// registered already, offline they are not. Register is idempotent.
	metrics.Register()
	fw, err := frameworkruntime.NewFramework(ctx, deps.Registry, cfg,
		frameworkruntime.WithSnapshotSharedLister(snap),
		frameworkruntime.WithInformerFactory(deps.InformerFactory),
		frameworkruntime.WithClientSet(deps.Client),
	)
	if err != nil {
		return nil, fmt.Errorf("building the simulation framework: %w", err)
	}
	return fw, nil
}
