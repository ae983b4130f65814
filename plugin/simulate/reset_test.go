package simulate_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	resourcehelper "k8s.io/component-helpers/resource"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/requirements"
	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/launcher/catalog"
	"github.com/tailor-project/tailor/plugin/simulate"
	"github.com/tailor-project/tailor/plugin/solver"
	"github.com/tailor-project/tailor/test/workload"
)

var zones = []string{"us-east-1a", "us-east-1b", "us-east-1c"}

// TestResetSolvesAsAFreshSnapshot: a solve on a frozen snapshot Reset
// without some nodes decides what a solve on a snapshot built without them
// decides, however many solves ran on it before. Karpenter's diverse pods
// (spread, affinity, anti-affinity) run on the nodes, and each node's pods
// in turn are placed on the others' room or on new nodes.
func TestResetSolvesAsAFreshSnapshot(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pool := testPool()
	nodes, pods := runningFleet(t, 20, 200)
	// A pod being deleted counts for inter-pod affinity but not for
	// topology spread; a pod with a claim is PreFiltered on each view.
	for _, p := range pods {
		if p.Spec.NodeName == nodes[3].Name && len(p.Spec.TopologySpreadConstraints) > 0 {
			now := metav1.Now()
			p.DeletionTimestamp = &now
			break
		}
	}
	for _, p := range pods {
		if p.Spec.NodeName == nodes[5].Name {
			p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: "data", VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}})
			break
		}
	}
	prof, err := simulate.DefaultProfile()
	if err != nil {
		t.Fatal(err)
	}
	frozen := simulate.NewSnapshot(nodes, pods)
	simulate.AddPlaceholders(frozen, []*solver.Pool{pool})
	frozen.Freeze()
	reused, err := simulate.NewOffline(ctx, prof, frozen)
	if err != nil {
		t.Fatal(err)
	}
	// Each node alone, then pairs, as single-node and multi-node
	// consolidation take them away.
	var cases [][]string
	for _, n := range nodes {
		cases = append(cases, []string{n.Name})
	}
	for i := 0; i+1 < len(nodes); i += 3 {
		cases = append(cases, []string{nodes[i].Name, nodes[i+1].Name})
	}
	for _, names := range cases {
		without := sets.New(names...)
		var keptNodes []*corev1.Node
		for _, n := range nodes {
			if !without.Has(n.Name) {
				keptNodes = append(keptNodes, n)
			}
		}
		var kept []*corev1.Pod
		for _, p := range pods {
			if !without.Has(p.Spec.NodeName) {
				kept = append(kept, p)
			}
		}
		fresh := simulate.NewSnapshot(keptNodes, kept)
		simulate.AddPlaceholders(fresh, []*solver.Pool{pool})
		freshSim, err := simulate.NewOffline(ctx, prof, fresh)
		if err != nil {
			t.Fatal(err)
		}
		want := describe(solver.Solve(input(pool, keptNodes, pods, without, freshSim)))

		reused.Reset(without)
		got := describe(solver.Solve(input(pool, keptNodes, pods, without, reused)))
		if got != want {
			t.Errorf("without %v:\nafter Reset: %s\nfresh:       %s", names, got, want)
		}
	}
}

// TestResetLeavesTheFrozenNodesAlone: what a solve adds goes on copies.
func TestResetLeavesTheFrozenNodesAlone(t *testing.T) {
	nodes, pods := runningFleet(t, 3, 20)
	snap := simulate.NewSnapshot(nodes, pods)
	snap.Freeze()
	before := map[string]int{}
	for _, n := range nodes {
		ni, err := snap.Get(n.Name)
		if err != nil {
			t.Fatal(err)
		}
		before[n.Name] = len(ni.GetPods())
	}
	snap.Reset(sets.New(nodes[1].Name))
	if _, err := snap.Get(nodes[1].Name); err == nil {
		t.Errorf("node %s was taken away but is still there", nodes[1].Name)
	}
	if list, _ := snap.List(); len(list) != 2 {
		t.Errorf("%d nodes listed, want 2", len(list))
	}
	extra := pods[0].DeepCopy()
	extra.Name, extra.UID = "extra", "extra"
	if err := snap.AddPod(nodes[0].Name, extra); err != nil {
		t.Fatal(err)
	}
	ni, _ := snap.Get(nodes[0].Name)
	if got := len(ni.GetPods()); got != before[nodes[0].Name]+1 {
		t.Errorf("node %s holds %d pods after one was added to %d", nodes[0].Name, got, before[nodes[0].Name])
	}
	snap.Reset(nil)
	for _, n := range nodes {
		ni, err := snap.Get(n.Name)
		if err != nil {
			t.Fatalf("node %s is not back after Reset: %v", n.Name, err)
		}
		if got := len(ni.GetPods()); got != before[n.Name] {
			t.Errorf("node %s holds %d pods after Reset, %d when frozen", n.Name, got, before[n.Name])
		}
	}
}

