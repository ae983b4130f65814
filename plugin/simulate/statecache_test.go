package simulate_test

import (
	"context"
	"fmt"
	"math/rand"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tailor-project/tailor/plugin/simulate"
	"github.com/tailor-project/tailor/plugin/solver"
	"github.com/tailor-project/tailor/test/workload"
)

// TestCachedStatesAnswerAsFreshPreFilter: the simulator keeps PreFilter
// results by kind of pod and updates them as pods are placed and nodes
// opened, instead of running PreFilter over every node for every check.
// Over random batches of Karpenter's diverse pods (zonal and hostname
// spreads whose selectors pick other pods, zonal affinity, hostname
// anti-affinity) next to a running fleet, a solve with the cache decides
// exactly what a solve that runs PreFilter afresh for every check decides.
func TestCachedStatesAnswerAsFreshPreFilter(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	prof, err := simulate.DefaultProfile()
	if err != nil {
		t.Fatal(err)
	}
	all := workload.DiversePods(400)
	for seed := int64(1); seed <= 40; seed++ {
		rng := rand.New(rand.NewSource(seed))
		pool := testPool()
		var nodes []*corev1.Node
		var running []*corev1.Pod
		if k := rng.Intn(4); k > 0 {
			nodes, running = runningFleet(t, k, 6*k)
		}
		// A few kinds of pod, many of each, so that states are reused
		// across many placements and node openings.
		kinds := rng.Perm(len(all))[:4+rng.Intn(6)]
		pending := make([]*corev1.Pod, 0, 120)
		for i := range 60 + rng.Intn(60) {
			p := all[kinds[rng.Intn(len(kinds))]].DeepCopy()
			p.Name = fmt.Sprintf("pending-%d", i)
			p.UID = types.UID(p.Name)
			pending = append(pending, p)
		}
		decide := func(uncached bool) string {
			snap := simulate.NewSnapshot(nodes, running)
			simulate.AddPlaceholders(snap, []*solver.Pool{pool})
			sim, err := simulate.NewOffline(ctx, prof, snap)
			if err != nil {
				t.Fatal(err)
			}
			if uncached {
				simulate.Uncached(sim)
			}
			in := input(pool, nodes, running, nil, sim)
			in.Pods = pending
			in.EmptyDomains = true
			return describe(solver.Solve(in))
		}
		cached, fresh := decide(false), decide(true)
		if cached != fresh {
			t.Errorf("seed %d: with cached PreFilter states the solve decided\n%s\nwith fresh ones\n%s", seed, cached, fresh)
		}
	}
}
