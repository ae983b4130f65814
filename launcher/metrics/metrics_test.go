package metrics

import (
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/launcher/catalog"
	"github.com/tailor-project/tailor/test/scrape"
)

// karpenterMetrics are Karpenter's (v1, and its AWS provider's) names,
// types and labels of the metrics the launcher reports as Karpenter's: a
// dashboard's query matches only if all three do. The node gauges carry a
// subset of Karpenter's well-known labels.
var karpenterMetrics = map[string]scrape.Spec{
	"karpenter_nodeclaims_terminated_total":                         {Type: dto.MetricType_COUNTER, Labels: "capacity_type,nodepool,zone"},
	"karpenter_nodeclaims_disrupted_total":                          {Type: dto.MetricType_COUNTER, Labels: "capacity_type,consolidation_policy,nodepool,reason,termination_mode"},
	"karpenter_nodes_created_total":                                 {Type: dto.MetricType_COUNTER, Labels: "nodepool,zone"},
	"karpenter_nodes_terminated_total":                              {Type: dto.MetricType_COUNTER, Labels: "nodepool,zone"},
	"karpenter_nodes_allocatable":                                   {Type: dto.MetricType_GAUGE, Labels: "arch,capacity_type,instance_type,node_name,nodepool,os,region,resource_type,zone"},
	"karpenter_nodes_total_pod_requests":                            {Type: dto.MetricType_GAUGE, Labels: "arch,capacity_type,instance_type,node_name,nodepool,os,region,resource_type,zone"},
	"karpenter_nodepools_usage":                                     {Type: dto.MetricType_GAUGE, Labels: "nodepool,resource_type"},
	"karpenter_nodepools_limit":                                     {Type: dto.MetricType_GAUGE, Labels: "nodepool,resource_type"},
	"karpenter_interruption_received_messages_total":                {Type: dto.MetricType_COUNTER, Labels: "message_type"},
	"karpenter_interruption_deleted_messages_total":                 {Type: dto.MetricType_COUNTER, Labels: ""},
	"karpenter_interruption_message_queue_duration_seconds":         {Type: dto.MetricType_HISTOGRAM, Labels: ""},
	"karpenter_cloudprovider_duration_seconds":                      {Type: dto.MetricType_HISTOGRAM, Labels: "controller,method,provider"},
	"karpenter_cloudprovider_errors_total":                          {Type: dto.MetricType_COUNTER, Labels: "controller,error,method,provider"},
	"karpenter_cloudprovider_instance_type_offering_price_estimate": {Type: dto.MetricType_GAUGE, Labels: "capacity_type,instance_type,zone"},
	"karpenter_cloudprovider_instance_type_offering_available":      {Type: dto.MetricType_GAUGE, Labels: "capacity_type,instance_type,zone"},
}

// record gives every metric a sample and the cluster gauges a small
// cluster to read.
func record(t *testing.T) {
	t.Helper()
	claim := &karpv1.NodeClaim{ObjectMeta: metav1.ObjectMeta{
		Name: "default-abc",
		Labels: map[string]string{
			wellknown.NodePoolLabel: "default", wellknown.CapacityTypeLabel: "on-demand",
			wellknown.ZoneLabel: "us-east-1a", wellknown.InstanceTypeLabel: "m5.large",
		},
		Annotations: map[string]string{PlannedPriceAnnotation: "0.0960"},
	}}
	NodeClaimTerminated(claim)
	NodeClaimDisrupted(claim, "expired", "", TerminationEventual)
	NodeCreated(claim)
	NodeTerminated(claim.Labels)
	MessageReceived("spot-interruption", time.Now().Add(-time.Second))
	MessageDeleted()
	CloudProviderCall("nodeclaim.launch", "Create", time.Now(), errors.New("no capacity"), func(error) string { return "InsufficientCapacityError" })

	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, karpv1.AddToScheme, ec2v1.AddToScheme} {
		if err := add(scheme); err != nil {
			t.Fatal(err)
		}
	}
	pool := &karpv1.NodePool{ObjectMeta: metav1.ObjectMeta{Name: "default"}}
	pool.Spec.Limits = karpv1.Limits{corev1.ResourceCPU: resource.MustParse("100")}
	pool.Status.Resources = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2"), "nodes": resource.MustParse("1")}
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "ip-10-0-0-1", Labels: claim.Labels},
		Status:     corev1.NodeStatus{Allocatable: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1930m")}},
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: corev1.PodSpec{NodeName: node.Name, Containers: []corev1.Container{{
			Name: "web", Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m")}},
		}}},
	}
	reader := fake.NewClientBuilder().WithScheme(scheme).WithObjects(pool, claim, node, pod).Build()
	cat, err := catalog.New(catalog.NewStaticSource([]catalog.Zone{{Name: "us-east-1a"}}), catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	Watch(Source{Reader: reader, Catalog: cat})
}

func TestLint(t *testing.T) {
	record(t)
	for _, c := range Collectors() {
		problems, err := testutil.CollectAndLint(c)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range problems {
			t.Errorf("%s: %s", p.Metric, p.Text)
		}
	}
}

// TestKarpenterNames: the metrics named like Karpenter's have its types and
// labels, Tailor's own are tailor_, and all are on the registry the
// manager serves.
func TestKarpenterNames(t *testing.T) {
	record(t)
	scrape.CheckNames(t, crmetrics.Registry, Collectors(), karpenterMetrics)
}

// TestClusterGauges: the gauges read the cluster as it is when scraped.
func TestClusterGauges(t *testing.T) {
	record(t)
	offering := map[string]string{labelInstanceType: "m5.large", labelCapacityType: "on-demand", labelZone: "us-east-1a"}
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"karpenter_nodes_allocatable", map[string]string{labelNodeName: "ip-10-0-0-1", labelResourceType: "cpu", labelNodePool: "default"}, 1.93},
		{"karpenter_nodes_total_pod_requests", map[string]string{labelNodeName: "ip-10-0-0-1", labelResourceType: "cpu"}, 0.5},
		{"karpenter_nodepools_usage", map[string]string{labelNodePool: "default", labelResourceType: "cpu"}, 2},
		{"karpenter_nodepools_limit", map[string]string{labelNodePool: "default", labelResourceType: "cpu"}, 100},
		{"tailor_nodeclaims_planned_price", map[string]string{labelNodeClaim: "default-abc"}, 0.096},
		{"karpenter_cloudprovider_instance_type_offering_available", offering, 1},
	} {
		got, ok := scrape.Value(crmetrics.Registry, c.name, c.labels)
		if !ok {
			t.Errorf("no %s%v", c.name, c.labels)
			continue
		}
		if got < c.want-1e-9 || got > c.want+1e-9 {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	price, _ := scrape.Value(crmetrics.Registry, "karpenter_cloudprovider_instance_type_offering_price_estimate", offering)
	if launched, _ := scrape.Value(crmetrics.Registry, "tailor_nodeclaims_launched_price", map[string]string{labelNodeClaim: "default-abc"}); price == 0 || launched != price {
		t.Errorf("launched price %v, the offering costs %v", launched, price)
	}
}
