package launchtemplate

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// efaInterfaces are the network interfaces of an instance whose pods use
// Elastic Fabric Adapters: one EFA interface on each of the first n network
// cards, as EC2 allows one per card. The interface on card 0 is the
// instance's primary (device 0); the others take device 1 of their card, so
// that no card's interface outranks the primary one for the default route
// or a public address. An EFA interface also carries IP traffic, so every
// one gets the class's security groups.
func efaInterfaces(n int32, groups []string, associatePublicIP *bool) []ec2types.LaunchTemplateInstanceNetworkInterfaceSpecificationRequest {
	out := make([]ec2types.LaunchTemplateInstanceNetworkInterfaceSpecificationRequest, 0, n)
	for card := range n {
		device := int32(1)
		if card == 0 {
			device = 0
		}
		out = append(out, ec2types.LaunchTemplateInstanceNetworkInterfaceSpecificationRequest{
			NetworkCardIndex:         aws.Int32(card),
			DeviceIndex:              aws.Int32(device),
			InterfaceType:            aws.String(string(ec2types.NetworkInterfaceTypeEfa)),
			Groups:                   groups,
			AssociatePublicIpAddress: associatePublicIP,
		})
	}
	return out
}
