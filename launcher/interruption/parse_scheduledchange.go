package interruption

import (
	"encoding/json"
	"errors"
)

type healthDetail struct {
	Service           string         `json:"service"`
	EventTypeCategory string         `json:"eventTypeCategory"`
	AffectedEntities  []healthEntity `json:"affectedEntities"`
}

type healthEntity struct {
	EntityValue string `json:"entityValue"`
}

// parseHealth reads an "AWS Health Event". Only a scheduled change of EC2
// (a retirement, a reboot for maintenance) concerns instances; every other
// Health event is a KindNoOp message.
func parseHealth(msg Message, raw json.RawMessage) (Message, error) {
	var d healthDetail
	if err := json.Unmarshal(raw, &d); err != nil {
		return msg, errorOf(err)
	}
	if d.Service != "EC2" || d.EventTypeCategory != "scheduledChange" {
		return msg, nil
	}
	for _, e := range d.AffectedEntities {
		// Entities of other kinds (volumes, say) may share the event.
		if instanceID(e.EntityValue) == nil {
			msg.InstanceIDs = append(msg.InstanceIDs, e.EntityValue)
		}
	}
	if len(msg.InstanceIDs) == 0 {
		return msg, errors.New("a scheduled change of EC2 that affects no instance")
	}
	msg.Kind = KindScheduledChange
	return msg, nil
}
