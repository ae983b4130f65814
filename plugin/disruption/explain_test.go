package disruption

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	corelisters "k8s.io/client-go/listers/core/v1"
	policylisters "k8s.io/client-go/listers/policy/v1"
	"k8s.io/client-go/tools/cache"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/requirements"
	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/plugin/solver"
)

// explainNow is a Wednesday 03:00 UTC.
var explainNow = time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC)

// world is a cluster for Explain: claims named as their nodes, each node a
// "big" on-demand instance at $0.10/h unless priced otherwise.
type world struct {
	pools  []*karpv1.NodePool
	claims []*karpv1.NodeClaim
	nodes  []*corev1.Node
	pods   []*corev1.Pod
	pdbs   []*policyv1.PodDisruptionBudget
}

func (w *world) pool(name string, mutate ...func(*karpv1.NodePool)) *world {
	np := &karpv1.NodePool{ObjectMeta: metav1.ObjectMeta{Name: name}}
	np.Spec.Disruption = karpv1.Disruption{ConsolidateAfter: karpv1.MustParseNillableDuration("1m"),
		ConsolidationPolicy: karpv1.ConsolidationPolicyWhenEmptyOrUnderutilized, Budgets: []karpv1.Budget{{Nodes: "100%"}}}
	for _, m := range mutate {
		m(np)
	}
	w.pools = append(w.pools, np)
	return w
}

// node adds a launched claim of pool and its node, with pods of the given
// names (each owned by a ReplicaSet).
func (w *world) node(name, pool string, pods ...string) *world {
	labels := map[string]string{wellknown.NodePoolLabel: pool, wellknown.InstanceTypeLabel: "big", wellknown.CapacityTypeLabel: wellknown.CapacityTypeOnDemand}
	nc := &karpv1.NodeClaim{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels, CreationTimestamp: metav1.NewTime(explainNow.Add(-time.Hour))}}
	nc.Status.NodeName = name
	nc.Status.Conditions = []metav1.Condition{{Type: karpv1.ConditionTypeInitialized, Status: metav1.ConditionTrue, Reason: "Initialized", LastTransitionTime: metav1.NewTime(explainNow.Add(-time.Hour))}}
	w.claims = append(w.claims, nc)
	w.nodes = append(w.nodes, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}})
	for _, p := range pods {
		w.pods = append(w.pods, onNode(pod(p, nil), name))
	}
	return w
}

func onNode(p *corev1.Pod, node string) *corev1.Pod {
	p.Spec.NodeName = node
	p.Status.Phase = corev1.PodRunning
	return p
}

