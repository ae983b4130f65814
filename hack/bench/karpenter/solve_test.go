package main

import (
	"math"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/log"

	"sigs.k8s.io/karpenter/pkg/cloudprovider/fake"
	"sigs.k8s.io/karpenter/pkg/operator/logging"
)

// A solve that left pods out, or priced a claim at no offering, would
// still print a time; this makes sure the comparison's Karpenter side
// places all of testdata/diverse-100.json (workload.DiversePods(100),
// checked against its generator by hack/bench's tests), each pod once.
func TestSolvePlacesEveryPod(t *testing.T) {
	log.SetLogger(logging.NopLogger)
	pods, err := readPods("testdata/diverse-100.json")
	if err != nil {
		t.Fatal(err)
	}
	s, res, err := solveOnce(benchPool(), fake.InstanceTypes(instanceTypeCount), pods)
	if err != nil {
		t.Fatal(err)
	}
	if s.Unplaced != 0 {
		t.Fatalf("%d pods unplaced: %v", s.Unplaced, res.PodErrors)
	}
	seen := map[string]int{}
	for _, nc := range res.NewNodeClaims {
		if p := claimPrice(nc); math.IsInf(p, 1) || p <= 0 {
			t.Errorf("a claim priced %v", p)
		}
		for _, p := range nc.Pods {
			seen[string(p.UID)]++
		}
	}
	for _, p := range pods {
		if seen[string(p.UID)] != 1 {
			t.Errorf("pod %s is on %d claims", p.Name, seen[string(p.UID)])
		}
	}
	// The 20 pods with hostname anti-affinity to each other need a node each.
	if s.Nodes < 20 {
		t.Errorf("%d nodes, want at least 20", s.Nodes)
	}
}
