package solver_test

import (
	"fmt"
	"math"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/launcher/catalog"
	"github.com/tailor-project/tailor/plugin/solver"
	"github.com/tailor-project/tailor/plugin/solver/optimum"
)

// TestInflateIsPackedAtTheCheapestPrice: the guide's walkthrough, ten
// inflate pods on the basic pool, costs what the cheapest possible packing
// costs, and is not ten nodes.
func TestInflateIsPackedAtTheCheapestPrice(t *testing.T) {
	c := staticCatalog(t)
	for _, n := range []int{1, 3, 10, 25} {
		p := pool(t, c, seedPools(t, "01-nodepool-basic.yaml")[0])
		pods := inflate(t, n)
		res := solver.Solve(solver.Input{Pods: pods, Pools: []*solver.Pool{p}})
		if len(res.Unplaced) > 0 {
			t.Fatalf("%d pods: unplaced %v", n, res.Unplaced)
		}
		req := pods[0].Spec.Containers[0].Resources.Requests
		want := optimum.CheapestPacking(p.InstanceTypes, req.Cpu().MilliValue(), req.Memory().Value(), n)
		if got := res.Price(); math.Abs(got-want) > 1e-9 {
			t.Errorf("%d pods: plan costs $%.4f/h on %d nodes, the cheapest packing costs $%.4f/h", n, got, len(res.Nodes), want)
		}
		placed := 0
		for _, node := range res.Nodes {
			placed += len(node.Pods)
			if err := fits(node); err != nil {
				t.Error(err)
			}
			if len(node.InstanceTypes) < 2 {
				t.Errorf("node %s offers the launcher only %d instance types", node.Name, len(node.InstanceTypes))
			}
		}
		if placed != n {
			t.Errorf("%d pods: %d placed", n, placed)
		}
		if n == 10 && len(res.Nodes) > 3 {
			t.Errorf("10 pods on %d nodes", len(res.Nodes))
		}
	}
}

