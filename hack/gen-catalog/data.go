package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/tailor-project/tailor/apis/wellknown"
)

// instanceType is one element of instance-types.json.
type instanceType struct {
	Name              string            `json:"name"`
	Labels            map[string]string `json:"labels"`
	EKSMaxPods        int32             `json:"eksMaxPods"`
	ExtendedResources map[string]string `json:"extendedResources"`
	VPC               *vpcLimits        `json:"vpc"`
	OnDemandUSD       *float64          `json:"onDemandUSD"`
}

// vpcLimits are the VPC CNI's ENI limits of a type, summed over its network cards.
type vpcLimits struct {
	BareMetal          bool   `json:"bareMetal"`
	BranchInterfaces   int32  `json:"branchInterfaces"`
	Hypervisor         string `json:"hypervisor"`
	Interfaces         int32  `json:"interfaces"`
	IPv4PerInterface   int32  `json:"ipv4PerInterface"`
	TrunkingCompatible bool   `json:"trunkingCompatible"`
}

// priceFile is prices-<region>.json.
type priceFile struct {
	Region   string             `json:"region"`
	Currency string             `json:"currency"`
	Unit     string             `json:"unit"`
	Prices   map[string]float64 `json:"prices"`
}

// info mirrors catalog.Info field for field; render writes its non-zero
// fields as a catalog.Info literal, so a renamed field fails the build of the
// generated file instead of silently dropping a fact.
type info struct {
	Name                    string
	Arch                    string
	Category                string
	Family                  string
	Generation              string
	Size                    string
	CPUManufacturer         string
	SustainedClockSpeedMHz  int32
	VCPU                    int32
	MemoryMiB               int64
	Hypervisor              string
	NetworkBandwidthMbps    int32
	EBSBandwidthMbps        int32
	EncryptionInTransit     bool
	CapabilityFlex          bool
	GPUName                 string
	GPUManufacturer         string
	GPUCount                int32
	GPUMemoryMiB            int64
	AcceleratorName         string
	AcceleratorManufacturer string
	AcceleratorCount        int32
	NeuronDevices           int32
	NeuronCores             int32
	EFAs                    int32
	LocalNVMeGB             int64
	ENIs                    int32
	IPv4PerENI              int32
	MaxPods                 int32
	EBS                     EBSAttachments
}

// typeRow is one row of the generated table.
type typeRow struct {
	Info        info
	OnDemandUSD float64
}

// priceRow is a price for a type the facts do not describe (older
// generations EC2 still sells), kept so that the AWS catalog's fallback can
// price them.
type priceRow struct {
	Name        string
	OnDemandUSD float64
}

type table struct {
	Types     []typeRow
	PriceOnly []priceRow
}

// extended resources a type may advertise, and whether the table keeps them.
// Pod ENIs need the VPC resource controller's security-groups-for-pods mode,
// which Tailor does not assume.
var knownExtendedResources = map[string]bool{
	"nvidia.com/gpu":            true,
	"amd.com/gpu":               true,
	"aws.amazon.com/neuron":     true,
	"aws.amazon.com/neuroncore": true,
	"vpc.amazonaws.com/efa":     true,
	"vpc.amazonaws.com/pod-eni": false,
}

// gpuResources names the device-plugin resource of each GPU manufacturer.
var gpuResources = map[string]string{
	"nvidia": "nvidia.com/gpu",
	"amd":    "amd.com/gpu",
}

func readInstanceTypes(path string) ([]instanceType, error) {
	var types []instanceType
	if err := decodeStrict(path, &types); err != nil {
		return nil, err
	}
	if len(types) == 0 {
		return nil, fmt.Errorf("%s: no instance types", path)
	}
	return types, nil
}

func readPrices(path, region string) (map[string]float64, error) {
	var f priceFile
	if err := decodeStrict(path, &f); err != nil {
		return nil, err
	}
	if f.Region != region || f.Currency != "USD" {
		return nil, fmt.Errorf("%s: prices are for region %q in %q, want %q in USD", path, f.Region, f.Currency, region)
	}
	return f.Prices, nil
}

// decodeStrict refuses unknown fields, so that a data update that adds a fact
// is noticed here rather than dropped.
func decodeStrict(path string, v any) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("decoding %s: %w", path, err)
	}
	return nil
}

