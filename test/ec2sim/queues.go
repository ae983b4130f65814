package ec2sim

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// SQS limits and defaults the simulator keeps.
const (
	defaultVisibilityTimeout = 30 * time.Second
	defaultRetention         = 4 * 24 * time.Hour
	maxLongPoll              = 20 * time.Second
	maxMessageBytes          = 256 << 10
)

var queueNamePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}$`)

// queueAttributeLimits are the numeric queue attributes the simulator
// honours, with their valid ranges in seconds (bytes for the size).
var queueAttributeLimits = map[string][2]int{
	"VisibilityTimeout":             {0, 43200},
	"MessageRetentionPeriod":        {60, 1209600},
	"DelaySeconds":                  {0, 900},
	"ReceiveMessageWaitTimeSeconds": {0, 20},
	"MaximumMessageSize":            {1024, maxMessageBytes},
}

// queueAttributesStored are accepted and kept, without effect.
var queueAttributesStored = map[string]bool{
	"Policy": true, "RedrivePolicy": true, "RedriveAllowPolicy": true, "SqsManagedSseEnabled": true,
	"KmsMasterKeyId": true, "KmsDataKeyReusePeriodSeconds": true,
}

// queues are the simulated account's SQS standard queues. Times that SQS
// measures (visibility timeouts, delays, retention) run on the simulator's
// clock; a long poll waits in real time, as it is a network call.
type queues struct {
	clock    *Clock
	timeline *timeline
	ids      *ids
	account  string

	mu       sync.Mutex
	endpoint string
	byName   map[string]*queue
}

type queue struct {
	name       string
	attributes map[string]string
	messages   []*message
	// changed is closed and replaced whenever a message may have become
	// receivable, to wake long polls.
	changed chan struct{}
}

type message struct {
	id            string
	body          string
	attributes    map[string]messageAttribute
	sent          time.Time
	visibleAt     time.Time
	receiveCount  int
	firstReceived time.Time
	receipt       string
}

// messageAttribute is a message attribute as SQS's JSON protocol carries it.
type messageAttribute struct {
	DataType    string  `json:"DataType"`
	StringValue *string `json:"StringValue,omitempty"`
	BinaryValue []byte  `json:"BinaryValue,omitempty"`
}

func newQueues(clock *Clock, tl *timeline, g *ids, account string) *queues {
	return &queues{clock: clock, timeline: tl, ids: g, account: account, byName: map[string]*queue{}}
}

func (qs *queues) setEndpoint(endpoint string) {
	qs.mu.Lock()
	defer qs.mu.Unlock()
	qs.endpoint = endpoint
}

func (qs *queues) urlOf(name string) string {
	qs.mu.Lock()
	defer qs.mu.Unlock()
	return qs.urlLocked(name)
}

func (qs *queues) urlLocked(name string) string {
	return qs.endpoint + "/" + qs.account + "/" + name
}

func errQueueDoesNotExist() *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: "QueueDoesNotExist", QueryCode: "AWS.SimpleQueueService.NonExistentQueue",
		Message: "The specified queue does not exist."}
}

// create makes a queue, or returns the URL of an existing one with the same
// attributes, as CreateQueue does.
func (qs *queues) create(name string, attributes map[string]string) (string, error) {
	if !queueNamePattern.MatchString(name) {
		if strings.HasSuffix(name, ".fifo") {
			return "", &apiError{Status: http.StatusBadRequest, Code: "UnsupportedOperation", QueryCode: "AWS.SimpleQueueService.UnsupportedOperation",
				Message: "FIFO queues are not simulated"}
		}
		return "", clientError("InvalidParameterValue", "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length")
	}
	for k, v := range attributes {
		if limits, ok := queueAttributeLimits[k]; ok {
			n, err := strconv.Atoi(v)
			if err != nil || n < limits[0] || n > limits[1] {
				return "", &apiError{Status: http.StatusBadRequest, Code: "InvalidAttributeValue",
					Message: fmt.Sprintf("Invalid value for the parameter %s: expecting an integer from %d to %d", k, limits[0], limits[1])}
			}
			continue
		}
		if k == "FifoQueue" || k == "ContentBasedDeduplication" {
			return "", &apiError{Status: http.StatusBadRequest, Code: "UnsupportedOperation", QueryCode: "AWS.SimpleQueueService.UnsupportedOperation",
				Message: "FIFO queues are not simulated"}
		}
		if !queueAttributesStored[k] {
			return "", &apiError{Status: http.StatusBadRequest, Code: "InvalidAttributeName", Message: fmt.Sprintf("Unknown Attribute %s.", k)}
		}
	}
	qs.mu.Lock()
	defer qs.mu.Unlock()
	if q, ok := qs.byName[name]; ok {
		for k, v := range attributes {
			if q.attributes[k] != v {
				return "", &apiError{Status: http.StatusBadRequest, Code: "QueueNameExists", QueryCode: "QueueAlreadyExists",
					Message: "A queue already exists with the same name and a different value for attribute " + k}
			}
		}
		return qs.urlLocked(name), nil
	}
	q := &queue{name: name, attributes: map[string]string{}, changed: make(chan struct{})}
	for k, v := range attributes {
		q.attributes[k] = v
	}
	qs.byName[name] = q
	return qs.urlLocked(name), nil
}

// lookupLocked finds a queue by URL. Only the path counts (/<account>/<name>),
// so a URL built with another host name for the same endpoint works.
func (qs *queues) lookupLocked(queueURL string) (*queue, error) {
	u, err := url.Parse(queueURL)
	if err != nil || queueURL == "" {
		return nil, errQueueDoesNotExist()
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(parts) != 2 || parts[0] != qs.account {
		return nil, errQueueDoesNotExist()
	}
	q, ok := qs.byName[parts[1]]
	if !ok {
		return nil, errQueueDoesNotExist()
	}
	return q, nil
}

// number returns a numeric attribute of the queue, or def when unset.
func (q *queue) number(attribute string, def int) int {
	if v, ok := q.attributes[attribute]; ok {
		if n, err := strconv.Atoi(v); err == nil {
			return n
		}
	}
	return def
}

// seconds returns an attribute in seconds as a duration, or def when unset.
func (q *queue) seconds(attribute string, def time.Duration) time.Duration {
	if _, ok := q.attributes[attribute]; ok {
		return time.Duration(q.number(attribute, 0)) * time.Second
	}
	return def
}

// broadcast wakes every long poll waiting on the queue.
func (q *queue) broadcast() {
	close(q.changed)
	q.changed = make(chan struct{})
}

// wakeAt broadcasts when a message becomes visible at t.
func (qs *queues) wakeAt(q *queue, t time.Time) {
	qs.timeline.at(t, func() {
		qs.mu.Lock()
		defer qs.mu.Unlock()
		q.broadcast()
	})
}

// send adds a message and returns it.
func (qs *queues) send(queueURL, body string, delay *int, attributes map[string]messageAttribute) (*message, error) {
	if body == "" {
		return nil, &apiError{Status: http.StatusBadRequest, Code: "MissingParameter", Message: "The request must contain the parameter MessageBody."}
	}
	qs.mu.Lock()
	defer qs.mu.Unlock()
	q, err := qs.lookupLocked(queueURL)
	if err != nil {
		return nil, err
	}
	if limit := q.number("MaximumMessageSize", maxMessageBytes); len(body) > limit {
		return nil, clientError("InvalidParameterValue", "One or more parameters are invalid. Reason: Message must be shorter than %d bytes.", limit)
	}
	d := q.seconds("DelaySeconds", 0)
	if delay != nil {
		if *delay < 0 || *delay > 900 {
			return nil, clientError("InvalidParameterValue", "Value %d for parameter DelaySeconds is invalid. Reason: must be between 0 and 900, if provided.", *delay)
		}
		d = time.Duration(*delay) * time.Second
	}
	now := qs.clock.Now()
	m := &message{id: qs.ids.uuid(), body: body, attributes: attributes, sent: now, visibleAt: now.Add(d)}
	q.messages = append(q.messages, m)
	if d > 0 {
		qs.wakeAt(q, m.visibleAt)
	} else {
		q.broadcast()
	}
	return m, nil
}

// deliver sends an event from inside the simulated account, by queue name.
func (qs *queues) deliver(name, body string) error {
	_, err := qs.send(qs.urlOf(name), body, nil, nil)
	return err
}

// receive takes up to max visible messages, waiting up to the request's (or
// the queue's) wait time, in real time, for one to arrive when none is
// visible.
func (qs *queues) receive(ctx context.Context, queueURL string, max int, visibility, wait *int) ([]*message, error) {
	var deadline time.Time
	for first := true; ; first = false {
		qs.mu.Lock()
		q, err := qs.lookupLocked(queueURL)
		if err != nil {
			qs.mu.Unlock()
			return nil, err
		}
		if first {
			poll := q.seconds("ReceiveMessageWaitTimeSeconds", 0)
			if wait != nil {
				poll = time.Duration(*wait) * time.Second
			}
			deadline = time.Now().Add(poll)
		}
		got := qs.takeLocked(q, max, visibility)
		changed := q.changed
		qs.mu.Unlock()
		remaining := time.Until(deadline)
		if len(got) > 0 || remaining <= 0 {
			return got, nil
		}
		timer := time.NewTimer(remaining)
		select {
		case <-changed:
		case <-timer.C:
		case <-ctx.Done():
		}
		timer.Stop()
		if ctx.Err() != nil {
			return nil, nil
		}
	}
}

// takeLocked receives visible messages: each gets a new receipt handle and
// is hidden for the visibility timeout. Messages past the retention period
// are dropped first.
func (qs *queues) takeLocked(q *queue, max int, visibility *int) []*message {
	now := qs.clock.Now()
	hide := q.seconds("VisibilityTimeout", defaultVisibilityTimeout)
	if visibility != nil {
		hide = time.Duration(*visibility) * time.Second
	}
	retention := q.seconds("MessageRetentionPeriod", defaultRetention)
	kept := q.messages[:0]
	for _, m := range q.messages {
		if now.Sub(m.sent) < retention {
			kept = append(kept, m)
		}
	}
	q.messages = kept
	var got []*message
	for _, m := range q.messages {
		if len(got) == max {
			break
		}
		if m.visibleAt.After(now) {
			continue
		}
		m.receiveCount++
		if m.firstReceived.IsZero() {
			m.firstReceived = now
		}
		m.visibleAt = now.Add(hide)
		m.receipt = base64.RawURLEncoding.EncodeToString([]byte(q.name + "\x00" + m.id + "\x00" + qs.ids.uuid()))
		qs.wakeAt(q, m.visibleAt)
		got = append(got, m)
	}
	return got
}

// remove deletes the message a receipt handle names. A well-formed handle of
// a message already deleted succeeds, as in SQS.
func (qs *queues) remove(queueURL, receipt string) error {
	qs.mu.Lock()
	defer qs.mu.Unlock()
	q, err := qs.lookupLocked(queueURL)
	if err != nil {
		return err
	}
	invalid := &apiError{Status: http.StatusBadRequest, Code: "ReceiptHandleIsInvalid",
		Message: fmt.Sprintf("The input receipt handle %q is not a valid receipt handle.", receipt)}
	raw, err := base64.RawURLEncoding.DecodeString(receipt)
	if err != nil {
		return invalid
	}
	parts := strings.Split(string(raw), "\x00")
	if len(parts) != 3 || parts[0] != q.name {
		return invalid
	}
	for i, m := range q.messages {
		if m.id == parts[1] {
			q.messages = append(q.messages[:i], q.messages[i+1:]...)
			break
		}
	}
	return nil
}

// md5Hex is the checksum SQS returns for a message body.
func md5Hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// attributesMD5 is SQS's checksum of message attributes: for each attribute
// in name order, the length-prefixed name, data type, a transport byte (1
// string, 2 binary) and length-prefixed value.
func attributesMD5(attrs map[string]messageAttribute) string {
	if len(attrs) == 0 {
		return ""
	}
	names := make([]string, 0, len(attrs))
	for n := range attrs {
		names = append(names, n)
	}
	sort.Strings(names)
	h := md5.New()
	field := func(b []byte) {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	for _, n := range names {
		a := attrs[n]
		field([]byte(n))
		field([]byte(a.DataType))
		if a.StringValue != nil {
			h.Write([]byte{1})
			field([]byte(*a.StringValue))
		} else {
			h.Write([]byte{2})
			field(a.BinaryValue)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// drop deletes a queue with its messages, as DeleteQueue does; long polls
// waiting on it return QueueDoesNotExist. SQS may take a minute to delete a
// queue and refuses its name for a minute after; the simulator does both at
// once, so a test can take a queue away and bring it back.
func (qs *queues) drop(queueURL string) error {
	qs.mu.Lock()
	defer qs.mu.Unlock()
	q, err := qs.lookupLocked(queueURL)
	if err != nil {
		return err
	}
	delete(qs.byName, q.name)
	q.broadcast()
	return nil
}

// queueAttributeDefaults are the values GetQueueAttributes reports for the
// numeric attributes a queue was not created with.
var queueAttributeDefaults = map[string]string{
	"VisibilityTimeout":             strconv.Itoa(int(defaultVisibilityTimeout.Seconds())),
	"MessageRetentionPeriod":        strconv.Itoa(int(defaultRetention.Seconds())),
	"DelaySeconds":                  "0",
	"ReceiveMessageWaitTimeSeconds": "0",
	"MaximumMessageSize":            strconv.Itoa(maxMessageBytes),
}

// attributesOf answers GetQueueAttributes: the named attributes ("All" for
// every one) that the queue has, with the approximate counts of messages
// visible, in flight and delayed as of now on the simulator's clock.
func (qs *queues) attributesOf(queueURL string, names []string) (map[string]string, error) {
	qs.mu.Lock()
	defer qs.mu.Unlock()
	q, err := qs.lookupLocked(queueURL)
	if err != nil {
		return nil, err
	}
	now := qs.clock.Now()
	retention := q.seconds("MessageRetentionPeriod", defaultRetention)
	var visible, inFlight, delayed int
	for _, m := range q.messages {
		switch {
		case now.Sub(m.sent) >= retention:
		case !m.visibleAt.After(now):
			visible++
		case m.receiveCount == 0:
			delayed++
		default:
			inFlight++
		}
	}
	all := map[string]string{
		"QueueArn":                              "arn:aws:sqs:" + Region + ":" + qs.account + ":" + q.name,
		"ApproximateNumberOfMessages":           strconv.Itoa(visible),
		"ApproximateNumberOfMessagesNotVisible": strconv.Itoa(inFlight),
		"ApproximateNumberOfMessagesDelayed":    strconv.Itoa(delayed),
	}
	for k, v := range queueAttributeDefaults {
		all[k] = v
	}
	for k, v := range q.attributes {
		all[k] = v
	}
	out := map[string]string{}
	for _, n := range names {
		if n == "All" {
			return all, nil
		}
		v, ok := all[n]
		if !ok && !queueAttributesStored[n] {
			return nil, &apiError{Status: http.StatusBadRequest, Code: "InvalidAttributeName", Message: fmt.Sprintf("Unknown Attribute %s.", n)}
		}
		if ok {
			out[n] = v
		}
	}
	return out, nil
}