func TestPoolChoice(t *testing.T) {
	c := staticCatalog(t)
	prodDev := seedPools(t, "02-nodepools-production-development.yaml")
	spotFirst := seedPools(t, "06-nodepools-spot-first-ondemand-fallback.yaml")
	basic := seedPools(t, "01-nodepool-basic.yaml")[0]

	tainted := basic.DeepCopy()
	tainted.Name = "gpu-team"
	tainted.Spec.Weight = ptr(int32(90))
	tainted.Spec.Template.Spec.Taints = []corev1.Taint{{Key: "team", Value: "gpu", Effect: corev1.TaintEffectNoSchedule}}

	tolerate := func(p *corev1.Pod) {
		p.Spec.Tolerations = []corev1.Toleration{{Key: "team", Operator: corev1.TolerationOpEqual, Value: "gpu", Effect: corev1.TaintEffectNoSchedule}}
	}
	arm := func(p *corev1.Pod) { p.Spec.NodeSelector = map[string]string{wellknown.ArchLabel: wellknown.ArchARM64} }
	gpu := func(p *corev1.Pod) {
		p.Spec.Containers[0].Resources.Requests[wellknown.ResourceNVIDIAGPU] = *resourceOf("1")
		p.Spec.Containers[0].Resources.Limits = corev1.ResourceList{wellknown.ResourceNVIDIAGPU: *resourceOf("1")}
	}
	anyCategory := basic.DeepCopy()
	anyCategory.Name = "any"
	anyCategory.Spec.Template.Spec.Requirements = nil

	type check func(t *testing.T, res *solver.Result)
	poolIs := func(name string) check {
		return func(t *testing.T, res *solver.Result) {
			for _, n := range res.Nodes {
				if n.Pool.Name() != name {
					t.Errorf("node %s from pool %s, want %s", n.Name, n.Pool.Name(), name)
				}
			}
		}
	}
	everyType := func(desc string, ok func(*catalog.InstanceType) bool) check {
		return func(t *testing.T, res *solver.Result) {
			for _, n := range res.Nodes {
				for _, it := range n.InstanceTypes {
					if !ok(it) {
						t.Errorf("node %s offers %s, which is not %s", n.Name, it.Name, desc)
					}
				}
			}
		}
	}
	unplaced := func(want string) check {
		return func(t *testing.T, res *solver.Result) {
			if len(res.Nodes) != 0 || len(res.Unplaced) != 1 {
				t.Fatalf("want one unplaced pod and no node, got %d nodes, %d unplaced", len(res.Nodes), len(res.Unplaced))
			}
			for _, err := range res.Unplaced {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("reason %q does not say %q", err, want)
				}
			}
		}
	}

	for _, tc := range []struct {
		name  string
		pools []*karpv1.NodePool
		// full names a pool whose limits are used up.
		full  string
		pods  []*corev1.Pod
		check []check
	}{
		{name: "weight 100 beats weight 10", pools: pools(prodDev...), pods: []*corev1.Pod{podWith("a", "1", "1Gi")}, check: []check{poolIs("production")}},
		{name: "a pod tolerating the taint goes to the tainted pool", pools: pools(basic, tainted), pods: []*corev1.Pod{podWith("a", "1", "1Gi", tolerate)}, check: []check{poolIs("gpu-team")}},
		{name: "a pod not tolerating the taint does not", pools: pools(basic, tainted), pods: []*corev1.Pod{podWith("a", "1", "1Gi")}, check: []check{poolIs("default")}},
		{name: "arm64 selector gives only Graviton types", pools: pools(basic), pods: []*corev1.Pod{podWith("a", "1", "1Gi", arm)},
			check: []check{everyType("arm64", func(it *catalog.InstanceType) bool {
				return it.Labels[wellknown.ArchLabel] == wellknown.ArchARM64 && it.Labels[wellknown.InstanceCPUManufacturerLabel] == "aws"
			})}},
		{name: "a GPU request gives only GPU types", pools: pools(anyCategory), pods: []*corev1.Pod{podWith("a", "1", "1Gi", gpu)},
			check: []check{everyType("an NVIDIA GPU type", func(it *catalog.InstanceType) bool {
				q := it.Allocatable[wellknown.ResourceNVIDIAGPU]
				return q.Value() >= 1
			})}},
		{name: "500 vCPU fits nothing in the basic pool", pools: pools(basic), pods: []*corev1.Pod{podWith("huge", "500", "1Gi")},
			check: []check{unplaced("NodePool default: no instance type has room for the pod's requests (cpu=500000m")}},
		{name: "a pod that tolerates nothing and a pool that is all tainted", pools: pools(tainted), pods: []*corev1.Pod{podWith("a", "1", "1Gi")},
			check: []check{unplaced("NodePool gpu-team: the pod does not tolerate taint team=gpu:NoSchedule")}},
		{name: "conflicting requirements", pools: pools(prodDev[0]), pods: []*corev1.Pod{podWith("a", "1", "1Gi", func(p *corev1.Pod) {
			p.Spec.NodeSelector = map[string]string{wellknown.CapacityTypeLabel: wellknown.CapacityTypeSpot}
		})}, check: []check{unplaced("NodePool production: incompatible requirements")}},
		{name: "spot first while spot has room", pools: pools(spotFirst...), pods: inflate(t, 3), check: []check{poolIs("spot-first")}},
		{name: "a pool at its cpu limit is skipped for the next", pools: pools(spotFirst...), full: "spot-first", pods: inflate(t, 3), check: []check{poolIs("on-demand-fallback")}},
		{name: "every pool at its limit", pools: pools(spotFirst[0]), full: "spot-first", pods: []*corev1.Pod{podWith("a", "1", "1Gi")},
			check: []check{unplaced("NodePool spot-first: the pool's limits leave no room")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ps []*solver.Pool
			for _, np := range tc.pools {
				p := pool(t, c, np)
				if np.Name == tc.full {
					p.Remaining = corev1.ResourceList{corev1.ResourceCPU: *resourceOf("0"), corev1.ResourceMemory: *resourceOf("0")}
				}
				ps = append(ps, p)
			}
			res := solver.Solve(solver.Input{Pods: tc.pods, Pools: ps})
			for _, chk := range tc.check {
				chk(t, res)
			}
		})
	}
}

