package nodeclass

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

// EC2API is the part of the EC2 client resolution calls.
type EC2API interface {
	ec2.DescribeSubnetsAPIClient
	ec2.DescribeSecurityGroupsAPIClient
	ec2.DescribeImagesAPIClient
	ec2.DescribeCapacityReservationsAPIClient
}

// SSMAPI is the part of the SSM client that resolves AMI aliases.
type SSMAPI interface {
	GetParameter(context.Context, *ssm.GetParameterInput, ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
}

// IAMAPI is the part of the IAM client that manages instance profiles.
type IAMAPI interface {
	GetInstanceProfile(context.Context, *iam.GetInstanceProfileInput, ...func(*iam.Options)) (*iam.GetInstanceProfileOutput, error)
	CreateInstanceProfile(context.Context, *iam.CreateInstanceProfileInput, ...func(*iam.Options)) (*iam.CreateInstanceProfileOutput, error)
	AddRoleToInstanceProfile(context.Context, *iam.AddRoleToInstanceProfileInput, ...func(*iam.Options)) (*iam.AddRoleToInstanceProfileOutput, error)
	RemoveRoleFromInstanceProfile(context.Context, *iam.RemoveRoleFromInstanceProfileInput, ...func(*iam.Options)) (*iam.RemoveRoleFromInstanceProfileOutput, error)
	DeleteInstanceProfile(context.Context, *iam.DeleteInstanceProfileInput, ...func(*iam.Options)) (*iam.DeleteInstanceProfileOutput, error)
}

var (
	_ EC2API = &ec2.Client{}
	_ SSMAPI = &ssm.Client{}
	_ IAMAPI = &iam.Client{}
)

// Resolver looks up what an EC2NodeClass's terms select.
type Resolver struct {
	EC2 EC2API
	SSM SSMAPI
	IAM IAMAPI
	// ClusterName and Region name the instance profiles Tailor creates.
	ClusterName string
	Region      string
	// KubernetesVersion returns the cluster's minor version, "1.34": AMI
	// aliases resolve to the AMIs built for it.
	KubernetesVersion func(context.Context) (string, error)
}

// notReadyError is a part of a class that does not resolve for a reason the
// class's author has to fix; it becomes the part's condition, not a retry.
type notReadyError struct {
	reason  string
	message string
}

func (e *notReadyError) Error() string { return e.message }

func notReady(reason, format string, args ...any) error {
	return &notReadyError{reason: reason, message: fmt.Sprintf(format, args...)}
}

// asNotReady returns the notReadyError in err, if any.
func asNotReady(err error) (*notReadyError, bool) {
	var nr *notReadyError
	ok := errors.As(err, &nr)
	return nr, ok
}
