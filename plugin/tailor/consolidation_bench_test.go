package tailor

import (
	"context"
	"fmt"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2"
	"k8s.io/kubernetes/pkg/scheduler/apis/config/latest"
	"k8s.io/kubernetes/pkg/scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins"
	frameworkruntime "k8s.io/kubernetes/pkg/scheduler/framework/runtime"
	"k8s.io/kubernetes/pkg/scheduler/metrics"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crfake "sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/yaml"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/requirements"
	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/launcher/catalog"
	"github.com/tailor-project/tailor/plugin/simulate"
	"github.com/tailor-project/tailor/plugin/solver"
	"github.com/tailor-project/tailor/test/workload"
)

// The fleet of BenchmarkConsolidationPass: Karpenter's diverse pods running
// on nodes of the seed's default NodePool, as the solver placed them.
const (
	benchNodes = 1000
	benchPods  = 10000
)

var benchZones = []catalog.Zone{{Name: "us-east-1a"}, {Name: "us-east-1b"}, {Name: "us-east-1c"}}

// benchFleet is the running fleet, built once per process: placing 10,000
// pods takes seconds, and every iteration starts from the same fleet.
var benchFleet = sync.OnceValues(func() (*fleetWorld, error) { return buildBenchFleet(benchNodes, benchPods) })

// fleetWorld is what the cluster holds before a pass.
type fleetWorld struct {
	pool   *karpv1.NodePool
	class  *ec2v1.EC2NodeClass
	nodes  []*corev1.Node
	claims []*karpv1.NodeClaim
	pods   []*corev1.Pod
}

// benchPool is the seed's default NodePool (c, m and r families, generation
// 6 and up, on-demand and spot, three zones), made to consolidate at once:
// consolidateAfter 0s; its limits (1,000 CPU) would not hold the fleet, and
// its budget that blocks weekday mornings would make the figure depend on
// the hour, so both go; 10% of the nodes may go at a time.
func benchPool() (*karpv1.NodePool, error) {
	data, err := os.ReadFile("testdata/01-nodepool-basic.yaml")
	if err != nil {
		return nil, err
	}
	np := &karpv1.NodePool{}
	if err := yaml.Unmarshal(data, np); err != nil {
		return nil, fmt.Errorf("reading the seed NodePool: %w", err)
	}
	np.UID = "default-pool-uid"
	np.Spec.Limits = nil
	np.Spec.Disruption.ConsolidateAfter = karpv1.MustParseNillableDuration("0s")
	np.Spec.Disruption.Budgets = []karpv1.Budget{{Nodes: "10%"}}
	return np, nil
}

func benchClass() (*ec2v1.EC2NodeClass, error) {
	data, err := os.ReadFile("testdata/03-ec2nodeclass-complete.yaml")
	if err != nil {
		return nil, err
	}
	class := &ec2v1.EC2NodeClass{}
	if err := yaml.Unmarshal(data, class); err != nil {
		return nil, fmt.Errorf("reading the seed EC2NodeClass: %w", err)
	}
	meta.SetStatusCondition(&class.Status.Conditions, metav1.Condition{Type: ec2v1.ConditionTypeReady, Status: metav1.ConditionTrue, Reason: "Ready"})
	return class, nil
}

// benchDiversePods are Karpenter's diverse pods, each kind made by its own
// ReplicaSet, so that every pod would come back when its node goes.
func benchDiversePods(n int) []*corev1.Pod {
	pods := workload.DiversePods(n)
	for i, p := range pods {
		kind := []string{"generic", "zonal-spread", "hostname-spread", "zonal-affinity", "anti-affinity"}[min(i*5/n, 4)]
		p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: kind, UID: types.UID(kind + "-uid"), Controller: ptrTo(true)}}
	}
	return pods
}

