package ec2sim

import (
	"encoding/json"
	"fmt"
	"time"
)

// healthTimeFormat is how AWS Health writes times in its events.
const healthTimeFormat = "Mon, 02 Jan 2006 15:04:05 GMT"

// spotInterruptionNotice is how long EC2 warns before it takes a spot
// instance back.
const spotInterruptionNotice = 2 * time.Minute

// EventBridge sources and detail types of the events the interruption queue
// receives, as AWS sends them.
const (
	sourceEC2    = "aws.ec2"
	sourceHealth = "aws.health"

	detailTypeSpotInterruption = "EC2 Spot Instance Interruption Warning"
	detailTypeRebalance        = "EC2 Instance Rebalance Recommendation"
	detailTypeStateChange      = "EC2 Instance State-change Notification"
	detailTypeHealth           = "AWS Health Event"
)

// Kinds of Event.
const (
	// SpotInterruption warns that a spot instance will be terminated, and
	// terminates it two minutes later on the simulator's clock.
	SpotInterruption = "spot-interruption"
	// RebalanceRecommendation says a spot instance is at elevated risk of
	// interruption; nothing else happens.
	RebalanceRecommendation = "rebalance-recommendation"
	// ScheduledChange is an AWS Health event: the instance is scheduled for
	// retirement. Nothing else happens (retirement is weeks away).
	ScheduledChange = "scheduled-change"
	// StateChange stops or terminates an instance behind the launcher's
	// back, as its owner might from the console. The state-change
	// notifications follow when Options.StateChangeEvents is on.
	StateChange = "state-change"
)

// Event is a fault to inject about one instance.
type Event struct {
	Kind       string `json:"kind"`
	InstanceID string `json:"instanceId"`
	// State is what a StateChange moves the instance to: stopping (and then
	// stopped) or shutting-down (and then terminated). "stopped" and
	// "terminated" are accepted for the same transitions.
	State string `json:"state,omitempty"`
}

// eventBridgeEvent is the envelope EventBridge delivers to an SQS target:
// the message body is this JSON document.
type eventBridgeEvent struct {
	Version    string   `json:"version"`
	ID         string   `json:"id"`
	DetailType string   `json:"detail-type"`
	Source     string   `json:"source"`
	Account    string   `json:"account"`
	Time       string   `json:"time"`
	Region     string   `json:"region"`
	Resources  []string `json:"resources"`
	Detail     any      `json:"detail"`
}

type spotInterruptionDetail struct {
	InstanceID     string `json:"instance-id"`
	InstanceAction string `json:"instance-action"`
}

type rebalanceDetail struct {
	InstanceID string `json:"instance-id"`
}

type stateChangeDetail struct {
	InstanceID string `json:"instance-id"`
	State      string `json:"state"`
}

type healthDetail struct {
	EventARN          string              `json:"eventArn"`
	Service           string              `json:"service"`
	EventTypeCode     string              `json:"eventTypeCode"`
	EventTypeCategory string              `json:"eventTypeCategory"`
	StartTime         string              `json:"startTime"`
	EndTime           string              `json:"endTime"`
	EventDescription  []healthDescription `json:"eventDescription"`
	AffectedEntities  []healthEntity      `json:"affectedEntities"`
}

type healthDescription struct {
	Language          string `json:"language"`
	LatestDescription string `json:"latestDescription"`
}

type healthEntity struct {
	EntityValue string `json:"entityValue"`
}

// publish delivers an event to the interruption queue, as the EventBridge
// rules of Karpenter's CloudFormation template do. Without a queue it is
// dropped.
func (s *Simulator) publish(detailType, source string, resources []string, detail any) {
	if s.opts.QueueName == "" {
		return
	}
	body, err := json.Marshal(eventBridgeEvent{
		Version: "0", ID: s.ids.uuid(), DetailType: detailType, Source: source, Account: s.world.account,
		Time: s.clock.Now().UTC().Format(time.RFC3339), Region: Region, Resources: resources, Detail: detail,
	})
	if err == nil {
		err = s.queues.deliver(s.opts.QueueName, string(body))
	}
	if err != nil {
		s.log.Error(err, "Delivering an event to the queue failed", "queue", s.opts.QueueName, "detailType", detailType)
	}
}

// InjectEvent makes something happen to an instance that only AWS can make
// happen: see the Kinds of Event.
func (s *Simulator) InjectEvent(e Event) error {
	s.world.mu.Lock()
	defer s.world.mu.Unlock()
	inst, ok := s.world.instances[e.InstanceID]
	if !ok {
		return fmt.Errorf("instance %q does not exist", e.InstanceID)
	}
	if inst.gone() && e.Kind != StateChange {
		return fmt.Errorf("instance %s is %s", inst.ID, inst.State.Name)
	}
	instanceARN := s.world.arn("ec2", "instance/"+inst.ID)
	log := s.log.WithValues("instance", inst.ID, "event", e.Kind)
	switch e.Kind {
	case SpotInterruption:
		if !inst.Spot {
			return fmt.Errorf("instance %s is on-demand: only spot instances are interrupted", inst.ID)
		}
		s.publish(detailTypeSpotInterruption, sourceEC2, []string{instanceARN},
			spotInterruptionDetail{InstanceID: inst.ID, InstanceAction: "terminate"})
		id := inst.ID
		s.timeline.after(spotInterruptionNotice, func() {
			s.world.mu.Lock()
			defer s.world.mu.Unlock()
			if inst, ok := s.world.instances[id]; ok {
				s.log.Info("Spot instance interrupted", "instance", id)
				s.terminateLocked(inst, reasonSpotTerminated)
			}
		})
		log.Info("Spot interruption warning sent", "terminationIn", spotInterruptionNotice)
	case RebalanceRecommendation:
		s.publish(detailTypeRebalance, sourceEC2, []string{instanceARN}, rebalanceDetail{InstanceID: inst.ID})
		log.Info("Rebalance recommendation sent")
	case ScheduledChange:
		start := s.clock.Now().Add(14 * 24 * time.Hour).UTC()
		s.publish(detailTypeHealth, sourceHealth, []string{instanceARN}, healthDetail{
			EventARN:          fmt.Sprintf("arn:aws:health:%s::event/EC2/AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED/%s", Region, s.ids.uuid()),
			Service:           "EC2",
			EventTypeCode:     "AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED",
			EventTypeCategory: "scheduledChange",
			StartTime:         start.Format(healthTimeFormat),
			EndTime:           start.Add(7 * 24 * time.Hour).Format(healthTimeFormat),
			EventDescription: []healthDescription{{Language: "en_US",
				LatestDescription: "EC2 has detected degradation of the underlying hardware hosting your instance, which is scheduled for retirement."}},
			AffectedEntities: []healthEntity{{EntityValue: inst.ID}},
		})
		log.Info("Scheduled change (instance retirement) sent")
	case StateChange:
		switch e.State {
		case "stopping", "stopped":
			if err := s.stopLocked(inst); err != nil {
				return err
			}
		case "shutting-down", "terminated":
			if inst.gone() {
				return fmt.Errorf("instance %s is already %s", inst.ID, inst.State.Name)
			}
			s.terminateLocked(inst, reasonUserShutdown)
		default:
			return fmt.Errorf("state %q is not one a state change can inject: stopping, stopped, shutting-down or terminated", e.State)
		}
		log.Info("Instance state changed behind the launcher's back", "state", inst.State.Name)
	default:
		return fmt.Errorf("event kind %q is not one of %s, %s, %s, %s", e.Kind, SpotInterruption, RebalanceRecommendation, ScheduledChange, StateChange)
	}
	return nil
}
