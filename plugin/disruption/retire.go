package disruption

import (
	"context"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
)

// retire takes a node away once its pods have somewhere to go: it taints
// the node karpenter.sh/disrupted:NoSchedule, so nothing new lands on it,
// and deletes its claim; the launcher drains the node through the Eviction
// API (PDBs, grace periods) and terminates the instance.
func (e *Env) retire(ctx context.Context, nc *karpv1.NodeClaim, why string) error {
	if nc.Status.NodeName != "" {
		if err := e.taint(ctx, nc.Status.NodeName); err != nil {
			return err
		}
	}
	if err := e.Client.Delete(ctx, nc, client.Preconditions{UID: &nc.UID}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting NodeClaim %s: %w", nc.Name, err)
	}
	e.Recorder.Eventf(nc, nil, corev1.EventTypeNormal, ReasonDisrupting, "Disrupting", "%s", why)
	return nil
}

// taint adds the disrupted taint to a node, once.
func (e *Env) taint(ctx context.Context, nodeName string) error {
	node := &corev1.Node{}
	if err := e.Client.Get(ctx, client.ObjectKey{Name: nodeName}, node); err != nil {
		return client.IgnoreNotFound(err)
	}
	if slices.ContainsFunc(node.Spec.Taints, func(t corev1.Taint) bool { return t.MatchTaint(&wellknown.DisruptedNoScheduleTaint) }) {
		return nil
	}
	patch := client.MergeFromWithOptions(node.DeepCopy(), client.MergeFromWithOptimisticLock{})
	node.Spec.Taints = append(node.Spec.Taints, wellknown.DisruptedNoScheduleTaint)
	if err := e.Client.Patch(ctx, node, patch); err != nil {
		return fmt.Errorf("tainting node %s %s: %w", nodeName, wellknown.DisruptedTaintKey, err)
	}
	return nil
}

// blocker names why a node may not be disrupted voluntarily, "" when it may:
// the claim, the node or one of its pods says karpenter.sh/do-not-disrupt.
func (e *Env) blocker(nc *karpv1.NodeClaim, pods []*corev1.Pod) string {
	if nc.Annotations[wellknown.DoNotDisruptAnnotation] == "true" {
		return fmt.Sprintf("NodeClaim %s is annotated %s", nc.Name, wellknown.DoNotDisruptAnnotation)
	}
	if node, err := e.Nodes.Get(nc.Status.NodeName); err == nil && node.Annotations[wellknown.DoNotDisruptAnnotation] == "true" {
		return fmt.Sprintf("node %s is annotated %s", node.Name, wellknown.DoNotDisruptAnnotation)
	}
	for _, p := range pods {
		if p.Annotations[wellknown.DoNotDisruptAnnotation] == "true" && p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
			return fmt.Sprintf("pod %s/%s is annotated %s", p.Namespace, p.Name, wellknown.DoNotDisruptAnnotation)
		}
	}
	return ""
}

// replacementsOf indexes, by the claim they replace, the claims bought as
// replacements.
func replacementsOf(claims []karpv1.NodeClaim) map[string][]*karpv1.NodeClaim {
	out := map[string][]*karpv1.NodeClaim{}
	for i := range claims {
		nc := &claims[i]
		if nc.DeletionTimestamp != nil {
			continue
		}
		for _, old := range replacedBy(nc) {
			out[old] = append(out[old], nc)
		}
	}
	return out
}

// replacedBy lists the claims a claim was bought to replace: one for drift
// and single-node consolidation, several, comma-separated, for multi-node
// consolidation.
func replacedBy(nc *karpv1.NodeClaim) []string {
	v := nc.Annotations[ReplacementForAnnotation]
	if v == "" {
		return nil
	}
	return strings.Split(v, ",")
}

// podsByNode indexes pods by their node.
func (e *Env) podsByNode() (map[string][]*corev1.Pod, error) {
	pods, err := e.Pods.List(everything)
	if err != nil {
		return nil, fmt.Errorf("listing pods: %w", err)
	}
	out := map[string][]*corev1.Pod{}
	for _, p := range pods {
		if p.Spec.NodeName != "" {
			out[p.Spec.NodeName] = append(out[p.Spec.NodeName], p)
		}
	}
	return out, nil
}

// names lists claim names, for messages.
func names(claims []*karpv1.NodeClaim) []string {
	out := make([]string, len(claims))
	for i, nc := range claims {
		out[i] = nc.Name
	}
	return out
}
