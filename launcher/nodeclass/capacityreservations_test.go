package nodeclass

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
	"github.com/tailor-project/tailor/test/ec2sim"
)

func TestCapacityReservations(t *testing.T) {
	r, sim := newResolverWithSim(t)
	add := func(cr ec2sim.CapacityReservation) string {
		t.Helper()
		got, err := sim.AddCapacityReservation(cr)
		if err != nil {
			t.Fatal(err)
		}
		return got.ID
	}
	ml := add(ec2sim.CapacityReservation{InstanceType: "m5.large", AvailabilityZone: "us-east-1a", TotalInstanceCount: 2, Tags: map[string]string{"team": "ml"}})
	shared := add(ec2sim.CapacityReservation{InstanceType: "c5.xlarge", AvailabilityZone: "us-east-1b", TotalInstanceCount: 1, Tags: map[string]string{"team": "ml"}, OwnerID: "210987654321"})
	expired := add(ec2sim.CapacityReservation{InstanceType: "m5.large", AvailabilityZone: "us-east-1a", TotalInstanceCount: 1, Tags: map[string]string{"team": "ml"}, State: "expired"})
	other := add(ec2sim.CapacityReservation{InstanceType: "m5.xlarge", AvailabilityZone: "us-east-1c", TotalInstanceCount: 1})

	tests := []struct {
		name          string
		terms         []ec2v1.CapacityReservationSelectorTerm
		want          []string
		wantUnmatched []string
	}{
		{"no terms", nil, nil, nil},
		{"by id", []ec2v1.CapacityReservationSelectorTerm{{ID: other}}, []string{other}, nil},
		{"by tags, active only, any owner", []ec2v1.CapacityReservationSelectorTerm{{Tags: map[string]string{"team": "ml"}}}, []string{ml, shared}, nil},
		{"by tags of an owner", []ec2v1.CapacityReservationSelectorTerm{{Tags: map[string]string{"team": "*"}, OwnerID: "210987654321"}}, []string{shared}, nil},
		{"an expired one is not selected", []ec2v1.CapacityReservationSelectorTerm{{ID: expired}, {ID: ml}}, []string{ml}, []string{"id " + expired}},
		{"terms are ORed, without duplicates", []ec2v1.CapacityReservationSelectorTerm{{ID: ml}, {Tags: map[string]string{"team": "ml"}}}, []string{ml, shared}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nc := classWith(func(nc *ec2v1.EC2NodeClass) { nc.Spec.CapacityReservationSelectorTerms = tt.terms })
			got, unmatched, err := r.CapacityReservations(context.Background(), nc, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, cr := range got {
				ids = append(ids, cr.ID)
				if cr.State != "active" || cr.ReservationType != "default" || cr.InstanceMatchCriteria != "targeted" || cr.OwnerID == "" {
					t.Errorf("reservation %+v", cr)
				}
			}
			want := slices.Sorted(slices.Values(tt.want))
			if !slices.Equal(ids, want) {
				t.Errorf("reservations %v, want %v", ids, want)
			}
			if !slices.Equal(unmatched, tt.wantUnmatched) {
				t.Errorf("unmatched %v, want %v", unmatched, tt.wantUnmatched)
			}
		})
	}
}

// TestControllerResolvesCapacityReservations: the class's status lists the
// reservations it selects; a term that selects none is an event and leaves
// the class Ready.
func TestControllerResolvesCapacityReservations(t *testing.T) {
	nc := classWith(func(nc *ec2v1.EC2NodeClass) {
		nc.Spec.CapacityReservationSelectorTerms = []ec2v1.CapacityReservationSelectorTerm{{Tags: map[string]string{"team": "ml"}}, {ID: "cr-0123456789abcdef0"}}
	})
	c, kube, recorder, _ := newController(t, nc)
	r, sim := newResolverWithSim(t)
	c.Resolver = r
	cr, err := sim.AddCapacityReservation(ec2sim.CapacityReservation{InstanceType: "m5.large", AvailabilityZone: "us-east-1a", TotalInstanceCount: 2, Tags: map[string]string{"team": "ml"}})
	if err != nil {
		t.Fatal(err)
	}
	reconcileClass(t, c, "default")
	got := &ec2v1.EC2NodeClass{}
	if err := kube.Get(context.Background(), types.NamespacedName{Name: "default"}, got); err != nil {
		t.Fatal(err)
	}
	if ready, why := IsReady(got); !ready {
		t.Errorf("class not Ready: %s", why)
	}
	want := []ec2v1.CapacityReservation{{ID: cr.ID, InstanceType: "m5.large", AvailabilityZone: "us-east-1a", OwnerID: cr.OwnerID,
		InstanceMatchCriteria: "targeted", ReservationType: "default", State: "active"}}
	if !slices.Equal(got.Status.CapacityReservations, want) {
		t.Errorf("status.capacityReservations %+v, want %+v", got.Status.CapacityReservations, want)
	}
	var events []string
	for len(recorder.Events) > 0 {
		events = append(events, <-recorder.Events)
	}
	if !slices.ContainsFunc(events, func(e string) bool {
		return strings.Contains(e, "CapacityReservationsNotFound") && strings.Contains(e, "cr-0123456789abcdef0")
	}) {
		t.Errorf("events %q, want one saying cr-0123456789abcdef0 matches nothing", events)
	}
}

