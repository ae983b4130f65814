package ec2sim

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/tailor-project/tailor/launcher/catalog"
)

// launchSpec is a resolved request to start instances of one type in one
// subnet: one pool, in EC2's terms.
type launchSpec struct {
	Type           *catalog.Info
	Subnet         *subnet
	Image          *image
	Spot           bool
	SecurityGroups []*securityGroup
	Data           launchData
	// Template is the launch template the instances come from, if any.
	Template *launchTemplate
	FleetID  string
	Token    string
}

func (l launchSpec) capacityType() string {
	if l.Spot {
		return "spot"
	}
	return "on-demand"
}

// resolveLaunchLocked checks launch data against the world and resolves its
// ids. Its errors are EC2's for a request that names things that do not exist
// or do not fit together.
func (s *Simulator) resolveLaunchLocked(d launchData, subnetID string) (launchSpec, error) {
	spec := launchSpec{Data: d, Spot: d.MarketType == "spot"}
	if d.InstanceType == "" {
		return spec, errMissingParameter("InstanceType")
	}
	if spec.Type = s.world.types[d.InstanceType]; spec.Type == nil {
		return spec, clientError("InvalidParameterValue", "Invalid value '%s' for InstanceType.", d.InstanceType)
	}
	img, err := s.imageLocked(d.ImageID)
	if err != nil {
		return spec, err
	}
	spec.Image = img
	if got, want := ec2Arch(spec.Type.Arch), img.Arch; got != want {
		return spec, clientError("InvalidParameterValue",
			"The architecture '%s' of the specified instance type does not match the architecture '%s' of the specified AMI. Specify an instance type and an AMI that have matching architectures, and try again.",
			got, want)
	}
	if err := checkInterfaces(d.NetworkInterfaces, spec.Type); err != nil {
		return spec, err
	}
	if spec.Subnet, err = s.subnetForLocked(d, subnetID); err != nil {
		return spec, err
	}
	if spec.SecurityGroups, err = s.securityGroupsForLocked(d); err != nil {
		return spec, err
	}
	return spec, nil
}

func (s *Simulator) imageLocked(id string) (*image, error) {
	if id == "" {
		return nil, errMissingParameter("ImageId")
	}
	if !strings.HasPrefix(id, "ami-") {
		return nil, clientError("InvalidAMIID.Malformed", "Invalid id: \"%s\" (expecting \"ami-...\")", id)
	}
	img := s.world.image(id)
	if img == nil {
		return nil, clientError("InvalidAMIID.NotFound", "The image id '[%s]' does not exist", id)
	}
	return img, nil
}

// subnetForLocked picks the subnet as EC2 does: the one named, else the
// primary network interface's, else the zone's; with no default VPC in the
// simulated account, a request that names none of these fails.
func (s *Simulator) subnetForLocked(d launchData, subnetID string) (*subnet, error) {
	if i := primaryInterface(d.NetworkInterfaces); subnetID == "" && i >= 0 {
		subnetID = d.NetworkInterfaces[i].SubnetID
	}
	if subnetID != "" {
		sn := s.world.subnet(subnetID)
		if sn == nil {
			return nil, clientError("InvalidSubnetID.NotFound", "The subnet ID '%s' does not exist", subnetID)
		}
		if d.Zone != "" && d.Zone != sn.Zone.Name {
			return nil, clientError("InvalidParameterValue", "The subnet %s is in %s, not in the requested Availability Zone %s", subnetID, sn.Zone.Name, d.Zone)
		}
		return sn, nil
	}
	if d.Zone != "" {
		if sn := s.world.subnetIn(d.Zone); sn != nil {
			return sn, nil
		}
		return nil, clientError("InvalidParameterValue", "Invalid availability zone: [%s]", d.Zone)
	}
	return nil, clientError("VPCIdNotSpecified", "No default VPC for this user. Specify a subnet.")
}

