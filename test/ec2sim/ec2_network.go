package ec2sim

import (
	"context"
	"sort"
	"strconv"
)

type availabilityZoneXML struct {
	ZoneName           string `xml:"zoneName"`
	ZoneID             string `xml:"zoneId"`
	ZoneState          string `xml:"zoneState"`
	RegionName         string `xml:"regionName"`
	GroupName          string `xml:"groupName"`
	NetworkBorderGroup string `xml:"networkBorderGroup"`
	OptInStatus        string `xml:"optInStatus"`
	ZoneType           string `xml:"zoneType"`
	GroupLongName      string `xml:"groupLongName"`
}

type describeAvailabilityZonesResponse struct {
	ec2Meta
	Zones []availabilityZoneXML `xml:"availabilityZoneInfo>item"`
}

func (e *ec2API) describeAvailabilityZones(_ context.Context, p params) (ec2Body, error) {
	filters, err := readFilters(p)
	if err != nil {
		return nil, err
	}
	selected := zones
	if names, ids := p.Strings("ZoneName"), p.Strings("ZoneId"); len(names) > 0 || len(ids) > 0 {
		selected = nil
		for _, n := range names {
			z, ok := zoneNamed(n)
			if !ok {
				return nil, clientError("InvalidParameterValue", "Invalid availability zone: [%s]", n)
			}
			selected = append(selected, z)
		}
		for _, id := range ids {
			z, ok := zoneWithID(id)
			if !ok {
				return nil, clientError("InvalidParameterValue", "Invalid availability zone ID: [%s]", id)
			}
			selected = append(selected, z)
		}
	}
	out := &describeAvailabilityZonesResponse{}
	for _, z := range selected {
		item := availabilityZoneXML{
			ZoneName: z.Name, ZoneID: z.ID, ZoneState: "available", RegionName: Region, GroupName: Region,
			NetworkBorderGroup: Region, OptInStatus: "opt-in-not-required", ZoneType: "availability-zone",
			GroupLongName: "US East (N. Virginia) 1",
		}
		ok, err := matchFilters(filters, func(name string) ([]string, bool) {
			switch name {
			case "zone-name":
				return []string{z.Name}, true
			case "zone-id":
				return []string{z.ID}, true
			case "region-name":
				return []string{Region}, true
			case "state":
				return []string{item.ZoneState}, true
			case "zone-type":
				return []string{item.ZoneType}, true
			case "group-name":
				return []string{item.GroupName}, true
			case "opt-in-status":
				return []string{item.OptInStatus}, true
			}
			return nil, false
		})
		if err != nil {
			return nil, err
		}
		if ok {
			out.Zones = append(out.Zones, item)
		}
	}
	return out, nil
}

type subnetXML struct {
	SubnetID                    string   `xml:"subnetId"`
	SubnetARN                   string   `xml:"subnetArn"`
	State                       string   `xml:"state"`
	VPCID                       string   `xml:"vpcId"`
	OwnerID                     string   `xml:"ownerId"`
	CIDRBlock                   string   `xml:"cidrBlock"`
	AvailableIPAddressCount     int      `xml:"availableIpAddressCount"`
	AvailabilityZone            string   `xml:"availabilityZone"`
	AvailabilityZoneID          string   `xml:"availabilityZoneId"`
	DefaultForAZ                bool     `xml:"defaultForAz"`
	MapPublicIPOnLaunch         bool     `xml:"mapPublicIpOnLaunch"`
	AssignIPv6AddressOnCreation bool     `xml:"assignIpv6AddressOnCreation"`
	IPv6Native                  bool     `xml:"ipv6Native"`
	HostnameType                string   `xml:"privateDnsNameOptionsOnLaunch>hostnameType"`
	Tags                        []tagXML `xml:"tagSet>item"`
}

type describeSubnetsResponse struct {
	ec2Meta
	Subnets   []subnetXML `xml:"subnetSet>item"`
	NextToken string      `xml:"nextToken,omitempty"`
}

