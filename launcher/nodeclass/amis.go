package nodeclass

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	corev1 "k8s.io/api/core/v1"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/launcher/awserr"
)

// kubernetesArch maps EC2's architecture names to Kubernetes'; images of
// other architectures cannot run nodes.
var kubernetesArch = map[ec2types.ArchitectureValues]string{
	ec2types.ArchitectureValuesX8664: wellknown.ArchAMD64,
	ec2types.ArchitectureValuesArm64: wellknown.ArchARM64,
}

// AMIs returns the images the class selects, best first: images that are
// not deprecated before deprecated ones, newer before older. A launch takes,
// for each instance type, the first image whose requirements the type meets.
func (r *Resolver) AMIs(ctx context.Context, nc *ec2v1.EC2NodeClass, now time.Time) ([]ec2v1.AMI, error) {
	var images []ec2types.Image
	// variants holds, for an alias, the variants each image serves; images
	// selected by other terms serve every instance type of their
	// architecture.
	var variants map[string][]variant
	// rank orders an alias's images of one release as it names them: the
	// standard image of x86_64 first, which is the one people look for.
	rank := map[string]int{}
	var err error
	if len(nc.Spec.AMISelectorTerms) == 1 && nc.Spec.AMISelectorTerms[0].Alias != "" {
		var order []string
		images, variants, order, err = r.resolveAlias(ctx, nc.Spec.AMISelectorTerms[0].Alias)
		for i, id := range order {
			rank[id] = i
		}
	} else {
		images, err = r.selectedImages(ctx, nc.Spec.AMISelectorTerms)
	}
	if err != nil {
		return nil, err
	}
	family, err := Family(nc)
	if err != nil {
		return nil, notReady("AMIFamilyUnknown", "%v", err)
	}
	type candidate struct {
		ami     ec2v1.AMI
		created string
		rank    int
	}
	var candidates []candidate
	seen := map[string]bool{}
	for _, img := range images {
		id := aws.ToString(img.ImageId)
		arch, ok := kubernetesArch[img.Architecture]
		if seen[id] || !ok {
			continue
		}
		seen[id] = true
		if strings.HasPrefix(family, "Windows") && arch != wellknown.ArchAMD64 {
			continue
		}
		deprecated := false
		if t, err := time.Parse(time.RFC3339, aws.ToString(img.DeprecationTime)); err == nil && !t.After(now) {
			deprecated = true
		}
		archRequirement := corev1.NodeSelectorRequirement{Key: wellknown.ArchLabel, Operator: corev1.NodeSelectorOpIn, Values: []string{arch}}
		served := variants[id]
		if len(served) == 0 {
			candidates = append(candidates, candidate{created: aws.ToString(img.CreationDate), rank: rank[id], ami: ec2v1.AMI{
				ID: id, Name: aws.ToString(img.Name), Deprecated: deprecated,
				Requirements: []corev1.NodeSelectorRequirement{archRequirement},
			}})
			continue
		}
		// One entry per variant, as Karpenter lists them: an image that
		// serves two kinds of hardware appears twice, once with each
		// kind's requirements.
		for _, v := range served {
			candidates = append(candidates, candidate{created: aws.ToString(img.CreationDate), rank: rank[id], ami: ec2v1.AMI{
				ID: id, Name: aws.ToString(img.Name), Deprecated: deprecated,
				Requirements: append([]corev1.NodeSelectorRequirement{archRequirement}, v.requirements()...),
			}})
		}
	}
	if len(candidates) == 0 {
		runnable := "x86_64 or arm64"
		if strings.HasPrefix(family, "Windows") {
			runnable = "x86_64, the only one Windows runs on"
		}
		return nil, notReady("AMIsNotFound", "none of the selected AMIs has an architecture a node can run: %s", runnable)
	}
	// Stable, so that the entries of one image keep their variants' order.
	slices.SortStableFunc(candidates, func(a, b candidate) int {
		if a.ami.Deprecated != b.ami.Deprecated {
			if a.ami.Deprecated {
				return 1
			}
			return -1
		}
		// EC2's creation dates are ISO 8601 in UTC and sort as text.
		return cmp.Or(cmp.Compare(b.created, a.created), cmp.Compare(a.rank, b.rank), cmp.Compare(a.ami.ID, b.ami.ID))
	})
	out := make([]ec2v1.AMI, len(candidates))
	for i, c := range candidates {
		out[i] = c.ami
	}
	return out, nil
}

