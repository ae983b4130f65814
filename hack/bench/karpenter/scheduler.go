package main

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"
	fakecr "sigs.k8s.io/controller-runtime/pkg/client/fake"

	v1 "sigs.k8s.io/karpenter/pkg/apis/v1"
	"sigs.k8s.io/karpenter/pkg/cloudprovider"
	"sigs.k8s.io/karpenter/pkg/cloudprovider/fake"
	"sigs.k8s.io/karpenter/pkg/controllers/provisioning/scheduling"
	"sigs.k8s.io/karpenter/pkg/controllers/state"
	"sigs.k8s.io/karpenter/pkg/events"
	"sigs.k8s.io/karpenter/pkg/operator/injection"
	"sigs.k8s.io/karpenter/pkg/operator/options"
	"sigs.k8s.io/karpenter/pkg/test"
)

// instanceTypeCount is how many of the fake provider's types Karpenter's
// scheduling benchmark offers.
const instanceTypeCount = 400

// benchContext is the context Karpenter's benchmark solves in: the
// provisioner's controller name (its metrics are labelled with it) and the
// test options.
func benchContext() context.Context {
	return options.ToContext(injection.WithControllerName(context.Background(), "provisioner"), test.Options())
}

// benchPool is the NodePool of Karpenter's benchmark: the test defaults
// with limits too high to bind. Built once so every solve sees the same
// pool (test.NodePool draws a random name).
func benchPool() *v1.NodePool {
	return test.NodePool(v1.NodePool{Spec: v1.NodePoolSpec{Limits: v1.Limits{
		corev1.ResourceCPU:    resource.MustParse("10000000"),
		corev1.ResourceMemory: resource.MustParse("10000000Gi"),
	}}})
}

// newScheduler builds a scheduler the way Karpenter's scheduling benchmark
// does (a fake client and cluster state, no existing nodes, no daemons,
// five concurrent reconciles), but for one solve only: the benchmark
// reuses one scheduler across its iterations, so its later solves start
// with the earlier solves' NodeClaims. What a fresh scheduler costs is
// part of what a provisioning batch costs, so callers time it.
func newScheduler(ctx context.Context, pool *v1.NodePool, types []*cloudprovider.InstanceType, pods []*corev1.Pod) (*scheduling.Scheduler, error) {
	provider := fake.NewCloudProvider()
	provider.InstanceTypes = types
	kube := fakecr.NewFakeClient()
	clk := &clock.RealClock{}
	cluster := state.NewCluster(clk, kube, provider)
	byPool := map[string][]*cloudprovider.InstanceType{pool.Name: types}
	opts := []scheduling.Options{scheduling.NumConcurrentReconciles(5)}
	topology, err := scheduling.NewTopology(ctx, kube, cluster, nil, []*v1.NodePool{pool}, byPool, pods, opts...)
	if err != nil {
		return nil, fmt.Errorf("building Karpenter's topology: %w", err)
	}
	return scheduling.NewScheduler(ctx, kube, []*v1.NodePool{pool}, cluster, nil, topology, byPool, nil,
		events.NewRecorder(&record.FakeRecorder{}), clk, nil, opts...), nil
}
