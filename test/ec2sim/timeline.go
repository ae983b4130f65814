package ec2sim

import (
	"container/heap"
	"context"
	"sync"
	"time"
)

// timeline runs functions at given simulated times: the boot of an
// instance, the end of its shutdown, a spot termination two minutes after its
// warning. It sleeps in real time for as long as the Clock says the next
// event is away, and wakes early when the clock jumps or speeds up.
type timeline struct {
	clock *Clock

	mu     sync.Mutex
	events eventHeap
	seq    uint64
	// wake is poked (never blocking) when an earlier event is added or the
	// clock changes.
	wake chan struct{}
}

func newTimeline(clock *Clock) *timeline {
	t := &timeline{clock: clock, wake: make(chan struct{}, 1)}
	clock.notifyOnChange(t.poke)
	return t
}

// at runs fn at the simulated time when, or at once on the timeline's
// goroutine if when has passed. Functions due at the same time run in the
// order they were added.
func (t *timeline) at(when time.Time, fn func()) {
	t.mu.Lock()
	t.seq++
	heap.Push(&t.events, &event{when: when, seq: t.seq, fn: fn})
	t.mu.Unlock()
	t.poke()
}

// after runs fn once d of simulated time has passed.
func (t *timeline) after(d time.Duration, fn func()) {
	t.at(t.clock.Now().Add(d), fn)
}

func (t *timeline) poke() {
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

// run fires events as they fall due until ctx ends.
func (t *timeline) run(ctx context.Context) {
	for {
		due, next, pending := t.popDue(t.clock.Now())
		for _, fn := range due {
			fn()
		}
		if len(due) > 0 {
			// What just ran may have scheduled something already due.
			continue
		}
		var timer *time.Timer
		var fire <-chan time.Time
		if pending {
			timer = time.NewTimer(t.clock.realDuration(next.Sub(t.clock.Now())))
			fire = timer.C
		}
		select {
		case <-ctx.Done():
		case <-t.wake:
		case <-fire:
		}
		if timer != nil {
			timer.Stop()
		}
		if ctx.Err() != nil {
			return
		}
	}
}

// popDue removes and returns the functions due at now, in order, and the
// time of the next event if there is one.
func (t *timeline) popDue(now time.Time) (due []func(), next time.Time, pending bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for t.events.Len() > 0 && !t.events[0].when.After(now) {
		due = append(due, heap.Pop(&t.events).(*event).fn)
	}
	if t.events.Len() > 0 {
		return due, t.events[0].when, true
	}
	return due, time.Time{}, false
}

type event struct {
	when time.Time
	seq  uint64
	fn   func()
}

// eventHeap orders events by time, then by the order they were added.
type eventHeap []*event

func (h eventHeap) Len() int { return len(h) }
func (h eventHeap) Less(i, j int) bool {
	if !h[i].when.Equal(h[j].when) {
		return h[i].when.Before(h[j].when)
	}
	return h[i].seq < h[j].seq
}
func (h eventHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *eventHeap) Push(x any)   { *h = append(*h, x.(*event)) }
func (h *eventHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return e
}
