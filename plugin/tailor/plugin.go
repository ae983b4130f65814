package tailor

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"
	"k8s.io/kubernetes/pkg/scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/names"
	"k8s.io/utils/clock"
	ctrlcache "sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	schedulingv1alpha1 "sigs.k8s.io/scheduler-plugins/apis/scheduling/v1alpha1"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	launcheraws "github.com/tailor-project/tailor/launcher/aws"
	"github.com/tailor-project/tailor/launcher/catalog"
	"github.com/tailor-project/tailor/plugin/disruption"
	"github.com/tailor-project/tailor/plugin/gang"
	pluginmetrics "github.com/tailor-project/tailor/plugin/metrics"
	"github.com/tailor-project/tailor/plugin/reservation"
	"github.com/tailor-project/tailor/plugin/simulate"
	"github.com/tailor-project/tailor/plugin/volumetopology"
)

// Name is the plugin's name in a scheduler profile.
const Name = "Tailor"

// Tailor is the plugin. See the package doc.
type Tailor struct {
	handle  framework.Handle
	args    *TailorArgs
	catalog catalog.Catalog
	ledger  *reservation.Ledger
	batcher *batcher

	// objects reads NodePools, NodeClaims and EC2NodeClasses, from cache
	// when the plugin runs in a scheduler; client writes NodeClaims.
	objects client.Reader
	client  client.Client
	// cache is objects' informers; nil when the plugin is built for a dry
	// run or a benchmark (newTailor), which start no loop.
	cache ctrlcache.Cache
	// registry builds the simulation framework: the same plugins the
	// scheduler was built with.
	registry simulate.Deps
	// gangs reads the PodGroups of a batch's gangs (gangs.go).
	gangs gang.Source
	// volumes reads where pods' volumes are (world.go).
	volumes volumetopology.Reader

	// disruption is the disruption loop; it runs in the replica that holds
	// the disruption Lease.
	disruption *disruption.Controller
	// lastReading is the world the last disruption search read, for the
	// next one while nothing changed (reading.go).
	lastReading lastReading

	// ready closes once the caches synced and the ledger was rebuilt from
	// the claims; no batch is solved before, so a restarted scheduler does
	// not buy again what it bought before.
	ready chan struct{}

	// retries holds the pods whose provisioning failed, each with its own
	// backoff (retry.go).
	retries *retryQueue

	mu sync.Mutex
	// explained remembers the last thing each pod was told, so an event is
	// sent once per change, not once per attempt, and the pods Tailor
	// refused can be decided again when a pool changes.
	explained map[types.UID]explanation
	// lostRoom remembers the claim each pod lost its room on (reconcile.go).
	lostRoom map[types.UID]string
	// shortTypes remembers, per pod, the instance types whose nodes came
	// up unable to take it even empty (shortnodes.go).
	shortTypes map[types.UID][]string
	// binding holds the pods whose reservation Reserve consumed, until
	// their binding shows or fails: they hold no reservation meanwhile, yet
	// are not pending (reserve.go).
	binding sync.Map
	// heldOn remembers the claims this replica held room on (holds.go).
	heldOn map[string]bool
	// gangBackoff is when each gang that timed out may be provided for
	// again (gangexpiry.go).
	gangBackoff map[gang.Key]time.Time
	// profileChecked: the PostFilter order was compared with the setting.
	profileChecked bool

	// clock is the disruption loop's.
	clock clock.PassiveClock

	// leading: this replica holds kube-scheduler's Lease (leader.go).
	leading atomic.Bool

	// nodes counts the cluster's nodes, kept by the node informer, so
	// PreEnqueue can tell an empty cluster without listing.
	nodes atomic.Int64
}

var (
	_ framework.PostFilterPlugin  = &Tailor{}
	_ framework.FilterPlugin      = &Tailor{}
	_ framework.ScorePlugin       = &Tailor{}
	_ framework.ReservePlugin     = &Tailor{}
	_ framework.EnqueueExtensions = &Tailor{}
	_ framework.PreEnqueuePlugin  = &Tailor{}
)

