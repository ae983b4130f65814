package reservation

import (
	"fmt"
	"math/rand"
	"testing"

	"k8s.io/apimachinery/pkg/types"
)

// world is the cluster as the property test models it: pods that are
// pending, bound to a claim's node or to another node, or gone; claims that
// exist or were deleted.
type world struct {
	pods   map[types.UID]podFact
	claims map[string]bool
}

type podFact struct {
	state PodState
	// claim is the claim whose node the pod is bound to, "" for another node.
	claim string
}

const (
	worldPods   = 6
	worldClaims = 4
)

func newWorld() *world {
	w := &world{pods: map[types.UID]podFact{}, claims: map[string]bool{}}
	for i := 0; i < worldPods; i++ {
		w.pods[podUID(i)] = podFact{state: PodPending}
	}
	for i := 0; i < worldClaims; i++ {
		w.claims[claimName(i)] = true
	}
	return w
}

// ownerOf is the controller of pod slot i: two controllers share the pods.
func ownerOf(i int) types.UID { return types.UID(fmt.Sprintf("rs%d", i%worldPods%2)) }

func podUID(i int) types.UID { return types.UID(fmt.Sprintf("p%d", i)) }
func claimName(i int) string { return fmt.Sprintf("c%d", i) }

// history drives a ledger and a world through random steps as the plugin
// does: each step is one thing the cluster or the scheduler does, followed by
// what the plugin does about it. Some steps change the world without telling
// the ledger (an event missed or late); only a resync repairs those.
type history struct {
	t     *testing.T
	l     *Ledger
	w     *world
	log   []string
	stale bool // the world changed behind the ledger's back since the last resync
}

func (h *history) step(op, a, b int) {
	pod, claim := podUID(a%worldPods), claimName(b%worldClaims)
	switch op % 11 {
	case 0: // a batch reserves a pod it read pending, maybe stale, on a claim it read live, maybe stale
		h.logf("reserve %s on %s", pod, claim)
		if err := h.l.Reserve(claim, res(string(pod), "1")); err == nil {
			h.settle(pod)
		}
		if !h.w.claims[claim] {
			// The claim was deleted meanwhile; its delete event follows.
			h.l.Forget(claim)
		}
	case 1: // a scheduling cycle binds a pod to its claim's node, and the binding may fail
		r, ok := h.l.Of(pod)
		if !ok || h.w.pods[pod].state != PodPending {
			return
		}
		h.logf("cycle binds %s on its claim %s (fails %v)", pod, r.Claim, b%2 == 0)
		h.l.Consume(pod)
		if b%2 == 0 {
			h.l.Restore(r, true)
			return
		}
		h.w.pods[pod] = podFact{state: PodBound, claim: r.Claim}
	case 2: // a scheduling cycle binds a pod elsewhere; the claim may be withdrawn; the binding may fail
		r, ok := h.l.Of(pod)
		if !ok || h.w.pods[pod].state != PodPending {
			return
		}
		h.logf("cycle binds %s elsewhere (fails %v)", pod, b%2 == 0)
		if c, unused := h.l.Release(pod); unused {
			h.withdraw(c)
		}
		if b%2 == 0 {
			h.l.Restore(r, false)
			return
		}
		h.w.pods[pod] = podFact{state: PodBound}
	case 3: // another scheduler, or a stale batch, binds a pod; the update event arrives
		if h.w.pods[pod].state != PodPending {
			return
		}
		h.logf("%s bound outside the cycle", pod)
		h.w.pods[pod] = podFact{state: PodBound}
		h.settle(pod)
	case 4: // a pod is deleted (and comes back as a new pending pod of another uid, modelled as the same slot pending again later)
		h.logf("%s deleted", pod)
		h.w.pods[pod] = podFact{state: PodGone}
		h.settle(pod)
	case 5: // a claim is deleted by the launcher; its pods are decided again
		if !h.w.claims[claim] {
			return
		}
		h.logf("%s deleted", claim)
		h.w.claims[claim] = false
		h.l.Forget(claim)
	case 6: // something changes and its event is missed: a pod binds or goes, or a claim goes
		h.stale = true
		switch b % 3 {
		case 0:
			if h.w.pods[pod].state == PodPending {
				h.logf("%s bound, event missed", pod)
				h.w.pods[pod] = podFact{state: PodBound}
			}
		case 1:
			h.logf("%s deleted, event missed", pod)
			h.w.pods[pod] = podFact{state: PodGone}
		case 2:
			h.logf("%s deleted, event missed", claim)
			h.w.claims[claim] = false
		}
	case 7: // the periodic resync
		h.resync()
	case 8: // a gone pod slot is reused by a new pending pod; a deleted claim slot stays deleted
		if h.w.pods[pod].state == PodGone {
			h.logf("%s pending again", pod)
			h.w.pods[pod] = podFact{state: PodPending}
		}
	case 9: // a replacement claim holds room for a controller's displaced pod
		h.logf("%s holds room for %s", claim, ownerOf(a))
		if err := h.l.Hold(claim, Hold{Namespace: "default", Owner: ownerOf(a), For: fmt.Sprintf("old-%d", b), Requests: res("x", "1").Requests}); err == nil && !h.w.claims[claim] {
			h.l.Forget(claim)
		}
	case 10: // a pending pod of a holding controller takes the hold: in a batch, or binding (which may fail)
		if _, ok := h.l.Of(pod); ok || h.w.pods[pod].state != PodPending {
			return
		}
		who := Claimant{UID: pod, Namespace: "default", Owner: ownerOf(a)}
		if b%2 == 0 {
			h.logf("batch turns %s's hold on %s into its reservation", pod, claim)
			h.l.HoldToReservation(claim, who, Pod{UID: pod, Namespace: "default", Name: string(pod)})
			return
		}
		hold, ok := h.l.TakeHold(claim, who)
		if !ok {
			return
		}
		h.logf("cycle binds %s on %s with its controller's hold (fails %v)", pod, claim, a%2 == 0)
		if a%2 == 0 {
			h.l.ReturnHold(claim, hold)
			return
		}
		h.w.pods[pod] = podFact{state: PodBound, claim: claim}
	}
}

