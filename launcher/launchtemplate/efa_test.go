package launchtemplate

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
)

// TestEFAInterfaces: a template with EFAs has one EFA interface per network
// card, the primary on card 0 device 0 and the others on device 1, each
// with the security groups, which then are not named at the top level.
func TestEFAInterfaces(t *testing.T) {
	nc := &ec2v1.EC2NodeClass{}
	nc.Spec.AssociatePublicIPAddress = aws.Bool(false)
	s := &Spec{NodeClass: nc, Family: ec2v1.AMIFamilyAL2023, ImageID: "ami-1", SecurityGroups: []string{"sg-2", "sg-1"}, EFAs: 4}
	d, err := s.data()
	if err != nil {
		t.Fatal(err)
	}
	if len(d.SecurityGroupIds) != 0 {
		t.Errorf("security groups %v at the top level beside interfaces", d.SecurityGroupIds)
	}
	if len(d.NetworkInterfaces) != 4 {
		t.Fatalf("%d interfaces, want 4", len(d.NetworkInterfaces))
	}
	for i, ni := range d.NetworkInterfaces {
		wantDevice := int32(1)
		if i == 0 {
			wantDevice = 0
		}
		if aws.ToInt32(ni.NetworkCardIndex) != int32(i) || aws.ToInt32(ni.DeviceIndex) != wantDevice || aws.ToString(ni.InterfaceType) != "efa" {
			t.Errorf("interface %d: card %d device %d type %s, want card %d device %d type efa",
				i, aws.ToInt32(ni.NetworkCardIndex), aws.ToInt32(ni.DeviceIndex), aws.ToString(ni.InterfaceType), i, wantDevice)
		}
		if len(ni.Groups) != 2 || ni.Groups[0] != "sg-1" || aws.ToBool(ni.AssociatePublicIpAddress) {
			t.Errorf("interface %d: groups %v public %v, want the sorted groups and the class's public IP setting", i, ni.Groups, ni.AssociatePublicIpAddress)
		}
	}
	s.EFAs = 0
	if d, _ = s.data(); len(d.NetworkInterfaces) != 1 || d.NetworkInterfaces[0].InterfaceType != nil {
		t.Errorf("without EFAs: interfaces %+v, want the one for the public IP setting", d.NetworkInterfaces)
	}
}