// Scheme holds the types the plugin reads and writes.
func Scheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, karpv1.AddToScheme, ec2v1.AddToScheme, schedulingv1alpha1.AddToScheme} {
		if err := add(s); err != nil {
			return nil, fmt.Errorf("building the scheme: %w", err)
		}
	}
	return s, nil
}

// Registry is the set of plugin factories the scheduler binary was built
// with; cmd sets it so the simulation runs the same out-of-tree plugins.
var Registry = plugins.NewInTreeRegistry()

// registerKinds adds the karpenter kinds to client-go's scheme, which the
// scheduler's event recorder resolves objects with, so events on NodeClaims
// carry a proper reference.
var registerKinds = sync.OnceValue(func() error {
	for _, add := range []func(*runtime.Scheme) error{karpv1.AddToScheme, ec2v1.AddToScheme} {
		if err := add(clientgoscheme.Scheme); err != nil {
			return fmt.Errorf("registering the karpenter kinds for events: %w", err)
		}
	}
	return nil
})

// Option changes how the plugin is built.
type Option func(*Tailor)

// WithClock sets the disruption loop's clock, which budgets' schedules,
// consolidateAfter and validation are read by. Tests set it to a known
// day, so a budget window such as the seed's weekday 09:00 one applies
// predictably.
func WithClock(c clock.PassiveClock) Option {
	return func(t *Tailor) { t.clock = c }
}

// Factory is the plugin's factory, with options.
func Factory(opts ...Option) func(context.Context, runtime.Object, framework.Handle) (framework.Plugin, error) {
	return func(ctx context.Context, obj runtime.Object, h framework.Handle) (framework.Plugin, error) {
		return build(ctx, obj, h, opts)
	}
}

// New is the plugin's factory.
func New(ctx context.Context, obj runtime.Object, h framework.Handle) (framework.Plugin, error) {
	return build(ctx, obj, h, nil)
}

func build(ctx context.Context, obj runtime.Object, h framework.Handle, opts []Option) (framework.Plugin, error) {
	if err := registerKinds(); err != nil {
		return nil, err
	}
	args, err := decodeArgs(obj)
	if err != nil {
		return nil, err
	}
	logger := klog.FromContext(ctx).WithValues("plugin", Name)
	cat, err := newCatalog(ctx, args.Catalog)
	if err != nil {
		return nil, err
	}
	scheme, err := Scheme()
	if err != nil {
		return nil, err
	}
	// The scheduler talks protobuf, which custom resources do not speak.
	cfg := rest.CopyConfig(h.KubeConfig())
	cfg.ContentType = runtime.ContentTypeJSON
	cfg.AcceptContentTypes = runtime.ContentTypeJSON
	objects, err := ctrlcache.New(cfg, ctrlcache.Options{Scheme: scheme, ByObject: map[client.Object]ctrlcache.ByObject{}})
	if err != nil {
		return nil, fmt.Errorf("building the cache of NodePools, NodeClaims and EC2NodeClasses: %w", err)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, fmt.Errorf("building the client: %w", err)
	}
	t := newTailor(h, args, cat, objects, c)
	t.cache = objects
	if len(opts) > 0 {
		for _, o := range opts {
			o(t)
		}
		t.disruption = t.newDisruption()
	}
	t.batcher = newBatcher(args.BatchIdleDuration.Duration, args.BatchMaxDuration.Duration, t.provision)
	t.batcher.waitFor = t.gangsShort
	if err := t.watchClaims(ctx); err != nil {
		return nil, err
	}
	if err := t.watchPoolsAndClasses(ctx); err != nil {
		return nil, err
	}
	go func() {
		if err := objects.Start(ctx); err != nil {
			logger.Error(err, "The cache of NodePools, NodeClaims and EC2NodeClasses stopped")
		}
	}()
	go t.start(ctx)
	logger.Info("Tailor plugin ready to provision", "clusterName", args.ClusterName, "catalog", args.Catalog.Source,
		"batchIdleDuration", args.BatchIdleDuration.Duration, "batchMaxDuration", args.BatchMaxDuration.Duration,
		"provisionBeforePreemption", *args.ProvisionBeforePreemption)
	return t, nil
}

