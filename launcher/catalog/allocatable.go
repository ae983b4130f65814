package catalog

import (
	"math"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/tailor-project/tailor/apis/wellknown"
)

const mebibyte = 1 << 20

// kubeReservedCPUTiers is EKS's kube-reserved CPU: a share of each core that
// shrinks as cores are added, in basis points of a millicore, applied to the
// millicores inside each tier with integer arithmetic as the EKS AMIs do.
var kubeReservedCPUTiers = []struct {
	fromMilli, toMilli int64
	basisPoints        int64
}{
	{0, 1000, 600},                // 6% of the first core
	{1000, 2000, 100},             // 1% of the second
	{2000, 4000, 50},              // 0.5% of the third and fourth
	{4000, math.MaxInt64 / 4, 25}, // 0.25% of every other
}

// EKS's kube-reserved memory: enough for kubelet and the runtime to track
// each pod, plus a fixed base.
const (
	kubeReservedMiBPerPod = 11
	kubeReservedMiBBase   = 255
)

// kubeReservedEphemeralStorage is what EKS AMIs reserve on the root volume
// for kubelet and the runtime.
var kubeReservedEphemeralStorage = resource.MustParse("1Gi")

// resources computes what kubelet will report for a node of the type: its
// capacity, the overhead held back, and allocatable, the difference.
func resources(info *Info, s *nodeSettings, vmMemoryOverhead float64) (capacity corev1.ResourceList, overhead Overhead, allocatable corev1.ResourceList) {
	pods := maxPods(info, s)
	capacity = corev1.ResourceList{
		corev1.ResourceCPU:              *resource.NewQuantity(int64(info.VCPU), resource.DecimalSI),
		corev1.ResourceMemory:           *resource.NewQuantity(memoryCapacityMiB(info.MemoryMiB, vmMemoryOverhead)*mebibyte, resource.BinarySI),
		corev1.ResourcePods:             *resource.NewQuantity(pods, resource.DecimalSI),
		corev1.ResourceEphemeralStorage: ephemeralStorage(info, s),
	}
	addCount(capacity, gpuResource(info.GPUManufacturer), info.GPUCount)
	addCount(capacity, wellknown.ResourceAWSNeuron, info.NeuronDevices)
	addCount(capacity, wellknown.ResourceAWSNeuronCore, info.NeuronCores)
	addCount(capacity, wellknown.ResourceEFA, info.EFAs)

	overhead = Overhead{
		KubeReserved:      kubeReserved(info, pods, s),
		SystemReserved:    s.systemReserved,
		EvictionThreshold: evictionThreshold(capacity, s),
	}
	allocatable = subtract(capacity, overhead.Total())
	return capacity, overhead, allocatable
}

// maxPods is the pods kubelet admits: the ENI limit (on Windows, the
// primary interface's addresses) unless kubelet.maxPods replaces it, capped
// by kubelet.podsPerCore when that is set.
func maxPods(info *Info, s *nodeSettings) int64 {
	pods := int64(info.MaxPods)
	if s.family.os.name == wellknown.OSWindows {
		pods = int64(WindowsMaxPods(info.IPv4PerENI))
	}
	if s.maxPods != nil {
		pods = int64(*s.maxPods)
	}
	if s.podsPerCore != nil && *s.podsPerCore > 0 {
		pods = min(pods, int64(*s.podsPerCore)*int64(info.VCPU))
	}
	return pods
}

// memoryCapacityMiB is the memory the guest sees: what EC2 sells less what
// the hypervisor and firmware keep, a fraction that is a setting because it
// varies by type and AMI.
func memoryCapacityMiB(memoryMiB int64, vmMemoryOverhead float64) int64 {
	return memoryMiB - int64(math.Ceil(float64(memoryMiB)*vmMemoryOverhead))
}

// ephemeralStorage is the node's ephemeral-storage capacity: the node class's
// ephemeral volume, or with the RAID0 instance-store policy the local NVMe
// disks of the types that have them.
func ephemeralStorage(info *Info, s *nodeSettings) resource.Quantity {
	if s.raid0 && info.LocalNVMeGB > 0 {
		return *resource.NewScaledQuantity(info.LocalNVMeGB, resource.Giga)
	}
	return s.ephemeralStorage.DeepCopy()
}

// kubeReserved is EKS's formula for the type and its pod limit, with the
// resources the class's kubelet.kubeReserved names replaced by its values.
func kubeReserved(info *Info, pods int64, s *nodeSettings) corev1.ResourceList {
	reserved := corev1.ResourceList{
		corev1.ResourceCPU:              *resource.NewMilliQuantity(kubeReservedMilliCPU(int64(info.VCPU)*1000), resource.DecimalSI),
		corev1.ResourceMemory:           *resource.NewQuantity((kubeReservedMiBPerPod*pods+kubeReservedMiBBase)*mebibyte, resource.BinarySI),
		corev1.ResourceEphemeralStorage: kubeReservedEphemeralStorage.DeepCopy(),
	}
	for name, q := range s.kubeReserved {
		reserved[name] = q.DeepCopy()
	}
	return reserved
}

// kubeReservedMilliCPU applies kubeReservedCPUTiers to a node's millicores.
func kubeReservedMilliCPU(milli int64) int64 {
	var reserved int64
	for _, tier := range kubeReservedCPUTiers {
		if milli <= tier.fromMilli {
			break
		}
		reserved += (min(milli, tier.toMilli) - tier.fromMilli) * tier.basisPoints / 10000
	}
	return reserved
}

// evictionThreshold is the memory and root file system that kubelet keeps
// free by evicting pods, so pods cannot have it either.
func evictionThreshold(capacity corev1.ResourceList, s *nodeSettings) corev1.ResourceList {
	return corev1.ResourceList{
		corev1.ResourceMemory:           s.memoryEviction.of(capacity[corev1.ResourceMemory]),
		corev1.ResourceEphemeralStorage: s.nodefsEviction.of(capacity[corev1.ResourceEphemeralStorage]),
	}
}

// gpuResource names the device-plugin resource of a GPU manufacturer; empty
// when no plugin is known.
func gpuResource(manufacturer string) corev1.ResourceName {
	switch manufacturer {
	case "nvidia":
		return wellknown.ResourceNVIDIAGPU
	case "amd":
		return wellknown.ResourceAMDGPU
	}
	return ""
}

func addCount(list corev1.ResourceList, name corev1.ResourceName, n int32) {
	if name != "" && n > 0 {
		list[name] = *resource.NewQuantity(int64(n), resource.DecimalSI)
	}
}

// subtract returns a - b for the resources of a, never below zero: a node
// whose overhead exceeds its capacity has nothing for pods.
func subtract(a, b corev1.ResourceList) corev1.ResourceList {
	out := make(corev1.ResourceList, len(a))
	for name, q := range a {
		left := q.DeepCopy()
		if sub, ok := b[name]; ok {
			left.Sub(sub)
		}
		if left.Sign() < 0 {
			left = *resource.NewQuantity(0, q.Format)
		}
		out[name] = left
	}
	return out
}
