package ec2sim

import (
	"fmt"
	"strconv"
)

type reservationXML struct {
	ReservationID string        `xml:"reservationId"`
	OwnerID       string        `xml:"ownerId"`
	Groups        []groupXML    `xml:"groupSet>item"`
	Instances     []instanceXML `xml:"instancesSet>item"`
}

type groupXML struct {
	GroupID   string `xml:"groupId"`
	GroupName string `xml:"groupName"`
}

type instanceStateXML struct {
	Code int    `xml:"code"`
	Name string `xml:"name"`
}

type stateReasonXML struct {
	Code    string `xml:"code"`
	Message string `xml:"message"`
}

type placementXML struct {
	AvailabilityZone   string `xml:"availabilityZone"`
	AvailabilityZoneID string `xml:"availabilityZoneId"`
	GroupName          string `xml:"groupName"`
	Tenancy            string `xml:"tenancy"`
}

type instanceEBSXML struct {
	VolumeID            string `xml:"volumeId"`
	Status              string `xml:"status"`
	AttachTime          string `xml:"attachTime"`
	DeleteOnTermination bool   `xml:"deleteOnTermination"`
}

type instanceBlockDeviceXML struct {
	DeviceName string         `xml:"deviceName"`
	EBS        instanceEBSXML `xml:"ebs"`
}

type instanceNetworkInterfaceXML struct {
	NetworkInterfaceID string                `xml:"networkInterfaceId"`
	SubnetID           string                `xml:"subnetId"`
	VPCID              string                `xml:"vpcId"`
	OwnerID            string                `xml:"ownerId"`
	Status             string                `xml:"status"`
	MACAddress         string                `xml:"macAddress"`
	PrivateIPAddress   string                `xml:"privateIpAddress"`
	PrivateDNSName     string                `xml:"privateDnsName"`
	SourceDestCheck    bool                  `xml:"sourceDestCheck"`
	InterfaceType      string                `xml:"interfaceType"`
	Groups             []groupXML            `xml:"groupSet>item"`
	Attachment         niAttachmentXML       `xml:"attachment"`
	Association        *niAssociationXML     `xml:"association,omitempty"`
	PrivateIPAddresses []privateIPAddressXML `xml:"privateIpAddressesSet>item"`
}

// niAssociationXML is the public address of an interface (or of one of its
// private addresses).
type niAssociationXML struct {
	PublicIP      string `xml:"publicIp"`
	PublicDNSName string `xml:"publicDnsName"`
	IPOwnerID     string `xml:"ipOwnerId"`
}

type niAttachmentXML struct {
	AttachmentID        string `xml:"attachmentId"`
	DeviceIndex         int    `xml:"deviceIndex"`
	NetworkCardIndex    int    `xml:"networkCardIndex"`
	Status              string `xml:"status"`
	AttachTime          string `xml:"attachTime"`
	DeleteOnTermination bool   `xml:"deleteOnTermination"`
}

type privateIPAddressXML struct {
	PrivateIPAddress string            `xml:"privateIpAddress"`
	PrivateDNSName   string            `xml:"privateDnsName"`
	Primary          bool              `xml:"primary"`
	Association      *niAssociationXML `xml:"association,omitempty"`
}

type iamProfileRefXML struct {
	ARN string `xml:"arn"`
	ID  string `xml:"id"`
}

type metadataOptionsXML struct {
	State                   string `xml:"state"`
	HTTPTokens              string `xml:"httpTokens"`
	HTTPPutResponseHopLimit int64  `xml:"httpPutResponseHopLimit"`
	HTTPEndpoint            string `xml:"httpEndpoint"`
	HTTPProtocolIPv6        string `xml:"httpProtocolIpv6"`
	InstanceMetadataTags    string `xml:"instanceMetadataTags"`
}

