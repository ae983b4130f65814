package launchtemplate

import (
	"context"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/go-logr/logr/testr"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
	"github.com/tailor-project/tailor/test/ec2sim"
)

func TestBlockDeviceMappings(t *testing.T) {
	size := resource.MustParse("100G")
	tests := []struct {
		name     string
		family   string
		mappings []*ec2v1.BlockDeviceMapping
		want     []ec2types.LaunchTemplateBlockDeviceMappingRequest
	}{
		{"AL2023 default", ec2v1.AMIFamilyAL2023, nil, []ec2types.LaunchTemplateBlockDeviceMappingRequest{
			{DeviceName: aws.String("/dev/xvda"), Ebs: &ec2types.LaunchTemplateEbsBlockDeviceRequest{VolumeSize: aws.Int32(20), VolumeType: ec2types.VolumeTypeGp3, Encrypted: aws.Bool(true), DeleteOnTermination: aws.Bool(true)}},
		}},
		{"Bottlerocket default", ec2v1.AMIFamilyBottlerocket, nil, []ec2types.LaunchTemplateBlockDeviceMappingRequest{
			{DeviceName: aws.String("/dev/xvda"), Ebs: &ec2types.LaunchTemplateEbsBlockDeviceRequest{VolumeSize: aws.Int32(4), VolumeType: ec2types.VolumeTypeGp3, Encrypted: aws.Bool(true), DeleteOnTermination: aws.Bool(true)}},
			{DeviceName: aws.String("/dev/xvdb"), Ebs: &ec2types.LaunchTemplateEbsBlockDeviceRequest{VolumeSize: aws.Int32(20), VolumeType: ec2types.VolumeTypeGp3, Encrypted: aws.Bool(true), DeleteOnTermination: aws.Bool(true)}},
		}},
		{"Custom keeps the AMI's", ec2v1.AMIFamilyCustom, nil, nil},
		{"the class's, with defaults filled in", ec2v1.AMIFamilyAL2023, []*ec2v1.BlockDeviceMapping{
			{DeviceName: aws.String("/dev/xvda"), EBS: &ec2v1.BlockDevice{VolumeSize: &size, IOPS: ptr.To[int64](4000), Encrypted: aws.Bool(false)}},
		}, []ec2types.LaunchTemplateBlockDeviceMappingRequest{
			{DeviceName: aws.String("/dev/xvda"), Ebs: &ec2types.LaunchTemplateEbsBlockDeviceRequest{VolumeSize: aws.Int32(94), Iops: aws.Int32(4000), VolumeType: ec2types.VolumeTypeGp3, Encrypted: aws.Bool(false), DeleteOnTermination: aws.Bool(true)}},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := blockDeviceMappings(tc.family, tc.mappings)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("%d mappings, want %d", len(got), len(tc.want))
			}
			for i := range got {
				g, w := got[i], tc.want[i]
				if aws.ToString(g.DeviceName) != aws.ToString(w.DeviceName) || aws.ToInt32(g.Ebs.VolumeSize) != aws.ToInt32(w.Ebs.VolumeSize) ||
					g.Ebs.VolumeType != w.Ebs.VolumeType || aws.ToBool(g.Ebs.Encrypted) != aws.ToBool(w.Ebs.Encrypted) ||
					aws.ToBool(g.Ebs.DeleteOnTermination) != aws.ToBool(w.Ebs.DeleteOnTermination) || aws.ToInt32(g.Ebs.Iops) != aws.ToInt32(w.Ebs.Iops) {
					t.Errorf("mapping %d: %s %+v, want %s %+v", i, aws.ToString(g.DeviceName), *g.Ebs, aws.ToString(w.DeviceName), *w.Ebs)
				}
			}
		})
	}
	if _, err := blockDeviceMappings(ec2v1.AMIFamilyAL2023, []*ec2v1.BlockDeviceMapping{{}}); err == nil {
		t.Error("a mapping without a device name was accepted")
	}
}

func TestMetadataOptions(t *testing.T) {
	def := metadataOptions(nil)
	if def.HttpTokens != ec2types.LaunchTemplateHttpTokensStateRequired || aws.ToInt32(def.HttpPutResponseHopLimit) != 1 ||
		def.HttpEndpoint != ec2types.LaunchTemplateInstanceMetadataEndpointStateEnabled {
		t.Errorf("defaults %+v, want IMDSv2 required, one hop, enabled", def)
	}
	got := metadataOptions(&ec2v1.MetadataOptions{HTTPTokens: aws.String("optional"), HTTPPutResponseHopLimit: aws.Int64(2)})
	if got.HttpTokens != ec2types.LaunchTemplateHttpTokensStateOptional || aws.ToInt32(got.HttpPutResponseHopLimit) != 2 || got.HttpProtocolIpv6 != "disabled" {
		t.Errorf("class options %+v, want its tokens and hops with the other defaults", got)
	}
}

// TestTagSpecifications: a template tags the network interfaces of its
// instances, and the spot requests too when it launches spot, with the
// spec's tags, which the IAM policy asks of both.
func TestTagSpecifications(t *testing.T) {
	specTags := map[string]string{"kubernetes.io/cluster/c": "owned", "karpenter.sh/nodepool": "pool"}
	tests := []struct {
		name string
		spot bool
		want []ec2types.ResourceType
	}{
		{"on-demand", false, []ec2types.ResourceType{ec2types.ResourceTypeNetworkInterface}},
		{"spot", true, []ec2types.ResourceType{ec2types.ResourceTypeNetworkInterface, ec2types.ResourceTypeSpotInstancesRequest}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &Spec{NodeClass: &ec2v1.EC2NodeClass{}, Family: ec2v1.AMIFamilyAL2023, ImageID: "ami-1", Tags: specTags, Spot: tc.spot}
			d, err := s.data()
			if err != nil {
				t.Fatal(err)
			}
			var got []ec2types.ResourceType
			for _, ts := range d.TagSpecifications {
				got = append(got, ts.ResourceType)
				if tags := ec2Tags(specTags); !reflect.DeepEqual(ts.Tags, tags) {
					t.Errorf("%s tagged %v, want %v", ts.ResourceType, ts.Tags, tags)
				}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("tags %v, want %v", got, tc.want)
			}
		})
	}
}

