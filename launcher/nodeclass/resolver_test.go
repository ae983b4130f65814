package nodeclass

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/go-logr/logr/testr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/test/ec2sim"
)

const testCluster = "resolver"

// newResolver returns a Resolver talking to a simulator through the SDK,
// for a cluster on Kubernetes 1.34.
func newResolver(t *testing.T) *Resolver {
	t.Helper()
	r, _ := newResolverWithSim(t)
	return r
}

// newResolverWithSim is newResolver and the simulator it talks to.
func newResolverWithSim(t *testing.T) (*Resolver, *ec2sim.Simulator) {
	t.Helper()
	sim, err := ec2sim.New(ec2sim.Options{ClusterName: testCluster, Seed: 1, Log: testr.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Start(context.Background(), "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Stop)
	cfg := aws.Config{
		Region:       ec2sim.Region,
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		BaseEndpoint: aws.String(sim.URL()),
	}
	return &Resolver{
		EC2: ec2.NewFromConfig(cfg), SSM: ssm.NewFromConfig(cfg), IAM: iam.NewFromConfig(cfg),
		ClusterName: testCluster, Region: ec2sim.Region,
		KubernetesVersion: func(context.Context) (string, error) { return "1.34", nil },
	}, sim
}

func classWith(mutate func(*ec2v1.EC2NodeClass)) *ec2v1.EC2NodeClass {
	discovery := map[string]string{"karpenter.sh/discovery": testCluster}
	nc := &ec2v1.EC2NodeClass{
		ObjectMeta: metav1.ObjectMeta{Name: "default"},
		Spec: ec2v1.EC2NodeClassSpec{
			SubnetSelectorTerms:        []ec2v1.SubnetSelectorTerm{{Tags: discovery}},
			SecurityGroupSelectorTerms: []ec2v1.SecurityGroupSelectorTerm{{Tags: discovery}},
			AMISelectorTerms:           []ec2v1.AMISelectorTerm{{Alias: "al2023@latest"}},
			Role:                       "NodeRole",
		},
	}
	mutate(nc)
	return nc
}

// wantNotReady checks that err is a notReadyError of the reason whose
// message holds want.
func wantNotReady(t *testing.T, err error, reason, want string) {
	t.Helper()
	nr, ok := asNotReady(err)
	if !ok {
		t.Fatalf("error %v, want %s", err, reason)
	}
	if nr.reason != reason || !strings.Contains(nr.message, want) {
		t.Errorf("%s: %q, want %s saying %q", nr.reason, nr.message, reason, want)
	}
}

func TestSubnets(t *testing.T) {
	r := newResolver(t)
	ctx := context.Background()
	tests := []struct {
		name      string
		terms     []ec2v1.SubnetSelectorTerm
		wantZones []string
		reason    string
		message   string
	}{
		{name: "by tags", terms: []ec2v1.SubnetSelectorTerm{{Tags: map[string]string{"karpenter.sh/discovery": testCluster}}},
			wantZones: []string{"us-east-1a", "us-east-1b", "us-east-1c"}},
		{name: "tag exists", terms: []ec2v1.SubnetSelectorTerm{{Tags: map[string]string{"network-type": "*", "kubernetes.io/role/elb": "1"}}},
			wantZones: []string{"us-east-1a", "us-east-1b", "us-east-1c"}},
		{name: "nothing", terms: []ec2v1.SubnetSelectorTerm{{Tags: map[string]string{"karpenter.sh/discovery": "my-cluster"}}},
			reason: "SubnetsNotFound", message: "no subnet matches tags karpenter.sh/discovery=my-cluster"},
		{name: "nothing of two", terms: []ec2v1.SubnetSelectorTerm{{ID: "subnet-0123"}, {Tags: map[string]string{"a": "b"}}},
			reason: "SubnetsNotFound", message: "no subnet matches any of: id subnet-0123; tags a=b"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			subnets, err := r.Subnets(ctx, classWith(func(nc *ec2v1.EC2NodeClass) { nc.Spec.SubnetSelectorTerms = tc.terms }))
			if tc.reason != "" {
				wantNotReady(t, err, tc.reason, tc.message)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			zones := map[string]bool{}
			for _, s := range subnets {
				zones[s.Zone] = true
				if s.ZoneID == "" || !strings.HasPrefix(s.ID, "subnet-") {
					t.Errorf("subnet %+v lacks an id or zone id", s)
				}
			}
			for _, z := range tc.wantZones {
				if !zones[z] {
					t.Errorf("no subnet in %s among %+v", z, subnets)
				}
			}
		})
	}
	// A subnet selected by id is the only one.
	all, err := r.Subnets(ctx, classWith(func(*ec2v1.EC2NodeClass) {}))
	if err != nil {
		t.Fatal(err)
	}
	one, err := r.Subnets(ctx, classWith(func(nc *ec2v1.EC2NodeClass) {
		nc.Spec.SubnetSelectorTerms = []ec2v1.SubnetSelectorTerm{{ID: all[1].ID}}
	}))
	if err != nil || len(one) != 1 || one[0] != all[1] {
		t.Errorf("selecting %s by id gave %+v, %v", all[1].ID, one, err)
	}
}

func TestSecurityGroups(t *testing.T) {
	r := newResolver(t)
	ctx := context.Background()
	byTags, err := r.SecurityGroups(ctx, classWith(func(*ec2v1.EC2NodeClass) {}))
	if err != nil || len(byTags) != 1 || byTags[0].Name != "eks-cluster-sg-"+testCluster {
		t.Fatalf("by tags: %+v, %v; want the cluster security group", byTags, err)
	}
	tests := []struct {
		name   string
		term   ec2v1.SecurityGroupSelectorTerm
		wantID string
	}{
		{"by id", ec2v1.SecurityGroupSelectorTerm{ID: byTags[0].ID}, byTags[0].ID},
		{"by name", ec2v1.SecurityGroupSelectorTerm{Name: "eks-cluster-sg-" + testCluster}, byTags[0].ID},
		{"by another name", ec2v1.SecurityGroupSelectorTerm{Name: "default"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := r.SecurityGroups(ctx, classWith(func(nc *ec2v1.EC2NodeClass) {
				nc.Spec.SecurityGroupSelectorTerms = []ec2v1.SecurityGroupSelectorTerm{tc.term}
			}))
			if err != nil || len(got) != 1 || tc.wantID != "" && got[0].ID != tc.wantID {
				t.Errorf("got %+v, %v; want one group %s", got, err, tc.wantID)
			}
		})
	}
	_, err = r.SecurityGroups(ctx, classWith(func(nc *ec2v1.EC2NodeClass) {
		nc.Spec.SecurityGroupSelectorTerms = []ec2v1.SecurityGroupSelectorTerm{{Tags: map[string]string{"team": "nobody"}}}
	}))
	wantNotReady(t, err, "SecurityGroupsNotFound", "no security group matches tags team=nobody")
}

func TestAMIs(t *testing.T) {
	r := newResolver(t)
	ctx := context.Background()
	now := time.Now()
	tests := []struct {
		name      string
		terms     []ec2v1.AMISelectorTerm
		family    *string
		wantArchs []string
		wantName  string
		reason    string
		message   string
	}{
		{name: "al2023 latest", terms: []ec2v1.AMISelectorTerm{{Alias: "al2023@latest"}},
			wantArchs: []string{wellknown.ArchAMD64, wellknown.ArchARM64}, wantName: "al2023-x86_64-standard-1.34-v20250812"},
		{name: "al2023 pinned", terms: []ec2v1.AMISelectorTerm{{Alias: "al2023@v20250715"}},
			wantArchs: []string{wellknown.ArchAMD64, wellknown.ArchARM64}, wantName: "1.34-v20250715"},
		{name: "bottlerocket pinned", terms: []ec2v1.AMISelectorTerm{{Alias: "bottlerocket@v1.43.0"}},
			wantArchs: []string{wellknown.ArchAMD64, wellknown.ArchARM64}, wantName: "v1.43.0"},
		{name: "windows only on x86", terms: []ec2v1.AMISelectorTerm{{Alias: "windows2022@latest"}},
			wantArchs: []string{wellknown.ArchAMD64}, wantName: "Windows_Server-2022"},
		{name: "al2 past its last version", terms: []ec2v1.AMISelectorTerm{{Alias: "al2@latest"}},
			reason: "AMIAliasNotFound", message: "alias al2@latest names no AMI for Kubernetes 1.34: no SSM parameter /aws/service/eks/optimized-ami/1.34/amazon-linux-2/recommended/image_id"},
		{name: "by name and owner", terms: []ec2v1.AMISelectorTerm{{Name: "amazon-eks-node-al2023-arm64-standard-1.33-*", Owner: "amazon"}},
			family: ptr.To(ec2v1.AMIFamilyAL2023), wantArchs: []string{wellknown.ArchARM64}, wantName: "1.33-v20250812"},
		{name: "no name matches", terms: []ec2v1.AMISelectorTerm{{Name: "my-golden-image-*"}, {Tags: map[string]string{"golden": "true"}}},
			family: ptr.To(ec2v1.AMIFamilyAL2023), reason: "AMIsNotFound", message: "no AMI matches any of: name my-golden-image-*; tags golden=true"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			amis, err := r.AMIs(ctx, classWith(func(nc *ec2v1.EC2NodeClass) {
				nc.Spec.AMISelectorTerms, nc.Spec.AMIFamily = tc.terms, tc.family
			}), now)
			if tc.reason != "" {
				wantNotReady(t, err, tc.reason, tc.message)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			archs := map[string]bool{}
			for _, ami := range amis {
				archs[ami.Requirements[0].Values[0]] = true
			}
			if len(archs) != len(tc.wantArchs) {
				t.Errorf("architectures %v, want %v", archs, tc.wantArchs)
			}
			for _, a := range tc.wantArchs {
				if !archs[a] {
					t.Errorf("no AMI for %s in %+v", a, amis)
				}
			}
			if !strings.Contains(amis[0].Name, tc.wantName) {
				t.Errorf("best AMI %s, want one named like %s", amis[0].Name, tc.wantName)
			}
		})
	}
}

// TestInstanceProfile: a class with a role gets a profile with that role,
// which follows a change of role and is deleted with the class; a class
// naming a profile must name one that exists, and keeps it.
func TestInstanceProfile(t *testing.T) {
	r := newResolver(t)
	ctx := context.Background()
	nc := classWith(func(*ec2v1.EC2NodeClass) {})
	name, err := r.InstanceProfile(ctx, nc)
	if err != nil {
		t.Fatal(err)
	}
	if name != InstanceProfileName(testCluster, ec2sim.Region, "default") {
		t.Errorf("profile %s, want the stable name", name)
	}
	roleOf := func() string {
		out, err := r.IAM.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.InstanceProfile.Roles) != 1 {
			t.Fatalf("profile has roles %+v, want one", out.InstanceProfile.Roles)
		}
		return aws.ToString(out.InstanceProfile.Roles[0].RoleName)
	}
	if got := roleOf(); got != "NodeRole" {
		t.Errorf("role %s, want NodeRole", got)
	}
	if again, err := r.InstanceProfile(ctx, nc); err != nil || again != name {
		t.Errorf("resolving again: %s, %v", again, err)
	}
	nc.Spec.Role = "OtherRole"
	if _, err := r.InstanceProfile(ctx, nc); err != nil {
		t.Fatal(err)
	}
	if got := roleOf(); got != "OtherRole" {
		t.Errorf("role %s after the change, want OtherRole", got)
	}
	if err := r.DeleteInstanceProfile(ctx, nc); err != nil {
		t.Fatal(err)
	}
	if _, err := r.IAM.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: aws.String(name)}); err == nil {
		t.Error("the profile survived the class")
	}

	named := classWith(func(nc *ec2v1.EC2NodeClass) { nc.Spec.Role, nc.Spec.InstanceProfile = "", ptr.To("NotThere") })
	_, err = r.InstanceProfile(ctx, named)
	wantNotReady(t, err, "InstanceProfileNotFound", "instance profile NotThere does not exist")
}
