package tailor

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework"
)

// PostFilter runs for a pod that fits on no node. A pod already provided
// for waits for its node; any other joins the batch that the solver turns
// into NodeClaims. Nothing here calls the API server or solves: the
// scheduling cycle must stay fast, and the batch packs pods that arrive
// together onto shared nodes.
func (t *Tailor) PostFilter(ctx context.Context, _ fwk.CycleState, pod *corev1.Pod, _ framework.NodeToStatusReader) (*framework.PostFilterResult, *fwk.Status) {
	logger := klog.FromContext(ctx)
	t.checkProfileOrder(logger)
	if r, ok := t.ledger.Of(pod.UID); ok {
		return nil, t.waiting(fmt.Sprintf("waiting for nodeclaim/%s", r.Claim))
	}
	t.batcher.Add(pod)
	logger.V(4).Info("Pod joins the batch for new capacity", "pod", klog.KObj(pod))
	return nil, t.waiting("waiting for a NodeClaim: the pod is in the batch Tailor provisions for")
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
