package fleet_test

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/tailor-project/tailor/apis/wellknown"
)

// TestEFAClaimGetsTheAdapters: a claim whose pods request
// vpc.amazonaws.com/efa launches with every EFA interface the type
// supports, so its node advertises the adapters the catalog planned; a
// claim without such pods launches the same type without them.
func TestEFAClaimGetsTheAdapters(t *testing.T) {
	for _, tc := range []struct {
		name    string
		request bool
		want    int64
	}{{"efa pods", true, 4}, {"no efa pods", false, 0}} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			claim := claimFor("efa", in(wellknown.InstanceTypeLabel, "p4d.24xlarge"), in(wellknown.CapacityTypeLabel, wellknown.CapacityTypeOnDemand))
			if tc.request {
				claim.Spec.Resources.Requests = corev1.ResourceList{wellknown.ResourceEFA: resource.MustParse("2")}
			}
			req := w.request(t, claim)
			if planned := req.InstanceTypes[0].Capacity[wellknown.ResourceEFA]; planned.Value() != 4 {
				t.Fatalf("the catalog plans %s EFAs on p4d.24xlarge, want 4", planned.String())
			}
			if got := w.launchedCapacity(t, req)[wellknown.ResourceEFA]; got.Value() != tc.want {
				t.Errorf("the node advertises %s EFAs, want %d", got.String(), tc.want)
			}
		})
	}
}
