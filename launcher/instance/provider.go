package instance

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/tailor-project/tailor/launcher/awserr"
	"github.com/tailor-project/tailor/launcher/tags"
)

// ErrNotFound is returned for an instance EC2 does not know (any more).
var ErrNotFound = errors.New("instance not found")

// EC2API is the part of the EC2 client the provider calls.
type EC2API interface {
	ec2.DescribeInstancesAPIClient
	TerminateInstances(context.Context, *ec2.TerminateInstancesInput, ...func(*ec2.Options)) (*ec2.TerminateInstancesOutput, error)
}

var _ EC2API = &ec2.Client{}

// Provider finds and terminates the instances Tailor launched for one cluster.
type Provider struct {
	ec2         EC2API
	clusterName string
}

// NewProvider returns a Provider for the instances of clusterName.
func NewProvider(client EC2API, clusterName string) *Provider {
	return &Provider{ec2: client, clusterName: clusterName}
}

// Get describes one instance; an error wrapping ErrNotFound when EC2 does
// not know it.
func (p *Provider) Get(ctx context.Context, id string) (*Instance, error) {
	out, err := p.ec2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if awserr.IsNotFound(err) {
		return nil, fmt.Errorf("instance %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("describing instance %s: %w", id, awserr.Wrap("ec2", "DescribeInstances", err))
	}
	for _, r := range out.Reservations {
		for i := range r.Instances {
			if aws.ToString(r.Instances[i].InstanceId) == id {
				return fromEC2(&r.Instances[i]), nil
			}
		}
	}
	return nil, fmt.Errorf("instance %s: %w", id, ErrNotFound)
}

// ForNodeClaim returns the live instances tagged for the named NodeClaim:
// normally none before the launch and one after it.
func (p *Provider) ForNodeClaim(ctx context.Context, nodeClaim string) ([]*Instance, error) {
	return p.list(ctx, fmt.Sprintf("instances of NodeClaim %s", nodeClaim),
		ec2types.Filter{Name: aws.String("tag:" + tags.NodeClaim), Values: []string{nodeClaim}})
}

// List returns every live instance Tailor launched for the cluster.
func (p *Provider) List(ctx context.Context) ([]*Instance, error) {
	return p.list(ctx, "the cluster's instances",
		ec2types.Filter{Name: aws.String("tag-key"), Values: []string{tags.NodeClaim}})
}

func (p *Provider) list(ctx context.Context, what string, filters ...ec2types.Filter) ([]*Instance, error) {
	filters = append(filters,
		ec2types.Filter{Name: aws.String("tag:" + tags.ClusterKey(p.clusterName)), Values: []string{tags.Owned}},
		ec2types.Filter{Name: aws.String("instance-state-name"), Values: liveStates},
	)
	pages := ec2.NewDescribeInstancesPaginator(p.ec2, &ec2.DescribeInstancesInput{Filters: filters})
	var out []*Instance
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing %s: %w", what, awserr.Wrap("ec2", "DescribeInstances", err))
		}
		for _, r := range page.Reservations {
			for i := range r.Instances {
				out = append(out, fromEC2(&r.Instances[i]))
			}
		}
	}
	return out, nil
}

// Terminate asks EC2 to terminate an instance. An instance EC2 does not know
// is as good as terminated, so that is not an error.
func (p *Provider) Terminate(ctx context.Context, id string) error {
	_, err := p.ec2.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{id}})
	if err != nil && !awserr.IsNotFound(err) {
		return fmt.Errorf("terminating instance %s: %w", id, awserr.Wrap("ec2", "TerminateInstances", err))
	}
	return nil
}
