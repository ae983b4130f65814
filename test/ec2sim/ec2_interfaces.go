package ec2sim

import (
	"encoding/binary"
	"net/netip"
	"strings"

	"github.com/tailor-project/tailor/launcher/catalog"
)

// publicRange is where simulated public IPv4 addresses come from: the
// benchmarking range (RFC 2544), which reads as public to code that checks
// but routes nowhere, so a test that dials one reaches no real host.
var publicRange = netip.MustParsePrefix("198.18.0.0/15")

// primaryInterface returns the index of the launch's primary network
// interface (device index 0 of card 0), or -1 when the launch specifies none. The
// simulator models the primary interface only: it is the one that decides
// the instance's subnet and public address.
func primaryInterface(nis []networkInterfaceSpec) int {
	for i, ni := range nis {
		if ni.DeviceIndex == 0 && ni.NetworkCardIndex == 0 {
			return i
		}
	}
	return -1
}

// placeInterfaces applies a fleet override's placement to the network
// interfaces of its launch template, as EC2 does: the primary interface
// moves to the override's subnet (or, when the override names only a zone,
// to the subnet picked in that zone) and keeps its security groups, public
// address association and deletion on termination. Dropping the interfaces
// instead would launch into the default security group without the public
// address the template asks for. The template's own slice is left alone.
func placeInterfaces(nis []networkInterfaceSpec, subnetID, zone string) []networkInterfaceSpec {
	i := primaryInterface(nis)
	if i < 0 || (subnetID == "" && zone == "") {
		return nis
	}
	out := append([]networkInterfaceSpec(nil), nis...)
	out[i].SubnetID = subnetID
	return out
}

// interfaceSettings are what a launch says about the instance's primary
// interface beyond its subnet: whether it gets a public address (the
// request's choice, else the subnet's MapPublicIpOnLaunch) and whether the
// interface is deleted with the instance (unless the request says otherwise,
// it is: EC2 created it for the launch).
func interfaceSettings(spec launchSpec) (public, deleteOnTermination bool) {
	public, deleteOnTermination = spec.Subnet.Public, true
	if i := primaryInterface(spec.Data.NetworkInterfaces); i >= 0 {
		ni := spec.Data.NetworkInterfaces[i]
		if ni.AssociatePublicIP != nil {
			public = *ni.AssociatePublicIP
		}
		if ni.DeleteOnTermination != nil {
			deleteOnTermination = *ni.DeleteOnTermination
		}
	}
	return public, deleteOnTermination
}

// allocatePublicIP hands out the next simulated public address, wrapping
// around the range after 131,070 of them.
func (w *world) allocatePublicIP() netip.Addr {
	a := publicRange.Addr().As4()
	size := uint32(1)<<(32-publicRange.Bits()) - 2
	host := binary.BigEndian.Uint32(a[:]) + 1 + w.nextPublicIP%size
	w.nextPublicIP++
	binary.BigEndian.PutUint32(a[:], host)
	return netip.AddrFrom4(a)
}

// publicAddress is the instance's public address while it holds one: EC2
// releases it when the instance stops or terminates.
func (i *instance) publicAddress() (netip.Addr, bool) {
	if !i.PublicIP.IsValid() || i.State == stateStopped || i.State == stateTerminated {
		return netip.Addr{}, false
	}
	return i.PublicIP, true
}

// publicDNSName is the public hostname of an address in us-east-1, where
// EC2 names it under compute-1 rather than the region.
func publicDNSName(a netip.Addr) string {
	return "ec2-" + strings.ReplaceAll(a.String(), ".", "-") + ".compute-1.amazonaws.com"
}

// efaInterfaces counts the interfaces of a launch that carry an Elastic
// Fabric Adapter.
func efaInterfaces(nis []networkInterfaceSpec) int32 {
	var n int32
	for _, ni := range nis {
		if ni.InterfaceType == "efa" || ni.InterfaceType == "efa-only" {
			n++
		}
	}
	return n
}

// checkInterfaces refuses what EC2 refuses of a launch's interfaces for an
// instance type: an EFA on a type without one, more EFAs than the type has,
// or two interfaces in the same slot of a card.
func checkInterfaces(nis []networkInterfaceSpec, info *catalog.Info) error {
	if n := efaInterfaces(nis); n > 0 && info.EFAs == 0 {
		return clientError("InvalidParameterCombination", "The specified instance type %s does not support Elastic Fabric Adapter (EFA).", info.Name)
	} else if n > info.EFAs {
		return clientError("InvalidParameterCombination", "The instance type %s supports a maximum of %d EFA interfaces, but %d were specified.", info.Name, info.EFAs, n)
	}
	type slot struct{ card, device int64 }
	seen := map[slot]bool{}
	for _, ni := range nis {
		k := slot{ni.NetworkCardIndex, ni.DeviceIndex}
		if seen[k] {
			return clientError("InvalidParameterValue", "Each network interface requires a unique device index and network card index; two name card %d device %d.", k.card, k.device)
		}
		seen[k] = true
	}
	return nil
}