func (s *Simulator) securityGroupsForLocked(d launchData) ([]*securityGroup, error) {
	ids := append([]string(nil), d.SecurityGroupIDs...)
	for _, ni := range d.NetworkInterfaces {
		ids = append(ids, ni.SecurityGroupIDs...)
	}
	var out []*securityGroup
	for _, id := range ids {
		g := s.world.securityGroup(id)
		if g == nil {
			return nil, clientError("InvalidGroup.NotFound", "The security group '%s' does not exist", id)
		}
		out = append(out, g)
	}
	for _, name := range d.SecurityGroupNames {
		g := s.world.securityGroupNamed(name)
		if g == nil {
			return nil, clientError("InvalidGroup.NotFound", "The security group '%s' does not exist in VPC '%s'", name, s.world.vpcID)
		}
		out = append(out, g)
	}
	if len(out) == 0 {
		out = append(out, s.world.securityGroupNamed("default"))
	}
	return out, nil
}

// capacityErrorLocked says why EC2 would not start an instance in the spec's
// pool right now, or nil: the type is not offered in the zone, there is no
// capacity (a fault), the subnet is full, or the spot price is above the
// maximum the request pays.
func (s *Simulator) capacityErrorLocked(spec launchSpec) error {
	t, z := spec.Type.Name, spec.Subnet.Zone.Name
	if s.faults.notOffered(t, z) {
		return clientError("Unsupported",
			"Your requested instance type (%s) is not supported in your requested Availability Zone (%s). Please retry your request by not specifying an Availability Zone or choosing %s.",
			t, z, strings.Join(s.otherZones(z), ", "))
	}
	if spec.Spot {
		if _, ok := s.world.onDemand[t]; !ok {
			return clientError("Unsupported", "The requested configuration is currently not supported for Spot: %s has no Spot market.", t)
		}
	}
	if spec.Data.MarketType == reservationTypeCapacityBlock && spec.Data.CapacityReservationID == "" {
		return clientError("InvalidParameterCombination", "The market type capacity-block requires a Capacity Block as CapacityReservationTarget.")
	}
	if spec.Data.CapacityReservationID != "" {
		// A reservation's instances are its own capacity: only the
		// reservation's room limits them.
		if err := s.reservationErrorLocked(spec); err != nil {
			return err
		}
	} else if s.faults.insufficientCapacity(t, z, spec.capacityType()) {
		e := &apiError{Status: http.StatusInternalServerError, Code: "InsufficientInstanceCapacity"}
		if spec.Spot {
			e.Message = "There is no Spot capacity available that matches your request."
		} else {
			e.Message = fmt.Sprintf("We currently do not have sufficient %s capacity in the Availability Zone you requested (%s). Our system will be working on provisioning additional capacity. You can currently get %s capacity by not specifying an Availability Zone in your request or choosing %s.",
				t, z, t, strings.Join(s.otherZones(z), ", "))
		}
		return e
	}
	if spec.Subnet.free() <= 0 {
		return clientError("InsufficientFreeAddressesInSubnet", "There are not enough free addresses in subnet '%s' to satisfy the requested number of instances.", spec.Subnet.ID)
	}
	if spec.Spot && spec.Data.SpotMaxPrice != "" {
		price, _ := s.spotPrice(t, spec.Subnet.Zone, s.clock.Now())
		var max float64
		if _, err := fmt.Sscanf(spec.Data.SpotMaxPrice, "%g", &max); err != nil {
			return errInvalidParameterValue("MaxPrice", spec.Data.SpotMaxPrice, "Expecting a price in USD.")
		}
		if price > max {
			return clientError("SpotMaxPriceTooLow", "Your Spot request price of %s is lower than the minimum required Spot request fulfillment price of %s.",
				spec.Data.SpotMaxPrice, formatPrice(price))
		}
	}
	return nil
}

func (s *Simulator) otherZones(z string) []string {
	var out []string
	for _, o := range zones {
		if o.Name != z {
			out = append(out, o.Name)
		}
	}
	return out
}