// TestCapacityReservationTarget: a template for a reservation targets it,
// and one without names none, leaving EC2's default (open reservations).
func TestCapacityReservationTarget(t *testing.T) {
	for _, id := range []string{"", "cr-0123456789abcdef0"} {
		s := &Spec{NodeClass: &ec2v1.EC2NodeClass{}, Family: ec2v1.AMIFamilyAL2023, ImageID: "ami-1", CapacityReservationID: id}
		d, err := s.data()
		if err != nil {
			t.Fatal(err)
		}
		crs := d.CapacityReservationSpecification
		switch {
		case id == "" && crs != nil:
			t.Errorf("a template of no reservation has %+v", crs)
		case id != "" && (crs == nil || crs.CapacityReservationTarget == nil || aws.ToString(crs.CapacityReservationTarget.CapacityReservationId) != id):
			t.Errorf("a template of reservation %s has %+v", id, crs)
		}
	}
}

// TestCapacityBlockMarketType: only a template for a Capacity Block sets
// the market type capacity-block, beside its reservation target; an ODCR's
// and an ordinary one's set no market type, as before.
func TestCapacityBlockMarketType(t *testing.T) {
	for _, tc := range []struct {
		name       string
		id         string
		block      bool
		wantMarket ec2types.MarketType
	}{
		{"no reservation", "", false, ""},
		{"an ODCR", "cr-0123456789abcdef0", false, ""},
		{"a capacity block", "cr-0123456789abcdef1", true, ec2types.MarketTypeCapacityBlock},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &Spec{NodeClass: &ec2v1.EC2NodeClass{}, Family: ec2v1.AMIFamilyAL2023, ImageID: "ami-1", CapacityReservationID: tc.id, CapacityBlock: tc.block}
			d, err := s.data()
			if err != nil {
				t.Fatal(err)
			}
			var market ec2types.MarketType
			if d.InstanceMarketOptions != nil {
				market = d.InstanceMarketOptions.MarketType
			}
			if market != tc.wantMarket {
				t.Errorf("market type %q, want %q", market, tc.wantMarket)
			}
			if tc.block && (d.CapacityReservationSpecification == nil || aws.ToString(d.CapacityReservationSpecification.CapacityReservationTarget.CapacityReservationId) != tc.id) {
				t.Errorf("a block's template targets %+v, want %s", d.CapacityReservationSpecification, tc.id)
			}
		})
	}
}

// TestEnsureAndDelete: equal specs share a template, a changed one gets
// another, and deleting a class's templates deletes those and no others.
func TestEnsureAndDelete(t *testing.T) {
	sim, err := ec2sim.New(ec2sim.Options{ClusterName: "lt", Seed: 5, Log: testr.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Start(context.Background(), "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Stop)
	client := ec2.NewFromConfig(aws.Config{
		Region: ec2sim.Region, BaseEndpoint: aws.String(sim.URL()),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
	})
	images, err := client.DescribeImages(context.Background(), &ec2.DescribeImagesInput{Filters: []ec2types.Filter{{Name: aws.String("name"), Values: []string{"amazon-eks-node-al2023-x86_64-standard-1.34-*"}}}})
	if err != nil || len(images.Images) == 0 {
		t.Fatalf("no AMI to build templates of: %v", err)
	}
	spec := func(class, userData string) *Spec {
		return &Spec{
			NodeClass: &ec2v1.EC2NodeClass{ObjectMeta: metav1.ObjectMeta{Name: class}},
			Family:    ec2v1.AMIFamilyAL2023, ImageID: aws.ToString(images.Images[0].ImageId), UserData: userData,
		}
	}
	ctx := context.Background()
	p := NewProvider(client, "lt")
	a, err := p.Ensure(ctx, spec("a", "one"))
	if err != nil {
		t.Fatal(err)
	}
	// Another provider, as after a restart, finds the same template.
	again, err := NewProvider(client, "lt").Ensure(ctx, spec("a", "one"))
	if err != nil || again != a {
		t.Errorf("the same spec gave %+v (%v), want %+v", again, err, a)
	}
	changed, err := p.Ensure(ctx, spec("a", "two"))
	if err != nil || changed.ID == a.ID {
		t.Errorf("changed user data gave %+v (%v), want a new template", changed, err)
	}
	other, err := p.Ensure(ctx, spec("b", "one"))
	if err != nil {
		t.Fatal(err)
	}
	deleted, err := p.DeleteForNodeClass(ctx, "a")
	if err != nil || deleted != 2 {
		t.Errorf("deleted %d (%v), want the 2 of class a", deleted, err)
	}
	left, err := client.DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(left.LaunchTemplates) != 1 || aws.ToString(left.LaunchTemplates[0].LaunchTemplateId) != other.ID {
		t.Errorf("templates left %+v, want class b's %s", left.LaunchTemplates, other.ID)
	}
	// The deleted template is not remembered: ensuring it again makes it anew.
	recreated, err := p.Ensure(ctx, spec("a", "one"))
	if err != nil || recreated.ID == a.ID {
		t.Errorf("ensuring a deleted template gave %+v (%v)", recreated, err)
	}
}
