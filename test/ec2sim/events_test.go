package ec2sim

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// receivedEvent is an EventBridge event as an interruption controller
// decodes it from an SQS message body.
type receivedEvent struct {
	Version    string          `json:"version"`
	ID         string          `json:"id"`
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Account    string          `json:"account"`
	Time       time.Time       `json:"time"`
	Region     string          `json:"region"`
	Resources  []string        `json:"resources"`
	Detail     json.RawMessage `json:"detail"`
}

// nextEvent receives, decodes and deletes the next message of the queue.
func nextEvent(t *testing.T, s *Simulator) receivedEvent {
	t.Helper()
	c := sqs.NewFromConfig(sdkConfig(s))
	ctx := context.Background()
	out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(s.QueueURL()), WaitTimeSeconds: 20})
	if err != nil {
		t.Fatalf("ReceiveMessage: %v", err)
	}
	if len(out.Messages) != 1 {
		t.Fatalf("received %d messages, want 1", len(out.Messages))
	}
	m := out.Messages[0]
	if _, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(s.QueueURL()), ReceiptHandle: m.ReceiptHandle}); err != nil {
		t.Fatalf("DeleteMessage: %v", err)
	}
	var e receivedEvent
	if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &e); err != nil {
		t.Fatalf("the message is not an EventBridge event: %v: %s", err, aws.ToString(m.Body))
	}
	return e
}

// launchSpot starts one spot instance and returns its id.
func launchSpot(t *testing.T, s *Simulator) string {
	t.Helper()
	img := s.world.ssmParameters["/aws/service/eks/optimized-ami/1.34/amazon-linux-2023/x86_64/standard/recommended/image_id"]
	out, err := ec2Client(s).RunInstances(context.Background(), &ec2.RunInstancesInput{
		MinCount: aws.Int32(1), MaxCount: aws.Int32(1), ImageId: aws.String(img), InstanceType: ec2types.InstanceTypeM5Large,
		SubnetId:              aws.String(privateSubnets(s)["us-east-1a"]),
		InstanceMarketOptions: &ec2types.InstanceMarketOptionsRequest{MarketType: ec2types.MarketTypeSpot},
		UserData:              aws.String(base64.StdEncoding.EncodeToString([]byte("#!/bin/bash\n"))),
	})
	if err != nil {
		t.Fatalf("RunInstances: %v", err)
	}
	if out.Instances[0].InstanceLifecycle != ec2types.InstanceLifecycleTypeSpot {
		t.Fatalf("instance lifecycle %q, want spot", out.Instances[0].InstanceLifecycle)
	}
	return aws.ToString(out.Instances[0].InstanceId)
}

func stateOf(t *testing.T, s *Simulator, id string) ec2types.InstanceStateName {
	t.Helper()
	out, err := ec2Client(s).DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		t.Fatalf("DescribeInstances: %v", err)
	}
	return out.Reservations[0].Instances[0].State.Name
}

// TestSpotInterruption: the warning arrives in the queue as EventBridge
// sends it, the instance keeps running through the two-minute notice, and is
// terminated when the simulator's clock passes it.
func TestSpotInterruption(t *testing.T) {
	s := startSim(t, Options{QueueName: "interruptions", BootDelay: time.Second, ShutdownDelay: time.Second, ClockScale: 100})
	id := launchSpot(t, s)
	eventually(t, "the instance runs", func() (bool, error) { return stateOf(t, s, id) == ec2types.InstanceStateNameRunning, nil })

	if err := s.InjectEvent(Event{Kind: SpotInterruption, InstanceID: id}); err != nil {
		t.Fatalf("InjectEvent: %v", err)
	}
	warned := s.Clock().Now()
	e := nextEvent(t, s)
	var detail struct {
		InstanceID     string `json:"instance-id"`
		InstanceAction string `json:"instance-action"`
	}
	if err := json.Unmarshal(e.Detail, &detail); err != nil {
		t.Fatal(err)
	}
	if e.Version != "0" || e.ID == "" || e.DetailType != "EC2 Spot Instance Interruption Warning" || e.Source != "aws.ec2" ||
		e.Account != DefaultAccountID || e.Region != Region || len(e.Resources) != 1 || detail.InstanceID != id || detail.InstanceAction != "terminate" {
		t.Errorf("event %+v detail %+v", e, detail)
	}
	if got := stateOf(t, s, id); got != ec2types.InstanceStateNameRunning && s.Clock().Since(warned) < spotInterruptionNotice {
		t.Errorf("the instance is %s within the notice", got)
	}
	eventually(t, "the interrupted instance is terminated", func() (bool, error) {
		return stateOf(t, s, id) == ec2types.InstanceStateNameTerminated, nil
	})
	if elapsed := s.Clock().Since(warned); elapsed < spotInterruptionNotice {
		t.Errorf("terminated %s of simulated time after the warning, before the two-minute notice ran out", elapsed)
	}
	out, err := ec2Client(s).DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		t.Fatal(err)
	}
	if code := aws.ToString(out.Reservations[0].Instances[0].StateReason.Code); code != "Server.SpotInstanceTermination" {
		t.Errorf("state reason %q, want Server.SpotInstanceTermination", code)
	}
}

