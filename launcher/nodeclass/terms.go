package nodeclass

import (
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// tagFilters turns selector tags into EC2 filters: a value of "*" asks only
// that the tag exists.
func tagFilters(tags map[string]string) []ec2types.Filter {
	var out []ec2types.Filter
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		if tags[k] == "*" {
			out = append(out, ec2types.Filter{Name: aws.String("tag-key"), Values: []string{k}})
			continue
		}
		out = append(out, ec2types.Filter{Name: aws.String("tag:" + k), Values: []string{tags[k]}})
	}
	return out
}

// describeTags spells selector tags for a message: a=b,c=*.
func describeTags(tags map[string]string) string {
	parts := make([]string, 0, len(tags))
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		parts = append(parts, k+"="+tags[k])
	}
	return strings.Join(parts, ",")
}

// describeTerms joins the descriptions of selector terms for a message that
// says none of them matched.
func describeTerms(terms []string) string {
	if len(terms) == 1 {
		return terms[0]
	}
	return "any of: " + strings.Join(terms, "; ")
}
