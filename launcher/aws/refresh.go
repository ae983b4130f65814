package aws

import (
	"context"
	"sync"
	"time"

	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
)

// refreshed is a value fetched from AWS and kept for a TTL.
//
// Callers are on the scheduler's path, so at most one of them fetches at a
// time, and while it does the others are served the value it replaces; only
// the very first fetch makes callers wait. A failed fetch is retried after
// retryAfter rather than on every call, so an outage costs one failed call
// per interval, not one per lookup, and it is logged once, when it starts,
// and once more when it ends. While nothing was ever fetched, the retry
// comes sooner, from firstRetry doubling up to retryAfter: with nothing to
// serve, every launch waits for it, and a paginated first read under
// throttling fails often enough that a minute's wait would stall a burst.
type refreshed[T any] struct {
	// name says what the value is, in logs.
	name       string
	clock      clock.PassiveClock
	ttl        time.Duration
	retryAfter time.Duration
	fetch      func(context.Context) (T, error)
	// fallback, when set, stands in for a value that could never be fetched;
	// fallbackName says what it is, in logs.
	fallback     func() T
	fallbackName string

	// fetching serialises fetches; mu guards the fields below it.
	fetching sync.Mutex
	mu       sync.Mutex
	value    T
	// version counts the values held; 0 means none yet.
	version uint64
	// due is when the value, or after a failure the next attempt, is due.
	due time.Time
	// failing is true from the first failed fetch to the next good one.
	failing bool
	// lastErr is the error of a failed first fetch, returned until due.
	lastErr error
	// firstFailures counts the failed fetches before the first good one.
	firstFailures int
}

// firstRetry is the first wait after a failed first fetch.
const firstRetry = 2 * time.Second

// get returns the value and its version, fetching first when it is due.
func (r *refreshed[T]) get(ctx context.Context) (T, uint64, error) {
	if value, version, ok, err := r.current(); ok {
		return value, version, err
	}
	if r.hasValue() {
		// Stale: refresh unless someone already is, and serve the old value
		// meanwhile.
		if !r.fetching.TryLock() {
			value, version, _, _ := r.current()
			return value, version, nil
		}
	} else {
		r.fetching.Lock()
	}
	defer r.fetching.Unlock()
	// Another caller may have fetched while this one waited.
	if value, version, ok, err := r.current(); ok {
		return value, version, err
	}

	fresh, err := r.fetch(ctx)
	now := r.clock.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	logger := klog.FromContext(ctx)
	if err == nil {
		if r.failing {
			logger.Info("Refreshing from AWS works again", "what", r.name)
		}
		r.value, r.version, r.due, r.failing, r.lastErr, r.firstFailures = fresh, r.version+1, now.Add(r.ttl), false, nil, 0
		return r.value, r.version, nil
	}

	r.due = now.Add(r.retryAfter)
	serving := "the last answer"
	switch {
	case r.version > 0:
	case r.fallback != nil:
		r.value, r.version = r.fallback(), 1
		serving = r.fallbackName
	default:
		r.lastErr = err
		r.due = now.Add(min(r.retryAfter, firstRetry<<min(r.firstFailures, 16)))
		r.firstFailures++
		if !r.failing {
			r.failing = true
			logger.Error(err, "Cannot read from AWS", "what", r.name, "retryIn", r.retryAfter)
		}
		var zero T
		return zero, 0, err
	}
	if !r.failing {
		r.failing = true
		logger.Error(err, "Cannot refresh from AWS; serving what is at hand until it works again", "what", r.name, "serving", serving, "retryIn", r.retryAfter)
	}
	return r.value, r.version, nil
}

// current returns what get should answer without fetching, if anything: the
// value while it is fresh, or the error of a failed first fetch until the
// retry is due.
func (r *refreshed[T]) current() (value T, version uint64, ok bool, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.clock.Now().Before(r.due) {
		return r.value, r.version, false, nil
	}
	if r.version == 0 {
		return r.value, 0, true, r.lastErr
	}
	return r.value, r.version, true, nil
}

func (r *refreshed[T]) hasValue() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.version > 0
}
