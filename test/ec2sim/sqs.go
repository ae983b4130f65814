package ec2sim

import (
	"context"
	"net/http"
	"strconv"
	"strings"
)

// newSQSAPI serves SQS in the protocol current SDKs speak: awsJson 1.0 with
// X-Amz-Target AmazonSQS.<Operation>, query-compatible error codes.
func newSQSAPI(qs *queues) *jsonProtocol {
	api := &sqsAPI{queues: qs}
	return &jsonProtocol{
		target: "AmazonSQS", version: "1.0", errorNamespace: "com.amazonaws.sqs#", messageKey: "message", queryCompatible: true,
		operations: map[string]jsonHandler{
			"CreateQueue":    api.createQueue,
			"GetQueueUrl":    api.getQueueURL,
			"SendMessage":    api.sendMessage,
			"ReceiveMessage": api.receiveMessage,
			"DeleteMessage":  api.deleteMessage,
			// Beside the interruption controller's calls, for tests of a
			// queue that goes away and comes back, and of an empty queue.
			"DeleteQueue":        api.deleteQueue,
			"GetQueueAttributes": api.getQueueAttributes,
		},
	}
}

type sqsAPI struct {
	queues *queues
}

type queueURLOutput struct {
	QueueURL string `json:"QueueUrl"`
}

func (a *sqsAPI) createQueue(_ context.Context, body []byte) (any, error) {
	var in struct {
		QueueName  string            `json:"QueueName"`
		Attributes map[string]string `json:"Attributes"`
	}
	if err := decodeJSON(body, &in); err != nil {
		return nil, err
	}
	if in.QueueName == "" {
		return nil, sqsMissing("QueueName")
	}
	u, err := a.queues.create(in.QueueName, in.Attributes)
	if err != nil {
		return nil, err
	}
	return queueURLOutput{QueueURL: u}, nil
}

func (a *sqsAPI) getQueueURL(_ context.Context, body []byte) (any, error) {
	var in struct {
		QueueName string `json:"QueueName"`
		Owner     string `json:"QueueOwnerAWSAccountId"`
	}
	if err := decodeJSON(body, &in); err != nil {
		return nil, err
	}
	if in.QueueName == "" {
		return nil, sqsMissing("QueueName")
	}
	if in.Owner != "" && in.Owner != a.queues.account {
		return nil, errQueueDoesNotExist()
	}
	u := a.queues.urlOf(in.QueueName)
	a.queues.mu.Lock()
	_, err := a.queues.lookupLocked(u)
	a.queues.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return queueURLOutput{QueueURL: u}, nil
}

func (a *sqsAPI) sendMessage(_ context.Context, body []byte) (any, error) {
	var in struct {
		QueueURL          string                      `json:"QueueUrl"`
		MessageBody       string                      `json:"MessageBody"`
		DelaySeconds      *int                        `json:"DelaySeconds"`
		MessageAttributes map[string]messageAttribute `json:"MessageAttributes"`
	}
	if err := decodeJSON(body, &in); err != nil {
		return nil, err
	}
	if in.QueueURL == "" {
		return nil, sqsMissing("QueueUrl")
	}
	for name, attr := range in.MessageAttributes {
		if attr.DataType == "" || (attr.StringValue == nil) == (attr.BinaryValue == nil) {
			return nil, clientError("InvalidParameterValue", "The message attribute '%s' must have a DataType and exactly one of StringValue and BinaryValue.", name)
		}
	}
	m, err := a.queues.send(in.QueueURL, in.MessageBody, in.DelaySeconds, in.MessageAttributes)
	if err != nil {
		return nil, err
	}
	return struct {
		MessageID              string `json:"MessageId"`
		MD5OfMessageBody       string `json:"MD5OfMessageBody"`
		MD5OfMessageAttributes string `json:"MD5OfMessageAttributes,omitempty"`
	}{m.id, md5Hex(m.body), attributesMD5(m.attributes)}, nil
}

type messageJSON struct {
	MessageID              string                      `json:"MessageId"`
	ReceiptHandle          string                      `json:"ReceiptHandle"`
	MD5OfBody              string                      `json:"MD5OfBody"`
	Body                   string                      `json:"Body"`
	Attributes             map[string]string           `json:"Attributes,omitempty"`
	MD5OfMessageAttributes string                      `json:"MD5OfMessageAttributes,omitempty"`
	MessageAttributes      map[string]messageAttribute `json:"MessageAttributes,omitempty"`
}

