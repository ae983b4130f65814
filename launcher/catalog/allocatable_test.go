package catalog

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
)

// staticInfo returns the compiled-in facts of one type.
func staticInfo(t testing.TB, name string) *Info {
	t.Helper()
	for i := range staticTypes {
		if staticTypes[i].Name == name {
			info := staticTypes[i].Info
			return &info
		}
	}
	t.Fatalf("instance type %s is not in the static table", name)
	return nil
}

// expectQuantities fails for every resource in want whose quantity in got differs.
func expectQuantities(t *testing.T, what string, got corev1.ResourceList, want map[corev1.ResourceName]string) {
	t.Helper()
	for name, w := range want {
		g, ok := got[name]
		if !ok {
			t.Errorf("%s: no %s, want %s", what, name, w)
			continue
		}
		if g.Cmp(resource.MustParse(w)) != 0 {
			t.Errorf("%s %s = %s, want %s", what, name, g.String(), w)
		}
	}
}

// TestMaxPodsFromENILimits checks the pod limit against what EKS nodes
// report (the data's eksMaxPods), including types with several network cards,
// where only the default card's interfaces count.
func TestMaxPodsFromENILimits(t *testing.T) {
	tests := []struct {
		name string
		want int64
	}{
		{"t3.micro", 4},        // 2 ENIs x (2 - 1) + 2
		{"m5.large", 29},       // 3 x (10 - 1) + 2
		{"c5.xlarge", 58},      // 4 x (15 - 1) + 2
		{"m5.24xlarge", 737},   // 15 x (50 - 1) + 2
		{"p4d.24xlarge", 737},  // 4 cards of 15 ENIs; the default card's 15 count
		{"c6in.32xlarge", 394}, // 2 cards of 8 ENIs
	}
	settings, err := settingsFor(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info := staticInfo(t, tt.name)
			if got := int64(ENILimitedPods(info.ENIs, info.IPv4PerENI)); got != tt.want {
				t.Errorf("ENILimitedPods(%d, %d) = %d, want %d", info.ENIs, info.IPv4PerENI, got, tt.want)
			}
			if got := maxPods(info, settings); got != tt.want {
				t.Errorf("maxPods = %d, want %d", got, tt.want)
			}
		})
	}
}

