package tailor

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func pod(name string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID(name)}}
}

// TestBatcherGroupsPodsThatArriveTogether: pods added while the batch is
// open are solved in one call, and a pod added twice is solved once.
func TestBatcherGroupsPodsThatArriveTogether(t *testing.T) {
	got := make(chan []*corev1.Pod, 10)
	b := newBatcher(50*time.Millisecond, time.Minute, func(_ context.Context, pods []*corev1.Pod) { got <- pods })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go b.run(ctx)
	for i := 0; i < 10; i++ {
		b.Add(pod(fmt.Sprintf("p%d", i)))
	}
	b.Add(pod("p0"))
	select {
	case pods := <-got:
		if len(pods) != 10 {
			t.Fatalf("one batch of %d pods, want 10", len(pods))
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the batch never closed")
	}
	if b.Len() != 0 {
		t.Errorf("%d pods left in the batch", b.Len())
	}
}

// TestBatcherClosesAtMax: pods that keep coming do not hold a batch open
// beyond its maximum.
func TestBatcherClosesAtMax(t *testing.T) {
	got := make(chan []*corev1.Pod, 100)
	b := newBatcher(time.Hour, 100*time.Millisecond, func(_ context.Context, pods []*corev1.Pod) { got <- pods })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go b.run(ctx)
	b.Add(pod("first"))
	deadline := time.After(30 * time.Second)
	for i := 0; ; i++ {
		select {
		case pods := <-got:
			if len(pods) == 0 {
				t.Fatal("an empty batch")
			}
			return
		case <-deadline:
			t.Fatal("a batch whose idle time never passes did not close at its maximum")
		case <-time.After(10 * time.Millisecond):
			b.Add(pod(fmt.Sprintf("more-%d", i)))
		}
	}
}
