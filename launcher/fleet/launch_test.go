package fleet_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/pricing"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/go-logr/logr/testr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
	launcheraws "github.com/tailor-project/tailor/launcher/aws"
	"github.com/tailor-project/tailor/launcher/catalog"
	"github.com/tailor-project/tailor/launcher/fleet"
	"github.com/tailor-project/tailor/launcher/instance"
	"github.com/tailor-project/tailor/launcher/launchtemplate"
	"github.com/tailor-project/tailor/launcher/nodeclass"
	"github.com/tailor-project/tailor/launcher/tags"
	"github.com/tailor-project/tailor/test/ec2sim"
)

const testCluster = "fleet"

// world is a launcher on a simulator (without a cluster: instances run but
// join nothing), a catalog over it, and a resolved node class.
type world struct {
	sim      *ec2sim.Simulator
	ec2      *ec2.Client
	catalog  *catalog.Provider
	launcher *fleet.Launcher
	class    *ec2v1.EC2NodeClass
}

func newWorld(t *testing.T) *world {
	t.Helper()
	sim, err := ec2sim.New(ec2sim.Options{ClusterName: testCluster, Seed: 3, Log: testr.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Start(context.Background(), "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Stop)
	cfg := aws.Config{
		Region: ec2sim.Region, BaseEndpoint: aws.String(sim.URL()),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
	}
	ec2Client := ec2.NewFromConfig(cfg)
	source, err := launcheraws.NewSource(ec2Client, pricing.NewFromConfig(cfg), launcheraws.Options{Region: ec2sim.Region})
	if err != nil {
		t.Fatal(err)
	}
	cat, err := catalog.New(source, catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	discovery := map[string]string{"karpenter.sh/discovery": testCluster}
	nc := &ec2v1.EC2NodeClass{
		ObjectMeta: metav1.ObjectMeta{Name: "default"},
		Spec: ec2v1.EC2NodeClassSpec{
			SubnetSelectorTerms:        []ec2v1.SubnetSelectorTerm{{Tags: discovery}},
			SecurityGroupSelectorTerms: []ec2v1.SecurityGroupSelectorTerm{{Tags: discovery}},
			AMISelectorTerms:           []ec2v1.AMISelectorTerm{{Alias: "al2023@latest"}},
			Role:                       "NodeRole",
			Tags:                       map[string]string{"cost-center": "42"},
		},
	}
	r := &nodeclass.Resolver{
		EC2: ec2Client, SSM: ssm.NewFromConfig(cfg), IAM: iam.NewFromConfig(cfg), ClusterName: testCluster, Region: ec2sim.Region,
		KubernetesVersion: func(context.Context) (string, error) { return "1.34", nil },
	}
	ctx := context.Background()
	if nc.Status.Subnets, err = r.Subnets(ctx, nc); err != nil {
		t.Fatal(err)
	}
	if nc.Status.SecurityGroups, err = r.SecurityGroups(ctx, nc); err != nil {
		t.Fatal(err)
	}
	if nc.Status.AMIs, err = r.AMIs(ctx, nc, time.Now()); err != nil {
		t.Fatal(err)
	}
	if nc.Status.InstanceProfile, err = r.InstanceProfile(ctx, nc); err != nil {
		t.Fatal(err)
	}
	return &world{
		sim: sim, ec2: ec2Client, catalog: cat, class: nc,
		launcher: &fleet.Launcher{
			EC2: ec2Client, Templates: launchtemplate.NewProvider(ec2Client, testCluster), Instances: instance.NewProvider(ec2Client, testCluster),
			Unavailable: cat, Cluster: fleet.Cluster{Name: testCluster, Endpoint: "https://127.0.0.1:6443", CABundle: "Q0E="},
		},
	}
}

func claimFor(name string, reqs ...karpv1.NodeSelectorRequirementWithMinValues) *karpv1.NodeClaim {
	return &karpv1.NodeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID(name + "-uid"), Labels: map[string]string{wellknown.NodePoolLabel: "pool"}},
		Spec: karpv1.NodeClaimSpec{
			Requirements: reqs,
			NodeClassRef: &karpv1.NodeClassReference{Group: ec2v1.GroupVersion.Group, Kind: "EC2NodeClass", Name: "default"},
		},
	}
}

func in(key string, values ...string) karpv1.NodeSelectorRequirementWithMinValues {
	return karpv1.NodeSelectorRequirementWithMinValues{Key: key, Operator: corev1.NodeSelectorOpIn, Values: values}
}

// request is what the NodeClaim launch controller asks for: the claim's
// instance types from the catalog.
// launchedCapacity launches a request and returns what the node of the
// instance it got advertises: what the simulator's kubelet reads from the
// launch (user data, interfaces) and the instance type.
func (w *world) launchedCapacity(t *testing.T, req fleet.Request) corev1.ResourceList {
	t.Helper()
	res, err := w.launcher.Launch(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	for _, inst := range w.sim.Instances() {
		if inst.ID == res.Instance.ID {
			return inst.NodeCapacity
		}
	}
	t.Fatalf("instance %s not found", res.Instance.ID)
	return nil
}

func (w *world) request(t *testing.T, claim *karpv1.NodeClaim) fleet.Request {
	t.Helper()
	pool := &karpv1.NodePool{ObjectMeta: metav1.ObjectMeta{Name: "pool"}}
	pool.Spec.Template.Spec.Requirements = claim.Spec.Requirements
	types, err := w.catalog.InstanceTypes(context.Background(), pool, w.class)
	if err != nil {
		t.Fatal(err)
	}
	return fleet.Request{NodeClaim: claim, NodeClass: w.class, InstanceTypes: types}
}

// cheapestAvailable is the cheapest available offering of a capacity type
// in a request, ties to the first type and zone by name.
func cheapestAvailable(req fleet.Request, ct string) (string, catalog.Offering) {
	var name string
	var best catalog.Offering
	for _, it := range req.InstanceTypes {
		for _, o := range it.Offerings {
			if o.Available && o.CapacityType == ct && (name == "" || o.Price < best.Price || o.Price == best.Price && (it.Name < name || it.Name == name && o.Zone < best.Zone)) {
				name, best = it.Name, o
			}
		}
	}
	return name, best
}

var m5Family = in(wellknown.InstanceFamilyLabel, "m5", "m6i")

func TestLaunchTakesTheCheapestOffering(t *testing.T) {
	w := newWorld(t)
	tests := []struct {
		name         string
		capacityType []string
		want         string
	}{
		{"on-demand only", []string{wellknown.CapacityTypeOnDemand}, wellknown.CapacityTypeOnDemand},
		{"spot only", []string{wellknown.CapacityTypeSpot}, wellknown.CapacityTypeSpot},
		{"either prefers spot", []string{wellknown.CapacityTypeOnDemand, wellknown.CapacityTypeSpot}, wellknown.CapacityTypeSpot},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			claim := claimFor(fmt.Sprintf("cheapest-%d", i), m5Family,
				in(wellknown.CapacityTypeLabel, tc.capacityType...), in(wellknown.ZoneLabel, "us-east-1a", "us-east-1b"))
			req := w.request(t, claim)
			res, err := w.launcher.Launch(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if res.Instance.CapacityType != tc.want || res.Adopted {
				t.Errorf("launched %+v, want a new %s instance", res.Instance, tc.want)
			}
			if tc.want == wellknown.CapacityTypeOnDemand {
				wantType, want := cheapestAvailable(req, tc.want)
				if res.Instance.Type != wantType || res.Instance.Zone != want.Zone {
					t.Errorf("launched %s in %s, want the cheapest %s in %s", res.Instance.Type, res.Instance.Zone, wantType, want.Zone)
				}
			}
			if res.InstanceType == nil || res.InstanceType.Name != res.Instance.Type {
				t.Errorf("result's instance type %v does not match the instance's %s", res.InstanceType, res.Instance.Type)
			}
			described, err := instance.NewProvider(w.ec2, testCluster).Get(context.Background(), res.Instance.ID)
			if err != nil {
				t.Fatal(err)
			}
			for key, value := range map[string]string{tags.NodeClaim: claim.Name, tags.NodePool: "pool", tags.NodeClass: "default", "cost-center": "42", tags.ClusterKey(testCluster): tags.Owned} {
				if described.Tags[key] != value {
					t.Errorf("instance tag %s=%q, want %q", key, described.Tags[key], value)
				}
			}
			if described.CapacityType != tc.want {
				t.Errorf("EC2 says the instance is %s, want %s", described.CapacityType, tc.want)
			}
		})
	}
}

// TestLaunchIsIdempotent: launching a claim again adopts its instance.
func TestLaunchIsIdempotent(t *testing.T) {
	w := newWorld(t)
	claim := claimFor("twice", m5Family, in(wellknown.CapacityTypeLabel, wellknown.CapacityTypeOnDemand))
	first, err := w.launcher.Launch(context.Background(), w.request(t, claim))
	if err != nil {
		t.Fatal(err)
	}
	second, err := w.launcher.Launch(context.Background(), w.request(t, claim))
	if err != nil {
		t.Fatal(err)
	}
	if !second.Adopted || second.Instance.ID != first.Instance.ID || second.InstanceType == nil {
		t.Errorf("second launch %+v, want the first's instance %s adopted", second, first.Instance.ID)
	}
	if n := len(w.sim.Instances()); n != 1 {
		t.Errorf("%d instances, want 1", n)
	}
}

// TestLaunchAroundInsufficientCapacity: offerings EC2 refuses are marked
// unavailable and returned; with nothing left the launch is not
// launchable, with the offerings that failed.
func TestLaunchAroundInsufficientCapacity(t *testing.T) {
	w := newWorld(t)
	claim := claimFor("ice", m5Family, in(wellknown.CapacityTypeLabel, wellknown.CapacityTypeOnDemand), in(wellknown.ZoneLabel, "us-east-1a"))
	req := w.request(t, claim)
	refusedType, refused := cheapestAvailable(req, wellknown.CapacityTypeOnDemand)
	if err := w.sim.SetFaults(ec2sim.Faults{InsufficientCapacity: []ec2sim.Pool{{InstanceType: refusedType, Zone: refused.Zone}}}); err != nil {
		t.Fatal(err)
	}
	res, err := w.launcher.Launch(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if res.Instance.Type == refusedType {
		t.Errorf("launched the refused %s", refusedType)
	}
	if len(res.Unavailable) != 1 || res.Unavailable[0] != (fleet.Offering{InstanceType: refusedType, Zone: refused.Zone, CapacityType: wellknown.CapacityTypeOnDemand, Reason: "InsufficientInstanceCapacity"}) {
		t.Errorf("unavailable %+v, want %s in %s", res.Unavailable, refusedType, refused.Zone)
	}
	after := w.request(t, claim)
	if nextType, _ := cheapestAvailable(after, wellknown.CapacityTypeOnDemand); nextType == refusedType {
		t.Errorf("the catalog still offers %s", refusedType)
	}

	if err := w.sim.SetFaults(ec2sim.Faults{InsufficientCapacity: []ec2sim.Pool{{}}}); err != nil {
		t.Fatal(err)
	}
	_, err = w.launcher.Launch(context.Background(), w.request(t, claimFor("no-capacity", m5Family, in(wellknown.CapacityTypeLabel, wellknown.CapacityTypeOnDemand))))
	var notLaunchable *fleet.NotLaunchableError
	if !errors.As(err, &notLaunchable) || notLaunchable.Reason != fleet.ReasonInsufficientCapacity || len(notLaunchable.Offerings) == 0 {
		t.Fatalf("error %v, want NotLaunchable for insufficient capacity with the offerings", err)
	}
}

// TestLaunchTemplatesCarryTheClass: the template an instance comes from
// has the class's security groups, instance profile and metadata options
// and an encrypted gp3 root volume.
func TestLaunchTemplatesCarryTheClass(t *testing.T) {
	w := newWorld(t)
	res, err := w.launcher.Launch(context.Background(), w.request(t, claimFor("template", m5Family, in(wellknown.CapacityTypeLabel, wellknown.CapacityTypeOnDemand))))
	if err != nil {
		t.Fatal(err)
	}
	out, err := w.ec2.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{InstanceIds: []string{res.Instance.ID}})
	if err != nil {
		t.Fatal(err)
	}
	inst := out.Reservations[0].Instances[0]
	if len(inst.SecurityGroups) != 1 || aws.ToString(inst.SecurityGroups[0].GroupId) != w.class.Status.SecurityGroups[0].ID {
		t.Errorf("security groups %+v, want the class's %+v", inst.SecurityGroups, w.class.Status.SecurityGroups)
	}
	if inst.IamInstanceProfile == nil {
		t.Error("no instance profile")
	}
	if inst.MetadataOptions.HttpTokens != ec2types.HttpTokensStateRequired || aws.ToInt32(inst.MetadataOptions.HttpPutResponseHopLimit) != 1 {
		t.Errorf("metadata options %+v, want IMDSv2 required one hop away", inst.MetadataOptions)
	}
	if len(inst.BlockDeviceMappings) != 1 || aws.ToString(inst.BlockDeviceMappings[0].DeviceName) != "/dev/xvda" {
		t.Errorf("block devices %+v, want the root volume", inst.BlockDeviceMappings)
	}
	if aws.ToString(inst.ImageId) != res.Instance.ImageID {
		t.Errorf("image %s, result says %s", aws.ToString(inst.ImageId), res.Instance.ImageID)
	}
}