// buildBenchFleet lets the solver decide the fleet as provisioning would,
// then fits it into nodeCount nodes. For 10,000 pods the solver plans some
// 2,000 nodes, since the 2,000 pods anti-affine to each other by hostname
// need one each; the fleet runs the pods of two or three planned nodes (of
// one zone, where the plan fixed it) on one node each: the cheapest type of
// the pool that holds them, at its cheapest offering in the zone, every
// fourth as spot. So the pods keep the solver's packing and their zones,
// and the nodes are about as full as a fresh fleet's, with the room the
// sizes of instance types leave: the pass weighs some 160 candidates before
// it finds a node whose pods fit on the others. Only the hostname rules of
// the pods put together are broken, as they must be.
func buildBenchFleet(nodeCount, podCount int) (*fleetWorld, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	np, err := benchPool()
	if err != nil {
		return nil, err
	}
	class, err := benchClass()
	if err != nil {
		return nil, err
	}
	cat, err := catalog.New(catalog.NewStaticSource(benchZones), catalog.Options{})
	if err != nil {
		return nil, err
	}
	types, err := cat.InstanceTypes(ctx, np, class)
	if err != nil {
		return nil, err
	}
	pool := &solver.Pool{NodePool: np, Requirements: requirements.FromNodePool(np), InstanceTypes: types}
	prof, err := simulate.DefaultProfile()
	if err != nil {
		return nil, err
	}
	start := time.Now()
	snap := simulate.NewSnapshot(nil, nil)
	simulate.AddPlaceholders(snap, []*solver.Pool{pool})
	sim, err := simulate.New(ctx, simulate.OfflineDeps(), prof, snap)
	if err != nil {
		return nil, err
	}
	planned := solver.Solve(solver.Input{Pods: benchDiversePods(podCount), Pools: []*solver.Pool{pool}, Checker: sim, EmptyDomains: true})
	if len(planned.Unplaced) > 0 || len(planned.Nodes) < nodeCount {
		return nil, fmt.Errorf("the solver planned %d nodes and left %d pods unplaced", len(planned.Nodes), len(planned.Unplaced))
	}
	zoneOf := func(n *solver.Node) string {
		if z := n.Requirements.Get(wellknown.ZoneLabel); z.Len() == 1 {
			return z.Any()
		}
		return "~" // after every zone: joins whichever group it ends in
	}
	sort.SliceStable(planned.Nodes, func(i, j int) bool {
		a, b := planned.Nodes[i], planned.Nodes[j]
		if za, zb := zoneOf(a), zoneOf(b); za != zb {
			return za < zb
		}
		return a.Price > b.Price
	})
	groups := make([][]*solver.Node, nodeCount)
	for j, n := range planned.Nodes {
		g := j * nodeCount / len(planned.Nodes)
		groups[g] = append(groups[g], n)
	}
	w := &fleetWorld{pool: np, class: class}
	launched := time.Now().Add(-24 * time.Hour)
	for i, g := range groups {
		zone := ""
		var pods []*corev1.Pod
		for _, n := range g {
			if z := zoneOf(n); zone == "" && z != "~" {
				zone = z
			}
			pods = append(pods, n.Pods...)
		}
		node, nc, err := benchNode(i, pool, zone, pods, launched)
		if err != nil {
			return nil, err
		}
		w.nodes = append(w.nodes, node)
		w.claims = append(w.claims, nc)
		for _, p := range pods {
			bound := p.DeepCopy()
			bound.Spec.NodeName = node.Name
			bound.Status.Phase = corev1.PodRunning
			w.pods = append(w.pods, bound)
		}
	}
	klog.Infof("benchmark fleet: the solver planned %d nodes ($%.2f/h) in %s, run on %d nodes", len(planned.Nodes), planned.Price(), time.Since(start).Round(time.Millisecond), len(w.nodes))
	return w, nil
}

