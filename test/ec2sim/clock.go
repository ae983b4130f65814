package ec2sim

import (
	"fmt"
	"sync"
	"time"
)

// Clock is the simulator's time: real time multiplied by a scale, plus the
// jumps made by Advance. Everything that happens "later" in the simulated
// account — an instance finishing its boot, the end of a spot interruption
// notice, a message becoming visible again — is measured on it, so tests can
// run minutes of cloud time in seconds without waiting and without a fake
// clock leaking into the code under test.
type Clock struct {
	mu sync.Mutex
	// realNow reads the wall clock; tests replace it.
	realNow func() time.Time
	// The clock read simAnchor when the wall clock read realAnchor, and has
	// run scale times faster since.
	realAnchor time.Time
	simAnchor  time.Time
	scale      float64
	// onChange are told when the clock jumps or changes pace, so that
	// whoever waits on it recomputes how long to sleep.
	onChange []func()
}

// NewClock returns a clock that starts at the current time and runs scale
// times faster than real time.
func NewClock(scale float64) (*Clock, error) {
	return newClock(time.Now, scale)
}

func newClock(realNow func() time.Time, scale float64) (*Clock, error) {
	if err := validScale(scale); err != nil {
		return nil, err
	}
	now := realNow()
	return &Clock{realNow: realNow, realAnchor: now, simAnchor: now, scale: scale}, nil
}

func validScale(scale float64) error {
	if !(scale > 0) || scale > 1e6 {
		return fmt.Errorf("clock scale %v is not in (0, 1e6]", scale)
	}
	return nil
}

// Now returns the simulated time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nowLocked()
}

func (c *Clock) nowLocked() time.Time {
	elapsed := c.realNow().Sub(c.realAnchor)
	return c.simAnchor.Add(time.Duration(float64(elapsed) * c.scale))
}

// Since returns the simulated time elapsed since t.
func (c *Clock) Since(t time.Time) time.Duration {
	return c.Now().Sub(t)
}

// Scale returns how many times faster than real time the clock runs.
func (c *Clock) Scale() float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.scale
}

// SetScale changes the pace of the clock from now on; the time it shows does
// not jump.
func (c *Clock) SetScale(scale float64) error {
	if err := validScale(scale); err != nil {
		return err
	}
	c.mu.Lock()
	c.simAnchor = c.nowLocked()
	c.realAnchor = c.realNow()
	c.scale = scale
	listeners := c.onChange
	c.mu.Unlock()
	notify(listeners)
	return nil
}

// Advance moves the clock forward by d at once: whatever was due within d
// happens now. The clock never moves backwards.
func (c *Clock) Advance(d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("cannot move the clock back by %s", -d)
	}
	c.mu.Lock()
	c.simAnchor = c.simAnchor.Add(d)
	listeners := c.onChange
	c.mu.Unlock()
	notify(listeners)
	return nil
}

// realDuration converts a span of simulated time to the real time it takes.
func (c *Clock) realDuration(d time.Duration) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Duration(float64(d) / c.scale)
}

// notifyOnChange registers f to be called after every Advance and SetScale.
func (c *Clock) notifyOnChange(f func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.onChange = append(c.onChange, f)
}

func notify(listeners []func()) {
	for _, f := range listeners {
		f()
	}
}
