package ec2sim

import (
	"context"
	"regexp"
	"sort"
	"time"
)

// launchTemplate is an EC2 launch template. The simulator keeps one version
// of each: Tailor, like Karpenter, makes a new template instead of a new
// version when what it launches changes.
type launchTemplate struct {
	ID      string
	Name    string
	Created time.Time
	Tags    map[string]string
	Data    launchData
}

var (
	templateNamePattern = regexp.MustCompile(`^[a-zA-Z0-9().\-/_]{3,128}$`)
	templateIDPattern   = regexp.MustCompile(`^lt-[0-9a-f]{17}$`)
)

type launchTemplateXML struct {
	LaunchTemplateID     string   `xml:"launchTemplateId"`
	LaunchTemplateName   string   `xml:"launchTemplateName"`
	CreateTime           string   `xml:"createTime"`
	CreatedBy            string   `xml:"createdBy"`
	DefaultVersionNumber int      `xml:"defaultVersionNumber"`
	LatestVersionNumber  int      `xml:"latestVersionNumber"`
	Tags                 []tagXML `xml:"tagSet>item"`
}

func (s *Simulator) renderTemplateLocked(t *launchTemplate) launchTemplateXML {
	return launchTemplateXML{
		LaunchTemplateID: t.ID, LaunchTemplateName: t.Name, CreateTime: awsTime(t.Created),
		CreatedBy:            "arn:aws:iam::" + s.world.account + ":root",
		DefaultVersionNumber: 1, LatestVersionNumber: 1, Tags: tagSet(t.Tags),
	}
}

type createLaunchTemplateResponse struct {
	ec2Meta
	LaunchTemplate launchTemplateXML `xml:"launchTemplate"`
}

func (e *ec2API) createLaunchTemplate(_ context.Context, p params) (ec2Body, error) {
	name, err := p.Required("LaunchTemplateName")
	if err != nil {
		return nil, err
	}
	if !templateNamePattern.MatchString(name) {
		return nil, clientError("InvalidLaunchTemplateName.MalformedException",
			"A launch template name must be between 3 and 128 characters, and may contain letters, numbers, and the following characters: - ( ) . / _.")
	}
	if !p.Has("LaunchTemplateData") {
		return nil, errMissingParameter("LaunchTemplateData")
	}
	data, err := readLaunchData(p.Struct("LaunchTemplateData"))
	if err != nil {
		return nil, err
	}
	specs, err := readTagSpecifications(p)
	if err != nil {
		return nil, err
	}
	s := e.sim
	s.world.mu.Lock()
	defer s.world.mu.Unlock()
	for _, t := range s.world.templates {
		if t.Name == name {
			return nil, clientError("InvalidLaunchTemplateName.AlreadyExistsException", "Launch template name already in use.")
		}
	}
	t := &launchTemplate{ID: s.ids.resource("lt"), Name: name, Created: s.clock.Now(), Data: data,
		Tags: launchData{TagSpecifications: specs}.tagsFor("launch-template")}
	s.world.templates[t.ID] = t
	s.log.V(1).Info("Launch template created", "launchTemplate", t.ID, "name", name)
	return &createLaunchTemplateResponse{LaunchTemplate: s.renderTemplateLocked(t)}, nil
}

type describeLaunchTemplatesResponse struct {
	ec2Meta
	LaunchTemplates []launchTemplateXML `xml:"launchTemplates>item"`
	NextToken       string              `xml:"nextToken,omitempty"`
}

func (e *ec2API) describeLaunchTemplates(_ context.Context, p params) (ec2Body, error) {
	ids, names := p.Strings("LaunchTemplateId"), p.Strings("LaunchTemplateName")
	filters, err := readFilters(p)
	if err != nil {
		return nil, err
	}
	s := e.sim
	s.world.mu.Lock()
	defer s.world.mu.Unlock()
	selected, err := s.templatesLocked(ids, names)
	if err != nil {
		return nil, err
	}
	var matched []*launchTemplate
	for _, t := range selected {
		ok, err := matchFilters(filters, withTagAttributes(t.Tags, func(name string) ([]string, bool) {
			switch name {
			case "launch-template-name":
				return []string{t.Name}, true
			case "create-time":
				return []string{awsTime(t.Created)}, true
			}
			return nil, false
		}))
		if err != nil {
			return nil, err
		}
		if ok {
			matched = append(matched, t)
		}
	}
	page, next, err := paginateEC2(matched, func(t *launchTemplate) string { return t.ID }, p, pageLimits{min: 1, max: 200})
	if err != nil {
		return nil, err
	}
	out := &describeLaunchTemplatesResponse{NextToken: next}
	for _, t := range page {
		out.LaunchTemplates = append(out.LaunchTemplates, s.renderTemplateLocked(t))
	}
	return out, nil
}

// templatesLocked returns the templates named by id or name, or all of them,
// sorted by id. Naming one that does not exist fails the request.
func (s *Simulator) templatesLocked(ids, names []string) ([]*launchTemplate, error) {
	var out []*launchTemplate
	if len(ids) == 0 && len(names) == 0 {
		for _, t := range s.world.templates {
			out = append(out, t)
		}
	}
	for _, id := range ids {
		t, err := s.templateLocked(id, "", "")
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	for _, name := range names {
		t, err := s.templateLocked("", name, "")
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// templateLocked finds a launch template by id or name, and checks that the
// version asked for exists.
func (s *Simulator) templateLocked(id, name, version string) (*launchTemplate, error) {
	var found *launchTemplate
	switch {
	case id != "":
		if !templateIDPattern.MatchString(id) {
			return nil, clientError("InvalidLaunchTemplateId.Malformed", "The specified ID for the launch template (%s) is not valid.", id)
		}
		if found = s.world.templates[id]; found == nil {
			return nil, clientError("InvalidLaunchTemplateId.NotFound", "The specified launch template, with template ID %s, does not exist.", id)
		}
	case name != "":
		for _, t := range s.world.templates {
			if t.Name == name {
				found = t
			}
		}
		if found == nil {
			return nil, clientError("InvalidLaunchTemplateName.NotFoundException", "At least one of the launch templates specified in the request does not exist.")
		}
	default:
		return nil, errMissingParameter("LaunchTemplateId or LaunchTemplateName")
	}
	switch version {
	case "", "$Latest", "$Default", "1":
		return found, nil
	}
	return nil, clientError("InvalidLaunchTemplateId.VersionNotFound", "Could not find launch template version %s for template %s", version, found.ID)
}

type deleteLaunchTemplateResponse struct {
	ec2Meta
	LaunchTemplate launchTemplateXML `xml:"launchTemplate"`
}

func (e *ec2API) deleteLaunchTemplate(_ context.Context, p params) (ec2Body, error) {
	s := e.sim
	s.world.mu.Lock()
	defer s.world.mu.Unlock()
	t, err := s.templateLocked(p.String("LaunchTemplateId"), p.String("LaunchTemplateName"), "")
	if err != nil {
		return nil, err
	}
	delete(s.world.templates, t.ID)
	s.log.V(1).Info("Launch template deleted", "launchTemplate", t.ID, "name", t.Name)
	return &deleteLaunchTemplateResponse{LaunchTemplate: s.renderTemplateLocked(t)}, nil
}