func (w *world) env(t *testing.T, p Planner) Env {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := karpv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	var objs []client.Object
	for _, np := range w.pools {
		objs = append(objs, np)
	}
	for _, nc := range w.claims {
		objs = append(objs, nc)
	}
	byNamespace := cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc}
	pods, nodes, pdbs := cache.NewIndexer(cache.MetaNamespaceKeyFunc, byNamespace), cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{}), cache.NewIndexer(cache.MetaNamespaceKeyFunc, byNamespace)
	for _, p := range w.pods {
		must(t, pods.Add(p))
	}
	for _, n := range w.nodes {
		must(t, nodes.Add(n))
	}
	for _, pdb := range w.pdbs {
		must(t, pdbs.Add(pdb))
	}
	return Env{
		Objects:          fake.NewClientBuilder().WithScheme(scheme).WithObjects(objs...).Build(),
		Pods:             corelisters.NewPodLister(pods),
		Nodes:            corelisters.NewNodeLister(nodes),
		PDBs:             policylisters.NewPodDisruptionBudgetLister(pdbs),
		Clock:            clocktesting.NewFakePassiveClock(explainNow),
		Planner:          p,
		MinSavings:       0.05,
		ValidationPeriod: 15 * time.Second,
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// planner plans by which nodes are taken away: fits lists the node sets
// (sorted, comma-joined) whose pods fit on the others; replace those whose
// pods need one new node at price; every other set leaves a pod unplaced.
func planner(fits []string, replace map[string]float64, prices map[string]float64) *fakePlanner {
	return &fakePlanner{prices: prices, displace: func(nodes []string) *Plan {
		sorted := slices.Clone(nodes)
		slices.Sort(sorted)
		key := strings.Join(sorted, ",")
		pods := []*corev1.Pod{pod("moved-"+key, nil)}
		if slices.Contains(fits, key) {
			return &Plan{Pods: pods}
		}
		if price, ok := replace[key]; ok {
			n := newNode(price, "small")
			n.Pool = &solver.Pool{NodePool: &karpv1.NodePool{ObjectMeta: metav1.ObjectMeta{Name: "default"}}}
			n.Pods = pods
			return &Plan{Pods: pods, Nodes: []*solver.Node{n}, Price: price}
		}
		return &Plan{Pods: pods, Unplaced: map[*corev1.Pod]error{pods[0]: errFake}}
	}}
}

func tenCents(names ...string) map[string]float64 {
	out := map[string]float64{}
	for _, n := range names {
		out[n] = 0.1
	}
	return out
}

func TestExplain(t *testing.T) {
	for _, tc := range []struct {
		name    string
		world   *world
		planner *fakePlanner
		live    bool
		// decisions are "kind method claims..." in order.
		decisions []string
		// kept maps a claim to a part of why it stays.
		kept map[string]string
		// alone are the kept claims that could go on their own.
		alone      []string
		fleetAfter float64
	}{
		{
			name:      "pods fit elsewhere: the least disruptive node is deleted, the next could go alone",
			world:     (&world{}).pool("default").node("a", "default", "a1").node("b", "default", "b1", "b2"),
			planner:   planner([]string{"a", "b"}, nil, tenCents("a", "b")),
			decisions: []string{"delete single-node a"},
			kept:      map[string]string{"b": "could also go on its own (single-node delete, $0.1000/h → $0.0000/h)"},
			alone:     []string{"b"}, fleetAfter: 0.1,
		},
		{
			name:      "several nodes replaced by one cheaper node",
			world:     (&world{}).pool("default").node("a", "default", "a1").node("b", "default", "b1").node("c", "default", "c1"),
			planner:   planner(nil, map[string]float64{"a,b": 0.05, "a,b,c": 0.08}, tenCents("a", "b", "c")),
			decisions: []string{"replace multi-node a b c"},
			kept:      map[string]string{},
			// 0.3 - 0.3 + 0.08
			fleetAfter: 0.08,
		},
		{
			name: "an empty node goes first and is gone for the consolidation that follows",
			world: (&world{}).pool("default").node("empty", "default").node("a", "default", "a1").
				node("b", "default", "b1"),
			// With the empty node's claim deleted, a's pods fit; b's need a
			// replacement that saves too little.
			planner:   planner([]string{"a,empty"}, map[string]float64{"b,empty": 0.099}, tenCents("empty", "a", "b")),
			decisions: []string{"delete empty empty", "delete single-node a"},
			kept:      map[string]string{"b": "saving less than minSavings"},
			// 0.3 - 0.1 - 0.1
			fleetAfter: 0.1,
		},
		{
			name: "budgets: one empty node may go, the other stays for both reasons",
			world: (&world{}).pool("default", func(np *karpv1.NodePool) { np.Spec.Disruption.Budgets = []karpv1.Budget{{Nodes: "1"}} }).
				node("e1", "default").node("e2", "default"),
			planner:   planner(nil, nil, tenCents("e1", "e2")),
			decisions: []string{"delete empty e1"},
			kept: map[string]string{"e2": "Empty since 2026-12-02T02:59:00Z but NodePool default's disruption budget allows no more nodes to go now; " +
				"NodePool default's disruption budget for reason Underutilized allows no more nodes to go now"},
			fleetAfter: 0.1,
		},
		{
			name: "kept for what the claims, their nodes and their pods say",
			world: func() *world {
				w := (&world{}).pool("default").pool("quiet", func(np *karpv1.NodePool) {
					np.Spec.Disruption.ConsolidationPolicy = karpv1.ConsolidationPolicyWhenEmpty
				}).pool("never", func(np *karpv1.NodePool) {
					np.Spec.Disruption.ConsolidateAfter = karpv1.MustParseNillableDuration("Never")
				})
				w.node("dnd", "default", "dnd1").node("pdb", "default", "guarded").node("bare", "default", "bare1").
					node("whenempty", "quiet", "q1").node("unsettled", "never", "n1").node("nowhere", "default", "x1")
				w.pods[0].Annotations = map[string]string{wellknown.DoNotDisruptAnnotation: "true"}
				w.pods[1].Labels = map[string]string{"app": "guarded"}
				w.pods[2].OwnerReferences = nil
				zero := intstr.FromInt32(0)
				w.pdbs = append(w.pdbs, &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: "guard", Namespace: "default"},
					Spec: policyv1.PodDisruptionBudgetSpec{MaxUnavailable: &zero, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "guarded"}}}})
				return w
			}(),
			planner: planner(nil, nil, tenCents("dnd", "pdb", "bare", "whenempty", "unsettled", "nowhere")),
			kept: map[string]string{
				"dnd":       "pod default/dnd1 is annotated karpenter.sh/do-not-disrupt",
				"pdb":       "PodDisruptionBudget default/guard allows no eviction of pod guarded now",
				"bare":      "pod default/bare1 has no controller",
				"whenempty": "NodePool quiet's consolidationPolicy is WhenEmpty",
				"unsettled": "NodePool never's consolidateAfter is Never",
				"nowhere":   "1 of its pods would find no room elsewhere",
			},
			fleetAfter: 0.6,
		},
		{
			name: "spot needs 15 cheaper types",
			world: func() *world {
				w := (&world{}).pool("default").node("spot", "default", "s1")
				w.nodes[0].Labels[wellknown.CapacityTypeLabel] = wellknown.CapacityTypeSpot
				return w
			}(),
			planner: func() *fakePlanner {
				p := planner(nil, map[string]float64{"spot": 0.05}, tenCents("spot"))
				inner := p.displace
				p.displace = func(nodes []string) *Plan {
					plan := inner(nodes)
					for _, n := range plan.Nodes {
						n.Requirements = requirements.FromLabels(map[string]string{wellknown.CapacityTypeLabel: wellknown.CapacityTypeSpot})
					}
					return plan
				}
				return p
			}(),
			kept:       map[string]string{"spot": "a spot replacement needs at least 15 instance types at $0.0950/h or less"},
			fleetAfter: 0.1,
		},
		{
			name: "live: only claims whose Consolidatable condition is True",
			world: func() *world {
				w := (&world{}).pool("default").node("settled", "default", "s1").node("busy", "default", "b1")
				w.claims[0].Status.Conditions = append(w.claims[0].Status.Conditions, metav1.Condition{Type: karpv1.ConditionTypeConsolidatable,
					Status: metav1.ConditionTrue, Reason: ReasonConsolidatable, LastTransitionTime: metav1.NewTime(explainNow.Add(-time.Minute))})
				return w
			}(),
			live:       true,
			planner:    planner([]string{"settled", "busy"}, nil, tenCents("settled", "busy")),
			decisions:  []string{"delete single-node settled"},
			kept:       map[string]string{"busy": "not Consolidatable: a pod was added to or removed from its node"},
			fleetAfter: 0.1,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := Explain(context.Background(), tc.world.env(t, tc.planner), ExplainOptions{AssumeSettled: !tc.live})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, d := range out.Decisions {
				got = append(got, strings.Join(append([]string{d.Kind, d.Method}, d.NodeClaims...), " "))
			}
			if !slices.Equal(got, tc.decisions) {
				t.Errorf("decisions %q, want %q", got, tc.decisions)
			}
			kept := map[string]Kept{}
			for _, k := range out.Kept {
				kept[k.NodeClaim] = k
			}
			if len(kept) != len(tc.kept) {
				t.Errorf("kept %+v, want %d claims kept", out.Kept, len(tc.kept))
			}
			for name, want := range tc.kept {
				if k, ok := kept[name]; !ok || !strings.Contains(k.Why, want) {
					t.Errorf("claim %s kept for %q, want %q", name, k.Why, want)
				}
				if got, want := kept[name].Alone != nil, slices.Contains(tc.alone, name); got != want {
					t.Errorf("claim %s could go alone: %v, want %v", name, got, want)
				}
			}
			if diff := out.FleetPriceAfter - tc.fleetAfter; diff > 1e-9 || diff < -1e-9 {
				t.Errorf("fleet after $%.4f/h, want $%.4f/h", out.FleetPriceAfter, tc.fleetAfter)
			}
		})
	}
}