func buildTable(types []instanceType, prices map[string]float64) (*table, error) {
	t := &table{}
	seen := map[string]bool{}
	for i := range types {
		it := &types[i]
		if seen[it.Name] {
			return nil, fmt.Errorf("instance type %s is listed twice", it.Name)
		}
		seen[it.Name] = true
		row, err := buildRow(it, prices)
		if err != nil {
			return nil, fmt.Errorf("instance type %s: %w", it.Name, err)
		}
		t.Types = append(t.Types, row)
	}
	for name, price := range prices {
		if !seen[name] {
			t.PriceOnly = append(t.PriceOnly, priceRow{Name: name, OnDemandUSD: price})
		}
	}
	sort.Slice(t.Types, func(i, j int) bool { return t.Types[i].Info.Name < t.Types[j].Info.Name })
	sort.Slice(t.PriceOnly, func(i, j int) bool { return t.PriceOnly[i].Name < t.PriceOnly[j].Name })
	return t, nil
}

func buildRow(it *instanceType, prices map[string]float64) (typeRow, error) {
	l := labelReader{labels: it.Labels}
	in := info{
		Name:                   it.Name,
		Arch:                   l.string(wellknown.ArchLabel),
		Category:               l.string(wellknown.InstanceCategoryLabel),
		Family:                 l.string(wellknown.InstanceFamilyLabel),
		Generation:             l.string(wellknown.InstanceGenerationLabel),
		Size:                   l.string(wellknown.InstanceSizeLabel),
		CPUManufacturer:        l.string(wellknown.InstanceCPUManufacturerLabel),
		SustainedClockSpeedMHz: int32(l.int(wellknown.InstanceCPUSustainedClockLabel, true)),
		VCPU:                   int32(l.int(wellknown.InstanceCPULabel, true)),
		MemoryMiB:              l.int(wellknown.InstanceMemoryLabel, true),
		Hypervisor:             l.string(wellknown.InstanceHypervisorLabel),
		NetworkBandwidthMbps:   int32(l.int(wellknown.InstanceNetworkBandwidthLabel, false)),
		EBSBandwidthMbps:       int32(l.int(wellknown.InstanceEBSBandwidthLabel, false)),
		EncryptionInTransit:    l.bool(wellknown.InstanceEncryptionInTransitLabel),
		CapabilityFlex:         l.bool(wellknown.InstanceCapacityFlexLabel),
		LocalNVMeGB:            l.int(wellknown.InstanceLocalNVMeLabel, false),
	}
	if _, ok := it.Labels[wellknown.InstanceGPUNameLabel]; ok {
		in.GPUName = l.string(wellknown.InstanceGPUNameLabel)
		in.GPUManufacturer = l.string(wellknown.InstanceGPUManufacturerLabel)
		in.GPUCount = int32(l.int(wellknown.InstanceGPUCountLabel, true))
		in.GPUMemoryMiB = l.int(wellknown.InstanceGPUMemoryLabel, true)
	}
	if _, ok := it.Labels[wellknown.InstanceAcceleratorNameLabel]; ok {
		in.AcceleratorName = l.string(wellknown.InstanceAcceleratorNameLabel)
		in.AcceleratorManufacturer = l.string(wellknown.InstanceAcceleratorManufacturer)
		in.AcceleratorCount = int32(l.int(wellknown.InstanceAcceleratorCountLabel, true))
	}
	if err := l.check(it.Name); err != nil {
		return typeRow{}, err
	}
	if err := checkName(&in); err != nil {
		return typeRow{}, err
	}
	if err := setExtendedResources(&in, it.ExtendedResources); err != nil {
		return typeRow{}, err
	}
	if err := setENILimits(&in, it); err != nil {
		return typeRow{}, err
	}
	row := typeRow{Info: in}
	price, listed := prices[it.Name]
	switch {
	case listed && it.OnDemandUSD != nil && *it.OnDemandUSD != price:
		return typeRow{}, fmt.Errorf("on-demand price %v in instance-types.json, %v in the price file", *it.OnDemandUSD, price)
	case listed:
		row.OnDemandUSD = price
	case it.OnDemandUSD != nil:
		row.OnDemandUSD = *it.OnDemandUSD
	}
	return row, nil
}

// checkName holds the labels that repeat the name to it: family.size.
func checkName(in *info) error {
	family, size, ok := strings.Cut(in.Name, ".")
	if !ok || family != in.Family || size != in.Size {
		return fmt.Errorf("family %q and size %q do not spell the name", in.Family, in.Size)
	}
	if !strings.HasPrefix(family, in.Category) {
		return fmt.Errorf("family %q does not start with category %q", family, in.Category)
	}
	if _, err := strconv.ParseUint(in.Generation, 10, 8); err != nil {
		return fmt.Errorf("generation %q is not a small integer", in.Generation)
	}
	if in.Arch != wellknown.ArchAMD64 && in.Arch != wellknown.ArchARM64 {
		return fmt.Errorf("architecture %q is neither amd64 nor arm64", in.Arch)
	}
	return nil
}

