package ec2sim

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
	"github.com/go-logr/logr/testr"
	"k8s.io/apimachinery/pkg/util/wait"
)

// startSim serves a simulator for one test, with a fixed seed so failures
// reproduce, and stops it when the test ends.
func startSim(t *testing.T, opts Options) *Simulator {
	t.Helper()
	if opts.Seed == 0 {
		opts.Seed = 42
	}
	opts.Log = testr.New(t)
	s, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := s.Start(context.Background(), "127.0.0.1:0"); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(s.Stop)
	return s
}

// sdkConfig is what a launcher's aws.Config looks like when it points at the
// simulator. Retries are off so that every error reaches the test.
func sdkConfig(s *Simulator) aws.Config {
	cfg := s.SDKConfig()
	cfg.RetryMaxAttempts = 1
	return cfg
}

func ec2Client(s *Simulator) *ec2.Client {
	return ec2.NewFromConfig(sdkConfig(s))
}

// wantAPIError fails unless err is an API error with the code.
func wantAPIError(t *testing.T, err error, code string) {
	t.Helper()
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("error %v is not an API error; want %s", err, code)
	}
	if apiErr.ErrorCode() != code {
		t.Fatalf("error code %s (%v), want %s", apiErr.ErrorCode(), err, code)
	}
}

// eventually polls cond until it holds or a generous deadline passes: the
// condition is what the test asserts, not how long it took.
func eventually(t *testing.T, what string, cond func() (bool, error)) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 20*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
		return cond()
	})
	if err != nil {
		t.Fatalf("waiting until %s: %v", what, err)
	}
}

// seedTemplate creates a launch template with the AL2023 AMI of the
// simulated region for amd64 and the cluster's subnets and security group.
func seedTemplate(t *testing.T, s *Simulator, name, userData string) string {
	t.Helper()
	ctx := context.Background()
	c := ec2Client(s)
	img := s.world.ssmParameters["/aws/service/eks/optimized-ami/1.34/amazon-linux-2023/x86_64/standard/recommended/image_id"]
	out, err := c.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{
		LaunchTemplateName: aws.String(name),
		LaunchTemplateData: &ec2types.RequestLaunchTemplateData{
			ImageId:          aws.String(img),
			UserData:         aws.String(userData),
			SecurityGroupIds: []string{s.world.securityGroups[0].ID},
			TagSpecifications: []ec2types.LaunchTemplateTagSpecificationRequest{{
				ResourceType: ec2types.ResourceTypeInstance,
				Tags:         []ec2types.Tag{{Key: aws.String("from-template"), Value: aws.String("yes")}},
			}},
		},
	})
	if err != nil {
		t.Fatalf("CreateLaunchTemplate: %v", err)
	}
	return aws.ToString(out.LaunchTemplate.LaunchTemplateId)
}

// privateSubnets returns the ids of the seeded private subnets, by zone.
func privateSubnets(s *Simulator) map[string]string {
	out := map[string]string{}
	for _, sn := range s.world.subnets {
		if !sn.Public {
			out[sn.Zone.Name] = sn.ID
		}
	}
	return out
}
