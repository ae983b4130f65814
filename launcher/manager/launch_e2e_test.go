package manager_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/launcher/catalog"
	"github.com/tailor-project/tailor/launcher/fleet"
	"github.com/tailor-project/tailor/launcher/instance"
	"github.com/tailor-project/tailor/launcher/nodeclaim"
	"github.com/tailor-project/tailor/launcher/tags"
	"github.com/tailor-project/tailor/test/ec2sim"
)

// onDemandCOrM are the requirements of the claims of the launch tests: a c
// or m instance, on-demand, in zone a or b.
var onDemandCOrM = []karpv1.NodeSelectorRequirementWithMinValues{
	requirement(wellknown.InstanceCategoryLabel, "c", "m"),
	requirement(wellknown.CapacityTypeLabel, wellknown.CapacityTypeOnDemand),
	requirement(wellknown.ZoneLabel, "us-east-1a", "us-east-1b"),
}

// expectedOffering is what the catalog says the cheapest available
// offering of the claim is, among the types that hold its requests.
func expectedOffering(t *testing.T, e *env, c *catalog.Provider, claim *karpv1.NodeClaim) (string, catalog.Offering) {
	t.Helper()
	nc := nodeClass("")
	if err := e.kube.Get(e.ctx, types.NamespacedName{Name: claim.Spec.NodeClassRef.Name}, nc); err != nil {
		t.Fatal(err)
	}
	pool := &karpv1.NodePool{ObjectMeta: metav1.ObjectMeta{Name: "default"}}
	pool.Spec.Template.Spec.Requirements = claim.Spec.Requirements
	all, err := c.InstanceTypes(e.ctx, pool, nc)
	if err != nil {
		t.Fatal(err)
	}
	name, offering, err := cheapest(all, wellknown.CapacityTypeOnDemand, func(it *catalog.InstanceType) bool {
		cpu, mem := it.Allocatable[corev1.ResourceCPU], it.Allocatable[corev1.ResourceMemory]
		return cpu.Cmp(claim.Spec.Resources.Requests[corev1.ResourceCPU]) >= 0 && mem.Cmp(claim.Spec.Resources.Requests[corev1.ResourceMemory]) >= 0
	})
	if err != nil {
		t.Fatal(err)
	}
	return name, offering
}

