package aws

import (
	"context"
	"math"
	"regexp"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/launcher/catalog"
)

// defaultMaxPods is kubelet's own pod limit, used for a type whose ENI
// limits EC2 does not report.
const defaultMaxPods = 110

// instanceFamilyScheme splits a family into category and generation: m in
// m5, inf in inf2, and u with generation 1 in the high-memory u-3tb1, whose
// memory size sits between the two.
var instanceFamilyScheme = regexp.MustCompile(`^([a-z]+)(?:-[0-9]+tb)?([0-9]+)`)

// describeInstanceTypes reads every instance type of the region that can run
// a Kubernetes node: hardware-virtualised, on x86-64 or arm64.
func describeInstanceTypes(ctx context.Context, client EC2API) ([]catalog.Info, error) {
	pages := ec2.NewDescribeInstanceTypesPaginator(client, &ec2.DescribeInstanceTypesInput{
		Filters: []ec2types.Filter{
			{Name: aws.String("supported-virtualization-type"), Values: []string{string(ec2types.VirtualizationTypeHvm)}},
			{Name: aws.String("processor-info.supported-architecture"), Values: []string{string(ec2types.ArchitectureTypeX8664), string(ec2types.ArchitectureTypeArm64)}},
		},
	})
	var infos []catalog.Info
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, wrapError("ec2", "DescribeInstanceTypes", err)
		}
		for i := range page.InstanceTypes {
			if info, ok := infoOf(&page.InstanceTypes[i]); ok {
				infos = append(infos, info)
			}
		}
	}
	slices.SortFunc(infos, func(a, b catalog.Info) int { return strings.Compare(a.Name, b.Name) })
	return slices.CompactFunc(infos, func(a, b catalog.Info) bool { return a.Name == b.Name }), nil
}

// infoOf turns EC2's description of a type into the catalog's facts; false
// for a type that cannot run a node (no supported architecture, a name that
// does not follow EC2's scheme).
func infoOf(it *ec2types.InstanceTypeInfo) (catalog.Info, bool) {
	name := string(it.InstanceType)
	family, size, ok := strings.Cut(name, ".")
	parts := instanceFamilyScheme.FindStringSubmatch(family)
	arch := architecture(it.ProcessorInfo)
	if !ok || parts == nil || arch == "" || it.VCpuInfo == nil || it.MemoryInfo == nil {
		return catalog.Info{}, false
	}
	info := catalog.Info{
		Name:           name,
		Arch:           arch,
		Category:       parts[1],
		Family:         family,
		Generation:     parts[2],
		Size:           size,
		VCPU:           aws.ToInt32(it.VCpuInfo.DefaultVCpus),
		MemoryMiB:      aws.ToInt64(it.MemoryInfo.SizeInMiB),
		Hypervisor:     string(it.Hypervisor),
		CapabilityFlex: strings.HasSuffix(family, "-flex"),
	}
	if p := it.ProcessorInfo; p != nil {
		info.CPUManufacturer = manufacturer(aws.ToString(p.Manufacturer))
		info.SustainedClockSpeedMHz = int32(math.Round(aws.ToFloat64(p.SustainedClockSpeedInGhz) * 1000))
	}
	if e := it.EbsInfo; e != nil {
		if e.EbsOptimizedInfo != nil {
			info.EBSBandwidthMbps = aws.ToInt32(e.EbsOptimizedInfo.MaximumBandwidthInMbps)
		}
		info.EBS = catalog.EBSAttachments{
			MaxAttachments: aws.ToInt32(e.MaximumEbsAttachments),
			Dedicated:      e.AttachmentLimitType == ec2types.AttachmentLimitTypeDedicated,
		}
	}
	if g := it.GpuInfo; g != nil && len(g.Gpus) > 0 {
		gpu := g.Gpus[0]
		info.GPUName = strings.ToLower(aws.ToString(gpu.Name))
		info.GPUManufacturer = manufacturer(aws.ToString(gpu.Manufacturer))
		info.GPUCount = aws.ToInt32(gpu.Count)
		if gpu.MemoryInfo != nil {
			info.GPUMemoryMiB = int64(aws.ToInt32(gpu.MemoryInfo.SizeInMiB))
		}
	}
	setAccelerators(&info, it)
	if s := it.InstanceStorageInfo; s != nil && s.NvmeSupport != ec2types.EphemeralNvmeSupportUnsupported {
		info.LocalNVMeGB = aws.ToInt64(s.TotalSizeInGB)
	}
	setNetwork(&info, it.NetworkInfo)
	return info, true
}

