package tailor

import (
	"context"
	"fmt"

	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/events"
	"k8s.io/kubernetes/pkg/scheduler/apis/config"
	"k8s.io/kubernetes/pkg/scheduler/framework"
	frameworkruntime "k8s.io/kubernetes/pkg/scheduler/framework/runtime"
	"k8s.io/kubernetes/pkg/scheduler/metrics"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/launcher/catalog"
	"github.com/tailor-project/tailor/plugin/disruption"
	"github.com/tailor-project/tailor/plugin/simulate"
)

// DryRun is what a dry run of the disruption loop reads: the plugin is
// built over it with newTailor, which starts no loop and takes no Lease, so
// nothing acts on the cluster; the planner is the plugin's own Displace.
type DryRun struct {
	// Handle gives the informers (nodes, pods, DaemonSets, PDBs and what the
	// Filter plugins read) and the profile whose Filter plugins plan;
	// DryRunFramework builds one. Its informer factory is started here.
	Handle framework.Handle
	// Args are the plugin's; defaults fill what they leave out.
	Args *TailorArgs
	// Catalog prices the instance types.
	Catalog catalog.Catalog
	// Objects reads NodePools, NodeClaims and EC2NodeClasses.
	Objects client.Reader
	// Clock is when the budgets and consolidateAfter are judged; now when
	// nil.
	Clock clock.PassiveClock
}

// ExplainConsolidation says what the disruption loop's next pass would
// decide about consolidation, and why it would keep every other claim.
func ExplainConsolidation(ctx context.Context, d DryRun, opts disruption.ExplainOptions) (*disruption.Explanation, error) {
	args := &TailorArgs{}
	if d.Args != nil {
		args = d.Args.DeepCopy()
	}
	SetDefaults(args)
	if m := *args.Consolidation.MinSavings; m < 0 || m > 1 {
		return nil, fmt.Errorf("minSavings %v: must be between 0 and 1", m)
	}
	// No client: a dry run writes nothing, and the planner's Launch, the
	// only path that would, is never called.
	t := newTailor(d.Handle, args, d.Catalog, d.Objects, nil)
	factory := d.Handle.SharedInformerFactory()
	factory.Start(ctx.Done())
	for typ, synced := range factory.WaitForCacheSync(ctx.Done()) {
		if !synced {
			return nil, fmt.Errorf("reading the cluster: the %v informer did not sync: %w", typ, context.Cause(ctx))
		}
	}
	// What pods still wait for counts, as in a scheduler that just started:
	// the reservations recorded on the claims, adopted without withdrawing
	// or settling anything.
	var claims karpv1.NodeClaimList
	if err := d.Objects.List(ctx, &claims); err != nil {
		return nil, fmt.Errorf("listing NodeClaims: %w", err)
	}
	t.adopt(ctx, claims.Items)
	return disruption.Explain(ctx, t.dryRunEnv(d.Clock), opts)
}

// dryRunEnv is the disruption loop's Env without the means to act: no
// client, no recorder.
func (t *Tailor) dryRunEnv(clk clock.PassiveClock) disruption.Env {
	if clk == nil {
		clk = clock.RealClock{}
	}
	env := t.disruptionEnv()
	env.Client, env.Recorder, env.Clock = nil, nil, clk
	return env
}

// DryRunFramework builds a handle for a dry run: the default scheduler
// profile, over informers of cs (not started: ExplainConsolidation starts
// them once every informer it reads is registered). cfg may be nil.
func DryRunFramework(ctx context.Context, cs kubernetes.Interface, cfg *rest.Config) (framework.Framework, error) {
	prof, err := simulate.DefaultProfile()
	if err != nil {
		return nil, err
	}
	opts := []frameworkruntime.Option{
		frameworkruntime.WithInformerFactory(informers.NewSharedInformerFactory(cs, 0)),
		frameworkruntime.WithClientSet(cs),
		// Events are dropped: a dry run tells nobody anything.
		frameworkruntime.WithEventRecorder(&events.FakeRecorder{}),
		frameworkruntime.WithSnapshotSharedLister(simulate.NewSnapshot(nil, nil)),
	}
	if cfg != nil {
		opts = append(opts, frameworkruntime.WithKubeConfig(cfg))
	}
	// The framework records plugin metrics, which a scheduler registers;
	// Register is idempotent.
	metrics.Register()
	profile := &config.KubeSchedulerProfile{SchedulerName: "tailor-dry-run", Plugins: prof.Plugins, PluginConfig: prof.PluginConfig}
	fw, err := frameworkruntime.NewFramework(ctx, Registry, profile, opts...)
	if err != nil {
		return nil, fmt.Errorf("building the scheduler framework of the default profile: %w", err)
	}
	return fw, nil
}
