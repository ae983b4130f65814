package tailor

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"
	fwk "k8s.io/kube-scheduler/framework"

	"github.com/tailor-project/tailor/plugin/reservation"
)

// reserveStateKey keeps, in the cycle state, what Reserve did to a pod's
// reservation, so Unreserve can put it back when the binding fails.
const reserveStateKey fwk.StateKey = Name + "/reservation"

type reserveState struct {
	reservation reservation.Reservation
	consumed    bool
	// hold is the hold the pod took on claim, when it had no reservation
	// and its controller's room was kept on the node.
	hold  *reservation.Hold
	claim string
}

func (s *reserveState) Clone() fwk.StateData { return s }

// Reserve settles a pod's reservation as the pod is bound: on its claim's
// node the reservation is consumed; elsewhere (an existing node freed up) it
// is released, and a claim left with nothing to do is withdrawn before it
// launches.
//
// A pod with no reservation that binds to a node holding room for its
// controller takes that hold: it is the displaced pod the room was kept
// for, come back.
func (t *Tailor) Reserve(ctx context.Context, state fwk.CycleState, pod *corev1.Pod, nodeName string) *fwk.Status {
	r, ok := t.ledger.Of(pod.UID)
	if !ok {
		if claim := t.claimOfNode(nodeName); claim != "" {
			if h, took := t.ledger.TakeHold(claim, claimantOf(pod)); took {
				state.Write(reserveStateKey, &reserveState{hold: &h, claim: claim})
				klog.FromContext(ctx).V(2).Info("Pod takes the room held for its controller", "pod", klog.KObj(pod), "nodeClaim", claim, "for", h.For)
			}
		}
		return nil
	}
	if t.claimOfNode(nodeName) == r.Claim {
		t.ledger.Consume(pod.UID)
		// Until the binding shows on the pod, a batch must not take the pod,
		// which now holds no reservation, for one still pending.
		t.binding.Store(pod.UID, r.Claim)
		state.Write(reserveStateKey, &reserveState{reservation: r, consumed: true})
		return nil
	}
	claim, unused := t.ledger.Release(pod.UID)
	state.Write(reserveStateKey, &reserveState{reservation: r})
	klog.FromContext(ctx).V(2).Info("Pod binds elsewhere; its reservation is released", "pod", klog.KObj(pod), "node", nodeName, "nodeClaim", claim)
	if unused {
		// Withdrawing calls the API server: not on the scheduling cycle. If
		// the binding then fails, Unreserve finds the claim withdrawn and
		// the pod is decided again.
		go t.withdraw(context.WithoutCancel(ctx), claim)
	}
	return nil
}

// claimOfNode is the claim a node was bought as, "" for other nodes; the
// node's provider id counts before the claim names the node.
func (t *Tailor) claimOfNode(nodeName string) string {
	providerID := ""
	if ni, err := t.handle.SnapshotSharedLister().NodeInfos().Get(nodeName); err == nil && ni.Node() != nil {
		providerID = ni.Node().Spec.ProviderID
	}
	claim, _ := t.ledger.ClaimOf(nodeName, providerID)
	return claim
}

// Unreserve puts back what Reserve changed, unless the claim was withdrawn
// or forgotten meanwhile: the pod then has no reservation, and its next
// scheduling attempt provides for it again.
func (t *Tailor) Unreserve(ctx context.Context, state fwk.CycleState, pod *corev1.Pod, _ string) {
	data, err := state.Read(reserveStateKey)
	if err != nil {
		return
	}
	s := data.(*reserveState)
	if s.hold != nil {
		t.ledger.ReturnHold(s.claim, *s.hold)
		return
	}
	t.binding.Delete(pod.UID)
	if !t.ledger.Restore(s.reservation, s.consumed) {
		klog.FromContext(ctx).V(2).Info("Binding failed and the pod's NodeClaim is gone; the pod is decided again",
			"pod", klog.KObj(pod), "nodeClaim", s.reservation.Claim)
	}
}
