package manager_test

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/test/scrape"
)

// scraped is a metric's value on the registry the launcher serves on its
// metrics bind address, zero when it has no matching series.
func scraped(name string, labels map[string]string) float64 {
	v, _ := scrape.Value(crmetrics.Registry, name, labels)
	return v
}

// launcherMetrics are the counters a claim's life moves. The registry is
// the process's, so tests compare what moved, not totals.
type launcherMetrics struct {
	nodesCreated, nodesTerminated, claimsTerminated, creates, deletes float64
}

func launcherMetricsOf(claim *karpv1.NodeClaim) launcherMetrics {
	pool := map[string]string{"nodepool": claim.Labels[wellknown.NodePoolLabel]}
	return launcherMetrics{
		nodesCreated:     scraped("karpenter_nodes_created_total", pool),
		nodesTerminated:  scraped("karpenter_nodes_terminated_total", pool),
		claimsTerminated: scraped("karpenter_nodeclaims_terminated_total", pool),
		creates:          scraped("karpenter_cloudprovider_duration_seconds", map[string]string{"controller": "nodeclaim.launch", "method": "Create", "provider": "aws"}),
		deletes:          scraped("karpenter_cloudprovider_duration_seconds", map[string]string{"method": "Delete", "provider": "aws"}),
	}
}

// expectLaunchMetrics checks what the launcher reports once a claim's node
// is ready: one node created, at least one Create call measured, and the
// offering it got priced and available.
func expectLaunchMetrics(t *testing.T, before launcherMetrics, claim *karpv1.NodeClaim, price float64) {
	t.Helper()
	now := launcherMetricsOf(claim)
	if got := now.nodesCreated - before.nodesCreated; got != 1 {
		t.Errorf("karpenter_nodes_created_total moved by %v for one node", got)
	}
	if now.creates <= before.creates {
		t.Error("karpenter_cloudprovider_duration_seconds measured no Create")
	}
	offering := map[string]string{
		"instance_type": claim.Labels[wellknown.InstanceTypeLabel], "zone": claim.Labels[wellknown.ZoneLabel],
		"capacity_type": claim.Labels[wellknown.CapacityTypeLabel],
	}
	if got := scraped("karpenter_cloudprovider_instance_type_offering_price_estimate", offering); got != price {
		t.Errorf("karpenter_cloudprovider_instance_type_offering_price_estimate%v = %v, the catalog says %v", offering, got, price)
	}
	if got := scraped("karpenter_cloudprovider_instance_type_offering_available", offering); got != 1 {
		t.Errorf("karpenter_cloudprovider_instance_type_offering_available%v = %v for the offering just launched", offering, got)
	}
	if got := scraped("tailor_nodeclaims_launched_price", map[string]string{"nodeclaim": claim.Name}); got != price {
		t.Errorf("tailor_nodeclaims_launched_price of %s = %v, its offering costs %v", claim.Name, got, price)
	}
	if got := scraped("karpenter_nodepools_limit", map[string]string{"nodepool": claim.Labels[wellknown.NodePoolLabel], "resource_type": "cpu"}); got != 1000 {
		t.Errorf("karpenter_nodepools_limit of cpu = %v, the pool says 1000", got)
	}
	if got := scraped("karpenter_nodes_allocatable", map[string]string{"node_name": claim.Status.NodeName, "resource_type": "cpu"}); got <= 0 {
		t.Errorf("karpenter_nodes_allocatable of node %s is %v", claim.Status.NodeName, got)
	}
}

// expectTerminationMetrics checks what the launcher reports once a claim
// and its node are gone.
func expectTerminationMetrics(t *testing.T, before launcherMetrics, claim *karpv1.NodeClaim) {
	t.Helper()
	now := launcherMetricsOf(claim)
	if got := now.nodesTerminated - before.nodesTerminated; got != 1 {
		t.Errorf("karpenter_nodes_terminated_total moved by %v for one node", got)
	}
	if got := now.claimsTerminated - before.claimsTerminated; got != 1 {
		t.Errorf("karpenter_nodeclaims_terminated_total moved by %v for one claim", got)
	}
	if now.deletes <= before.deletes {
		t.Error("karpenter_cloudprovider_duration_seconds measured no Delete")
	}
}

// nodePool is a pool of the class allowing what reqs allow: the catalog's
// offerings of a pool are what the offering gauges report.
func nodePool(name, class string, reqs ...karpv1.NodeSelectorRequirementWithMinValues) *karpv1.NodePool {
	np := &karpv1.NodePool{ObjectMeta: metav1.ObjectMeta{Name: name}}
	np.Spec.Template.Spec.Requirements = reqs
	np.Spec.Template.Spec.NodeClassRef = &karpv1.NodeClassReference{Group: ec2v1.GroupVersion.Group, Kind: "EC2NodeClass", Name: class}
	np.Spec.Limits = karpv1.Limits{corev1.ResourceCPU: resource.MustParse("1000")}
	return np
}
