package ec2sim

import (
	"context"
	"encoding/base64"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// TestInstanceLifecycle runs an instance through the calls a launcher makes:
// RunInstances from a template, DescribeInstances by tag and state while it
// boots, CreateTags, TerminateInstances, and DescribeInstances after.
func TestInstanceLifecycle(t *testing.T) {
	s := startSim(t, Options{BootDelay: time.Hour, ShutdownDelay: time.Hour})
	ctx := context.Background()
	c := ec2Client(s)
	tpl := seedTemplate(t, s, "lifecycle", base64.StdEncoding.EncodeToString([]byte("#!/bin/bash\ntrue\n")))
	subnet := privateSubnets(s)["us-east-1b"]

	run, err := c.RunInstances(ctx, &ec2.RunInstancesInput{
		MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		InstanceType:   ec2types.InstanceTypeM5Large,
		LaunchTemplate: &ec2types.LaunchTemplateSpecification{LaunchTemplateId: aws.String(tpl), Version: aws.String("$Latest")},
		SubnetId:       aws.String(subnet),
		TagSpecifications: []ec2types.TagSpecification{{
			ResourceType: ec2types.ResourceTypeInstance,
			Tags:         []ec2types.Tag{{Key: aws.String("karpenter.sh/nodeclaim"), Value: aws.String("default-abc")}},
		}},
	})
	if err != nil {
		t.Fatalf("RunInstances: %v", err)
	}
	if len(run.Instances) != 1 {
		t.Fatalf("RunInstances returned %d instances, want 1", len(run.Instances))
	}
	inst := run.Instances[0]
	id := aws.ToString(inst.InstanceId)
	if got := inst.State.Name; got != ec2types.InstanceStateNamePending {
		t.Errorf("new instance is %s, want pending", got)
	}
	if got := aws.ToString(inst.Placement.AvailabilityZone); got != "us-east-1b" {
		t.Errorf("instance is in %s, want the subnet's zone us-east-1b", got)
	}
	if got := aws.ToString(inst.PrivateDnsName); !strings.HasPrefix(got, "ip-10-0-32-") || !strings.HasSuffix(got, ".ec2.internal") {
		t.Errorf("private DNS name %q is not an address of the subnet", got)
	}
	tags := map[string]string{}
	for _, tag := range inst.Tags {
		tags[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
	}
	for k, v := range map[string]string{"karpenter.sh/nodeclaim": "default-abc", "from-template": "yes", "aws:ec2launchtemplate:id": tpl} {
		if tags[k] != v {
			t.Errorf("tag %s = %q, want %q (tags %v)", k, tags[k], v, tags)
		}
	}

	byTag := func(state string) []ec2types.Instance {
		out, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{
			{Name: aws.String("tag:karpenter.sh/nodeclaim"), Values: []string{"default-*"}},
			{Name: aws.String("instance-state-name"), Values: []string{state}},
		}})
		if err != nil {
			t.Fatalf("DescribeInstances: %v", err)
		}
		var all []ec2types.Instance
		for _, r := range out.Reservations {
			all = append(all, r.Instances...)
		}
		return all
	}
	if got := byTag("pending"); len(got) != 1 || aws.ToString(got[0].InstanceId) != id {
		t.Fatalf("pending instances with the tag: %d, want %s", len(got), id)
	}
	if err := s.Clock().Advance(time.Hour); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the instance runs", func() (bool, error) { return len(byTag("running")) == 1, nil })

	if _, err := c.CreateTags(ctx, &ec2.CreateTagsInput{
		Resources: []string{id},
		Tags:      []ec2types.Tag{{Key: aws.String("Name"), Value: aws.String("node-1")}},
	}); err != nil {
		t.Fatalf("CreateTags: %v", err)
	}
	named, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{{Name: aws.String("tag:Name"), Values: []string{"node-1"}}}})
	if err != nil || len(named.Reservations) != 1 {
		t.Fatalf("DescribeInstances by the new tag: %v, %d reservations", err, len(named.Reservations))
	}

	term, err := c.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		t.Fatalf("TerminateInstances: %v", err)
	}
	change := term.TerminatingInstances[0]
	if change.PreviousState.Name != ec2types.InstanceStateNameRunning || change.CurrentState.Name != ec2types.InstanceStateNameShuttingDown {
		t.Errorf("termination went %s -> %s, want running -> shutting-down", change.PreviousState.Name, change.CurrentState.Name)
	}
	if err := s.Clock().Advance(time.Hour); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the instance is terminated", func() (bool, error) { return len(byTag("terminated")) == 1, nil })
	gone := byTag("terminated")[0]
	if aws.ToString(gone.StateReason.Code) != "Client.UserInitiatedShutdown" {
		t.Errorf("state reason %q, want Client.UserInitiatedShutdown", aws.ToString(gone.StateReason.Code))
	}
}

