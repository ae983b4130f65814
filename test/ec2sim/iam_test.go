package ec2sim

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// TestInstanceProfiles runs an instance profile through the IAM calls a
// launcher makes for a node class's role, with the typed errors of each
// misstep.
func TestInstanceProfiles(t *testing.T) {
	s := startSim(t, Options{})
	c := iam.NewFromConfig(sdkConfig(s))
	ctx := context.Background()
	name := aws.String("my-cluster_123456")

	created, err := c.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{
		InstanceProfileName: name, Path: aws.String("/karpenter/us-east-1/my-cluster/"),
		Tags: []iamtypes.Tag{{Key: aws.String("karpenter.k8s.aws/ec2nodeclass"), Value: aws.String("default")}},
	})
	if err != nil {
		t.Fatalf("CreateInstanceProfile: %v", err)
	}
	p := created.InstanceProfile
	if !strings.HasPrefix(aws.ToString(p.InstanceProfileId), "AIPA") ||
		aws.ToString(p.Arn) != "arn:aws:iam::"+DefaultAccountID+":instance-profile/karpenter/us-east-1/my-cluster/my-cluster_123456" || p.CreateDate == nil {
		t.Errorf("created profile %+v", p)
	}
	_, err = c.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: name})
	var exists *iamtypes.EntityAlreadyExistsException
	if !errors.As(err, &exists) {
		t.Errorf("creating it twice: %v, want EntityAlreadyExists", err)
	}

	if _, err := c.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: name, RoleName: aws.String("KarpenterNodeRole")}); err != nil {
		t.Fatalf("AddRoleToInstanceProfile: %v", err)
	}
	_, err = c.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: name, RoleName: aws.String("Other")})
	var limit *iamtypes.LimitExceededException
	if !errors.As(err, &limit) {
		t.Errorf("a second role: %v, want LimitExceeded", err)
	}
	if _, err := c.TagInstanceProfile(ctx, &iam.TagInstanceProfileInput{InstanceProfileName: name,
		Tags: []iamtypes.Tag{{Key: aws.String("team"), Value: aws.String("platform")}}}); err != nil {
		t.Fatalf("TagInstanceProfile: %v", err)
	}
	got, err := c.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: name})
	if err != nil {
		t.Fatalf("GetInstanceProfile: %v", err)
	}
	if len(got.InstanceProfile.Roles) != 1 || aws.ToString(got.InstanceProfile.Roles[0].RoleName) != "KarpenterNodeRole" || len(got.InstanceProfile.Tags) != 2 {
		t.Errorf("profile after adding a role and a tag: %+v", got.InstanceProfile)
	}

	_, err = c.DeleteInstanceProfile(ctx, &iam.DeleteInstanceProfileInput{InstanceProfileName: name})
	var conflict *iamtypes.DeleteConflictException
	if !errors.As(err, &conflict) {
		t.Errorf("deleting a profile with a role: %v, want DeleteConflict", err)
	}
	if _, err := c.RemoveRoleFromInstanceProfile(ctx, &iam.RemoveRoleFromInstanceProfileInput{InstanceProfileName: name, RoleName: aws.String("KarpenterNodeRole")}); err != nil {
		t.Fatalf("RemoveRoleFromInstanceProfile: %v", err)
	}
	if _, err := c.DeleteInstanceProfile(ctx, &iam.DeleteInstanceProfileInput{InstanceProfileName: name}); err != nil {
		t.Fatalf("DeleteInstanceProfile: %v", err)
	}
	_, err = c.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: name})
	var noSuch *iamtypes.NoSuchEntityException
	if !errors.As(err, &noSuch) {
		t.Fatalf("getting a deleted profile: %v, want NoSuchEntity", err)
	}
	wantAPIError(t, err, "NoSuchEntity")
}

// TestGetCallerIdentity: the simulated account answers STS.
func TestGetCallerIdentity(t *testing.T) {
	s := startSim(t, Options{AccountID: "210987654321"})
	out, err := sts.NewFromConfig(sdkConfig(s)).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("GetCallerIdentity: %v", err)
	}
	if aws.ToString(out.Account) != "210987654321" || !strings.HasPrefix(aws.ToString(out.Arn), "arn:aws:iam::210987654321:") || aws.ToString(out.UserId) == "" {
		t.Errorf("identity %+v", out)
	}
}