// benchNode launches the cheapest type of the pool that holds pods in zone
// (any zone when ""), at its cheapest offering there; every fourth node is
// spot.
func benchNode(i int, pool *solver.Pool, zone string, pods []*corev1.Pod, launched time.Time) (*corev1.Node, *karpv1.NodeClaim, error) {
	need := corev1.ResourceList{corev1.ResourcePods: *resource.NewQuantity(int64(len(pods)), resource.DecimalSI)}
	for _, p := range pods {
		add(need, requestsOf(p))
	}
	capacityType := wellknown.CapacityTypeOnDemand
	if i%4 == 3 {
		capacityType = wellknown.CapacityTypeSpot
	}
	var it *catalog.InstanceType
	var offering *catalog.Offering
	for _, t := range pool.InstanceTypes {
		if !holds(t.Allocatable, need) {
			continue
		}
		for j := range t.Offerings {
			o := &t.Offerings[j]
			if o.Available && o.CapacityType == capacityType && (zone == "" || o.Zone == zone) && (offering == nil || o.Price < offering.Price) {
				it, offering = t, o
			}
		}
	}
	if offering == nil {
		return nil, nil, fmt.Errorf("no %s type of the pool holds %v in zone %q", capacityType, need, zone)
	}
	name := fmt.Sprintf("default-%04d", i)
	nodeName := fmt.Sprintf("ip-10-0-%d-%d.ec2.internal", i/250, i%250)
	providerID := fmt.Sprintf("aws:///%s/i-%017x", offering.Zone, 0x1000+i)
	created := metav1.NewTime(launched.Add(time.Duration(i) * time.Second))
	labels := map[string]string{}
	for k, v := range pool.NodePool.Spec.Template.ObjectMeta.Labels {
		labels[k] = v
	}
	for k, v := range it.Labels {
		labels[k] = v
	}
	labels[wellknown.NodePoolLabel] = pool.Name()
	labels[wellknown.InstanceTypeLabel] = it.Name
	labels[wellknown.ZoneLabel] = offering.Zone
	labels[wellknown.CapacityTypeLabel] = capacityType
	nc := &karpv1.NodeClaim{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, UID: types.UID(name + "-uid"), CreationTimestamp: created, Labels: labels,
			Annotations:     map[string]string{PriceAnnotation: fmt.Sprintf("%.4f", offering.Price)},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: karpv1.GroupVersion.String(), Kind: "NodePool", Name: pool.Name(), UID: pool.NodePool.UID}},
		},
		Spec: karpv1.NodeClaimSpec{
			NodeClassRef: pool.NodePool.Spec.Template.Spec.NodeClassRef,
			Requirements: []karpv1.NodeSelectorRequirementWithMinValues{
				{Key: wellknown.InstanceTypeLabel, Operator: corev1.NodeSelectorOpIn, Values: []string{it.Name}},
				{Key: wellknown.ZoneLabel, Operator: corev1.NodeSelectorOpIn, Values: []string{offering.Zone}},
				{Key: wellknown.CapacityTypeLabel, Operator: corev1.NodeSelectorOpIn, Values: []string{capacityType}},
			},
		},
		Status: karpv1.NodeClaimStatus{NodeName: nodeName, ProviderID: providerID, Capacity: it.Capacity.DeepCopy(), Allocatable: it.Allocatable.DeepCopy()},
	}
	since := metav1.NewTime(created.Add(time.Minute))
	for _, c := range []string{karpv1.ConditionTypeLaunched, karpv1.ConditionTypeRegistered, karpv1.ConditionTypeInitialized, karpv1.ConditionTypeReady, karpv1.ConditionTypeConsolidatable} {
		nc.Status.Conditions = append(nc.Status.Conditions, metav1.Condition{Type: c, Status: metav1.ConditionTrue, Reason: c, LastTransitionTime: since})
	}
	// As the launcher labels a node it registered and initialized.
	nodeLabels := map[string]string{wellknown.HostnameLabel: nodeName, wellknown.RegisteredLabel: "true", wellknown.InitializedLabel: "true",
		wellknown.EC2NodeClassLabel: pool.NodePool.Spec.Template.Spec.NodeClassRef.Name}
	for k, v := range labels {
		nodeLabels[k] = v
	}
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: nodeName, UID: types.UID(nodeName + "-uid"), Labels: nodeLabels, CreationTimestamp: created},
		Spec:       corev1.NodeSpec{ProviderID: providerID},
		Status: corev1.NodeStatus{
			Capacity:    it.Capacity.DeepCopy(),
			Allocatable: it.Allocatable.DeepCopy(),
			Conditions:  []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}},
		},
	}
	return node, nc, nil
}

// holds reports whether room holds need, resource by resource.
func holds(room, need corev1.ResourceList) bool {
	for name, q := range need {
		if r, ok := room[name]; !ok || r.Cmp(q) < 0 {
			return false
		}
	}
	return true
}

// benchCluster is what stays the same from pass to pass: the nodes and pods
// in informers, and the scheduler framework the plugin is a handle of.
type benchCluster struct {
	world  *fleetWorld
	handle framework.Framework
	cat    catalog.Catalog
}

