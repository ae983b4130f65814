package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/requirements"
	"github.com/tailor-project/tailor/launcher/catalog"
	"github.com/tailor-project/tailor/plugin/preferences"
	"github.com/tailor-project/tailor/plugin/simulate"
	"github.com/tailor-project/tailor/plugin/solver"
)

// comparisonPool is the NodePool of Karpenter's benchmark in Tailor's
// terms: no requirements, and the same limits, too high to bind but
// counted all the same.
func comparisonPool(types []*catalog.InstanceType) *solver.Pool {
	np := &karpv1.NodePool{ObjectMeta: metav1.ObjectMeta{Name: "default"}}
	np.Spec.Limits = karpv1.Limits{
		corev1.ResourceCPU:    resource.MustParse("10000000"),
		corev1.ResourceMemory: resource.MustParse("10000000Gi"),
	}
	return &solver.Pool{
		NodePool:      np,
		Requirements:  requirements.FromNodePool(np),
		InstanceTypes: types,
		Remaining:     corev1.ResourceList(np.Spec.Limits).DeepCopy(),
	}
}

// tailorSolve is one batch the way the plugin solves it: a fresh
// scheduler framework over an empty snapshot with a placeholder node per
// zone, then the solver, with preferences respected.
func tailorSolve(types []*catalog.InstanceType, pods []*corev1.Pod) (*solver.Result, error) {
	prof, err := simulate.DefaultProfile()
	if err != nil {
		return nil, fmt.Errorf("building the scheduler profile: %w", err)
	}
	pools := []*solver.Pool{comparisonPool(types)}
	snap := simulate.NewSnapshot(nil, nil)
	simulate.AddPlaceholders(snap, pools)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sim, err := simulate.New(ctx, simulate.OfflineDeps(), prof, snap)
	if err != nil {
		return nil, fmt.Errorf("building the simulator: %w", err)
	}
	solve := func(pods []*corev1.Pod, wrap func(solver.Checker) solver.Checker) *solver.Result {
		return solver.Solve(solver.Input{Pods: pods, Pools: pools, Checker: wrap(sim), EmptyDomains: true})
	}
	// As the plugin plans under its default policy, Respect, which is also
	// Karpenter's default: a batch with preferences is solved in rounds.
	if slices.ContainsFunc(pods, func(p *corev1.Pod) bool { return preferences.Relaxable(p) > 0 }) {
		snap.Freeze()
	}
	res, _ := preferences.Solve(preferences.Respect, pods, solve, func() { sim.Reset(nil) })
	return res, nil
}

// tailorSample times one solve and counts the bytes it allocates. The
// solver gets a copy of the pods slice, as Karpenter's side does (its
// queue sorts in place), so every solve starts from the same order.
func tailorSample(types []*catalog.InstanceType, pods []*corev1.Pod) (sample, error) {
	pods = append([]*corev1.Pod(nil), pods...)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	res, err := tailorSolve(types, pods)
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	if err != nil {
		return sample{}, err
	}
	return sample{Seconds: elapsed.Seconds(), Bytes: after.TotalAlloc - before.TotalAlloc, Nodes: len(res.Nodes), Price: res.Price(), Unplaced: len(res.Unplaced)}, nil
}

// runTailorSide is this program run as Tailor's side of the comparison,
// in a process of its own as Karpenter's side is: it solves the pods file
// with the types file warmup+runs times and writes the measured samples
// to stdout as JSON.
func runTailorSide(podsPath, typesPath string, warmup, runs int, cpuProfile string) error {
	f, err := readTypesFile(typesPath)
	if err != nil {
		return err
	}
	pods, err := readPodsFile(podsPath)
	if err != nil {
		return err
	}
	types := f.catalogTypes()
	if warmup == 0 && cpuProfile != "" {
		stop, err := startCPUProfile(cpuProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	var samples []sample
	for i := 0; i < warmup+runs; i++ {
		s, err := tailorSample(types, pods)
		if err != nil {
			return err
		}
		if i >= warmup {
			samples = append(samples, s)
		}
		if i+1 == warmup && cpuProfile != "" {
			stop, err := startCPUProfile(cpuProfile)
			if err != nil {
				return err
			}
			defer stop()
		}
	}
	if err := json.NewEncoder(os.Stdout).Encode(samples); err != nil {
		return fmt.Errorf("writing the samples: %w", err)
	}
	return nil
}

// startCPUProfile profiles the process into path until the returned
// function is called.
func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("creating the CPU profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("starting the CPU profile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
