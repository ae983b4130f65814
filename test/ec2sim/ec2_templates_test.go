package ec2sim

import (
	"context"
	"encoding/base64"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// TestLaunchTemplates: create, find by name and by tag (with pagination),
// delete, and the errors EC2 gives for names that do not exist or are taken.
func TestLaunchTemplates(t *testing.T) {
	s := startSim(t, Options{})
	c := ec2Client(s)
	ctx := context.Background()
	userData := base64.StdEncoding.EncodeToString([]byte("#!/bin/bash\n"))
	for i := range 7 {
		_, err := c.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{
			LaunchTemplateName: aws.String(fmt.Sprintf("karpenter.k8s.aws/%d", i)),
			LaunchTemplateData: &ec2types.RequestLaunchTemplateData{UserData: aws.String(userData)},
			TagSpecifications: []ec2types.TagSpecification{{
				ResourceType: ec2types.ResourceTypeLaunchTemplate,
				Tags:         []ec2types.Tag{{Key: aws.String("karpenter.k8s.aws/cluster"), Value: aws.String("my-cluster")}},
			}},
		})
		if err != nil {
			t.Fatalf("CreateLaunchTemplate %d: %v", i, err)
		}
	}
	_, err := c.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{
		LaunchTemplateName: aws.String("karpenter.k8s.aws/0"),
		LaunchTemplateData: &ec2types.RequestLaunchTemplateData{UserData: aws.String(userData)},
	})
	wantAPIError(t, err, "InvalidLaunchTemplateName.AlreadyExistsException")

	byName, err := c.DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{LaunchTemplateNames: []string{"karpenter.k8s.aws/3"}})
	if err != nil || len(byName.LaunchTemplates) != 1 {
		t.Fatalf("DescribeLaunchTemplates by name: %v %+v", err, byName)
	}
	lt := byName.LaunchTemplates[0]
	if aws.ToInt64(lt.LatestVersionNumber) != 1 || lt.CreateTime == nil || len(lt.Tags) != 1 {
		t.Errorf("template %+v lacks its version, creation time or tag", lt)
	}

	seen := 0
	p := ec2.NewDescribeLaunchTemplatesPaginator(c, &ec2.DescribeLaunchTemplatesInput{
		Filters:    []ec2types.Filter{{Name: aws.String("tag:karpenter.k8s.aws/cluster"), Values: []string{"my-cluster"}}},
		MaxResults: aws.Int32(3),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("DescribeLaunchTemplates page: %v", err)
		}
		seen += len(page.LaunchTemplates)
	}
	if seen != 7 {
		t.Errorf("paged %d templates by tag, want 7", seen)
	}

	del, err := c.DeleteLaunchTemplate(ctx, &ec2.DeleteLaunchTemplateInput{LaunchTemplateName: aws.String("karpenter.k8s.aws/3")})
	if err != nil || aws.ToString(del.LaunchTemplate.LaunchTemplateId) != aws.ToString(lt.LaunchTemplateId) {
		t.Fatalf("DeleteLaunchTemplate: %v", err)
	}
	for _, tc := range []struct {
		name string
		call func() error
		code string
	}{
		{"describe a deleted name", func() error {
			_, err := c.DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{LaunchTemplateNames: []string{"karpenter.k8s.aws/3"}})
			return err
		}, "InvalidLaunchTemplateName.NotFoundException"},
		{"delete a deleted name", func() error {
			_, err := c.DeleteLaunchTemplate(ctx, &ec2.DeleteLaunchTemplateInput{LaunchTemplateName: aws.String("karpenter.k8s.aws/3")})
			return err
		}, "InvalidLaunchTemplateName.NotFoundException"},
		{"delete a deleted id", func() error {
			_, err := c.DeleteLaunchTemplate(ctx, &ec2.DeleteLaunchTemplateInput{LaunchTemplateId: lt.LaunchTemplateId})
			return err
		}, "InvalidLaunchTemplateId.NotFound"},
		{"malformed id", func() error {
			_, err := c.DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{LaunchTemplateIds: []string{"template-1"}})
			return err
		}, "InvalidLaunchTemplateId.Malformed"},
		{"malformed name", func() error {
			_, err := c.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{
				LaunchTemplateName: aws.String("a b"),
				LaunchTemplateData: &ec2types.RequestLaunchTemplateData{UserData: aws.String(userData)},
			})
			return err
		}, "InvalidLaunchTemplateName.MalformedException"},
	} {
		t.Run(tc.name, func(t *testing.T) { wantAPIError(t, tc.call(), tc.code) })
	}
}
