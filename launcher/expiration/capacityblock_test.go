package expiration

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/record"
	clocktesting "k8s.io/utils/clock/testing"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
)

// blockClass creates a class whose status lists the reservations given.
func blockClass(t *testing.T, name string, reservations ...ec2v1.CapacityReservation) {
	t.Helper()
	ctx := context.Background()
	nc := &ec2v1.EC2NodeClass{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: ec2v1.EC2NodeClassSpec{
			SubnetSelectorTerms:        []ec2v1.SubnetSelectorTerm{{Tags: map[string]string{"team": "ml"}}},
			SecurityGroupSelectorTerms: []ec2v1.SecurityGroupSelectorTerm{{Tags: map[string]string{"team": "ml"}}},
			AMISelectorTerms:           []ec2v1.AMISelectorTerm{{Alias: "al2023@latest"}},
			Role:                       "NodeRole",
		},
	}
	if err := kube.Create(ctx, nc); err != nil {
		t.Fatal(err)
	}
	nc.Status.CapacityReservations = reservations
	if err := kube.Status().Update(ctx, nc); err != nil {
		t.Fatal(err)
	}
}

// TestCapacityBlockExpiration: a claim in a Capacity Block is deleted, with
// an event on it and on its node, once the block is within
// CapacityBlockExpiryLead of its end, and not before; claims in an ODCR or in
// a block the class does not list are left alone.
func TestCapacityBlockExpiration(t *testing.T) {
	ctx := context.Background()
	now := time.Now().Truncate(time.Second)
	reservation := func(id, kind string, end time.Duration) ec2v1.CapacityReservation {
		cr := ec2v1.CapacityReservation{ID: id, InstanceType: "p5.48xlarge", AvailabilityZone: "us-east-1a", OwnerID: "123456789012",
			InstanceMatchCriteria: "targeted", ReservationType: kind, State: "active"}
		if end > 0 {
			e := metav1.NewTime(now.Add(end))
			cr.EndTime = &e
		}
		return cr
	}
	// The class newClaim's claims name.
	blockClass(t, "default",
		reservation("cr-0000000000000000a", "capacity-block", 3*time.Hour),
		reservation("cr-0000000000000000b", "capacity-block", 30*time.Minute),
		reservation("cr-0000000000000000c", "default", 0),
	)
	for _, tc := range []struct {
		name, reservation, kind string
		wantDeleted             bool
		wantRequeue             time.Duration
	}{
		{"block ending later", "cr-0000000000000000a", "capacity-block", false, 3*time.Hour - ec2v1.CapacityBlockExpiryLead},
		{"block ending soon", "cr-0000000000000000b", "capacity-block", true, 0},
		{"ODCR", "cr-0000000000000000c", "default", false, 0},
		{"block the class does not list", "cr-0000000000000000d", "capacity-block", false, unknownEndRecheck},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := "block-" + strings.ToLower(strings.ReplaceAll(tc.name, " ", "-"))
			claim := newClaim(t, name, "Never")
			claim.Labels[wellknown.CapacityReservationIDLabel] = tc.reservation
			claim.Labels[wellknown.CapacityReservationTypeLabel] = tc.kind
			claim.Labels[wellknown.EC2NodeClassLabel] = "default"
			if err := kube.Update(ctx, claim); err != nil {
				t.Fatal(err)
			}
			recorder := record.NewFakeRecorder(10)
			e := &CapacityBlockExpiration{Client: kube, Recorder: recorder, Clock: clocktesting.NewFakeClock(now)}
			events := reconcileClaim(t, e, recorder, name, tc.wantDeleted, tc.wantRequeue)
			if !tc.wantDeleted {
				if len(events) > 0 {
					t.Errorf("events %v for a claim that stays", events)
				}
				return
			}
			if len(events) != 2 || !strings.HasPrefix(events[0], "Normal "+ReasonCapacityBlockExpiring) || !strings.Contains(events[0], tc.reservation) ||
				!strings.Contains(events[1], name) {
				t.Errorf("events %v, want %s on the claim and on its node", events, ReasonCapacityBlockExpiring)
			}
		})
	}
}
