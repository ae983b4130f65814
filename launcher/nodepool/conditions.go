package nodepool

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/launcher/nodeclass"
)

// Reasons of the pool's conditions.
const (
	ReasonValidationSucceeded  = "ValidationSucceeded"
	ReasonValidationFailed     = "NodePoolValidationFailed"
	ReasonNodeClassReady       = "NodeClassReady"
	ReasonNodeClassNotFound    = "NodeClassNotFound"
	ReasonNodeClassTerminating = "NodeClassTerminating"
	ReasonNodeClassNotReady    = "NodeClassNotReady"
	ReasonReady                = "Ready"
)

// partConditions make a pool Ready, in the order Ready reports them.
var partConditions = []string{karpv1.ConditionTypeValidationSucceeded, karpv1.ConditionTypeNodeClassReady}

func setCondition(np *karpv1.NodePool, condType string, status metav1.ConditionStatus, reason, message string) {
	meta.SetStatusCondition(&np.Status.Conditions, metav1.Condition{
		Type: condType, Status: status, Reason: reason, Message: message, ObservedGeneration: np.Generation,
	})
}

// setValidation writes ValidationSucceeded from the problems found.
func setValidation(np *karpv1.NodePool, problems []string) {
	if len(problems) > 0 {
		setCondition(np, karpv1.ConditionTypeValidationSucceeded, metav1.ConditionFalse, ReasonValidationFailed, strings.Join(problems, "; "))
		return
	}
	setCondition(np, karpv1.ConditionTypeValidationSucceeded, metav1.ConditionTrue, ReasonValidationSucceeded, "")
}

// setNodeClassReady writes NodeClassReady from the pool's class, nil when
// it does not exist, and records the generation of a Ready class.
func setNodeClassReady(np *karpv1.NodePool, nc *ec2v1.EC2NodeClass) {
	name := "default"
	if ref := np.Spec.Template.Spec.NodeClassRef; ref != nil {
		name = ref.Name
	}
	switch {
	case nc == nil:
		setCondition(np, karpv1.ConditionTypeNodeClassReady, metav1.ConditionFalse, ReasonNodeClassNotFound, fmt.Sprintf("EC2NodeClass %s does not exist", name))
	case !nc.DeletionTimestamp.IsZero():
		setCondition(np, karpv1.ConditionTypeNodeClassReady, metav1.ConditionFalse, ReasonNodeClassTerminating, fmt.Sprintf("EC2NodeClass %s is being deleted", name))
	default:
		if ready, why := nodeclass.IsReady(nc); !ready {
			setCondition(np, karpv1.ConditionTypeNodeClassReady, metav1.ConditionFalse, ReasonNodeClassNotReady, fmt.Sprintf("EC2NodeClass %s is not ready: %s", name, why))
			return
		}
		setCondition(np, karpv1.ConditionTypeNodeClassReady, metav1.ConditionTrue, ReasonNodeClassReady, "")
		np.Status.NodeClassObservedGeneration = nc.Generation
	}
}

// setReady derives Ready: True when every part is, else False with what
// each part that is not says.
func setReady(np *karpv1.NodePool) {
	var reason string
	var problems []string
	for _, t := range partConditions {
		c := meta.FindStatusCondition(np.Status.Conditions, t)
		if c != nil && c.Status == metav1.ConditionTrue {
			continue
		}
		if reason == "" && c != nil {
			reason = c.Reason
		}
		if c == nil {
			problems = append(problems, t+" is not known yet")
		} else {
			problems = append(problems, c.Message)
		}
	}
	if len(problems) == 0 {
		setCondition(np, karpv1.ConditionTypeReady, metav1.ConditionTrue, ReasonReady, "")
		return
	}
	if reason == "" {
		reason = "AwaitingReconciliation"
	}
	setCondition(np, karpv1.ConditionTypeReady, metav1.ConditionFalse, reason, strings.Join(problems, "; "))
}
