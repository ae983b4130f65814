package interruption

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/tailor-project/tailor/launcher/fleet"
)

// Controller reads the interruption queue on behalf of a manager: the
// consumer runs on the leader, acting through the manager's client and
// cache.
type Controller struct {
	SQS SQSAPI
	// Queue is the queue's name or URL.
	Queue string
	// WaitTime is the long poll of one receive; DefaultWaitTime when zero.
	WaitTime time.Duration
	// Unavailable is the launcher's catalog.
	Unavailable fleet.Unavailable
	Recorder    record.EventRecorder
	// Clock stamps what the handler records (when an offering was taken
	// back, the drain's deadline); the real clock when nil.
	Clock clock.PassiveClock

	consumer *Consumer
}

// SetupWithManager indexes NodeClaims by instance id and adds the consumer.
func (c *Controller) SetupWithManager(mgr ctrl.Manager) error {
	if c.SQS == nil || c.Queue == "" {
		return errors.New("interruption handling needs an SQS client and a queue")
	}
	if c.Clock == nil {
		c.Clock = clock.RealClock{}
	}
	if err := RegisterIndex(context.Background(), mgr.GetFieldIndexer()); err != nil {
		return err
	}
	c.consumer = &Consumer{
		SQS: c.SQS, Queue: c.Queue, WaitTime: c.WaitTime,
		Handler: &NodeClaimHandler{
			Client: mgr.GetClient(), Reader: mgr.GetAPIReader(),
			Unavailable: c.Unavailable, Recorder: c.Recorder, Clock: c.Clock,
		},
	}
	if err := mgr.Add(c.consumer); err != nil {
		return fmt.Errorf("adding the interruption queue's consumer: %w", err)
	}
	return nil
}

// Ready is a healthz.Checker that fails while the queue cannot be read.
func (c *Controller) Ready(req *http.Request) error {
	if c.consumer == nil {
		return nil
	}
	return c.consumer.Ready(req)
}
