package ec2sim

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"
)

// instanceProfile is an IAM instance profile. Roles are not modelled beyond
// their names: any role name may be added, as if it existed.
type instanceProfile struct {
	Name    string
	ID      string
	Path    string
	ARN     string
	Created time.Time
	Roles   []string
	Tags    map[string]string
}

var (
	iamNamePattern = regexp.MustCompile(`^[\w+=,.@-]{1,128}$`)
	iamPathPattern = regexp.MustCompile(`^(/|/[\x21-\x7E]*/)$`)
)

// assumeRolePolicy is the trust policy shown for every role: EC2 may assume it.
const assumeRolePolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

// iamID derives a stable IAM unique id: a four-letter prefix naming the
// kind of entity and 17 upper-case characters.
func iamID(prefix, name string) string {
	return prefix + strings.ToUpper(stableID("", name)[1:])
}

func (w *world) instanceProfileARN(path, name string) string {
	return "arn:aws:iam::" + w.account + ":instance-profile" + path + name
}

// newIAMAPI serves the instance-profile actions of IAM (awsQuery) that a
// launcher uses to give nodes their role.
func newIAMAPI(s *Simulator) *queryProtocol {
	api := &iamAPI{sim: s}
	return &queryProtocol{
		namespace: iamNamespace, version: "2010-05-08",
		actions: map[string]queryHandler{
			"CreateInstanceProfile":         api.createInstanceProfile,
			"GetInstanceProfile":            api.getInstanceProfile,
			"AddRoleToInstanceProfile":      api.addRoleToInstanceProfile,
			"RemoveRoleFromInstanceProfile": api.removeRoleFromInstanceProfile,
			"DeleteInstanceProfile":         api.deleteInstanceProfile,
			"TagInstanceProfile":            api.tagInstanceProfile,
		},
	}
}

type iamAPI struct {
	sim *Simulator
}

type iamTagXML struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

type roleXML struct {
	Path                     string `xml:"Path"`
	RoleName                 string `xml:"RoleName"`
	RoleID                   string `xml:"RoleId"`
	ARN                      string `xml:"Arn"`
	CreateDate               string `xml:"CreateDate"`
	AssumeRolePolicyDocument string `xml:"AssumeRolePolicyDocument"`
}

type instanceProfileXML struct {
	Path                string      `xml:"Path"`
	InstanceProfileName string      `xml:"InstanceProfileName"`
	InstanceProfileID   string      `xml:"InstanceProfileId"`
	ARN                 string      `xml:"Arn"`
	CreateDate          string      `xml:"CreateDate"`
	Roles               []roleXML   `xml:"Roles>member"`
	Tags                []iamTagXML `xml:"Tags>member,omitempty"`
}

type instanceProfileResult struct {
	InstanceProfile instanceProfileXML `xml:"InstanceProfile"`
}

func (a *iamAPI) render(p *instanceProfile) *instanceProfileResult {
	out := instanceProfileXML{
		Path: p.Path, InstanceProfileName: p.Name, InstanceProfileID: p.ID, ARN: p.ARN, CreateDate: awsTime(p.Created),
	}
	for _, r := range p.Roles {
		out.Roles = append(out.Roles, roleXML{
			Path: "/", RoleName: r, RoleID: iamID("AROA", r), ARN: "arn:aws:iam::" + a.sim.world.account + ":role/" + r,
			CreateDate: awsTime(p.Created), AssumeRolePolicyDocument: url.QueryEscape(assumeRolePolicy),
		})
	}
	keys := make([]string, 0, len(p.Tags))
	for k := range p.Tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out.Tags = append(out.Tags, iamTagXML{Key: k, Value: p.Tags[k]})
	}
	return &instanceProfileResult{InstanceProfile: out}
}

func iamValidation(field, value string) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: "ValidationError",
		Message: "1 validation error detected: Value '" + value + "' at '" + field + "' failed to satisfy constraint"}
}

func errNoSuchProfile(name string) *apiError {
	return &apiError{Status: http.StatusNotFound, Code: "NoSuchEntity", Message: "Instance Profile " + name + " cannot be found."}
}

func profileName(p params) (string, error) {
	name := p.String("InstanceProfileName")
	if name == "" {
		return "", errMissingParameter("InstanceProfileName")
	}
	if !iamNamePattern.MatchString(name) {
		return "", iamValidation("instanceProfileName", name)
	}
	return name, nil
}

func roleName(p params) (string, error) {
	name := p.String("RoleName")
	if name == "" {
		return "", errMissingParameter("RoleName")
	}
	if !iamNamePattern.MatchString(name) || len(name) > 64 {
		return "", iamValidation("roleName", name)
	}
	return name, nil
}

