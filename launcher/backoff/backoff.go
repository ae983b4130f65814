// Package backoff is how the launcher's controllers retry an object whose
// reconcile failed: after a second, then twice as long each time up to five
// minutes, and never more than a few retries per second in all. A throttling
// or failing AWS API is thereby asked less and less often rather than in a
// tight loop, which would only prolong the throttling.
package backoff

import (
	"time"

	"golang.org/x/time/rate"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// Bounds of the per-object exponential backoff.
const (
	First = time.Second
	Max   = 5 * time.Minute
)

// overall caps the retries of one controller together, so that many
// objects failing at once (an outage) do not add up to a burst.
const (
	overallPerSecond = 10
	overallBurst     = 100
)

// RateLimiter returns the rate limiter of a controller's queue.
func RateLimiter() workqueue.TypedRateLimiter[reconcile.Request] {
	return workqueue.NewTypedMaxOfRateLimiter(
		workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](First, Max),
		&workqueue.TypedBucketRateLimiter[reconcile.Request]{Limiter: rate.NewLimiter(rate.Limit(overallPerSecond), overallBurst)},
	)
}
