package interruption

import (
	"encoding/json"
	"errors"
)

type stateChangeDetail struct {
	InstanceID string `json:"instance-id"`
	State      string `json:"state"`
}

// instanceStates are the states an "EC2 Instance State-change
// Notification" may name.
var instanceStates = map[string]bool{
	"pending": true, "running": true, "stopping": true, "stopped": true, "shutting-down": true, "terminated": true,
}

// interruptingStates are the states in which an instance no longer runs
// pods, or will not for long.
var interruptingStates = map[string]bool{
	"stopping": true, "stopped": true, "shutting-down": true, "terminated": true,
}

// parseStateChange reads an "EC2 Instance State-change Notification". A
// change to pending or running asks nothing and is a KindNoOp message.
func parseStateChange(msg Message, raw json.RawMessage) (Message, error) {
	var d stateChangeDetail
	if err := json.Unmarshal(raw, &d); err != nil {
		return msg, errorOf(err)
	}
	if err := instanceID(d.InstanceID); err != nil {
		return msg, err
	}
	if !instanceStates[d.State] {
		return msg, errors.New("its state is not an instance state")
	}
	msg.InstanceIDs = []string{d.InstanceID}
	msg.State = d.State
	if interruptingStates[d.State] {
		msg.Kind = KindStateChange
	}
	return msg, nil
}
