package ec2sim

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/launcher/catalog"
)

// KwokNodeAnnotation marks the Nodes that kwok keeps Ready and whose pods it
// runs; every Node the simulator registers carries it with the value "fake".
const KwokNodeAnnotation = "kwok.x-k8s.io/node"

// kubelet's hard eviction thresholds when the user data sets none.
var defaultEvictionHard = map[string]string{"memory.available": "100Mi", "nodefs.available": "10%"}

// The EKS AMIs' kube-reserved when the user data sets none: a share of each
// core that shrinks as cores are added (in hundredths of a percent), memory
// per pod plus a base, and a fixed slice of the root volume.
var eksReservedCPUTiers = []struct {
	upToMilli   int64
	basisPoints int64
}{{1000, 600}, {2000, 100}, {4000, 50}, {math.MaxInt64, 25}}

const (
	eksReservedMiBPerPod = 11
	eksReservedMiBBase   = 255
)

// windowsBuilds are the node.kubernetes.io/windows-build of each Windows Server.
var windowsBuilds = map[string]string{"2019": "10.0.17763", "2022": "10.0.20348", "2025": "10.0.26100"}

// nodeForLocked is the Node a kubelet on the instance registers, labelled as
// kubelet and the AWS cloud controller label it, with the labels, taints and
// reservations of its user data.
func (s *Simulator) nodeForLocked(inst *instance) *corev1.Node {
	cfg := inst.boot
	name := inst.privateDNSName()
	os := wellknown.OSLinux
	if inst.Image.Windows {
		os = wellknown.OSWindows
	}
	labels := map[string]string{}
	for k, v := range cfg.Labels {
		labels[k] = v
	}
	// What kubelet and the cloud controller set wins over --node-labels.
	for k, v := range map[string]string{
		wellknown.ArchLabel:           inst.Image.kubernetesArch(),
		wellknown.OSLabel:             os,
		"beta.kubernetes.io/arch":     inst.Image.kubernetesArch(),
		"beta.kubernetes.io/os":       os,
		wellknown.HostnameLabel:       name,
		wellknown.InstanceTypeLabel:   inst.Type.Name,
		wellknown.ZoneLabel:           inst.Zone.Name,
		wellknown.RegionLabel:         Region,
		wellknown.TopologyZoneIDLabel: inst.Zone.ID,
	} {
		labels[k] = v
	}
	if inst.Image.Windows {
		for server, build := range windowsBuilds {
			if strings.Contains(inst.Image.Name, "Windows_Server-"+server) {
				labels[wellknown.WindowsBuildLabel] = build
			}
		}
	}
	capacity, allocatable := s.nodeResources(inst)
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Labels:      labels,
			Annotations: map[string]string{KwokNodeAnnotation: "fake"},
		},
		Spec: corev1.NodeSpec{
			ProviderID: inst.providerID(),
			Taints:     append([]corev1.Taint(nil), cfg.Taints...),
		},
		Status: corev1.NodeStatus{
			Capacity:    capacity,
			Allocatable: allocatable,
			Addresses: []corev1.NodeAddress{
				{Type: corev1.NodeInternalIP, Address: inst.PrivateIP.String()},
				{Type: corev1.NodeInternalDNS, Address: name},
				{Type: corev1.NodeHostName, Address: name},
			},
			NodeInfo: corev1.NodeSystemInfo{
				Architecture:            inst.Image.kubernetesArch(),
				OperatingSystem:         os,
				OSImage:                 inst.Image.Name,
				KubeletVersion:          fmt.Sprintf("v%s.0-eks-ec2sim", inst.Image.KubernetesVersion),
				ContainerRuntimeVersion: "containerd://1.7.27",
				MachineID:               strings.ReplaceAll(inst.ID, "-", ""),
				SystemUUID:              stableID("ec2", inst.ID),
			},
		},
	}
}

