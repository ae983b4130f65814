package catalog

import (
	"strconv"

	"k8s.io/apimachinery/pkg/util/sets"

	"github.com/tailor-project/tailor/apis/wellknown"
)

// typeLabelKeys are the label keys an instance type speaks for: a NodePool
// requirement on one of them is judged against the type's labels, and a type
// without the label fails In, Exists, Gt and Lt on it. Requirements on other
// keys (the pool's own labels, custom labels) are not the catalog's business.
var typeLabelKeys = sets.New(
	wellknown.InstanceTypeLabel,
	wellknown.ArchLabel,
	wellknown.OSLabel,
	wellknown.WindowsBuildLabel,
	wellknown.RegionLabel,
	wellknown.InstanceCategoryLabel,
	wellknown.InstanceFamilyLabel,
	wellknown.InstanceGenerationLabel,
	wellknown.InstanceSizeLabel,
	wellknown.InstanceCPULabel,
	wellknown.InstanceCPUManufacturerLabel,
	wellknown.InstanceCPUSustainedClockLabel,
	wellknown.InstanceMemoryLabel,
	wellknown.InstanceEBSBandwidthLabel,
	wellknown.InstanceNetworkBandwidthLabel,
	wellknown.InstanceGPUNameLabel,
	wellknown.InstanceGPUManufacturerLabel,
	wellknown.InstanceGPUCountLabel,
	wellknown.InstanceGPUMemoryLabel,
	wellknown.InstanceAcceleratorNameLabel,
	wellknown.InstanceAcceleratorManufacturer,
	wellknown.InstanceAcceleratorCountLabel,
	wellknown.InstanceLocalNVMeLabel,
	wellknown.InstanceHypervisorLabel,
	wellknown.InstanceEncryptionInTransitLabel,
	wellknown.InstanceCapacityFlexLabel,
)

// infoLabels returns the labels Karpenter publishes for a type on a node of
// the given operating system. Labels for optional hardware (GPUs,
// accelerators, local NVMe) and unknown bandwidths are left out rather than
// set to zero, so "Exists" selects the types that have them.
func infoLabels(info *Info, region string, nodeOS osInfo) map[string]string {
	labels := make(map[string]string, 24)
	labels[wellknown.InstanceTypeLabel] = info.Name
	labels[wellknown.ArchLabel] = info.Arch
	labels[wellknown.OSLabel] = nodeOS.name
	if nodeOS.windowsBuild != "" {
		labels[wellknown.WindowsBuildLabel] = nodeOS.windowsBuild
	}
	if region != "" {
		labels[wellknown.RegionLabel] = region
	}
	labels[wellknown.InstanceCategoryLabel] = info.Category
	labels[wellknown.InstanceFamilyLabel] = info.Family
	labels[wellknown.InstanceGenerationLabel] = info.Generation
	labels[wellknown.InstanceSizeLabel] = info.Size
	labels[wellknown.InstanceCPULabel] = itoa(int64(info.VCPU))
	labels[wellknown.InstanceCPUManufacturerLabel] = info.CPUManufacturer
	labels[wellknown.InstanceCPUSustainedClockLabel] = itoa(int64(info.SustainedClockSpeedMHz))
	labels[wellknown.InstanceMemoryLabel] = itoa(info.MemoryMiB)
	labels[wellknown.InstanceHypervisorLabel] = info.Hypervisor
	labels[wellknown.InstanceEncryptionInTransitLabel] = strconv.FormatBool(info.EncryptionInTransit)
	labels[wellknown.InstanceCapacityFlexLabel] = strconv.FormatBool(info.CapabilityFlex)
	if info.NetworkBandwidthMbps > 0 {
		labels[wellknown.InstanceNetworkBandwidthLabel] = itoa(int64(info.NetworkBandwidthMbps))
	}
	if info.EBSBandwidthMbps > 0 {
		labels[wellknown.InstanceEBSBandwidthLabel] = itoa(int64(info.EBSBandwidthMbps))
	}
	if info.LocalNVMeGB > 0 {
		labels[wellknown.InstanceLocalNVMeLabel] = itoa(info.LocalNVMeGB)
	}
	if info.GPUName != "" {
		labels[wellknown.InstanceGPUNameLabel] = info.GPUName
		labels[wellknown.InstanceGPUManufacturerLabel] = info.GPUManufacturer
		labels[wellknown.InstanceGPUCountLabel] = itoa(int64(info.GPUCount))
		labels[wellknown.InstanceGPUMemoryLabel] = itoa(info.GPUMemoryMiB)
	}
	if info.AcceleratorName != "" {
		labels[wellknown.InstanceAcceleratorNameLabel] = info.AcceleratorName
		labels[wellknown.InstanceAcceleratorManufacturer] = info.AcceleratorManufacturer
		labels[wellknown.InstanceAcceleratorCountLabel] = itoa(int64(info.AcceleratorCount))
	}
	return labels
}

func itoa(n int64) string {
	return strconv.FormatInt(n, 10)
}
