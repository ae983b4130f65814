package ec2sim

import (
	"encoding/base64"
	"strings"
)

// maxUserData is EC2's limit on user data before base64 encoding.
const maxUserData = 16 << 10

// launchData is what a launch template holds, and what RunInstances may
// say directly: the two use the same parameter names, so one reader serves
// both (with the prefix LaunchTemplateData. for templates).
type launchData struct {
	ImageID      string
	InstanceType string
	// UserData is base64, as sent; it is checked to decode.
	UserData            string
	KeyName             string
	InstanceProfileName string
	InstanceProfileARN  string
	SecurityGroupIDs    []string
	SecurityGroupNames  []string
	NetworkInterfaces   []networkInterfaceSpec
	TagSpecifications   []tagSpecification
	BlockDevices        []blockDevice
	Metadata            *metadataOptions
	MarketType          string
	SpotMaxPrice        string
	Zone                string
	// CapacityReservationID is the reservation the launch targets
	// (CapacityReservationSpecification.CapacityReservationTarget).
	CapacityReservationID string
}

type networkInterfaceSpec struct {
	DeviceIndex int64
	// NetworkCardIndex is the card the interface is on; 0 when unset.
	NetworkCardIndex int64
	// InterfaceType is interface (the default), efa or efa-only.
	InterfaceType    string
	SubnetID         string
	SecurityGroupIDs []string
	// AssociatePublicIP is nil when the request leaves it to the subnet's
	// MapPublicIpOnLaunch.
	AssociatePublicIP *bool
	// DeleteOnTermination is nil when the request leaves it to EC2, which
	// deletes an interface it created for the launch.
	DeleteOnTermination *bool
}

type tagSpecification struct {
	ResourceType string
	Tags         map[string]string
}

type blockDevice struct {
	DeviceName          string
	VolumeSizeGiB       int64
	VolumeType          string
	Iops                int64
	Throughput          int64
	Encrypted           bool
	DeleteOnTermination bool
	SnapshotID          string
	KMSKeyID            string
}

type metadataOptions struct {
	HTTPEndpoint         string
	HTTPTokens           string
	HTTPProtocolIPv6     string
	HTTPPutHopLimit      int64
	InstanceMetadataTags string
}

// taggableOnLaunch are the resource types a TagSpecification may name.
var taggableOnLaunch = map[string]bool{
	"instance": true, "volume": true, "network-interface": true, "spot-instances-request": true,
	"launch-template": true, "fleet": true,
}

// readLaunchData reads launch data at p, checking what EC2 checks on
// receipt: user data is base64 and not too large, tags are well formed.
func readLaunchData(p params) (launchData, error) {
	d := launchData{
		ImageID:               p.String("ImageId"),
		InstanceType:          p.String("InstanceType"),
		UserData:              p.String("UserData"),
		KeyName:               p.String("KeyName"),
		InstanceProfileName:   p.String("IamInstanceProfile.Name"),
		InstanceProfileARN:    p.String("IamInstanceProfile.Arn"),
		SecurityGroupIDs:      p.Strings("SecurityGroupId"),
		SecurityGroupNames:    p.Strings("SecurityGroup"),
		MarketType:            p.String("InstanceMarketOptions.MarketType"),
		SpotMaxPrice:          p.String("InstanceMarketOptions.SpotOptions.MaxPrice"),
		Zone:                  p.String("Placement.AvailabilityZone"),
		CapacityReservationID: p.String("CapacityReservationSpecification.CapacityReservationTarget.CapacityReservationId"),
	}
	if d.UserData != "" {
		raw, err := base64.StdEncoding.DecodeString(d.UserData)
		if err != nil {
			return d, clientError("InvalidUserData.Malformed", "Invalid BASE64 encoding of user data.")
		}
		if len(raw) > maxUserData {
			return d, clientError("InvalidUserData.Malformed", "User data is limited to %d bytes.", maxUserData)
		}
	}
	switch d.MarketType {
	case "", "spot", reservationTypeCapacityBlock:
	default:
		return d, errInvalidParameterValue(p.prefix+"InstanceMarketOptions.MarketType", d.MarketType, "Expecting spot or capacity-block.")
	}
	for _, ni := range p.List("NetworkInterface") {
		idx, err := ni.Int("DeviceIndex")
		if err != nil {
			return d, err
		}
		public, err := ni.OptionalBool("AssociatePublicIpAddress")
		if err != nil {
			return d, err
		}
		deleteOnTermination, err := ni.OptionalBool("DeleteOnTermination")
		if err != nil {
			return d, err
		}
		card, err := ni.Int("NetworkCardIndex")
		if err != nil {
			return d, err
		}
		kind := ni.String("InterfaceType")
		switch kind {
		case "", "interface", "efa", "efa-only":
		default:
			return d, errInvalidParameterValue(p.prefix+"NetworkInterface.InterfaceType", kind, "Expecting interface, efa or efa-only.")
		}
		spec := networkInterfaceSpec{
			SubnetID: ni.String("SubnetId"), SecurityGroupIDs: ni.Strings("SecurityGroupId"),
			AssociatePublicIP: public, DeleteOnTermination: deleteOnTermination, InterfaceType: kind,
		}
		if idx != nil {
			spec.DeviceIndex = *idx
		}
		if card != nil {
			spec.NetworkCardIndex = *card
		}
		d.NetworkInterfaces = append(d.NetworkInterfaces, spec)
	}
	specs, err := readTagSpecifications(p)
	if err != nil {
		return d, err
	}
	d.TagSpecifications = specs
	for _, bdm := range p.List("BlockDeviceMapping") {
		dev, err := readBlockDevice(bdm)
		if err != nil {
			return d, err
		}
		d.BlockDevices = append(d.BlockDevices, dev)
	}
	if p.Has("MetadataOptions") {
		m := p.Struct("MetadataOptions")
		hops, err := m.Int("HttpPutResponseHopLimit")
		if err != nil {
			return d, err
		}
		d.Metadata = &metadataOptions{
			HTTPEndpoint: m.String("HttpEndpoint"), HTTPTokens: m.String("HttpTokens"),
			HTTPProtocolIPv6: m.String("HttpProtocolIpv6"), InstanceMetadataTags: m.String("InstanceMetadataTags"),
		}
		if hops != nil {
			d.Metadata.HTTPPutHopLimit = *hops
		}
		switch d.Metadata.HTTPTokens {
		case "", "optional", "required":
		default:
			return d, errInvalidParameterValue(m.prefix+"HttpTokens", d.Metadata.HTTPTokens, "Expecting optional or required.")
		}
	}
	return d, nil
}

