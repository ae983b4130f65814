package cluster

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/tailor-project/tailor/test/ec2sim"
)

// al2023UserData is what a launcher writes for an AL2023 node: a MIME
// document with a nodeadm NodeConfig.
func al2023UserData(cluster string, flags ...string) string {
	doc := fmt.Sprintf(`MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="//"

--//
Content-Type: application/node.eks.aws

apiVersion: node.eks.aws/v1alpha1
kind: NodeConfig
spec:
  cluster:
    name: %s
    apiServerEndpoint: https://example.invalid
    certificateAuthority: Q0E=
    cidr: 10.100.0.0/16
  kubelet:
    config:
      maxPods: 58
      kubeReserved:
        cpu: 80m
        memory: 893Mi
    flags:
`, cluster)
	for _, f := range flags {
		doc += fmt.Sprintf("    - %q\n", f)
	}
	doc += "\n--//--\n"
	return base64.StdEncoding.EncodeToString([]byte(doc))
}

// launch creates a launch template with the user data and the account's
// AL2023 AMI, subnets and security group (found as a launcher finds them),
// and launches one instance with CreateFleet.
func launch(t *testing.T, c *Cluster, name, userData string, capacityType ec2types.DefaultTargetCapacityType) ec2types.CreateFleetInstance {
	t.Helper()
	ctx := context.Background()
	e := ec2.NewFromConfig(c.AWS)
	param, err := ssm.NewFromConfig(c.AWS).GetParameter(ctx, &ssm.GetParameterInput{
		Name: aws.String("/aws/service/eks/optimized-ami/1.34/amazon-linux-2023/x86_64/standard/recommended/image_id"),
	})
	if err != nil {
		t.Fatalf("resolving the AL2023 AMI: %v", err)
	}
	discovery := ec2types.Filter{Name: aws.String("tag:karpenter.sh/discovery"), Values: []string{c.ClusterName}}
	groups, err := e.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{discovery}})
	if err != nil || len(groups.SecurityGroups) == 0 {
		t.Fatalf("finding the cluster's security group: %v", err)
	}
	subnets, err := e.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{discovery,
		{Name: aws.String("tag:network-type"), Values: []string{"private"}}}})
	if err != nil || len(subnets.Subnets) == 0 {
		t.Fatalf("finding the cluster's subnets: %v", err)
	}
	if _, err := e.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{
		LaunchTemplateName: aws.String(name),
		LaunchTemplateData: &ec2types.RequestLaunchTemplateData{
			ImageId: param.Parameter.Value, UserData: aws.String(userData),
			SecurityGroupIds: []string{aws.ToString(groups.SecurityGroups[0].GroupId)},
		},
	}); err != nil {
		t.Fatalf("CreateLaunchTemplate: %v", err)
	}
	var overrides []ec2types.FleetLaunchTemplateOverridesRequest
	for _, sn := range subnets.Subnets {
		overrides = append(overrides, ec2types.FleetLaunchTemplateOverridesRequest{InstanceType: ec2types.InstanceTypeM5Large, SubnetId: sn.SubnetId})
	}
	out, err := e.CreateFleet(ctx, &ec2.CreateFleetInput{
		Type: ec2types.FleetTypeInstant,
		LaunchTemplateConfigs: []ec2types.FleetLaunchTemplateConfigRequest{{
			LaunchTemplateSpecification: &ec2types.FleetLaunchTemplateSpecificationRequest{LaunchTemplateName: aws.String(name), Version: aws.String("$Latest")},
			Overrides:                   overrides,
		}},
		TargetCapacitySpecification: &ec2types.TargetCapacitySpecificationRequest{TotalTargetCapacity: aws.Int32(1), DefaultTargetCapacityType: capacityType},
	})
	if err != nil {
		t.Fatalf("CreateFleet: %v", err)
	}
	if len(out.Instances) != 1 || len(out.Instances[0].InstanceIds) != 1 {
		t.Fatalf("CreateFleet launched %+v (errors %+v), want one instance", out.Instances, out.Errors)
	}
	return out.Instances[0]
}

// nodeOf returns the name of an instance's Node, its private DNS name.
func nodeOf(t *testing.T, c *Cluster, id string) string {
	t.Helper()
	out, err := ec2.NewFromConfig(c.AWS).DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		t.Fatalf("DescribeInstances: %v", err)
	}
	return aws.ToString(out.Reservations[0].Instances[0].PrivateDnsName)
}

