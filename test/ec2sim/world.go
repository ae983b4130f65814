package ec2sim

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"sort"
	"sync"

	"github.com/tailor-project/tailor/launcher/catalog"
)

// Region is the only region the simulator serves: the compiled-in on-demand
// prices are those of us-east-1.
const Region = catalog.StaticRegion

// zone is an availability zone of the simulated region. Zone ids map names to
// physical zones per account in AWS; the simulated account's mapping is the
// obvious one.
type zone struct {
	Name string
	ID   string
}

var zones = []zone{
	{Name: Region + "a", ID: "use1-az1"},
	{Name: Region + "b", ID: "use1-az2"},
	{Name: Region + "c", ID: "use1-az3"},
}

func zoneNamed(name string) (zone, bool) {
	for _, z := range zones {
		if z.Name == name {
			return z, true
		}
	}
	return zone{}, false
}

func zoneWithID(id string) (zone, bool) {
	for _, z := range zones {
		if z.ID == id {
			return z, true
		}
	}
	return zone{}, false
}

// world is the state of the simulated account's EC2 and IAM resources. One
// mutex guards it all: requests are small and few, and one lock makes every
// action atomic, as an API call is.
type world struct {
	mu sync.Mutex

	account string
	cluster string
	vpcID   string

	types     map[string]*catalog.Info
	typeNames []string
	onDemand  map[string]float64

	subnets        []*subnet
	securityGroups []*securityGroup
	images         []*image
	// ssmParameters maps the public SSM parameters of the EKS AMIs to
	// image ids.
	ssmParameters map[string]string

	instances        map[string]*instance
	templates        map[string]*launchTemplate
	instanceProfiles map[string]*instanceProfile
	// reservations are the account's capacity reservations by id.
	reservations map[string]*CapacityReservation
	// tokens are the client tokens of RunInstances and CreateFleet.
	tokens idempotency
	// nextPublicIP numbers the public addresses handed out (publicip.go).
	nextPublicIP uint32
}

// subnet is a VPC subnet with a pool of private addresses.
type subnet struct {
	ID     string
	Zone   zone
	CIDR   netip.Prefix
	Public bool
	Tags   map[string]string
	// next is the offset of the next never-used host address; released
	// holds addresses given back by terminated instances, oldest first.
	next     uint32
	released []netip.Addr
	used     int
}

// capacity is the number of addresses instances may use: AWS reserves the
// first four and the last address of every subnet.
func (s *subnet) capacity() int {
	return 1<<(32-s.CIDR.Bits()) - 5
}

func (s *subnet) free() int {
	return s.capacity() - s.used
}

// allocate hands out a private address, or false when the subnet is full.
// Addresses never used go first, so that a new instance rarely gets the
// address (and Node name) of one that terminated a moment ago.
func (s *subnet) allocate() (netip.Addr, bool) {
	if s.free() <= 0 {
		return netip.Addr{}, false
	}
	s.used++
	if int(s.next) < s.capacity() {
		a := s.CIDR.Addr().As4()
		host := binary.BigEndian.Uint32(a[:]) + 4 + s.next
		s.next++
		binary.BigEndian.PutUint32(a[:], host)
		return netip.AddrFrom4(a), true
	}
	a := s.released[0]
	s.released = s.released[1:]
	return a, true
}

func (s *subnet) release(a netip.Addr) {
	if a.IsValid() && s.CIDR.Contains(a) {
		s.used--
		s.released = append(s.released, a)
	}
}

// securityGroup is a VPC security group; rules are not simulated.
type securityGroup struct {
	ID          string
	Name        string
	Description string
	Tags        map[string]string
}

// newWorld seeds the account: the instance types and on-demand prices of the
// catalog, a VPC with a private and a public subnet in each zone, the
// cluster's security group, and the EKS-optimized AMIs. Seeded ids derive
// from the cluster name, so they are the same in every run.
func newWorld(account, cluster string) (*world, error) {
	w := &world{
		account:          account,
		cluster:          cluster,
		vpcID:            stableID("vpc", cluster),
		types:            map[string]*catalog.Info{},
		onDemand:         catalog.StaticOnDemandPrices(),
		ssmParameters:    map[string]string{},
		instances:        map[string]*instance{},
		reservations:     map[string]*CapacityReservation{},
		templates:        map[string]*launchTemplate{},
		instanceProfiles: map[string]*instanceProfile{},
	}
	for _, info := range catalog.StaticInstanceTypes() {
		w.types[info.Name] = &info
		w.typeNames = append(w.typeNames, info.Name)
	}
	if len(w.types) == 0 {
		return nil, fmt.Errorf("the catalog has no instance types")
	}
	sort.Strings(w.typeNames)

	discovery := map[string]string{"karpenter.sh/discovery": cluster}
	for i, z := range zones {
		w.subnets = append(w.subnets,
			&subnet{
				ID: stableID("subnet", cluster+"/private/"+z.Name), Zone: z,
				CIDR: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 0, byte(32 * i), 0}), 19),
				Tags: withTags(discovery, map[string]string{
					"Name":                            fmt.Sprintf("%s-private-%s", cluster, z.Name),
					"network-type":                    "private",
					"kubernetes.io/role/internal-elb": "1",
				}),
			},
			&subnet{
				ID: stableID("subnet", cluster+"/public/"+z.Name), Zone: z, Public: true,
				CIDR: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 0, byte(96 + 16*i), 0}), 20),
				Tags: map[string]string{
					"Name":                   fmt.Sprintf("%s-public-%s", cluster, z.Name),
					"network-type":           "public",
					"kubernetes.io/role/elb": "1",
				},
			})
	}
	w.securityGroups = []*securityGroup{
		{
			ID: stableID("sg", cluster+"/cluster"), Name: "eks-cluster-sg-" + cluster,
			Description: "EKS created security group applied to ENI that is attached to EKS Control Plane master nodes, as well as any managed workloads.",
			Tags: withTags(discovery, map[string]string{
				"Name":                             "eks-cluster-sg-" + cluster,
				"aws:eks:cluster-name":             cluster,
				"kubernetes.io/cluster/" + cluster: "owned",
			}),
		},
		{ID: stableID("sg", cluster+"/default"), Name: "default", Description: "default VPC security group", Tags: map[string]string{}},
	}
	w.seedImages()
	return w, nil
}

func withTags(base, extra map[string]string) map[string]string {
	out := make(map[string]string, len(base)+len(extra))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range extra {
		out[k] = v
	}
	return out
}

func (w *world) subnet(id string) *subnet {
	for _, s := range w.subnets {
		if s.ID == id {
			return s
		}
	}
	return nil
}

// subnetIn returns the first private subnet of a zone, where EC2 would put an
// instance whose request names a zone but no subnet.
func (w *world) subnetIn(z string) *subnet {
	for _, s := range w.subnets {
		if s.Zone.Name == z && !s.Public {
			return s
		}
	}
	return nil
}

func (w *world) securityGroup(id string) *securityGroup {
	for _, g := range w.securityGroups {
		if g.ID == id {
			return g
		}
	}
	return nil
}

func (w *world) securityGroupNamed(name string) *securityGroup {
	for _, g := range w.securityGroups {
		if g.Name == name {
			return g
		}
	}
	return nil
}

func (w *world) image(id string) *image {
	for _, i := range w.images {
		if i.ID == id {
			return i
		}
	}
	return nil
}

func (w *world) arn(service, resource string) string {
	return fmt.Sprintf("arn:aws:%s:%s:%s:%s", service, Region, w.account, resource)
}
