package drift

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/yaml"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
	"github.com/tailor-project/tailor/apis/hash"
	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/launcher/instance"
)

// world is one test's NodePool, EC2NodeClass and launched NodeClaim, whose
// instance runs in the simulator, all as the launcher leaves them after a
// launch: the class resolved and hashed, the claim stamped with both hashes.
type world struct {
	t        *testing.T
	ctx      context.Context
	pool     *karpv1.NodePool
	class    *ec2v1.EC2NodeClass
	claim    *karpv1.NodeClaim
	recorder *record.FakeRecorder
	drift    *Drift
	// amd64 and arm64 are the AMIs the class resolves to; subnets by zone,
	// and the cluster's and the default security group.
	amd64, arm64       string
	subnets            map[string]string
	clusterSG, otherSG string
}

const classYAML = `
spec:
  amiSelectorTerms: [{alias: al2023@latest}]
  role: NodeRole
  subnetSelectorTerms: [{tags: {karpenter.sh/discovery: drift}}]
  securityGroupSelectorTerms: [{tags: {karpenter.sh/discovery: drift}}]
  userData: |
    #!/bin/bash
    echo hello
`

func newWorld(t *testing.T, name string) *world {
	t.Helper()
	ctx := context.Background()
	w := &world{t: t, ctx: ctx, recorder: record.NewFakeRecorder(100), subnets: map[string]string{}}
	cfg := sim.SDKConfig()
	ec2c := ec2.NewFromConfig(cfg)
	w.discover(ec2c, ssm.NewFromConfig(cfg))
	w.drift = &Drift{
		Client:   kube,
		Networks: &Networks{EC2: ec2c, Clock: clocktesting.NewFakeClock(time.Now())},
		Recorder: w.recorder,
	}

	w.class = &ec2v1.EC2NodeClass{}
	if err := yaml.UnmarshalStrict([]byte(classYAML), w.class); err != nil {
		t.Fatal(err)
	}
	w.class.Name = name
	w.create(w.class)
	w.class.Status = ec2v1.EC2NodeClassStatus{
		Subnets: []ec2v1.Subnet{
			{ID: w.subnets["us-east-1a"], Zone: "us-east-1a"}, {ID: w.subnets["us-east-1b"], Zone: "us-east-1b"},
		},
		SecurityGroups: []ec2v1.SecurityGroup{{ID: w.clusterSG}},
		AMIs: []ec2v1.AMI{
			{ID: w.amd64, Requirements: []corev1.NodeSelectorRequirement{{Key: wellknown.ArchLabel, Operator: corev1.NodeSelectorOpIn, Values: []string{"amd64"}}}},
			{ID: w.arm64, Requirements: []corev1.NodeSelectorRequirement{{Key: wellknown.ArchLabel, Operator: corev1.NodeSelectorOpIn, Values: []string{"arm64"}}}},
		},
		InstanceProfile: "profile",
		Conditions: []metav1.Condition{{
			Type: ec2v1.ConditionTypeReady, Status: metav1.ConditionTrue, Reason: "Ready", ObservedGeneration: w.class.Generation,
			LastTransitionTime: metav1.Now(),
		}},
	}
	if err := kube.Status().Update(ctx, w.class); err != nil {
		t.Fatal(err)
	}
	w.reconcileHash(&NodeClassHash{Client: kube}, name)

	w.pool = &karpv1.NodePool{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: karpv1.NodePoolSpec{Template: karpv1.NodeClaimTemplate{
			ObjectMeta: karpv1.ObjectMeta{Labels: map[string]string{"team": "platform"}},
			Spec: karpv1.NodeClaimTemplateSpec{
				Requirements: []karpv1.NodeSelectorRequirementWithMinValues{
					{Key: wellknown.ZoneLabel, Operator: corev1.NodeSelectorOpIn, Values: []string{"us-east-1a", "us-east-1b"}},
					{Key: wellknown.InstanceCategoryLabel, Operator: corev1.NodeSelectorOpIn, Values: []string{"c", "m", "r"}},
				},
				NodeClassRef: &karpv1.NodeClassReference{Group: ec2v1.GroupVersion.Group, Kind: "EC2NodeClass", Name: name},
			},
		}},
	}
	w.create(w.pool)
	w.reconcileHash(&NodePoolHash{Client: kube}, name)

	w.claim = w.launchClaim(name, "us-east-1a", w.amd64, w.clusterSG)
	return w
}

// discover finds the simulated account's subnets, security groups and
// current al2023 AMIs.
func (w *world) discover(ec2c *ec2.Client, params *ssm.Client) {
	w.t.Helper()
	subnets, err := ec2c.DescribeSubnets(w.ctx, &ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{
		{Name: aws.String("tag:network-type"), Values: []string{"private"}},
	}})
	if err != nil {
		w.t.Fatal(err)
	}
	for _, s := range subnets.Subnets {
		w.subnets[aws.ToString(s.AvailabilityZone)] = aws.ToString(s.SubnetId)
	}
	groups, err := ec2c.DescribeSecurityGroups(w.ctx, &ec2.DescribeSecurityGroupsInput{})
	if err != nil {
		w.t.Fatal(err)
	}
	for _, g := range groups.SecurityGroups {
		if aws.ToString(g.GroupName) == "default" {
			w.otherSG = aws.ToString(g.GroupId)
		} else {
			w.clusterSG = aws.ToString(g.GroupId)
		}
	}
	for arch, p := range map[string]*string{"x86_64": &w.amd64, "arm64": &w.arm64} {
		out, err := params.GetParameter(w.ctx, &ssm.GetParameterInput{
			Name: aws.String("/aws/service/eks/optimized-ami/1.34/amazon-linux-2023/" + arch + "/standard/recommended/image_id"),
		})
		if err != nil {
			w.t.Fatal(err)
		}
		*p = aws.ToString(out.Parameter.Value)
	}
	if len(w.subnets) != 3 || w.clusterSG == "" || w.otherSG == "" {
		w.t.Fatalf("the simulated account has subnets %v and security groups %s, %s", w.subnets, w.clusterSG, w.otherSG)
	}
}

