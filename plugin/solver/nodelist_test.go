package solver

import (
	"fmt"
	"math/rand"
	"sort"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/requirements"
	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/launcher/catalog"
)

// TestNodeListSkipsOnlyWhatTryJoinRefuses: the node list skips ranges of
// new nodes by bounds of what they could take and what growing costs.
// Over random catalogs whose prices do not follow size (a larger type may
// cost less in a zone) and random batches in which many pods must be
// alone, a solve that skips decides exactly what a solve that weighs
// every node for every pod decides.
func TestNodeListSkipsOnlyWhatTryJoinRefuses(t *testing.T) {
	for seed := int64(1); seed <= 25; seed++ {
		rng := rand.New(rand.NewSource(seed))
		pool := randomPool(rng)
		pods := randomBatch(rng, 150+rng.Intn(250))
		in := Input{Pods: pods, Pools: []*Pool{pool}}
		skipping, full := describePlan(solve(in, false)), describePlan(solve(in, true))
		if skipping != full {
			t.Errorf("seed %d: skipping decided\n%s\nweighing every node\n%s", seed, skipping, full)
		}
	}
}

func randomPool(rng *rand.Rand) *Pool {
	var its []*catalog.InstanceType
	for i := range 12 + rng.Intn(20) {
		cpu := int64(1 + rng.Intn(48))
		memGi := cpu * int64([]int{1, 2, 4, 8}[rng.Intn(4)])
		name := fmt.Sprintf("t%d", i)
		list := corev1.ResourceList{
			corev1.ResourceCPU:    *resource.NewQuantity(cpu, resource.DecimalSI),
			corev1.ResourceMemory: *resource.NewQuantity(memGi<<30, resource.BinarySI),
			corev1.ResourcePods:   *resource.NewQuantity(10+cpu*4, resource.DecimalSI),
		}
		it := &catalog.InstanceType{Name: name, Capacity: list, Allocatable: list,
			Labels: map[string]string{wellknown.InstanceTypeLabel: name, wellknown.ArchLabel: wellknown.ArchAMD64, wellknown.OSLabel: wellknown.OSLinux}}
		for _, z := range []string{"z1", "z2", "z3"} {
			price := (0.04*float64(cpu) + 0.005*float64(memGi)) * (0.6 + 0.8*rng.Float64())
			it.Offerings = append(it.Offerings, catalog.Offering{Zone: z, CapacityType: wellknown.CapacityTypeOnDemand, Price: price, PriceKnown: true, Available: true})
		}
		its = append(its, it)
	}
	np := &karpv1.NodePool{ObjectMeta: metav1.ObjectMeta{Name: "default"}}
	return &Pool{NodePool: np, Requirements: requirements.FromNodePool(np), InstanceTypes: its}
}

// randomBatch is pods of random requests; a third must be alone on their
// node, so the batch opens many nodes that the rest then fill or grow.
func randomBatch(rng *rand.Rand, n int) []*corev1.Pod {
	cpus := []string{"100m", "250m", "500m", "1", "1500m", "3"}
	mems := []string{"100Mi", "256Mi", "512Mi", "1Gi", "2Gi", "4Gi", "12Gi"}
	var pods []*corev1.Pod
	for i := range n {
		name := fmt.Sprintf("p%d", i)
		app := fmt.Sprintf("app%d", rng.Intn(5))
		p := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID(name), Labels: map[string]string{"app": app}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
				corev1.ResourceCPU: resource.MustParse(cpus[rng.Intn(len(cpus))]), corev1.ResourceMemory: resource.MustParse(mems[rng.Intn(len(mems))]),
			}}}}},
		}
		if rng.Intn(3) == 0 {
			p.Labels = map[string]string{"app": "alone"}
			p.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
				TopologyKey: wellknown.HostnameLabel, LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "alone"}},
			}}}}
		}
		pods = append(pods, p)
	}
	return pods
}

func describePlan(res *Result) string {
	var parts []string
	for _, n := range res.Nodes {
		names := make([]string, len(n.Pods))
		for i, p := range n.Pods {
			names[i] = p.Name
		}
		sort.Strings(names)
		parts = append(parts, fmt.Sprintf("%s $%.4f <- %s", n.InstanceTypes[0].Name, n.Price, strings.Join(names, ",")))
	}
	for p, err := range res.Unplaced {
		parts = append(parts, fmt.Sprintf("unplaced %s: %v", p.Name, err))
	}
	sort.Strings(parts)
	return strings.Join(parts, "\n")
}