// TestInjectedEvents checks the shape of every other event a launcher's
// interruption controller receives, and the state changes that come with
// stopping an instance.
func TestInjectedEvents(t *testing.T) {
	s := startSim(t, Options{QueueName: "interruptions", BootDelay: time.Hour, ShutdownDelay: time.Hour, StateChangeEvents: true})
	id := launchSpot(t, s)
	if e := nextEvent(t, s); e.DetailType != "EC2 Instance State-change Notification" || !detailHas(t, e, "state", "pending") {
		t.Fatalf("first event %+v, want the pending state change", e)
	}

	if err := s.InjectEvent(Event{Kind: RebalanceRecommendation, InstanceID: id}); err != nil {
		t.Fatal(err)
	}
	if e := nextEvent(t, s); e.DetailType != "EC2 Instance Rebalance Recommendation" || e.Source != "aws.ec2" || !detailHas(t, e, "instance-id", id) {
		t.Errorf("rebalance event %+v", e)
	}

	if err := s.InjectEvent(Event{Kind: ScheduledChange, InstanceID: id}); err != nil {
		t.Fatal(err)
	}
	e := nextEvent(t, s)
	var health struct {
		Service           string `json:"service"`
		EventTypeCategory string `json:"eventTypeCategory"`
		AffectedEntities  []struct {
			EntityValue string `json:"entityValue"`
		} `json:"affectedEntities"`
	}
	if err := json.Unmarshal(e.Detail, &health); err != nil {
		t.Fatal(err)
	}
	if e.DetailType != "AWS Health Event" || e.Source != "aws.health" || health.Service != "EC2" || health.EventTypeCategory != "scheduledChange" ||
		len(health.AffectedEntities) != 1 || health.AffectedEntities[0].EntityValue != id {
		t.Errorf("scheduled change event %+v detail %+v", e, health)
	}

	if err := s.InjectEvent(Event{Kind: StateChange, InstanceID: id, State: "stopped"}); err != nil {
		t.Fatal(err)
	}
	if e := nextEvent(t, s); !detailHas(t, e, "state", "stopping") {
		t.Errorf("state change event %+v, want stopping", e)
	}
	if err := s.Clock().Advance(time.Hour); err != nil {
		t.Fatal(err)
	}
	if e := nextEvent(t, s); !detailHas(t, e, "state", "stopped") {
		t.Errorf("state change event %+v, want stopped", e)
	}

	for _, bad := range []Event{
		{Kind: SpotInterruption, InstanceID: "i-0123456789abcdef0"},
		{Kind: "meteor", InstanceID: id},
		{Kind: StateChange, InstanceID: id, State: "rebooting"},
	} {
		if err := s.InjectEvent(bad); err == nil {
			t.Errorf("InjectEvent(%+v) succeeded", bad)
		}
	}
}

// TestSpotInterruptionOfOnDemandFails: only spot instances are interrupted.
func TestSpotInterruptionOfOnDemandFails(t *testing.T) {
	s := startSim(t, Options{QueueName: "interruptions"})
	img := s.world.ssmParameters["/aws/service/eks/optimized-ami/1.34/amazon-linux-2023/x86_64/standard/recommended/image_id"]
	out, err := ec2Client(s).RunInstances(context.Background(), &ec2.RunInstancesInput{
		MinCount: aws.Int32(1), MaxCount: aws.Int32(1), ImageId: aws.String(img), InstanceType: ec2types.InstanceTypeM5Large,
		SubnetId: aws.String(privateSubnets(s)["us-east-1a"]),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.InjectEvent(Event{Kind: SpotInterruption, InstanceID: aws.ToString(out.Instances[0].InstanceId)}); err == nil {
		t.Error("an on-demand instance was interrupted")
	}
}

func detailHas(t *testing.T, e receivedEvent, key, want string) bool {
	t.Helper()
	var detail map[string]any
	if err := json.Unmarshal(e.Detail, &detail); err != nil {
		t.Fatalf("detail of %s: %v", e.DetailType, err)
	}
	return detail[key] == want
}