func waitFor(t *testing.T, what string, cond func(ctx context.Context) (bool, error)) {
	t.Helper()
	if err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, 2*time.Minute, true, cond); err != nil {
		t.Fatalf("waiting until %s: %v", what, err)
	}
}

func ready(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// TestInstanceJoinsAsNode: an instance launched from a template with AL2023
// user data that sets labels and taints becomes a Ready Node with exactly
// those taints and with those labels beside the ones kubelet and the cloud
// controller set; a pod bound to it runs; terminating the instance removes
// the Node. An instance whose user data cannot be read runs but never joins;
// one stopped behind the launcher's back leaves its Node unattended.
func TestInstanceJoinsAsNode(t *testing.T) {
	t.Parallel()
	c := Start(t, Options{})
	ctx := context.Background()
	client := kubernetes.NewForConfigOrDie(c.Config)

	userLabels := map[string]string{"karpenter.sh/nodepool": "default", "karpenter.sh/capacity-type": "on-demand", "example.com/team": "tailor"}
	wantTaints := []corev1.Taint{
		{Key: "example.com/dedicated", Value: "e2e", Effect: corev1.TaintEffectNoSchedule},
		{Key: "example.com/gpu", Effect: corev1.TaintEffectPreferNoSchedule},
	}
	fleet := launch(t, c, "joins", al2023UserData(c.ClusterName,
		"--node-labels=karpenter.sh/nodepool=default,karpenter.sh/capacity-type=on-demand,example.com/team=tailor",
		"--register-with-taints=example.com/dedicated=e2e:NoSchedule,example.com/gpu:PreferNoSchedule",
	), ec2types.DefaultTargetCapacityTypeOnDemand)
	id := fleet.InstanceIds[0]
	name := nodeOf(t, c, id)

	var node *corev1.Node
	waitFor(t, "the instance's Node is Ready without the not-ready taint", func(ctx context.Context) (bool, error) {
		n, err := client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		for _, taint := range n.Spec.Taints {
			if taint.Key == corev1.TaintNodeNotReady {
				return false, nil
			}
		}
		node = n
		return ready(n), nil
	})
	for k, v := range userLabels {
		if node.Labels[k] != v {
			t.Errorf("label %s = %q, want %q from the user data", k, node.Labels[k], v)
		}
	}
	zone := aws.ToString(fleet.AvailabilityZone)
	for k, v := range map[string]string{
		"kubernetes.io/arch": "amd64", "kubernetes.io/os": "linux", "kubernetes.io/hostname": name,
		"node.kubernetes.io/instance-type": "m5.large", "topology.kubernetes.io/zone": zone, "topology.kubernetes.io/region": "us-east-1",
	} {
		if node.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, node.Labels[k], v)
		}
	}
	if node.Labels["topology.k8s.aws/zone-id"] == "" {
		t.Errorf("no zone id label")
	}
	if !reflect.DeepEqual(node.Spec.Taints, wantTaints) {
		t.Errorf("taints %v, want exactly %v", node.Spec.Taints, wantTaints)
	}
	if want := fmt.Sprintf("aws:///%s/%s", zone, id); node.Spec.ProviderID != want {
		t.Errorf("provider id %q, want %q", node.Spec.ProviderID, want)
	}
	if pods := node.Status.Allocatable[corev1.ResourcePods]; pods.Value() != 58 {
		t.Errorf("allocatable pods %s, want the user data's 58", pods.String())
	}

	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "on-the-new-node", Namespace: "default"},
		Spec: corev1.PodSpec{
			NodeName:    name,
			Containers:  []corev1.Container{{Name: "c", Image: "pause"}},
			Tolerations: []corev1.Toleration{{Key: "example.com/dedicated", Operator: corev1.TolerationOpExists}},
		},
	}
	if _, err := client.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the pod runs on the node", func(ctx context.Context) (bool, error) {
		p, err := client.CoreV1().Pods("default").Get(ctx, pod.Name, metav1.GetOptions{})
		return err == nil && p.Status.Phase == corev1.PodRunning, err
	})

	broken := launch(t, c, "unreadable", base64.StdEncoding.EncodeToString([]byte("#!/bin/bash\necho no bootstrap here\n")),
		ec2types.DefaultTargetCapacityTypeOnDemand)
	brokenID := broken.InstanceIds[0]
	waitFor(t, "the instance with unreadable user data runs", func(context.Context) (bool, error) {
		for _, i := range c.Simulator.Instances() {
			if i.ID == brokenID {
				return i.State == "running", nil
			}
		}
		return false, fmt.Errorf("instance %s is gone", brokenID)
	})
	for _, i := range c.Simulator.Instances() {
		if i.ID == brokenID && i.Joins {
			t.Errorf("the instance with unreadable user data joins the cluster")
		}
	}

	// Stopped behind the launcher's back, an instance's kubelet stops: kwok
	// no longer keeps its Node Ready.
	stopped := launch(t, c, "stopped", al2023UserData(c.ClusterName, "--node-labels=example.com/stop=me"), ec2types.DefaultTargetCapacityTypeOnDemand)
	stoppedID := stopped.InstanceIds[0]
	stoppedName := nodeOf(t, c, stoppedID)
	waitFor(t, "the instance to stop has joined", func(ctx context.Context) (bool, error) {
		_, err := client.CoreV1().Nodes().Get(ctx, stoppedName, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return err == nil, err
	})
	if err := c.Simulator.InjectEvent(ec2sim.Event{Kind: ec2sim.StateChange, InstanceID: stoppedID, State: "stopped"}); err != nil {
		t.Fatalf("InjectEvent: %v", err)
	}
	waitFor(t, "the stopped instance's Node is no longer managed by kwok", func(ctx context.Context) (bool, error) {
		n, err := client.CoreV1().Nodes().Get(ctx, stoppedName, metav1.GetOptions{})
		return err == nil && n.Annotations[ec2sim.KwokNodeAnnotation] == "", err
	})

	if _, err := ec2.NewFromConfig(c.AWS).TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{id}}); err != nil {
		t.Fatalf("TerminateInstances: %v", err)
	}
	waitFor(t, "the terminated instance's Node is deleted", func(ctx context.Context) (bool, error) {
		_, err := client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, err
	})
}

