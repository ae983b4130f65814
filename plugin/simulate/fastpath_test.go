package simulate_test

import (
	"context"
	"fmt"
	"math/rand"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/plugin/simulate"
	"github.com/tailor-project/tailor/plugin/solver"
)

// TestFastPathAnswersAsTheFilterPlugins: a pod without inter-pod
// constraints, ports or claims is judged on a planned node by its taints
// alone, unless a running pod's required anti-affinity selects it. Over
// random worlds, a solve that takes the fast path decides exactly what a
// solve that sends every pod through the profile's Filter plugins decides:
// random NoSchedule, NoExecute and PreferNoSchedule taints on the pool and
// on the running nodes, random tolerations and labels on the pending pods,
// some of which have anti-affinity of their own, next to Karpenter's
// diverse pods running (anti-affinity to app: nginx among them).
func TestFastPathAnswersAsTheFilterPlugins(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	prof, err := simulate.DefaultProfile()
	if err != nil {
		t.Fatal(err)
	}
	taints := []corev1.Taint{
		{Key: "dedicated", Value: "batch", Effect: corev1.TaintEffectNoSchedule},
		{Key: "gpu", Effect: corev1.TaintEffectNoExecute},
		{Key: "spot", Value: "true", Effect: corev1.TaintEffectPreferNoSchedule},
	}
	fastSolves := 0
	for seed := int64(1); seed <= 30; seed++ {
		rng := rand.New(rand.NewSource(seed))
		some := func(from []corev1.Taint) []corev1.Taint {
			var out []corev1.Taint
			for _, t := range from {
				if rng.Intn(3) == 0 {
					out = append(out, t)
				}
			}
			return out
		}
		pool := testPool()
		pool.NodePool.Spec.Template.Spec.Taints = some(taints)
		nodes, running := runningFleet(t, 6, 40)
		for _, n := range nodes {
			n.Spec.Taints = some(taints)
		}
		pending := randomPods(rng, 60, taints)
		decide := func(slow bool) string {
			snap := simulate.NewSnapshot(nodes, running)
			simulate.AddPlaceholders(snap, []*solver.Pool{pool})
			sim, err := simulate.NewOffline(ctx, prof, snap)
			if err != nil {
				t.Fatal(err)
			}
			if slow {
				simulate.SlowOnly(sim)
			}
			in := input(pool, nodes, running, nil, sim)
			in.Pods = pending
			return describe(solver.Solve(in))
		}
		fast, slow := decide(false), decide(true)
		if fast != slow {
			t.Errorf("seed %d: the fast path decided\n%s\nthe Filter plugins\n%s", seed, fast, slow)
		}
		fastSolves++
	}
	if fastSolves == 0 {
		t.Fatal("no world was tried")
	}
}

// randomPods are pending pods with random labels, requests and
// tolerations of the taints; one in five prefers no company: required
// anti-affinity by hostname to its own app, which takes it off the fast
// path and puts a term on the nodes it lands on.
func randomPods(rng *rand.Rand, n int, taints []corev1.Taint) []*corev1.Pod {
	apps := []string{"web", "api", "nginx", "batch"}
	cpus := []string{"100m", "250m", "500m", "1"}
	var pods []*corev1.Pod
	for i := range n {
		name := fmt.Sprintf("pending-%d", i)
		app := apps[rng.Intn(len(apps))]
		p := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID(name), Labels: map[string]string{"app": app}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
				corev1.ResourceCPU: resource.MustParse(cpus[rng.Intn(len(cpus))]), corev1.ResourceMemory: resource.MustParse("256Mi"),
			}}}}},
		}
		for _, t := range taints {
			switch rng.Intn(4) {
			case 0:
				p.Spec.Tolerations = append(p.Spec.Tolerations, corev1.Toleration{Key: t.Key, Operator: corev1.TolerationOpExists})
			case 1:
				p.Spec.Tolerations = append(p.Spec.Tolerations, corev1.Toleration{Key: t.Key, Operator: corev1.TolerationOpEqual, Value: t.Value, Effect: t.Effect})
			}
		}
		if rng.Intn(5) == 0 {
			p.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
				TopologyKey: wellknown.HostnameLabel, LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": app}},
			}}}}
		}
		pods = append(pods, p)
	}
	return pods
}
