package solver_test

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tailor-project/tailor/apis/requirements"
	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/plugin/solver"
)

// countingChecker counts what the solver asks.
type countingChecker struct {
	solver.Checker
	checks int
}

func (c *countingChecker) Check(pod *corev1.Pod, n *solver.Node) error {
	c.checks++
	return c.Checker.Check(pod, n)
}

// TestInFlightPodsOnlySpareTheChecker: knowing the pods on the in-flight
// nodes lets the solver refuse, without asking the Checker, a pod whose
// hostname anti-affinity or spread selects its own kind where that kind
// runs; the Checker refuses it there too, so the plan is the same, with
// fewer checks where the shortcut applies.
func TestInFlightPodsOnlySpareTheChecker(t *testing.T) {
	spreadBy := func(key string, skew int32) func(*corev1.Pod) {
		return func(p *corev1.Pod) {
			spread(key)(p)
			p.Spec.TopologySpreadConstraints[0].MaxSkew = skew
		}
	}
	for _, tc := range []struct {
		name string
		// running are the pods on each of the three running nodes, pending
		// the pods to place.
		running [3][]*corev1.Pod
		pending []*corev1.Pod
		spared  bool
	}{
		{name: "anti-affinity: every node runs one", running: [3][]*corev1.Pod{web(1, antiAffinity(wellknown.HostnameLabel)), web(1, antiAffinity(wellknown.HostnameLabel)), web(1, antiAffinity(wellknown.HostnameLabel))},
			pending: web(2, antiAffinity(wellknown.HostnameLabel)), spared: true},
		{name: "anti-affinity: one node free of it", running: [3][]*corev1.Pod{web(1, antiAffinity(wellknown.HostnameLabel)), nil, web(1, antiAffinity(wellknown.HostnameLabel))},
			pending: web(2, antiAffinity(wellknown.HostnameLabel)), spared: true},
		{name: "hostname spread at its skew", running: [3][]*corev1.Pod{web(1, spread(wellknown.HostnameLabel)), web(2, spread(wellknown.HostnameLabel)), nil},
			pending: web(3, spread(wellknown.HostnameLabel)), spared: true},
		{name: "hostname spread of skew 2", running: [3][]*corev1.Pod{web(2, spreadBy(wellknown.HostnameLabel, 2)), web(1, spreadBy(wellknown.HostnameLabel, 2)), nil},
			pending: web(3, spreadBy(wellknown.HostnameLabel, 2)), spared: true},
		{name: "other labels do not count", running: [3][]*corev1.Pod{relabel(web(1), "api"), relabel(web(1), "api"), relabel(web(1), "api")},
			pending: web(2, antiAffinity(wellknown.HostnameLabel))},
		{name: "zonal spread is the Checker's", running: [3][]*corev1.Pod{web(1, spread(wellknown.ZoneLabel)), web(1, spread(wellknown.ZoneLabel)), nil},
			pending: web(3, spread(wellknown.ZoneLabel))},
		{name: "no constraint", running: [3][]*corev1.Pod{web(2), web(1), nil}, pending: web(4)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := staticCatalog(t)
			pools := []*solver.Pool{pool(t, c, seedPools(t, "01-nodepool-basic.yaml")[0])}
			var nodes []*corev1.Node
			var bound []*corev1.Pod
			for i, pods := range tc.running {
				name := fmt.Sprintf("running-%d", i)
				nodes = append(nodes, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
					wellknown.ZoneLabel: zones[i].Name, wellknown.HostnameLabel: name, wellknown.NodePoolLabel: "default",
					"team": "platform", "environment": "production", wellknown.RegisteredLabel: "true"}}})
				for j, p := range pods {
					p.Name, p.Spec.NodeName = fmt.Sprintf("%s-pod-%d", name, j), name
					p.UID = types.UID(p.Name)
					bound = append(bound, p)
				}
			}
			plan := func(withPods bool) (string, int) {
				var room []*solver.InFlight
				for i, n := range nodes {
					f := &solver.InFlight{Name: n.Name, Pool: pools[0], Requirements: requirements.FromLabels(n.Labels), Labels: n.Labels,
						Room: corev1.ResourceList{corev1.ResourceCPU: *resourceOf("4"), corev1.ResourceMemory: *resourceOf("16Gi"), corev1.ResourcePods: *resourceOf("20")}}
					if withPods {
						f.Pods = tc.running[i]
					}
					room = append(room, f)
				}
				checker := &countingChecker{Checker: simulator(t, pools, nodes, bound)}
				res := solver.Solve(solver.Input{Pods: tc.pending, Pools: pools, InFlight: room, Checker: checker, EmptyDomains: true})
				return describePlacement(res), checker.checks
			}
			without, asked := plan(false)
			with, askedWith := plan(true)
			if with != without {
				t.Errorf("the pods on the nodes changed the plan:\nwith:    %s\nwithout: %s", with, without)
			}
			if tc.spared && askedWith >= asked {
				t.Errorf("the Checker was asked %d times knowing the pods, %d times not: the shortcut did not apply", askedWith, asked)
			}
			if !tc.spared && askedWith != asked {
				t.Errorf("the Checker was asked %d times knowing the pods, %d times not: nothing should change", askedWith, asked)
			}
		})
	}
}

func relabel(pods []*corev1.Pod, app string) []*corev1.Pod {
	for _, p := range pods {
		p.Labels = map[string]string{"app": app}
	}
	return pods
}

// describePlacement spells where each pod went, by name.
func describePlacement(res *solver.Result) string {
	var parts []string
	for name, pods := range res.Joined {
		for _, p := range pods {
			parts = append(parts, p.Name+"->"+name)
		}
	}
	for i, n := range res.Nodes {
		for _, p := range n.Pods {
			parts = append(parts, fmt.Sprintf("%s->new-%d(%s)", p.Name, i, n.Labels[wellknown.ZoneLabel]))
		}
	}
	for p, err := range res.Unplaced {
		parts = append(parts, fmt.Sprintf("%s unplaced: %v", p.Name, err))
	}
	sort.Strings(parts)
	return strings.Join(parts, "; ")
}