func setExtendedResources(in *info, resources map[string]string) error {
	counts := map[string]int32{}
	for name, value := range resources {
		keep, known := knownExtendedResources[name]
		if !known {
			return fmt.Errorf("unknown extended resource %s", name)
		}
		n, err := strconv.ParseInt(value, 10, 32)
		if err != nil || n <= 0 {
			return fmt.Errorf("extended resource %s: %q is not a positive count", name, value)
		}
		if keep {
			counts[name] = int32(n)
		}
	}
	if in.GPUCount > 0 {
		resource, ok := gpuResources[in.GPUManufacturer]
		if !ok {
			return fmt.Errorf("no device-plugin resource is known for %s GPUs", in.GPUManufacturer)
		}
		if counts[resource] != in.GPUCount {
			return fmt.Errorf("%d GPUs in the labels, %d %s", in.GPUCount, counts[resource], resource)
		}
	}
	for _, resource := range gpuResources {
		if counts[resource] > 0 && counts[resource] != in.GPUCount {
			return fmt.Errorf("%d %s without matching GPU labels", counts[resource], resource)
		}
	}
	in.NeuronDevices = counts["aws.amazon.com/neuron"]
	in.NeuronCores = counts["aws.amazon.com/neuroncore"]
	in.EFAs = counts["vpc.amazonaws.com/efa"]
	return nil
}

// setENILimits records the ENI limits of the default network card. The data
// sums interfaces over all cards; on types with several cards EKS's pod limit
// shows that only the default card serves pods, and the card's interface
// count is read back from that limit. A limit the formula cannot produce is
// an error. Types without ENI data keep EKS's limit alone.
func setENILimits(in *info, it *instanceType) error {
	if it.EKSMaxPods <= 0 {
		return fmt.Errorf("eksMaxPods %d is not positive", it.EKSMaxPods)
	}
	in.MaxPods = it.EKSMaxPods
	if it.VPC == nil {
		return nil
	}
	ips := it.VPC.IPv4PerInterface
	if ips < 2 || it.VPC.Interfaces < 1 {
		return fmt.Errorf("ENI limits %d x %d cannot host pods", it.VPC.Interfaces, ips)
	}
	enis := it.VPC.Interfaces
	if enis*(ips-1)+2 != it.EKSMaxPods {
		if (it.EKSMaxPods-2)%(ips-1) != 0 || (it.EKSMaxPods-2)/(ips-1) > enis {
			return fmt.Errorf("eksMaxPods %d is not ENIs x (%d - 1) + 2 for any ENI count up to %d", it.EKSMaxPods, ips, enis)
		}
		enis = (it.EKSMaxPods - 2) / (ips - 1)
	}
	in.ENIs, in.IPv4PerENI = enis, ips
	return nil
}

// labelReader reads well-known labels and remembers which it read, so that a
// label the generator does not understand is reported rather than dropped.
type labelReader struct {
	labels map[string]string
	read   map[string]bool
	err    error
}

func (l *labelReader) lookup(key string) (string, bool) {
	if l.read == nil {
		l.read = map[string]bool{}
	}
	l.read[key] = true
	v, ok := l.labels[key]
	return v, ok
}

func (l *labelReader) fail(format string, args ...any) {
	if l.err == nil {
		l.err = fmt.Errorf(format, args...)
	}
}

func (l *labelReader) string(key string) string {
	v, ok := l.lookup(key)
	if !ok {
		l.fail("label %s is missing", key)
	}
	return v
}

// int reads an integer label. An optional label that is absent reads as 0;
// present, it must be positive, since 0 is how the table says absent.
func (l *labelReader) int(key string, required bool) int64 {
	v, ok := l.lookup(key)
	if !ok {
		if required {
			l.fail("label %s is missing", key)
		}
		return 0
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 || (!required && n == 0) {
		l.fail("label %s: %q is not a valid count", key, v)
	}
	return n
}

func (l *labelReader) bool(key string) bool {
	v := l.string(key)
	b, err := strconv.ParseBool(v)
	if err != nil {
		l.fail("label %s: %q is not a boolean", key, v)
	}
	return b
}

// check reports the first malformed label, then any label that was not read:
// the instance-type and OS labels are checked here, everything else must have
// been read into a field.
func (l *labelReader) check(name string) error {
	if l.err != nil {
		return l.err
	}
	if v := l.string(wellknown.InstanceTypeLabel); v != name {
		return fmt.Errorf("label %s is %q", wellknown.InstanceTypeLabel, v)
	}
	if v := l.string(wellknown.OSLabel); v != wellknown.OSLinux {
		return fmt.Errorf("label %s is %q; the table describes Linux nodes", wellknown.OSLabel, v)
	}
	for key := range l.labels {
		if !l.read[key] {
			return fmt.Errorf("label %s is not known to the generator", key)
		}
	}
	return l.err
}
