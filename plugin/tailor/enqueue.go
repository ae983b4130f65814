package tailor

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/klog/v2"
	fwk "k8s.io/kube-scheduler/framework"

	"github.com/tailor-project/tailor/apis/wellknown"
)

// Custom resources, as the scheduler names them for its dynamic informers.
const (
	nodeClaimResource    fwk.EventResource = "nodeclaims.v1.karpenter.sh"
	nodePoolResource     fwk.EventResource = "nodepools.v1.karpenter.sh"
	ec2NodeClassResource fwk.EventResource = "ec2nodeclasses.v1.karpenter.k8s.aws"
)

// EventsToRegister lists what can make a pod Tailor's Filter refused
// schedulable: a node of a claim becoming usable, a claim failing or going
// away (its room is no longer promised, or the pod must be decided again),
// and a NodePool or EC2NodeClass changing (what can be bought changed).
//
// The scheduler asks these hints only for pods a Filter of Tailor refused.
// The pods Tailor itself provides for were refused by other plugins
// (NodeResourcesFit, say), so the plugin also moves them to the active
// queue itself when their claim's node is ready or their claim is gone
// (see watch.go).
func (t *Tailor) EventsToRegister(context.Context) ([]fwk.ClusterEventWithHint, error) {
	return []fwk.ClusterEventWithHint{
		{Event: fwk.ClusterEvent{Resource: fwk.Node, ActionType: fwk.Add | fwk.UpdateNodeTaint | fwk.UpdateNodeCondition | fwk.UpdateNodeAllocatable}, QueueingHintFn: t.hintNode},
		{Event: fwk.ClusterEvent{Resource: fwk.Pod, ActionType: fwk.Delete}, QueueingHintFn: t.hintPodDeleted},
		{Event: fwk.ClusterEvent{Resource: nodeClaimResource, ActionType: fwk.Update | fwk.Delete}, QueueingHintFn: t.hintNodeClaim},
		{Event: fwk.ClusterEvent{Resource: nodePoolResource, ActionType: fwk.Add | fwk.Update}, QueueingHintFn: queueAlways},
		{Event: fwk.ClusterEvent{Resource: ec2NodeClassResource, ActionType: fwk.Add | fwk.Update}, QueueingHintFn: queueAlways},
	}, nil
}

// hintNode: a node that is Ready and schedulable may be the pod's own, or
// one whose promised room got used.
func (t *Tailor) hintNode(logger klog.Logger, pod *corev1.Pod, _, newObj interface{}) (fwk.QueueingHint, error) {
	node, ok := newObj.(*corev1.Node)
	if !ok || !nodeUsable(node) {
		return fwk.QueueSkip, nil
	}
	if r, ok := t.ledger.Of(pod.UID); ok {
		if claim, _ := t.ledger.ClaimOf(node.Name, node.Spec.ProviderID); claim == r.Claim {
			logger.V(5).Info("The node bought for the pod is ready", "pod", klog.KObj(pod), "node", node.Name)
			return fwk.Queue, nil
		}
		// The pod waits for its own node; another node coming up is for
		// NodeResourcesFit to weigh, not for Tailor.
		return fwk.QueueSkip, nil
	}
	logger.V(5).Info("Node may now host the pod", "pod", klog.KObj(pod), "node", node.Name)
	return fwk.Queue, nil
}

// hintPodDeleted: a pod leaving a node with reservations may free room.
func (t *Tailor) hintPodDeleted(_ klog.Logger, _ *corev1.Pod, oldObj, _ interface{}) (fwk.QueueingHint, error) {
	deleted, ok := oldObj.(*corev1.Pod)
	if !ok || deleted.Spec.NodeName == "" {
		return fwk.QueueSkip, nil
	}
	if _, ok := t.ledger.ClaimOf(deleted.Spec.NodeName, ""); ok {
		return fwk.Queue, nil
	}
	return fwk.QueueSkip, nil
}

// hintNodeClaim: the pod's own claim changed or went away.
func (t *Tailor) hintNodeClaim(_ klog.Logger, pod *corev1.Pod, oldObj, newObj interface{}) (fwk.QueueingHint, error) {
	obj := newObj
	if obj == nil {
		obj = oldObj
	}
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return fwk.Queue, nil
	}
	if r, ok := t.ledger.Of(pod.UID); ok && r.Claim != u.GetName() {
		return fwk.QueueSkip, nil
	}
	return fwk.Queue, nil
}

func queueAlways(klog.Logger, *corev1.Pod, interface{}, interface{}) (fwk.QueueingHint, error) {
	return fwk.Queue, nil
}

// nodeUsable: Ready, schedulable, and past registration.
func nodeUsable(node *corev1.Node) bool {
	if node.Spec.Unschedulable {
		return false
	}
	for _, taint := range node.Spec.Taints {
		if taint.Key == wellknown.UnregisteredTaintKey || taint.Key == corev1.TaintNodeNotReady {
			return false
		}
	}
	for _, c := range node.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
