package garbagecollection

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/go-logr/logr/testr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/record"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/launcher/instance"
	"github.com/tailor-project/tailor/launcher/tags"
	"github.com/tailor-project/tailor/test/ec2sim"
)

const testCluster = "gc"

// run starts an instance tagged as Tailor's for the claim, and returns it.
func run(t *testing.T, client *ec2.Client, claim string) *instance.Instance {
	t.Helper()
	ctx := context.Background()
	images, err := client.DescribeImages(ctx, &ec2.DescribeImagesInput{Filters: []ec2types.Filter{{Name: aws.String("name"), Values: []string{"amazon-eks-node-al2023-x86_64-standard-1.34-*"}}}})
	if err != nil || len(images.Images) == 0 {
		t.Fatalf("no AMI: %v", err)
	}
	var ec2Tags []ec2types.Tag
	for k, v := range tags.Instance(testCluster, "default", "default", claim, nil) {
		ec2Tags = append(ec2Tags, ec2types.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	out, err := client.RunInstances(ctx, &ec2.RunInstancesInput{
		ImageId: images.Images[0].ImageId, InstanceType: ec2types.InstanceTypeM5Large, MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		Placement:         &ec2types.Placement{AvailabilityZone: aws.String("us-east-1a")},
		TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeInstance, Tags: ec2Tags}},
	})
	if err != nil {
		t.Fatal(err)
	}
	inst, err := instance.NewProvider(client, testCluster).Get(ctx, aws.ToString(out.Instances[0].InstanceId))
	if err != nil {
		t.Fatal(err)
	}
	return inst
}

// TestCollect: leaked and duplicate instances are terminated once past the
// grace period, a claim whose instance is gone is deleted, and so is a
// Tailor node whose claim is gone; what is accounted for stays.
func TestCollect(t *testing.T) {
	sim, err := ec2sim.New(ec2sim.Options{ClusterName: testCluster, Seed: 9, Log: testr.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Start(context.Background(), "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Stop)
	ec2Client := ec2.NewFromConfig(aws.Config{
		Region: ec2sim.Region, BaseEndpoint: aws.String(sim.URL()),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
	})
	instances := instance.NewProvider(ec2Client, testCluster)
	ctx := context.Background()

	leaked := run(t, ec2Client, "gone-claim")
	launching := run(t, ec2Client, "launching")
	owned := run(t, ec2Client, "owner")
	duplicate := run(t, ec2Client, "owner")
	terminated := run(t, ec2Client, "lost")
	if err := instances.Terminate(ctx, terminated.ID); err != nil {
		t.Fatal(err)
	}
	start := leaked.LaunchTime
	old := metav1.Time{Time: start.Add(-time.Hour)}
	claim := func(name, providerID string) *karpv1.NodeClaim {
		return &karpv1.NodeClaim{ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID(name), CreationTimestamp: old}, Status: karpv1.NodeClaimStatus{ProviderID: providerID}}
	}
	orphanNode := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "orphan", UID: "orphan", CreationTimestamp: old, Finalizers: []string{wellknown.TerminationFinalizer}},
		Spec:       corev1.NodeSpec{ProviderID: "aws:///us-east-1a/i-00000000000000001"},
	}
	foreignNode := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "foreign", UID: "foreign", CreationTimestamp: old},
		Spec:       corev1.NodeSpec{ProviderID: "aws:///us-east-1a/i-00000000000000002"},
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := karpv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	kube := fake.NewClientBuilder().WithScheme(scheme).WithObjects(
		claim("launching", ""), claim("owner", owned.ProviderID()), claim("lost", terminated.ProviderID()),
		orphanNode, foreignNode,
	).Build()
	clk := clocktesting.NewFakeClock(start.Add(30 * time.Second))
	c := &Collector{Client: kube, Instances: instances, Recorder: record.NewFakeRecorder(20), Clock: clk, GracePeriod: time.Minute}

	state := func(id string) ec2types.InstanceStateName {
		inst, err := instances.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return inst.State
	}
	if err := c.Collect(ctx); err != nil {
		t.Fatal(err)
	}
	if s := state(leaked.ID); s != ec2types.InstanceStateNameRunning && s != ec2types.InstanceStateNamePending {
		t.Errorf("an instance within the grace period was terminated (%s)", s)
	}

	clk.Step(time.Minute)
	if err := c.Collect(ctx); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		id   string
		gone bool
	}{
		{"leaked", leaked.ID, true},
		{"duplicate", duplicate.ID, true},
		{"launching", launching.ID, false},
		{"owned", owned.ID, false},
	} {
		inst, err := instances.Get(ctx, tc.id)
		if err != nil {
			t.Fatal(err)
		}
		if inst.Gone() != tc.gone {
			t.Errorf("%s instance %s is %s, want gone %v", tc.name, tc.id, inst.State, tc.gone)
		}
	}
	for name, wantGone := range map[string]bool{"lost": true, "owner": false, "launching": false} {
		err := kube.Get(ctx, types.NamespacedName{Name: name}, &karpv1.NodeClaim{})
		if gone := client.IgnoreNotFound(err) == nil && err != nil; gone != wantGone {
			t.Errorf("claim %s gone %v, want %v", name, gone, wantGone)
		}
	}
	if err := kube.Get(ctx, types.NamespacedName{Name: "orphan"}, orphanNode); err != nil || orphanNode.DeletionTimestamp.IsZero() {
		t.Errorf("the node of a gone claim is not being deleted (%v)", err)
	}
	if err := kube.Get(ctx, types.NamespacedName{Name: "foreign"}, foreignNode); err != nil || !foreignNode.DeletionTimestamp.IsZero() {
		t.Errorf("a node Tailor never linked was touched (%v)", err)
	}
}
