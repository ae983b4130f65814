package solver_test

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/plugin/simulate"
	"github.com/tailor-project/tailor/plugin/solver"
)

// simulator judges pods by the default profile's own Filter plugins over an
// empty cluster with the pools' zones as placeholder domains.
func simulator(t testing.TB, pools []*solver.Pool, existing []*corev1.Node, bound []*corev1.Pod) *simulate.Simulator {
	t.Helper()
	prof, err := simulate.DefaultProfile()
	if err != nil {
		t.Fatal(err)
	}
	snap := simulate.NewSnapshot(existing, bound)
	simulate.AddPlaceholders(snap, pools)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	sim, err := simulate.NewOffline(ctx, prof, snap)
	if err != nil {
		t.Fatal(err)
	}
	return sim
}

func spread(key string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{
			MaxSkew: 1, TopologyKey: key, WhenUnsatisfiable: corev1.DoNotSchedule,
			LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
		}}
	}
}

func antiAffinity(key string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
				TopologyKey:   key,
				LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			}},
		}}
	}
}

func web(n int, mutate ...func(*corev1.Pod)) []*corev1.Pod {
	tmpl := corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}}}
	tmpl.Spec = podWith("t", "500m", "512Mi").Spec
	pods := replicas("web", tmpl, n)
	for _, p := range pods {
		for _, m := range mutate {
			m(p)
		}
	}
	return pods
}

func TestConstraintsThroughTheFramework(t *testing.T) {
	c := staticCatalog(t)
	basic := seedPools(t, "01-nodepool-basic.yaml")[0]
	for _, tc := range []struct {
		name      string
		pods      []*corev1.Pod
		wantNodes int
		// perNode caps the pods on any node; perZone the pods in any zone.
		perNode, distinctZones int
	}{
		{name: "zonal spread over three zones", pods: web(3, spread(wellknown.ZoneLabel)), wantNodes: 3, distinctZones: 3},
		{name: "zonal spread of six pods", pods: web(6, spread(wellknown.ZoneLabel)), wantNodes: 3, distinctZones: 3},
		{name: "hostname anti-affinity is one pod per node", pods: web(4, antiAffinity(wellknown.HostnameLabel)), wantNodes: 4, perNode: 1},
		{name: "hostname spread is one pod per node", pods: web(3, spread(wellknown.HostnameLabel)), wantNodes: 3, perNode: 1},
		{name: "zonal anti-affinity fills each zone once", pods: web(3, antiAffinity(wellknown.ZoneLabel)), wantNodes: 3, perNode: 1, distinctZones: 3},
		{name: "no constraint shares one node", pods: web(6), wantNodes: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pools := []*solver.Pool{pool(t, c, basic)}
			res := solver.Solve(solver.Input{Pods: tc.pods, Pools: pools, Checker: simulator(t, pools, nil, nil), EmptyDomains: true})
			if len(res.Unplaced) > 0 {
				t.Fatalf("unplaced: %v", res.Unplaced)
			}
			if len(res.Nodes) != tc.wantNodes {
				t.Errorf("%d nodes, want %d", len(res.Nodes), tc.wantNodes)
			}
			zones := map[string]int{}
			for _, n := range res.Nodes {
				if tc.perNode > 0 && len(n.Pods) > tc.perNode {
					t.Errorf("node %s holds %d pods, want at most %d", n.Name, len(n.Pods), tc.perNode)
				}
				if z := n.Labels[wellknown.ZoneLabel]; z != "" {
					zones[z] += len(n.Pods)
				}
			}
			if tc.distinctZones > 0 {
				if len(zones) != tc.distinctZones {
					t.Errorf("pods in zones %v, want %d zones", zones, tc.distinctZones)
				}
				lo, hi := len(tc.pods), 0
				for _, n := range zones {
					lo, hi = min(lo, n), max(hi, n)
				}
				if hi-lo > 1 {
					t.Errorf("zones %v are skewed by more than 1", zones)
				}
			}
		})
	}
}

// TestExistingPodsCount: a zone that already runs the app is skewed ahead,
// so the new pods go to the other two.
func TestExistingPodsCount(t *testing.T) {
	c := staticCatalog(t)
	pools := []*solver.Pool{pool(t, c, seedPools(t, "01-nodepool-basic.yaml")[0])}
	existing := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "real-a", Labels: map[string]string{
		wellknown.ZoneLabel: "us-east-1a", wellknown.HostnameLabel: "real-a", wellknown.NodePoolLabel: "default", "team": "platform", "environment": "production"}}}
	running := web(1)[0]
	running.Name, running.UID, running.Spec.NodeName = "running", "running", "real-a"
	pods := web(2, spread(wellknown.ZoneLabel))
	res := solver.Solve(solver.Input{Pods: pods, Pools: pools, Checker: simulator(t, pools, []*corev1.Node{existing}, []*corev1.Pod{running})})
	if len(res.Unplaced) > 0 {
		t.Fatalf("unplaced: %v", res.Unplaced)
	}
	for _, n := range res.Nodes {
		if z := n.Labels[wellknown.ZoneLabel]; z == "us-east-1a" || z == "" {
			t.Errorf("node %s in zone %q: the app already runs in us-east-1a", n.Name, z)
		}
	}
}
