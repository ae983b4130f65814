package ec2sim

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/tailor-project/tailor/launcher/catalog"
)

// previousGenerationFamilies are the families EC2 reports with
// currentGeneration false.
var previousGenerationFamilies = map[string]bool{
	"c1": true, "c3": true, "cc2": true, "cr1": true, "g2": true, "hs1": true,
	"i2": true, "m1": true, "m2": true, "m3": true, "r3": true, "t1": true,
}

type instanceTypeXML struct {
	InstanceType                  string              `xml:"instanceType"`
	CurrentGeneration             bool                `xml:"currentGeneration"`
	FreeTierEligible              bool                `xml:"freeTierEligible"`
	SupportedUsageClasses         []string            `xml:"supportedUsageClasses>item"`
	SupportedRootDeviceTypes      []string            `xml:"supportedRootDeviceTypes>item"`
	SupportedVirtualizationTypes  []string            `xml:"supportedVirtualizationTypes>item"`
	SupportedBootModes            []string            `xml:"supportedBootModes>item"`
	BareMetal                     bool                `xml:"bareMetal"`
	Hypervisor                    string              `xml:"hypervisor,omitempty"`
	ProcessorInfo                 processorInfoXML    `xml:"processorInfo"`
	VCPUInfo                      vcpuInfoXML         `xml:"vCpuInfo"`
	MemorySizeInMiB               int64               `xml:"memoryInfo>sizeInMiB"`
	InstanceStorageSupported      bool                `xml:"instanceStorageSupported"`
	InstanceStorageInfo           *instanceStorageXML `xml:"instanceStorageInfo,omitempty"`
	EBSInfo                       ebsInfoXML          `xml:"ebsInfo"`
	NetworkInfo                   networkInfoXML      `xml:"networkInfo"`
	GPUInfo                       *gpuInfoXML         `xml:"gpuInfo,omitempty"`
	InferenceAcceleratorInfo      *inferenceInfoXML   `xml:"inferenceAcceleratorInfo,omitempty"`
	NeuronInfo                    *neuronInfoXML      `xml:"neuronInfo,omitempty"`
	PlacementStrategies           []string            `xml:"placementGroupInfo>supportedStrategies>item"`
	HibernationSupported          bool                `xml:"hibernationSupported"`
	BurstablePerformanceSupported bool                `xml:"burstablePerformanceSupported"`
	DedicatedHostsSupported       bool                `xml:"dedicatedHostsSupported"`
	AutoRecoverySupported         bool                `xml:"autoRecoverySupported"`
	NitroEnclavesSupport          string              `xml:"nitroEnclavesSupport"`
	NitroTPMSupport               string              `xml:"nitroTpmSupport"`
	PHCSupport                    string              `xml:"phcSupport"`
	TPMVersions                   []string            `xml:"nitroTpmInfo>supportedVersions>item,omitempty"`
}

type processorInfoXML struct {
	SupportedArchitectures   []string `xml:"supportedArchitectures>item"`
	SustainedClockSpeedInGHz float64  `xml:"sustainedClockSpeedInGhz,omitempty"`
	Manufacturer             string   `xml:"manufacturer"`
}

type vcpuInfoXML struct {
	DefaultVCPUs          int32 `xml:"defaultVCpus"`
	DefaultCores          int32 `xml:"defaultCores"`
	DefaultThreadsPerCore int32 `xml:"defaultThreadsPerCore"`
}

type instanceStorageXML struct {
	TotalSizeInGB     int64     `xml:"totalSizeInGB"`
	Disks             []diskXML `xml:"disks>item"`
	NVMeSupport       string    `xml:"nvmeSupport"`
	EncryptionSupport string    `xml:"encryptionSupport"`
}

type diskXML struct {
	SizeInGB int64  `xml:"sizeInGB"`
	Count    int32  `xml:"count"`
	Type     string `xml:"type"`
}

