package catalog

import (
	"fmt"
	"maps"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
)

// AMI families, the values of EC2NodeClass spec.amiFamily.
const (
	AMIFamilyAL2          = "AL2"
	AMIFamilyAL2023       = "AL2023"
	AMIFamilyBottlerocket = "Bottlerocket"
	AMIFamilyCustom       = "Custom"
	AMIFamilyWindows2019  = "Windows2019"
	AMIFamilyWindows2022  = "Windows2022"
	AMIFamilyWindows2025  = "Windows2025"
)

// DefaultAMIFamily is the family of a node class that names none, and of the
// defaults used when a NodePool's class is not known.
const DefaultAMIFamily = AMIFamilyAL2023

// amiFamily is what the catalog needs to know about an AMI family: the
// device kubelet's ephemeral storage lives on, its size when the class does
// not map that device, and the operating system the nodes run.
type amiFamily struct {
	ephemeralDevice string
	ephemeralSize   resource.Quantity
	os              osInfo
}

// osInfo is the operating system of a node: the kubernetes.io/os label and,
// on Windows, node.kubernetes.io/windows-build.
type osInfo struct {
	name         string
	windowsBuild string
}

var linux = osInfo{name: wellknown.OSLinux}

// amiFamilies: AL2 and AL2023 keep everything on the root device; Bottlerocket
// keeps its OS on a small root device and containers on a data volume; Windows
// AMIs boot from /dev/sda1 and need a larger disk. A Custom AMI maps no
// device Tailor knows of, so only a rootVolume mapping sizes its storage.
var amiFamilies = map[string]amiFamily{
	AMIFamilyAL2:          {ephemeralDevice: "/dev/xvda", ephemeralSize: resource.MustParse("20Gi"), os: linux},
	AMIFamilyAL2023:       {ephemeralDevice: "/dev/xvda", ephemeralSize: resource.MustParse("20Gi"), os: linux},
	AMIFamilyBottlerocket: {ephemeralDevice: "/dev/xvdb", ephemeralSize: resource.MustParse("20Gi"), os: linux},
	AMIFamilyCustom:       {ephemeralSize: resource.MustParse("20Gi"), os: linux},
	AMIFamilyWindows2019:  {ephemeralDevice: "/dev/sda1", ephemeralSize: resource.MustParse("50Gi"), os: osInfo{name: wellknown.OSWindows, windowsBuild: "10.0.17763"}},
	AMIFamilyWindows2022:  {ephemeralDevice: "/dev/sda1", ephemeralSize: resource.MustParse("50Gi"), os: osInfo{name: wellknown.OSWindows, windowsBuild: "10.0.20348"}},
	AMIFamilyWindows2025:  {ephemeralDevice: "/dev/sda1", ephemeralSize: resource.MustParse("50Gi"), os: osInfo{name: wellknown.OSWindows, windowsBuild: "10.0.26100"}},
}

// aliasFamilies maps the family part of an AMI alias (al2023@latest) to the family.
var aliasFamilies = map[string]string{
	"al2":          AMIFamilyAL2,
	"al2023":       AMIFamilyAL2023,
	"bottlerocket": AMIFamilyBottlerocket,
	"windows2019":  AMIFamilyWindows2019,
	"windows2022":  AMIFamilyWindows2022,
	"windows2025":  AMIFamilyWindows2025,
}

// nodeSettings are the parts of an EC2NodeClass that shape a node's
// resources, parsed once per class generation.
type nodeSettings struct {
	family amiFamily
	// maxPods and podsPerCore are kubelet's settings; nil when unset.
	maxPods     *int32
	podsPerCore *int32
	// kubeReserved replaces the EKS default of each resource it names.
	kubeReserved   corev1.ResourceList
	systemReserved corev1.ResourceList
	// memoryEviction and nodefsEviction are the larger of the hard and soft
	// thresholds of memory.available and nodefs.available.
	memoryEviction threshold
	nodefsEviction threshold
	// ephemeralStorage is the size of the volume kubelet's root directory
	// lives on.
	ephemeralStorage resource.Quantity
	// raid0 puts ephemeral storage on the instance-store NVMe disks of the
	// types that have them.
	raid0 bool
}

