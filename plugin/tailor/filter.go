package tailor

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	resourcehelper "k8s.io/component-helpers/resource"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework"

	"github.com/tailor-project/tailor/plugin/reservation"
)

// Filter keeps a pod off the room of a node that was bought for other
// pods still on their way: on such a node a pod may use only what is not
// promised to others, its own reservation and one hold of its controller
// aside. No pod steals capacity that was bought for another, and room
// bought to replace a node waits for that node's pods.
func (t *Tailor) Filter(_ context.Context, _ fwk.CycleState, pod *corev1.Pod, nodeInfo fwk.NodeInfo) *fwk.Status {
	node := nodeInfo.Node()
	if node == nil {
		return nil
	}
	claim, ok := t.ledger.ClaimOf(node.Name, node.Spec.ProviderID)
	if !ok {
		return nil
	}
	if r, ok := t.ledger.Of(pod.UID); ok && r.Claim == claim {
		return nil
	}
	reserved, ok := t.ledger.ReservedOn(claim, claimantOf(pod))
	if !ok {
		return nil
	}
	if short := shortfall(nodeInfo, reserved, resourcehelper.PodRequests(pod, resourcehelper.PodResourcesOptions{})); short != "" {
		return fwk.NewStatus(fwk.Unschedulable, fmt.Sprintf("node's room is reserved for the pods nodeclaim/%s was bought for (%s short)", claim, short))
	}
	return nil
}

// claimantOf is the pod as the ledger matches it against reservations and
// holds.
func claimantOf(pod *corev1.Pod) reservation.Claimant {
	c := reservation.Claimant{UID: pod.UID, Namespace: pod.Namespace}
	if ref := metav1.GetControllerOf(pod); ref != nil {
		c.Owner = ref.UID
	}
	return c
}

// shortfall names the first resource the pod needs beyond what the node
// has left once reservations are honoured, "" when it fits.
func shortfall(nodeInfo fwk.NodeInfo, reserved, podRequests corev1.ResourceList) string {
	alloc := nodeInfo.GetAllocatable()
	used := nodeInfo.GetRequested()
	res := framework.NewResource(reserved)
	req := framework.NewResource(podRequests)
	switch {
	case req.MilliCPU > alloc.GetMilliCPU()-used.GetMilliCPU()-res.MilliCPU:
		return corev1.ResourceCPU.String()
	case req.Memory > alloc.GetMemory()-used.GetMemory()-res.Memory:
		return corev1.ResourceMemory.String()
	case req.EphemeralStorage > alloc.GetEphemeralStorage()-used.GetEphemeralStorage()-res.EphemeralStorage:
		return corev1.ResourceEphemeralStorage.String()
	case int64(len(nodeInfo.GetPods()))+1+reserved.Pods().Value() > int64(alloc.GetAllowedPodNumber()):
		return corev1.ResourcePods.String()
	}
	for name, q := range req.ScalarResources {
		if q > alloc.GetScalarResources()[name]-used.GetScalarResources()[name]-res.ScalarResources[name] {
			return name.String()
		}
	}
	return ""
}

// Score steers a pod to the node bought for it: the node its reservation
// is on, or a node that holds room for its controller.
func (t *Tailor) Score(_ context.Context, _ fwk.CycleState, pod *corev1.Pod, nodeInfo fwk.NodeInfo) (int64, *fwk.Status) {
	node := nodeInfo.Node()
	if node == nil {
		return 0, nil
	}
	claim, ok := t.ledger.ClaimOf(node.Name, node.Spec.ProviderID)
	if !ok {
		return 0, nil
	}
	if r, ok := t.ledger.Of(pod.UID); ok {
		if claim == r.Claim {
			return framework.MaxNodeScore, nil
		}
		return 0, nil
	}
	if t.ledger.HeldFor(claim, claimantOf(pod)) {
		return framework.MaxNodeScore, nil
	}
	return 0, nil
}

// ScoreExtensions implements framework.ScorePlugin: scores are already 0 or max.
func (t *Tailor) ScoreExtensions() framework.ScoreExtensions { return nil }
