package ec2sim

import (
	"context"
	"net/url"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// launchWithToken makes one launching call with a client token, either the
// usual request or one changed in a parameter, and says what it launched:
// the fleet or reservation id and the instance ids, sorted.
type launchWithToken func(ctx context.Context, token string, changed bool) (id string, instances []string, err error)

func createFleetWithToken(s *Simulator) launchWithToken {
	return func(ctx context.Context, token string, changed bool) (string, []string, error) {
		in := fleetInput(s, "fleet", ec2types.DefaultTargetCapacityTypeOnDemand, 1, []override{{instanceType: "m5.large", zone: "us-east-1a"}}, nil, nil)
		in.ClientToken = aws.String(token)
		if changed {
			in.TargetCapacitySpecification.TotalTargetCapacity = aws.Int32(2)
		}
		out, err := ec2Client(s).CreateFleet(ctx, in)
		if err != nil {
			return "", nil, err
		}
		var ids []string
		for _, i := range out.Instances {
			ids = append(ids, i.InstanceIds...)
		}
		sort.Strings(ids)
		return aws.ToString(out.FleetId), ids, nil
	}
}

func runInstancesWithToken(s *Simulator) launchWithToken {
	return func(ctx context.Context, token string, changed bool) (string, []string, error) {
		in := &ec2.RunInstancesInput{
			MinCount: aws.Int32(1), MaxCount: aws.Int32(1), InstanceType: ec2types.InstanceTypeM5Large,
			LaunchTemplate: &ec2types.LaunchTemplateSpecification{LaunchTemplateName: aws.String("fleet")},
			SubnetId:       aws.String(privateSubnets(s)["us-east-1a"]), ClientToken: aws.String(token),
		}
		if changed {
			in.TagSpecifications = []ec2types.TagSpecification{{
				ResourceType: ec2types.ResourceTypeInstance, Tags: []ec2types.Tag{{Key: aws.String("changed"), Value: aws.String("yes")}},
			}}
		}
		out, err := ec2Client(s).RunInstances(ctx, in)
		if err != nil {
			return "", nil, err
		}
		var ids []string
		for _, i := range out.Instances {
			ids = append(ids, aws.ToString(i.InstanceId))
		}
		sort.Strings(ids)
		return aws.ToString(out.ReservationId), ids, nil
	}
}

// TestClientToken: CreateFleet and RunInstances are idempotent on their
// ClientToken as in EC2. A retry of the same request gets the first answer
// and launches nothing; the token with another request is
// IdempotentParameterMismatch; another token, or the same one after the
// idempotency window, launches again. A RunInstances that failed left its
// token unused, while a CreateFleet that launched nothing still created its
// fleet, so its retry gets the same fleet and no instances.
func TestClientToken(t *testing.T) {
	type outcome int
	const (
		replayed outcome = iota
		mismatch
		launchedAgain
	)
	for _, tc := range []struct {
		name   string
		action string
		// iceFirst makes the first call meet an insufficient-capacity
		// fault, cleared before the second.
		iceFirst       bool
		otherToken     bool
		changed        bool
		advanceBetween time.Duration
		want           outcome
	}{
		{name: "a fleet retried with its token and request", action: "CreateFleet", want: replayed},
		{name: "a fleet's token with another target capacity", action: "CreateFleet", changed: true, want: mismatch},
		{name: "the same fleet request with another token", action: "CreateFleet", otherToken: true, want: launchedAgain},
		{name: "a fleet's token a day later", action: "CreateFleet", advanceBetween: idempotencyWindow + time.Minute, want: launchedAgain},
		{name: "a fleet that launched nothing, retried once capacity is back", action: "CreateFleet", iceFirst: true, want: replayed},
		{name: "RunInstances retried with its token and request", action: "RunInstances", want: replayed},
		{name: "a RunInstances token with other tags", action: "RunInstances", changed: true, want: mismatch},
		{name: "the same RunInstances request with another token", action: "RunInstances", otherToken: true, want: launchedAgain},
		{name: "RunInstances that failed, retried once capacity is back", action: "RunInstances", iceFirst: true, want: launchedAgain},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var opts Options
			if tc.iceFirst {
				opts.Faults = Faults{InsufficientCapacity: []Pool{{InstanceType: "m5.large"}}}
			}
			s := startSim(t, opts)
			seedTemplate(t, s, "fleet", b64("#!/bin/bash\n"))
			ctx := context.Background()
			launch := map[string]launchWithToken{"CreateFleet": createFleetWithToken(s), "RunInstances": runInstancesWithToken(s)}[tc.action]

			firstID, first, err := launch(ctx, "token-1", false)
			switch {
			case tc.iceFirst && tc.action == "RunInstances":
				wantAPIError(t, err, "InsufficientInstanceCapacity")
			case err != nil:
				t.Fatalf("first %s: %v", tc.action, err)
			case tc.iceFirst && len(first) > 0:
				t.Fatalf("first %s launched %v into an insufficient-capacity fault", tc.action, first)
			case !tc.iceFirst && len(first) == 0:
				t.Fatalf("first %s launched nothing", tc.action)
			}
			if err := s.SetFaults(Faults{}); err != nil {
				t.Fatal(err)
			}
			if tc.advanceBetween > 0 {
				if err := s.Clock().Advance(tc.advanceBetween); err != nil {
					t.Fatal(err)
				}
			}
			before := len(s.Instances())
			token := "token-1"
			if tc.otherToken {
				token = "token-2"
			}
			secondID, second, err := launch(ctx, token, tc.changed)
			after := len(s.Instances())

			switch tc.want {
			case replayed:
				if err != nil {
					t.Fatalf("retry: %v", err)
				}
				if secondID != firstID || !slices.Equal(second, first) {
					t.Errorf("retry answered %s %v, want the first answer %s %v", secondID, second, firstID, first)
				}
				if after != before {
					t.Errorf("retry launched %d instances, want none", after-before)
				}
			case mismatch:
				wantAPIError(t, err, "IdempotentParameterMismatch")
				if after != before {
					t.Errorf("a mismatched request launched %d instances, want none", after-before)
				}
			case launchedAgain:
				if err != nil {
					t.Fatalf("second %s: %v", tc.action, err)
				}
				if secondID == "" || secondID == firstID {
					t.Errorf("second %s answered id %q, want a new one (first %q)", tc.action, secondID, firstID)
				}
				if len(second) == 0 || after != before+len(second) {
					t.Errorf("second %s answered %v and the account went from %d to %d instances, want new instances", tc.action, second, before, after)
				}
				for _, id := range second {
					if slices.Contains(first, id) {
						t.Errorf("second %s answered %s of the first call", tc.action, id)
					}
				}
			}
		})
	}
}

