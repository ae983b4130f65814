package ec2sim

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// TestGetParameter resolves the public parameters behind every AMI alias
// family, latest and pinned, and checks each names an AMI of the right
// architecture; AL2 after 1.32 does not exist, as in AWS.
func TestGetParameter(t *testing.T) {
	s := startSim(t, Options{})
	c := ssm.NewFromConfig(sdkConfig(s))
	images := ec2Client(s)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		arch string
	}{
		{"/aws/service/eks/optimized-ami/1.34/amazon-linux-2023/x86_64/standard/recommended/image_id", "x86_64"},
		{"/aws/service/eks/optimized-ami/1.34/amazon-linux-2023/arm64/standard/recommended/image_id", "arm64"},
		{"/aws/service/eks/optimized-ami/1.31/amazon-linux-2023/x86_64/nvidia/recommended/image_id", "x86_64"},
		{"/aws/service/eks/optimized-ami/1.31/amazon-linux-2023/x86_64/standard/amazon-eks-node-al2023-x86_64-standard-1.31-v20250715/image_id", "x86_64"},
		{"/aws/service/eks/optimized-ami/1.32/amazon-linux-2/recommended/image_id", "x86_64"},
		{"/aws/service/eks/optimized-ami/1.32/amazon-linux-2-arm64/recommended/image_id", "arm64"},
		{"/aws/service/eks/optimized-ami/1.30/amazon-linux-2-gpu/amazon-eks-gpu-node-1.30-v20250812/image_id", "x86_64"},
		{"/aws/service/bottlerocket/aws-k8s-1.33/arm64/latest/image_id", "arm64"},
		{"/aws/service/bottlerocket/aws-k8s-1.33/x86_64/1.43.0/image_id", "x86_64"},
		{"/aws/service/bottlerocket/aws-k8s-1.34-nvidia/x86_64/latest/image_id", "x86_64"},
		{"/aws/service/ami-windows-latest/Windows_Server-2022-English-Core-EKS_Optimized-1.31/image_id", "x86_64"},
		{"/aws/service/ami-windows-latest/Windows_Server-2019-English-Core-EKS_Optimized-1.34/image_id", "x86_64"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := c.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(tc.name)})
			if err != nil {
				t.Fatalf("GetParameter: %v", err)
			}
			p := out.Parameter
			if aws.ToString(p.Name) != tc.name || p.Type != ssmtypes.ParameterTypeString || p.LastModifiedDate == nil || aws.ToString(p.DataType) != "aws:ec2:image" {
				t.Errorf("parameter %+v", p)
			}
			img, err := images.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{aws.ToString(p.Value)}})
			if err != nil {
				t.Fatalf("DescribeImages of the parameter's value: %v", err)
			}
			if got := string(img.Images[0].Architecture); got != tc.arch {
				t.Errorf("%s names a %s AMI, want %s", tc.name, got, tc.arch)
			}
		})
	}

	latest, _ := c.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/aws/service/eks/optimized-ami/1.31/amazon-linux-2023/x86_64/standard/recommended/image_id")})
	pinned, _ := c.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/aws/service/eks/optimized-ami/1.31/amazon-linux-2023/x86_64/standard/amazon-eks-node-al2023-x86_64-standard-1.31-v20250715/image_id")})
	if aws.ToString(latest.Parameter.Value) == aws.ToString(pinned.Parameter.Value) {
		t.Errorf("the recommended AMI is the older pinned release")
	}

	for _, name := range []string{
		"/aws/service/eks/optimized-ami/1.34/amazon-linux-2/recommended/image_id",
		"/aws/service/eks/optimized-ami/1.99/amazon-linux-2023/x86_64/standard/recommended/image_id",
	} {
		_, err := c.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name)})
		var notFound *ssmtypes.ParameterNotFound
		if !errors.As(err, &notFound) {
			t.Errorf("GetParameter %s: %v, want ParameterNotFound", name, err)
		}
		wantAPIError(t, err, "ParameterNotFound")
	}
}
