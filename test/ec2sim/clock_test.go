package ec2sim

import (
	"context"
	"sync"
	"testing"
	"time"
)

// fakeWall is a wall clock a test moves by hand.
type fakeWall struct {
	mu  sync.Mutex
	now time.Time
}

func (w *fakeWall) Now() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.now
}

func (w *fakeWall) step(d time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.now = w.now.Add(d)
}

// TestClock: simulated time runs scale times faster than the wall clock,
// keeps its value when the scale changes, and jumps with Advance.
func TestClock(t *testing.T) {
	wall := &fakeWall{now: time.Date(2025, 8, 1, 12, 0, 0, 0, time.UTC)}
	c, err := newClock(wall.Now, 60)
	if err != nil {
		t.Fatal(err)
	}
	start := c.Now()
	for _, step := range []struct {
		do   func() error
		want time.Duration
	}{
		{func() error { wall.step(time.Second); return nil }, time.Minute},
		{func() error { return c.SetScale(1) }, time.Minute},
		{func() error { wall.step(time.Second); return nil }, time.Minute + time.Second},
		{func() error { return c.Advance(2 * time.Minute) }, 3*time.Minute + time.Second},
		{func() error { return c.SetScale(0.5) }, 3*time.Minute + time.Second},
		{func() error { wall.step(10 * time.Second); return nil }, 3*time.Minute + 6*time.Second},
	} {
		if err := step.do(); err != nil {
			t.Fatal(err)
		}
		if got := c.Now().Sub(start); got != step.want {
			t.Fatalf("simulated time elapsed %s, want %s", got, step.want)
		}
	}
	if got := c.realDuration(time.Minute); got != 2*time.Minute {
		t.Errorf("a simulated minute at scale 0.5 takes %s of real time, want 2m", got)
	}
	for _, bad := range []float64{0, -1, 2e6} {
		if err := c.SetScale(bad); err == nil {
			t.Errorf("scale %v accepted", bad)
		}
	}
	if err := c.Advance(-time.Second); err == nil {
		t.Error("the clock moved back")
	}
}

// TestTimeline: events fire in time order (ties in the order added) once the
// simulated clock reaches them, and an Advance fires at once what it passes.
func TestTimeline(t *testing.T) {
	c, err := NewClock(1)
	if err != nil {
		t.Fatal(err)
	}
	tl := newTimeline(c)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		tl.run(ctx)
		close(done)
	}()
	defer func() {
		cancel()
		<-done
	}()

	fired := make(chan string, 10)
	tl.after(3*time.Hour, func() { fired <- "c" })
	tl.after(time.Hour, func() { fired <- "a" })
	tl.after(time.Hour, func() { fired <- "b" })
	tl.after(24*time.Hour, func() { fired <- "late" })
	if err := c.Advance(4 * time.Hour); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"a", "b", "c"} {
		select {
		case got := <-fired:
			if got != want {
				t.Fatalf("fired %q, want %q", got, want)
			}
		case <-time.After(time.Minute):
			t.Fatalf("%q did not fire after the clock passed it", want)
		}
	}
	// Something due now fires without the clock moving.
	tl.after(0, func() { fired <- "now" })
	select {
	case got := <-fired:
		if got != "now" {
			t.Fatalf("fired %q before the event due now", got)
		}
	case <-time.After(time.Minute):
		t.Fatal("an event due now did not fire")
	}
	select {
	case got := <-fired:
		t.Fatalf("%q fired before its time", got)
	default:
	}
}
