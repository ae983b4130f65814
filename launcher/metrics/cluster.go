package metrics

import (
	"context"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/launcher/catalog"
)

// PlannedPriceAnnotation is where the scheduler plugin writes the hourly
// price it planned a claim at (tailor.PriceAnnotation; the launcher does
// not import the plugin).
const PlannedPriceAnnotation = "tailor.sh/planned-price"

// scrapeTimeout bounds one scrape's reads of the cache and the catalog.
const scrapeTimeout = 10 * time.Second

// nodeLabels are the labels of the node gauges: the node's name and the
// well-known labels Karpenter's dashboards group by.
var nodeLabels = []struct{ name, key string }{
	{labelNodeName, ""},
	{labelNodePool, wellknown.NodePoolLabel},
	{labelInstanceType, wellknown.InstanceTypeLabel},
	{labelCapacityType, wellknown.CapacityTypeLabel},
	{labelZone, wellknown.ZoneLabel},
	{labelRegion, wellknown.RegionLabel},
	{labelArch, wellknown.ArchLabel},
	{labelOS, wellknown.OSLabel},
}

func nodeLabelNames() []string {
	names := make([]string, 0, len(nodeLabels)+1)
	for _, l := range nodeLabels {
		names = append(names, l.name)
	}
	return append(names, labelResourceType)
}

var (
	nodesAllocatableDesc = prometheus.NewDesc(prometheus.BuildFQName(karpenter, nodeSubsystem, "allocatable"),
		"Node allocatable are the resources allocatable by nodes.", nodeLabelNames(), nil)
	nodesPodRequestsDesc = prometheus.NewDesc(prometheus.BuildFQName(karpenter, nodeSubsystem, "total_pod_requests"),
		"Node total pod requests are the resources requested by pods bound to nodes, including the DaemonSet pods.", nodeLabelNames(), nil)
	nodePoolUsageDesc = prometheus.NewDesc(prometheus.BuildFQName(karpenter, nodePoolSubsystem, "usage"),
		"The amount of resources that have been provisioned for a nodepool. Labeled by nodepool name and resource type.",
		[]string{labelResourceType, labelNodePool}, nil)
	nodePoolLimitDesc = prometheus.NewDesc(prometheus.BuildFQName(karpenter, nodePoolSubsystem, "limit"),
		"Limits specified on the nodepool that restrict the quantity of resources provisioned. Labeled by nodepool name and resource type.",
		[]string{labelResourceType, labelNodePool}, nil)
	offeringPriceDesc = prometheus.NewDesc(prometheus.BuildFQName(karpenter, cloudProviderSubsystem, "instance_type_offering_price_estimate"),
		"Instance type offering estimated hourly price used when making informed decisions on node cost calculation, based on instance type, capacity type, and zone.",
		[]string{labelInstanceType, labelCapacityType, labelZone}, nil)
	offeringAvailableDesc = prometheus.NewDesc(prometheus.BuildFQName(karpenter, cloudProviderSubsystem, "instance_type_offering_available"),
		"Instance type offering availability, based on instance type, capacity type, and zone",
		[]string{labelInstanceType, labelCapacityType, labelZone}, nil)
	claimLabels      = []string{labelNodeClaim, labelNodePool, labelInstanceType, labelCapacityType, labelZone}
	plannedPriceDesc = prometheus.NewDesc(prometheus.BuildFQName(tailor, nodeClaimSubsystem, "planned_price"),
		"Hourly price in USD the scheduler plugin planned the nodeclaim at, by nodeclaim.", claimLabels, nil)
	launchedPriceDesc = prometheus.NewDesc(prometheus.BuildFQName(tailor, nodeClaimSubsystem, "launched_price"),
		"Hourly price in USD of the offering the nodeclaim was launched from, at the catalog's current price, by nodeclaim.", claimLabels, nil)
)

// Source is what the cluster's gauges are read from at scrape time.
type Source struct {
	// Reader is the manager's cached client: a scrape reads no API server.
	Reader  client.Reader
	Catalog catalog.Catalog
}

// clusterCollector reports the state of the cluster as gauges computed when
// scraped, from the manager's cache and the catalog: nothing to keep in
// step with deletions, and a restarted launcher reports the same values.
type clusterCollector struct {
	source atomic.Pointer[Source]
}

var cluster = &clusterCollector{}

// Watch makes the cluster gauges read src. The registry is global and a
// test may run several launchers in one process: the last one wins.
func Watch(src Source) { cluster.source.Store(&src) }

func (c *clusterCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{nodesAllocatableDesc, nodesPodRequestsDesc, nodePoolUsageDesc, nodePoolLimitDesc,
		offeringPriceDesc, offeringAvailableDesc, plannedPriceDesc, launchedPriceDesc} {
		ch <- d
	}
}

func (c *clusterCollector) Collect(ch chan<- prometheus.Metric) {
	src := c.source.Load()
	if src == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	if err := collectNodes(ctx, src.Reader, ch); err != nil {
		klog.FromContext(ctx).Error(err, "Reporting the nodes' metrics")
	}
	prices, err := collectPools(ctx, src, ch)
	if err != nil {
		klog.FromContext(ctx).Error(err, "Reporting the NodePools' metrics")
	}
	if err := collectClaims(ctx, src.Reader, prices, ch); err != nil {
		klog.FromContext(ctx).Error(err, "Reporting the NodeClaims' metrics")
	}
}

