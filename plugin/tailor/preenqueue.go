package tailor

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"
	fwk "k8s.io/kube-scheduler/framework"
)

// PreEnqueue covers the one case PostFilter cannot: a cluster with no node
// at all. kube-scheduler then fails the pod ("no nodes available") before
// any Filter or PostFilter plugin runs, so a fresh cluster would never get
// its first node. A pod entering the active queue while there is no node
// joins the batch here; it is always let through.
func (t *Tailor) PreEnqueue(ctx context.Context, pod *corev1.Pod) *fwk.Status {
	if _, reserved := t.ledger.Of(pod.UID); reserved {
		return nil
	}
	if t.nodes.Load() > 0 || !t.leads() {
		// A standby does not provision; once it leads, kube-scheduler retries
		// the pod, which comes through here again.
		return nil
	}
	klog.FromContext(ctx).V(4).Info("No node exists: the pod joins the batch for new capacity", "pod", klog.KObj(pod))
	t.batcher.Add(pod)
	return nil
}