type instanceXML struct {
	InstanceID            string                        `xml:"instanceId"`
	ImageID               string                        `xml:"imageId"`
	State                 instanceStateXML              `xml:"instanceState"`
	PrivateDNSName        string                        `xml:"privateDnsName"`
	DNSName               string                        `xml:"dnsName"`
	Reason                string                        `xml:"reason"`
	KeyName               string                        `xml:"keyName,omitempty"`
	AMILaunchIndex        int                           `xml:"amiLaunchIndex"`
	InstanceType          string                        `xml:"instanceType"`
	LaunchTime            string                        `xml:"launchTime"`
	Placement             placementXML                  `xml:"placement"`
	Platform              string                        `xml:"platform,omitempty"`
	MonitoringState       string                        `xml:"monitoring>state"`
	SubnetID              string                        `xml:"subnetId"`
	VPCID                 string                        `xml:"vpcId"`
	PrivateIPAddress      string                        `xml:"privateIpAddress"`
	IPAddress             string                        `xml:"ipAddress,omitempty"`
	SourceDestCheck       bool                          `xml:"sourceDestCheck"`
	Groups                []groupXML                    `xml:"groupSet>item"`
	StateReason           *stateReasonXML               `xml:"stateReason,omitempty"`
	Architecture          string                        `xml:"architecture"`
	RootDeviceType        string                        `xml:"rootDeviceType"`
	RootDeviceName        string                        `xml:"rootDeviceName"`
	BlockDevices          []instanceBlockDeviceXML      `xml:"blockDeviceMapping>item"`
	InstanceLifecycle     string                        `xml:"instanceLifecycle,omitempty"`
	SpotInstanceRequestID string                        `xml:"spotInstanceRequestId,omitempty"`
	VirtualizationType    string                        `xml:"virtualizationType"`
	ClientToken           string                        `xml:"clientToken,omitempty"`
	Tags                  []tagXML                      `xml:"tagSet>item"`
	Hypervisor            string                        `xml:"hypervisor"`
	NetworkInterfaces     []instanceNetworkInterfaceXML `xml:"networkInterfaceSet>item"`
	IAMInstanceProfile    *iamProfileRefXML             `xml:"iamInstanceProfile,omitempty"`
	EBSOptimized          bool                          `xml:"ebsOptimized"`
	ENASupport            bool                          `xml:"enaSupport"`
	PlatformDetails       string                        `xml:"platformDetails"`
	UsageOperation        string                        `xml:"usageOperation"`
	MetadataOptions       metadataOptionsXML            `xml:"metadataOptions"`
	CapacityPreference    string                        `xml:"capacityReservationSpecification>capacityReservationPreference"`
	CapacityReservationID string                        `xml:"capacityReservationId,omitempty"`
}

