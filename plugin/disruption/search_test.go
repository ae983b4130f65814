package disruption

import (
	"context"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/requirements"
	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/launcher/catalog"
	"github.com/tailor-project/tailor/plugin/solver"
)

// fakePlanner plans by a rule over the nodes taken away, and prices claims
// from a table.
type fakePlanner struct {
	displace func(nodes []string) *Plan
	prices   map[string]float64
	calls    int
}

func (f *fakePlanner) Displace(_ context.Context, nodes []string) (*Plan, error) {
	f.calls++
	return f.displace(nodes), nil
}

func (f *fakePlanner) Launch(context.Context, *Plan, string) ([]string, error) { return nil, nil }

func (f *fakePlanner) Price(_ context.Context, nc *karpv1.NodeClaim) (float64, error) {
	return f.prices[nc.Name], nil
}

func newNode(price float64, typ string) *solver.Node {
	return &solver.Node{Price: price, Requirements: requirements.Requirements{},
		InstanceTypes: []*catalog.InstanceType{{Name: typ}}}
}

func testConsolidation(t *testing.T, p *fakePlanner, nodes ...*corev1.Node) consolidation {
	t.Helper()
	indexer := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	for _, n := range nodes {
		if err := indexer.Add(n); err != nil {
			t.Fatal(err)
		}
	}
	return consolidation{Env: Env{Planner: p, Nodes: corelisters.NewNodeLister(indexer), MinSavings: 0.05}, state: &consolidationState{told: map[string]string{}}}
}

func cands(names ...string) []*candidate {
	np := &karpv1.NodePool{ObjectMeta: metav1.ObjectMeta{Name: "default"}}
	var out []*candidate
	for _, n := range names {
		out = append(out, &candidate{claim: &karpv1.NodeClaim{ObjectMeta: metav1.ObjectMeta{Name: n}}, pool: np, node: n})
	}
	return out
}

func TestEvaluate(t *testing.T) {
	for _, tc := range []struct {
		name    string
		plan    *Plan
		price   float64
		spot    bool
		replace bool
		keep    string
	}{
		{name: "pods fit elsewhere: delete", plan: &Plan{}, price: 0.1},
		{name: "one cheaper node: replace", plan: &Plan{Nodes: []*solver.Node{newNode(0.05, "small")}, Price: 0.05}, price: 0.1, replace: true},
		{name: "saves under 5%", plan: &Plan{Nodes: []*solver.Node{newNode(0.097, "small")}, Price: 0.097}, price: 0.1, keep: "saving less than minSavings"},
		{name: "two new nodes", plan: &Plan{Nodes: []*solver.Node{newNode(0.01, "a"), newNode(0.01, "b")}, Price: 0.02}, price: 0.1, keep: "would need 2 new nodes"},
		{name: "unplaced", plan: &Plan{Unplaced: map[*corev1.Pod]error{{}: errFake}}, price: 0.1, keep: "would find no room elsewhere"},
		{name: "spot without 15 cheaper types", plan: &Plan{Nodes: []*solver.Node{newNode(0.05, "small")}, Price: 0.05}, price: 0.1, spot: true, keep: "at least 15 instance types"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			capacity := wellknown.CapacityTypeOnDemand
			if tc.spot {
				capacity = wellknown.CapacityTypeSpot
			}
			node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n", Labels: map[string]string{wellknown.CapacityTypeLabel: capacity, wellknown.InstanceTypeLabel: "big"}}}
			p := &fakePlanner{displace: func([]string) *Plan { return tc.plan }, prices: map[string]float64{"n": tc.price}}
			c := testConsolidation(t, p, node)
			d, why, err := c.evaluate(context.Background(), cands("n"), false)
			if err != nil {
				t.Fatal(err)
			}
			if tc.keep != "" {
				if d != nil || !strings.Contains(why, tc.keep) {
					t.Fatalf("decision %v, why %q; want kept: %q", d, why, tc.keep)
				}
				return
			}
			if d == nil {
				t.Fatalf("kept: %s", why)
			}
			if d.replaces() != tc.replace {
				t.Errorf("replaces %v, want %v", d.replaces(), tc.replace)
			}
		})
	}
}

