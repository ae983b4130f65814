package ec2sim

import (
	"context"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// instanceIDPattern is the shape of instance ids, old (8 hex digits) and new (17).
var instanceIDPattern = regexp.MustCompile(`^i-([0-9a-f]{8}|[0-9a-f]{17})$`)

type runInstancesResponse struct {
	ec2Meta
	reservationXML
}

func (e *ec2API) runInstances(_ context.Context, p params) (ec2Body, error) {
	minCount, err := requiredCount(p, "MinCount")
	if err != nil {
		return nil, err
	}
	maxCount, err := requiredCount(p, "MaxCount")
	if err != nil {
		return nil, err
	}
	if minCount > maxCount {
		return nil, clientError("InvalidParameterValue", "MinCount (%d) may not be greater than MaxCount (%d)", minCount, maxCount)
	}
	data, err := readLaunchData(p)
	if err != nil {
		return nil, err
	}
	token := p.String("ClientToken")

	s := e.sim
	s.world.mu.Lock()
	defer s.world.mu.Unlock()
	// A retried request answers with what the first one launched.
	if body, ok, err := s.replayLocked(p); ok || err != nil {
		return body, err
	}
	var tpl *launchTemplate
	if p.Has("LaunchTemplate") {
		lt := p.Struct("LaunchTemplate")
		if tpl, err = s.templateLocked(lt.String("LaunchTemplateId"), lt.String("LaunchTemplateName"), lt.String("Version")); err != nil {
			return nil, err
		}
		data = tpl.Data.overlay(data)
	}
	spec, apiErr := s.resolveLaunchLocked(data, p.String("SubnetId"))
	if apiErr != nil {
		return nil, apiErr
	}
	spec.Template, spec.Token = tpl, token
	if apiErr := s.capacityErrorLocked(spec); apiErr != nil {
		return nil, apiErr
	}
	if free := spec.Subnet.free(); free < minCount {
		return nil, clientError("InsufficientFreeAddressesInSubnet", "There are not enough free addresses in subnet '%s' to satisfy the requested number of instances.", spec.Subnet.ID)
	}
	launched := s.launchLocked(spec, maxCount)
	s.log.Info("RunInstances launched", "instances", instanceIDs(launched), "instanceType", spec.Type.Name,
		"zone", spec.Subnet.Zone.Name, "capacityType", spec.capacityType())
	answer := func() ec2Body { return &runInstancesResponse{reservationXML: s.reservationsLocked(launched)[0]} }
	s.rememberLocked(p, answer)
	return answer(), nil
}

func requiredCount(p params, key string) (int, error) {
	n, err := p.Int(key)
	if err != nil {
		return 0, err
	}
	if n == nil {
		return 0, errMissingParameter(key)
	}
	if *n < 1 || *n > 1000 {
		return 0, errInvalidParameterValue(key, strconv.FormatInt(*n, 10), "Expecting a count between 1 and 1000.")
	}
	return int(*n), nil
}

type describeInstancesResponse struct {
	ec2Meta
	Reservations []reservationXML `xml:"reservationSet>item"`
	NextToken    string           `xml:"nextToken,omitempty"`
}

func (e *ec2API) describeInstances(_ context.Context, p params) (ec2Body, error) {
	ids := p.Strings("InstanceId")
	filters, err := readFilters(p)
	if err != nil {
		return nil, err
	}
	if len(ids) > 0 && p.String("MaxResults") != "" {
		return nil, clientError("InvalidParameterCombination", "The parameter instancesSet cannot be used with the parameter maxResults")
	}
	s := e.sim
	s.world.mu.Lock()
	defer s.world.mu.Unlock()
	selected, err := s.instancesLocked(ids)
	if err != nil {
		return nil, err
	}
	var matched []*instance
	for _, inst := range selected {
		ok, err := matchFilters(filters, s.instanceAttributes(inst))
		if err != nil {
			return nil, err
		}
		if ok {
			matched = append(matched, inst)
		}
	}
	page, next, err := paginateEC2(matched, func(i *instance) string { return i.ID }, p, pageLimits{min: 5, max: 1000})
	if err != nil {
		return nil, err
	}
	return &describeInstancesResponse{Reservations: s.reservationsLocked(page), NextToken: next}, nil
}

// instancesLocked returns the named instances, or all when none are named,
// sorted by id. A malformed or unknown id fails the whole request.
func (s *Simulator) instancesLocked(ids []string) ([]*instance, error) {
	if len(ids) == 0 {
		all := make([]*instance, 0, len(s.world.instances))
		for _, inst := range s.world.instances {
			all = append(all, inst)
		}
		sortInstances(all)
		return all, nil
	}
	var out []*instance
	var missing []string
	seen := map[string]bool{}
	for _, id := range ids {
		if !instanceIDPattern.MatchString(id) {
			return nil, clientError("InvalidInstanceID.Malformed", "Invalid id: \"%s\"", id)
		}
		inst, ok := s.world.instances[id]
		switch {
		case !ok:
			missing = append(missing, id)
		case !seen[id]:
			seen[id] = true
			out = append(out, inst)
		}
	}
	switch len(missing) {
	case 0:
	case 1:
		return nil, clientError("InvalidInstanceID.NotFound", "The instance ID '%s' does not exist", missing[0])
	default:
		return nil, clientError("InvalidInstanceID.NotFound", "The instance IDs '%s' do not exist", strings.Join(missing, ", "))
	}
	sortInstances(out)
	return out, nil
}

func sortInstances(list []*instance) {
	sort.Slice(list, func(i, j int) bool { return list[i].ID < list[j].ID })
}

func instanceIDs(list []*instance) []string {
	out := make([]string, len(list))
	for i, inst := range list {
		out[i] = inst.ID
	}
	return out
}

// instanceAttributes are the DescribeInstances filters the simulator knows.
func (s *Simulator) instanceAttributes(inst *instance) attributes {
	return withTagAttributes(inst.Tags, func(name string) ([]string, bool) {
		one := func(v string) ([]string, bool) { return []string{v}, true }
		switch name {
		case "instance-id":
			return one(inst.ID)
		case "instance-type":
			return one(inst.Type.Name)
		case "instance-state-name":
			return one(inst.State.Name)
		case "instance-state-code":
			return one(strconv.Itoa(inst.State.Code))
		case "availability-zone":
			return one(inst.Zone.Name)
		case "subnet-id":
			return one(inst.SubnetID)
		case "vpc-id":
			return one(s.world.vpcID)
		case "image-id":
			return one(inst.Image.ID)
		case "architecture":
			return one(inst.Image.Arch)
		case "private-dns-name":
			return one(inst.privateDNSName())
		case "private-ip-address":
			return one(inst.PrivateIP.String())
		case "ip-address":
			if ip, ok := inst.publicAddress(); ok {
				return one(ip.String())
			}
			return nil, true
		case "reservation-id":
			return one(inst.ReservationID)
		case "client-token":
			return one(inst.ClientToken)
		case "key-name":
			return one(inst.KeyName)
		case "instance-lifecycle":
			if inst.Spot {
				return one("spot")
			}
			return nil, true
		case "iam-instance-profile.name":
			return one(inst.InstanceProfile)
		case "instance.group-id":
			var ids []string
			for _, g := range inst.SecurityGroups {
				ids = append(ids, g.ID)
			}
			return ids, true
		}
		return nil, false
	})
}

type terminateInstancesResponse struct {
	ec2Meta
	Instances []instanceStateChangeXML `xml:"instancesSet>item"`
}

type instanceStateChangeXML struct {
	InstanceID    string           `xml:"instanceId"`
	CurrentState  instanceStateXML `xml:"currentState"`
	PreviousState instanceStateXML `xml:"previousState"`
}

func (e *ec2API) terminateInstances(_ context.Context, p params) (ec2Body, error) {
	ids := p.Strings("InstanceId")
	if len(ids) == 0 {
		return nil, errMissingParameter("InstanceId")
	}
	s := e.sim
	s.world.mu.Lock()
	defer s.world.mu.Unlock()
	targets, err := s.instancesLocked(ids)
	if err != nil {
		return nil, err
	}
	out := &terminateInstancesResponse{}
	for _, inst := range targets {
		previous := s.terminateLocked(inst, reasonUserShutdown)
		out.Instances = append(out.Instances, instanceStateChangeXML{
			InstanceID:    inst.ID,
			CurrentState:  instanceStateXML{Code: inst.State.Code, Name: inst.State.Name},
			PreviousState: instanceStateXML{Code: previous.Code, Name: previous.Name},
		})
	}
	s.log.Info("TerminateInstances", "instances", instanceIDs(targets))
	return out, nil
}

type createTagsResponse struct {
	ec2Meta
	Return bool `xml:"return"`
}

func (e *ec2API) createTags(_ context.Context, p params) (ec2Body, error) {
	resources := p.Strings("ResourceId")
	if len(resources) == 0 {
		return nil, errMissingParameter("ResourceId")
	}
	if len(p.List("Tag")) == 0 {
		return nil, errMissingParameter("Tag")
	}
	tags, err := readTags(p, "Tag")
	if err != nil {
		return nil, err
	}
	s := e.sim
	s.world.mu.Lock()
	defer s.world.mu.Unlock()
	// Resolve every resource first: a request that names one that does not
	// exist tags none.
	targets := make([]map[string]string, 0, len(resources))
	for _, id := range resources {
		t, err := s.tagsOfLocked(id)
		if err != nil {
			return nil, err
		}
		targets = append(targets, t)
	}
	for _, t := range targets {
		for k, v := range tags {
			t[k] = v
		}
	}
	return &createTagsResponse{Return: true}, nil
}

// tagsOfLocked returns the tag map of a taggable resource.
func (s *Simulator) tagsOfLocked(id string) (map[string]string, error) {
	prefix, _, _ := strings.Cut(id, "-")
	switch prefix {
	case "i":
		if inst, ok := s.world.instances[id]; ok {
			return inst.Tags, nil
		}
		return nil, clientError("InvalidInstanceID.NotFound", "The instance ID '%s' does not exist", id)
	case "lt":
		if t, ok := s.world.templates[id]; ok {
			return t.Tags, nil
		}
		return nil, clientError("InvalidLaunchTemplateId.NotFound", "The specified launch template, with template ID %s, does not exist.", id)
	case "subnet":
		if sn := s.world.subnet(id); sn != nil {
			return sn.Tags, nil
		}
		return nil, clientError("InvalidSubnetID.NotFound", "The subnet ID '%s' does not exist", id)
	case "sg":
		if g := s.world.securityGroup(id); g != nil {
			return g.Tags, nil
		}
		return nil, clientError("InvalidGroup.NotFound", "The security group '%s' does not exist", id)
	}
	return nil, clientError("InvalidID", "The ID '%s' is not valid", id)
}
