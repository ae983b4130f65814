package ec2sim

import (
	"context"
	"net/netip"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// TestCreateFleetOverrideKeepsTemplateInterfaces: a CreateFleet override's
// subnet (or zone) places the template's primary network interface, which
// keeps its security groups, public address association and deletion on
// termination; a template without interfaces gets its SecurityGroupIds.
func TestCreateFleetOverrideKeepsTemplateInterfaces(t *testing.T) {
	s := startSim(t, Options{})
	cluster, dflt := s.world.securityGroups[0].ID, s.world.securityGroupNamed("default").ID
	private, public := privateSubnets(s), map[string]string{}
	for _, sn := range s.world.subnets {
		if sn.Public {
			public[sn.Zone.Name] = sn.ID
		}
	}
	for _, tc := range []struct {
		name string
		// interfaces and groups are the launch template's.
		interfaces []ec2types.LaunchTemplateInstanceNetworkInterfaceSpecificationRequest
		groups     []string
		// subnet and zone are the override's.
		subnet, zone string

		wantSubnet          string
		wantGroups          []string
		wantPublic          bool
		wantDeleteInterface bool
	}{
		{
			name: "the override's subnet takes the interface with its groups, public address and kept interface",
			interfaces: []ec2types.LaunchTemplateInstanceNetworkInterfaceSpecificationRequest{{
				DeviceIndex: aws.Int32(0), Groups: []string{cluster}, AssociatePublicIpAddress: aws.Bool(true), DeleteOnTermination: aws.Bool(false),
			}},
			subnet:     private["us-east-1b"],
			wantSubnet: private["us-east-1b"], wantGroups: []string{cluster}, wantPublic: true, wantDeleteInterface: false,
		},
		{
			name: "the override's subnet replaces the one the interface names",
			interfaces: []ec2types.LaunchTemplateInstanceNetworkInterfaceSpecificationRequest{{
				DeviceIndex: aws.Int32(0), SubnetId: aws.String(private["us-east-1a"]), Groups: []string{cluster, dflt},
			}},
			subnet:     private["us-east-1c"],
			wantSubnet: private["us-east-1c"], wantGroups: []string{cluster, dflt}, wantPublic: false, wantDeleteInterface: true,
		},
		{
			name: "an interface that declines a public address gets none in a public subnet",
			interfaces: []ec2types.LaunchTemplateInstanceNetworkInterfaceSpecificationRequest{{
				DeviceIndex: aws.Int32(0), Groups: []string{cluster}, AssociatePublicIpAddress: aws.Bool(false),
			}},
			subnet:     public["us-east-1a"],
			wantSubnet: public["us-east-1a"], wantGroups: []string{cluster}, wantPublic: false, wantDeleteInterface: true,
		},
		{
			name: "an interface that does not say follows the subnet's MapPublicIpOnLaunch",
			interfaces: []ec2types.LaunchTemplateInstanceNetworkInterfaceSpecificationRequest{{
				DeviceIndex: aws.Int32(0), Groups: []string{cluster},
			}},
			subnet:     public["us-east-1b"],
			wantSubnet: public["us-east-1b"], wantGroups: []string{cluster}, wantPublic: true, wantDeleteInterface: true,
		},
		{
			name: "a zone alone puts the interface in the zone's subnet and keeps its settings",
			interfaces: []ec2types.LaunchTemplateInstanceNetworkInterfaceSpecificationRequest{{
				DeviceIndex: aws.Int32(0), SubnetId: aws.String(private["us-east-1a"]), Groups: []string{cluster}, AssociatePublicIpAddress: aws.Bool(true),
			}},
			zone:       "us-east-1c",
			wantSubnet: private["us-east-1c"], wantGroups: []string{cluster}, wantPublic: true, wantDeleteInterface: true,
		},
		{
			name:       "without interfaces the template's security groups apply",
			groups:     []string{cluster},
			subnet:     private["us-east-1a"],
			wantSubnet: private["us-east-1a"], wantGroups: []string{cluster}, wantPublic: false, wantDeleteInterface: true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			c := ec2Client(s)
			img := s.world.ssmParameters["/aws/service/eks/optimized-ami/1.34/amazon-linux-2023/x86_64/standard/recommended/image_id"]
			tpl, err := c.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{
				LaunchTemplateName: aws.String(s.ids.resource("interfaces")),
				LaunchTemplateData: &ec2types.RequestLaunchTemplateData{
					ImageId: aws.String(img), NetworkInterfaces: tc.interfaces, SecurityGroupIds: tc.groups,
				},
			})
			if err != nil {
				t.Fatalf("CreateLaunchTemplate: %v", err)
			}
			o := ec2types.FleetLaunchTemplateOverridesRequest{InstanceType: ec2types.InstanceTypeM5Large}
			if tc.subnet != "" {
				o.SubnetId = aws.String(tc.subnet)
			}
			if tc.zone != "" {
				o.AvailabilityZone = aws.String(tc.zone)
			}
			out, err := c.CreateFleet(ctx, &ec2.CreateFleetInput{
				Type: ec2types.FleetTypeInstant,
				LaunchTemplateConfigs: []ec2types.FleetLaunchTemplateConfigRequest{{
					LaunchTemplateSpecification: &ec2types.FleetLaunchTemplateSpecificationRequest{LaunchTemplateId: tpl.LaunchTemplate.LaunchTemplateId},
					Overrides:                   []ec2types.FleetLaunchTemplateOverridesRequest{o},
				}},
				TargetCapacitySpecification: &ec2types.TargetCapacitySpecificationRequest{
					TotalTargetCapacity: aws.Int32(1), DefaultTargetCapacityType: ec2types.DefaultTargetCapacityTypeOnDemand,
				},
			})
			if err != nil {
				t.Fatalf("CreateFleet: %v", err)
			}
			if len(out.Errors) > 0 || len(out.Instances) != 1 || len(out.Instances[0].InstanceIds) != 1 {
				t.Fatalf("CreateFleet launched %+v with errors %+v, want one instance", out.Instances, out.Errors)
			}
			desc, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: out.Instances[0].InstanceIds})
			if err != nil {
				t.Fatalf("DescribeInstances: %v", err)
			}
			inst := desc.Reservations[0].Instances[0]

			if got := aws.ToString(inst.SubnetId); got != tc.wantSubnet {
				t.Errorf("subnet %s, want %s", got, tc.wantSubnet)
			}
			var groups []string
			for _, g := range inst.SecurityGroups {
				groups = append(groups, aws.ToString(g.GroupId))
			}
			if !slices.Equal(groups, tc.wantGroups) {
				t.Errorf("security groups %v, want %v", groups, tc.wantGroups)
			}
			ni := inst.NetworkInterfaces[0]
			if got := aws.ToBool(ni.Attachment.DeleteOnTermination); got != tc.wantDeleteInterface {
				t.Errorf("interface deleted on termination: %v, want %v", got, tc.wantDeleteInterface)
			}
			ip := aws.ToString(inst.PublicIpAddress)
			if !tc.wantPublic {
				if ip != "" || ni.Association != nil {
					t.Errorf("public address %q (interface association %+v), want none", ip, ni.Association)
				}
				return
			}
			addr, err := netip.ParseAddr(ip)
			if err != nil || addr.IsPrivate() {
				t.Fatalf("public address %q is not a public IPv4 address", ip)
			}
			if ni.Association == nil || aws.ToString(ni.Association.PublicIp) != ip || aws.ToString(inst.PublicDnsName) != aws.ToString(ni.Association.PublicDnsName) ||
				aws.ToString(inst.PublicDnsName) == "" {
				t.Errorf("interface association %+v and public DNS name %q do not match the public address %s", ni.Association, aws.ToString(inst.PublicDnsName), ip)
			}
			byAddress, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{{Name: aws.String("ip-address"), Values: []string{ip}}}})
			if err != nil || len(byAddress.Reservations) != 1 || aws.ToString(byAddress.Reservations[0].Instances[0].InstanceId) != aws.ToString(inst.InstanceId) {
				t.Errorf("DescribeInstances by ip-address %s: %v, %+v", ip, err, byAddress)
			}
		})
	}
}
