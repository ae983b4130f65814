package ec2sim

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// TestDescribeImages: AMIs are found by id, by name pattern and owner, with
// the architecture and block devices a launcher reads.
func TestDescribeImages(t *testing.T) {
	s := startSim(t, Options{})
	c := ec2Client(s)
	ctx := context.Background()
	for _, tc := range []struct {
		name      string
		in        *ec2.DescribeImagesInput
		wantCount int
		wantArch  ec2types.ArchitectureValues
		wantOS    ec2types.PlatformValues
	}{
		{
			name: "AL2023 arm64 by name pattern",
			in: &ec2.DescribeImagesInput{Owners: []string{"amazon"}, Filters: []ec2types.Filter{
				{Name: aws.String("name"), Values: []string{"amazon-eks-node-al2023-arm64-standard-1.33-*"}},
			}},
			wantCount: 2, wantArch: ec2types.ArchitectureValuesArm64,
		},
		{
			name: "Bottlerocket by owner id and architecture",
			in: &ec2.DescribeImagesInput{Owners: []string{bottlerocketAMIOwner}, Filters: []ec2types.Filter{
				{Name: aws.String("name"), Values: []string{"bottlerocket-aws-k8s-1.34-x86_64-*"}},
				{Name: aws.String("architecture"), Values: []string{"x86_64"}},
			}},
			wantCount: 2, wantArch: ec2types.ArchitectureValuesX8664,
		},
		{
			name: "Windows 2022",
			in: &ec2.DescribeImagesInput{Filters: []ec2types.Filter{
				{Name: aws.String("name"), Values: []string{"Windows_Server-2022-English-Core-EKS_Optimized-1.31-*"}},
			}},
			wantCount: 2, wantArch: ec2types.ArchitectureValuesX8664, wantOS: ec2types.PlatformValuesWindows,
		},
		{
			name:      "the account's own images: none",
			in:        &ec2.DescribeImagesInput{Owners: []string{"self"}},
			wantCount: 0,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := c.DescribeImages(ctx, tc.in)
			if err != nil {
				t.Fatalf("DescribeImages: %v", err)
			}
			if len(out.Images) != tc.wantCount {
				t.Fatalf("%d images, want %d", len(out.Images), tc.wantCount)
			}
			for _, img := range out.Images {
				// EC2 writes the platform in lower case, unlike the SDK's constant.
				if img.Architecture != tc.wantArch || !strings.EqualFold(string(img.Platform), string(tc.wantOS)) || img.State != ec2types.ImageStateAvailable {
					t.Errorf("image %s: arch %s platform %q state %s", aws.ToString(img.Name), img.Architecture, img.Platform, img.State)
				}
				if len(img.BlockDeviceMappings) == 0 || aws.ToString(img.CreationDate) == "" {
					t.Errorf("image %s lacks block devices or a creation date", aws.ToString(img.Name))
				}
			}
		})
	}

	id := s.world.ssmParameters["/aws/service/bottlerocket/aws-k8s-1.34/arm64/latest/image_id"]
	byID, err := c.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{id}})
	if err != nil || len(byID.Images) != 1 || len(byID.Images[0].BlockDeviceMappings) != 2 {
		t.Fatalf("Bottlerocket by id: %v %+v", err, byID)
	}
	_, err = c.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{"ami-0123456789abcdef0"}})
	wantAPIError(t, err, "InvalidAMIID.NotFound")
	_, err = c.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{"al2023@latest"}})
	wantAPIError(t, err, "InvalidAMIID.Malformed")
}
