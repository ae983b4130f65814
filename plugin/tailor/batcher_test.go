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
// TestBatcherIdleCountsNewPodsOnly: the scheduler hands a pod over again
// at each retry; a batch whose pods have all arrived closes once idle has
// passed, however often they come again.
func TestBatcherIdleCountsNewPodsOnly(t *testing.T) {
	got := make(chan []*corev1.Pod, 100)
	b := newBatcher(100*time.Millisecond, time.Hour, func(_ context.Context, pods []*corev1.Pod) { got <- pods })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go b.run(ctx)
	deadline := time.After(30 * time.Second)
	for {
		select {
		case pods := <-got:
			if len(pods) != 2 {
				t.Fatalf("a batch of %d pods, want the 2 that were handed over", len(pods))
			}
			return
		case <-deadline:
			t.Fatal("the batch stayed open while the same pods were handed over again")
		case <-time.After(10 * time.Millisecond):
			b.Add(pod("again-0"))
			b.Add(pod("again-1"))
		}
	}
}

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

// TestBatcherWaitsForGang: an idle batch whose pods are incomplete stays
// open for the pods to come, closes once they have, and closes at its
// maximum if they never do.
func TestBatcherWaitsForGang(t *testing.T) {
	for _, tc := range []struct {
		name string
		// pods joins at once, late after idle has passed.
		pods, late int
		want       int
	}{
		{name: "the rest of the gang comes", pods: 3, late: 1, want: 4},
		{name: "never complete, closed at max", pods: 3, want: 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := make(chan []*corev1.Pod, 10)
			b := newBatcher(50*time.Millisecond, 3*time.Second, func(_ context.Context, pods []*corev1.Pod) { got <- pods })
			// Four pods make the gang whole.
			b.waitFor = func(pods []*corev1.Pod) bool { return len(pods) < 4 }
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go b.run(ctx)
			start := time.Now()
			for i := range tc.pods {
				b.Add(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprint(i), UID: types.UID(fmt.Sprint(i))}})
			}
			if tc.late > 0 {
				time.Sleep(500 * time.Millisecond)
				select {
				case pods := <-got:
					t.Fatalf("a batch of %d pods closed while its gang was incomplete", len(pods))
				default:
				}
				b.Add(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "late", UID: "late"}})
			}
			select {
			case pods := <-got:
				if len(pods) != tc.want {
					t.Fatalf("a batch of %d pods, want %d", len(pods), tc.want)
				}
				if tc.late == 0 && time.Since(start) < 3*time.Second {
					t.Errorf("an incomplete batch closed after %s, before its maximum", time.Since(start))
				}
			case <-time.After(30 * time.Second):
				t.Fatal("the batch never closed")
			}
		})
	}
}
