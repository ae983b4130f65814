package e2e

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"

	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/test/ec2sim"
)

// maxEC2CallsPerNode bounds the launcher's EC2 calls, retries included,
// per instance it launched in TestBurst. A healthy run needs a handful per
// node (CreateFleet, its launch template, the reads that follow); the
// bound is several times that, so a slow run stays under it and a storm of
// retries does not.
const maxEC2CallsPerNode = 40

// TestBurst: 100 pods at once while EC2 refuses 30% of calls for the
// request rate and has no spot capacity in one zone. Every pod runs, every
// instance belongs to a claim, and the launcher's EC2 calls per launched
// node stay bounded: backoff, not a storm of retries. The pool allows spot
// and on-demand in three zones, up to 2xlarge, so the burst takes a dozen
// nodes or more. The processes run as deployed, with the SDK's standard
// retryer, and reach EC2 through proxies that count their calls.
func TestBurst(t *testing.T) {
	s := startSystem(t, options{}, schedulerSettings{}, "scheduler")
	bought := s.watchPurchases()
	pool := scenarioPool("burst", "burst",
		req(wellknown.CapacityTypeLabel, corev1.NodeSelectorOpIn, wellknown.CapacityTypeSpot, wellknown.CapacityTypeOnDemand),
		req(wellknown.ZoneLabel, corev1.NodeSelectorOpIn, "us-east-1a", "us-east-1b", "us-east-1c"),
		req(wellknown.InstanceCategoryLabel, corev1.NodeSelectorOpIn, "c", "m", "r"),
		req(wellknown.InstanceGenerationLabel, corev1.NodeSelectorOpGt, "5"),
		req(wellknown.InstanceSizeLabel, corev1.NodeSelectorOpIn, "large", "xlarge", "2xlarge"),
	)
	s.create(pool)
	noSpot := ec2sim.Pool{Zone: "us-east-1a", CapacityType: wellknown.CapacityTypeSpot}
	if err := s.cluster.Simulator.SetFaults(ec2sim.Faults{ThrottleRate: 0.3, InsufficientCapacity: []ec2sim.Pool{noSpot}}); err != nil {
		t.Fatal(err)
	}
	launcherBefore, schedulerBefore := s.launcherAWS.counts(), s.schedulerAWS.counts()

	d := scenarioWorkload("burst", "burst", 100, "1", nil)
	s.create(d)
	pods := s.running(d.Name, 100)

	launcherCalls := s.launcherAWS.counts().since(launcherBefore)
	schedulerCalls := s.schedulerAWS.counts().since(schedulerBefore)
	if err := s.cluster.Simulator.SetFaults(ec2sim.Faults{}); err != nil {
		t.Fatal(err)
	}
	var launched []string
	for _, inst := range s.cluster.Simulator.Instances() {
		launched = append(launched, fmt.Sprintf("%s/%s/%s", inst.InstanceType, inst.Zone, inst.CapacityType))
		if inst.Zone == noSpot.Zone && inst.CapacityType == noSpot.CapacityType {
			t.Errorf("instance %s is spot in %s, where EC2 has no spot capacity", inst.ID, noSpot.Zone)
		}
	}
	sort.Strings(launched)
	if len(launched) == 0 {
		t.Fatalf("no instance was launched for 100 pods\n%s", s.dump())
	}
	nodes := s.nodesOf(pods)
	refused := sets.New[string]()
	for _, nc := range s.mustClaims() {
		offerings, err := wellknown.ParseUnavailableOfferings(nc.Annotations)
		if err != nil {
			t.Error(err)
		}
		for _, o := range offerings {
			refused.Insert(fmt.Sprintf("%s/%s/%s", o.InstanceType, o.Zone, o.CapacityType))
		}
	}

	ec2Calls, ec2Throttled := launcherCalls.service("ec2")
	schedEC2, schedThrottled := schedulerCalls.service("ec2")
	perNode := float64(ec2Calls) / float64(len(launched))
	t.Logf("EC2 calls per launched node: %.1f (the launcher's %d EC2 calls, %d of them refused for the request rate, for %d instances; the scheduler's catalog made %d, %d refused)",
		perNode, ec2Calls, ec2Throttled, len(launched), schedEC2, schedThrottled)
	t.Logf("launcher calls: %s", launcherCalls)
	t.Logf("scheduler calls: %s", schedulerCalls)
	t.Logf("%d pods on %d nodes; instances: %s; offerings EC2 refused for capacity, as the claims record them: %v",
		len(pods), len(nodes), strings.Join(launched, " "), sets.List(refused))
	if perNode > maxEC2CallsPerNode {
		t.Errorf("the launcher made %.1f EC2 calls per launched node, more than %d: a retry storm?\n%s", perNode, maxEC2CallsPerNode, launcherCalls)
	}
	if ec2Throttled == 0 {
		t.Errorf("EC2 refused none of the launcher's %d calls: the throttling fault did not apply", ec2Calls)
	}
	s.settled(bought)
	s.metricsMatch(bought)
}

// metricsMatch checks what the two components report on /metrics against
// the cluster: the scheduler counted every NodeClaim created, the launcher
// every Node of them, and its EC2 calls were timed.
func (s *system) metricsMatch(bought *purchases) {
	s.t.Helper()
	claims := len(bought.claimsSeen())
	if got := s.scraped("scheduler", "karpenter_nodeclaims_created_total", map[string]string{"reason": "provisioned"}); got != float64(claims) {
		s.t.Errorf("the scheduler's karpenter_nodeclaims_created_total is %v, %d NodeClaims were created", got, claims)
	}
	nodes := 0
	for _, nc := range s.mustClaims() {
		if nc.Status.NodeName != "" {
			nodes++
		}
	}
	if got := s.scraped(launcherName, "karpenter_nodes_created_total", nil); got != float64(nodes) {
		s.t.Errorf("the launcher's karpenter_nodes_created_total is %v, %d NodeClaims have a Node", got, nodes)
	}
	if got := s.scraped(launcherName, "karpenter_cloudprovider_duration_seconds", map[string]string{"method": "Create"}); got < float64(nodes) {
		s.t.Errorf("the launcher timed %v cloud provider Creates for %d Nodes", got, nodes)
	}
	if got := s.scraped("scheduler", "tailor_batch_size", nil); got == 0 {
		s.t.Errorf("the scheduler's tailor_batch_size observed no batch")
	}
}