// renderInstanceLocked is an instance as DescribeInstances shows it.
func (s *Simulator) renderInstanceLocked(inst *instance) instanceXML {
	out := instanceXML{
		InstanceID: inst.ID, ImageID: inst.Image.ID,
		State:          instanceStateXML{Code: inst.State.Code, Name: inst.State.Name},
		PrivateDNSName: inst.privateDNSName(), Reason: inst.StateTransition, KeyName: inst.KeyName,
		InstanceType: inst.Type.Name, LaunchTime: awsTime(inst.LaunchTime),
		Placement:       placementXML{AvailabilityZone: inst.Zone.Name, AvailabilityZoneID: inst.Zone.ID, Tenancy: "default"},
		MonitoringState: "disabled", SubnetID: inst.SubnetID, VPCID: s.world.vpcID,
		PrivateIPAddress: inst.PrivateIP.String(), SourceDestCheck: true,
		Architecture: inst.Image.Arch, RootDeviceType: "ebs", RootDeviceName: inst.Image.RootDevice,
		VirtualizationType: "hvm", ClientToken: inst.ClientToken, Tags: tagSet(inst.Tags),
		Hypervisor: "xen", EBSOptimized: true, ENASupport: true,
		PlatformDetails: "Linux/UNIX", UsageOperation: "RunInstances", CapacityPreference: "open",
		MetadataOptions: metadataOptionsXML{
			State: "applied", HTTPTokens: inst.Metadata.HTTPTokens, HTTPPutResponseHopLimit: inst.Metadata.HTTPPutHopLimit,
			HTTPEndpoint: inst.Metadata.HTTPEndpoint, HTTPProtocolIPv6: inst.Metadata.HTTPProtocolIPv6,
			InstanceMetadataTags: inst.Metadata.InstanceMetadataTags,
		},
	}
	if inst.State == statePending {
		out.MetadataOptions.State = "pending"
	}
	if inst.Image.Windows {
		out.Platform, out.PlatformDetails, out.UsageOperation = "windows", "Windows", "RunInstances:0002"
	}
	for _, g := range inst.SecurityGroups {
		out.Groups = append(out.Groups, groupXML{GroupID: g.ID, GroupName: g.Name})
	}
	if r := inst.StateReason; r != nil {
		out.StateReason = &stateReasonXML{Code: r.Code, Message: r.Message}
	}
	if inst.CapacityReservationID != "" {
		out.CapacityReservationID, out.CapacityPreference = inst.CapacityReservationID, "capacity-reservations-only"
		if r := s.world.reservations[inst.CapacityReservationID]; r != nil && r.ReservationType == reservationTypeCapacityBlock {
			// EC2 tells a Capacity Block's instances by their lifecycle.
			out.InstanceLifecycle = reservationTypeCapacityBlock
		}
	}
	if inst.Spot {
		out.InstanceLifecycle, out.SpotInstanceRequestID = "spot", inst.SpotRequestID
	}
	if inst.InstanceProfile != "" {
		ref := &iamProfileRefXML{ARN: s.world.instanceProfileARN("/", inst.InstanceProfile), ID: iamID("AIPA", inst.InstanceProfile)}
		if p := s.world.instanceProfiles[inst.InstanceProfile]; p != nil {
			ref = &iamProfileRefXML{ARN: p.ARN, ID: p.ID}
		}
		out.IAMInstanceProfile = ref
	}
	if inst.State != stateTerminated {
		for i, d := range inst.BlockDevices {
			out.BlockDevices = append(out.BlockDevices, instanceBlockDeviceXML{DeviceName: d.DeviceName, EBS: instanceEBSXML{
				VolumeID: stableID("vol", inst.ID+"/"+strconv.Itoa(i)), Status: "attached",
				AttachTime: awsTime(inst.LaunchTime), DeleteOnTermination: d.DeleteOnTermination,
			}})
		}
		out.NetworkInterfaces = []instanceNetworkInterfaceXML{{
			NetworkInterfaceID: stableID("eni", inst.ID), SubnetID: inst.SubnetID, VPCID: s.world.vpcID,
			OwnerID: s.world.account, Status: "in-use", MACAddress: macAddress(inst.ID),
			PrivateIPAddress: inst.PrivateIP.String(), PrivateDNSName: inst.privateDNSName(),
			SourceDestCheck: true, InterfaceType: "interface", Groups: out.Groups,
			Attachment: niAttachmentXML{
				AttachmentID: stableID("eni-attach", inst.ID), Status: "attached",
				AttachTime: awsTime(inst.LaunchTime), DeleteOnTermination: inst.InterfaceDeleteOnTermination,
			},
			PrivateIPAddresses: []privateIPAddressXML{{PrivateIPAddress: inst.PrivateIP.String(), PrivateDNSName: inst.privateDNSName(), Primary: true}},
		}}
		if ip, ok := inst.publicAddress(); ok {
			assoc := &niAssociationXML{PublicIP: ip.String(), PublicDNSName: publicDNSName(ip), IPOwnerID: "amazon"}
			out.IPAddress, out.DNSName = assoc.PublicIP, assoc.PublicDNSName
			out.NetworkInterfaces[0].Association, out.NetworkInterfaces[0].PrivateIPAddresses[0].Association = assoc, assoc
		}
	} else {
		out.PrivateDNSName, out.PrivateIPAddress = "", ""
	}
	return out
}

// macAddress derives a stable, locally administered MAC address from an id.
func macAddress(id string) string {
	h := stableID("", id)[2:]
	return fmt.Sprintf("02:%s:%s:%s:%s:%s", h[0:2], h[2:4], h[4:6], h[6:8], h[8:10])
}

// reservationsLocked groups instances into their reservations, in the order
// the instances come.
func (s *Simulator) reservationsLocked(instances []*instance) []reservationXML {
	var out []reservationXML
	index := map[string]int{}
	for _, inst := range instances {
		i, ok := index[inst.ReservationID]
		if !ok {
			i = len(out)
			index[inst.ReservationID] = i
			out = append(out, reservationXML{ReservationID: inst.ReservationID, OwnerID: s.world.account})
		}
		out[i].Instances = append(out[i].Instances, s.renderInstanceLocked(inst))
	}
	return out
}