// architecture maps EC2's architectures to Kubernetes'; empty for types
// that support neither x86-64 nor arm64 (32-bit, Mac).
func architecture(p *ec2types.ProcessorInfo) string {
	if p == nil {
		return ""
	}
	switch {
	case slices.Contains(p.SupportedArchitectures, ec2types.ArchitectureTypeX8664):
		return wellknown.ArchAMD64
	case slices.Contains(p.SupportedArchitectures, ec2types.ArchitectureTypeArm64):
		return wellknown.ArchARM64
	}
	return ""
}

// manufacturer spells a manufacturer as Karpenter's labels do: lower case,
// and aws for Amazon Web Services.
func manufacturer(m string) string {
	if m == "Amazon Web Services" {
		return "aws"
	}
	return strings.ToLower(m)
}

// setAccelerators records Neuron devices (Inferentia, Trainium) and other
// inference accelerators. Neuron's description is the more precise one, with
// cores, so it wins when EC2 reports both.
func setAccelerators(info *catalog.Info, it *ec2types.InstanceTypeInfo) {
	if n := it.NeuronInfo; n != nil && len(n.NeuronDevices) > 0 {
		for _, d := range n.NeuronDevices {
			count := aws.ToInt32(d.Count)
			info.NeuronDevices += count
			if d.CoreInfo != nil {
				info.NeuronCores += count * aws.ToInt32(d.CoreInfo.Count)
			}
		}
		info.AcceleratorName = strings.ToLower(aws.ToString(n.NeuronDevices[0].Name))
		info.AcceleratorManufacturer = "aws"
		info.AcceleratorCount = info.NeuronDevices
		return
	}
	if a := it.InferenceAcceleratorInfo; a != nil && len(a.Accelerators) > 0 {
		info.AcceleratorName = strings.ToLower(aws.ToString(a.Accelerators[0].Name))
		info.AcceleratorManufacturer = manufacturer(aws.ToString(a.Accelerators[0].Manufacturer))
		for _, d := range a.Accelerators {
			info.AcceleratorCount += aws.ToInt32(d.Count)
		}
	}
}

// setNetwork records bandwidth, EFA and the ENI limits of the default
// network card, the only one whose interfaces the VPC CNI gives to pods.
func setNetwork(info *catalog.Info, n *ec2types.NetworkInfo) {
	if n == nil {
		info.MaxPods = defaultMaxPods
		return
	}
	info.EncryptionInTransit = aws.ToBool(n.EncryptionInTransitSupported)
	if aws.ToBool(n.EfaSupported) && n.EfaInfo != nil {
		info.EFAs = aws.ToInt32(n.EfaInfo.MaximumEfaInterfaces)
	}
	var bandwidthGbps float64
	info.ENIs = aws.ToInt32(n.MaximumNetworkInterfaces)
	for _, card := range n.NetworkCards {
		bandwidthGbps += aws.ToFloat64(card.BaselineBandwidthInGbps)
		if aws.ToInt32(card.NetworkCardIndex) == aws.ToInt32(n.DefaultNetworkCardIndex) && card.MaximumNetworkInterfaces != nil {
			info.ENIs = *card.MaximumNetworkInterfaces
		}
	}
	info.NetworkBandwidthMbps = int32(math.Round(bandwidthGbps * 1000))
	info.IPv4PerENI = aws.ToInt32(n.Ipv4AddressesPerInterface)
	if info.ENIs > 0 && info.IPv4PerENI > 1 {
		info.MaxPods = catalog.ENILimitedPods(info.ENIs, info.IPv4PerENI)
	} else {
		info.MaxPods = defaultMaxPods
	}
}
