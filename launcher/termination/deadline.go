package termination

import (
	"time"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
)

// deadline is when the claim's terminationGracePeriod runs out: the time in
// its annotation, written when its deletion began; nil when the claim has
// no grace period (or no annotation yet), and the drain may wait forever.
func deadline(claim *karpv1.NodeClaim) *time.Time {
	if claim == nil {
		return nil
	}
	raw, ok := claim.Annotations[wellknown.NodeClaimTerminationTimestampAnnotation]
	if !ok {
		return nil
	}
	t, err := time.Parse(time.RFC3339, raw)
	if err != nil {
		return nil
	}
	return &t
}

// deadlineAnnotation is the value of the termination timestamp annotation
// for a claim being deleted, "" when it has no grace period.
func deadlineAnnotation(claim *karpv1.NodeClaim) string {
	if claim.Spec.TerminationGracePeriod == nil || claim.DeletionTimestamp.IsZero() {
		return ""
	}
	return claim.DeletionTimestamp.Add(claim.Spec.TerminationGracePeriod.Duration).UTC().Format(time.RFC3339)
}