// newTailor builds the plugin over its parts without starting anything:
// New adds the caches and loops of a running scheduler; a dry run or a
// benchmark reads through objects as it is.
func newTailor(h framework.Handle, args *TailorArgs, cat catalog.Catalog, objects client.Reader, c client.Client) *Tailor {
	t := &Tailor{
		handle:      h,
		args:        args,
		catalog:     cat,
		ledger:      reservation.New(),
		objects:     objects,
		client:      c,
		registry:    simulate.Deps{Registry: Registry, InformerFactory: h.SharedInformerFactory(), Client: h.ClientSet()},
		ready:       make(chan struct{}),
		retries:     newRetryQueue(),
		explained:   map[types.UID]explanation{},
		lostRoom:    map[types.UID]string{},
		shortTypes:  map[types.UID][]string{},
		heldOn:      map[string]bool{},
		gangBackoff: map[gang.Key]time.Time{},
		clock:       clock.RealClock{},
	}
	// Register the informers the plugin reads before the scheduler starts
	// its factory.
	h.SharedInformerFactory().Core().V1().Nodes().Informer()
	h.SharedInformerFactory().Core().V1().Pods().Informer()
	h.SharedInformerFactory().Apps().V1().DaemonSets().Informer()
	h.SharedInformerFactory().Policy().V1().PodDisruptionBudgets().Informer()
	core := h.SharedInformerFactory().Core().V1()
	t.volumes = volumetopology.Reader{Claims: core.PersistentVolumeClaims().Lister(), Volumes: core.PersistentVolumes().Lister(),
		Classes: h.SharedInformerFactory().Storage().V1().StorageClasses().Lister()}
	t.gangs = gang.Source{PodGroups: objects, Pods: h.SharedInformerFactory().Core().V1().Pods().Lister(), Provided: t.nodeComing}
	t.disruption = t.newDisruption()
	return t
}

// start waits for the caches, rebuilds the ledger and runs the batcher.
func (t *Tailor) start(ctx context.Context) {
	logger := klog.FromContext(ctx).WithValues("plugin", Name)
	if !t.cache.WaitForCacheSync(ctx) {
		return
	}
	if err := t.rebuild(ctx); err != nil {
		logger.Error(err, "Rebuilding reservations from NodeClaims")
	}
	close(t.ready)
	pluginmetrics.WatchReservations(func() int { return len(t.ledger.All()) })
	go t.followLeaderElection(ctx)
	go t.runResync(ctx)
	go t.runRetries(ctx)
	go t.runDisruption(ctx)
	t.batcher.run(ctx)
}

// runDisruption runs the disruption loop in the one replica that holds the
// disruption Lease; see TailorArgs.DisruptionLease.
func (t *Tailor) runDisruption(ctx context.Context) {
	l := t.args.DisruptionLease
	lease := disruption.Lease{
		Namespace:     l.Namespace,
		Name:          l.Name,
		LeaseDuration: l.LeaseDuration.Duration,
		RenewDeadline: l.RenewDeadline.Duration,
		RetryPeriod:   l.RetryPeriod.Duration,
	}
	lease.Run(ctx, t.handle.ClientSet(), func(ctx context.Context) {
		t.disruption.Run(ctx, disruptionInterval)
	})
}

// newDisruption builds the disruption loop over the plugin's caches, with the
// plugin's own provisioning path as its planner.
func (t *Tailor) newDisruption() *disruption.Controller {
	return disruption.NewController(t.disruptionEnv())
}