// testPool offers three sizes of one family in three zones.
func testPool() *solver.Pool {
	var types []*catalog.InstanceType
	for i, cpu := range []int64{2, 4, 8} {
		name := fmt.Sprintf("m.size%d", i)
		list := corev1.ResourceList{
			corev1.ResourceCPU:    *resource.NewQuantity(cpu, resource.DecimalSI),
			corev1.ResourceMemory: *resource.NewQuantity(4*cpu<<30, resource.BinarySI),
			corev1.ResourcePods:   *resource.NewQuantity(110, resource.DecimalSI),
		}
		it := &catalog.InstanceType{Name: name, Capacity: list, Allocatable: list,
			Labels: map[string]string{wellknown.InstanceTypeLabel: name, wellknown.ArchLabel: wellknown.ArchAMD64, wellknown.OSLabel: wellknown.OSLinux}}
		for _, z := range zones {
			it.Offerings = append(it.Offerings, catalog.Offering{Zone: z, CapacityType: wellknown.CapacityTypeOnDemand, Price: 0.05 * float64(cpu), PriceKnown: true, Available: true})
		}
		types = append(types, it)
	}
	np := &karpv1.NodePool{ObjectMeta: metav1.ObjectMeta{Name: "default"}}
	return &solver.Pool{NodePool: np, Requirements: requirements.FromNodePool(np), InstanceTypes: types}
}

// runningFleet binds Karpenter's diverse pods to nodes of the largest type,
// round robin over the zones, each pod on the next node with room.
func runningFleet(t *testing.T, nodeCount, podCount int) ([]*corev1.Node, []*corev1.Pod) {
	t.Helper()
	it := testPool().InstanceTypes[2]
	var nodes []*corev1.Node
	free := map[string]corev1.ResourceList{}
	for i := range nodeCount {
		name := fmt.Sprintf("node-%02d", i)
		nodes = append(nodes, &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
				wellknown.HostnameLabel: name, wellknown.ZoneLabel: zones[i%len(zones)], wellknown.NodePoolLabel: "default",
				wellknown.InstanceTypeLabel: it.Name, wellknown.ArchLabel: wellknown.ArchAMD64, wellknown.OSLabel: wellknown.OSLinux,
				wellknown.RegisteredLabel: "true",
			}},
			Status: corev1.NodeStatus{Allocatable: it.Allocatable.DeepCopy(), Capacity: it.Capacity.DeepCopy()},
		})
		free[name] = it.Allocatable.DeepCopy()
	}
	var pods []*corev1.Pod
	for _, p := range workload.DiversePods(podCount) {
		p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "rs", UID: types.UID("rs"), Controller: ptr(true)}}
		req := requests(p)
		for j := range nodes {
			n := nodes[(len(pods)+j)%len(nodes)]
			if fits(free[n.Name], req) {
				for name, q := range req {
					left := free[n.Name][name]
					left.Sub(q)
					free[n.Name][name] = left
				}
				p.Spec.NodeName = n.Name
				pods = append(pods, p)
				break
			}
		}
	}
	if len(pods) < podCount*3/4 {
		t.Fatalf("only %d of %d pods fit the fleet", len(pods), podCount)
	}
	return nodes, pods
}

// input is the solve of the pods of the nodes in without, pending, on the
// room of the nodes kept.
func input(pool *solver.Pool, kept []*corev1.Node, pods []*corev1.Pod, without sets.Set[string], checker solver.Checker) solver.Input {
	used := map[string]corev1.ResourceList{}
	var pending []*corev1.Pod
	for _, p := range pods {
		if without.Has(p.Spec.NodeName) {
			copied := p.DeepCopy()
			copied.Spec.NodeName = ""
			pending = append(pending, copied)
			continue
		}
		if used[p.Spec.NodeName] == nil {
			used[p.Spec.NodeName] = corev1.ResourceList{}
		}
		for name, q := range requests(p) {
			sum := used[p.Spec.NodeName][name]
			sum.Add(q)
			used[p.Spec.NodeName][name] = sum
		}
	}
	var room []*solver.InFlight
	for _, n := range kept {
		left := n.Status.Allocatable.DeepCopy()
		for name, q := range used[n.Name] {
			l := left[name]
			l.Sub(q)
			left[name] = l
		}
		room = append(room, &solver.InFlight{Name: n.Name, Pool: pool, Requirements: requirements.FromLabels(n.Labels), Labels: n.Labels, Taints: n.Spec.Taints, Room: left})
	}
	return solver.Input{Pods: pending, Pools: []*solver.Pool{pool}, InFlight: room, Checker: checker, EmptyDomains: true}
}

// describe spells a result by pod names, so two solves of copies compare.
func describe(res *solver.Result) string {
	var parts []string
	for name, pods := range res.Joined {
		parts = append(parts, fmt.Sprintf("%s<-%s", name, podNames(pods)))
	}
	for _, n := range res.Nodes {
		types := make([]string, len(n.InstanceTypes))
		for i, it := range n.InstanceTypes {
			types[i] = it.Name
		}
		parts = append(parts, fmt.Sprintf("new(%s $%.2f)<-%s", strings.Join(types, "|"), n.Price, podNames(n.Pods)))
	}
	for p, err := range res.Unplaced {
		parts = append(parts, fmt.Sprintf("unplaced %s: %v", p.Name, err))
	}
	sort.Strings(parts)
	return strings.Join(parts, "; ")
}

func podNames(pods []*corev1.Pod) string {
	names := make([]string, len(pods))
	for i, p := range pods {
		names[i] = p.Name
	}
	sort.Strings(names)
	return strings.Join(names, ",")
}

func requests(p *corev1.Pod) corev1.ResourceList {
	out := resourcehelper.PodRequests(p, resourcehelper.PodResourcesOptions{})
	out[corev1.ResourcePods] = *resource.NewQuantity(1, resource.DecimalSI)
	return out
}

func fits(free, req corev1.ResourceList) bool {
	for name, q := range req {
		if f, ok := free[name]; !ok || f.Cmp(q) < 0 {
			return false
		}
	}
	return true
}

func ptr[T any](v T) *T { return &v }
