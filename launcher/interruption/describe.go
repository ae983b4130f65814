package interruption

import (
	"fmt"
	"time"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
)

// reasonRebalanceRecommendation is the reason of the events a rebalance
// recommendation records.
const reasonRebalanceRecommendation = "RebalanceRecommendation"

// describe returns the reason of the Interrupted condition and events for a
// message that interrupts instance id, and what to tell the user.
func describe(msg Message, id string) (reason, message string) {
	switch msg.Kind {
	case KindSpotInterruption:
		when := "in two minutes"
		if !msg.Deadline.IsZero() {
			when = "at " + msg.Deadline.UTC().Format(time.RFC3339)
		}
		reason = karpv1.InterruptedReasonSpotInterruption
		message = fmt.Sprintf("EC2 takes spot instance %s back %s (spot interruption warning)", id, when)
	case KindScheduledChange:
		reason = karpv1.InterruptedReasonScheduledChange
		message = fmt.Sprintf("AWS Health scheduled a change of instance %s (retirement or maintenance)", id)
	case KindStateChange:
		reason = karpv1.InterruptedReasonInstanceTerminated
		if msg.State == "stopping" || msg.State == "stopped" {
			reason = karpv1.InterruptedReasonInstanceStopping
		}
		message = fmt.Sprintf("Instance %s is %s, and Tailor did not ask for it", id, msg.State)
	}
	return reason, message + "; deleting the NodeClaim so that its pods move now"
}
