package reservation

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/types"
)

func hold(owner, forPod, cpu string) Hold {
	return Hold{Namespace: "default", Owner: types.UID(owner), For: forPod,
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu)}}
}

func TestHolds(t *testing.T) {
	rsA := Claimant{UID: "new-a", Namespace: "default", Owner: "rs-a"}
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, l *Ledger)
	}{
		{"held room counts for others, not for the controller's next pod", func(t *testing.T, l *Ledger) {
			if err := l.Hold("claim-a", hold("rs-a", "old-a", "2"), hold("rs-b", "old-b", "1")); err != nil {
				t.Fatal(err)
			}
			sum, _ := l.ReservedOn("claim-a", Claimant{UID: "stranger", Namespace: "default", Owner: "rs-z"})
			if cpu := sum.Cpu().String(); cpu != "3" {
				t.Errorf("a stranger sees %s cpu promised, want 3", cpu)
			}
			sum, _ = l.ReservedOn("claim-a", rsA)
			if cpu := sum.Cpu().String(); cpu != "1" {
				t.Errorf("rs-a's pod sees %s cpu promised, want 1 (its own hold aside)", cpu)
			}
			if sum, _ = l.ReservedOn("claim-a", Claimant{UID: "x", Namespace: "other", Owner: "rs-a"}); sum.Cpu().String() != "3" {
				t.Errorf("a pod of another namespace took rs-a's hold: %s promised", sum.Cpu())
			}
		}},
		{"holding twice holds once", func(t *testing.T, l *Ledger) {
			_ = l.Hold("claim-a", hold("rs-a", "old-a", "1"))
			_ = l.Hold("claim-a", hold("rs-a", "old-a", "1"))
			if n := len(l.Holds("claim-a")); n != 1 {
				t.Errorf("%d holds after adopting one twice", n)
			}
		}},
		{"a claim holding room is in use, and may not be withdrawn", func(t *testing.T, l *Ledger) {
			_ = l.Hold("claim-a", hold("rs-a", "old-a", "1"))
			if l.Unused("claim-a") || l.BeginWithdraw("claim-a") {
				t.Error("a claim holding room was withdrawable")
			}
			if l.Pending("claim-a") != 1 {
				t.Errorf("Pending = %d, want 1", l.Pending("claim-a"))
			}
		}},
		{"taking a hold occupies the room; a failed binding returns it", func(t *testing.T, l *Ledger) {
			_ = l.Hold("claim-a", hold("rs-a", "old-a", "1"))
			h, ok := l.TakeHold("claim-a", rsA)
			if !ok || h.For != "old-a" {
				t.Fatalf("TakeHold = %v, %v", h, ok)
			}
			if _, ok := l.TakeHold("claim-a", rsA); ok {
				t.Error("one hold taken twice")
			}
			if l.Unused("claim-a") {
				t.Error("a claim whose hold was taken looks unused")
			}
			l.ReturnHold("claim-a", h)
			if !l.HeldFor("claim-a", rsA) {
				t.Error("the hold of a failed binding was not returned")
			}
		}},
		{"a hold becomes the pod's reservation", func(t *testing.T, l *Ledger) {
			_ = l.Hold("claim-a", hold("rs-a", "old-a", "2"))
			r, ok := l.HoldToReservation("claim-a", rsA, Pod{UID: "new-a", Namespace: "default", Name: "new-a"})
			if !ok || r.Requests.Cpu().String() != "2" {
				t.Fatalf("HoldToReservation = %v, %v", r, ok)
			}
			if got, ok := l.Of("new-a"); !ok || got.Claim != "claim-a" {
				t.Errorf("the pod holds %v, %v", got, ok)
			}
			if len(l.Holds("claim-a")) != 0 {
				t.Error("the hold stayed after it became a reservation")
			}
			sum, _ := l.ReservedOn("claim-a", Claimant{})
			if sum.Cpu().String() != "2" || sum.Pods().Value() != 1 {
				t.Errorf("room promised %v, want the 2 cpu and 1 pod counted once", sum)
			}
		}},
		{"a forgotten claim holds nothing", func(t *testing.T, l *Ledger) {
			_ = l.Hold("claim-a", hold("rs-a", "old-a", "1"))
			l.Forget("claim-a")
			if err := l.Hold("claim-a", hold("rs-a", "old-a", "1")); err == nil {
				t.Error("a forgotten claim took a hold")
			}
			if len(l.HoldingFor(rsA)) != 0 {
				t.Error("a forgotten claim still holds room")
			}
		}},
		{"holds nobody will take are dropped", func(t *testing.T, l *Ledger) {
			_ = l.Hold("claim-a", hold("rs-a", "old-a", "1"), hold("rs-b", "old-b", "1"))
			if n := l.DropHolds("claim-a", func(h Hold) bool { return h.Owner == "rs-b" }); n != 1 {
				t.Errorf("dropped %d holds, want 1", n)
			}
			if l.HeldFor("claim-a", rsA) {
				t.Error("rs-a's hold survived")
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := New()
			tc.run(t, l)
			if err := l.Check(); err != nil {
				t.Error(err)
			}
		})
	}
}
