package catalog

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
)

func windowsClass(mutate func(*ec2v1.EC2NodeClass)) *ec2v1.EC2NodeClass {
	nc := &ec2v1.EC2NodeClass{ObjectMeta: metav1.ObjectMeta{Name: "windows"}}
	nc.Spec.AMISelectorTerms = []ec2v1.AMISelectorTerm{{Alias: "windows2022@latest"}}
	if mutate != nil {
		mutate(nc)
	}
	return nc
}

// TestWindowsMaxPods: a Windows node's pod limit is its primary interface's
// addresses less the interface's own, whatever other interfaces the type
// has; kubelet settings still override and cap it, as on Linux.
func TestWindowsMaxPods(t *testing.T) {
	tests := []struct {
		name         string
		instanceType string
		kubelet      *ec2v1.KubeletConfiguration
		want         int64
	}{
		{name: "t3.micro: 2 addresses", instanceType: "t3.micro", want: 1},
		{name: "m5.large: 10 addresses", instanceType: "m5.large", want: 9},
		{name: "c5.xlarge: 15 addresses", instanceType: "c5.xlarge", want: 14},
		{name: "m5.24xlarge: 50 addresses on each of 15 interfaces", instanceType: "m5.24xlarge", want: 49},
		{name: "maxPods replaces it", instanceType: "m5.large", kubelet: &ec2v1.KubeletConfiguration{MaxPods: ptr.To[int32](20)}, want: 20},
		{name: "podsPerCore caps it", instanceType: "m5.large", kubelet: &ec2v1.KubeletConfiguration{PodsPerCore: ptr.To[int32](2)}, want: 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			settings, err := settingsFor(windowsClass(func(nc *ec2v1.EC2NodeClass) { nc.Spec.Kubelet = tt.kubelet }))
			if err != nil {
				t.Fatal(err)
			}
			capacity, _, _ := resources(staticInfo(t, tt.instanceType), settings, DefaultVMMemoryOverheadFraction)
			if got := capacity.Pods().Value(); got != tt.want {
				t.Errorf("pods %d, want %d", got, tt.want)
			}
		})
	}
}

// TestWindowsIgnoresRAID0: Windows nodes have no step that stripes the
// instance store, so a RAID0 class does not count it on them, while a Linux
// class does.
func TestWindowsIgnoresRAID0(t *testing.T) {
	raid := func(nc *ec2v1.EC2NodeClass) { nc.Spec.InstanceStorePolicy = ptr.To(ec2v1.InstanceStorePolicyRAID0) }
	for _, tc := range []struct {
		class *ec2v1.EC2NodeClass
		want  string
	}{
		{windowsClass(raid), "50Gi"},
		{windowsClass(func(nc *ec2v1.EC2NodeClass) {
			raid(nc)
			nc.Spec.AMISelectorTerms = []ec2v1.AMISelectorTerm{{Alias: "al2023@latest"}}
		}), "75G"},
	} {
		settings, err := settingsFor(tc.class)
		if err != nil {
			t.Fatal(err)
		}
		capacity, _, _ := resources(staticInfo(t, "m5d.large"), settings, DefaultVMMemoryOverheadFraction)
		expectQuantities(t, tc.class.Spec.AMISelectorTerms[0].Alias, capacity, map[corev1.ResourceName]string{corev1.ResourceEphemeralStorage: tc.want})
	}
}