type ebsInfoXML struct {
	EBSOptimizedSupport   string               `xml:"ebsOptimizedSupport"`
	EncryptionSupport     string               `xml:"encryptionSupport"`
	NVMeSupport           string               `xml:"nvmeSupport"`
	EBSOptimizedInfo      *ebsOptimizedInfoXML `xml:"ebsOptimizedInfo,omitempty"`
	MaximumEBSAttachments int32                `xml:"maximumEbsAttachments,omitempty"`
	AttachmentLimitType   string               `xml:"attachmentLimitType,omitempty"`
}

type ebsOptimizedInfoXML struct {
	BaselineBandwidthInMbps int32 `xml:"baselineBandwidthInMbps"`
	MaximumBandwidthInMbps  int32 `xml:"maximumBandwidthInMbps"`
}

type networkInfoXML struct {
	NetworkPerformance           string           `xml:"networkPerformance"`
	MaximumNetworkInterfaces     int32            `xml:"maximumNetworkInterfaces"`
	MaximumNetworkCards          int32            `xml:"maximumNetworkCards"`
	DefaultNetworkCardIndex      int32            `xml:"defaultNetworkCardIndex"`
	NetworkCards                 []networkCardXML `xml:"networkCards>item"`
	IPv4AddressesPerInterface    int32            `xml:"ipv4AddressesPerInterface"`
	IPv6AddressesPerInterface    int32            `xml:"ipv6AddressesPerInterface"`
	IPv6Supported                bool             `xml:"ipv6Supported"`
	ENASupport                   string           `xml:"enaSupport"`
	EFASupported                 bool             `xml:"efaSupported"`
	MaximumEFAInterfaces         int32            `xml:"efaInfo>maximumEfaInterfaces,omitempty"`
	EncryptionInTransitSupported bool             `xml:"encryptionInTransitSupported"`
}

type networkCardXML struct {
	NetworkCardIndex         int32   `xml:"networkCardIndex"`
	NetworkPerformance       string  `xml:"networkPerformance"`
	MaximumNetworkInterfaces int32   `xml:"maximumNetworkInterfaces"`
	BaselineBandwidthInGbps  float64 `xml:"baselineBandwidthInGbps,omitempty"`
	PeakBandwidthInGbps      float64 `xml:"peakBandwidthInGbps,omitempty"`
}

type gpuInfoXML struct {
	GPUs                []acceleratorXML `xml:"gpus>item"`
	TotalGPUMemoryInMiB int64            `xml:"totalGpuMemoryInMiB"`
}

type acceleratorXML struct {
	Name         string `xml:"name"`
	Manufacturer string `xml:"manufacturer"`
	Count        int32  `xml:"count"`
	MemoryInMiB  int64  `xml:"memoryInfo>sizeInMiB,omitempty"`
}

type inferenceInfoXML struct {
	Accelerators []acceleratorXML `xml:"accelerators>member"`
}

type neuronInfoXML struct {
	NeuronDevices []neuronDeviceXML `xml:"neuronDevices>item"`
}

type neuronDeviceXML struct {
	Name      string `xml:"name"`
	Count     int32  `xml:"count"`
	CoreCount int32  `xml:"coreInfo>count"`
	Version   int32  `xml:"coreInfo>version"`
}

type describeInstanceTypesResponse struct {
	ec2Meta
	InstanceTypes []instanceTypeXML `xml:"instanceTypeSet>item"`
	NextToken     string            `xml:"nextToken,omitempty"`
}

