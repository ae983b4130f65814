package nodeclass

import (
	"context"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/launcher/awserr"
	"github.com/tailor-project/tailor/launcher/tags"
)

// InstanceProfileName is the name of the instance profile Tailor makes for a
// class that names a role: stable for the cluster, region and class, so that
// a restarted launcher finds the profile it made.
func InstanceProfileName(clusterName, region, nodeClass string) string {
	h := fnv.New64a()
	_, _ = h.Write([]byte(region + "/" + nodeClass))
	return fmt.Sprintf("%s_%016x", clusterName, h.Sum64())
}

// InstanceProfile returns the instance profile the class's nodes run with:
// the one the class names, which must exist, or the one Tailor makes for the
// class's role, created and given the role when needed.
func (r *Resolver) InstanceProfile(ctx context.Context, nc *ec2v1.EC2NodeClass) (string, error) {
	if nc.Spec.InstanceProfile != nil {
		name := *nc.Spec.InstanceProfile
		_, err := r.IAM.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: aws.String(name)})
		if awserr.IsNotFound(err) {
			return "", notReady("InstanceProfileNotFound", "instance profile %s does not exist", name)
		}
		if err != nil {
			return "", fmt.Errorf("reading instance profile %s: %w", name, awserr.Wrap("iam", "GetInstanceProfile", err))
		}
		return name, nil
	}
	name := InstanceProfileName(r.ClusterName, r.Region, nc.Name)
	profile, err := r.ensureProfile(ctx, nc, name)
	if err != nil {
		return "", err
	}
	roles := make([]string, 0, len(profile.Roles))
	for _, role := range profile.Roles {
		roles = append(roles, aws.ToString(role.RoleName))
	}
	if slices.Contains(roles, nc.Spec.Role) {
		return name, nil
	}
	// A profile holds one role: the class's role has changed.
	for _, old := range roles {
		_, err := r.IAM.RemoveRoleFromInstanceProfile(ctx, &iam.RemoveRoleFromInstanceProfileInput{InstanceProfileName: aws.String(name), RoleName: aws.String(old)})
		if err != nil && !awserr.IsNotFound(err) {
			return "", fmt.Errorf("removing role %s from instance profile %s: %w", old, name, awserr.Wrap("iam", "RemoveRoleFromInstanceProfile", err))
		}
	}
	_, err = r.IAM.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: aws.String(name), RoleName: aws.String(nc.Spec.Role)})
	if awserr.IsNotFound(err) {
		return "", notReady("RoleNotFound", "role %s does not exist", nc.Spec.Role)
	}
	if err != nil {
		return "", fmt.Errorf("adding role %s to instance profile %s: %w", nc.Spec.Role, name, awserr.Wrap("iam", "AddRoleToInstanceProfile", err))
	}
	return name, nil
}

// ensureProfile returns the named profile, creating it, tagged as the
// class's, when it does not exist.
func (r *Resolver) ensureProfile(ctx context.Context, nc *ec2v1.EC2NodeClass, name string) (*iamtypes.InstanceProfile, error) {
	got, err := r.IAM.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: aws.String(name)})
	if err == nil {
		return got.InstanceProfile, nil
	}
	if !awserr.IsNotFound(err) {
		return nil, fmt.Errorf("reading instance profile %s: %w", name, awserr.Wrap("iam", "GetInstanceProfile", err))
	}
	owned := tags.OwnedBy(r.ClusterName, nc.Name, nc.Spec.Tags)
	owned[wellknown.RegionLabel] = r.Region
	iamTags := make([]iamtypes.Tag, 0, len(owned))
	for _, k := range slices.Sorted(maps.Keys(owned)) {
		iamTags = append(iamTags, iamtypes.Tag{Key: aws.String(k), Value: aws.String(owned[k])})
	}
	created, err := r.IAM.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{
		InstanceProfileName: aws.String(name),
		Path:                aws.String("/"),
		Tags:                iamTags,
	})
	if awserr.IsAlreadyExists(err) {
		got, err := r.IAM.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: aws.String(name)})
		if err != nil {
			return nil, fmt.Errorf("reading instance profile %s: %w", name, awserr.Wrap("iam", "GetInstanceProfile", err))
		}
		return got.InstanceProfile, nil
	}
	if err != nil {
		return nil, fmt.Errorf("creating instance profile %s: %w", name, awserr.Wrap("iam", "CreateInstanceProfile", err))
	}
	return created.InstanceProfile, nil
}

// DeleteInstanceProfile deletes the instance profile Tailor made for a class
// that names a role; a class that names its own profile keeps it.
func (r *Resolver) DeleteInstanceProfile(ctx context.Context, nc *ec2v1.EC2NodeClass) error {
	if nc.Spec.InstanceProfile != nil {
		return nil
	}
	name := InstanceProfileName(r.ClusterName, r.Region, nc.Name)
	got, err := r.IAM.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: aws.String(name)})
	if awserr.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading instance profile %s: %w", name, awserr.Wrap("iam", "GetInstanceProfile", err))
	}
	// IAM deletes only profiles without roles.
	for _, role := range got.InstanceProfile.Roles {
		_, err := r.IAM.RemoveRoleFromInstanceProfile(ctx, &iam.RemoveRoleFromInstanceProfileInput{InstanceProfileName: aws.String(name), RoleName: role.RoleName})
		if err != nil && !awserr.IsNotFound(err) {
			return fmt.Errorf("removing role %s from instance profile %s: %w", aws.ToString(role.RoleName), name, awserr.Wrap("iam", "RemoveRoleFromInstanceProfile", err))
		}
	}
	_, err = r.IAM.DeleteInstanceProfile(ctx, &iam.DeleteInstanceProfileInput{InstanceProfileName: aws.String(name)})
	if err != nil && !awserr.IsNotFound(err) {
		return fmt.Errorf("deleting instance profile %s: %w", name, awserr.Wrap("iam", "DeleteInstanceProfile", err))
	}
	return nil
}
