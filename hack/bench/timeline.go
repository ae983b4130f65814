package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
)

// timeline records when each step of a scale-up was seen, by this
// process's clock as the watch events arrive: object timestamps have a
// resolution of one second, too coarse for steps that take a few.
type timeline struct {
	mu    sync.Mutex
	start time.Time
	// first and last sighting of each step, by step.
	first, last map[string]time.Time
	counts      map[string]int
	// seen keeps each object's steps counted once.
	seen map[string]bool
}

// The steps of a scale-up, in the order they happen.
var steps = []string{
	"pod created",
	"NodeClaim created",
	"NodeClaim launched",
	"node registered",
	"NodeClaim initialized",
	"pod bound",
	"pod running",
}

func newTimeline(start time.Time) *timeline {
	return &timeline{start: start, first: map[string]time.Time{}, last: map[string]time.Time{}, counts: map[string]int{}, seen: map[string]bool{}}
}

func (t *timeline) note(step, object string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	key := step + "/" + object
	if t.seen[key] {
		return
	}
	t.seen[key] = true
	now := time.Now()
	if _, ok := t.first[step]; !ok {
		t.first[step] = now
	}
	t.last[step] = now
	t.counts[step]++
}

// watchScaleUp records the steps of pods matching selector and of every
// NodeClaim until ctx ends. A watch the server closes is opened again:
// a step is counted once per object however often it is seen.
func (t *timeline) watchScaleUp(ctx context.Context, kube kubernetes.Interface, c client.WithWatch, selector string) error {
	openPods := func() (watch.Interface, error) {
		return kube.CoreV1().Pods("default").Watch(ctx, metav1.ListOptions{LabelSelector: selector})
	}
	openClaims := func() (watch.Interface, error) { return c.Watch(ctx, &karpv1.NodeClaimList{}) }
	pods, err := openPods()
	if err != nil {
		return fmt.Errorf("watching pods: %w", err)
	}
	claims, err := openClaims()
	if err != nil {
		pods.Stop()
		return fmt.Errorf("watching NodeClaims: %w", err)
	}
	go t.follow(ctx, pods, openPods, t.notePod)
	go t.follow(ctx, claims, openClaims, t.noteClaim)
	return nil
}

// follow feeds the events of w to note, and of a new watch when the
// server closes it, until ctx ends.
func (t *timeline) follow(ctx context.Context, w watch.Interface, open func() (watch.Interface, error), note func(any)) {
	for {
		for ev := range w.ResultChan() {
			if ev.Type != watch.Deleted && ev.Type != watch.Error {
				note(ev.Object)
			}
		}
		w.Stop()
		for {
			if ctx.Err() != nil {
				return
			}
			var err error
			if w, err = open(); err == nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

func (t *timeline) notePod(obj any) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	t.note("pod created", p.Name)
	if p.Spec.NodeName != "" {
		t.note("pod bound", p.Name)
	}
	if p.Status.Phase == corev1.PodRunning {
		t.note("pod running", p.Name)
	}
}

func (t *timeline) noteClaim(obj any) {
	nc, ok := obj.(*karpv1.NodeClaim)
	if !ok {
		return
	}
	t.note("NodeClaim created", nc.Name)
	for _, cond := range nc.Status.Conditions {
		if cond.Status != metav1.ConditionTrue {
			continue
		}
		switch cond.Type {
		case karpv1.ConditionTypeLaunched:
			t.note("NodeClaim launched", nc.Name)
		case karpv1.ConditionTypeRegistered:
			t.note("node registered", nc.Name)
		case karpv1.ConditionTypeInitialized:
			t.note("NodeClaim initialized", nc.Name)
		}
	}
}

// String is the timeline as a table: each step's first and last sighting
// after the start, and how many objects reached it.
func (t *timeline) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var b strings.Builder
	for _, step := range steps {
		if t.counts[step] == 0 {
			fmt.Fprintf(&b, "    %-22s never\n", step)
			continue
		}
		fmt.Fprintf(&b, "    %-22s %5d   first %6.2fs   last %6.2fs\n", step, t.counts[step],
			t.first[step].Sub(t.start).Seconds(), t.last[step].Sub(t.start).Seconds())
	}
	return b.String()
}

// lastOf is when step was last seen, after the start.
func (t *timeline) lastOf(step string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.counts[step] == 0 {
		return 0
	}
	return t.last[step].Sub(t.start)
}

// summary is the last sighting of each step, on one line.
func (t *timeline) summary() string {
	var parts []string
	for _, step := range steps {
		if d := t.lastOf(step); d > 0 {
			parts = append(parts, fmt.Sprintf("%s %.1fs", step, d.Seconds()))
		}
	}
	return "last " + strings.Join(parts, ", ")
}