// TestMultiNodeSearchFindsLongestPrefix: with the first three candidates
// replaceable by one cheap node and four not, the search takes three.
func TestMultiNodeSearchFindsLongestPrefix(t *testing.T) {
	names := []string{"a", "b", "c", "d", "e", "f"}
	prices := map[string]float64{}
	var nodes []*corev1.Node
	for _, n := range names {
		prices[n] = 0.1
		nodes = append(nodes, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n, Labels: map[string]string{wellknown.InstanceTypeLabel: "big"}}})
	}
	p := &fakePlanner{prices: prices, displace: func(taken []string) *Plan {
		if len(taken) <= 3 {
			return &Plan{Nodes: []*solver.Node{newNode(0.1, "medium")}, Price: 0.1}
		}
		return &Plan{Nodes: []*solver.Node{newNode(0.1, "a"), newNode(0.1, "b")}, Price: 0.2}
	}}
	m := &MultiNode{consolidation: testConsolidation(t, p, nodes...)}
	f := &fleet{budget: map[string]int{"default": 10}}
	d, err := m.search(context.Background(), f, cands(names...))
	if err != nil {
		t.Fatal(err)
	}
	if d == nil || len(d.candidates) != 3 {
		t.Fatalf("decision %+v, want the first three candidates", d)
	}
	if p.calls > 3 {
		t.Errorf("%d plans for 6 candidates; a binary search needs at most 3", p.calls)
	}

	// A replacement retires its nodes as the budget allows: a budget of one
	// node at a time still lets three be replaced by one.
	f.budget["default"] = 1
	d, err = m.search(context.Background(), f, cands(names...))
	if err != nil || d == nil || len(d.candidates) != 3 {
		t.Fatalf("replacing with a budget of 1: %+v, %v; want the three", d, err)
	}
	// No budget, no decision.
	f.budget["default"] = 0
	if d, err = m.search(context.Background(), f, cands(names...)); err != nil || d != nil {
		t.Fatalf("with a budget of 0: %+v, %v", d, err)
	}

	// Deleting takes the nodes away at once: a budget of two keeps the
	// decision to two, though four could go.
	deletes := &fakePlanner{prices: prices, displace: func(taken []string) *Plan {
		if len(taken) <= 4 {
			return &Plan{}
		}
		return &Plan{Nodes: []*solver.Node{newNode(0.1, "a"), newNode(0.1, "b")}, Price: 0.2}
	}}
	m = &MultiNode{consolidation: testConsolidation(t, deletes, nodes...)}
	f.budget["default"] = 2
	d, err = m.search(context.Background(), f, cands(names...))
	if err != nil || d == nil || d.replaces() || len(d.candidates) != 2 {
		t.Fatalf("deleting with a budget of 2: %+v, %v; want a delete of two", d, err)
	}
}

// TestReplacedNodesRetireWithinBudget: the nodes one replacement replaces
// are retired as many at a time as the budget allows; the rest wait, and
// say so.
func TestReplacedNodesRetireWithinBudget(t *testing.T) {
	for _, tc := range []struct {
		name             string
		allowed, already int
		want             int
	}{
		{"one at a time", 1, 0, 1},
		{"one being disrupted already", 1, 1, 0},
		{"two at a time", 2, 0, 2},
		{"budget above the nodes", 10, 0, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := retiredNow(t, tc.allowed, tc.already); got != tc.want {
				t.Errorf("%d nodes retired at once, want %d", got, tc.want)
			}
		})
	}
}

type fakeErr string

func (e fakeErr) Error() string { return string(e) }

const errFake = fakeErr("no room")

// TestSpotReplacementOffers: a spot replacement offers only spot types that
// save minSavings whichever one EC2 picks, the cheapest 15 of them; one
// node needs 15 such types to be replaced, several nodes at once do not.
func TestSpotReplacementOffers(t *testing.T) {
	spotTypes := func(n int) []*catalog.InstanceType {
		var out []*catalog.InstanceType
		for i := 0; i < n; i++ {
			out = append(out, &catalog.InstanceType{Name: fmt.Sprintf("t%02d", i), Offerings: catalog.Offerings{
				{Zone: "us-east-1a", CapacityType: wellknown.CapacityTypeSpot, Price: 0.01 + 0.005*float64(i), Available: true}}})
		}
		return out
	}
	for _, tc := range []struct {
		name   string
		types  int
		multi  bool
		offers int
		keep   string
	}{
		// Types t00..t16 cost $0.095/h or less: 5% below the $0.10/h node.
		{name: "one node, many cheaper types: the cheapest 15", types: 30, offers: 15},
		{name: "one node, 15 cheaper types", types: 15, offers: 15},
		{name: "one node, 14 cheaper types", types: 14, keep: "at least 15 instance types at $0.0950/h or less"},
		{name: "several nodes, 3 cheaper types", types: 3, multi: true, offers: 3},
		{name: "several nodes, types too dear only", types: 0, multi: true, keep: "no spot instance type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			types := spotTypes(tc.types)
			// A type dearer than the node is never offered.
			types = append(types, &catalog.InstanceType{Name: "dear", Offerings: catalog.Offerings{
				{Zone: "us-east-1a", CapacityType: wellknown.CapacityTypeSpot, Price: 0.2, Available: true}}})
			n := &solver.Node{Price: 0.01, Requirements: requirements.Requirements{}, InstanceTypes: types}
			names := []string{"n"}
			prices := map[string]float64{"n": 0.1}
			var nodes []*corev1.Node
			if tc.multi {
				names = []string{"n", "m"}
				prices = map[string]float64{"n": 0.05, "m": 0.05}
			}
			for _, name := range names {
				nodes = append(nodes, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
					wellknown.CapacityTypeLabel: wellknown.CapacityTypeSpot, wellknown.InstanceTypeLabel: "big"}}})
			}
			p := &fakePlanner{displace: func([]string) *Plan { return &Plan{Nodes: []*solver.Node{n}, Price: 0.01} }, prices: prices}
			c := testConsolidation(t, p, nodes...)
			d, why, err := c.evaluate(context.Background(), cands(names...), tc.multi)
			if err != nil {
				t.Fatal(err)
			}
			if tc.keep != "" {
				if d != nil || !strings.Contains(why, tc.keep) {
					t.Fatalf("decision %v, why %q; want kept: %q", d, why, tc.keep)
				}
				return
			}
			if d == nil {
				t.Fatalf("kept: %s", why)
			}
			offered := d.plan.Nodes[0].InstanceTypes
			if len(offered) != tc.offers {
				t.Errorf("the replacement offers %d types, want %d", len(offered), tc.offers)
			}
			for _, it := range offered {
				if it.Offerings[0].Price > 0.095+1e-9 {
					t.Errorf("the replacement offers %s at $%.4f/h, above $0.0950/h", it.Name, it.Offerings[0].Price)
				}
			}
		})
	}
}
