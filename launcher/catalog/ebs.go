package catalog

import (
	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
)

// The EBS CSI driver's fallbacks, for a type whose attachment limit is not
// known: Xen types attach up to 39 volumes whatever the API says, since
// their limit is not shared with network interfaces, and any other type is
// assumed to be a Nitro type with the common shared limit of 27.
const (
	xenEBSAttachments     = 39
	defaultEBSAttachments = 27
)

// EBSVolumeLimit is the number of volumes the EBS CSI node plugin lets the
// scheduler place on a node of the type: what it reports as the allocatable
// count of ebs.csi.aws.com in the node's CSINode. The root volume and
// extraBlockDevices further block device mappings are attached at launch and
// take slots of their own; on a shared limit every network interface past
// the first (enis counts them all) takes one too. It is never below 1,
// because the scheduler reads a zero count as no limit at all.
func EBSVolumeLimit(info *Info, extraBlockDevices, enis int) int64 {
	limit, dedicated := int64(info.EBS.MaxAttachments), info.EBS.Dedicated
	switch {
	case info.Hypervisor == "xen":
		limit, dedicated = xenEBSAttachments, true
	case limit <= 0:
		limit, dedicated = defaultEBSAttachments, false
	}
	limit -= int64(extraBlockDevices) + 1
	if !dedicated && enis > 1 {
		limit -= int64(enis) - 1
	}
	return max(limit, 1)
}

// ExtraBlockDevices is how many EBS volumes a node of the class has attached
// at launch besides its root volume: all its mappings but one (the class
// names the root device among them, as it must for the AMI to boot), or,
// when it maps none, the family's defaults beside the root volume, which
// only Bottlerocket's data volume is. A class that cannot be read counts
// none.
func ExtraBlockDevices(nc *ec2v1.EC2NodeClass) int {
	if nc == nil {
		return 0
	}
	mapped := 0
	for _, m := range nc.Spec.BlockDeviceMappings {
		if m != nil {
			mapped++
		}
	}
	if mapped > 0 {
		return mapped - 1
	}
	if family, err := familyOf(nc); err == nil && family == AMIFamilyBottlerocket {
		return 1
	}
	return 0
}