func (e *ec2API) describeInstanceTypes(_ context.Context, p params) (ec2Body, error) {
	filters, err := readFilters(p)
	if err != nil {
		return nil, err
	}
	s := e.sim
	names := p.Strings("InstanceType")
	if len(names) == 0 {
		names = s.world.typeNames
	} else {
		var unknown []string
		for _, n := range names {
			if s.world.types[n] == nil {
				unknown = append(unknown, n)
			}
		}
		if len(unknown) > 0 {
			return nil, clientError("InvalidInstanceType", "The following supplied instance types do not exist: [%s]", strings.Join(unknown, ", "))
		}
	}
	var matched []instanceTypeXML
	for _, n := range names {
		item := renderInstanceType(s.world.types[n], s.world.onDemand)
		ok, err := matchFilters(filters, instanceTypeAttributes(item))
		if err != nil {
			return nil, err
		}
		if ok {
			matched = append(matched, item)
		}
	}
	page, next, err := paginateEC2(matched, func(t instanceTypeXML) string { return t.InstanceType }, p, pageLimits{min: 5, max: 100, fallback: 100})
	if err != nil {
		return nil, err
	}
	return &describeInstanceTypesResponse{InstanceTypes: page, NextToken: next}, nil
}

// renderInstanceType is a catalog type as DescribeInstanceTypes reports it.
// Names that EC2 writes in display case (NVIDIA, A10G, Inferentia2) are
// rebuilt from the catalog's lower-case label values, so that lower-casing
// and joining words with dashes, as Karpenter does, gives them back.
func renderInstanceType(info *catalog.Info, prices map[string]float64) instanceTypeXML {
	threads := int32(2)
	if info.CPUManufacturer == "aws" || info.VCPU < 2 {
		threads = 1
	}
	usage := []string{"on-demand"}
	if _, ok := prices[info.Name]; ok {
		usage = append(usage, "spot")
	}
	out := instanceTypeXML{
		InstanceType:                 info.Name,
		CurrentGeneration:            !previousGenerationFamilies[info.Family],
		SupportedUsageClasses:        usage,
		SupportedRootDeviceTypes:     []string{"ebs"},
		SupportedVirtualizationTypes: []string{"hvm"},
		SupportedBootModes:           []string{"legacy-bios", "uefi"},
		BareMetal:                    strings.HasPrefix(info.Size, "metal"),
		Hypervisor:                   info.Hypervisor,
		ProcessorInfo: processorInfoXML{
			SupportedArchitectures:   []string{ec2Arch(info.Arch)},
			SustainedClockSpeedInGHz: float64(info.SustainedClockSpeedMHz) / 1000,
			Manufacturer:             manufacturerName(info.CPUManufacturer),
		},
		VCPUInfo:        vcpuInfoXML{DefaultVCPUs: info.VCPU, DefaultCores: max(info.VCPU/threads, 1), DefaultThreadsPerCore: threads},
		MemorySizeInMiB: info.MemoryMiB,
		EBSInfo:         ebsInfoXML{EBSOptimizedSupport: "unsupported", EncryptionSupport: "supported", NVMeSupport: "required"},
		NetworkInfo: networkInfoXML{
			NetworkPerformance:           networkPerformance(info.NetworkBandwidthMbps),
			MaximumNetworkInterfaces:     info.ENIs,
			MaximumNetworkCards:          1,
			IPv4AddressesPerInterface:    info.IPv4PerENI,
			IPv6AddressesPerInterface:    info.IPv4PerENI,
			IPv6Supported:                info.Hypervisor != "xen",
			ENASupport:                   "required",
			EFASupported:                 info.EFAs > 0,
			MaximumEFAInterfaces:         info.EFAs,
			EncryptionInTransitSupported: info.EncryptionInTransit,
		},
		PlacementStrategies:           []string{"cluster", "partition", "spread"},
		BurstablePerformanceSupported: info.Category == "t",
		AutoRecoverySupported:         info.LocalNVMeGB == 0,
		DedicatedHostsSupported:       true,
		NitroEnclavesSupport:          "unsupported",
		NitroTPMSupport:               "unsupported",
		PHCSupport:                    "unsupported",
	}
	out.NetworkInfo.NetworkCards = []networkCardXML{{
		NetworkPerformance: out.NetworkInfo.NetworkPerformance, MaximumNetworkInterfaces: info.ENIs,
		BaselineBandwidthInGbps: float64(info.NetworkBandwidthMbps) / 1000, PeakBandwidthInGbps: float64(info.NetworkBandwidthMbps) / 1000,
	}}
	if info.Hypervisor == "nitro" {
		out.NitroEnclavesSupport, out.NitroTPMSupport, out.PHCSupport = "supported", "supported", "supported"
		out.TPMVersions = []string{"2.0"}
	}
	if info.Hypervisor == "xen" {
		out.EBSInfo.NVMeSupport = "unsupported"
		out.NetworkInfo.ENASupport = "supported"
	}
	if info.EBS.MaxAttachments > 0 {
		out.EBSInfo.MaximumEBSAttachments = info.EBS.MaxAttachments
		out.EBSInfo.AttachmentLimitType = "shared"
		if info.EBS.Dedicated {
			out.EBSInfo.AttachmentLimitType = "dedicated"
		}
	}
	if info.EBSBandwidthMbps > 0 {
		out.EBSInfo.EBSOptimizedSupport = "default"
		out.EBSInfo.EBSOptimizedInfo = &ebsOptimizedInfoXML{BaselineBandwidthInMbps: info.EBSBandwidthMbps, MaximumBandwidthInMbps: info.EBSBandwidthMbps}
	}
	if info.LocalNVMeGB > 0 {
		out.InstanceStorageSupported = true
		out.InstanceStorageInfo = &instanceStorageXML{
			TotalSizeInGB: info.LocalNVMeGB, Disks: []diskXML{{SizeInGB: info.LocalNVMeGB, Count: 1, Type: "ssd"}},
			NVMeSupport: "required", EncryptionSupport: "required",
		}
	}
	if info.GPUName != "" {
		out.GPUInfo = &gpuInfoXML{
			GPUs: []acceleratorXML{{
				Name: strings.ToUpper(strings.ReplaceAll(info.GPUName, "-", " ")), Manufacturer: manufacturerName(info.GPUManufacturer),
				Count: info.GPUCount, MemoryInMiB: info.GPUMemoryMiB,
			}},
			TotalGPUMemoryInMiB: int64(max(info.GPUCount, 1)) * info.GPUMemoryMiB,
		}
	}
	switch {
	case info.NeuronDevices > 0:
		out.NeuronInfo = &neuronInfoXML{NeuronDevices: []neuronDeviceXML{{
			Name: titleWords(info.AcceleratorName), Count: info.NeuronDevices,
			CoreCount: info.NeuronCores / info.NeuronDevices, Version: neuronCoreVersion(info.AcceleratorName),
		}}}
	case info.AcceleratorName != "":
		out.InferenceAcceleratorInfo = &inferenceInfoXML{Accelerators: []acceleratorXML{{
			Name: titleWords(info.AcceleratorName), Manufacturer: manufacturerName(info.AcceleratorManufacturer), Count: info.AcceleratorCount,
		}}}
	}
	return out
}

