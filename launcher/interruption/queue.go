package interruption

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"k8s.io/klog/v2"
)

// SQSAPI is every SQS call the launcher makes, each allowed by
// manifests/launcher/iam-policy.json on the queue's ARN.
type SQSAPI interface {
	GetQueueUrl(ctx context.Context, in *sqs.GetQueueUrlInput, opts ...func(*sqs.Options)) (*sqs.GetQueueUrlOutput, error)
	GetQueueAttributes(ctx context.Context, in *sqs.GetQueueAttributesInput, opts ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
	ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, opts ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessage(ctx context.Context, in *sqs.DeleteMessageInput, opts ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error)
}

var _ SQSAPI = &sqs.Client{}

// isURL tells a queue URL from a queue name: names cannot hold a colon.
func isURL(queue string) bool {
	return strings.HasPrefix(queue, "https://") || strings.HasPrefix(queue, "http://")
}

// resolve returns the URL of a queue given by name (as Karpenter's
// interruptionQueue setting names it) or by URL, and checks that the queue
// is there by reading its ARN.
func resolve(ctx context.Context, api SQSAPI, queue string) (string, error) {
	queueURL := queue
	if !isURL(queue) {
		out, err := api.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(queue)})
		if err != nil {
			return "", fmt.Errorf("finding the URL of queue %s: %w", queue, err)
		}
		queueURL = aws.ToString(out.QueueUrl)
	}
	out, err := api.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(queueURL), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn},
	})
	if err != nil {
		return "", fmt.Errorf("reading queue %s: %w", queueURL, err)
	}
	klog.FromContext(ctx).Info("Reading the interruption queue", "url", queueURL, "arn", out.Attributes[string(sqstypes.QueueAttributeNameQueueArn)])
	return queueURL, nil
}

// missing reports whether err says the queue does not exist (any more).
func missing(err error) bool {
	var notFound *sqstypes.QueueDoesNotExist
	return errors.As(err, &notFound)
}
