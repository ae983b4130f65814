package ec2sim

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/tailor-project/tailor/launcher/userdata"
)

// TestRAID0EphemeralStorage: a node whose user data (as the launcher writes
// it for each Linux family) stripes the instance store reports the NVMe
// disks as its ephemeral storage; without the policy, or on a type without
// NVMe, it reports its root volume.
func TestRAID0EphemeralStorage(t *testing.T) {
	s, err := New(Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, family := range []string{"AL2023", "AL2", "Bottlerocket"} {
		for _, raid := range []bool{false, true} {
			text, err := userdata.Render(family, userdata.Config{ClusterName: "c", ClusterEndpoint: "https://127.0.0.1:6443", ClusterCABundle: "Q0E=", RAID0: raid})
			if err != nil {
				t.Fatal(err)
			}
			boot, err := parseUserData(b64(text))
			if err != nil {
				t.Fatalf("%s: %v", family, err)
			}
			if boot.RAID0 != raid {
				t.Errorf("%s user data with RAID0 %v read as %v", family, raid, boot.RAID0)
			}
			for _, tc := range []struct {
				instanceType string
				want         string
			}{{"m5d.large", "75G"}, {"m5.large", "20Gi"}} {
				want := tc.want
				if !raid {
					want = "20Gi"
				}
				capacity, _ := s.nodeResources(testInstance(t, s, tc.instanceType, boot))
				if got := capacity[corev1.ResourceEphemeralStorage]; got.Cmp(resource.MustParse(want)) != 0 {
					t.Errorf("%s %s RAID0 %v: ephemeral storage %s, want %s", family, tc.instanceType, raid, got.String(), want)
				}
			}
		}
	}
}