func (a *sqsAPI) receiveMessage(ctx context.Context, body []byte) (any, error) {
	var in struct {
		QueueURL                    string   `json:"QueueUrl"`
		MaxNumberOfMessages         *int     `json:"MaxNumberOfMessages"`
		VisibilityTimeout           *int     `json:"VisibilityTimeout"`
		WaitTimeSeconds             *int     `json:"WaitTimeSeconds"`
		AttributeNames              []string `json:"AttributeNames"`
		MessageSystemAttributeNames []string `json:"MessageSystemAttributeNames"`
		MessageAttributeNames       []string `json:"MessageAttributeNames"`
	}
	if err := decodeJSON(body, &in); err != nil {
		return nil, err
	}
	if in.QueueURL == "" {
		return nil, sqsMissing("QueueUrl")
	}
	max := 1
	if in.MaxNumberOfMessages != nil {
		max = *in.MaxNumberOfMessages
	}
	if err := sqsRange("MaxNumberOfMessages", &max, 1, 10); err != nil {
		return nil, err
	}
	if err := sqsRange("WaitTimeSeconds", in.WaitTimeSeconds, 0, int(maxLongPoll.Seconds())); err != nil {
		return nil, err
	}
	if err := sqsRange("VisibilityTimeout", in.VisibilityTimeout, 0, 43200); err != nil {
		return nil, err
	}
	got, err := a.queues.receive(ctx, in.QueueURL, max, in.VisibilityTimeout, in.WaitTimeSeconds)
	if err != nil {
		return nil, err
	}
	system := append(append([]string(nil), in.AttributeNames...), in.MessageSystemAttributeNames...)
	out := struct {
		Messages []messageJSON `json:"Messages,omitempty"`
	}{}
	for _, m := range got {
		mj := messageJSON{MessageID: m.id, ReceiptHandle: m.receipt, MD5OfBody: md5Hex(m.body), Body: m.body,
			Attributes: a.systemAttributes(m, system)}
		if attrs := selectAttributes(m.attributes, in.MessageAttributeNames); len(attrs) > 0 {
			mj.MessageAttributes, mj.MD5OfMessageAttributes = attrs, attributesMD5(attrs)
		}
		out.Messages = append(out.Messages, mj)
	}
	return out, nil
}

// systemAttributes returns the message system attributes a receive asked for.
func (a *sqsAPI) systemAttributes(m *message, names []string) map[string]string {
	all := map[string]string{
		"SenderId":                         a.queues.account,
		"SentTimestamp":                    strconv.FormatInt(m.sent.UnixMilli(), 10),
		"ApproximateReceiveCount":          strconv.Itoa(m.receiveCount),
		"ApproximateFirstReceiveTimestamp": strconv.FormatInt(m.firstReceived.UnixMilli(), 10),
	}
	out := map[string]string{}
	for _, n := range names {
		if n == "All" {
			return all
		}
		if v, ok := all[n]; ok {
			out[n] = v
		}
	}
	return out
}

// selectAttributes returns the message attributes whose names a receive
// asked for: All, .*, exact names, or prefixes ending in .*.
func selectAttributes(attrs map[string]messageAttribute, names []string) map[string]messageAttribute {
	out := map[string]messageAttribute{}
	for name, attr := range attrs {
		for _, n := range names {
			prefix, wildcard := strings.CutSuffix(n, ".*")
			if n == "All" || n == ".*" || n == name || (wildcard && strings.HasPrefix(name, prefix+".")) {
				out[name] = attr
			}
		}
	}
	return out
}

func (a *sqsAPI) deleteMessage(_ context.Context, body []byte) (any, error) {
	var in struct {
		QueueURL      string `json:"QueueUrl"`
		ReceiptHandle string `json:"ReceiptHandle"`
	}
	if err := decodeJSON(body, &in); err != nil {
		return nil, err
	}
	if in.QueueURL == "" {
		return nil, sqsMissing("QueueUrl")
	}
	if in.ReceiptHandle == "" {
		return nil, sqsMissing("ReceiptHandle")
	}
	if err := a.queues.remove(in.QueueURL, in.ReceiptHandle); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

func sqsMissing(name string) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: "MissingParameter", Message: "The request must contain the parameter " + name + "."}
}

func sqsRange(name string, v *int, min, max int) error {
	if v != nil && (*v < min || *v > max) {
		return clientError("InvalidParameterValue", "Value %d for parameter %s is invalid. Reason: Must be between %d and %d, if provided.", *v, name, min, max)
	}
	return nil
}

func (a *sqsAPI) deleteQueue(_ context.Context, body []byte) (any, error) {
	var in struct {
		QueueURL string `json:"QueueUrl"`
	}
	if err := decodeJSON(body, &in); err != nil {
		return nil, err
	}
	if in.QueueURL == "" {
		return nil, sqsMissing("QueueUrl")
	}
	if err := a.queues.drop(in.QueueURL); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

func (a *sqsAPI) getQueueAttributes(_ context.Context, body []byte) (any, error) {
	var in struct {
		QueueURL       string   `json:"QueueUrl"`
		AttributeNames []string `json:"AttributeNames"`
	}
	if err := decodeJSON(body, &in); err != nil {
		return nil, err
	}
	if in.QueueURL == "" {
		return nil, sqsMissing("QueueUrl")
	}
	attrs, err := a.queues.attributesOf(in.QueueURL, in.AttributeNames)
	if err != nil {
		return nil, err
	}
	return struct {
		Attributes map[string]string `json:"Attributes,omitempty"`
	}{attrs}, nil
}
