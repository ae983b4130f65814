package e2e

import (
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/test/ec2sim"
)

// TestCapacityBlock: a class selects a Capacity Block of two g5.xlarge and
// lists it with its type and end; a pool that allows reserved and on-demand
// puts two pods, one a node, into the block, whose nodes say so in their
// labels. When the block's end comes within CapacityBlockExpiryLead, the
// class marks it expiring, its NodeClaims are deleted with a
// CapacityBlockExpiring event, and the pods move to on-demand nodes before
// EC2 would reclaim the block's.
func TestCapacityBlock(t *testing.T) {
	// The class is resolved every two seconds, so that a block's new end
	// is seen at once.
	e := newEnv(t, options{nodeClassRefresh: 2 * time.Second})
	sim := e.cluster.Simulator
	block := ec2sim.CapacityReservation{
		InstanceType: "g5.xlarge", AvailabilityZone: "us-east-1a", TotalInstanceCount: 2, ReservationType: "capacity-block",
		EndDate: time.Now().Add(3 * time.Hour).Truncate(time.Second), Tags: map[string]string{"purpose": "block-e2e"},
	}
	cr, err := sim.AddCapacityReservation(block)
	if err != nil {
		t.Fatal(err)
	}
	nc := &ec2v1.EC2NodeClass{}
	if err := yaml.UnmarshalStrict(e.readExample(seedClass), nc); err != nil {
		t.Fatal(err)
	}
	nc.Name = "blocks"
	nc.Spec.CapacityReservationSelectorTerms = []ec2v1.CapacityReservationSelectorTerm{{Tags: map[string]string{"purpose": "block-e2e"}}}
	e.create(nc)
	e.startLauncher()
	t.Cleanup(e.stopLauncher)
	e.classesReady()
	e.startScheduler()
	t.Cleanup(e.stopScheduler)

	listed := func(state string) func() (bool, error) {
		return func() (bool, error) {
			got := &ec2v1.EC2NodeClass{}
			if err := e.client.Get(e.ctx, types.NamespacedName{Name: "blocks"}, got); err != nil {
				return false, err
			}
			crs := got.Status.CapacityReservations
			if len(crs) != 1 || crs[0].ID != cr.ID || crs[0].ReservationType != "capacity-block" || crs[0].EndTime == nil || crs[0].State != state {
				return false, fmt.Errorf("status.capacityReservations %+v", crs)
			}
			return true, nil
		}
	}
	e.eventually("EC2NodeClass blocks lists the capacity block", listed("active"))

	pool := scenarioPool("blocks", "blocks",
		req(wellknown.CapacityTypeLabel, corev1.NodeSelectorOpIn, wellknown.CapacityTypeReserved, wellknown.CapacityTypeOnDemand),
		req(wellknown.InstanceTypeLabel, corev1.NodeSelectorOpIn, "g5.xlarge"),
		// The block's zone: the solver gives nodes of pods that must be
		// alone zones of their own, which would put one beside the block.
		req(wellknown.ZoneLabel, corev1.NodeSelectorOpIn, "us-east-1a"))
	pool.Spec.Template.Spec.NodeClassRef.Name = "blocks"
	e.create(pool)
	e.create(oneNodeEach("blocks", pool, 2))
	inBlock := e.nodesOf(e.running("blocks", 2))
	if len(inBlock) != 2 {
		t.Fatalf("pods on %d nodes, want 2", len(inBlock))
	}
	for _, n := range inBlock {
		if n.Labels[wellknown.CapacityTypeLabel] != wellknown.CapacityTypeReserved || n.Labels[wellknown.CapacityReservationIDLabel] != cr.ID ||
			n.Labels[wellknown.CapacityReservationTypeLabel] != wellknown.CapacityReservationTypeCapacityBlock {
			t.Errorf("node %s: capacity type %q, reservation %q of type %q; want reserved in capacity block %s\n%s", n.Name,
				n.Labels[wellknown.CapacityTypeLabel], n.Labels[wellknown.CapacityReservationIDLabel], n.Labels[wellknown.CapacityReservationTypeLabel], cr.ID, e.dump())
		}
	}
	claims := map[string]string{}
	for _, c := range e.claimsOfPoolNow("blocks") {
		claims[c.Name] = c.Status.NodeName
	}

	// The block now ends within the lead (EC2 would start reclaiming its
	// instances ten minutes later).
	block.ID, block.EndDate = cr.ID, time.Now().Add(ec2v1.CapacityBlockExpiryLead-time.Minute).Truncate(time.Second)
	if _, err := sim.AddCapacityReservation(block); err != nil {
		t.Fatal(err)
	}
	e.eventually("EC2NodeClass blocks marks the block expiring", listed("expiring"))
	for name := range claims {
		e.eventually("NodeClaim "+name+" has a CapacityBlockExpiring event", func() (bool, error) {
			return e.hasEvent("NodeClaim", name, "CapacityBlockExpiring", cr.ID)
		})
	}
	e.eventually("the pods run on on-demand nodes outside the block", func() (bool, error) {
		pods, err := e.pods("blocks")
		if err != nil {
			return false, err
		}
		running := 0
		for _, p := range pods {
			if p.Status.Phase != corev1.PodRunning || p.DeletionTimestamp != nil {
				continue
			}
			if _, old := inBlock[p.Spec.NodeName]; old {
				return false, fmt.Errorf("pod %s still on block node %s", p.Name, p.Spec.NodeName)
			}
			running++
		}
		if running != 2 {
			return false, fmt.Errorf("%d pods running off the block, want 2", running)
		}
		return true, nil
	})
	for _, n := range e.nodesOf(e.running("blocks", 2)) {
		if n.Labels[wellknown.CapacityTypeLabel] != wellknown.CapacityTypeOnDemand || n.Labels[wellknown.CapacityReservationIDLabel] != "" {
			t.Errorf("replacement node %s: capacity type %q, reservation %q; want on-demand", n.Name, n.Labels[wellknown.CapacityTypeLabel], n.Labels[wellknown.CapacityReservationIDLabel])
		}
	}
	e.noOrphanInstances()
	claimsThrough(e)
}