// TestAllocatableDefaults computes allocatable for well-known types with the
// defaults (AL2023, no kubelet settings, 20Gi root volume) and compares it
// with numbers worked out by hand:
//
//	memory capacity = MiB - ceil(MiB x 7.5%)
//	kube-reserved   = CPU tiers; 11Mi x pods + 255Mi; 1Gi ephemeral storage
//	eviction        = 100Mi memory; 10% of the root volume
func TestAllocatableDefaults(t *testing.T) {
	tests := []struct {
		name            string
		wantCapacity    map[corev1.ResourceName]string
		wantAllocatable map[corev1.ResourceName]string
	}{{
		// 8192 - ceil(614.4) = 7577Mi; reserved 60m + 10m = 70m CPU and
		// 11 x 29 + 255 = 574Mi; allocatable 7577 - 574 - 100 = 6903Mi.
		name:            "m5.large",
		wantCapacity:    map[corev1.ResourceName]string{"cpu": "2", "memory": "7577Mi", "pods": "29", "ephemeral-storage": "20Gi"},
		wantAllocatable: map[corev1.ResourceName]string{"cpu": "1930m", "memory": "6903Mi", "pods": "29", "ephemeral-storage": "17Gi"},
	}, {
		// 8192MiB as above; 60 + 10 + 5 + 5 = 80m; 11 x 58 + 255 = 893Mi;
		// 7577 - 893 - 100 = 6584Mi.
		name:            "c5.xlarge",
		wantCapacity:    map[corev1.ResourceName]string{"cpu": "4", "memory": "7577Mi", "pods": "58"},
		wantAllocatable: map[corev1.ResourceName]string{"cpu": "3920m", "memory": "6584Mi", "pods": "58"},
	}, {
		// 1024 - ceil(76.8) = 947Mi; 11 x 4 + 255 = 299Mi; 947 - 299 - 100 = 548Mi.
		name:            "t3.micro",
		wantCapacity:    map[corev1.ResourceName]string{"cpu": "2", "memory": "947Mi", "pods": "4"},
		wantAllocatable: map[corev1.ResourceName]string{"cpu": "1930m", "memory": "548Mi", "pods": "4"},
	}, {
		// 96 vCPU: 60 + 10 + 2 x 5 + 92 x 2.5 = 310m. 393216 - ceil(29491.2) =
		// 363724Mi; 11 x 737 + 255 = 8362Mi; 363724 - 8362 - 100 = 355262Mi.
		name:            "m5.24xlarge",
		wantCapacity:    map[corev1.ResourceName]string{"cpu": "96", "memory": "363724Mi", "pods": "737"},
		wantAllocatable: map[corev1.ResourceName]string{"cpu": "95690m", "memory": "355262Mi"},
	}, {
		name:            "p4d.24xlarge",
		wantCapacity:    map[corev1.ResourceName]string{"nvidia.com/gpu": "8", "vpc.amazonaws.com/efa": "4"},
		wantAllocatable: map[corev1.ResourceName]string{"nvidia.com/gpu": "8", "vpc.amazonaws.com/efa": "4"},
	}, {
		name:            "inf2.xlarge",
		wantCapacity:    map[corev1.ResourceName]string{"aws.amazon.com/neuron": "1", "aws.amazon.com/neuroncore": "2"},
		wantAllocatable: map[corev1.ResourceName]string{"aws.amazon.com/neuron": "1"},
	}, {
		name:         "g4ad.xlarge",
		wantCapacity: map[corev1.ResourceName]string{"amd.com/gpu": "1"},
	}}
	settings, err := settingsFor(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			capacity, _, allocatable := resources(staticInfo(t, tt.name), settings, DefaultVMMemoryOverheadFraction)
			expectQuantities(t, "capacity", capacity, tt.wantCapacity)
			expectQuantities(t, "allocatable", allocatable, tt.wantAllocatable)
		})
	}
}

