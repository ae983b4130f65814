package interruption

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/launcher/fleet"
	"github.com/tailor-project/tailor/launcher/metrics"
	"github.com/tailor-project/tailor/launcher/nodeclaim"
)

// interrupt takes a claim whose instance is going away: its node is tainted
// so that nothing new lands there, the claim is marked Interrupted (which
// the scheduler plugin reads to place the node's pods at once), and the
// claim is deleted, so that its termination drains the node through the
// Eviction API within the time left. A spot warning also takes the spot
// offering away for a while, in the launcher's catalog and, through the
// claim, in the plugin's.
//
// Every step is idempotent, and events are recorded only by the handling
// that set the condition: a copy of the event, or another event about the
// same instance, changes nothing.
func (h *NodeClaimHandler) interrupt(ctx context.Context, msg Message, id, name string) (Outcome, error) {
	logger := klog.FromContext(ctx).WithValues("nodeClaim", name, "instance", id)
	claim := &karpv1.NodeClaim{}
	if err := h.Reader.Get(ctx, client.ObjectKey{Name: name}, claim); err != nil {
		if apierrors.IsNotFound(err) {
			return OutcomeIgnored, nil
		}
		return OutcomeFailed, fmt.Errorf("reading NodeClaim %s: %w", name, err)
	}
	reason, message := describe(msg, id)
	if msg.Kind == KindSpotInterruption {
		if o, ok := spotOffering(claim); ok {
			h.Unavailable.MarkUnavailable(ctx, o.InstanceType, o.Zone, o.CapacityType, reason)
		}
	}
	if !claim.DeletionTimestamp.IsZero() {
		// Its termination is under way, and drains the node already.
		logger.V(1).Info("The NodeClaim of an interrupted instance is already being deleted", "reason", reason)
		return OutcomeIgnored, nil
	}

	nodes, err := h.taint(ctx, claim)
	if err != nil {
		return OutcomeFailed, err
	}
	claim, marked, err := h.markInterrupted(ctx, msg, name, reason, message)
	if apierrors.IsNotFound(err) {
		return OutcomeIgnored, nil
	}
	if err != nil {
		return OutcomeFailed, err
	}
	if marked {
		h.Recorder.Event(claim, corev1.EventTypeWarning, reason, message)
		for _, n := range nodes {
			h.Recorder.Event(n, corev1.EventTypeWarning, reason, message)
		}
	}
	if !claim.DeletionTimestamp.IsZero() {
		return OutcomeHandled, nil
	}
	if err := h.Client.Delete(ctx, claim, client.Preconditions{UID: &claim.UID}); client.IgnoreNotFound(err) != nil {
		return OutcomeFailed, fmt.Errorf("deleting interrupted NodeClaim %s: %w", name, err)
	}
	metrics.NodeClaimDisrupted(claim, metrics.MessageType(string(msg.Kind)), "", metrics.TerminationForceful)
	logger.Info("Deleting the NodeClaim of an interrupted instance", "reason", reason, "nodes", len(nodes))
	return OutcomeHandled, nil
}

// markInterrupted sets the claim's Interrupted condition and, for a spot
// warning, records the offering and the deadline on it. It returns the
// claim as written, and whether this call set the condition.
func (h *NodeClaimHandler) markInterrupted(ctx context.Context, msg Message, name, reason, message string) (*karpv1.NodeClaim, bool, error) {
	var claim *karpv1.NodeClaim
	var marked bool
	err := retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		claim = &karpv1.NodeClaim{}
		if err := h.Reader.Get(ctx, client.ObjectKey{Name: name}, claim); err != nil {
			return err
		}
		marked = false
		if !claim.DeletionTimestamp.IsZero() {
			return nil
		}
		before := claim.DeepCopy()
		if err := h.annotate(claim, msg, reason); err != nil {
			return err
		}
		if !equality.Semantic.DeepEqual(before.ObjectMeta, claim.ObjectMeta) {
			if err := h.Client.Patch(ctx, claim, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})); err != nil {
				return err
			}
		}
		marked = !meta.IsStatusConditionTrue(claim.Status.Conditions, karpv1.ConditionTypeInterrupted)
		before = claim.DeepCopy()
		meta.SetStatusCondition(&claim.Status.Conditions, metav1.Condition{
			Type: karpv1.ConditionTypeInterrupted, Status: metav1.ConditionTrue, Reason: reason, Message: message,
			ObservedGeneration: claim.Generation,
		})
		if equality.Semantic.DeepEqual(before.Status, claim.Status) {
			return nil
		}
		return h.Client.Status().Patch(ctx, claim, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{}))
	})
	if err != nil && !apierrors.IsNotFound(err) {
		err = fmt.Errorf("marking NodeClaim %s %s: %w", name, karpv1.ConditionTypeInterrupted, err)
	}
	return claim, marked, err
}

// annotate records on the claim, for a spot warning, the offering EC2 takes
// back (the scheduler plugin reads it into its own catalog, so that the
// replacement avoids it), and when the instance goes, which bounds the
// drain: past that time the drain deletes what is left rather than wait on
// pods that EC2 cuts off anyway.
func (h *NodeClaimHandler) annotate(claim *karpv1.NodeClaim, msg Message, reason string) error {
	now := h.Clock.Now()
	if msg.Kind == KindSpotInterruption {
		if o, ok := spotOffering(claim); ok && !recorded(claim, o, reason) {
			o.Reason, o.At = reason, now.UTC().Truncate(time.Second)
			if err := nodeclaim.RecordUnavailable(claim, o); err != nil {
				return err
			}
		}
	}
	var deadline time.Time
	switch msg.Kind {
	case KindSpotInterruption:
		deadline = msg.Deadline
	case KindStateChange:
		// The instance is stopping or gone: its kubelet will not see its
		// pods out, and no time is left to wait for it.
		deadline = now
	}
	if deadline.IsZero() || claim.Annotations[wellknown.NodeClaimTerminationTimestampAnnotation] != "" {
		return nil
	}
	// A shorter terminationGracePeriod wins, as it would have once the
	// claim is deleted.
	if grace := claim.Spec.TerminationGracePeriod; grace != nil && now.Add(grace.Duration).Before(deadline) {
		deadline = now.Add(grace.Duration)
	}
	metav1.SetMetaDataAnnotation(&claim.ObjectMeta, wellknown.NodeClaimTerminationTimestampAnnotation, deadline.UTC().Format(time.RFC3339))
	return nil
}

// spotOffering is the spot offering a claim was launched as, from the
// labels the launcher wrote at launch.
func spotOffering(claim *karpv1.NodeClaim) (fleet.Offering, bool) {
	o := fleet.Offering{
		InstanceType: claim.Labels[wellknown.InstanceTypeLabel],
		Zone:         claim.Labels[wellknown.ZoneLabel],
		CapacityType: claim.Labels[wellknown.CapacityTypeLabel],
	}
	return o, o.InstanceType != "" && o.Zone != "" && o.CapacityType == wellknown.CapacityTypeSpot
}

// recorded reports whether the claim's annotation holds the offering for
// the reason already.
func recorded(claim *karpv1.NodeClaim, o fleet.Offering, reason string) bool {
	have, err := nodeclaim.UnavailableOfferings(claim)
	if err != nil {
		return false
	}
	for _, r := range have {
		if r.InstanceType == o.InstanceType && r.Zone == o.Zone && r.CapacityType == o.CapacityType && r.Reason == reason {
			return true
		}
	}
	return false
}
