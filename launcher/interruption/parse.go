package interruption

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Kind is what a message says about its instances.
type Kind string

// Kinds of message.
const (
	KindSpotInterruption        Kind = "spot-interruption"
	KindScheduledChange         Kind = "scheduled-change"
	KindStateChange             Kind = "state-change"
	KindRebalanceRecommendation Kind = "rebalance-recommendation"
	// KindNoOp is an event the queue may carry that asks nothing of the
	// launcher: a Health event of another service, say.
	KindNoOp Kind = "no-op"
)

// EventBridge sources and detail types of the events the queue's rules
// forward.
const (
	sourceEC2    = "aws.ec2"
	sourceHealth = "aws.health"

	detailTypeSpotInterruption = "EC2 Spot Instance Interruption Warning"
	detailTypeRebalance        = "EC2 Instance Rebalance Recommendation"
	detailTypeStateChange      = "EC2 Instance State-change Notification"
	detailTypeHealth           = "AWS Health Event"
)

// Message is one event of the queue, read.
type Message struct {
	// ID is EventBridge's id of the event, the same in every copy SQS
	// delivers.
	ID   string
	Kind Kind
	// InstanceIDs are the instances the event is about.
	InstanceIDs []string
	// Time is when AWS emitted the event.
	Time time.Time
	// State is the state a state change moved the instance to.
	State string
	// Deadline is when the instance goes, if the event says: two minutes
	// after a spot interruption warning.
	Deadline time.Time
}

// envelope is what EventBridge delivers to an SQS target: the message body
// is this JSON document, its detail depending on the source and type.
type envelope struct {
	ID         string          `json:"id"`
	Source     string          `json:"source"`
	DetailType string          `json:"detail-type"`
	Time       time.Time       `json:"time"`
	Detail     json.RawMessage `json:"detail"`
}

// errUnparseable wraps every reason a body is not an event the launcher
// can read. Its text never holds the body, which need not be ours to log.
var errUnparseable = errors.New("not an EventBridge event")

// detailParsers read the detail of each kind the queue's rules forward.
var detailParsers = map[[2]string]func(Message, json.RawMessage) (Message, error){
	{sourceEC2, detailTypeSpotInterruption}: parseSpotInterruption,
	{sourceEC2, detailTypeRebalance}:        parseRebalance,
	{sourceEC2, detailTypeStateChange}:      parseStateChange,
	{sourceHealth, detailTypeHealth}:        parseHealth,
}

// Parse reads a message body. An event of a source or type the rules do not
// forward is a KindNoOp message; a body that is no event at all, or an
// event without what its kind must say, is an error.
func Parse(body string) (Message, error) {
	var env envelope
	if err := json.Unmarshal([]byte(body), &env); err != nil {
		return Message{}, fmt.Errorf("%w: %s", errUnparseable, jsonProblem(err))
	}
	if env.Source == "" || env.DetailType == "" {
		return Message{}, fmt.Errorf("%w: no source or detail-type", errUnparseable)
	}
	msg := Message{ID: env.ID, Time: env.Time, Kind: KindNoOp}
	parse, ok := detailParsers[[2]string{env.Source, env.DetailType}]
	if !ok {
		return msg, nil
	}
	if len(env.Detail) == 0 || string(env.Detail) == "null" {
		return Message{}, fmt.Errorf("%w: %s from %s without a detail", errUnparseable, env.DetailType, env.Source)
	}
	msg, err := parse(msg, env.Detail)
	if err != nil {
		return Message{}, fmt.Errorf("%w: %s from %s: %w", errUnparseable, env.DetailType, env.Source, err)
	}
	return msg, nil
}

// jsonProblem describes a JSON error by its position and kind only: the
// errors of encoding/json may quote the input.
func jsonProblem(err error) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var parseTime *time.ParseError
	switch {
	case errors.As(err, &syntax):
		return fmt.Sprintf("invalid JSON at byte %d", syntax.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("field %q is a JSON %s, not a %s", typ.Field, typ.Value, typ.Type)
	case errors.As(err, &parseTime):
		return "a time is not RFC 3339"
	}
	return "invalid JSON"
}

// instanceID checks an instance id a detail names. The error does not
// quote it: nothing of a message that is not what it should be is logged.
func instanceID(id string) error {
	if len(id) < len("i-")+8 || id[:2] != "i-" {
		return errors.New("its instance id is not an EC2 instance id")
	}
	return nil
}

// errorOf describes the JSON error of a detail without quoting it.
func errorOf(err error) error {
	return errors.New(jsonProblem(err))
}
