package interruption

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	"github.com/go-logr/logr/testr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"

	"github.com/tailor-project/tailor/test/ec2sim"
)

// recordingHandler records the events it is given, and fails the first
// attempts at those it is told to.
type recordingHandler struct {
	mu      sync.Mutex
	handled []string
	fail    map[string]int
}

func (h *recordingHandler) Handle(_ context.Context, msg Message) (Outcome, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.fail[msg.ID] > 0 {
		h.fail[msg.ID]--
		return OutcomeFailed, fmt.Errorf("failing %s on purpose", msg.ID)
	}
	h.handled = append(h.handled, msg.ID)
	return OutcomeHandled, nil
}

func (h *recordingHandler) ids() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := slices.Clone(h.handled)
	slices.Sort(out)
	return out
}

// logLines collects what a logger writes.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) logger() logr.Logger {
	return funcr.New(func(prefix, args string) {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.lines = append(l.lines, prefix+" "+args)
	}, funcr.Options{Verbosity: 2})
}

func (l *logLines) matching(s string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, line := range l.lines {
		if strings.Contains(line, s) {
			out = append(out, line)
		}
	}
	return out
}

// startSimulator runs an EC2 simulator with the queue, none when empty.
func startSimulator(t *testing.T, queue string) (*ec2sim.Simulator, *sqs.Client) {
	t.Helper()
	sim, err := ec2sim.New(ec2sim.Options{QueueName: queue, Seed: 3, Log: testr.New(t).WithName("ec2sim")})
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Start(context.Background(), "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Stop)
	return sim, sqs.NewFromConfig(sim.SDKConfig())
}

// runConsumer runs a consumer of the queue with a short poll and backoff
// until the test ends.
func runConsumer(t *testing.T, api SQSAPI, queue string, h Handler, logs *logLines) *Consumer {
	t.Helper()
	c := &Consumer{
		SQS: api, Queue: queue, Handler: h, WaitTime: time.Second,
		Backoff: workqueue.NewTypedItemExponentialFailureRateLimiter[string](10*time.Millisecond, 200*time.Millisecond),
	}
	ctx, cancel := context.WithCancel(klog.NewContext(context.Background(), logs.logger()))
	done := make(chan error, 1)
	go func() { done <- c.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("the consumer ended with %v", err)
		}
	})
	return c
}

// eventually polls cond for up to 30 seconds.
func eventually(t *testing.T, what string, cond func() error) {
	t.Helper()
	var last error
	err := wait.PollUntilContextTimeout(context.Background(), 20*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		last = cond()
		return last == nil, nil
	})
	if err != nil {
		t.Fatalf("waiting until %s: %v", what, last)
	}
}

// queueCounts returns the messages visible and in flight.
func queueCounts(ctx context.Context, api *sqs.Client, queueURL string) (visible, inFlight string, err error) {
	out, err := api.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(queueURL), AttributeNames: []sqstypes.QueueAttributeName{
		sqstypes.QueueAttributeNameApproximateNumberOfMessages, sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
	}})
	if err != nil {
		return "", "", err
	}
	return out.Attributes["ApproximateNumberOfMessages"], out.Attributes["ApproximateNumberOfMessagesNotVisible"], nil
}

func emptyQueue(ctx context.Context, api *sqs.Client, queueURL string) error {
	visible, inFlight, err := queueCounts(ctx, api, queueURL)
	if err != nil {
		return err
	}
	if visible != "0" || inFlight != "0" {
		return fmt.Errorf("%s messages visible, %s in flight", visible, inFlight)
	}
	return nil
}

func rebalanceEvent(id string) string {
	return `{"version":"0","id":"` + id + `","detail-type":"EC2 Instance Rebalance Recommendation","source":"aws.ec2",` +
		`"time":"2026-03-02T10:00:00Z","detail":{"instance-id":"i-1234567890abcdef0"}}`
}

