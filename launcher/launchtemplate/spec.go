package launchtemplate

import (
	"encoding/base64"
	"fmt"
	"maps"
	"math"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"k8s.io/apimachinery/pkg/api/resource"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
)

// Spec is what a launch template launches: the parts of an instance that do
// not depend on the instance type or the zone, which CreateFleet's overrides
// set.
type Spec struct {
	// NodeClass supplies block devices, metadata options, monitoring, the
	// public IP setting and tags.
	NodeClass *ec2v1.EC2NodeClass
	// Family is the AMI family, which sets the default block devices.
	Family          string
	ImageID         string
	UserData        string
	InstanceProfile string
	SecurityGroups  []string
	// Tags go on the template and, through it, on the network interfaces of
	// its instances (and their spot requests when Spot); instances, volumes
	// and the fleet are tagged by CreateFleet.
	Tags map[string]string
	// Spot says the template launches spot instances. Their spot requests
	// are tagged because the IAM policy lets a launch create one only with
	// the cluster's and a pool's tags; only a spot template names them, as
	// Karpenter's do, since an on-demand launch makes no spot request.
	Spot bool
	// EFAs is the number of Elastic Fabric Adapters to attach, one per
	// network card; zero for none. Only claims whose pods request
	// vpc.amazonaws.com/efa ask for them.
	EFAs int32
	// CapacityReservationID is the On-Demand Capacity Reservation the
	// template's instances are launched into; empty for none. EC2 then
	// launches into that reservation only, or fails with
	// ReservationCapacityExceeded when it is full.
	CapacityReservationID string
	// CapacityBlock says that reservation is a Capacity Block for ML: EC2
	// launches into one only with the market type capacity-block beside
	// the reservation target, and refuses it for an ODCR.
	CapacityBlock bool
}

// defaultMetadataOptions require IMDSv2 and keep the metadata service one
// hop away, so that pods without host networking cannot reach the node's
// credentials.
var defaultMetadataOptions = ec2v1.MetadataOptions{
	HTTPEndpoint:            aws.String("enabled"),
	HTTPProtocolIPv6:        aws.String("disabled"),
	HTTPPutResponseHopLimit: aws.Int64(1),
	HTTPTokens:              aws.String("required"),
}

// data builds the template's content.
func (s *Spec) data() (*ec2types.RequestLaunchTemplateData, error) {
	nc := s.NodeClass
	devices, err := blockDeviceMappings(s.Family, nc.Spec.BlockDeviceMappings)
	if err != nil {
		return nil, err
	}
	d := &ec2types.RequestLaunchTemplateData{
		ImageId:             aws.String(s.ImageID),
		UserData:            aws.String(base64.StdEncoding.EncodeToString([]byte(s.UserData))),
		BlockDeviceMappings: devices,
		MetadataOptions:     metadataOptions(nc.Spec.MetadataOptions),
		Monitoring:          &ec2types.LaunchTemplatesMonitoringRequest{Enabled: aws.Bool(aws.ToBool(nc.Spec.DetailedMonitoring))},
		TagSpecifications: []ec2types.LaunchTemplateTagSpecificationRequest{
			{ResourceType: ec2types.ResourceTypeNetworkInterface, Tags: ec2Tags(s.Tags)},
		},
	}
	if s.Spot {
		d.TagSpecifications = append(d.TagSpecifications, ec2types.LaunchTemplateTagSpecificationRequest{
			ResourceType: ec2types.ResourceTypeSpotInstancesRequest, Tags: ec2Tags(s.Tags),
		})
	}
	if s.CapacityReservationID != "" {
		d.CapacityReservationSpecification = &ec2types.LaunchTemplateCapacityReservationSpecificationRequest{
			CapacityReservationTarget: &ec2types.CapacityReservationTarget{CapacityReservationId: aws.String(s.CapacityReservationID)},
		}
		if s.CapacityBlock {
			d.InstanceMarketOptions = &ec2types.LaunchTemplateInstanceMarketOptionsRequest{MarketType: ec2types.MarketTypeCapacityBlock}
		}
	}
	if s.InstanceProfile != "" {
		d.IamInstanceProfile = &ec2types.LaunchTemplateIamInstanceProfileSpecificationRequest{Name: aws.String(s.InstanceProfile)}
	}
	groups := slices.Sorted(slices.Values(s.SecurityGroups))
	if s.EFAs > 0 {
		d.NetworkInterfaces = efaInterfaces(s.EFAs, groups, nc.Spec.AssociatePublicIPAddress)
		return d, nil
	}
	if nc.Spec.AssociatePublicIPAddress != nil {
		// The public IP setting lives on a network interface, and a template
		// that names one must name its security groups there too.
		d.NetworkInterfaces = []ec2types.LaunchTemplateInstanceNetworkInterfaceSpecificationRequest{{
			DeviceIndex:              aws.Int32(0),
			AssociatePublicIpAddress: nc.Spec.AssociatePublicIPAddress,
			Groups:                   groups,
		}}
	} else {
		d.SecurityGroupIds = groups
	}
	return d, nil
}

