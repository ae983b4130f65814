package nodeclass

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
	"github.com/tailor-project/tailor/launcher/awserr"
)

// SecurityGroups returns the security groups the class selects, sorted by id.
func (r *Resolver) SecurityGroups(ctx context.Context, nc *ec2v1.EC2NodeClass) ([]ec2v1.SecurityGroup, error) {
	found := map[string]ec2v1.SecurityGroup{}
	var terms []string
	for _, term := range nc.Spec.SecurityGroupSelectorTerms {
		var filters []ec2types.Filter
		switch {
		case term.ID != "":
			filters = []ec2types.Filter{{Name: aws.String("group-id"), Values: []string{term.ID}}}
			terms = append(terms, "id "+term.ID)
		case term.Name != "":
			filters = []ec2types.Filter{{Name: aws.String("group-name"), Values: []string{term.Name}}}
			terms = append(terms, "name "+term.Name)
		default:
			filters = tagFilters(term.Tags)
			terms = append(terms, "tags "+describeTags(term.Tags))
		}
		pages := ec2.NewDescribeSecurityGroupsPaginator(r.EC2, &ec2.DescribeSecurityGroupsInput{Filters: filters})
		for pages.HasMorePages() {
			page, err := pages.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("selecting security groups by %s: %w", terms[len(terms)-1], awserr.Wrap("ec2", "DescribeSecurityGroups", err))
			}
			for _, g := range page.SecurityGroups {
				id := aws.ToString(g.GroupId)
				found[id] = ec2v1.SecurityGroup{ID: id, Name: aws.ToString(g.GroupName)}
			}
		}
	}
	if len(found) == 0 {
		return nil, notReady("SecurityGroupsNotFound", "no security group matches %s", describeTerms(terms))
	}
	out := make([]ec2v1.SecurityGroup, 0, len(found))
	for _, id := range slices.Sorted(maps.Keys(found)) {
		out = append(out, found[id])
	}
	return out, nil
}
