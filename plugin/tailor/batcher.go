package tailor

import (
	"context"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"

	pluginmetrics "github.com/tailor-project/tailor/plugin/metrics"
)

// batcher gathers the pods PostFilter hands over and passes them to solve
// together: once no pod joined for idle, or max after the first joined.
// Packing pods that arrive together in one solve is what lets ten replicas
// share a node instead of each getting their own.
type batcher struct {
	idle, max time.Duration
	solve     func(ctx context.Context, pods []*corev1.Pod)
	// waitFor, when set, keeps an idle batch open until max while it
	// reports the pods incomplete: a gang whose other pods are on their
	// way (gangs.go).
	waitFor func(pods []*corev1.Pod) bool

	mu      sync.Mutex
	pods    map[types.UID]*corev1.Pod
	first   time.Time
	last    time.Time
	trigger chan struct{}
}

func newBatcher(idle, max time.Duration, solve func(context.Context, []*corev1.Pod)) *batcher {
	return &batcher{idle: idle, max: max, solve: solve, pods: map[types.UID]*corev1.Pod{}, trigger: make(chan struct{}, 1)}
}

// Add puts a pod in the open batch; it never blocks, so PostFilter stays fast.
// Only a pod new to the batch holds it open for another idle period: the
// scheduler retries a pod it could not place, with backoff, and each retry
// hands it over again; counting those kept a batch of pods that had all
// arrived open until max.
func (b *batcher) Add(pod *corev1.Pod) {
	b.mu.Lock()
	now := time.Now()
	if len(b.pods) == 0 {
		b.first = now
	}
	if _, known := b.pods[pod.UID]; !known {
		b.last = now
	}
	b.pods[pod.UID] = pod
	b.mu.Unlock()
	select {
	case b.trigger <- struct{}{}:
	default:
	}
}

// Len is the number of pods in the open batch.
func (b *batcher) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.pods)
}

// run closes batches until ctx ends.
func (b *batcher) run(ctx context.Context) {
	logger := klog.FromContext(ctx).WithValues("plugin", Name)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-b.trigger:
		case <-timer.C:
		}
		wait, pods := b.due()
		if pods != nil {
			logger.V(2).Info("Batch closed", "pods", len(pods))
			b.solve(ctx, pods)
			wait, _ = b.due()
		}
		if wait > 0 {
			timer.Reset(wait)
		}
	}
}

// due takes the batch if it is due, else says how long until it is.
func (b *batcher) due() (time.Duration, []*corev1.Pod) {
	b.mu.Lock()
	if len(b.pods) == 0 {
		b.mu.Unlock()
		return 0, nil
	}
	now := time.Now()
	idleLeft := b.idle - now.Sub(b.last)
	maxLeft := b.max - now.Sub(b.first)
	if idleLeft > 0 && maxLeft > 0 {
		b.mu.Unlock()
		return min(idleLeft, maxLeft), nil
	}
	if maxLeft > 0 && b.waitFor != nil {
		pods := b.list()
		// Outside the lock: waitFor reads the cluster, and Add must never
		// wait for it.
		b.mu.Unlock()
		if b.waitFor(pods) {
			// A pod that joins wakes the batch, which looks again.
			return maxLeft, nil
		}
		b.mu.Lock()
	}
	// Pods that joined meanwhile go with the batch.
	pods := b.list()
	b.pods = map[types.UID]*corev1.Pod{}
	open := now.Sub(b.first)
	b.mu.Unlock()
	pluginmetrics.BatchClosed(len(pods), open)
	return 0, pods
}

// list is the open batch's pods; b.mu is held.
func (b *batcher) list() []*corev1.Pod {
	pods := make([]*corev1.Pod, 0, len(b.pods))
	for _, p := range b.pods {
		pods = append(pods, p)
	}
	return pods
}
