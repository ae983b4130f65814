package reservation

import (
	"errors"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/types"
)

func res(uid, cpu string) Reservation {
	return Reservation{Pod: Pod{UID: types.UID(uid), Namespace: "default", Name: uid},
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu)}}
}

func TestLedger(t *testing.T) {
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, l *Ledger)
	}{
		{name: "reserved room is summed per node, without the asking pod", run: func(t *testing.T, l *Ledger) {
			l.Reserve("claim-a", res("p1", "1"), res("p2", "500m"))
			if _, ok := l.ClaimOf("node-a", "aws:///us-east-1a/i-1"); ok {
				t.Fatal("a node is known before the claim names it or its instance")
			}
			l.SetProviderID("claim-a", "aws:///us-east-1a/i-1")
			if c, ok := l.ClaimOf("node-a", "aws:///us-east-1a/i-1"); !ok || c != "claim-a" {
				t.Fatalf("by provider id: %q %v", c, ok)
			}
			l.SetNode("claim-a", "node-a")
			if c, ok := l.ClaimOf("node-a", ""); !ok || c != "claim-a" {
				t.Fatalf("by name: %q %v", c, ok)
			}
			sum, ok := l.ReservedOn("claim-a", Claimant{})
			if !ok || sum.Cpu().MilliValue() != 1500 || sum.Pods().Value() != 2 {
				t.Errorf("reserved %v", sum)
			}
			sum, _ = l.ReservedOn("claim-a", Claimant{UID: "p1"})
			if sum.Cpu().MilliValue() != 500 || sum.Pods().Value() != 1 {
				t.Errorf("reserved without p1: %v", sum)
			}
		}},
		{name: "consuming keeps the claim in use", run: func(t *testing.T, l *Ledger) {
			l.Reserve("claim-a", res("p1", "1"), res("p2", "1"))
			l.Consume("p1")
			if claim, unused := l.Release("p2"); claim != "claim-a" || unused {
				t.Errorf("release after a consume: %s unused=%v", claim, unused)
			}
		}},
		{name: "releasing the last pod leaves the claim unused", run: func(t *testing.T, l *Ledger) {
			l.Reserve("claim-a", res("p1", "1"))
			if claim, unused := l.Release("p1"); claim != "claim-a" || !unused {
				t.Errorf("release: %s unused=%v", claim, unused)
			}
			if _, ok := l.Of("p1"); ok {
				t.Error("a released pod keeps its reservation")
			}
		}},
		{name: "restore undoes a consume", run: func(t *testing.T, l *Ledger) {
			l.Reserve("claim-a", res("p1", "1"))
			r, _ := l.Of("p1")
			l.Consume("p1")
			l.Restore(r, true)
			if claim, unused := l.Release("p1"); claim != "claim-a" || !unused {
				t.Errorf("after restore: %s unused=%v", claim, unused)
			}
		}},
		{name: "a pod moves between claims", run: func(t *testing.T, l *Ledger) {
			l.Reserve("claim-a", res("p1", "1"))
			l.Reserve("claim-b", res("p1", "1"))
			if got := l.Waiting("claim-a"); len(got) != 0 {
				t.Errorf("claim-a still waits for %v", got)
			}
			if r, _ := l.Of("p1"); r.Claim != "claim-b" {
				t.Errorf("p1 reserved on %s", r.Claim)
			}
		}},
		{name: "forget returns the waiting pods and drops the node", run: func(t *testing.T, l *Ledger) {
			l.Reserve("claim-a", res("p2", "1"), res("p1", "1"))
			l.SetNode("claim-a", "node-a")
			l.SetProviderID("claim-a", "aws:///us-east-1a/i-1")
			got := l.Forget("claim-a")
			want := []Pod{{UID: "p1", Namespace: "default", Name: "p1"}, {UID: "p2", Namespace: "default", Name: "p2"}}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("forgot %v, want %v", got, want)
			}
			if _, ok := l.ClaimOf("node-a", "aws:///us-east-1a/i-1"); ok {
				t.Error("a forgotten claim keeps its node")
			}
			if _, ok := l.Of("p1"); ok {
				t.Error("a forgotten claim keeps its reservations")
			}
		}},
		{name: "a withdrawn claim never comes back through Restore", run: func(t *testing.T, l *Ledger) {
			// Reserve released p1 (it binds elsewhere), the claim went
			// unused and was withdrawn; then the binding failed.
			l.Reserve("claim-a", res("p1", "1"))
			r, _ := l.Of("p1")
			if _, unused := l.Release("p1"); !unused {
				t.Fatal("claim not unused after its only pod left")
			}
			if !l.BeginWithdraw("claim-a") {
				t.Fatal("an unused claim could not be withdrawn")
			}
			l.EndWithdraw("claim-a", true)
			if l.Restore(r, false) {
				t.Error("Restore brought back a reservation on a withdrawn claim")
			}
			if _, ok := l.Of("p1"); ok {
				t.Error("p1 waits on a withdrawn claim")
			}
			if got := l.Claims(); len(got) != 0 {
				t.Errorf("withdrawn claim still known: %v", got)
			}
		}},
		{name: "restore during a withdrawal is refused", run: func(t *testing.T, l *Ledger) {
			l.Reserve("claim-a", res("p1", "1"))
			r, _ := l.Of("p1")
			l.Release("p1")
			l.BeginWithdraw("claim-a")
			if l.Restore(r, false) {
				t.Error("Restore landed on a claim being withdrawn")
			}
			// The claim launched meanwhile and could not be deleted: it takes
			// reservations again.
			l.EndWithdraw("claim-a", false)
			if err := l.Reserve("claim-a", res("p2", "1")); err != nil {
				t.Errorf("a claim whose withdrawal failed refuses reservations: %v", err)
			}
		}},
		{name: "no reservation lands on a forgotten or withdrawing claim", run: func(t *testing.T, l *Ledger) {
			l.Reserve("claim-a", res("p1", "1"))
			l.Forget("claim-a")
			if err := l.Reserve("claim-a", res("p2", "1")); !errors.Is(err, ErrClaimGone) {
				t.Errorf("reserve on a forgotten claim: %v, want ErrClaimGone", err)
			}
			l.Track("claim-b")
			l.BeginWithdraw("claim-b")
			if err := l.Reserve("claim-b", res("p2", "1")); !errors.Is(err, ErrClaimGone) {
				t.Errorf("reserve on a withdrawing claim: %v, want ErrClaimGone", err)
			}
			l.Track("claim-a")
			if got := l.Claims(); len(got) != 1 || got[0] != "claim-b" {
				t.Errorf("claims %v, want only claim-b", got)
			}
		}},
		{name: "a claim a pod waits for or bound to is not withdrawn", run: func(t *testing.T, l *Ledger) {
			l.Reserve("claim-a", res("p1", "1"), res("p2", "1"))
			if l.BeginWithdraw("claim-a") {
				t.Error("withdrawing a claim pods wait for")
			}
			l.Consume("p1")
			l.Release("p2")
			if l.BeginWithdraw("claim-a") {
				t.Error("withdrawing a claim a pod bound to")
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := New()
			tc.run(t, l)
			if err := l.Check(); err != nil {
				t.Errorf("invariant: %v", err)
			}
		})
	}
}

func TestAnnotationRoundTrip(t *testing.T) {
	pods := []Pod{{UID: "u1", Namespace: "ns", Name: "a"}, {UID: "u2", Namespace: "ns", Name: "b"}}
	value, err := Encode(pods)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(value)
	if err != nil || !reflect.DeepEqual(got, pods) {
		t.Errorf("decoded %v, %v", got, err)
	}
	if got, err := Decode(""); err != nil || got != nil {
		t.Errorf("empty annotation: %v, %v", got, err)
	}
	if _, err := Decode("{not json"); err == nil {
		t.Error("a corrupt annotation decoded")
	}
}