// TestSpotInterruptionRemovesNode: the interruption warning of a spot node
// arrives in the queue, and two minutes later on the simulator's clock
// (advanced by the test, not waited for) the instance is terminated and its
// Node removed.
func TestSpotInterruptionRemovesNode(t *testing.T) {
	t.Parallel()
	c := Start(t, Options{})
	ctx := context.Background()
	client := kubernetes.NewForConfigOrDie(c.Config)
	fleet := launch(t, c, "spot", al2023UserData(c.ClusterName, "--node-labels=karpenter.sh/capacity-type=spot"), ec2types.DefaultTargetCapacityTypeSpot)
	id := fleet.InstanceIds[0]
	name := nodeOf(t, c, id)
	waitFor(t, "the spot instance's Node is registered", func(ctx context.Context) (bool, error) {
		_, err := client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return err == nil, err
	})

	if err := c.Simulator.InjectEvent(ec2sim.Event{Kind: ec2sim.SpotInterruption, InstanceID: id}); err != nil {
		t.Fatalf("InjectEvent: %v", err)
	}
	q := sqs.NewFromConfig(c.AWS)
	found := false
	for !found {
		out, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(c.QueueURL), WaitTimeSeconds: 20, MaxNumberOfMessages: 10})
		if err != nil {
			t.Fatalf("ReceiveMessage: %v", err)
		}
		if len(out.Messages) == 0 {
			t.Fatal("the interruption warning never arrived")
		}
		for _, m := range out.Messages {
			var e struct {
				DetailType string `json:"detail-type"`
				Detail     struct {
					InstanceID string `json:"instance-id"`
				} `json:"detail"`
			}
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &e); err != nil {
				t.Fatalf("message %s: %v", aws.ToString(m.Body), err)
			}
			found = found || (e.DetailType == "EC2 Spot Instance Interruption Warning" && e.Detail.InstanceID == id)
			if _, err := q.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(c.QueueURL), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatalf("DeleteMessage: %v", err)
			}
		}
	}
	if err := c.Simulator.Clock().Advance(2 * time.Minute); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the interrupted instance's Node is deleted", func(ctx context.Context) (bool, error) {
		_, err := client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, err
	})
}
