package main

import (
	"fmt"
	"runtime"
	"time"

	corev1 "k8s.io/api/core/v1"

	v1 "sigs.k8s.io/karpenter/pkg/apis/v1"
	"sigs.k8s.io/karpenter/pkg/cloudprovider"
	"sigs.k8s.io/karpenter/pkg/controllers/provisioning/scheduling"
)

// sample is one timed solve. Tailor's side writes the same form
// (hack/bench/sample.go), so the report treats both alike.
type sample struct {
	Seconds  float64 `json:"seconds"`
	Bytes    uint64  `json:"bytes"`
	Nodes    int     `json:"nodes"`
	Price    float64 `json:"price"`
	Unplaced int     `json:"unplaced"`
}

// solveOnce builds a fresh scheduler and solves pods with it, timing both
// and counting the bytes allocated. The pods slice is copied first, as
// Karpenter's queue sorts it in place.
func solveOnce(pool *v1.NodePool, types []*cloudprovider.InstanceType, pods []*corev1.Pod) (sample, scheduling.Results, error) {
	batch := append([]*corev1.Pod(nil), pods...)
	ctx := benchContext()
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	s, err := newScheduler(ctx, pool, types, batch)
	if err != nil {
		return sample{}, scheduling.Results{}, err
	}
	res, err := s.Solve(ctx, batch)
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	if err != nil {
		return sample{}, scheduling.Results{}, fmt.Errorf("karpenter's solve: %w", err)
	}
	return sample{
		Seconds:  elapsed.Seconds(),
		Bytes:    after.TotalAlloc - before.TotalAlloc,
		Nodes:    len(res.NewNodeClaims),
		Price:    planPrice(res.NewNodeClaims),
		Unplaced: len(res.PodErrors),
	}, res, nil
}