// launchClaim runs an instance in the zone's subnet with the security group
// and makes the claim the plugin and the launcher would have made for it.
func (w *world) launchClaim(name, zone, image, sg string) *karpv1.NodeClaim {
	w.t.Helper()
	run, err := ec2.NewFromConfig(sim.SDKConfig()).RunInstances(w.ctx, &ec2.RunInstancesInput{
		ImageId: aws.String(image), InstanceType: ec2types.InstanceTypeM5Large, MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		SubnetId: aws.String(w.subnets[zone]), SecurityGroupIds: []string{sg},
	})
	if err != nil {
		w.t.Fatalf("RunInstances: %v", err)
	}
	id := aws.ToString(run.Instances[0].InstanceId)
	claim := &karpv1.NodeClaim{
		ObjectMeta: metav1.ObjectMeta{
			Name: name,
			Labels: map[string]string{
				wellknown.NodePoolLabel: w.pool.Name, wellknown.ZoneLabel: zone, wellknown.ArchLabel: "amd64",
				wellknown.InstanceTypeLabel: "m5.large", wellknown.InstanceCategoryLabel: "m", "team": "platform",
				wellknown.CapacityTypeLabel: wellknown.CapacityTypeOnDemand,
			},
			Annotations: map[string]string{
				wellknown.NodePoolHashAnnotation: hash.NodePool(w.pool), wellknown.NodePoolHashVersionAnnotation: hash.NodePoolVersion,
				wellknown.NodeClassHashAnnotation: hash.EC2NodeClass(w.class), ec2v1.AnnotationEC2NodeClassHashVersion: hash.EC2NodeClassVersion,
			},
		},
		Spec: karpv1.NodeClaimSpec{
			Requirements: []karpv1.NodeSelectorRequirementWithMinValues{{Key: wellknown.InstanceTypeLabel, Operator: corev1.NodeSelectorOpIn, Values: []string{"m5.large"}}},
			NodeClassRef: w.pool.Spec.Template.Spec.NodeClassRef,
		},
	}
	w.create(claim)
	claim.Status = karpv1.NodeClaimStatus{
		ProviderID: instance.ProviderID(zone, id),
		ImageID:    image,
		Capacity:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")},
		Conditions: []metav1.Condition{{
			Type: karpv1.ConditionTypeLaunched, Status: metav1.ConditionTrue, Reason: "Launched", LastTransitionTime: metav1.Now(),
		}},
	}
	if err := kube.Status().Update(w.ctx, claim); err != nil {
		w.t.Fatal(err)
	}
	return claim
}

func (w *world) create(o client.Object) {
	w.t.Helper()
	if err := kube.Create(w.ctx, o); err != nil {
		w.t.Fatalf("creating %T %s: %v", o, o.GetName(), err)
	}
}

func (w *world) reconcileHash(r reconcile.Reconciler, name string) {
	w.t.Helper()
	if _, err := r.Reconcile(w.ctx, reconcile.Request{NamespacedName: types.NamespacedName{Name: name}}); err != nil {
		w.t.Fatal(err)
	}
}

// update reads an object, changes it and writes it back.
func update[T client.Object](w *world, obj T, change func(T)) {
	w.t.Helper()
	if err := kube.Get(w.ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
		w.t.Fatal(err)
	}
	change(obj)
	if err := kube.Update(w.ctx, obj); err != nil {
		w.t.Fatalf("updating %s: %v", obj.GetName(), err)
	}
}

// updateClassStatus changes what the class resolved to, keeping it Ready.
func (w *world) updateClassStatus(change func(*ec2v1.EC2NodeClassStatus)) {
	w.t.Helper()
	if err := kube.Get(w.ctx, client.ObjectKeyFromObject(w.class), w.class); err != nil {
		w.t.Fatal(err)
	}
	change(&w.class.Status)
	if err := kube.Status().Update(w.ctx, w.class); err != nil {
		w.t.Fatal(err)
	}
}

// judge runs the drift controller on the claim and returns its Drifted
// condition, nil when it has none.
func (w *world) judge() (*metav1.Condition, reconcile.Result) {
	w.t.Helper()
	res, err := w.drift.Reconcile(w.ctx, reconcile.Request{NamespacedName: types.NamespacedName{Name: w.claim.Name}})
	if err != nil {
		w.t.Fatalf("judging NodeClaim %s: %v", w.claim.Name, err)
	}
	if err := kube.Get(w.ctx, client.ObjectKeyFromObject(w.claim), w.claim); err != nil {
		w.t.Fatal(err)
	}
	for i := range w.claim.Status.Conditions {
		if c := &w.claim.Status.Conditions[i]; c.Type == karpv1.ConditionTypeDrifted {
			return c, res
		}
	}
	return nil, res
}

// events drains the events recorded so far.
func (w *world) events() []string {
	var out []string
	for {
		select {
		case e := <-w.recorder.Events:
			out = append(out, e)
		default:
			return out
		}
	}
}
