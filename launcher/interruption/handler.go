package interruption

import (
	"context"
	"errors"
	"fmt"

	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/launcher/fleet"
)

// NodeClaimHandler acts on the NodeClaims of the instances an event names.
type NodeClaimHandler struct {
	// Client reads through the manager's cache, which indexes claims by
	// InstanceIDIndex and nodes by provider id, and writes.
	Client client.Client
	// Reader reads the API server itself: every write starts from what is
	// there now, so that a write retried after a conflict converges.
	Reader client.Reader
	// Unavailable is the launcher's catalog.
	Unavailable fleet.Unavailable
	Recorder    record.EventRecorder
	Clock       clock.PassiveClock
}

var _ Handler = &NodeClaimHandler{}

// Handle implements Handler.
func (h *NodeClaimHandler) Handle(ctx context.Context, msg Message) (Outcome, error) {
	logger := klog.FromContext(ctx)
	if msg.Kind == KindNoOp {
		logger.V(2).Info("Ignoring an event that asks nothing of the launcher", "state", msg.State)
		return OutcomeIgnored, nil
	}
	outcome := OutcomeNoClaim
	var errs []error
	for _, id := range msg.InstanceIDs {
		claims := &karpv1.NodeClaimList{}
		if err := h.Client.List(ctx, claims, client.MatchingFields{InstanceIDIndex: id}); err != nil {
			errs = append(errs, fmt.Errorf("finding the NodeClaim of instance %s: %w", id, err))
			continue
		}
		if len(claims.Items) == 0 {
			logger.V(1).Info("No NodeClaim owns the instance of an event", "instance", id)
			continue
		}
		for i := range claims.Items {
			var got Outcome
			var err error
			if msg.Kind == KindRebalanceRecommendation {
				got, err = h.recommendRebalance(ctx, id, claims.Items[i].Name)
			} else {
				got, err = h.interrupt(ctx, msg, id, claims.Items[i].Name)
			}
			if err != nil {
				errs = append(errs, err)
				continue
			}
			outcome = weightier(outcome, got)
		}
	}
	return outcome, errors.Join(errs...)
}

// weightier is the outcome that says more of a message about several
// claims: handled, then ignored, then no claim.
func weightier(a, b Outcome) Outcome {
	rank := map[Outcome]int{OutcomeNoClaim: 0, OutcomeIgnored: 1, OutcomeHandled: 2}
	if rank[b] > rank[a] {
		return b
	}
	return a
}
