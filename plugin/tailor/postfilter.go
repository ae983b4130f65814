package tailor

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/names"
)

// PostFilter runs for a pod that fits on no node. A pod already provided
// for waits for its node; any other joins the batch that the solver turns
// into NodeClaims. Nothing here calls the API server or solves: the
// scheduling cycle must stay fast, and the batch packs pods that arrive
// together onto shared nodes.
func (t *Tailor) PostFilter(ctx context.Context, _ fwk.CycleState, pod *corev1.Pod, filtered framework.NodeToStatusReader) (*framework.PostFilterResult, *fwk.Status) {
	logger := klog.FromContext(ctx)
	t.checkProfileOrder(logger)
	if r, ok := t.ledger.Of(pod.UID); ok {
		node := t.ledger.NodeOf(r.Claim)
		if node == "" || !t.usable(node) || !outOfRoom(filtered.Get(node)) {
			return nil, t.waiting(fmt.Sprintf("waiting for nodeclaim/%s", r.Claim))
		}
		// The node bought for the pod is up and refused it for lack of
		// room: the room went to another pod in the moment the node joined,
		// or the node came up with less than its type promised
		// (shortnodes.go). Waiting would be forever; decide again.
		if ni, err := t.handle.SnapshotSharedLister().NodeInfos().Get(node); err == nil && ni.Node() != nil {
			short, early := shortFor(ni.Node(), pod, time.Now())
			if early {
				return nil, t.waiting(fmt.Sprintf("waiting for node %s of nodeclaim/%s to advertise what the pod requests (%s)", node, r.Claim, short))
			}
			if short != "" {
				t.nodeCameShort(pod, ni.Node(), r.Claim, short)
			}
		}
		t.ledger.Release(pod.UID)
		t.mu.Lock()
		t.lostRoom[pod.UID] = r.Claim
		t.mu.Unlock()
		logger.Info("The node bought for the pod cannot take it; deciding again", "pod", klog.KObj(pod), "nodeClaim", r.Claim, "node", node)
		t.handle.EventRecorder().Eventf(pod, nil, corev1.EventTypeWarning, ReasonReservationLost, "Provisioning",
			"Node %s of NodeClaim %s no longer has room for the pod; deciding again", node, r.Claim)
	}
	t.batcher.Add(pod)
	logger.V(4).Info("Pod joins the batch for new capacity", "pod", klog.KObj(pod))
	return nil, t.waiting("waiting for a NodeClaim: the pod is in the batch Tailor provisions for")
}

// outOfRoom: a node refused the pod for its resources, not for a taint or
// a constraint that may yet change.
func outOfRoom(s *fwk.Status) bool {
	return s != nil && s.Plugin() == names.NodeResourcesFit
}

// usable reports whether a node of the cycle's snapshot is up and
// schedulable.
func (t *Tailor) usable(nodeName string) bool {
	ni, err := t.handle.SnapshotSharedLister().NodeInfos().Get(nodeName)
	return err == nil && ni.Node() != nil && nodeUsable(ni.Node())
}

// waiting is the status of a pod Tailor provides for. Before preemption it
// ends the PostFilter phase, so DefaultPreemption evicts nothing for a pod
// that gets its own node; after, there is nothing left to run.
func (t *Tailor) waiting(msg string) *fwk.Status {
	if *t.args.ProvisionBeforePreemption {
		return fwk.NewStatus(fwk.UnschedulableAndUnresolvable, msg)
	}
	return fwk.NewStatus(fwk.Unschedulable, msg)
}
