package nodeclass

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
	"github.com/tailor-project/tailor/launcher/awserr"
)

// Subnets returns the subnets the class selects, those with the most free
// addresses first: a launch takes the first subnet of each zone, so that
// nodes go where their pods will find addresses.
func (r *Resolver) Subnets(ctx context.Context, nc *ec2v1.EC2NodeClass) ([]ec2v1.Subnet, error) {
	found := map[string]ec2types.Subnet{}
	var terms []string
	for _, term := range nc.Spec.SubnetSelectorTerms {
		var filters []ec2types.Filter
		if term.ID != "" {
			filters = []ec2types.Filter{{Name: aws.String("subnet-id"), Values: []string{term.ID}}}
			terms = append(terms, "id "+term.ID)
		} else {
			filters = tagFilters(term.Tags)
			terms = append(terms, "tags "+describeTags(term.Tags))
		}
		pages := ec2.NewDescribeSubnetsPaginator(r.EC2, &ec2.DescribeSubnetsInput{Filters: filters})
		for pages.HasMorePages() {
			page, err := pages.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("selecting subnets by %s: %w", terms[len(terms)-1], awserr.Wrap("ec2", "DescribeSubnets", err))
			}
			for _, s := range page.Subnets {
				found[aws.ToString(s.SubnetId)] = s
			}
		}
	}
	if len(found) == 0 {
		return nil, notReady("SubnetsNotFound", "no subnet matches %s", describeTerms(terms))
	}
	subnets := make([]ec2types.Subnet, 0, len(found))
	for _, s := range found {
		subnets = append(subnets, s)
	}
	slices.SortFunc(subnets, func(a, b ec2types.Subnet) int {
		return cmp.Or(
			cmp.Compare(aws.ToInt32(b.AvailableIpAddressCount), aws.ToInt32(a.AvailableIpAddressCount)),
			cmp.Compare(aws.ToString(a.SubnetId), aws.ToString(b.SubnetId)),
		)
	})
	out := make([]ec2v1.Subnet, 0, len(subnets))
	for _, s := range subnets {
		out = append(out, ec2v1.Subnet{
			ID:     aws.ToString(s.SubnetId),
			Zone:   aws.ToString(s.AvailabilityZone),
			ZoneID: aws.ToString(s.AvailabilityZoneId),
		})
	}
	return out, nil
}