// TestConsumer: every message reaches the handler once and is deleted once
// handled; a copy of an event is deleted without being handled again; a
// message that is no event is deleted and logged once without its body; a
// message whose handling failed stays, and is handled when SQS delivers it
// again after its visibility timeout.
func TestConsumer(t *testing.T) {
	const secret = "secret-token-5678"
	tests := []struct {
		name string
		send []string
		// fail are the events whose first handling fails.
		fail        map[string]int
		wantHandled []string
		// wantLogged is a fragment of a line that must be logged exactly once.
		wantLogged string
	}{
		{name: "events", send: []string{rebalanceEvent("e1"), rebalanceEvent("e2")}, wantHandled: []string{"e1", "e2"}},
		{name: "copies of an event", send: []string{rebalanceEvent("e1"), rebalanceEvent("e1"), rebalanceEvent("e1")}, wantHandled: []string{"e1"}},
		{
			name: "not an event", send: []string{secret + " {", rebalanceEvent("e1")}, wantHandled: []string{"e1"},
			wantLogged: "Deleting a message that is not an interruption event",
		},
		{
			name: "handling fails once", send: []string{rebalanceEvent("e1")}, fail: map[string]int{"e1": 1}, wantHandled: []string{"e1"},
			wantLogged: "Handling an interruption event failed",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			sim, api := startSimulator(t, "events")
			h := &recordingHandler{fail: maps.Clone(tc.fail)}
			logs := &logLines{}
			for _, body := range tc.send {
				if _, err := api.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(sim.QueueURL()), MessageBody: aws.String(body)}); err != nil {
					t.Fatal(err)
				}
			}
			c := runConsumer(t, api, "events", h, logs)
			if len(tc.fail) > 0 {
				eventually(t, "the failed message is in flight, not deleted", func() error {
					if got := logs.matching(tc.wantLogged); len(got) == 0 {
						return fmt.Errorf("not logged yet")
					}
					if _, inFlight, err := queueCounts(ctx, api, sim.QueueURL()); err != nil || inFlight != "1" {
						return fmt.Errorf("%s in flight (%v)", inFlight, err)
					}
					return nil
				})
				if got := h.ids(); len(got) != 0 {
					t.Fatalf("handled %v before the failed message came back", got)
				}
				// Past the visibility timeout, on the simulator's clock.
				if err := sim.Clock().Advance(31 * time.Second); err != nil {
					t.Fatal(err)
				}
			}
			eventually(t, "every message is handled and the queue is empty", func() error {
				if got := h.ids(); !slices.Equal(got, tc.wantHandled) {
					return fmt.Errorf("handled %v, want %v", got, tc.wantHandled)
				}
				return emptyQueue(ctx, api, sim.QueueURL())
			})
			if tc.wantLogged != "" {
				if got := logs.matching(tc.wantLogged); len(got) != 1 {
					t.Errorf("logged %q %d times, want once: %v", tc.wantLogged, len(got), got)
				}
			}
			if got := logs.matching(secret); len(got) > 0 {
				t.Errorf("a message body reached the log: %v", got)
			}
			if err := c.Ready(nil); err != nil {
				t.Errorf("not ready while the queue is there: %v", err)
			}
		})
	}
}

// TestConsumerQueueOutage: a queue that is not there yet, and one deleted
// while it is read, make the consumer unready without ending it; once the
// queue is (back) there it is read again and the consumer is ready. The
// queue is named by name or by URL.
func TestConsumerQueueOutage(t *testing.T) {
	tests := []struct {
		name  string
		queue func(sim *ec2sim.Simulator) string
	}{
		{name: "by name", queue: func(*ec2sim.Simulator) string { return "events" }},
		{name: "by URL", queue: func(sim *ec2sim.Simulator) string { return sim.URL() + "/" + ec2sim.DefaultAccountID + "/events" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			sim, api := startSimulator(t, "")
			h := &recordingHandler{}
			logs := &logLines{}
			c := runConsumer(t, api, tc.queue(sim), h, logs)
			unready := func() error {
				if err := c.Ready(nil); err == nil || !strings.Contains(err.Error(), "the interruption queue is unreachable since") {
					return fmt.Errorf("readiness says %v", err)
				}
				return nil
			}
			eventually(t, "the consumer is not ready while the queue does not exist", unready)

			for round, id := range []string{"before", "after"} {
				created, err := api.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("events")})
				if err != nil {
					t.Fatal(err)
				}
				eventually(t, "the consumer is ready once the queue exists", func() error { return c.Ready(nil) })
				if _, err := api.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: created.QueueUrl, MessageBody: aws.String(rebalanceEvent(id))}); err != nil {
					t.Fatal(err)
				}
				eventually(t, "the message is handled and deleted", func() error {
					if got := h.ids(); len(got) != round+1 {
						return fmt.Errorf("handled %v", got)
					}
					return emptyQueue(ctx, api, aws.ToString(created.QueueUrl))
				})
				if round == 0 {
					if _, err := api.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: created.QueueUrl}); err != nil {
						t.Fatal(err)
					}
					eventually(t, "the consumer is not ready once the queue is deleted", unready)
				}
			}
			if got := logs.matching("The interruption queue can be read again"); len(got) != 2 {
				t.Errorf("logged the queue's return %d times, want twice: %v", len(got), got)
			}
		})
	}
}
