package interruption

import (
	"encoding/json"
	"time"
)

// spotInterruptionNotice is how long EC2 gives a spot instance after the
// warning.
const spotInterruptionNotice = 2 * time.Minute

type spotInterruptionDetail struct {
	InstanceID     string `json:"instance-id"`
	InstanceAction string `json:"instance-action"`
}

// parseSpotInterruption reads an "EC2 Spot Instance Interruption Warning":
// the instance is taken back (terminated, stopped or hibernated) two
// minutes after the event.
func parseSpotInterruption(msg Message, raw json.RawMessage) (Message, error) {
	var d spotInterruptionDetail
	if err := json.Unmarshal(raw, &d); err != nil {
		return msg, errorOf(err)
	}
	if err := instanceID(d.InstanceID); err != nil {
		return msg, err
	}
	msg.Kind = KindSpotInterruption
	msg.InstanceIDs = []string{d.InstanceID}
	if !msg.Time.IsZero() {
		msg.Deadline = msg.Time.Add(spotInterruptionNotice)
	}
	return msg, nil
}
