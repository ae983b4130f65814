package nodeclaim

import (
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
)

// lifecycleConditions make a claim Ready, in the order a claim goes through
// them.
var lifecycleConditions = []string{
	karpv1.ConditionTypeLaunched,
	karpv1.ConditionTypeRegistered,
	karpv1.ConditionTypeInitialized,
}

// setCondition sets a condition of the claim, keeping its transition time
// when its status does not change, and brings Ready in line.
func setCondition(claim *karpv1.NodeClaim, condType string, status metav1.ConditionStatus, reason, message string) {
	meta.SetStatusCondition(&claim.Status.Conditions, metav1.Condition{
		Type:               condType,
		Status:             status,
		Reason:             reason,
		Message:            message,
		ObservedGeneration: claim.Generation,
	})
	setReady(claim)
}

// setReady derives Ready: True once the claim is launched, registered and
// initialized; otherwise the status, reason and message of the first step
// that is not done.
func setReady(claim *karpv1.NodeClaim) {
	for _, t := range lifecycleConditions {
		c := meta.FindStatusCondition(claim.Status.Conditions, t)
		if c == nil {
			meta.SetStatusCondition(&claim.Status.Conditions, metav1.Condition{
				Type: karpv1.ConditionTypeReady, Status: metav1.ConditionUnknown, Reason: "AwaitingReconciliation",
				Message: t + " is not known yet", ObservedGeneration: claim.Generation,
			})
			return
		}
		if c.Status != metav1.ConditionTrue {
			message := t + " is " + string(c.Status)
			if c.Message != "" {
				message += ": " + c.Message
			}
			meta.SetStatusCondition(&claim.Status.Conditions, metav1.Condition{
				Type: karpv1.ConditionTypeReady, Status: c.Status, Reason: c.Reason,
				Message: message, ObservedGeneration: claim.Generation,
			})
			return
		}
	}
	meta.SetStatusCondition(&claim.Status.Conditions, metav1.Condition{
		Type: karpv1.ConditionTypeReady, Status: metav1.ConditionTrue, Reason: "Ready", ObservedGeneration: claim.Generation,
	})
}

// initializeConditions marks the steps a new claim has ahead as Unknown, so
// that kubectl shows the claim as not Ready from the start.
func initializeConditions(claim *karpv1.NodeClaim) {
	for _, t := range lifecycleConditions {
		if meta.FindStatusCondition(claim.Status.Conditions, t) == nil {
			meta.SetStatusCondition(&claim.Status.Conditions, metav1.Condition{
				Type: t, Status: metav1.ConditionUnknown, Reason: "AwaitingReconciliation", ObservedGeneration: claim.Generation,
			})
		}
	}
	setReady(claim)
}

func isTrue(claim *karpv1.NodeClaim, condType string) bool {
	return meta.IsStatusConditionTrue(claim.Status.Conditions, condType)
}

func findCondition(claim *karpv1.NodeClaim, condType string) *metav1.Condition {
	return meta.FindStatusCondition(claim.Status.Conditions, condType)
}