// settingsFor reads a node class. A nil class yields the defaults of
// DefaultAMIFamily with no kubelet settings. Malformed quantities are errors:
// the API server's validation rejects them, but classes read from files have
// not been through it.
func settingsFor(nc *ec2v1.EC2NodeClass) (*nodeSettings, error) {
	family, err := familyOf(nc)
	if err != nil {
		return nil, err
	}
	s := &nodeSettings{family: amiFamilies[family]}
	hard, soft := defaultEvictionHard, map[string]ec2v1.Threshold(nil)
	if nc != nil && nc.Spec.Kubelet != nil {
		kc := nc.Spec.Kubelet
		s.maxPods, s.podsPerCore = kc.MaxPods, kc.PodsPerCore
		if s.kubeReserved, err = reservedList(kc.KubeReserved); err != nil {
			return nil, fmt.Errorf("kubelet.kubeReserved: %w", err)
		}
		if s.systemReserved, err = reservedList(kc.SystemReserved); err != nil {
			return nil, fmt.Errorf("kubelet.systemReserved: %w", err)
		}
		hard = maps.Clone(defaultEvictionHard)
		maps.Copy(hard, kc.EvictionHard)
		soft = kc.EvictionSoft
	}
	if s.memoryEviction, err = largerThreshold(evictionMemory, hard, soft); err != nil {
		return nil, err
	}
	if s.nodefsEviction, err = largerThreshold(evictionNodefs, hard, soft); err != nil {
		return nil, err
	}
	s.ephemeralStorage = ephemeralVolumeSize(nc, s.family)
	// Windows nodes have no bootstrap step that makes the array, so their
	// instance store never holds kubelet's state and is not counted.
	s.raid0 = nc != nil && nc.Spec.InstanceStorePolicy != nil && *nc.Spec.InstanceStorePolicy == ec2v1.InstanceStorePolicyRAID0 &&
		s.family.os.name != wellknown.OSWindows
	return s, nil
}

// familyOf returns the class's AMI family: spec.amiFamily, else the family of
// its alias.
func familyOf(nc *ec2v1.EC2NodeClass) (string, error) {
	if nc == nil {
		return DefaultAMIFamily, nil
	}
	if nc.Spec.AMIFamily != nil {
		if _, ok := amiFamilies[*nc.Spec.AMIFamily]; !ok {
			return "", fmt.Errorf("unknown amiFamily %q", *nc.Spec.AMIFamily)
		}
		return *nc.Spec.AMIFamily, nil
	}
	for _, term := range nc.Spec.AMISelectorTerms {
		if term.Alias == "" {
			continue
		}
		name, _, _ := strings.Cut(term.Alias, "@")
		family, ok := aliasFamilies[name]
		if !ok {
			return "", fmt.Errorf("unknown AMI alias family %q", name)
		}
		return family, nil
	}
	return "", fmt.Errorf("neither amiFamily nor an amiSelectorTerms alias names the AMI family")
}

// ephemeralVolumeSize finds the volume kubelet's ephemeral storage lives on:
// the mapping marked rootVolume, else the one at the family's device, else
// the family's default. A mapping that takes its size from a snapshot has no
// size here, and the default stands for it.
func ephemeralVolumeSize(nc *ec2v1.EC2NodeClass, family amiFamily) resource.Quantity {
	if nc == nil {
		return family.ephemeralSize
	}
	var found *ec2v1.BlockDeviceMapping
	for _, m := range nc.Spec.BlockDeviceMappings {
		if m != nil && m.RootVolume {
			found = m
			break
		}
	}
	if found == nil && family.ephemeralDevice != "" {
		for _, m := range nc.Spec.BlockDeviceMappings {
			if m != nil && m.DeviceName != nil && *m.DeviceName == family.ephemeralDevice {
				found = m
				break
			}
		}
	}
	if found == nil || found.EBS == nil || found.EBS.VolumeSize == nil {
		return family.ephemeralSize
	}
	return found.EBS.VolumeSize.DeepCopy()
}

// reservedList parses a kubeReserved or systemReserved map. The pid key is
// kubelet's and limits process ids, not a resource pods request, so it is
// skipped.
func reservedList(m map[string]ec2v1.Quantity) (corev1.ResourceList, error) {
	if len(m) == 0 {
		return nil, nil
	}
	list := corev1.ResourceList{}
	for name, value := range m {
		switch corev1.ResourceName(name) {
		case corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage:
		default:
			continue
		}
		q, err := resource.ParseQuantity(string(value))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if q.Sign() < 0 {
			return nil, fmt.Errorf("%s: %s is negative", name, value)
		}
		list[corev1.ResourceName(name)] = q
	}
	return list, nil
}