// metadataOptions fills in what a class left unset with the defaults, as the
// CRD's defaulting would.
func metadataOptions(m *ec2v1.MetadataOptions) *ec2types.LaunchTemplateInstanceMetadataOptionsRequest {
	o := defaultMetadataOptions
	if m != nil {
		o.HTTPEndpoint = firstSet(m.HTTPEndpoint, o.HTTPEndpoint)
		o.HTTPProtocolIPv6 = firstSet(m.HTTPProtocolIPv6, o.HTTPProtocolIPv6)
		o.HTTPTokens = firstSet(m.HTTPTokens, o.HTTPTokens)
		if m.HTTPPutResponseHopLimit != nil {
			o.HTTPPutResponseHopLimit = m.HTTPPutResponseHopLimit
		}
	}
	return &ec2types.LaunchTemplateInstanceMetadataOptionsRequest{
		HttpEndpoint:            ec2types.LaunchTemplateInstanceMetadataEndpointState(*o.HTTPEndpoint),
		HttpProtocolIpv6:        ec2types.LaunchTemplateInstanceMetadataProtocolIpv6(*o.HTTPProtocolIPv6),
		HttpTokens:              ec2types.LaunchTemplateHttpTokensState(*o.HTTPTokens),
		HttpPutResponseHopLimit: aws.Int32(int32(*o.HTTPPutResponseHopLimit)),
	}
}

func firstSet(v, def *string) *string {
	if v != nil {
		return v
	}
	return def
}

// defaultBlockDevices are the volumes of each family when the class maps
// none: an encrypted gp3 root volume, and Bottlerocket's data volume beside a
// small root volume. A Custom AMI keeps its own mappings.
var defaultBlockDevices = map[string][]*ec2v1.BlockDeviceMapping{
	ec2v1.AMIFamilyAL2:          {encryptedGP3("/dev/xvda", "20Gi")},
	ec2v1.AMIFamilyAL2023:       {encryptedGP3("/dev/xvda", "20Gi")},
	ec2v1.AMIFamilyBottlerocket: {encryptedGP3("/dev/xvda", "4Gi"), encryptedGP3("/dev/xvdb", "20Gi")},
	ec2v1.AMIFamilyWindows2019:  {encryptedGP3("/dev/sda1", "50Gi")},
	ec2v1.AMIFamilyWindows2022:  {encryptedGP3("/dev/sda1", "50Gi")},
	ec2v1.AMIFamilyWindows2025:  {encryptedGP3("/dev/sda1", "50Gi")},
}

func encryptedGP3(device, size string) *ec2v1.BlockDeviceMapping {
	q := resource.MustParse(size)
	return &ec2v1.BlockDeviceMapping{
		DeviceName: aws.String(device),
		EBS: &ec2v1.BlockDevice{
			VolumeSize:          &q,
			VolumeType:          aws.String(string(ec2types.VolumeTypeGp3)),
			Encrypted:           aws.Bool(true),
			DeleteOnTermination: aws.Bool(true),
		},
	}
}

// blockDeviceMappings converts the class's mappings, or the family's
// defaults when it has none. Volumes the class does not say otherwise of are
// encrypted gp3 volumes deleted with the instance.
func blockDeviceMappings(family string, mappings []*ec2v1.BlockDeviceMapping) ([]ec2types.LaunchTemplateBlockDeviceMappingRequest, error) {
	if len(mappings) == 0 {
		mappings = defaultBlockDevices[family]
	}
	var out []ec2types.LaunchTemplateBlockDeviceMappingRequest
	for i, m := range mappings {
		if m == nil || m.DeviceName == nil {
			return nil, fmt.Errorf("blockDeviceMappings[%d] has no deviceName", i)
		}
		req := ec2types.LaunchTemplateBlockDeviceMappingRequest{DeviceName: m.DeviceName}
		if ebs := m.EBS; ebs != nil {
			req.Ebs = &ec2types.LaunchTemplateEbsBlockDeviceRequest{
				DeleteOnTermination: orTrue(ebs.DeleteOnTermination),
				Encrypted:           orTrue(ebs.Encrypted),
				KmsKeyId:            ebs.KMSKeyID,
				SnapshotId:          ebs.SnapshotID,
				VolumeType:          ec2types.VolumeType(aws.ToString(firstSet(ebs.VolumeType, aws.String(string(ec2types.VolumeTypeGp3))))),
			}
			if ebs.IOPS != nil {
				req.Ebs.Iops = aws.Int32(int32(*ebs.IOPS))
			}
			if ebs.Throughput != nil {
				req.Ebs.Throughput = aws.Int32(int32(*ebs.Throughput))
			}
			if ebs.VolumeSize != nil {
				req.Ebs.VolumeSize = aws.Int32(gibibytes(*ebs.VolumeSize))
			}
		}
		out = append(out, req)
	}
	return out, nil
}

func orTrue(b *bool) *bool {
	if b == nil {
		return aws.Bool(true)
	}
	return b
}

// gibibytes is a volume size in whole GiB, EBS's unit, rounded up so that a
// volume is never smaller than asked.
func gibibytes(q resource.Quantity) int32 {
	return int32(math.Ceil(float64(q.Value()) / (1 << 30)))
}

// ec2Tags converts tags to EC2's list, sorted so that the template's hash
// does not depend on map order.
func ec2Tags(tags map[string]string) []ec2types.Tag {
	out := make([]ec2types.Tag, 0, len(tags))
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		out = append(out, ec2types.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
	}
	return out
}
