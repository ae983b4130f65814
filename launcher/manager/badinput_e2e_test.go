package manager_test

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/launcher/nodeclaim"
	"github.com/tailor-project/tailor/launcher/nodeclass"
)

// TestBadNodeClasses: classes that cannot work (selectors that match
// nothing, an alias without an SSM parameter, user data that is not valid
// for the family) get a condition that says why and an event; their claims
// wait with an event of their own; nothing is launched and the launcher
// keeps running.
func TestBadNodeClasses(t *testing.T) {
	e := newEnv(t)
	l := e.startLauncher(launcherConfig{})
	tests := []struct {
		name      string
		mutate    func(*ec2v1.EC2NodeClass)
		condition string
		reason    string
		message   string
	}{
		{
			name: "no-subnets",
			mutate: func(nc *ec2v1.EC2NodeClass) {
				nc.Spec.SubnetSelectorTerms = []ec2v1.SubnetSelectorTerm{{Tags: map[string]string{"karpenter.sh/discovery": "my-cluster"}}}
			},
			condition: ec2v1.ConditionTypeSubnetsReady, reason: "SubnetsNotFound",
			message: "no subnet matches tags karpenter.sh/discovery=my-cluster",
		},
		{
			name: "no-security-groups",
			mutate: func(nc *ec2v1.EC2NodeClass) {
				nc.Spec.SecurityGroupSelectorTerms = []ec2v1.SecurityGroupSelectorTerm{{Name: "does-not-exist"}, {ID: "sg-0123456789abcdef0"}}
			},
			condition: ec2v1.ConditionTypeSecurityGroupsReady, reason: "SecurityGroupsNotFound",
			message: "no security group matches any of: name does-not-exist; id sg-0123456789abcdef0",
		},
		{
			name: "no-such-alias",
			mutate: func(nc *ec2v1.EC2NodeClass) {
				nc.Spec.AMISelectorTerms = []ec2v1.AMISelectorTerm{{Alias: "al2023@v20990101"}}
			},
			condition: ec2v1.ConditionTypeAMIsReady, reason: "AMIAliasNotFound",
			message: "alias al2023@v20990101 names no AMI for Kubernetes 1.34: no SSM parameter /aws/service/eks/optimized-ami/1.34/amazon-linux-2023/x86_64/standard/amazon-eks-node-al2023-x86_64-standard-1.34-v20990101/image_id",
		},
		{
			name:      "bad-nodeadm-user-data",
			mutate:    func(nc *ec2v1.EC2NodeClass) { nc.Spec.UserData = ptr.To("kind: NodeConfig\nspec: [this is not a map") },
			condition: nodeclass.ConditionTypeValidationSucceeded, reason: "UserDataInvalid",
			message: "userData is not valid for AMI family AL2023",
		},
		{
			name: "bad-bottlerocket-user-data",
			mutate: func(nc *ec2v1.EC2NodeClass) {
				nc.Spec.AMISelectorTerms = []ec2v1.AMISelectorTerm{{Alias: "bottlerocket@latest"}}
				nc.Spec.UserData = ptr.To("[settings.kubernetes\nmax-pods = 'many'")
			},
			condition: nodeclass.ConditionTypeValidationSucceeded, reason: "UserDataInvalid",
			message: "userData is not valid for AMI family Bottlerocket: it is not TOML",
		},
	}
	claims := map[string]*karpv1.NodeClaim{}
	for _, tc := range tests {
		nc := nodeClass(tc.name)
		tc.mutate(nc)
		claims[tc.name] = nodeClaim("for-"+tc.name, tc.name, onDemandCOrM...)
		e.create(nc, claims[tc.name])
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			nc := &ec2v1.EC2NodeClass{}
			var cond *metav1.Condition
			e.eventually("EC2NodeClass "+tc.name+" reports "+tc.condition, func() (bool, error) {
				if err := e.kube.Get(e.ctx, client.ObjectKey{Name: tc.name}, nc); err != nil {
					return false, err
				}
				cond = meta.FindStatusCondition(nc.Status.Conditions, tc.condition)
				return cond != nil && cond.Status == metav1.ConditionFalse, nil
			})
			if cond.Reason != tc.reason || !strings.Contains(cond.Message, tc.message) {
				t.Errorf("%s is %s: %q, want %s: %q", tc.condition, cond.Reason, cond.Message, tc.reason, tc.message)
			}
			if meta.IsStatusConditionTrue(nc.Status.Conditions, ec2v1.ConditionTypeReady) {
				t.Error("the class is Ready")
			}
			if message := e.eventWith(nc, tc.reason); !strings.Contains(message, tc.message) {
				t.Errorf("event %s says %q, want it to say %q", tc.reason, message, tc.message)
			}
			claim := claims[tc.name]
			// The claim first waits on a class not resolved yet, then on
			// the class's own reason: wait for the latter.
			var launched *metav1.Condition
			e.eventually("NodeClaim "+claim.Name+" waits on its class saying "+tc.message, func() (bool, error) {
				got := &karpv1.NodeClaim{}
				if err := e.kube.Get(e.ctx, client.ObjectKey{Name: claim.Name}, got); err != nil {
					return false, err
				}
				launched = meta.FindStatusCondition(got.Status.Conditions, karpv1.ConditionTypeLaunched)
				return launched != nil && launched.Status == metav1.ConditionFalse && strings.Contains(launched.Message, tc.message), nil
			})
			if launched.Reason != nodeclaim.ReasonNodeClassNotReady {
				t.Errorf("claim's Launched is %s: %q, want %s saying %q", launched.Reason, launched.Message, nodeclaim.ReasonNodeClassNotReady, tc.message)
			}
			if message := e.eventWith(claim, nodeclaim.ReasonNodeClassNotReady); !strings.Contains(message, "Waiting to launch") {
				t.Errorf("claim's event says %q", message)
			}
			if instances := e.instancesOf(claim.Name); len(instances) != 0 {
				t.Errorf("%d instances were launched for a claim of a class that is not Ready", len(instances))
			}
		})
	}
	e.running(l)
}
