package ec2sim

import (
	"context"
	"sort"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// TestDescribeAvailabilityZones: three zones of us-east-1 with their ids,
// and the zone filters work.
func TestDescribeAvailabilityZones(t *testing.T) {
	s := startSim(t, Options{})
	c := ec2Client(s)
	ctx := context.Background()
	out, err := c.DescribeAvailabilityZones(ctx, &ec2.DescribeAvailabilityZonesInput{})
	if err != nil {
		t.Fatalf("DescribeAvailabilityZones: %v", err)
	}
	got := map[string]string{}
	for _, z := range out.AvailabilityZones {
		got[aws.ToString(z.ZoneName)] = aws.ToString(z.ZoneId)
		if z.State != ec2types.AvailabilityZoneStateAvailable || aws.ToString(z.RegionName) != Region {
			t.Errorf("zone %s: state %s region %s", aws.ToString(z.ZoneName), z.State, aws.ToString(z.RegionName))
		}
	}
	want := map[string]string{"us-east-1a": "use1-az1", "us-east-1b": "use1-az2", "us-east-1c": "use1-az3"}
	if len(got) != len(want) {
		t.Fatalf("zones %v, want %v", got, want)
	}
	for name, id := range want {
		if got[name] != id {
			t.Errorf("zone %s has id %q, want %q", name, got[name], id)
		}
	}
	one, err := c.DescribeAvailabilityZones(ctx, &ec2.DescribeAvailabilityZonesInput{Filters: []ec2types.Filter{{Name: aws.String("zone-id"), Values: []string{"use1-az2"}}}})
	if err != nil || len(one.AvailabilityZones) != 1 || aws.ToString(one.AvailabilityZones[0].ZoneName) != "us-east-1b" {
		t.Errorf("filtering by zone-id use1-az2: %v %+v", err, one)
	}
	_, err = c.DescribeAvailabilityZones(ctx, &ec2.DescribeAvailabilityZonesInput{ZoneNames: []string{"us-east-1z"}})
	wantAPIError(t, err, "InvalidParameterValue")
}

// TestDescribeSubnets: the seed EC2NodeClass's selector (discovery tag and
// network-type private) finds one subnet per zone, with free addresses that
// launches use up.
func TestDescribeSubnets(t *testing.T) {
	s := startSim(t, Options{ClusterName: "demo"})
	c := ec2Client(s)
	ctx := context.Background()
	selector := []ec2types.Filter{
		{Name: aws.String("tag:karpenter.sh/discovery"), Values: []string{"demo"}},
		{Name: aws.String("tag:network-type"), Values: []string{"private"}},
	}
	out, err := c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: selector})
	if err != nil {
		t.Fatalf("DescribeSubnets: %v", err)
	}
	var zonesSeen []string
	free := map[string]int32{}
	for _, sn := range out.Subnets {
		zonesSeen = append(zonesSeen, aws.ToString(sn.AvailabilityZone))
		free[aws.ToString(sn.SubnetId)] = aws.ToInt32(sn.AvailableIpAddressCount)
		if aws.ToInt32(sn.AvailableIpAddressCount) != 8187 {
			t.Errorf("subnet %s (%s) has %d free addresses, want 8187 in a /19", aws.ToString(sn.SubnetId), aws.ToString(sn.CidrBlock), aws.ToInt32(sn.AvailableIpAddressCount))
		}
		if aws.ToString(sn.VpcId) == "" || aws.ToString(sn.AvailabilityZoneId) == "" {
			t.Errorf("subnet %s lacks its VPC or zone id", aws.ToString(sn.SubnetId))
		}
	}
	sort.Strings(zonesSeen)
	if len(zonesSeen) != 3 || zonesSeen[0] != "us-east-1a" || zonesSeen[2] != "us-east-1c" {
		t.Fatalf("selector found subnets in %v, want one in each zone", zonesSeen)
	}

	id := aws.ToString(out.Subnets[0].SubnetId)
	img := s.world.ssmParameters["/aws/service/eks/optimized-ami/1.34/amazon-linux-2023/x86_64/standard/recommended/image_id"]
	if _, err := c.RunInstances(ctx, &ec2.RunInstancesInput{MinCount: aws.Int32(3), MaxCount: aws.Int32(3), ImageId: aws.String(img),
		InstanceType: ec2types.InstanceTypeM5Large, SubnetId: aws.String(id)}); err != nil {
		t.Fatalf("RunInstances: %v", err)
	}
	after, err := c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: []string{id}})
	if err != nil {
		t.Fatalf("DescribeSubnets by id: %v", err)
	}
	if got := aws.ToInt32(after.Subnets[0].AvailableIpAddressCount); got != free[id]-3 {
		t.Errorf("after 3 launches the subnet has %d free addresses, want %d", got, free[id]-3)
	}

	public, err := c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{{Name: aws.String("tag:network-type"), Values: []string{"public"}}}})
	if err != nil || len(public.Subnets) != 3 {
		t.Errorf("public subnets: %v, %d", err, len(public.Subnets))
	}
	_, err = c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: []string{"subnet-0123456789abcdef0"}})
	wantAPIError(t, err, "InvalidSubnetID.NotFound")
	_, err = c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{{Name: aws.String("color"), Values: []string{"blue"}}}})
	wantAPIError(t, err, "InvalidParameterValue")
}

// TestDescribeSecurityGroups: the discovery tag finds the cluster's group,
// by id and by name too.
func TestDescribeSecurityGroups(t *testing.T) {
	s := startSim(t, Options{})
	c := ec2Client(s)
	ctx := context.Background()
	out, err := c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{
		{Name: aws.String("tag:karpenter.sh/discovery"), Values: []string{DefaultClusterName}},
	}})
	if err != nil {
		t.Fatalf("DescribeSecurityGroups: %v", err)
	}
	if len(out.SecurityGroups) != 1 {
		t.Fatalf("discovery tag found %d groups, want 1", len(out.SecurityGroups))
	}
	g := out.SecurityGroups[0]
	if aws.ToString(g.GroupName) != "eks-cluster-sg-my-cluster" || aws.ToString(g.VpcId) == "" || len(g.IpPermissionsEgress) != 1 {
		t.Errorf("cluster security group %+v", g)
	}
	byName, err := c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupNames: []string{"eks-cluster-sg-my-cluster"}})
	if err != nil || aws.ToString(byName.SecurityGroups[0].GroupId) != aws.ToString(g.GroupId) {
		t.Errorf("by name: %v", err)
	}
	_, err = c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{"sg-0123456789abcdef0"}})
	wantAPIError(t, err, "InvalidGroup.NotFound")
}
