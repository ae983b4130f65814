package ec2sim

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// TestSQS round-trips the SQS calls an interruption controller makes:
// GetQueueUrl of the queue the simulator created, a long poll that a send
// wakes, a visibility timeout that hides a received message until the
// simulated clock passes it, and DeleteMessage.
func TestSQS(t *testing.T) {
	s := startSim(t, Options{QueueName: "tailor-interruptions"})
	c := sqs.NewFromConfig(sdkConfig(s))
	ctx := context.Background()

	got, err := c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("tailor-interruptions")})
	if err != nil {
		t.Fatalf("GetQueueUrl: %v", err)
	}
	queueURL := aws.ToString(got.QueueUrl)
	if queueURL != s.QueueURL() || !strings.HasSuffix(queueURL, "/"+DefaultAccountID+"/tailor-interruptions") {
		t.Fatalf("queue URL %q, want %q", queueURL, s.QueueURL())
	}

	received := make(chan *sqs.ReceiveMessageOutput, 1)
	go func() {
		out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(queueURL), WaitTimeSeconds: 20, MaxNumberOfMessages: 10,
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameApproximateReceiveCount},
			MessageAttributeNames:       []string{"All"},
		})
		if err != nil {
			t.Errorf("ReceiveMessage: %v", err)
		}
		received <- out
	}()
	sent, err := c.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl: aws.String(queueURL), MessageBody: aws.String(`{"hello":"world"}`),
		MessageAttributes: map[string]sqstypes.MessageAttributeValue{"kind": {DataType: aws.String("String"), StringValue: aws.String("test")}},
	})
	if err != nil {
		t.Fatalf("SendMessage: %v", err)
	}
	if aws.ToString(sent.MD5OfMessageAttributes) == "" {
		t.Errorf("SendMessage returned no MD5 of the attributes")
	}
	var out *sqs.ReceiveMessageOutput
	select {
	case out = <-received:
	case <-time.After(time.Minute):
		t.Fatal("the long poll did not return after a message was sent")
	}
	if out == nil || len(out.Messages) != 1 {
		t.Fatalf("received %+v, want one message", out)
	}
	m := out.Messages[0]
	if aws.ToString(m.Body) != `{"hello":"world"}` || aws.ToString(m.MessageId) != aws.ToString(sent.MessageId) {
		t.Errorf("received %q (%s), sent %s", aws.ToString(m.Body), aws.ToString(m.MessageId), aws.ToString(sent.MessageId))
	}
	if m.Attributes["ApproximateReceiveCount"] != "1" || aws.ToString(m.MessageAttributes["kind"].StringValue) != "test" {
		t.Errorf("attributes %v, message attributes %v", m.Attributes, m.MessageAttributes)
	}

	// Not deleted: hidden for the visibility timeout (30s of simulated time), then back.
	again, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(queueURL)})
	if err != nil || len(again.Messages) != 0 {
		t.Fatalf("a message within its visibility timeout was received again: %v %+v", err, again)
	}
	if err := s.Clock().Advance(31 * time.Second); err != nil {
		t.Fatal(err)
	}
	again, err = c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(queueURL), WaitTimeSeconds: 20})
	if err != nil || len(again.Messages) != 1 {
		t.Fatalf("the message did not come back after its visibility timeout: %v %+v", err, again)
	}
	if _, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(queueURL), ReceiptHandle: again.Messages[0].ReceiptHandle}); err != nil {
		t.Fatalf("DeleteMessage: %v", err)
	}
	if err := s.Clock().Advance(time.Hour); err != nil {
		t.Fatal(err)
	}
	empty, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(queueURL)})
	if err != nil || len(empty.Messages) != 0 {
		t.Fatalf("a deleted message came back: %v %+v", err, empty)
	}
}

// TestSQSErrors checks that SQS errors decode into the SDK's typed errors,
// with the legacy codes a query-compatible client reports.
func TestSQSErrors(t *testing.T) {
	s := startSim(t, Options{})
	c := sqs.NewFromConfig(sdkConfig(s))
	ctx := context.Background()

	_, err := c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("missing")})
	var missing *sqstypes.QueueDoesNotExist
	if !errors.As(err, &missing) {
		t.Fatalf("GetQueueUrl of a missing queue: %v, want QueueDoesNotExist", err)
	}
	wantAPIError(t, err, "AWS.SimpleQueueService.NonExistentQueue")

	created, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("q"), Attributes: map[string]string{"VisibilityTimeout": "10"}})
	if err != nil {
		t.Fatalf("CreateQueue: %v", err)
	}
	same, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("q"), Attributes: map[string]string{"VisibilityTimeout": "10"}})
	if err != nil || aws.ToString(same.QueueUrl) != aws.ToString(created.QueueUrl) {
		t.Errorf("creating the same queue again: %v", err)
	}
	_, err = c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("q"), Attributes: map[string]string{"VisibilityTimeout": "20"}})
	var exists *sqstypes.QueueNameExists
	if !errors.As(err, &exists) {
		t.Errorf("recreating a queue with other attributes: %v, want QueueNameExists", err)
	}
	_, err = c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: created.QueueUrl, ReceiptHandle: aws.String("not a handle")})
	var invalid *sqstypes.ReceiptHandleIsInvalid
	if !errors.As(err, &invalid) {
		t.Errorf("deleting with a bad receipt handle: %v, want ReceiptHandleIsInvalid", err)
	}
	_, err = c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: created.QueueUrl, MaxNumberOfMessages: 11})
	wantAPIError(t, err, "InvalidParameterValue")
	_, err = c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(s.URL() + "/" + DefaultAccountID + "/gone"), MessageBody: aws.String("x")})
	if !errors.As(err, &missing) {
		t.Errorf("sending to a missing queue: %v, want QueueDoesNotExist", err)
	}
}