// TestAllocatableKubeletSettings checks how an EC2NodeClass's kubelet block
// changes m5.large and c5.xlarge (capacities as in TestAllocatableDefaults).
func TestAllocatableKubeletSettings(t *testing.T) {
	tests := []struct {
		name            string
		instanceType    string
		kubelet         ec2v1.KubeletConfiguration
		wantAllocatable map[corev1.ResourceName]string
	}{{
		// 11 x 110 + 255 = 1465Mi; 7577 - 1465 - 100 = 6012Mi.
		name:            "maxPods replaces the ENI limit and raises kube-reserved memory",
		instanceType:    "m5.large",
		kubelet:         ec2v1.KubeletConfiguration{MaxPods: ptr.To[int32](110)},
		wantAllocatable: map[corev1.ResourceName]string{"pods": "110", "memory": "6012Mi"},
	}, {
		// 10 x 2 vCPU = 20 pods; 11 x 20 + 255 = 475Mi; 7577 - 475 - 100 = 7002Mi.
		name:            "podsPerCore caps the ENI limit",
		instanceType:    "m5.large",
		kubelet:         ec2v1.KubeletConfiguration{PodsPerCore: ptr.To[int32](10)},
		wantAllocatable: map[corev1.ResourceName]string{"pods": "20", "memory": "7002Mi"},
	}, {
		name:            "the lower of maxPods and podsPerCore wins",
		instanceType:    "c5.xlarge",
		kubelet:         ec2v1.KubeletConfiguration{MaxPods: ptr.To[int32](50), PodsPerCore: ptr.To[int32](4)},
		wantAllocatable: map[corev1.ResourceName]string{"pods": "16"},
	}, {
		name:            "systemReserved is subtracted",
		instanceType:    "m5.large",
		kubelet:         ec2v1.KubeletConfiguration{SystemReserved: map[string]ec2v1.Quantity{"cpu": "100m", "memory": "200Mi", "pid": "1000"}},
		wantAllocatable: map[corev1.ResourceName]string{"cpu": "1830m", "memory": "6703Mi"},
	}, {
		name:            "kubeReserved replaces only the resources it names",
		instanceType:    "m5.large",
		kubelet:         ec2v1.KubeletConfiguration{KubeReserved: map[string]ec2v1.Quantity{"cpu": "200m"}},
		wantAllocatable: map[corev1.ResourceName]string{"cpu": "1800m", "memory": "6903Mi"},
	}, {
		// 5% of 7577Mi is 397253017.6 bytes, rounded up; (7577 - 574)Mi less that.
		name:            "a percentage threshold is of the memory capacity",
		instanceType:    "m5.large",
		kubelet:         ec2v1.KubeletConfiguration{EvictionHard: map[string]ec2v1.Threshold{"memory.available": "5%"}},
		wantAllocatable: map[corev1.ResourceName]string{"memory": "6945924710", "ephemeral-storage": "17Gi"},
	}, {
		name:         "the larger of the hard and soft thresholds holds",
		instanceType: "m5.large",
		kubelet: ec2v1.KubeletConfiguration{
			EvictionSoft: map[string]ec2v1.Threshold{"memory.available": "500Mi", "nodefs.available": "15%"},
		},
		// 7577 - 574 - 500 = 6503Mi; 20Gi - 1Gi - 3Gi = 16Gi.
		wantAllocatable: map[corev1.ResourceName]string{"memory": "6503Mi", "ephemeral-storage": "16Gi"},
	}, {
		name:            "a soft threshold below the hard default leaves the default",
		instanceType:    "m5.large",
		kubelet:         ec2v1.KubeletConfiguration{EvictionSoft: map[string]ec2v1.Threshold{"memory.available": "50Mi"}},
		wantAllocatable: map[corev1.ResourceName]string{"memory": "6903Mi"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nc := nodeClass("test", ec2v1.EC2NodeClassSpec{Kubelet: &tt.kubelet})
			settings, err := settingsFor(nc)
			if err != nil {
				t.Fatal(err)
			}
			_, _, allocatable := resources(staticInfo(t, tt.instanceType), settings, DefaultVMMemoryOverheadFraction)
			expectQuantities(t, "allocatable", allocatable, tt.wantAllocatable)
		})
	}
}

func TestKubeReservedMilliCPU(t *testing.T) {
	tests := []struct {
		vcpus int64
		want  int64
	}{
		{1, 60},
		{2, 70},
		{3, 75},
		{4, 80},
		{5, 82}, // 2.5m of the fifth core, truncated as the EKS AMIs do
		{8, 90},
		{96, 310},
	}
	for _, tt := range tests {
		if got := kubeReservedMilliCPU(tt.vcpus * 1000); got != tt.want {
			t.Errorf("kubeReservedMilliCPU(%d vCPU) = %dm, want %dm", tt.vcpus, got, tt.want)
		}
	}
}

func TestAllocatableNeverNegative(t *testing.T) {
	nc := nodeClass("test", ec2v1.EC2NodeClassSpec{Kubelet: &ec2v1.KubeletConfiguration{
		SystemReserved: map[string]ec2v1.Quantity{"memory": "2Gi"},
	}})
	settings, err := settingsFor(nc)
	if err != nil {
		t.Fatal(err)
	}
	_, _, allocatable := resources(staticInfo(t, "t3.micro"), settings, DefaultVMMemoryOverheadFraction)
	if m := allocatable[corev1.ResourceMemory]; m.Sign() != 0 {
		t.Errorf("allocatable memory = %s, want 0 when the overhead exceeds capacity", m.String())
	}
}
