package disruption

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
)

var everything = labels.Everything()

// ReasonReplacementPlanned is the event reason on a claim being deleted
// whose pods had capacity planned for them.
const ReasonReplacementPlanned = "ReplacementPlanned"

// Prespin plans capacity for the pods of a node the moment its claim starts
// being deleted for a reason that does not wait for replacement capacity: a
// spot interruption or scheduled change, an instance stopped behind the
// launcher's back, expiry, or a `kubectl delete nodeclaim`. Without it the
// pods would be evicted first and wait for a new node after; with it the
// new node starts launching while the old one drains, as far as the time
// left allows.
//
// The claim is marked (tailor.sh/prespun) before anything is bought, so a
// pass cut short, or a replica that takes over, never buys twice. Claims the
// disruption loop itself deletes already have their replacements.
type Prespin struct {
	Env
}

// Reconcile implements Method.
func (p *Prespin) Reconcile(ctx context.Context) error {
	var claims karpv1.NodeClaimList
	if err := p.Objects.List(ctx, &claims); err != nil {
		return fmt.Errorf("listing NodeClaims: %w", err)
	}
	replacements := replacementsOf(claims.Items)
	onNode, err := p.podsByNode()
	if err != nil {
		return err
	}
	for i := range claims.Items {
		nc := &claims.Items[i]
		if nc.DeletionTimestamp == nil || nc.Status.NodeName == "" || nc.Annotations[PrespunAnnotation] != "" || len(replacements[nc.Name]) > 0 {
			continue
		}
		pods := 0
		for _, pod := range onNode[nc.Status.NodeName] {
			if Reschedulable(pod) {
				pods++
			}
		}
		if pods == 0 {
			continue
		}
		if err := p.prespin(ctx, nc); err != nil {
			klog.FromContext(ctx).Error(err, "Planning capacity for the pods of a node being deleted", "nodeClaim", nc.Name)
		}
	}
	return nil
}

func (p *Prespin) prespin(ctx context.Context, nc *karpv1.NodeClaim) error {
	logger := klog.FromContext(ctx).WithValues("nodeClaim", nc.Name, "node", nc.Status.NodeName)
	patch := client.MergeFrom(nc.DeepCopy())
	if nc.Annotations == nil {
		nc.Annotations = map[string]string{}
	}
	nc.Annotations[PrespunAnnotation] = "true"
	if err := p.Client.Patch(ctx, nc, patch); err != nil {
		return client.IgnoreNotFound(err)
	}
	plan, err := p.Planner.Displace(ctx, []string{nc.Status.NodeName})
	if err != nil {
		return err
	}
	launched, err := p.Planner.Launch(ctx, plan, nc.Name)
	if err != nil {
		return err
	}
	msg := fmt.Sprintf("Its %d pods fit on the other nodes", len(plan.Pods))
	if len(launched) > 0 {
		msg = fmt.Sprintf("Capacity for its %d pods is being launched before it goes: NodeClaim %s ($%.4f/h)", len(plan.Pods), strings.Join(launched, ", "), plan.Price)
	}
	if len(plan.Unplaced) > 0 {
		msg += fmt.Sprintf("; %d pods would find no room: %v", len(plan.Unplaced), firstReason(plan.Unplaced))
		p.Recorder.Eventf(nc, nil, corev1.EventTypeWarning, ReasonReplacementPlanned, "Disrupting", "%s", msg)
	} else {
		p.Recorder.Eventf(nc, nil, corev1.EventTypeNormal, ReasonReplacementPlanned, "Disrupting", "%s", msg)
	}
	logger.Info("Node being deleted; capacity planned for its pods", "pods", len(plan.Pods), "replacements", launched, "unplaced", len(plan.Unplaced))
	return nil
}

func firstReason(m map[*corev1.Pod]error) error {
	for _, err := range m {
		return err
	}
	return nil
}
