package ec2sim

import (
	"net/netip"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// testInstance is a running instance of the type in us-east-1b with the
// AL2023 AMI, booted from boot.
func testInstance(t *testing.T, s *Simulator, instanceType string, boot *bootConfig) *instance {
	t.Helper()
	img := s.world.image(s.world.ssmParameters["/aws/service/eks/optimized-ami/1.33/amazon-linux-2023/x86_64/standard/recommended/image_id"])
	return &instance{
		ID: "i-0123456789abcdef0", Type: s.world.types[instanceType], Zone: zones[1], Image: img,
		PrivateIP: netip.MustParseAddr("10.0.33.7"), State: stateRunning, boot: boot,
		BlockDevices: defaultBlockDevices(img),
	}
}

// TestNodeResources checks capacity and allocatable as kubelet computes
// them: memory less the hypervisor's share, pods from the user data or the
// ENI limit, and allocatable less the user data's reservations and hard
// eviction thresholds, or the EKS defaults when it has none.
func TestNodeResources(t *testing.T) {
	s, err := New(Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name         string
		instanceType string
		boot         bootConfig
		efas         int32
		// nvidia boots the NVIDIA build of AL2023 instead of the standard.
		nvidia          bool
		wantCapacity    map[corev1.ResourceName]string
		wantAllocatable map[corev1.ResourceName]string
	}{
		{
			name:         "EKS defaults: ENI pod limit, EKS kube-reserved, kubelet's eviction thresholds",
			instanceType: "m5.large",
			boot:         bootConfig{},
			wantCapacity: map[corev1.ResourceName]string{
				corev1.ResourceCPU: "2", corev1.ResourceMemory: "7969177Ki", corev1.ResourcePods: "29", corev1.ResourceEphemeralStorage: "20Gi",
			},
			wantAllocatable: map[corev1.ResourceName]string{
				corev1.ResourceCPU: "1930m", corev1.ResourceMemory: "7453697024", corev1.ResourcePods: "29", corev1.ResourceEphemeralStorage: "18253611008",
			},
		},
		{
			name:         "the user data's max pods, reservations and thresholds",
			instanceType: "m5.large",
			boot: bootConfig{
				MaxPods:        pods(110),
				KubeReserved:   quantities("cpu", "80m", "memory", "893Mi", "ephemeral-storage", "1Gi"),
				SystemReserved: quantities("cpu", "100m", "memory", "100Mi"),
				EvictionHard:   map[string]string{"memory.available": "5%", "nodefs.available": "10%"},
			},
			wantCapacity: map[corev1.ResourceName]string{corev1.ResourcePods: "110"},
			wantAllocatable: map[corev1.ResourceName]string{
				corev1.ResourceCPU: "1820m", corev1.ResourceMemory: "6711179417", corev1.ResourcePods: "110", corev1.ResourceEphemeralStorage: "18253611008",
			},
		},
		{
			name:            "GPUs on an image with their driver and the attached EFAs are advertised",
			instanceType:    "p4d.24xlarge",
			boot:            bootConfig{},
			efas:            4,
			nvidia:          true,
			wantCapacity:    map[corev1.ResourceName]string{"nvidia.com/gpu": "8", "vpc.amazonaws.com/efa": "4", corev1.ResourceCPU: "96"},
			wantAllocatable: map[corev1.ResourceName]string{"nvidia.com/gpu": "8", corev1.ResourceCPU: "95690m"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			boot := tc.boot
			boot.Labels = map[string]string{}
			inst := testInstance(t, s, tc.instanceType, &boot)
			inst.EFAs = tc.efas
			if tc.nvidia {
				inst.Image = s.world.image(s.world.ssmParameters["/aws/service/eks/optimized-ami/1.33/amazon-linux-2023/x86_64/nvidia/recommended/image_id"])
			}
			capacity, allocatable := s.nodeResources(inst)
			for _, check := range []struct {
				what string
				got  corev1.ResourceList
				want map[corev1.ResourceName]string
			}{{"capacity", capacity, tc.wantCapacity}, {"allocatable", allocatable, tc.wantAllocatable}} {
				for name, want := range check.want {
					got := check.got[name]
					if got.Cmp(resource.MustParse(want)) != 0 {
						t.Errorf("%s %s = %s, want %s", check.what, name, got.String(), want)
					}
				}
			}
		})
	}
}

// TestNodeFor: the Node carries the labels kubelet and the cloud controller
// set, the user data's labels and taints, the provider id, and the kwok
// annotation; what kubelet sets wins over --node-labels.
func TestNodeFor(t *testing.T) {
	s, err := New(Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	boot := &bootConfig{
		Labels: map[string]string{"karpenter.sh/nodepool": "default", "node.kubernetes.io/instance-type": "lie"},
		Taints: []corev1.Taint{{Key: "karpenter.sh/unregistered", Effect: corev1.TaintEffectNoExecute}},
	}
	node := s.nodeForLocked(testInstance(t, s, "m6i.xlarge", boot))
	if node.Name != "ip-10-0-33-7.ec2.internal" || node.Spec.ProviderID != "aws:///us-east-1b/i-0123456789abcdef0" {
		t.Errorf("node %s with provider id %s", node.Name, node.Spec.ProviderID)
	}
	for k, v := range map[string]string{
		"kubernetes.io/arch": "amd64", "kubernetes.io/os": "linux", "kubernetes.io/hostname": "ip-10-0-33-7.ec2.internal",
		"node.kubernetes.io/instance-type": "m6i.xlarge", "topology.kubernetes.io/zone": "us-east-1b",
		"topology.kubernetes.io/region": "us-east-1", "topology.k8s.aws/zone-id": "use1-az2", "karpenter.sh/nodepool": "default",
	} {
		if node.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, node.Labels[k], v)
		}
	}
	if node.Annotations[KwokNodeAnnotation] != "fake" {
		t.Errorf("annotations %v lack %s=fake", node.Annotations, KwokNodeAnnotation)
	}
	if len(node.Spec.Taints) != 1 || node.Spec.Taints[0].Key != "karpenter.sh/unregistered" {
		t.Errorf("taints %v", node.Spec.Taints)
	}
	if node.Status.NodeInfo.KubeletVersion != "v1.33.0-eks-ec2sim" || node.Status.Addresses[0].Address != "10.0.33.7" {
		t.Errorf("node info %+v addresses %v", node.Status.NodeInfo, node.Status.Addresses)
	}
}