// TestFingerprint: requests that differ only in the order of their
// parameters, or in the parameters a retry may change, are the same request;
// any other difference, including values that would run together if joined,
// makes another request.
func TestFingerprint(t *testing.T) {
	base := "Action=CreateFleet&ClientToken=a&LaunchTemplateConfigs.1.Overrides.1.InstanceType=m5.large&TagSpecification.1.Tag.1.Value=x"
	for _, tc := range []struct {
		name, other string
		same        bool
	}{
		{"parameters in another order", "TagSpecification.1.Tag.1.Value=x&LaunchTemplateConfigs.1.Overrides.1.InstanceType=m5.large&ClientToken=a&Action=CreateFleet", true},
		{"another token, version and dry-run flag",
			"Action=CreateFleet&ClientToken=b&LaunchTemplateConfigs.1.Overrides.1.InstanceType=m5.large&TagSpecification.1.Tag.1.Value=x&Version=2016-11-15&DryRun=false", true},
		{"another value", "Action=CreateFleet&ClientToken=a&LaunchTemplateConfigs.1.Overrides.1.InstanceType=m5.xlarge&TagSpecification.1.Tag.1.Value=x", false},
		{"one more parameter", base + "&TagSpecification.1.Tag.1.Key=k", false},
		{"a value that joins two", "Action=CreateFleet&ClientToken=a&LaunchTemplateConfigs.1.Overrides.1.InstanceType=m5.large%00TagSpecification.1.Tag.1.Value%00x", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := url.ParseQuery(base)
			if err != nil {
				t.Fatal(err)
			}
			b, err := url.ParseQuery(tc.other)
			if err != nil {
				t.Fatal(err)
			}
			if got := fingerprint(params{values: a}) == fingerprint(params{values: b}); got != tc.same {
				t.Errorf("same fingerprint = %v, want %v", got, tc.same)
			}
		})
	}
}