func manufacturerName(m string) string {
	switch m {
	case "intel":
		return "Intel"
	case "amd":
		return "AMD"
	case "aws":
		return "AWS"
	case "nvidia":
		return "NVIDIA"
	}
	return titleWords(m)
}

// titleWords turns a dashed label value into capitalized words: qualcomm-ai100 → Qualcomm Ai100.
func titleWords(s string) string {
	words := strings.Split(s, "-")
	for i, w := range words {
		if w != "" {
			words[i] = strings.ToUpper(w[:1]) + w[1:]
		}
	}
	return strings.Join(words, " ")
}

// neuronCoreVersion is the NeuronCore generation of an accelerator.
func neuronCoreVersion(accelerator string) int32 {
	switch accelerator {
	case "inferentia":
		return 1
	case "inferentia2", "trainium":
		return 2
	}
	return 3
}

// networkPerformance is EC2's description of a bandwidth.
func networkPerformance(mbps int32) string {
	switch {
	case mbps <= 0:
		return "Moderate"
	case mbps < 1000:
		return fmt.Sprintf("%d Megabit", mbps)
	default:
		return strconv.FormatFloat(float64(mbps)/1000, 'f', -1, 64) + " Gigabit"
	}
}

func instanceTypeAttributes(t instanceTypeXML) attributes {
	return func(name string) ([]string, bool) {
		one := func(v string) ([]string, bool) { return []string{v}, true }
		switch name {
		case "instance-type":
			return one(t.InstanceType)
		case "current-generation":
			return one(strconv.FormatBool(t.CurrentGeneration))
		case "free-tier-eligible":
			return one(strconv.FormatBool(t.FreeTierEligible))
		case "bare-metal":
			return one(strconv.FormatBool(t.BareMetal))
		case "hypervisor":
			return one(t.Hypervisor)
		case "burstable-performance-supported":
			return one(strconv.FormatBool(t.BurstablePerformanceSupported))
		case "processor-info.supported-architecture":
			return t.ProcessorInfo.SupportedArchitectures, true
		case "processor-info.manufacturer":
			return one(t.ProcessorInfo.Manufacturer)
		case "supported-virtualization-type":
			return t.SupportedVirtualizationTypes, true
		case "supported-usage-class":
			return t.SupportedUsageClasses, true
		case "supported-root-device-type":
			return t.SupportedRootDeviceTypes, true
		case "vcpu-info.default-vcpus":
			return one(strconv.Itoa(int(t.VCPUInfo.DefaultVCPUs)))
		case "memory-info.size-in-mib":
			return one(strconv.FormatInt(t.MemorySizeInMiB, 10))
		case "instance-storage-supported":
			return one(strconv.FormatBool(t.InstanceStorageSupported))
		case "network-info.efa-supported":
			return one(strconv.FormatBool(t.NetworkInfo.EFASupported))
		case "network-info.encryption-in-transit-supported":
			return one(strconv.FormatBool(t.NetworkInfo.EncryptionInTransitSupported))
		}
		return nil, false
	}
}

