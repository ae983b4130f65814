package interruption

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"

	"github.com/tailor-project/tailor/launcher/metrics"
)

// Defaults and limits of Consumer.
const (
	// DefaultWaitTime is SQS's longest long poll: an idle queue costs one
	// call every 20 seconds, and a message is received as soon as it lands.
	DefaultWaitTime = 20 * time.Second
	// maxMessages is the most SQS returns per receive; they are handled in
	// parallel.
	maxMessages = 10
	// handleTimeout bounds the handling of one message. It stays below the
	// queue's default visibility timeout (30s), so that a message whose
	// handling hangs is not handled twice at once.
	handleTimeout = 25 * time.Second
	// DefaultBackoffFirst and DefaultBackoffMax space the attempts to read
	// a queue that failed: after a second, then twice as long each time,
	// up to a minute.
	DefaultBackoffFirst = time.Second
	DefaultBackoffMax   = time.Minute
)

// Handler acts on one message.
type Handler interface {
	Handle(ctx context.Context, msg Message) (Outcome, error)
}

// Consumer long-polls the queue and hands every message to the Handler,
// deleting it once handled. It runs on the leader only: two replicas would
// each act on every event.
type Consumer struct {
	SQS SQSAPI
	// Queue is the queue's name or URL.
	Queue   string
	Handler Handler
	// WaitTime is how long one receive waits for a message; DefaultWaitTime
	// when zero. It is whole seconds, from one to twenty.
	WaitTime time.Duration
	// Backoff spaces the attempts after a failed read, in real time (they
	// are network calls); nil means DefaultBackoffFirst doubling up to
	// DefaultBackoffMax.
	Backoff workqueue.TypedRateLimiter[string]

	readiness readiness
	recent    *recent
}

// NeedLeaderElection implements manager.LeaderElectionRunnable.
func (c *Consumer) NeedLeaderElection() bool { return true }

// Ready is a healthz.Checker for the launcher's /readyz: it fails while the
// queue cannot be read. A replica that does not lead never reads it, and is
// ready.
func (c *Consumer) Ready(req *http.Request) error { return c.readiness.check(req) }

// Start implements manager.Runnable: it reads the queue until ctx ends.
// Failures to read it are retried with backoff; it never returns an error,
// so that the launcher keeps running without its queue.
func (c *Consumer) Start(ctx context.Context) error {
	logger := klog.FromContext(ctx).WithName("interruption").WithValues("queue", c.Queue)
	ctx = klog.NewContext(ctx, logger)
	if c.Backoff == nil {
		c.Backoff = workqueue.NewTypedItemExponentialFailureRateLimiter[string](DefaultBackoffFirst, DefaultBackoffMax)
	}
	if c.recent == nil {
		c.recent = newRecent()
	}
	wait := c.WaitTime
	if wait == 0 {
		wait = DefaultWaitTime
	}
	// SQS waits 1 to 20 seconds.
	waitSeconds := min(max(1, int32(wait/time.Second)), int32(DefaultWaitTime/time.Second))

	queueURL := ""
	for ctx.Err() == nil {
		var err error
		if queueURL == "" {
			queueURL, err = resolve(ctx, c.SQS, c.Queue)
		}
		if err == nil {
			err = c.receive(ctx, queueURL, waitSeconds)
			if missing(err) && !isURL(c.Queue) {
				// Found by name again once it is back, wherever it is.
				queueURL = ""
			}
		}
		if ctx.Err() != nil {
			return nil
		}
		if err == nil {
			c.Backoff.Forget(c.Queue)
			continue
		}
		delay := c.Backoff.When(c.Queue)
		c.readiness.failed(err, time.Now())
		logger.Error(err, "Reading the interruption queue failed; the launcher goes on without it until it can", "retryIn", delay)
		timer := time.NewTimer(delay)
		select {
		case <-ctx.Done():
		case <-timer.C:
		}
		timer.Stop()
	}
	return nil
}

// receive takes up to maxMessages from the queue, waiting for one up to
// waitSeconds, and handles them in parallel. An error is the queue's;
// failures to handle a message leave it for SQS to deliver again.
func (c *Consumer) receive(ctx context.Context, queueURL string, waitSeconds int32) error {
	out, err := c.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl:            aws.String(queueURL),
		MaxNumberOfMessages: maxMessages,
		WaitTimeSeconds:     waitSeconds,
	})
	if err != nil {
		return fmt.Errorf("receiving from queue %s: %w", queueURL, err)
	}
	if c.readiness.succeeded() {
		klog.FromContext(ctx).Info("The interruption queue can be read again")
	}
	workqueue.ParallelizeUntil(ctx, maxMessages, len(out.Messages), func(i int) {
		c.process(ctx, queueURL, out.Messages[i])
	})
	return nil
}

// process handles one message and deletes it unless handling failed. A
// message that is no event is deleted and logged once, without its body.
func (c *Consumer) process(ctx context.Context, queueURL string, m sqstypes.Message) {
	logger := klog.FromContext(ctx).WithValues("messageID", aws.ToString(m.MessageId))
	msg, err := Parse(aws.ToString(m.Body))
	if err != nil {
		count(kindUnknown, OutcomeUnparseable)
		logger.Error(err, "Deleting a message that is not an interruption event", "bytes", len(aws.ToString(m.Body)))
		c.delete(ctx, queueURL, m)
		return
	}
	metrics.MessageReceived(string(msg.Kind), msg.Time)
	logger = logger.WithValues("event", msg.ID, "kind", msg.Kind, "instances", msg.InstanceIDs)
	if !c.recent.claim(msg.ID) {
		count(msg.Kind, OutcomeDuplicate)
		logger.V(1).Info("Deleting a copy of an event already handled")
		c.delete(ctx, queueURL, m)
		return
	}
	hctx, cancel := context.WithTimeout(klog.NewContext(ctx, logger), handleTimeout)
	outcome, err := c.Handler.Handle(hctx, msg)
	cancel()
	if err != nil {
		c.recent.release(msg.ID)
		count(msg.Kind, OutcomeFailed)
		logger.Error(err, "Handling an interruption event failed; SQS delivers it again after its visibility timeout")
		return
	}
	count(msg.Kind, outcome)
	c.delete(ctx, queueURL, m)
}

// delete removes a handled message. Should it fail, SQS delivers the
// message again, and handling it again does no harm.
func (c *Consumer) delete(ctx context.Context, queueURL string, m sqstypes.Message) {
	_, err := c.SQS.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(queueURL), ReceiptHandle: m.ReceiptHandle})
	if err == nil {
		metrics.MessageDeleted()
	}
	if err != nil && ctx.Err() == nil {
		klog.FromContext(ctx).Error(err, "Deleting a handled message failed; it will be handled again", "messageID", aws.ToString(m.MessageId))
	}
}
