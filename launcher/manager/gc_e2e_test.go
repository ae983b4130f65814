package manager_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/launcher/instance"
	"github.com/tailor-project/tailor/launcher/tags"
)

// runTaggedInstance starts an instance outside the launcher, tagged as if
// Tailor had launched it for a claim.
func (e *env) runTaggedInstance(claim string) string {
	e.t.Helper()
	param, err := ssm.NewFromConfig(e.aws).GetParameter(e.ctx, &ssm.GetParameterInput{
		Name: aws.String("/aws/service/eks/optimized-ami/1.34/amazon-linux-2023/x86_64/standard/recommended/image_id"),
	})
	if err != nil {
		e.t.Fatal(err)
	}
	subnets, err := e.ec2.DescribeSubnets(e.ctx, &ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{
		{Name: aws.String("tag:karpenter.sh/discovery"), Values: []string{clusterName}},
	}})
	if err != nil || len(subnets.Subnets) == 0 {
		e.t.Fatalf("no subnet to run an instance in: %v", err)
	}
	var instanceTags []ec2types.Tag
	for k, v := range tags.Instance(clusterName, "default", "default", claim, nil) {
		instanceTags = append(instanceTags, ec2types.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	out, err := e.ec2.RunInstances(e.ctx, &ec2.RunInstancesInput{
		ImageId: param.Parameter.Value, InstanceType: ec2types.InstanceTypeM5Large, MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		SubnetId:          subnets.Subnets[0].SubnetId,
		TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeInstance, Tags: instanceTags}},
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return aws.ToString(out.Instances[0].InstanceId)
}

// TestGarbageCollection: an instance tagged for the cluster that no claim
// accounts for is terminated, and a claim whose instance was terminated
// behind the launcher's back is deleted along with its node.
func TestGarbageCollection(t *testing.T) {
	e := newEnv(t)
	l := e.startLauncher(launcherConfig{})
	e.readyClass(nodeClass("default"))
	claim := nodeClaim("orphaned", "default", onDemandCOrM...)
	e.create(claim)
	leaked := e.runTaggedInstance("never-existed")

	e.claimCondition(claim, karpv1.ConditionTypeRegistered, metav1.ConditionTrue)
	e.eventually("the leaked instance "+leaked+" is terminated", func() (bool, error) {
		state := e.instance(leaked).State.Name
		return state == ec2types.InstanceStateNameShuttingDown || state == ec2types.InstanceStateNameTerminated, nil
	})

	id, err := instance.ParseProviderID(claim.Status.ProviderID)
	if err != nil {
		t.Fatal(err)
	}
	if state := e.instance(id).State.Name; state != ec2types.InstanceStateNameRunning {
		t.Fatalf("garbage collection touched the claim's own instance %s: %s", id, state)
	}
	if _, err := e.ec2.TerminateInstances(e.ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{id}}); err != nil {
		t.Fatal(err)
	}
	e.gone(claim)
	e.gone(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: claim.Status.NodeName}})
	if message := e.eventWith(claim, "InstanceGone"); message == "" {
		t.Error("the claim's deletion was not explained by an event")
	}
	e.running(l)
}