func (h *history) logf(format string, args ...any) {
	h.log = append(h.log, fmt.Sprintf(format, args...))
}

// settle is what the plugin does once it learns a pod's state.
func (h *history) settle(pod types.UID) {
	f := h.w.pods[pod]
	if c, unused := h.l.Settle(pod, f.state, f.claim); unused {
		h.withdraw(c)
	}
}

// withdraw is the plugin's withdrawal: a fresh read decides whether the
// claim can still be deleted.
func (h *history) withdraw(claim string) {
	if !h.l.BeginWithdraw(claim) {
		return
	}
	if h.w.claims[claim] && len(h.log)%3 == 0 {
		// The claim launched meanwhile: the delete's precondition fails and
		// the claim stays.
		h.logf("withdrawing %s fails: launched", claim)
		h.l.EndWithdraw(claim, false)
		return
	}
	h.logf("%s withdrawn", claim)
	h.w.claims[claim] = false
	h.l.EndWithdraw(claim, true)
}

// resync settles every reservation and forgets every claim that is gone.
func (h *history) resync() {
	h.logf("resync")
	for _, r := range h.l.All() {
		h.settle(r.Pod.UID)
	}
	for _, c := range h.l.Claims() {
		if !h.w.claims[c] {
			h.l.Forget(c)
		}
	}
	h.stale = false
}

// check asserts the invariants. Always: the ledger is consistent (a pod holds
// at most one reservation, no forgotten claim is known, room is counted once).
// Whenever the ledger has heard of every change: every reservation is for a
// pending pod on a live claim.
func (h *history) check() {
	h.t.Helper()
	if err := h.l.Check(); err != nil {
		h.t.Fatalf("%v\nhistory:\n%v", err, h.log)
	}
	promised := int64(0)
	for _, c := range h.l.Claims() {
		if sum, ok := h.l.ReservedOn(c, Claimant{}); ok {
			promised += sum.Pods().Value()
		}
	}
	holds := 0
	for _, c := range h.l.Claims() {
		holds += len(h.l.Holds(c))
	}
	if promised != int64(len(h.l.All())+holds) {
		h.t.Fatalf("room promised for %d pods, %d reservations and %d holds\nhistory:\n%v", promised, len(h.l.All()), holds, h.log)
	}
	if h.stale {
		return
	}
	for _, r := range h.l.All() {
		if f := h.w.pods[r.Pod.UID]; f.state != PodPending {
			h.t.Fatalf("%s holds a reservation on %s but is %v\nhistory:\n%v", r.Pod.UID, r.Claim, f.state, h.log)
		}
		if !h.w.claims[r.Claim] {
			h.t.Fatalf("%s holds a reservation on deleted claim %s\nhistory:\n%v", r.Pod.UID, r.Claim, h.log)
		}
	}
}

func runHistory(t *testing.T, steps []byte) {
	h := &history{t: t, l: New(), w: newWorld()}
	for i := 0; i+2 < len(steps); i += 3 {
		h.step(int(steps[i]), int(steps[i+1]), int(steps[i+2]))
		h.check()
	}
	h.resync()
	h.check()
}

// TestLedgerHistories runs random histories; FuzzLedgerHistories explores
// more with `go test -fuzz`.
func TestLedgerHistories(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 2000; i++ {
		steps := make([]byte, 3*60)
		rng.Read(steps)
		runHistory(t, steps)
	}
}

func FuzzLedgerHistories(f *testing.F) {
	// The two defects the ledger once had, as seeds: a pod bound while its
	// batch reserved it, and a Restore after its claim was withdrawn.
	f.Add([]byte{0, 0, 0, 3, 0, 0})
	f.Add([]byte{0, 1, 1, 2, 1, 0})
	f.Fuzz(func(t *testing.T, steps []byte) { runHistory(t, steps) })
}
