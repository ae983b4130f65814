package fleet

import (
	"fmt"
	"strings"

	"github.com/tailor-project/tailor/apis/wellknown"
)

// Offering is an instance type in a zone with a capacity type, and why EC2
// would not launch it. It is the element of the NodeClaim annotation
// tailor.sh/unavailable-offerings, from which the scheduler learns what not
// to ask for again.
type Offering = wellknown.UnavailableOffering

// Reasons of a NotLaunchableError.
const (
	// ReasonInsufficientCapacity: no allowed offering had capacity.
	ReasonInsufficientCapacity = "InsufficientCapacity"
	// ReasonNoCompatibleAMI: the class has no AMI for any allowed type.
	ReasonNoCompatibleAMI = "NoCompatibleAMI"
	// ReasonNoSubnet: the class has no subnet in any allowed zone.
	ReasonNoSubnet = "NoSubnetInZone"
	// ReasonLaunchNotRepeatable: an earlier launch of the claim, made with
	// its client token, launched nothing, and EC2 will not run another.
	ReasonLaunchNotRepeatable = "LaunchNotRepeatable"
)

// NotLaunchableError says a claim cannot be launched and that trying again
// will not change that: the scheduler has to decide again, knowing the
// offerings that failed.
type NotLaunchableError struct {
	Reason    string
	Message   string
	Offerings []Offering
}

func (e *NotLaunchableError) Error() string {
	if len(e.Offerings) == 0 {
		return e.Message
	}
	return fmt.Sprintf("%s: %s", e.Message, describeOfferings(e.Offerings))
}

// describeOfferings lists offerings for a message, at most a handful.
func describeOfferings(offerings []Offering) string {
	const shown = 5
	parts := make([]string, 0, shown+1)
	for i, o := range offerings {
		if i == shown {
			parts = append(parts, fmt.Sprintf("and %d more", len(offerings)-shown))
			break
		}
		parts = append(parts, fmt.Sprintf("%s/%s/%s (%s)", o.InstanceType, o.Zone, o.CapacityType, o.Reason))
	}
	return strings.Join(parts, ", ")
}