// TestExplainReplacement reports the new claim's types, zones and capacity
// types, and the prices before and after.
func TestExplainReplacement(t *testing.T) {
	w := (&world{}).pool("default").node("big", "default", "b1")
	p := planner(nil, map[string]float64{"big": 0.04}, tenCents("big"))
	out, err := Explain(context.Background(), w.env(t, p), ExplainOptions{AssumeSettled: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Decisions) != 1 {
		t.Fatalf("decisions %+v, want one", out.Decisions)
	}
	d := out.Decisions[0]
	if d.Kind != KindReplace || d.Method != MethodSingleNode || d.Replacement == nil {
		t.Fatalf("decision %+v, want a single-node replace", d)
	}
	if d.Before != 0.1 || d.After != 0.04 || !slices.Equal(d.Replacement.InstanceTypes, []string{"small"}) || d.Replacement.NodePool != "default" {
		t.Errorf("decision %+v, replacement %+v", d, d.Replacement)
	}
	if !strings.Contains(strings.Join(out.Notes, " "), "validationPeriod (15s)") {
		t.Errorf("notes %q do not say the decision waits for validation", out.Notes)
	}
}

// TestExplainActsOnNothing: the dry run neither writes nor sends events,
// and a claim does not go for being told why it stays.
func TestExplainActsOnNothing(t *testing.T) {
	w := (&world{}).pool("default").node("empty", "default").node("a", "default", "a1")
	env := w.env(t, planner([]string{"a", "a,empty"}, nil, tenCents("empty", "a")))
	env.Recorder = refusingRecorder{t}
	out, err := Explain(context.Background(), env, ExplainOptions{AssumeSettled: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Decisions) != 2 {
		t.Errorf("decisions %+v", out.Decisions)
	}
	var claims karpv1.NodeClaimList
	must(t, env.Objects.List(context.Background(), &claims))
	for _, nc := range claims.Items {
		if nc.DeletionTimestamp != nil {
			t.Errorf("claim %s is being deleted after a dry run", nc.Name)
		}
	}
}

type refusingRecorder struct{ *testing.T }

func (r refusingRecorder) Eventf(runtime.Object, runtime.Object, string, string, string, string, ...any) {
	r.Error("the dry run sent an event")
}

// sessionPlanner is a fakePlanner with sessions, counting the plans made
// through one.
type sessionPlanner struct {
	*fakePlanner
	inSession int
}

func (s *sessionPlanner) Session(context.Context) (Planner, error) { return &counting{s}, nil }

type counting struct{ s *sessionPlanner }

func (c *counting) Displace(ctx context.Context, nodes []string) (*Plan, error) {
	c.s.inSession++
	return c.s.fakePlanner.Displace(ctx, nodes)
}
func (c *counting) Launch(ctx context.Context, p *Plan, r string) ([]string, error) {
	return c.s.fakePlanner.Launch(ctx, p, r)
}
func (c *counting) Price(ctx context.Context, nc *karpv1.NodeClaim) (float64, error) {
	return c.s.fakePlanner.Price(ctx, nc)
}

// TestExplainKeepsSessions: with an empty node taken away first, the
// searches still plan through the planner's sessions, without that node.
func TestExplainKeepsSessions(t *testing.T) {
	w := (&world{}).pool("default").node("empty", "default").node("a", "default", "a1").node("b", "default", "b1")
	p := &sessionPlanner{fakePlanner: planner([]string{"a,empty", "b,empty"}, nil, tenCents("empty", "a", "b"))}
	out, err := Explain(context.Background(), w.env(t, p), ExplainOptions{AssumeSettled: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Decisions) != 2 || out.Decisions[1].NodeClaims[0] != "a" {
		t.Fatalf("decisions %+v, want the empty node, then a", out.Decisions)
	}
	if p.inSession == 0 || p.inSession != p.calls-1 {
		t.Errorf("%d of %d plans in a session; only whyNotMulti's may be outside", p.inSession, p.calls)
	}
}