// resourceType is Karpenter's label value for a resource name.
func resourceType(name corev1.ResourceName) string {
	return strings.ReplaceAll(strings.ToLower(string(name)), "-", "_")
}

func collectNodes(ctx context.Context, r client.Reader, ch chan<- prometheus.Metric) error {
	nodes := &corev1.NodeList{}
	if err := r.List(ctx, nodes); err != nil {
		return err
	}
	pods := &corev1.PodList{}
	if err := r.List(ctx, pods); err != nil {
		return err
	}
	requests := map[string]corev1.ResourceList{}
	for i := range pods.Items {
		p := &pods.Items[i]
		if p.Spec.NodeName == "" || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		sum := requests[p.Spec.NodeName]
		if sum == nil {
			sum = corev1.ResourceList{}
			requests[p.Spec.NodeName] = sum
		}
		for _, c := range p.Spec.Containers {
			for name, q := range c.Resources.Requests {
				total := sum[name]
				total.Add(q)
				sum[name] = total
			}
		}
	}
	for i := range nodes.Items {
		n := &nodes.Items[i]
		values := make([]string, 0, len(nodeLabels)+1)
		for _, l := range nodeLabels {
			if l.key == "" {
				values = append(values, n.Name)
				continue
			}
			values = append(values, n.Labels[l.key])
		}
		for name, q := range n.Status.Allocatable {
			ch <- prometheus.MustNewConstMetric(nodesAllocatableDesc, prometheus.GaugeValue, q.AsApproximateFloat64(), append(values, resourceType(name))...)
		}
		for name, q := range requests[n.Name] {
			ch <- prometheus.MustNewConstMetric(nodesPodRequestsDesc, prometheus.GaugeValue, q.AsApproximateFloat64(), append(values, resourceType(name))...)
		}
	}
	return nil
}

// offeringKey names an offering across pools.
type offeringKey struct{ instanceType, capacityType, zone string }

// collectPools reports each pool's usage and limits and the offerings its
// instance types have, and returns the offerings' prices.
func collectPools(ctx context.Context, src *Source, ch chan<- prometheus.Metric) (map[offeringKey]float64, error) {
	pools := &karpv1.NodePoolList{}
	if err := src.Reader.List(ctx, pools); err != nil {
		return nil, err
	}
	offerings := map[offeringKey]catalog.Offering{}
	var firstErr error
	for i := range pools.Items {
		np := &pools.Items[i]
		for name, q := range np.Status.Resources {
			ch <- prometheus.MustNewConstMetric(nodePoolUsageDesc, prometheus.GaugeValue, q.AsApproximateFloat64(), resourceType(name), np.Name)
		}
		for name, q := range np.Spec.Limits {
			ch <- prometheus.MustNewConstMetric(nodePoolLimitDesc, prometheus.GaugeValue, q.AsApproximateFloat64(), resourceType(name), np.Name)
		}
		if src.Catalog == nil {
			continue
		}
		var class *ec2v1.EC2NodeClass
		if ref := np.Spec.Template.Spec.NodeClassRef; ref != nil {
			class = &ec2v1.EC2NodeClass{}
			if err := src.Reader.Get(ctx, client.ObjectKey{Name: ref.Name}, class); err != nil {
				// A pool whose class is missing launches nothing: no offerings.
				continue
			}
		}
		types, err := src.Catalog.InstanceTypes(ctx, np, class)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		for _, it := range types {
			for _, o := range it.Offerings {
				offerings[offeringKey{it.Name, o.CapacityType, o.Zone}] = o
			}
		}
	}
	prices := make(map[offeringKey]float64, len(offerings))
	for k, o := range offerings {
		available := 0.0
		if o.Available {
			available = 1
		}
		ch <- prometheus.MustNewConstMetric(offeringAvailableDesc, prometheus.GaugeValue, available, k.instanceType, k.capacityType, k.zone)
		ch <- prometheus.MustNewConstMetric(offeringPriceDesc, prometheus.GaugeValue, o.Price, k.instanceType, k.capacityType, k.zone)
		prices[k] = o.Price
	}
	return prices, firstErr
}

// collectClaims reports what each claim was planned at and what its
// offering costs, so that a query can compare plan and fleet claim by
// claim or in sum.
func collectClaims(ctx context.Context, r client.Reader, prices map[offeringKey]float64, ch chan<- prometheus.Metric) error {
	claims := &karpv1.NodeClaimList{}
	if err := r.List(ctx, claims); err != nil {
		return err
	}
	for i := range claims.Items {
		nc := &claims.Items[i]
		key := offeringKey{nc.Labels[wellknown.InstanceTypeLabel], nc.Labels[wellknown.CapacityTypeLabel], nc.Labels[wellknown.ZoneLabel]}
		values := []string{nc.Name, nc.Labels[wellknown.NodePoolLabel], key.instanceType, key.capacityType, key.zone}
		if planned, err := strconv.ParseFloat(nc.Annotations[PlannedPriceAnnotation], 64); err == nil {
			ch <- prometheus.MustNewConstMetric(plannedPriceDesc, prometheus.GaugeValue, planned, values...)
		}
		if price, ok := prices[key]; ok && key.instanceType != "" {
			ch <- prometheus.MustNewConstMetric(launchedPriceDesc, prometheus.GaugeValue, price, values...)
		}
	}
	return nil
}