// TestDescribeInstancesPaginates walks instances with MaxResults and
// NextToken and gets each exactly once.
func TestDescribeInstancesPaginates(t *testing.T) {
	s := startSim(t, Options{BootDelay: time.Hour})
	ctx := context.Background()
	c := ec2Client(s)
	img := s.world.ssmParameters["/aws/service/eks/optimized-ami/1.34/amazon-linux-2023/arm64/standard/recommended/image_id"]
	run, err := c.RunInstances(ctx, &ec2.RunInstancesInput{
		MinCount: aws.Int32(12), MaxCount: aws.Int32(12), ImageId: aws.String(img),
		InstanceType: ec2types.InstanceTypeM6gLarge, SubnetId: aws.String(privateSubnets(s)["us-east-1a"]),
	})
	if err != nil {
		t.Fatalf("RunInstances: %v", err)
	}
	var want []string
	for _, i := range run.Instances {
		want = append(want, aws.ToString(i.InstanceId))
	}
	sort.Strings(want)

	var got []string
	pages := 0
	paginator := ec2.NewDescribeInstancesPaginator(c, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(5)})
	for paginator.HasMorePages() {
		page, err := paginator.NextPage(ctx)
		if err != nil {
			t.Fatalf("page %d: %v", pages+1, err)
		}
		pages++
		for _, r := range page.Reservations {
			for _, i := range r.Instances {
				got = append(got, aws.ToString(i.InstanceId))
			}
		}
	}
	if pages != 3 {
		t.Errorf("12 instances in pages of 5 took %d pages, want 3", pages)
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("paginated instances\n%v\nwant\n%v", got, want)
	}
}

