package interruption

import "encoding/json"

type rebalanceDetail struct {
	InstanceID string `json:"instance-id"`
}

// parseRebalance reads an "EC2 Instance Rebalance Recommendation": the
// spot instance is at elevated risk of interruption, and nothing else.
func parseRebalance(msg Message, raw json.RawMessage) (Message, error) {
	var d rebalanceDetail
	if err := json.Unmarshal(raw, &d); err != nil {
		return msg, errorOf(err)
	}
	if err := instanceID(d.InstanceID); err != nil {
		return msg, err
	}
	msg.Kind = KindRebalanceRecommendation
	msg.InstanceIDs = []string{d.InstanceID}
	return msg, nil
}