// TestInFlightRoomIsUsedFirst: pods that fit the room left on a claim bought
// earlier join it at no cost; the rest get a new node.
func TestInFlightRoomIsUsedFirst(t *testing.T) {
	c := staticCatalog(t)
	p := pool(t, c, seedPools(t, "01-nodepool-basic.yaml")[0])
	inflight := &solver.InFlight{Name: "default-abcde", Pool: p, Requirements: p.Requirements,
		Room: corev1.ResourceList{corev1.ResourceCPU: *resourceOf("2500m"), corev1.ResourceMemory: *resourceOf("8Gi"), corev1.ResourcePods: *resourceOf("10")}}
	res := solver.Solve(solver.Input{Pods: inflate(t, 4), Pools: []*solver.Pool{p}, InFlight: []*solver.InFlight{inflight}})
	if got := len(res.Joined["default-abcde"]); got != 2 {
		t.Errorf("%d pods joined the in-flight claim with room for 2", got)
	}
	placed := 0
	for _, n := range res.Nodes {
		placed += len(n.Pods)
	}
	if placed != 2 || len(res.Unplaced) != 0 {
		t.Errorf("%d pods on new nodes, %d unplaced; want the other 2 on new nodes", placed, len(res.Unplaced))
	}
}

// TestLimitsOnOneResource: a pool that limits cpu only (seed 06) leaves
// memory unlimited, and stops at its cpu.
func TestLimitsOnOneResource(t *testing.T) {
	c := staticCatalog(t)
	spotFirst := seedPools(t, "06-nodepools-spot-first-ondemand-fallback.yaml")[0]
	p := pool(t, c, spotFirst)
	p.Remaining = corev1.ResourceList{corev1.ResourceCPU: *resourceOf("8")}
	res := solver.Solve(solver.Input{Pods: inflate(t, 20), Pools: []*solver.Pool{p}})
	placed, cpu := 0, int64(0)
	for _, n := range res.Nodes {
		placed += len(n.Pods)
		cpu += n.InstanceTypes[0].Capacity.Cpu().Value()
	}
	if placed == 0 {
		t.Fatalf("a pool limited on cpu alone placed nothing: %v", firstError(res.Unplaced))
	}
	if cpu > 8 {
		t.Errorf("nodes of %d vCPU in a pool limited to 8", cpu)
	}

	// Whichever type the launcher picks, the pool stays within its limit:
	// a claim does not offer types larger than the limits leave room for.
	p.Remaining = corev1.ResourceList{corev1.ResourceCPU: *resourceOf("4")}
	res = solver.Solve(solver.Input{Pods: []*corev1.Pod{podWith("three", "3", "1Gi")}, Pools: []*solver.Pool{p}})
	if len(res.Nodes) != 1 {
		t.Fatalf("%d nodes for one 3-CPU pod in a pool limited to 4 CPU: %v", len(res.Nodes), firstError(res.Unplaced))
	}
	for _, it := range res.Nodes[0].InstanceTypes {
		if it.Capacity.Cpu().Value() > 4 {
			t.Errorf("the claim offers %s (%s vCPU) in a pool limited to 4", it.Name, it.Capacity.Cpu())
		}
	}
	for _, err := range res.Unplaced {
		if !strings.Contains(err.Error(), "the pool's limits leave no room (remaining cpu=") || strings.Contains(err.Error(), "memory") {
			t.Errorf("reason %q", err)
		}
	}
}