func newBenchCluster(ctx context.Context, w *fleetWorld) (*benchCluster, error) {
	var objects []runtime.Object
	for _, n := range w.nodes {
		objects = append(objects, n)
	}
	for _, p := range w.pods {
		objects = append(objects, p)
	}
	cs := fake.NewClientset(objects...)
	factory := informers.NewSharedInformerFactory(cs, 0)
	cfg, err := latest.Default()
	if err != nil {
		return nil, err
	}
	metrics.Register()
	fw, err := frameworkruntime.NewFramework(ctx, plugins.NewInTreeRegistry(), &cfg.Profiles[0],
		frameworkruntime.WithInformerFactory(factory),
		frameworkruntime.WithClientSet(cs),
		// Events are dropped.
		frameworkruntime.WithEventRecorder(&events.FakeRecorder{}),
		// The scheduler's own cycle snapshot, which the plugin never plans
		// with (it reads the informers).
		frameworkruntime.WithSnapshotSharedLister(simulate.NewSnapshot(nil, nil)),
	)
	if err != nil {
		return nil, fmt.Errorf("building the scheduler framework: %w", err)
	}
	cat, err := catalog.New(catalog.NewStaticSource(benchZones), catalog.Options{})
	if err != nil {
		return nil, err
	}
	c := &benchCluster{world: w, handle: fw, cat: cat}
	// The plugin registers the informers it reads; start them after.
	c.tailor(nil)
	factory.Start(ctx.Done())
	for typ, ok := range factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			return nil, fmt.Errorf("informer of %v did not sync", typ)
		}
	}
	return c, nil
}

// tailor builds the plugin, with a fresh disruption loop, over objects.
func (c *benchCluster) tailor(objects client.Client) *Tailor {
	args := &TailorArgs{ClusterName: "bench", Catalog: CatalogArgs{Source: CatalogSourceStatic, Zones: []string{"us-east-1a", "us-east-1b", "us-east-1c"}}}
	SetDefaults(args)
	return newTailor(c.handle, args, c.cat, objects, objects)
}

// objects are the NodePool, its class and the claims, as a pass finds them.
func (c *benchCluster) objects() (client.Client, error) {
	scheme, err := Scheme()
	if err != nil {
		return nil, err
	}
	objs := []client.Object{c.world.pool.DeepCopy(), c.world.class.DeepCopy()}
	for _, nc := range c.world.claims {
		objs = append(objs, nc.DeepCopy())
	}
	return crfake.NewClientBuilder().WithScheme(scheme).WithObjects(objs...).
		WithStatusSubresource(&karpv1.NodeClaim{}, &karpv1.NodePool{}, &ec2v1.EC2NodeClass{}).Build(), nil
}

// BenchmarkConsolidationPass times one pass of the disruption loop, every
// method once in the controller's order, over 1,000 nodes running 10,000 of
// Karpenter's diverse pods, with the NodePools, NodeClaims and
// EC2NodeClasses in controller-runtime's fake client and the nodes and pods
// in client-go's informers. The pass ends, as a real one does, with the
// decision it hands to validation, which is not waited for. Each iteration
// starts from the same fleet with a fresh loop and fresh objects, so what
// one pass decides or deletes does not shorten the next; building them is
// not timed.
func BenchmarkConsolidationPass(b *testing.B) {
	w, err := benchFleet()
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cluster, err := newBenchCluster(ctx, w)
	if err != nil {
		b.Fatal(err)
	}
	sink := &decisionSink{}
	logger := logr.New(sink)
	ctx = klog.NewContext(ctx, logger)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		objects, err := cluster.objects()
		if err != nil {
			b.Fatal(err)
		}
		t := cluster.tailor(objects)
		sink.decided, sink.plans = nil, 0
		b.StartTimer()
		for _, m := range t.disruption.Methods {
			if err := m.Reconcile(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(len(w.nodes)), "nodes")
	b.ReportMetric(float64(len(w.pods)), "pods")
	b.ReportMetric(float64(sink.plans), "plans/op")
	b.Logf("last pass: %d plans; %v", sink.plans, sink.decided)
}

// decisionSink keeps what the pass logs, and counts the plans it made
// (the provisioning path logs each at V(1)).
type decisionSink struct {
	decided []string
	plans   int
}

func (s *decisionSink) Init(logr.RuntimeInfo)  {}
func (s *decisionSink) Enabled(level int) bool { return level <= 1 }
func (s *decisionSink) Info(level int, msg string, kv ...any) {
	if level == 0 {
		s.decided = append(s.decided, fmt.Sprint(msg, kv))
	} else if msg == "Batch solved" {
		s.plans++
	}
}
func (s *decisionSink) Error(err error, msg string, kv ...any) {
	s.decided = append(s.decided, fmt.Sprint("error: ", msg, err, kv))
}
func (s *decisionSink) WithValues(...any) logr.LogSink { return s }
func (s *decisionSink) WithName(string) logr.LogSink   { return s }
