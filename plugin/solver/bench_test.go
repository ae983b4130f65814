package solver_test

import (
	"context"
	"fmt"
	"math/rand"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/requirements"
	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/launcher/catalog"
	"github.com/tailor-project/tailor/plugin/simulate"
	"github.com/tailor-project/tailor/plugin/solver"
)

// The workload of Karpenter's scheduling benchmark, so the two can be run
// side by side: 400 instance types where type i has i+1 vCPU, 2(i+1) GiB and
// 10(i+1) pods, priced $0.1 per vCPU and $0.1 per GiB, in three zones; pods
// in five equal parts (no constraint; zonal spread; hostname spread; zonal
// self-affinity; hostname self-anti-affinity) with CPU and memory requests
// drawn from fixed sets. The types only approximate Karpenter's, which
// are also offered as spot, are priced per 1e9 bytes of memory and hold
// back 100m CPU and 10Mi as kube-reserved; the side-by-side run in
// hack/bench (-compare-only) solves with Karpenter's own types and pods.

func benchmarkTypes() []*catalog.InstanceType {
	types := make([]*catalog.InstanceType, 400)
	for i := range types {
		n := int64(i + 1)
		name := fmt.Sprintf("fake-it-%d", i)
		list := corev1.ResourceList{
			corev1.ResourceCPU:    *resource.NewQuantity(n, resource.DecimalSI),
			corev1.ResourceMemory: *resource.NewQuantity(2*n<<30, resource.BinarySI),
			corev1.ResourcePods:   *resource.NewQuantity(10*n, resource.DecimalSI),
		}
		price := 0.1*float64(n) + 0.1*float64(2*n)
		it := &catalog.InstanceType{
			Name:        name,
			Labels:      map[string]string{wellknown.InstanceTypeLabel: name, wellknown.ArchLabel: wellknown.ArchAMD64, wellknown.OSLabel: wellknown.OSLinux},
			Capacity:    list,
			Allocatable: list,
		}
		for _, z := range zones {
			it.Offerings = append(it.Offerings, catalog.Offering{Zone: z.Name, CapacityType: wellknown.CapacityTypeOnDemand, Price: price, PriceKnown: true, Available: true})
		}
		types[i] = it
	}
	return types
}

func benchmarkPool(types []*catalog.InstanceType) *solver.Pool {
	np := &karpv1.NodePool{ObjectMeta: metav1.ObjectMeta{Name: "default"}}
	return &solver.Pool{NodePool: np, Requirements: requirements.FromNodePool(np), InstanceTypes: types}
}

func benchmarkPods(n int) []*corev1.Pod {
	rng := rand.New(rand.NewSource(42))
	cpus := []string{"100m", "250m", "500m", "1", "1.5"}
	mems := []string{"100Mi", "256Mi", "512Mi", "1Gi", "2Gi", "4Gi"}
	selector := func(app string) *metav1.LabelSelector {
		return &metav1.LabelSelector{MatchLabels: map[string]string{"app": app}}
	}
	parts := []func(app string, p *corev1.Pod){
		func(string, *corev1.Pod) {},
		func(app string, p *corev1.Pod) {
			p.Spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{MaxSkew: 1, TopologyKey: wellknown.ZoneLabel, WhenUnsatisfiable: corev1.DoNotSchedule, LabelSelector: selector(app)}}
		},
		func(app string, p *corev1.Pod) {
			p.Spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{MaxSkew: 1, TopologyKey: wellknown.HostnameLabel, WhenUnsatisfiable: corev1.DoNotSchedule, LabelSelector: selector(app)}}
		},
		func(app string, p *corev1.Pod) {
			p.Spec.Affinity = &corev1.Affinity{PodAffinity: &corev1.PodAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{TopologyKey: wellknown.ZoneLabel, LabelSelector: selector(app)}}}}
		},
		func(app string, p *corev1.Pod) {
			p.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{TopologyKey: wellknown.HostnameLabel, LabelSelector: selector(app)}}}}
		},
	}
	pods := make([]*corev1.Pod, 0, n)
	for i := 0; i < n; i++ {
		part := i * len(parts) / n
		app := fmt.Sprintf("part-%d", part)
		p := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("pod-%d", i), Namespace: "default", UID: types.UID(fmt.Sprintf("pod-%d", i)), Labels: map[string]string{"app": app},
				OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: app, UID: types.UID(app), Controller: ptr(true)}}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
				corev1.ResourceCPU:    resource.MustParse(cpus[rng.Intn(len(cpus))]),
				corev1.ResourceMemory: resource.MustParse(mems[rng.Intn(len(mems))]),
			}}}}},
		}
		parts[part](app, p)
		pods = append(pods, p)
	}
	return pods
}