// TestLimitsHoldForTheWholeBatch: however many nodes one batch plans, the
// pool's limits hold with every claim counted at the largest type it offers,
// for every resource the limits name, the node count included.
func TestLimitsHoldForTheWholeBatch(t *testing.T) {
	c := staticCatalog(t)
	basic := seedPools(t, "01-nodepool-basic.yaml")[0]
	anyCategory := basic.DeepCopy()
	anyCategory.Name = "any"
	anyCategory.Spec.Template.Spec.Requirements = nil
	gpu := func(p *corev1.Pod) {
		p.Spec.Containers[0].Resources.Requests[wellknown.ResourceNVIDIAGPU] = *resourceOf("1")
		p.Spec.Containers[0].Resources.Limits = corev1.ResourceList{wellknown.ResourceNVIDIAGPU: *resourceOf("1")}
	}
	gpuPods := make([]*corev1.Pod, 6)
	for i := range gpuPods {
		gpuPods[i] = podWith(fmt.Sprintf("train-%d", i), "2", "8Gi", gpu)
	}
	for _, tc := range []struct {
		name   string
		np     *karpv1.NodePool
		limits corev1.ResourceList
		pods   []*corev1.Pod
		// binds: the limits leave pods unplaced; otherwise they leave
		// headroom that every claim of the batch could count on alone.
		binds bool
	}{
		{name: "cpu headroom is shared", np: basic, limits: corev1.ResourceList{corev1.ResourceCPU: *resourceOf("20")}, pods: inflate(t, 10)},
		{name: "memory headroom is shared", np: basic, limits: corev1.ResourceList{corev1.ResourceMemory: *resourceOf("96Gi")}, pods: inflate(t, 12)},
		{name: "cpu", np: basic, limits: corev1.ResourceList{corev1.ResourceCPU: *resourceOf("20")}, pods: inflate(t, 40), binds: true},
		{name: "memory", np: basic, limits: corev1.ResourceList{corev1.ResourceMemory: *resourceOf("48Gi")}, pods: inflate(t, 40), binds: true},
		{name: "nodes", np: basic, limits: corev1.ResourceList{solver.ResourceNodes: *resourceOf("3")}, pods: inflate(t, 2000), binds: true},
		{name: "cpu and nodes", np: basic, limits: corev1.ResourceList{corev1.ResourceCPU: *resourceOf("64"), solver.ResourceNodes: *resourceOf("2")}, pods: inflate(t, 100), binds: true},
		{name: "gpus", np: anyCategory, limits: corev1.ResourceList{wellknown.ResourceNVIDIAGPU: *resourceOf("3")}, pods: gpuPods, binds: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := pool(t, c, tc.np)
			p.Remaining = tc.limits
			res := solver.Solve(solver.Input{Pods: tc.pods, Pools: []*solver.Pool{p}})
			if len(res.Nodes) == 0 {
				t.Fatalf("nothing placed: %v", firstError(res.Unplaced))
			}
			if tc.binds != (len(res.Unplaced) > 0) {
				t.Fatalf("%d pods unplaced; want the limits %v to bind: %v", len(res.Unplaced), tc.limits, tc.binds)
			}
			counted := corev1.ResourceList{solver.ResourceNodes: *resource.NewQuantity(int64(len(res.Nodes)), resource.DecimalSI)}
			for _, n := range res.Nodes {
				if len(n.InstanceTypes) == 0 {
					t.Fatalf("node %s offers no instance type", n.Name)
				}
				for name := range tc.limits {
					most := resource.Quantity{}
					for _, it := range n.InstanceTypes {
						if q, ok := it.Capacity[name]; ok && q.Cmp(most) > 0 {
							most = q.DeepCopy()
						}
					}
					if name == solver.ResourceNodes {
						continue
					}
					sum := counted[name]
					sum.Add(most)
					counted[name] = sum
				}
			}
			for name, limit := range tc.limits {
				if got := counted[name]; got.Cmp(limit) > 0 {
					t.Errorf("the batch's claims, each at its largest type, hold %s of %s; the limit is %s", got.String(), name, limit.String())
				}
			}
			for _, err := range res.Unplaced {
				if !strings.Contains(err.Error(), "limits") {
					t.Errorf("an unplaced pod's reason does not name the limits: %v", err)
				}
				break
			}
		})
	}
}
