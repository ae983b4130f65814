package manager_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/tailor-project/tailor/launcher/manager"
	"github.com/tailor-project/tailor/test/manifests"
)

// manifestDir holds the launcher's deployment manifests.
var manifestDir = filepath.Join("..", "..", "manifests", "launcher")

// decodeManifests reads every object of a file of the launcher's manifests.
func decodeManifests(t *testing.T, name string) []runtime.Object {
	t.Helper()
	scheme, err := manager.Scheme()
	if err != nil {
		t.Fatal(err)
	}
	return manifests.Decode(t, scheme, filepath.Join(manifestDir, name))
}

// TestManifests: the RBAC grants what the launcher's controllers do, the
// Deployment runs the launcher with leader election, and the IAM policy is
// a policy with the EC2 calls the launcher makes.
func TestManifests(t *testing.T) {
	var rules []rbacv1.PolicyRule
	for _, obj := range decodeManifests(t, "rbac.yaml") {
		if role, ok := obj.(*rbacv1.ClusterRole); ok {
			rules = append(rules, role.Rules...)
		}
	}
	for _, need := range []struct{ group, resource, verb string }{
		{"karpenter.sh", "nodeclaims", "delete"}, {"karpenter.sh", "nodeclaims/status", "patch"},
		{"karpenter.k8s.aws", "ec2nodeclasses/status", "patch"}, {"", "nodes", "delete"},
		{"karpenter.sh", "nodepools", "watch"}, {"karpenter.sh", "nodepools", "patch"}, {"karpenter.sh", "nodepools/status", "patch"},
		{"", "pods/eviction", "create"}, {"", "pods", "delete"}, {"", "events", "create"},
		{"storage.k8s.io", "volumeattachments", "watch"}, {"", "persistentvolumeclaims", "get"},
	} {
		if !slices.ContainsFunc(rules, func(r rbacv1.PolicyRule) bool {
			return slices.Contains(r.APIGroups, need.group) && slices.Contains(r.Resources, need.resource) && slices.Contains(r.Verbs, need.verb)
		}) {
			t.Errorf("the ClusterRole does not allow %s %s.%s", need.verb, need.resource, need.group)
		}
	}
	objs := decodeManifests(t, "deployment.yaml")
	deployment, ok := objs[0].(*appsv1.Deployment)
	if !ok || len(objs) != 1 {
		t.Fatalf("deployment.yaml holds %d objects, the first a %T", len(objs), objs[0])
	}
	args := deployment.Spec.Template.Spec.Containers[0].Args
	if len(args) == 0 || args[0] != "launcher" || !slices.Contains(args, "--leader-elect=true") {
		t.Errorf("the Deployment runs %v, want the launcher with leader election", args)
	}

	var policy struct {
		Version   string
		Statement []struct {
			Effect string
			Action any
		}
	}
	raw, err := os.ReadFile(filepath.Join(manifestDir, "iam-policy.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &policy); err != nil {
		t.Fatal(err)
	}
	actions := map[string]bool{}
	for _, s := range policy.Statement {
		switch a := s.Action.(type) {
		case string:
			actions[a] = true
		case []any:
			for _, one := range a {
				actions[one.(string)] = true
			}
		}
	}
	for _, need := range []string{
		"ec2:CreateFleet", "ec2:RunInstances", "ec2:CreateLaunchTemplate", "ec2:DeleteLaunchTemplate", "ec2:TerminateInstances",
		"ec2:DescribeInstances", "ec2:DescribeCapacityReservations", "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups", "ec2:DescribeImages", "ec2:CreateTags",
		"ssm:GetParameter", "iam:CreateInstanceProfile", "iam:AddRoleToInstanceProfile", "iam:PassRole", "pricing:GetProducts",
	} {
		if !actions[need] {
			t.Errorf("the IAM policy does not allow %s", need)
		}
	}
}