type instanceTypeOfferingXML struct {
	InstanceType string `xml:"instanceType"`
	LocationType string `xml:"locationType"`
	Location     string `xml:"location"`
}

type describeInstanceTypeOfferingsResponse struct {
	ec2Meta
	Offerings []instanceTypeOfferingXML `xml:"instanceTypeOfferingSet>item"`
	NextToken string                    `xml:"nextToken,omitempty"`
}

// describeInstanceTypeOfferings lists every type in every zone (or once for
// the region), except the pools a NotOffered fault takes away.
func (e *ec2API) describeInstanceTypeOfferings(_ context.Context, p params) (ec2Body, error) {
	filters, err := readFilters(p)
	if err != nil {
		return nil, err
	}
	locationType := or(p.String("LocationType"), "region")
	switch locationType {
	case "region", "availability-zone", "availability-zone-id":
	default:
		return nil, errInvalidParameterValue("LocationType", locationType, "Expecting region, availability-zone or availability-zone-id.")
	}
	s := e.sim
	var matched []instanceTypeOfferingXML
	for _, t := range s.world.typeNames {
		var locations []string
		for _, z := range zones {
			if s.faults.notOffered(t, z.Name) {
				continue
			}
			switch locationType {
			case "availability-zone":
				locations = append(locations, z.Name)
			case "availability-zone-id":
				locations = append(locations, z.ID)
			default:
				locations = []string{Region}
			}
		}
		for _, loc := range locations {
			item := instanceTypeOfferingXML{InstanceType: t, LocationType: locationType, Location: loc}
			ok, err := matchFilters(filters, func(name string) ([]string, bool) {
				switch name {
				case "instance-type":
					return []string{t}, true
				case "location":
					return []string{loc}, true
				}
				return nil, false
			})
			if err != nil {
				return nil, err
			}
			if ok {
				matched = append(matched, item)
			}
		}
	}
	page, next, err := paginateEC2(matched, func(o instanceTypeOfferingXML) string { return o.InstanceType + "|" + o.Location }, p,
		pageLimits{min: 5, max: 1000, fallback: 1000})
	if err != nil {
		return nil, err
	}
	return &describeInstanceTypeOfferingsResponse{Offerings: page, NextToken: next}, nil
}