func solveWithFramework(b *testing.B, pools []*solver.Pool, pods []*corev1.Pod) *solver.Result {
	prof, err := simulate.DefaultProfile()
	if err != nil {
		b.Fatal(err)
	}
	snap := simulate.NewSnapshot(nil, nil)
	simulate.AddPlaceholders(snap, pools)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sim, err := simulate.New(ctx, simulate.OfflineDeps(), prof, snap)
	if err != nil {
		b.Fatal(err)
	}
	return solver.Solve(solver.Input{Pods: pods, Pools: pools, Checker: sim, EmptyDomains: true})
}

// BenchmarkScheduling is Karpenter's workload; pods/s, nodes and $/h are
// reported per solve.
func BenchmarkScheduling(b *testing.B) {
	pool := benchmarkPool(benchmarkTypes())
	for _, n := range []int{100, 1000, 5000} {
		b.Run(fmt.Sprintf("%dpods", n), func(b *testing.B) { benchmarkSolve(b, pool, n) })
	}
}

// BenchmarkRealCatalog solves the same pods against every type the basic
// seed pool allows.
func BenchmarkRealCatalog(b *testing.B) {
	p := pool(b, staticCatalog(b), seedPools(b, "01-nodepool-basic.yaml")[0])
	for _, n := range []int{100, 1000, 5000} {
		b.Run(fmt.Sprintf("%dpods", n), func(b *testing.B) { benchmarkSolve(b, p, n) })
	}
}

// BenchmarkLimitedPool solves the same pods in the basic seed pool with
// its limits (cpu 1000, memory 1000Gi) in force, none of them used yet, so
// the limits path is measured: every node opened is counted at its
// largest type's capacity, and once the limits are reached the pods left
// are refused. The pods placed and refused are reported per solve.
func BenchmarkLimitedPool(b *testing.B) {
	np := seedPools(b, "01-nodepool-basic.yaml")[0]
	if len(np.Spec.Limits) == 0 {
		b.Fatal("the basic seed pool has no limits")
	}
	p := pool(b, staticCatalog(b), np)
	p.Remaining = corev1.ResourceList(np.Spec.Limits).DeepCopy()
	for _, n := range []int{1000, 5000} {
		b.Run(fmt.Sprintf("%dpods", n), func(b *testing.B) {
			res := measureSolve(b, p, n)
			b.ReportMetric(float64(n-len(res.Unplaced)), "placed")
			b.ReportMetric(float64(len(res.Unplaced)), "unplaced")
		})
	}
}

func benchmarkSolve(b *testing.B, p *solver.Pool, n int) {
	res := measureSolve(b, p, n)
	if len(res.Unplaced) > 0 {
		b.Fatalf("%d pods unplaced, e.g. %v", len(res.Unplaced), firstError(res.Unplaced))
	}
}

// measureSolve solves n pods in p each iteration and reports pods/s, and
// the last plan's nodes and price.
func measureSolve(b *testing.B, p *solver.Pool, n int) *solver.Result {
	pods := benchmarkPods(n)
	pools := []*solver.Pool{p}
	var res *solver.Result
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		res = solveWithFramework(b, pools, pods)
	}
	b.ReportMetric(float64(n)/(b.Elapsed().Seconds()/float64(b.N)), "pods/s")
	b.ReportMetric(float64(len(res.Nodes)), "nodes")
	b.ReportMetric(res.Price(), "$/h")
	return res
}

func firstError(m map[*corev1.Pod]error) error {
	for _, err := range m {
		return err
	}
	return nil
}
