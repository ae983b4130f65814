package fleet_test

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
)

// TestRAID0NodeHasThePlannedStorage: with instanceStorePolicy RAID0 the
// catalog plans a type with NVMe disks with their size as ephemeral
// storage, and the node launched for it reports that size, because its
// user data stripes the disks and keeps kubelet's state on them.
func TestRAID0NodeHasThePlannedStorage(t *testing.T) {
	w := newWorld(t)
	w.class.Spec.InstanceStorePolicy = ptr.To(ec2v1.InstanceStorePolicyRAID0)
	req := w.request(t, claimFor("raid0", in(wellknown.InstanceTypeLabel, "m5d.large"), in(wellknown.CapacityTypeLabel, wellknown.CapacityTypeOnDemand)))
	planned := req.InstanceTypes[0].Capacity[corev1.ResourceEphemeralStorage]
	got, ok := w.launchedCapacity(t, req)[corev1.ResourceEphemeralStorage]
	if !ok || got.Cmp(planned) != 0 {
		t.Errorf("node reports ephemeral storage %s, the plan has %s", got.String(), planned.String())
	}
}