// TestInstanceErrors checks the error codes the SDK decodes for requests
// about instances that do not exist or cannot be launched.
func TestInstanceErrors(t *testing.T) {
	s := startSim(t, Options{})
	ctx := context.Background()
	c := ec2Client(s)
	amd64 := s.world.ssmParameters["/aws/service/eks/optimized-ami/1.34/amazon-linux-2023/x86_64/standard/recommended/image_id"]
	subnet := privateSubnets(s)["us-east-1a"]
	run := func(mutate func(*ec2.RunInstancesInput)) error {
		in := &ec2.RunInstancesInput{
			MinCount: aws.Int32(1), MaxCount: aws.Int32(1), ImageId: aws.String(amd64),
			InstanceType: ec2types.InstanceTypeM5Large, SubnetId: aws.String(subnet),
		}
		mutate(in)
		_, err := c.RunInstances(ctx, in)
		return err
	}
	for _, tc := range []struct {
		name string
		call func() error
		code string
	}{
		{"describe an unknown instance", func() error {
			_, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{"i-0123456789abcdef0"}})
			return err
		}, "InvalidInstanceID.NotFound"},
		{"describe a malformed id", func() error {
			_, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{"node-1"}})
			return err
		}, "InvalidInstanceID.Malformed"},
		{"terminate an unknown instance", func() error {
			_, err := c.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{"i-0123456789abcdef0"}})
			return err
		}, "InvalidInstanceID.NotFound"},
		{"tag an unknown instance", func() error {
			_, err := c.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{"i-0123456789abcdef0"}, Tags: []ec2types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
			return err
		}, "InvalidInstanceID.NotFound"},
		{"reserved tag prefix", func() error {
			return run(func(in *ec2.RunInstancesInput) {
				in.TagSpecifications = []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeInstance, Tags: []ec2types.Tag{{Key: aws.String("aws:x"), Value: aws.String("v")}}}}
			})
		}, "InvalidParameterValue"},
		{"unknown AMI", func() error {
			return run(func(in *ec2.RunInstancesInput) { in.ImageId = aws.String("ami-0123456789abcdef0") })
		}, "InvalidAMIID.NotFound"},
		{"AMI of another architecture", func() error {
			return run(func(in *ec2.RunInstancesInput) { in.InstanceType = ec2types.InstanceTypeM6gLarge })
		}, "InvalidParameterValue"},
		{"unknown subnet", func() error {
			return run(func(in *ec2.RunInstancesInput) { in.SubnetId = aws.String("subnet-0123456789abcdef0") })
		}, "InvalidSubnetID.NotFound"},
		{"no subnet and no default VPC", func() error { return run(func(in *ec2.RunInstancesInput) { in.SubnetId = nil }) }, "VPCIdNotSpecified"},
		{"unknown security group", func() error {
			return run(func(in *ec2.RunInstancesInput) { in.SecurityGroupIds = []string{"sg-0123456789abcdef0"} })
		}, "InvalidGroup.NotFound"},
		{"user data that is not base64", func() error { return run(func(in *ec2.RunInstancesInput) { in.UserData = aws.String("#!/bin/bash") }) }, "InvalidUserData.Malformed"},
		{"unknown launch template", func() error {
			return run(func(in *ec2.RunInstancesInput) {
				in.LaunchTemplate = &ec2types.LaunchTemplateSpecification{LaunchTemplateName: aws.String("missing")}
			})
		}, "InvalidLaunchTemplateName.NotFoundException"},
		{"unknown instance type", func() error { return run(func(in *ec2.RunInstancesInput) { in.InstanceType = "m5.huge" }) }, "InvalidParameterValue"},
		{"dry run", func() error { return run(func(in *ec2.RunInstancesInput) { in.DryRun = aws.Bool(true) }) }, "DryRunOperation"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantAPIError(t, tc.call(), tc.code)
		})
	}
}

// TestRunInstancesFaults: an insufficient-capacity fault fails RunInstances
// for its pool only, with EC2's code.
func TestRunInstancesFaults(t *testing.T) {
	s := startSim(t, Options{Faults: Faults{InsufficientCapacity: []Pool{{InstanceType: "m5.large", Zone: "us-east-1a"}}}})
	ctx := context.Background()
	c := ec2Client(s)
	img := s.world.ssmParameters["/aws/service/eks/optimized-ami/1.34/amazon-linux-2023/x86_64/standard/recommended/image_id"]
	for _, tc := range []struct {
		zone, instanceType, code string
	}{
		{"us-east-1a", "m5.large", "InsufficientInstanceCapacity"},
		{"us-east-1b", "m5.large", ""},
		{"us-east-1a", "m5.xlarge", ""},
	} {
		_, err := c.RunInstances(ctx, &ec2.RunInstancesInput{
			MinCount: aws.Int32(1), MaxCount: aws.Int32(1), ImageId: aws.String(img),
			InstanceType: ec2types.InstanceType(tc.instanceType), SubnetId: aws.String(privateSubnets(s)[tc.zone]),
		})
		if tc.code == "" {
			if err != nil {
				t.Errorf("%s in %s: %v", tc.instanceType, tc.zone, err)
			}
			continue
		}
		wantAPIError(t, err, tc.code)
	}
}
