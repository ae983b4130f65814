package fleet

import (
	"cmp"
	"slices"

	"k8s.io/apimachinery/pkg/util/sets"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
	"github.com/tailor-project/tailor/apis/requirements"
	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/launcher/catalog"
)

// maxInstanceTypes caps the instance types of one CreateFleet call: the
// cheapest few dozen leave EC2 plenty of pools to choose from, while EC2
// limits the overrides of a request.
const maxInstanceTypes = 60

// pool is one override of a fleet request: an instance type in a subnet,
// with the offering it launches.
type pool struct {
	instanceType *catalog.InstanceType
	offering     catalog.Offering
	subnet       string
}

// capacityType picks the market to launch in: a capacity reservation when
// the claim allows one and one is available, since it is paid for already;
// else spot when the claim allows it and some spot offering is available,
// since it is the cheaper market the claim accepts; else on-demand. "" when
// nothing is available.
func capacityType(types []*catalog.InstanceType) string {
	available := sets.New[string]()
	for _, it := range types {
		for _, o := range it.Offerings {
			if o.Available {
				available.Insert(o.CapacityType)
			}
		}
	}
	for _, ct := range []string{wellknown.CapacityTypeReserved, wellknown.CapacityTypeSpot, wellknown.CapacityTypeOnDemand} {
		if available.Has(ct) {
			return ct
		}
	}
	return ""
}

// zoneSubnets maps each zone to the subnet instances go to there: the
// class's first subnet in the zone, which is the one with the most free
// addresses when the class was last resolved.
func zoneSubnets(nc *ec2v1.EC2NodeClass) map[string]string {
	out := map[string]string{}
	for _, s := range nc.Status.Subnets {
		if _, ok := out[s.Zone]; !ok {
			out[s.Zone] = s.ID
		}
	}
	return out
}

// pools lists the available offerings of the capacity type as overrides,
// cheapest first, for the cheapest maxInstanceTypes types.
func pools(types []*catalog.InstanceType, ct string, subnets map[string]string) []pool {
	var out []pool
	for _, it := range types {
		for _, o := range it.Offerings {
			subnet, ok := subnets[o.Zone]
			if !o.Available || o.CapacityType != ct || !ok {
				continue
			}
			out = append(out, pool{instanceType: it, offering: o, subnet: subnet})
		}
	}
	slices.SortStableFunc(out, func(a, b pool) int {
		return cmp.Or(cmp.Compare(a.offering.Price, b.offering.Price),
			cmp.Compare(a.instanceType.Name, b.instanceType.Name),
			cmp.Compare(a.offering.Zone, b.offering.Zone))
	})
	kept := sets.New[string]()
	// Two reservations of a type in a zone would be two overrides of the
	// same type and subnet, which CreateFleet's answer cannot tell apart:
	// the first is kept.
	seen := sets.New[overrideKey]()
	n := 0
	for _, p := range out {
		k := overrideKey{p.instanceType.Name, p.subnet}
		if seen.Has(k) {
			continue
		}
		seen.Insert(k)
		if !kept.Has(p.instanceType.Name) {
			if kept.Len() == maxInstanceTypes {
				continue
			}
			kept.Insert(p.instanceType.Name)
		}
		out[n] = p
		n++
	}
	return out[:n]
}

// amiFor returns the class's best AMI for an instance type: the first, in
// the order the status lists them, whose requirements the type's labels
// meet.
func amiFor(nc *ec2v1.EC2NodeClass, it *catalog.InstanceType) (ec2v1.AMI, bool) {
	for _, ami := range nc.Status.AMIs {
		if requirements.FromNodeSelectorRequirements(ami.Requirements...).MatchesLabels(it.Labels) == nil {
			return ami, true
		}
	}
	return ec2v1.AMI{}, false
}