func readIAMTags(p params) (map[string]string, error) {
	tags := map[string]string{}
	for _, t := range p.Members("Tags") {
		k := t.String("Key")
		if k == "" || len(k) > 128 || strings.HasPrefix(strings.ToLower(k), "aws:") {
			return nil, iamValidation("tags.key", k)
		}
		tags[k] = t.String("Value")
	}
	return tags, nil
}

func (a *iamAPI) createInstanceProfile(_ context.Context, p params) (any, error) {
	name, err := profileName(p)
	if err != nil {
		return nil, err
	}
	path := or(p.String("Path"), "/")
	if !iamPathPattern.MatchString(path) {
		return nil, iamValidation("path", path)
	}
	tags, err := readIAMTags(p)
	if err != nil {
		return nil, err
	}
	s := a.sim
	s.world.mu.Lock()
	defer s.world.mu.Unlock()
	if _, ok := s.world.instanceProfiles[name]; ok {
		return nil, &apiError{Status: http.StatusConflict, Code: "EntityAlreadyExists", Message: "Instance Profile " + name + " already exists."}
	}
	profile := &instanceProfile{
		Name: name, ID: "AIPA" + s.ids.upper(17), Path: path, ARN: s.world.instanceProfileARN(path, name),
		Created: s.clock.Now(), Tags: tags,
	}
	s.world.instanceProfiles[name] = profile
	s.log.V(1).Info("Instance profile created", "instanceProfile", name)
	return a.render(profile), nil
}

func (a *iamAPI) getInstanceProfile(_ context.Context, p params) (any, error) {
	name, err := profileName(p)
	if err != nil {
		return nil, err
	}
	s := a.sim
	s.world.mu.Lock()
	defer s.world.mu.Unlock()
	profile, ok := s.world.instanceProfiles[name]
	if !ok {
		return nil, errNoSuchProfile(name)
	}
	return a.render(profile), nil
}

func (a *iamAPI) addRoleToInstanceProfile(_ context.Context, p params) (any, error) {
	name, err := profileName(p)
	if err != nil {
		return nil, err
	}
	role, err := roleName(p)
	if err != nil {
		return nil, err
	}
	s := a.sim
	s.world.mu.Lock()
	defer s.world.mu.Unlock()
	profile, ok := s.world.instanceProfiles[name]
	if !ok {
		return nil, errNoSuchProfile(name)
	}
	if len(profile.Roles) > 0 {
		return nil, &apiError{Status: http.StatusConflict, Code: "LimitExceeded", Message: "Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1"}
	}
	profile.Roles = []string{role}
	return nil, nil
}

func (a *iamAPI) removeRoleFromInstanceProfile(_ context.Context, p params) (any, error) {
	name, err := profileName(p)
	if err != nil {
		return nil, err
	}
	role, err := roleName(p)
	if err != nil {
		return nil, err
	}
	s := a.sim
	s.world.mu.Lock()
	defer s.world.mu.Unlock()
	profile, ok := s.world.instanceProfiles[name]
	if !ok {
		return nil, errNoSuchProfile(name)
	}
	if len(profile.Roles) == 0 || profile.Roles[0] != role {
		return nil, &apiError{Status: http.StatusNotFound, Code: "NoSuchEntity", Message: "The role with name " + role + " cannot be found."}
	}
	profile.Roles = nil
	return nil, nil
}

func (a *iamAPI) deleteInstanceProfile(_ context.Context, p params) (any, error) {
	name, err := profileName(p)
	if err != nil {
		return nil, err
	}
	s := a.sim
	s.world.mu.Lock()
	defer s.world.mu.Unlock()
	profile, ok := s.world.instanceProfiles[name]
	if !ok {
		return nil, errNoSuchProfile(name)
	}
	if len(profile.Roles) > 0 {
		return nil, &apiError{Status: http.StatusConflict, Code: "DeleteConflict", Message: "Cannot delete entity, must remove roles from instance profile first."}
	}
	delete(s.world.instanceProfiles, name)
	s.log.V(1).Info("Instance profile deleted", "instanceProfile", name)
	return nil, nil
}

func (a *iamAPI) tagInstanceProfile(_ context.Context, p params) (any, error) {
	name, err := profileName(p)
	if err != nil {
		return nil, err
	}
	tags, err := readIAMTags(p)
	if err != nil {
		return nil, err
	}
	if len(tags) == 0 {
		return nil, errMissingParameter("Tags")
	}
	s := a.sim
	s.world.mu.Lock()
	defer s.world.mu.Unlock()
	profile, ok := s.world.instanceProfiles[name]
	if !ok {
		return nil, errNoSuchProfile(name)
	}
	for k, v := range tags {
		profile.Tags[k] = v
	}
	return nil, nil
}