// resolveAlias resolves an alias through the public SSM parameters of the
// cluster's Kubernetes version: for each architecture the standard image and
// the accelerated variants EKS builds, each image with the variants it
// serves. A variant whose parameter does not exist is left out, so instance
// types that need it find no AMI; the alias fails only when it names no
// image at all.
func (r *Resolver) resolveAlias(ctx context.Context, s string) (images []ec2types.Image, variants map[string][]variant, order []string, err error) {
	a, err := parseAlias(s)
	if err != nil {
		return nil, nil, nil, notReady("AMIAliasInvalid", "%v", err)
	}
	version, err := r.KubernetesVersion(ctx)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("reading the cluster's Kubernetes version for alias %s: %w", s, err)
	}
	var ids, missing []string
	variants = map[string][]variant{}
	for _, arch := range []string{wellknown.ArchAMD64, wellknown.ArchARM64} {
		for _, ai := range aliasImages(a, arch, version) {
			out, err := r.SSM.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(ai.parameter)})
			if awserr.IsNotFound(err) {
				missing = append(missing, ai.parameter)
				continue
			}
			if err != nil {
				return nil, nil, nil, fmt.Errorf("resolving alias %s: %w", s, awserr.Wrap("ssm", "GetParameter", err))
			}
			if out.Parameter == nil || aws.ToString(out.Parameter.Value) == "" {
				continue
			}
			id := aws.ToString(out.Parameter.Value)
			if _, seen := variants[id]; !seen {
				ids = append(ids, id)
			}
			for _, v := range ai.variants {
				if !slices.Contains(variants[id], v) {
					variants[id] = append(variants[id], v)
				}
			}
		}
	}
	if len(ids) == 0 {
		return nil, nil, nil, notReady("AMIAliasNotFound", "alias %s names no AMI for Kubernetes %s: no SSM parameter %s",
			s, version, strings.Join(missing, " or "))
	}
	images, err = r.describeImages(ctx, []ec2types.Filter{{Name: aws.String("image-id"), Values: ids}}, nil)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("describing the AMIs of alias %s: %w", s, err)
	}
	if len(images) == 0 {
		return nil, nil, nil, notReady("AMIsNotFound", "alias %s resolves to %s, which EC2 does not describe", s, strings.Join(ids, ", "))
	}
	return images, variants, ids, nil
}

// selectedImages returns the images that any term selects.
func (r *Resolver) selectedImages(ctx context.Context, selectors []ec2v1.AMISelectorTerm) ([]ec2types.Image, error) {
	var images []ec2types.Image
	var terms []string
	for _, term := range selectors {
		filters := []ec2types.Filter{{Name: aws.String("state"), Values: []string{string(ec2types.ImageStateAvailable)}}}
		var owners []string
		var described []string
		switch {
		case term.Alias != "":
			return nil, notReady("AMISelectorInvalid", "alias %s must be the only amiSelectorTerm", term.Alias)
		case term.ID != "":
			filters = append(filters, ec2types.Filter{Name: aws.String("image-id"), Values: []string{term.ID}})
			described = append(described, "id "+term.ID)
		default:
			if term.Name != "" {
				filters = append(filters, ec2types.Filter{Name: aws.String("name"), Values: []string{term.Name}})
				described = append(described, "name "+term.Name)
				// A name alone could match anyone's public image; the
				// account's own and Amazon's are the ones meant.
				owners = []string{"self", "amazon"}
			}
			if len(term.Tags) > 0 {
				filters = append(filters, tagFilters(term.Tags)...)
				described = append(described, "tags "+describeTags(term.Tags))
			}
			if term.Owner != "" {
				owners = []string{term.Owner}
				described = append(described, "owner "+term.Owner)
			}
		}
		terms = append(terms, strings.Join(described, " and "))
		found, err := r.describeImages(ctx, filters, owners)
		if err != nil {
			return nil, fmt.Errorf("selecting AMIs by %s: %w", terms[len(terms)-1], err)
		}
		images = append(images, found...)
	}
	if len(images) == 0 {
		return nil, notReady("AMIsNotFound", "no AMI matches %s", describeTerms(terms))
	}
	return images, nil
}

func (r *Resolver) describeImages(ctx context.Context, filters []ec2types.Filter, owners []string) ([]ec2types.Image, error) {
	pages := ec2.NewDescribeImagesPaginator(r.EC2, &ec2.DescribeImagesInput{Filters: filters, Owners: owners})
	var out []ec2types.Image
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, awserr.Wrap("ec2", "DescribeImages", err)
		}
		out = append(out, page.Images...)
	}
	return out, nil
}