// TestControllerResolvesCapacityBlocks: a Capacity Block is listed with its
// type and end; one within CapacityBlockExpiryLead of its end is expiring,
// which an event on the class tells, once.
func TestControllerResolvesCapacityBlocks(t *testing.T) {
	nc := classWith(func(nc *ec2v1.EC2NodeClass) {
		nc.Spec.CapacityReservationSelectorTerms = []ec2v1.CapacityReservationSelectorTerm{{Tags: map[string]string{"team": "ml"}}}
	})
	c, kube, recorder, _ := newController(t, nc)
	r, sim := newResolverWithSim(t)
	c.Resolver = r
	now := c.Clock.Now().Truncate(time.Second)
	add := func(end time.Time) ec2sim.CapacityReservation {
		t.Helper()
		cr, err := sim.AddCapacityReservation(ec2sim.CapacityReservation{InstanceType: "p5.48xlarge", AvailabilityZone: "us-east-1a", TotalInstanceCount: 2,
			ReservationType: "capacity-block", EndDate: end, Tags: map[string]string{"team": "ml"}})
		if err != nil {
			t.Fatal(err)
		}
		return cr
	}
	later := add(now.Add(3 * time.Hour))
	soon := add(now.Add(ec2v1.CapacityBlockExpiryLead - time.Minute))
	for range 2 {
		reconcileClass(t, c, "default")
	}
	got := &ec2v1.EC2NodeClass{}
	if err := kube.Get(context.Background(), types.NamespacedName{Name: "default"}, got); err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		end   time.Time
		state string
	}{later.ID: {now.Add(3 * time.Hour), "active"}, soon.ID: {now.Add(ec2v1.CapacityBlockExpiryLead - time.Minute), "expiring"}}
	if len(got.Status.CapacityReservations) != len(want) {
		t.Fatalf("status.capacityReservations %+v, want %d", got.Status.CapacityReservations, len(want))
	}
	for _, cr := range got.Status.CapacityReservations {
		w := want[cr.ID]
		if cr.ReservationType != "capacity-block" || cr.EndTime == nil || !cr.EndTime.Time.Equal(w.end) || cr.State != w.state {
			t.Errorf("%s: type %s, end %v, state %s; want capacity-block, %v, %s", cr.ID, cr.ReservationType, cr.EndTime, cr.State, w.end, w.state)
		}
	}
	var expiring []string
	for len(recorder.Events) > 0 {
		if e := <-recorder.Events; strings.Contains(e, "CapacityBlockExpiring") {
			expiring = append(expiring, e)
		}
	}
	if len(expiring) != 1 || !strings.Contains(expiring[0], soon.ID) {
		t.Errorf("CapacityBlockExpiring events %q, want one of %s", expiring, soon.ID)
	}
}

// TestNextResolve: a class is resolved again after the refresh interval, or
// when its next active Capacity Block turns expiring, if sooner.
func TestNextResolve(t *testing.T) {
	now := time.Now()
	c := &Controller{Clock: clocktesting.NewFakeClock(now), RefreshInterval: 5 * time.Minute}
	at := func(d time.Duration) *metav1.Time { end := metav1.NewTime(now.Add(d)); return &end }
	lead := ec2v1.CapacityBlockExpiryLead
	for _, tc := range []struct {
		name         string
		reservations []ec2v1.CapacityReservation
		want         time.Duration
	}{
		{"none", nil, 5 * time.Minute},
		{"an ODCR with an end", []ec2v1.CapacityReservation{{ReservationType: "default", EndTime: at(lead + time.Minute), State: "active"}}, 5 * time.Minute},
		{"a block turning expiring in two minutes", []ec2v1.CapacityReservation{{ReservationType: "capacity-block", EndTime: at(lead + 2*time.Minute), State: "active"}}, 2 * time.Minute},
		{"a block turning expiring in an hour", []ec2v1.CapacityReservation{{ReservationType: "capacity-block", EndTime: at(lead + time.Hour), State: "active"}}, 5 * time.Minute},
		{"a block expiring already", []ec2v1.CapacityReservation{{ReservationType: "capacity-block", EndTime: at(time.Minute), State: "expiring"}}, 5 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nc := &ec2v1.EC2NodeClass{Status: ec2v1.EC2NodeClassStatus{CapacityReservations: tc.reservations}}
			if got := c.nextResolve(nc); got != tc.want {
				t.Errorf("next resolve in %s, want %s", got, tc.want)
			}
		})
	}
}
