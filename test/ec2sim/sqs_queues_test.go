package ec2sim

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// TestSQSQueueAttributes: GetQueueAttributes counts the messages visible,
// in flight and delayed, names the queue's ARN, reports the defaults of
// attributes the queue was not created with, and refuses unknown names.
func TestSQSQueueAttributes(t *testing.T) {
	s := startSim(t, Options{QueueName: "events"})
	c := sqs.NewFromConfig(sdkConfig(s))
	ctx := context.Background()
	queueURL := aws.String(s.QueueURL())

	for _, delay := range []int32{0, 0, 0, 60} {
		if _, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: queueURL, MessageBody: aws.String("m"), DelaySeconds: delay}); err != nil {
			t.Fatalf("SendMessage: %v", err)
		}
	}
	if _, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: queueURL}); err != nil {
		t.Fatalf("ReceiveMessage: %v", err)
	}
	tests := []struct {
		name  string
		names []sqstypes.QueueAttributeName
		want  map[string]string
	}{
		{
			name: "counts",
			names: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages,
				sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible, sqstypes.QueueAttributeNameApproximateNumberOfMessagesDelayed},
			want: map[string]string{"ApproximateNumberOfMessages": "2", "ApproximateNumberOfMessagesNotVisible": "1", "ApproximateNumberOfMessagesDelayed": "1"},
		},
		{
			name:  "arn and defaults",
			names: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn, sqstypes.QueueAttributeNameVisibilityTimeout},
			want:  map[string]string{"QueueArn": "arn:aws:sqs:us-east-1:" + DefaultAccountID + ":events", "VisibilityTimeout": "30"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: queueURL, AttributeNames: tc.names})
			if err != nil {
				t.Fatalf("GetQueueAttributes: %v", err)
			}
			for k, v := range tc.want {
				if out.Attributes[k] != v {
					t.Errorf("%s is %q, want %q (all: %v)", k, out.Attributes[k], v, out.Attributes)
				}
			}
			if len(out.Attributes) != len(tc.want) {
				t.Errorf("got %v, want only %v", out.Attributes, tc.want)
			}
		})
	}
	all, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: queueURL, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll}})
	if err != nil || all.Attributes["MessageRetentionPeriod"] != "345600" || all.Attributes["ApproximateNumberOfMessages"] != "2" {
		t.Errorf("All: %v %v", all, err)
	}
	_, err = c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: queueURL, AttributeNames: []sqstypes.QueueAttributeName{"NoSuchThing"}})
	wantAPIError(t, err, "InvalidAttributeName")
}

// TestSQSDeleteQueue: a deleted queue is gone for every call, a long poll
// waiting on it ends with QueueDoesNotExist, and a queue created again under
// the name has the same URL and none of the old messages.
func TestSQSDeleteQueue(t *testing.T) {
	s := startSim(t, Options{QueueName: "events"})
	c := sqs.NewFromConfig(sdkConfig(s))
	ctx := context.Background()
	queueURL := aws.String(s.QueueURL())
	if _, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: queueURL, MessageBody: aws.String("old")}); err != nil {
		t.Fatalf("SendMessage: %v", err)
	}
	if _, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: queueURL}); err != nil {
		t.Fatalf("ReceiveMessage: %v", err)
	}

	polled := make(chan error, 1)
	go func() {
		// The only message is in flight: this poll waits until the queue goes.
		_, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: queueURL, WaitTimeSeconds: 20})
		polled <- err
	}()
	time.Sleep(200 * time.Millisecond)
	if _, err := c.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: queueURL}); err != nil {
		t.Fatalf("DeleteQueue: %v", err)
	}
	var missing *sqstypes.QueueDoesNotExist
	select {
	case err := <-polled:
		if !errors.As(err, &missing) {
			t.Errorf("the long poll on the deleted queue ended with %v, want QueueDoesNotExist", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the long poll on a deleted queue did not end")
	}
	_, err := c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("events")})
	if !errors.As(err, &missing) {
		t.Errorf("GetQueueUrl of the deleted queue: %v, want QueueDoesNotExist", err)
	}
	_, err = c.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: queueURL})
	if !errors.As(err, &missing) {
		t.Errorf("deleting the deleted queue: %v, want QueueDoesNotExist", err)
	}

	created, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("events")})
	if err != nil || aws.ToString(created.QueueUrl) != aws.ToString(queueURL) {
		t.Fatalf("CreateQueue again: %v, URL %q, want %q", err, aws.ToString(created.QueueUrl), aws.ToString(queueURL))
	}
	if err := s.Clock().Advance(time.Minute); err != nil {
		t.Fatal(err)
	}
	out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: queueURL})
	if err != nil || len(out.Messages) != 0 {
		t.Errorf("the new queue holds %+v (%v), want nothing", out, err)
	}
}
