package ec2sim

import (
	"context"
	"strings"
)

type imageEBSXML struct {
	SnapshotID          string `xml:"snapshotId"`
	VolumeSize          int64  `xml:"volumeSize"`
	VolumeType          string `xml:"volumeType"`
	DeleteOnTermination bool   `xml:"deleteOnTermination"`
	Encrypted           bool   `xml:"encrypted"`
}

type imageBlockDeviceXML struct {
	DeviceName string      `xml:"deviceName"`
	EBS        imageEBSXML `xml:"ebs"`
}

type imageXML struct {
	ImageID            string                `xml:"imageId"`
	ImageLocation      string                `xml:"imageLocation"`
	ImageState         string                `xml:"imageState"`
	ImageOwnerID       string                `xml:"imageOwnerId"`
	ImageOwnerAlias    string                `xml:"imageOwnerAlias"`
	CreationDate       string                `xml:"creationDate"`
	DeprecationTime    string                `xml:"deprecationTime"`
	IsPublic           bool                  `xml:"isPublic"`
	Architecture       string                `xml:"architecture"`
	ImageType          string                `xml:"imageType"`
	Platform           string                `xml:"platform,omitempty"`
	PlatformDetails    string                `xml:"platformDetails"`
	UsageOperation     string                `xml:"usageOperation"`
	Name               string                `xml:"name"`
	Description        string                `xml:"description"`
	RootDeviceType     string                `xml:"rootDeviceType"`
	RootDeviceName     string                `xml:"rootDeviceName"`
	BlockDevices       []imageBlockDeviceXML `xml:"blockDeviceMapping>item"`
	VirtualizationType string                `xml:"virtualizationType"`
	Hypervisor         string                `xml:"hypervisor"`
	ENASupport         bool                  `xml:"enaSupport"`
	BootMode           string                `xml:"bootMode"`
	Tags               []tagXML              `xml:"tagSet>item"`
}

type describeImagesResponse struct {
	ec2Meta
	Images    []imageXML `xml:"imagesSet>item"`
	NextToken string     `xml:"nextToken,omitempty"`
}

// The alias of the owner of every seeded AMI.
const amazonOwnerAlias = "amazon"

func (e *ec2API) describeImages(_ context.Context, p params) (ec2Body, error) {
	filters, err := readFilters(p)
	if err != nil {
		return nil, err
	}
	owners := p.Strings("Owner")
	s := e.sim
	s.world.mu.Lock()
	defer s.world.mu.Unlock()
	selected := s.world.images
	if ids := p.Strings("ImageId"); len(ids) > 0 {
		selected = nil
		for _, id := range ids {
			img, err := s.imageLocked(id)
			if err != nil {
				return nil, err
			}
			selected = append(selected, img)
		}
	}
	var matched []*image
	for _, img := range selected {
		if len(owners) > 0 && !ownedBy(img, owners) {
			continue
		}
		ok, err := matchFilters(filters, withTagAttributes(img.Tags, imageAttributes(img)))
		if err != nil {
			return nil, err
		}
		if ok {
			matched = append(matched, img)
		}
	}
	page, next, err := paginateEC2(matched, func(i *image) string { return i.ID }, p, pageLimits{min: 5, max: 1000})
	if err != nil {
		return nil, err
	}
	out := &describeImagesResponse{NextToken: next}
	for _, img := range page {
		out.Images = append(out.Images, renderImage(img))
	}
	return out, nil
}

// ownedBy matches DescribeImages' Owner values: account ids or the owner
// alias. The simulated account owns no AMIs, so "self" matches none.
func ownedBy(img *image, owners []string) bool {
	for _, o := range owners {
		if o == img.OwnerID || o == amazonOwnerAlias {
			return true
		}
	}
	return false
}

func imageAttributes(img *image) attributes {
	return func(name string) ([]string, bool) {
		one := func(v string) ([]string, bool) { return []string{v}, true }
		switch name {
		case "image-id":
			return one(img.ID)
		case "name":
			return one(img.Name)
		case "description":
			return one(img.Description)
		case "architecture":
			return one(img.Arch)
		case "owner-id":
			return one(img.OwnerID)
		case "owner-alias":
			return one(amazonOwnerAlias)
		case "state":
			return one("available")
		case "is-public":
			return one("true")
		case "image-type":
			return one("machine")
		case "root-device-type":
			return one("ebs")
		case "virtualization-type":
			return one("hvm")
		case "platform":
			if img.Windows {
				return one("windows")
			}
			return nil, true
		}
		return nil, false
	}
}

func renderImage(img *image) imageXML {
	out := imageXML{
		ImageID: img.ID, ImageLocation: amazonOwnerAlias + "/" + img.Name, ImageState: "available",
		ImageOwnerID: img.OwnerID, ImageOwnerAlias: amazonOwnerAlias, CreationDate: awsTime(img.Created),
		DeprecationTime: awsTime(img.Created.AddDate(2, 0, 0)), IsPublic: true, Architecture: img.Arch,
		ImageType: "machine", PlatformDetails: "Linux/UNIX", UsageOperation: "RunInstances",
		Name: img.Name, Description: img.Description, RootDeviceType: "ebs", RootDeviceName: img.RootDevice,
		VirtualizationType: "hvm", Hypervisor: "xen", ENASupport: true, BootMode: "uefi-preferred",
		Tags: tagSet(img.Tags),
	}
	if img.Windows {
		out.Platform, out.PlatformDetails, out.UsageOperation = "windows", "Windows", "RunInstances:0002"
	}
	for i, d := range defaultBlockDevices(img) {
		out.BlockDevices = append(out.BlockDevices, imageBlockDeviceXML{DeviceName: d.DeviceName, EBS: imageEBSXML{
			SnapshotID: stableID("snap", img.ID+strings.Repeat("/", i)), VolumeSize: d.VolumeSizeGiB,
			VolumeType: d.VolumeType, DeleteOnTermination: true,
		}})
	}
	return out
}
