package fleet_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/launcher/tags"
)

// TestLaunchBootsTheVariantForTheHardware: with an al2023 alias, GPU types
// boot the NVIDIA build, Inferentia types the Neuron build and the rest the
// standard one; a claim that allows both kinds makes one launch template
// per AMI.
func TestLaunchBootsTheVariantForTheHardware(t *testing.T) {
	tests := []struct {
		name    string
		family  []string
		want    string
		configs int
	}{
		{name: "gpu", family: []string{"g5"}, want: "-x86_64-nvidia-", configs: 1},
		{name: "inferentia", family: []string{"inf2"}, want: "-x86_64-neuron-", configs: 1},
		{name: "cpu", family: []string{"m5"}, want: "-x86_64-standard-", configs: 1},
		{name: "either", family: []string{"m5", "g5"}, want: "-x86_64-standard-", configs: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			ctx := context.Background()
			res, err := w.launcher.Launch(ctx, w.request(t, claimFor(tc.name,
				in(wellknown.InstanceFamilyLabel, tc.family...), in(wellknown.CapacityTypeLabel, wellknown.CapacityTypeOnDemand))))
			if err != nil {
				t.Fatal(err)
			}
			images, err := w.ec2.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{res.Instance.ImageID}})
			if err != nil {
				t.Fatal(err)
			}
			if len(images.Images) != 1 {
				t.Fatalf("image %s described as %d images", res.Instance.ImageID, len(images.Images))
			}
			if name := aws.ToString(images.Images[0].Name); !strings.Contains(name, tc.want) {
				t.Errorf("%s boots %s, want the image named like %s", res.Instance.Type, name, tc.want)
			}
			lts, err := w.ec2.DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{Filters: []ec2types.Filter{
				{Name: aws.String("tag:" + tags.Cluster), Values: []string{testCluster}},
			}})
			if err != nil {
				t.Fatal(err)
			}
			if len(lts.LaunchTemplates) != tc.configs {
				t.Errorf("%d launch templates, want %d, one per AMI", len(lts.LaunchTemplates), tc.configs)
			}
		})
	}
}