// launchLocked starts up to n instances of a checked spec, fewer if the
// subnet runs out of addresses, and schedules their boot.
func (s *Simulator) launchLocked(spec launchSpec, n int) []*instance {
	reservation := s.ids.resource("r")
	now := s.clock.Now()
	tags, volumeTags := spec.Data.tagsFor("instance"), spec.Data.tagsFor("volume")
	public, deleteInterface := interfaceSettings(spec)
	metadata := metadataOptions{HTTPEndpoint: "enabled", HTTPTokens: "optional", HTTPProtocolIPv6: "disabled", HTTPPutHopLimit: 1, InstanceMetadataTags: "disabled"}
	if m := spec.Data.Metadata; m != nil {
		metadata = metadataOptions{
			HTTPEndpoint: or(m.HTTPEndpoint, metadata.HTTPEndpoint), HTTPTokens: or(m.HTTPTokens, metadata.HTTPTokens),
			HTTPProtocolIPv6: or(m.HTTPProtocolIPv6, metadata.HTTPProtocolIPv6), InstanceMetadataTags: or(m.InstanceMetadataTags, metadata.InstanceMetadataTags),
			HTTPPutHopLimit: max(m.HTTPPutHopLimit, 1),
		}
	}
	devices := spec.Data.BlockDevices
	if len(devices) == 0 {
		devices = defaultBlockDevices(spec.Image)
	}
	var out []*instance
	if r := s.world.reservations[spec.Data.CapacityReservationID]; r != nil {
		n = min(n, s.reservationFreeLocked(r))
	}
	for range n {
		ip, ok := spec.Subnet.allocate()
		if !ok {
			break
		}
		inst := &instance{
			ID: s.ids.resource("i"), ReservationID: reservation,
			Type: spec.Type, Zone: spec.Subnet.Zone, SubnetID: spec.Subnet.ID, Image: spec.Image, PrivateIP: ip,
			LaunchTime: now, Spot: spec.Spot, SecurityGroups: spec.SecurityGroups, Tags: withTags(tags, nil),
			UserData: spec.Data.UserData, InstanceProfile: spec.Data.InstanceProfileName, ClientToken: spec.Token,
			KeyName: spec.Data.KeyName, Metadata: metadata, BlockDevices: devices, VolumeTags: withTags(volumeTags, nil),
			InterfaceDeleteOnTermination: deleteInterface, EFAs: efaInterfaces(spec.Data.NetworkInterfaces),
			neverJoin:             s.faults.neverJoin(spec.Type.Name, spec.Subnet.Zone.Name, spec.capacityType()),
			CapacityReservationID: spec.Data.CapacityReservationID,
		}
		if public {
			inst.PublicIP = s.world.allocatePublicIP()
		}
		if spec.Spot {
			inst.SpotRequestID = s.ids.resource("sir")[:12]
		}
		if t := spec.Template; t != nil {
			inst.TemplateID, inst.TemplateVersion = t.ID, "1"
			inst.Tags["aws:ec2launchtemplate:id"] = t.ID
			inst.Tags["aws:ec2launchtemplate:version"] = "1"
		}
		if spec.FleetID != "" {
			inst.Tags["aws:ec2:fleet-id"] = spec.FleetID
		}
		s.world.instances[inst.ID] = inst
		s.setStateLocked(inst, statePending)
		s.scheduleBootLocked(inst)
		out = append(out, inst)
	}
	return out
}

// defaultBlockDevices are the AMI's own mappings, used when the request maps
// no devices: a 20 GiB root volume, and Bottlerocket's data volume.
func defaultBlockDevices(img *image) []blockDevice {
	root := blockDevice{DeviceName: img.RootDevice, VolumeSizeGiB: 20, VolumeType: "gp3", DeleteOnTermination: true}
	if img.Windows {
		root.VolumeSizeGiB = 50
	}
	if img.DataDevice == "" {
		return []blockDevice{root}
	}
	root.VolumeSizeGiB = 4
	return []blockDevice{root, {DeviceName: img.DataDevice, VolumeSizeGiB: 20, VolumeType: "gp3", DeleteOnTermination: true}}
}

// ec2Arch maps a Kubernetes architecture to EC2's name for it.
func ec2Arch(kubernetesArch string) string {
	if kubernetesArch == "arm64" {
		return "arm64"
	}
	return "x86_64"
}

func or(v, def string) string {
	if v != "" {
		return v
	}
	return def
}
