package e2e

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/test/ec2sim"
)

// TestCapacityReservation: a class that selects a reservation of two
// m5.large in us-east-1a lists it in its status; a pool that allows
// reserved and on-demand, asked for three such nodes, gets two in the
// reservation, labelled with its id, and the third on-demand.
func TestCapacityReservation(t *testing.T) {
	e := newEnv(t, options{})
	cr, err := e.cluster.Simulator.AddCapacityReservation(ec2sim.CapacityReservation{
		InstanceType: "m5.large", AvailabilityZone: "us-east-1a", TotalInstanceCount: 2, Tags: map[string]string{"purpose": "odcr-e2e"},
	})
	if err != nil {
		t.Fatal(err)
	}
	nc := &ec2v1.EC2NodeClass{}
	if err := yaml.UnmarshalStrict(e.readExample(seedClass), nc); err != nil {
		t.Fatal(err)
	}
	nc.Name = "odcr"
	nc.Spec.CapacityReservationSelectorTerms = []ec2v1.CapacityReservationSelectorTerm{{Tags: map[string]string{"purpose": "odcr-e2e"}}}
	e.create(nc)
	e.startLauncher()
	t.Cleanup(e.stopLauncher)
	e.classesReady()
	e.startScheduler()
	t.Cleanup(e.stopScheduler)

	e.eventually("EC2NodeClass odcr lists the reservation", func() (bool, error) {
		got := &ec2v1.EC2NodeClass{}
		if err := e.client.Get(e.ctx, types.NamespacedName{Name: "odcr"}, got); err != nil {
			return false, err
		}
		if len(got.Status.CapacityReservations) != 1 || got.Status.CapacityReservations[0].ID != cr.ID {
			return false, fmt.Errorf("status.capacityReservations %+v", got.Status.CapacityReservations)
		}
		return true, nil
	})

	pool := scenarioPool("odcr", "odcr",
		req(wellknown.CapacityTypeLabel, corev1.NodeSelectorOpIn, wellknown.CapacityTypeReserved, wellknown.CapacityTypeOnDemand),
		req(wellknown.InstanceTypeLabel, corev1.NodeSelectorOpIn, "m5.large"))
	pool.Spec.Template.Spec.NodeClassRef.Name = "odcr"
	e.create(pool)
	e.create(oneNodeEach("odcr", pool, 3))
	nodes := e.nodesOf(e.running("odcr", 3))
	if len(nodes) != 3 {
		t.Fatalf("pods on %d nodes, want 3", len(nodes))
	}
	byType := map[string]int{}
	for _, n := range nodes {
		ct, id := n.Labels[wellknown.CapacityTypeLabel], n.Labels[wellknown.CapacityReservationIDLabel]
		byType[ct]++
		switch ct {
		case wellknown.CapacityTypeReserved:
			if id != cr.ID || n.Labels[wellknown.ZoneLabel] != "us-east-1a" {
				t.Errorf("reserved node %s: reservation %q in %s, want %s in us-east-1a", n.Name, id, n.Labels[wellknown.ZoneLabel], cr.ID)
			}
		case wellknown.CapacityTypeOnDemand:
			if id != "" {
				t.Errorf("on-demand node %s carries reservation %q", n.Name, id)
			}
		default:
			t.Errorf("node %s: capacity type %q", n.Name, ct)
		}
	}
	if byType[wellknown.CapacityTypeReserved] != 2 || byType[wellknown.CapacityTypeOnDemand] != 1 {
		t.Errorf("nodes by capacity type %v, want 2 reserved and 1 on-demand\n%s", byType, e.dump())
	}
	inReservation := 0
	for _, inst := range e.cluster.Simulator.Instances() {
		if inst.CapacityReservationID == cr.ID && live(inst.State) {
			inReservation++
		}
	}
	if inReservation != 2 {
		t.Errorf("%d live instances in the reservation, want 2", inReservation)
	}
	e.noOrphanInstances()
	claimsThrough(e)
}