// disruptionEnv is what the disruption loop reads and writes through: the
// plugin's caches, client and recorder, and the plugin as its planner.
func (t *Tailor) disruptionEnv() disruption.Env {
	informers := t.handle.SharedInformerFactory()
	return disruption.Env{
		Objects:      t.objects,
		Client:       t.client,
		Pods:         informers.Core().V1().Pods().Lister(),
		Nodes:        informers.Core().V1().Nodes().Lister(),
		Reservations: t.ledger,
		Recorder:     t.handle.EventRecorder(),
		Clock:        t.clock,
		Planner:      t,
		PDBs:         informers.Policy().V1().PodDisruptionBudgets().Lister(),
		// Read from the args, defaulted and validated.
		MinSavings:         *t.args.Consolidation.MinSavings,
		ValidationPeriod:   t.args.Consolidation.ValidationPeriod.Duration,
		EfficiencyInterval: t.args.CostEfficiencyInterval.Duration,
	}
}

// disruptionInterval is how often the disruption loop passes: often enough
// next to a consolidateAfter of a minute or more. A claim that starts being
// deleted wakes it at once.
const disruptionInterval = 5 * time.Second

// newCatalog builds the catalog the args name.
func newCatalog(ctx context.Context, args CatalogArgs) (catalog.Catalog, error) {
	var source catalog.Source
	switch args.Source {
	case CatalogSourceStatic:
		zones := make([]catalog.Zone, len(args.Zones))
		for i, z := range args.Zones {
			zones[i] = catalog.Zone{Name: z}
		}
		source = catalog.NewStaticSource(zones)
	default:
		var opts []func(*awsconfig.LoadOptions) error
		if args.Region != "" {
			opts = append(opts, awsconfig.WithRegion(args.Region))
		}
		cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
		if err != nil {
			return nil, fmt.Errorf("loading the AWS configuration: %w", err)
		}
		cfg.HTTPClient = launcheraws.LoopbackSafe(cfg.HTTPClient)
		ec2Client, pricingClient := launcheraws.NewClients(cfg, launcheraws.Endpoints{EC2: args.Endpoint, Pricing: args.Endpoint})
		src, err := launcheraws.NewSource(ec2Client, pricingClient, launcheraws.Options{Region: cfg.Region})
		if err != nil {
			return nil, fmt.Errorf("building the EC2 catalog: %w", err)
		}
		source = src
	}
	return catalog.New(source, catalog.Options{})
}

// Name implements framework.Plugin.
func (t *Tailor) Name() string { return Name }

// checkProfileOrder warns once when the PostFilter order contradicts
// provisionBeforePreemption; see the package doc.
func (t *Tailor) checkProfileOrder(logger klog.Logger) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.profileChecked {
		return
	}
	t.profileChecked = true
	fw, ok := t.handle.(framework.Framework)
	if !ok {
		return
	}
	order := map[string]int{}
	for i, p := range fw.ListPlugins().PostFilter.Enabled {
		order[p.Name] = i
	}
	self, okSelf := order[Name]
	preempt, okPreempt := order[names.DefaultPreemption]
	if !okSelf || !okPreempt {
		return
	}
	if *t.args.ProvisionBeforePreemption && preempt < self {
		logger.Error(nil, "provisionBeforePreemption is set but DefaultPreemption runs before Tailor in the profile's PostFilter plugins: list Tailor first")
	}
	if !*t.args.ProvisionBeforePreemption && self < preempt {
		logger.Error(nil, "Tailor runs before DefaultPreemption in the profile's PostFilter plugins but provisionBeforePreemption is false: preemption still runs for pods Tailor provides for; set provisionBeforePreemption or list DefaultPreemption first")
	}
}

func podKey(p *corev1.Pod) string { return p.Namespace + "/" + p.Name }