func (e *ec2API) describeSubnets(_ context.Context, p params) (ec2Body, error) {
	filters, err := readFilters(p)
	if err != nil {
		return nil, err
	}
	s := e.sim
	s.world.mu.Lock()
	defer s.world.mu.Unlock()
	selected := append([]*subnet(nil), s.world.subnets...)
	if ids := p.Strings("SubnetId"); len(ids) > 0 {
		selected = nil
		for _, id := range ids {
			sn := s.world.subnet(id)
			if sn == nil {
				return nil, clientError("InvalidSubnetID.NotFound", "The subnet ID '%s' does not exist", id)
			}
			selected = append(selected, sn)
		}
	}
	sort.Slice(selected, func(i, j int) bool { return selected[i].ID < selected[j].ID })
	var matched []*subnet
	for _, sn := range selected {
		ok, err := matchFilters(filters, withTagAttributes(sn.Tags, func(name string) ([]string, bool) {
			switch name {
			case "subnet-id":
				return []string{sn.ID}, true
			case "vpc-id":
				return []string{s.world.vpcID}, true
			case "availability-zone":
				return []string{sn.Zone.Name}, true
			case "availability-zone-id":
				return []string{sn.Zone.ID}, true
			case "cidr-block", "cidr":
				return []string{sn.CIDR.String()}, true
			case "state":
				return []string{"available"}, true
			case "default-for-az":
				return []string{"false"}, true
			case "map-public-ip-on-launch":
				return []string{strconv.FormatBool(sn.Public)}, true
			case "owner-id":
				return []string{s.world.account}, true
			}
			return nil, false
		}))
		if err != nil {
			return nil, err
		}
		if ok {
			matched = append(matched, sn)
		}
	}
	page, next, err := paginateEC2(matched, func(sn *subnet) string { return sn.ID }, p, pageLimits{min: 5, max: 1000})
	if err != nil {
		return nil, err
	}
	out := &describeSubnetsResponse{NextToken: next}
	for _, sn := range page {
		out.Subnets = append(out.Subnets, subnetXML{
			SubnetID: sn.ID, SubnetARN: s.world.arn("ec2", "subnet/"+sn.ID), State: "available",
			VPCID: s.world.vpcID, OwnerID: s.world.account, CIDRBlock: sn.CIDR.String(),
			AvailableIPAddressCount: sn.free(), AvailabilityZone: sn.Zone.Name, AvailabilityZoneID: sn.Zone.ID,
			MapPublicIPOnLaunch: sn.Public, HostnameType: "ip-name", Tags: tagSet(sn.Tags),
		})
	}
	return out, nil
}

type ipPermissionXML struct {
	IPProtocol string   `xml:"ipProtocol"`
	IPRanges   []string `xml:"ipRanges>item>cidrIp"`
}

type securityGroupXML struct {
	OwnerID          string            `xml:"ownerId"`
	GroupID          string            `xml:"groupId"`
	GroupName        string            `xml:"groupName"`
	GroupDescription string            `xml:"groupDescription"`
	VPCID            string            `xml:"vpcId"`
	SecurityGroupARN string            `xml:"securityGroupArn"`
	IngressRules     []ipPermissionXML `xml:"ipPermissions>item"`
	EgressRules      []ipPermissionXML `xml:"ipPermissionsEgress>item"`
	Tags             []tagXML          `xml:"tagSet>item"`
}

type describeSecurityGroupsResponse struct {
	ec2Meta
	SecurityGroups []securityGroupXML `xml:"securityGroupInfo>item"`
	NextToken      string             `xml:"nextToken,omitempty"`
}

func (e *ec2API) describeSecurityGroups(_ context.Context, p params) (ec2Body, error) {
	filters, err := readFilters(p)
	if err != nil {
		return nil, err
	}
	s := e.sim
	s.world.mu.Lock()
	defer s.world.mu.Unlock()
	selected := append([]*securityGroup(nil), s.world.securityGroups...)
	if ids, names := p.Strings("GroupId"), p.Strings("GroupName"); len(ids) > 0 || len(names) > 0 {
		selected = nil
		for _, id := range ids {
			g := s.world.securityGroup(id)
			if g == nil {
				return nil, clientError("InvalidGroup.NotFound", "The security group '%s' does not exist", id)
			}
			selected = append(selected, g)
		}
		for _, name := range names {
			g := s.world.securityGroupNamed(name)
			if g == nil {
				return nil, clientError("InvalidGroup.NotFound", "The security group '%s' does not exist in default VPC '%s'", name, s.world.vpcID)
			}
			selected = append(selected, g)
		}
	}
	sort.Slice(selected, func(i, j int) bool { return selected[i].ID < selected[j].ID })
	var matched []*securityGroup
	for _, g := range selected {
		ok, err := matchFilters(filters, withTagAttributes(g.Tags, func(name string) ([]string, bool) {
			switch name {
			case "group-id":
				return []string{g.ID}, true
			case "group-name":
				return []string{g.Name}, true
			case "description":
				return []string{g.Description}, true
			case "vpc-id":
				return []string{s.world.vpcID}, true
			case "owner-id":
				return []string{s.world.account}, true
			}
			return nil, false
		}))
		if err != nil {
			return nil, err
		}
		if ok {
			matched = append(matched, g)
		}
	}
	page, next, err := paginateEC2(matched, func(g *securityGroup) string { return g.ID }, p, pageLimits{min: 5, max: 1000})
	if err != nil {
		return nil, err
	}
	out := &describeSecurityGroupsResponse{NextToken: next}
	for _, g := range page {
		out.SecurityGroups = append(out.SecurityGroups, securityGroupXML{
			OwnerID: s.world.account, GroupID: g.ID, GroupName: g.Name, GroupDescription: g.Description,
			VPCID: s.world.vpcID, SecurityGroupARN: s.world.arn("ec2", "security-group/"+g.ID),
			EgressRules: []ipPermissionXML{{IPProtocol: "-1", IPRanges: []string{"0.0.0.0/0"}}},
			Tags:        tagSet(g.Tags),
		})
	}
	return out, nil
}