// nodeResources computes what kubelet reports: capacity from the instance
// type (memory less the hypervisor's share, pods from the user data or the
// ENI limit, kubelet's default on Windows, ephemeral storage from the volume
// kubelet's state lives on), and allocatable as capacity minus
// kube-reserved, system-reserved and the hard eviction thresholds.
func (s *Simulator) nodeResources(inst *instance) (capacity, allocatable corev1.ResourceList) {
	cfg, info := inst.boot, inst.Type
	pods := int64(catalog.ENILimitedPods(info.ENIs, info.IPv4PerENI))
	if info.ENIs == 0 || inst.Image.Windows {
		// The EKS Windows AMI computes no limit: kubelet keeps its own
		// unless the user data passes --max-pods.
		pods = kubeletDefaultMaxPods
	}
	if cfg.MaxPods != nil {
		pods = *cfg.MaxPods
	}
	memKi := info.MemoryMiB * 1024
	memKi -= int64(math.Ceil(float64(memKi) * s.opts.HypervisorMemoryFraction))
	capacity = corev1.ResourceList{
		corev1.ResourceCPU:              *resource.NewQuantity(int64(info.VCPU), resource.DecimalSI),
		corev1.ResourceMemory:           *resource.NewQuantity(memKi*1024, resource.BinarySI),
		corev1.ResourcePods:             *resource.NewQuantity(pods, resource.DecimalSI),
		corev1.ResourceEphemeralStorage: ephemeralStorage(inst),
		"hugepages-1Gi":                 *resource.NewQuantity(0, resource.DecimalSI),
		"hugepages-2Mi":                 *resource.NewQuantity(0, resource.DecimalSI),
	}
	addDevices(capacity, info, inst.Image, inst.EFAs)

	reserved := corev1.ResourceList{}
	kube := cfg.KubeReserved
	if len(kube) == 0 {
		kube = eksKubeReserved(info, pods)
	}
	for _, list := range []corev1.ResourceList{kube, cfg.SystemReserved} {
		for name, q := range list {
			sum := reserved[name]
			sum.Add(q)
			reserved[name] = sum
		}
	}
	eviction := cfg.EvictionHard
	if len(eviction) == 0 {
		eviction = defaultEvictionHard
	}
	for signal, res := range map[string]corev1.ResourceName{"memory.available": corev1.ResourceMemory, "nodefs.available": corev1.ResourceEphemeralStorage} {
		if v, ok := eviction[signal]; ok {
			sum := reserved[res]
			sum.Add(threshold(v, capacity[res]))
			reserved[res] = sum
		}
	}
	allocatable = corev1.ResourceList{}
	for name, q := range capacity {
		left := q.DeepCopy()
		if r, ok := reserved[name]; ok {
			left.Sub(r)
		}
		if left.Sign() < 0 {
			left = *resource.NewQuantity(0, q.Format)
		}
		allocatable[name] = left
	}
	return capacity, allocatable
}

// threshold is an eviction threshold as a quantity: a percentage of capacity
// (rounded up, as kubelet does) or a quantity.
func threshold(v string, capacity resource.Quantity) resource.Quantity {
	if pct, ok := strings.CutSuffix(v, "%"); ok {
		f, _ := strconv.ParseFloat(pct, 64)
		return *resource.NewQuantity(int64(math.Ceil(float64(capacity.Value())*f/100)), capacity.Format)
	}
	q, _ := resource.ParseQuantity(v)
	return q
}

// eksKubeReserved is what the EKS AMIs reserve for kubelet and the runtime
// when the user data does not say.
func eksKubeReserved(info *catalog.Info, pods int64) corev1.ResourceList {
	var milli, from int64
	cores := int64(info.VCPU) * 1000
	for _, tier := range eksReservedCPUTiers {
		if cores <= from {
			break
		}
		milli += (min(cores, tier.upToMilli) - from) * tier.basisPoints / 10000
		from = tier.upToMilli
	}
	return corev1.ResourceList{
		corev1.ResourceCPU:              *resource.NewMilliQuantity(milli, resource.DecimalSI),
		corev1.ResourceMemory:           *resource.NewQuantity((eksReservedMiBPerPod*pods+eksReservedMiBBase)<<20, resource.BinarySI),
		corev1.ResourceEphemeralStorage: resource.MustParse("1Gi"),
	}
}

// ephemeralStorage is the size of the file system kubelet's root directory
// is on: the instance-store array when the bootstrap made one of the type's
// NVMe disks, else the volume.
func ephemeralStorage(inst *instance) resource.Quantity {
	if inst.boot.RAID0 && inst.Type.LocalNVMeGB > 0 {
		return *resource.NewScaledQuantity(inst.Type.LocalNVMeGB, resource.Giga)
	}
	return *resource.NewQuantity(kubeletVolumeGiB(inst)<<30, resource.BinarySI)
}

// kubeletVolumeGiB is the size of the volume kubelet's root directory lives
// on: Bottlerocket's data volume, else the root volume.
func kubeletVolumeGiB(inst *instance) int64 {
	device := inst.Image.RootDevice
	if inst.Image.DataDevice != "" {
		device = inst.Image.DataDevice
	}
	for _, d := range inst.BlockDevices {
		if d.DeviceName == device && d.VolumeSizeGiB > 0 {
			return d.VolumeSizeGiB
		}
	}
	for _, d := range defaultBlockDevices(inst.Image) {
		if d.DeviceName == device {
			return d.VolumeSizeGiB
		}
	}
	return 20
}

// addDevices adds the extended resources the type's device plugins
// advertise: NVIDIA GPUs and Neuron devices and cores when the image has
// their drivers, AMD GPUs, and the EFA interfaces the launch attached (a
// type's adapters exist only as interfaces a launch asks for).
func addDevices(list corev1.ResourceList, info *catalog.Info, img *image, efas int32) {
	add := func(name corev1.ResourceName, n int32) {
		if n > 0 {
			list[name] = *resource.NewQuantity(int64(n), resource.DecimalSI)
		}
	}
	switch {
	case info.GPUManufacturer == "nvidia" && img.NVIDIA:
		add(wellknown.ResourceNVIDIAGPU, info.GPUCount)
	case info.GPUManufacturer == "amd":
		add(wellknown.ResourceAMDGPU, info.GPUCount)
	}
	if img.Neuron {
		add(wellknown.ResourceAWSNeuron, info.NeuronDevices)
		add(wellknown.ResourceAWSNeuronCore, info.NeuronCores)
	}
	add(wellknown.ResourceEFA, efas)
}