func readTagSpecifications(p params) ([]tagSpecification, error) {
	var out []tagSpecification
	for _, ts := range p.List("TagSpecification") {
		rt, err := ts.Required("ResourceType")
		if err != nil {
			return nil, err
		}
		if !taggableOnLaunch[rt] {
			return nil, errInvalidParameterValue(ts.prefix+"ResourceType", rt, "Expecting a taggable resource type such as instance or volume.")
		}
		tags, err := readTags(ts, "Tag")
		if err != nil {
			return nil, err
		}
		out = append(out, tagSpecification{ResourceType: rt, Tags: tags})
	}
	return out, nil
}

// readTags reads an ec2query list of Key/Value tags.
func readTags(p params, key string) (map[string]string, error) {
	tags := map[string]string{}
	for _, t := range p.List(key) {
		k, err := t.Required("Key")
		if err != nil {
			return nil, err
		}
		if strings.HasPrefix(strings.ToLower(k), "aws:") {
			return nil, clientError("InvalidParameterValue", "Tag keys starting with 'aws:' are reserved for internal use")
		}
		if len(k) > 128 || len(t.String("Value")) > 256 {
			return nil, clientError("InvalidParameterValue", "Tag keys are limited to 128 characters and values to 256")
		}
		tags[k] = t.String("Value")
	}
	return tags, nil
}

func readBlockDevice(p params) (blockDevice, error) {
	dev := blockDevice{DeviceName: p.String("DeviceName")}
	if dev.DeviceName == "" {
		return dev, errMissingParameter(p.prefix + "DeviceName")
	}
	ebs := p.Struct("Ebs")
	for _, field := range []struct {
		key string
		dst *int64
	}{{"VolumeSize", &dev.VolumeSizeGiB}, {"Iops", &dev.Iops}, {"Throughput", &dev.Throughput}} {
		v, err := ebs.Int(field.key)
		if err != nil {
			return dev, err
		}
		if v != nil {
			*field.dst = *v
		}
	}
	var err error
	if dev.Encrypted, err = ebs.Bool("Encrypted"); err != nil {
		return dev, err
	}
	if dev.DeleteOnTermination, err = ebs.Bool("DeleteOnTermination"); err != nil {
		return dev, err
	}
	dev.VolumeType, dev.SnapshotID, dev.KMSKeyID = ebs.String("VolumeType"), ebs.String("SnapshotId"), ebs.String("KmsKeyId")
	return dev, nil
}

// overlay returns d with every field that o sets replaced: a RunInstances
// request overrides its launch template.
func (d launchData) overlay(o launchData) launchData {
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&d.ImageID, o.ImageID)
	set(&d.InstanceType, o.InstanceType)
	set(&d.UserData, o.UserData)
	set(&d.KeyName, o.KeyName)
	set(&d.InstanceProfileName, o.InstanceProfileName)
	set(&d.InstanceProfileARN, o.InstanceProfileARN)
	set(&d.MarketType, o.MarketType)
	set(&d.SpotMaxPrice, o.SpotMaxPrice)
	set(&d.Zone, o.Zone)
	set(&d.CapacityReservationID, o.CapacityReservationID)
	if len(o.SecurityGroupIDs) > 0 || len(o.SecurityGroupNames) > 0 {
		d.SecurityGroupIDs, d.SecurityGroupNames = o.SecurityGroupIDs, o.SecurityGroupNames
	}
	if len(o.NetworkInterfaces) > 0 {
		d.NetworkInterfaces = o.NetworkInterfaces
	}
	if len(o.BlockDevices) > 0 {
		d.BlockDevices = o.BlockDevices
	}
	if o.Metadata != nil {
		d.Metadata = o.Metadata
	}
	d.TagSpecifications = append(append([]tagSpecification(nil), d.TagSpecifications...), o.TagSpecifications...)
	return d
}

// tagsFor merges the tags that the specifications give a resource type, later
// specifications winning.
func (d launchData) tagsFor(resourceType string) map[string]string {
	tags := map[string]string{}
	for _, ts := range d.TagSpecifications {
		if ts.ResourceType == resourceType {
			for k, v := range ts.Tags {
				tags[k] = v
			}
		}
	}
	return tags
}
