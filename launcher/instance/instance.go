package instance

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/tailor-project/tailor/apis/wellknown"
)

// Instance is an EC2 instance as the launcher sees it.
type Instance struct {
	ID   string
	Type string
	Zone string
	// CapacityType is wellknown.CapacityTypeOnDemand, CapacityTypeSpot or,
	// for an instance in a capacity reservation, CapacityTypeReserved.
	CapacityType string
	// CapacityReservationID is the reservation the instance runs in, if any.
	CapacityReservationID string
	// CapacityReservationType is that reservation's type: default (an
	// ODCR) or capacity-block; empty outside a reservation.
	CapacityReservationType string
	ImageID                 string
	// State is EC2's state name: pending, running, shutting-down, ...
	State      ec2types.InstanceStateName
	LaunchTime time.Time
	Tags       map[string]string
}

// ProviderID is the provider id a Node of the instance carries.
func (i *Instance) ProviderID() string {
	return ProviderID(i.Zone, i.ID)
}

// Gone reports whether the instance is terminated or on its way there: it
// will never run a node again.
func (i *Instance) Gone() bool {
	return i.State == ec2types.InstanceStateNameShuttingDown || i.State == ec2types.InstanceStateNameTerminated
}

// liveStates are the states of an instance that may still run a node.
var liveStates = []string{
	string(ec2types.InstanceStateNamePending),
	string(ec2types.InstanceStateNameRunning),
	string(ec2types.InstanceStateNameStopping),
	string(ec2types.InstanceStateNameStopped),
}

// fromEC2 converts EC2's description of an instance.
func fromEC2(in *ec2types.Instance) *Instance {
	out := &Instance{
		ID:           aws.ToString(in.InstanceId),
		Type:         string(in.InstanceType),
		ImageID:      aws.ToString(in.ImageId),
		LaunchTime:   aws.ToTime(in.LaunchTime),
		CapacityType: wellknown.CapacityTypeOnDemand,
		Tags:         make(map[string]string, len(in.Tags)),
	}
	if in.Placement != nil {
		out.Zone = aws.ToString(in.Placement.AvailabilityZone)
	}
	if in.State != nil {
		out.State = in.State.Name
	}
	switch {
	case in.InstanceLifecycle == ec2types.InstanceLifecycleTypeSpot:
		out.CapacityType = wellknown.CapacityTypeSpot
	case aws.ToString(in.CapacityReservationId) != "":
		out.CapacityType = wellknown.CapacityTypeReserved
		out.CapacityReservationID = aws.ToString(in.CapacityReservationId)
		// EC2 marks a Capacity Block's instances by their lifecycle.
		out.CapacityReservationType = wellknown.CapacityReservationTypeDefault
		if in.InstanceLifecycle == ec2types.InstanceLifecycleTypeCapacityBlock {
			out.CapacityReservationType = wellknown.CapacityReservationTypeCapacityBlock
		}
	}
	for _, t := range in.Tags {
		out.Tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return out
}
