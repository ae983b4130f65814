package nodeclass

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
)

// ConditionTypeValidationSucceeded says whether the parts of a class that
// Tailor checks beyond the CRD's validation, its user data above all, are
// usable. It is Karpenter's condition type of the same purpose.
const ConditionTypeValidationSucceeded = "ValidationSucceeded"

// partConditions are the conditions that together make a class Ready, in
// the order Ready's message lists what is wrong.
var partConditions = []string{
	ec2v1.ConditionTypeSubnetsReady,
	ec2v1.ConditionTypeSecurityGroupsReady,
	ec2v1.ConditionTypeAMIsReady,
	ec2v1.ConditionTypeInstanceProfileReady,
	ConditionTypeValidationSucceeded,
}

// Reasons of the conditions.
const (
	reasonResolved         = "Resolved"
	reasonResolutionFailed = "ResolutionFailed"
	reasonNotReady         = "NotReady"
	reasonReady            = "Ready"
	reasonUserDataInvalid  = "UserDataInvalid"
)

// setCondition sets one condition, keeping its transition time when the
// status does not change.
func setCondition(nc *ec2v1.EC2NodeClass, condType string, status metav1.ConditionStatus, reason, message string) {
	meta.SetStatusCondition(&nc.Status.Conditions, metav1.Condition{
		Type:               condType,
		Status:             status,
		Reason:             reason,
		Message:            message,
		ObservedGeneration: nc.Generation,
	})
}

// setReady derives Ready from the part conditions: True when all are, else
// False with what each false part says.
func setReady(nc *ec2v1.EC2NodeClass) {
	var problems []string
	for _, t := range partConditions {
		c := meta.FindStatusCondition(nc.Status.Conditions, t)
		switch {
		case c == nil:
			problems = append(problems, t+" is not known yet")
		case c.Status != metav1.ConditionTrue:
			problems = append(problems, fmt.Sprintf("%s: %s", t, c.Message))
		}
	}
	if len(problems) == 0 {
		setCondition(nc, ec2v1.ConditionTypeReady, metav1.ConditionTrue, reasonReady, readySummary(nc))
		return
	}
	setCondition(nc, ec2v1.ConditionTypeReady, metav1.ConditionFalse, reasonNotReady, strings.Join(problems, "; "))
}

func readySummary(nc *ec2v1.EC2NodeClass) string {
	return fmt.Sprintf("%d subnets, %d security groups, %d AMIs, instance profile %s",
		len(nc.Status.Subnets), len(nc.Status.SecurityGroups), len(nc.Status.AMIs), nc.Status.InstanceProfile)
}

// IsReady reports whether a class is Ready for the generation of its spec,
// and if not, why, in words for an event on a NodeClaim that waits for it.
func IsReady(nc *ec2v1.EC2NodeClass) (bool, string) {
	c := meta.FindStatusCondition(nc.Status.Conditions, ec2v1.ConditionTypeReady)
	switch {
	case c == nil:
		return false, "it has not been resolved yet"
	case c.ObservedGeneration != nc.Generation:
		return false, "its latest change has not been resolved yet"
	case c.Status != metav1.ConditionTrue:
		return false, c.Message
	}
	return true, ""
}
