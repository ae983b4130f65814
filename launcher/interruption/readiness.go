package interruption

import (
	"fmt"
	"net/http"
	"sync"
	"time"
)

// readiness remembers whether the queue could be read the last time it was
// tried, for the launcher's /readyz. Liveness is not touched: a restart does
// not bring a queue back, and the rest of the launcher works without it.
type readiness struct {
	mu sync.Mutex
	// err is the last failure, nil once a read succeeds again.
	err error
	// since is when the queue became unreachable.
	since time.Time
}

// failed records a failure; it reports whether the queue was reachable
// until now.
func (r *readiness) failed(err error, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	first := r.err == nil
	if first {
		r.since = now
	}
	r.err = err
	return first
}

// succeeded records a read; it reports whether the queue was unreachable
// until now.
func (r *readiness) succeeded() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	was := r.err != nil
	r.err = nil
	return was
}

// check is a healthz.Checker.
func (r *readiness) check(*http.Request) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err == nil {
		return nil
	}
	return fmt.Errorf("the interruption queue is unreachable since %s: %w", r.since.UTC().Format(time.RFC3339), r.err)
}