// TestLaunchCheapestReadyNode: a claim for a c or m on-demand node in two
// zones gets the cheapest matching offering, and becomes a Ready Node with
// the claim's labels and taints; the claim reads Launched, Registered,
// Initialized and Ready, and the instance carries Tailor's tags.
func TestLaunchCheapestReadyNode(t *testing.T) {
	e := newEnv(t)
	l := e.startLauncher(launcherConfig{})
	e.readyClass(nodeClass("default"))
	claim := nodeClaim("cheapest", "default", onDemandCOrM...)
	claim.Spec.Taints = []corev1.Taint{{Key: "example.com/dedicated", Value: "e2e", Effect: corev1.TaintEffectNoSchedule}}
	e.create(nodePool("default", "default", onDemandCOrM...))
	before := launcherMetricsOf(claim)
	e.create(claim)

	e.claimCondition(claim, karpv1.ConditionTypeLaunched, metav1.ConditionTrue)
	wantType, wantOffering := expectedOffering(t, e, l.catalog, claim)
	if got := claim.Labels[wellknown.InstanceTypeLabel]; got != wantType {
		t.Errorf("instance type %s, want the cheapest matching %s at $%.4f", got, wantType, wantOffering.Price)
	}
	for key, want := range map[string]string{
		wellknown.CapacityTypeLabel:     wellknown.CapacityTypeOnDemand,
		wellknown.ZoneLabel:             wantOffering.Zone,
		wellknown.InstanceCategoryLabel: wantType[:1],
		wellknown.EC2NodeClassLabel:     "default",
		wellknown.NodePoolLabel:         "default",
	} {
		if got := claim.Labels[key]; got != want {
			t.Errorf("claim label %s=%q, want %q", key, got, want)
		}
	}
	if claim.Status.ImageID == "" || claim.Status.Capacity.Cpu().IsZero() || claim.Status.Allocatable.Memory().IsZero() {
		t.Errorf("claim status lacks image, capacity or allocatable: %+v", claim.Status)
	}

	for _, c := range []string{karpv1.ConditionTypeRegistered, karpv1.ConditionTypeInitialized, karpv1.ConditionTypeReady} {
		e.claimCondition(claim, c, metav1.ConditionTrue)
	}
	node := &corev1.Node{}
	if err := e.kube.Get(e.ctx, types.NamespacedName{Name: claim.Status.NodeName}, node); err != nil {
		t.Fatal(err)
	}
	if node.Spec.ProviderID != claim.Status.ProviderID {
		t.Errorf("node %s has provider id %s, claim %s", node.Name, node.Spec.ProviderID, claim.Status.ProviderID)
	}
	for key, want := range map[string]string{
		wellknown.NodePoolLabel:     "default",
		"example.com/team":          "e2e",
		wellknown.InstanceTypeLabel: wantType,
		wellknown.CapacityTypeLabel: wellknown.CapacityTypeOnDemand,
		wellknown.RegisteredLabel:   "true",
		wellknown.InitializedLabel:  "true",
		wellknown.EC2NodeClassLabel: "default",
	} {
		if got := node.Labels[key]; got != want {
			t.Errorf("node label %s=%q, want %q", key, got, want)
		}
	}
	if !slices.ContainsFunc(node.Spec.Taints, func(t corev1.Taint) bool { return t.MatchTaint(&claim.Spec.Taints[0]) }) {
		t.Errorf("node taints %v lack the claim's %v", node.Spec.Taints, claim.Spec.Taints[0])
	}
	if slices.ContainsFunc(node.Spec.Taints, func(t corev1.Taint) bool { return t.Key == wellknown.UnregisteredTaintKey }) {
		t.Errorf("node still has the unregistered taint: %v", node.Spec.Taints)
	}
	if !slices.Contains(node.Finalizers, wellknown.TerminationFinalizer) || len(node.OwnerReferences) != 1 || node.OwnerReferences[0].UID != claim.UID {
		t.Errorf("node is not linked to the claim: finalizers %v, owners %v", node.Finalizers, node.OwnerReferences)
	}

	id, err := instance.ParseProviderID(claim.Status.ProviderID)
	if err != nil {
		t.Fatal(err)
	}
	inst := e.instance(id)
	instanceTags := map[string]string{}
	for _, tag := range inst.Tags {
		instanceTags[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
	}
	for key, want := range map[string]string{
		tags.NodeClaim: claim.Name, tags.NodePool: "default", tags.NodeClass: "default",
		tags.ClusterKey(clusterName): tags.Owned, tags.EKSClusterName: clusterName, "team": "e2e",
	} {
		if got := instanceTags[key]; got != want {
			t.Errorf("instance tag %s=%q, want %q", key, got, want)
		}
	}
	if inst.InstanceLifecycle == ec2types.InstanceLifecycleTypeSpot {
		t.Error("an on-demand claim got a spot instance")
	}
	if inst.MetadataOptions == nil || inst.MetadataOptions.HttpTokens != ec2types.HttpTokensStateRequired {
		t.Errorf("instance metadata options %+v, want IMDSv2 required", inst.MetadataOptions)
	}
	if _, recorded := claim.Annotations[nodeclaim.UnavailableOfferingsAnnotation]; recorded {
		t.Errorf("claim records unavailable offerings though none failed: %s", claim.Annotations[nodeclaim.UnavailableOfferingsAnnotation])
	}
	expectLaunchMetrics(t, before, claim, wantOffering.Price)

	before = launcherMetricsOf(claim)
	if err := e.kube.Delete(e.ctx, claim); err != nil {
		t.Fatal(err)
	}
	e.gone(claim)
	expectTerminationMetrics(t, before, claim)
	e.running(l)
}

// TestInsufficientCapacityFallsBack: when EC2 has no capacity for the
// cheapest offering, the claim gets the next cheapest, and the refused
// offering is marked unavailable in the catalog and recorded on the claim.
func TestInsufficientCapacityFallsBack(t *testing.T) {
	e := newEnv(t)
	l := e.startLauncher(launcherConfig{})
	e.readyClass(nodeClass("default"))
	claim := nodeClaim("ice", "default", onDemandCOrM...)
	refusedType, refused := expectedOffering(t, e, l.catalog, claim)
	if err := e.sim.SetFaults(ec2sim.Faults{InsufficientCapacity: []ec2sim.Pool{
		{InstanceType: refusedType, Zone: refused.Zone, CapacityType: wellknown.CapacityTypeOnDemand},
	}}); err != nil {
		t.Fatal(err)
	}
	e.create(claim)
	e.claimCondition(claim, karpv1.ConditionTypeLaunched, metav1.ConditionTrue)

	gotType, gotZone := claim.Labels[wellknown.InstanceTypeLabel], claim.Labels[wellknown.ZoneLabel]
	if gotType == refusedType && gotZone == refused.Zone {
		t.Fatalf("launched the refused offering %s in %s", gotType, gotZone)
	}
	// With the refused offering unavailable, the catalog's cheapest is the
	// one the claim should have got.
	wantType, want := expectedOffering(t, e, l.catalog, claim)
	if gotType != wantType || gotZone != want.Zone {
		t.Errorf("launched %s in %s, want the next cheapest %s in %s ($%.4f)", gotType, gotZone, wantType, want.Zone, want.Price)
	}
	if !marked(t, e, l.catalog, claim, refusedType, refused.Zone) {
		t.Errorf("the catalog does not report %s in %s unavailable", refusedType, refused.Zone)
	}
	recorded, err := nodeclaim.UnavailableOfferings(claim)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(recorded, func(o fleet.Offering) bool {
		return o.InstanceType == refusedType && o.Zone == refused.Zone && o.CapacityType == wellknown.CapacityTypeOnDemand && o.Reason == "InsufficientInstanceCapacity"
	}) {
		t.Errorf("claim records unavailable offerings %+v, want %s/%s/on-demand", recorded, refusedType, refused.Zone)
	}
	e.running(l)
}

// marked reports whether the catalog says the offering is unavailable.
func marked(t *testing.T, e *env, c *catalog.Provider, claim *karpv1.NodeClaim, instanceType, zone string) bool {
	t.Helper()
	nc := nodeClass("")
	if err := e.kube.Get(e.ctx, types.NamespacedName{Name: claim.Spec.NodeClassRef.Name}, nc); err != nil {
		t.Fatal(err)
	}
	pool := &karpv1.NodePool{ObjectMeta: metav1.ObjectMeta{Name: "default"}}
	pool.Spec.Template.Spec.Requirements = claim.Spec.Requirements
	all, err := c.InstanceTypes(e.ctx, pool, nc)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range all {
		for _, o := range it.Offerings {
			if it.Name == instanceType && o.Zone == zone && o.CapacityType == wellknown.CapacityTypeOnDemand {
				return !o.Available && o.UnavailableReason == "InsufficientInstanceCapacity"
			}
		}
	}
	return false
}

// TestNoCapacityDeletesClaim: when no offering the claim allows has
// capacity, the claim says so in its Launched condition and is deleted, so
// that the scheduler decides again; nothing is launched.
func TestNoCapacityDeletesClaim(t *testing.T) {
	e := newEnv(t)
	l := e.startLauncher(launcherConfig{})
	e.readyClass(nodeClass("default"))
	if err := e.sim.SetFaults(ec2sim.Faults{InsufficientCapacity: []ec2sim.Pool{{CapacityType: wellknown.CapacityTypeOnDemand}}}); err != nil {
		t.Fatal(err)
	}
	claim := nodeClaim("no-capacity", "default", onDemandCOrM...)
	// The claim lives only for the backoff: every version of it is
	// watched, so what it said is seen however briefly it said it.
	watching, err := client.NewWithWatch(e.cp.Config, client.Options{Scheme: e.kube.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	watcher, err := watching.Watch(e.ctx, &karpv1.NodeClaimList{}, client.MatchingFields{"metadata.name": claim.Name})
	if err != nil {
		t.Fatal(err)
	}
	defer watcher.Stop()
	e.create(claim)
	var reason, recorded string
	deleted := false
	timeout := time.After(2 * time.Minute)
	for !deleted {
		select {
		case ev, ok := <-watcher.ResultChan():
			if !ok {
				t.Fatal("the watch of the claim ended before the claim was deleted")
			}
			nc, isClaim := ev.Object.(*karpv1.NodeClaim)
			if !isClaim {
				continue
			}
			if c := meta.FindStatusCondition(nc.Status.Conditions, karpv1.ConditionTypeLaunched); c != nil && c.Status == metav1.ConditionFalse {
				reason = c.Reason
			}
			if a, ok := nc.Annotations[nodeclaim.UnavailableOfferingsAnnotation]; ok {
				recorded = a
			}
			deleted = ev.Type == watch.Deleted
		case <-timeout:
			t.Fatal("the claim that cannot be launched was not deleted within 2m")
		}
	}
	if reason != fleet.ReasonInsufficientCapacity {
		t.Errorf("Launched reason %q, want %s", reason, fleet.ReasonInsufficientCapacity)
	}
	if !strings.Contains(recorded, "InsufficientInstanceCapacity") {
		t.Errorf("claim recorded unavailable offerings %q, want InsufficientInstanceCapacity ones", recorded)
	}
	if message := e.eventWith(claim, "NotLaunchable"); !strings.Contains(message, "has capacity") {
		t.Errorf("NotLaunchable event says %q", message)
	}
	if live := e.liveInstancesOf(claim.Name); len(live) != 0 {
		t.Errorf("%d instances run for a claim that could not be launched", len(live))
	}
	e.running(l)
}
