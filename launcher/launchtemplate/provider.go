package launchtemplate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"k8s.io/klog/v2"

	"github.com/tailor-project/tailor/launcher/awserr"
	"github.com/tailor-project/tailor/launcher/tags"
)

// EC2API is the part of the EC2 client the provider calls.
type EC2API interface {
	ec2.DescribeLaunchTemplatesAPIClient
	CreateLaunchTemplate(context.Context, *ec2.CreateLaunchTemplateInput, ...func(*ec2.Options)) (*ec2.CreateLaunchTemplateOutput, error)
	DeleteLaunchTemplate(context.Context, *ec2.DeleteLaunchTemplateInput, ...func(*ec2.Options)) (*ec2.DeleteLaunchTemplateOutput, error)
}

var _ EC2API = &ec2.Client{}

// Template is a launch template that exists in EC2.
type Template struct {
	ID   string
	Name string
}

// Provider makes launch templates and remembers the ones it has seen, so
// that a launch costs no template call once its template exists.
type Provider struct {
	ec2         EC2API
	clusterName string

	mu    sync.Mutex
	known map[string]Template // by name
}

// NewProvider returns a Provider for the templates of clusterName.
func NewProvider(client EC2API, clusterName string) *Provider {
	return &Provider{ec2: client, clusterName: clusterName, known: map[string]Template{}}
}

// Ensure returns the template for spec, creating it when it does not exist.
func (p *Provider) Ensure(ctx context.Context, spec *Spec) (Template, error) {
	data, err := spec.data()
	if err != nil {
		return Template{}, fmt.Errorf("EC2NodeClass %s: %w", spec.NodeClass.Name, err)
	}
	ltTags := tags.OwnedBy(p.clusterName, spec.NodeClass.Name, spec.Tags)
	name, err := p.name(data, ltTags)
	if err != nil {
		return Template{}, err
	}
	p.mu.Lock()
	t, ok := p.known[name]
	p.mu.Unlock()
	if ok {
		return t, nil
	}
	if t, err = p.find(ctx, name); err != nil || t.ID != "" {
		return p.remember(t), err
	}
	out, err := p.ec2.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{
		LaunchTemplateName: aws.String(name),
		LaunchTemplateData: data,
		TagSpecifications: []ec2types.TagSpecification{
			{ResourceType: ec2types.ResourceTypeLaunchTemplate, Tags: ec2Tags(ltTags)},
		},
	})
	switch {
	case awserr.IsAlreadyExists(err):
		// Created between our look and our create: another worker of this
		// launcher, or another replica before it lost its lease.
		t, err = p.find(ctx, name)
		return p.remember(t), err
	case err != nil:
		return Template{}, fmt.Errorf("creating launch template %s: %w", name, awserr.Wrap("ec2", "CreateLaunchTemplate", err))
	}
	t = Template{ID: aws.ToString(out.LaunchTemplate.LaunchTemplateId), Name: name}
	klog.FromContext(ctx).V(1).Info("Created launch template", "launchTemplate", t.ID, "name", name, "ec2NodeClass", spec.NodeClass.Name)
	return p.remember(t), nil
}

// name is the template's name: the cluster and a hash of the content, so
// that equal content finds the same template.
func (p *Provider) name(data *ec2types.RequestLaunchTemplateData, ltTags map[string]string) (string, error) {
	raw, err := json.Marshal(struct {
		Data *ec2types.RequestLaunchTemplateData
		Tags []ec2types.Tag
	}{data, ec2Tags(ltTags)})
	if err != nil {
		return "", fmt.Errorf("hashing launch template data: %w", err)
	}
	sum := sha256.Sum256(raw)
	return "tailor/" + p.clusterName + "/" + hex.EncodeToString(sum[:10]), nil
}

// find looks a template up by name; the zero Template when there is none.
func (p *Provider) find(ctx context.Context, name string) (Template, error) {
	out, err := p.ec2.DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{LaunchTemplateNames: []string{name}})
	if awserr.IsNotFound(err) {
		return Template{}, nil
	}
	if err != nil {
		return Template{}, fmt.Errorf("looking up launch template %s: %w", name, awserr.Wrap("ec2", "DescribeLaunchTemplates", err))
	}
	for _, lt := range out.LaunchTemplates {
		if aws.ToString(lt.LaunchTemplateName) == name {
			return Template{ID: aws.ToString(lt.LaunchTemplateId), Name: name}, nil
		}
	}
	return Template{}, nil
}

func (p *Provider) remember(t Template) Template {
	if t.ID != "" {
		p.mu.Lock()
		p.known[t.Name] = t
		p.mu.Unlock()
	}
	return t
}

// Forget drops what the provider remembers, so that the next Ensure looks
// again: a launch has found a template gone (deleted by hand, say).
func (p *Provider) Forget() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.known = map[string]Template{}
}

// DeleteForNodeClass deletes every template made for the node class, and
// returns how many it deleted.
func (p *Provider) DeleteForNodeClass(ctx context.Context, nodeClass string) (int, error) {
	pages := ec2.NewDescribeLaunchTemplatesPaginator(p.ec2, &ec2.DescribeLaunchTemplatesInput{
		Filters: []ec2types.Filter{
			{Name: aws.String("tag:" + tags.Cluster), Values: []string{p.clusterName}},
			{Name: aws.String("tag:" + tags.NodeClass), Values: []string{nodeClass}},
		},
	})
	deleted := 0
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return deleted, fmt.Errorf("listing the launch templates of EC2NodeClass %s: %w", nodeClass, awserr.Wrap("ec2", "DescribeLaunchTemplates", err))
		}
		for _, lt := range page.LaunchTemplates {
			_, err := p.ec2.DeleteLaunchTemplate(ctx, &ec2.DeleteLaunchTemplateInput{LaunchTemplateId: lt.LaunchTemplateId})
			if err != nil && !awserr.IsNotFound(err) {
				return deleted, fmt.Errorf("deleting launch template %s: %w", aws.ToString(lt.LaunchTemplateName), awserr.Wrap("ec2", "DeleteLaunchTemplate", err))
			}
			p.mu.Lock()
			delete(p.known, aws.ToString(lt.LaunchTemplateName))
			p.mu.Unlock()
			deleted++
		}
	}
	return deleted, nil
}
