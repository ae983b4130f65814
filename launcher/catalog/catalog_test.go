package catalog

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
)

// seedZones are six zones of us-east-1, as a region-wide catalog sees them.
var seedZones = []Zone{
	{Name: "us-east-1a", ID: "use1-az1"},
	{Name: "us-east-1b", ID: "use1-az2"},
	{Name: "us-east-1c", ID: "use1-az4"},
	{Name: "us-east-1d", ID: "use1-az6"},
	{Name: "us-east-1e", ID: "use1-az3"},
	{Name: "us-east-1f", ID: "use1-az5"},
}

// seed holds the NodePools and EC2NodeClasses of testdata, by name. Two
// files define a pool named production; the later one wins.
type seed struct {
	pools   map[string]*karpv1.NodePool
	classes map[string]*ec2v1.EC2NodeClass
}

func loadSeed(t testing.TB) *seed {
	t.Helper()
	s := &seed{pools: map[string]*karpv1.NodePool{}, classes: map[string]*ec2v1.EC2NodeClass{}}
	files, err := filepath.Glob(filepath.Join("testdata", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in testdata: %v", err)
	}
	slices.Sort(files)
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(raw)))
		for {
			doc, err := reader.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			var meta metav1.TypeMeta
			if err := yaml.Unmarshal(doc, &meta); err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			switch meta.Kind {
			case "NodePool":
				np := &karpv1.NodePool{}
				if err := yaml.UnmarshalStrict(doc, np); err != nil {
					t.Fatalf("%s: %v", file, err)
				}
				s.pools[np.Name] = np
			case "EC2NodeClass":
				nc := &ec2v1.EC2NodeClass{}
				if err := yaml.UnmarshalStrict(doc, nc); err != nil {
					t.Fatalf("%s: %v", file, err)
				}
				s.classes[nc.Name] = nc
			}
		}
	}
	return s
}

// class returns the pool's class, nil when the seed does not define it.
func (s *seed) class(np *karpv1.NodePool) *ec2v1.EC2NodeClass {
	if ref := np.Spec.Template.Spec.NodeClassRef; ref != nil {
		return s.classes[ref.Name]
	}
	return nil
}

func newStaticProvider(t testing.TB, zones []Zone, opts Options) *Provider {
	t.Helper()
	p, err := New(NewStaticSource(zones), opts)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func nodePool(name string, reqs ...karpv1.NodeSelectorRequirementWithMinValues) *karpv1.NodePool {
	return &karpv1.NodePool{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: karpv1.NodePoolSpec{Template: karpv1.NodeClaimTemplate{Spec: karpv1.NodeClaimTemplateSpec{
			Requirements: reqs,
			NodeClassRef: &karpv1.NodeClassReference{Group: wellknown.AWSGroup, Kind: "EC2NodeClass", Name: "default"},
		}}},
	}
}

func req(key string, op corev1.NodeSelectorOperator, values ...string) karpv1.NodeSelectorRequirementWithMinValues {
	return karpv1.NodeSelectorRequirementWithMinValues{Key: key, Operator: op, Values: values}
}

func names(types []*InstanceType) []string {
	out := make([]string, len(types))
	for i, it := range types {
		out[i] = it.Name
	}
	return out
}

// TestSeedNodePools resolves the seed's NodePools against the full catalog
// and checks that each allows the types its requirements describe.
func TestSeedNodePools(t *testing.T) {
	s := loadSeed(t)
	withArch := func(np *karpv1.NodePool, arch string) *karpv1.NodePool {
		np = np.DeepCopy()
		np.Name += "-" + arch
		np.Spec.Template.Spec.Requirements = append(np.Spec.Template.Spec.Requirements, req(wellknown.ArchLabel, corev1.NodeSelectorOpIn, arch))
		return np
	}
	generationAbove := func(n int) func(*testing.T, *InstanceType) {
		return func(t *testing.T, it *InstanceType) {
			if g, _ := strconv.Atoi(it.Labels[wellknown.InstanceGenerationLabel]); g <= n {
				t.Errorf("%s: generation %d, want above %d", it.Name, g, n)
			}
		}
	}
	labelIn := func(key string, values ...string) func(*testing.T, *InstanceType) {
		return func(t *testing.T, it *InstanceType) {
			if v, ok := it.Labels[key]; !ok || !slices.Contains(values, v) {
				t.Errorf("%s: %s = %q, want one of %v", it.Name, key, v, values)
			}
		}
	}

	tests := []struct {
		name      string
		pool      *karpv1.NodePool
		minTypes  int
		excluded  []string
		included  []string
		zones     []string
		capacity  []string
		eachType  []func(*testing.T, *InstanceType)
		ephemeral string
	}{{
		name:      "default: c, m, r above generation 5 in three zones",
		pool:      s.pools["default"],
		minTypes:  100,
		excluded:  []string{"m5.large", "c5.xlarge", "r5.2xlarge", "t3.micro", "t3.large", "i3.large"},
		included:  []string{"m6i.large", "c7g.xlarge", "r8g.2xlarge"},
		zones:     []string{"us-east-1a", "us-east-1b", "us-east-1c"},
		capacity:  []string{wellknown.CapacityTypeOnDemand, wellknown.CapacityTypeSpot},
		eachType:  []func(*testing.T, *InstanceType){labelIn(wellknown.InstanceCategoryLabel, "c", "m", "r"), generationAbove(5)},
		ephemeral: "100Gi",
	}, {
		name:     "default, arm64 only: Graviton",
		pool:     withArch(s.pools["default"], wellknown.ArchARM64),
		minTypes: 50,
		excluded: []string{"m6i.large", "c7a.xlarge"},
		included: []string{"m7g.large", "c6gn.xlarge"},
		eachType: []func(*testing.T, *InstanceType){labelIn(wellknown.ArchLabel, "arm64"), labelIn(wellknown.InstanceCPUManufacturerLabel, "aws")},
	}, {
		name:     "spot-optimized: at least 15 spot types",
		pool:     s.pools["spot-optimized"],
		minTypes: 15,
		excluded: []string{"m4.large", "m5.8xlarge", "t3.large"},
		included: []string{"m5.large", "c6g.4xlarge", "r7i.2xlarge"},
		zones:    []string{"us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d", "us-east-1e", "us-east-1f"},
		capacity: []string{wellknown.CapacityTypeSpot},
		eachType: []func(*testing.T, *InstanceType){
			labelIn(wellknown.InstanceCategoryLabel, "c", "m", "r"),
			generationAbove(4),
			labelIn(wellknown.InstanceSizeLabel, "large", "xlarge", "2xlarge", "4xlarge"),
		},
		ephemeral: "20Gi",
	}, {
		name:     "spot-diverse: generations 5 to 7 in three zones",
		pool:     s.pools["spot-diverse"],
		minTypes: 15,
		zones:    []string{"us-east-1a", "us-east-1b", "us-east-1c"},
		capacity: []string{wellknown.CapacityTypeSpot},
		eachType: []func(*testing.T, *InstanceType){labelIn(wellknown.InstanceGenerationLabel, "5", "6", "7")},
	}, {
		name:     "production: amd64 on-demand",
		pool:     s.pools["production"],
		minTypes: 50,
		excluded: []string{"m7g.large", "m5.large"},
		included: []string{"m7i.large"},
		capacity: []string{wellknown.CapacityTypeOnDemand},
		eachType: []func(*testing.T, *InstanceType){labelIn(wellknown.ArchLabel, "amd64"), generationAbove(5)},
	}, {
		name:     "development: c and m of every generation",
		pool:     s.pools["development"],
		minTypes: 100,
		included: []string{"m5.large", "c4.large"},
		eachType: []func(*testing.T, *InstanceType){labelIn(wellknown.InstanceCategoryLabel, "c", "m")},
	}, {
		name:     "spot-first: everything, spot only",
		pool:     s.pools["spot-first"],
		minTypes: 1000,
		included: []string{"t3.micro", "p4d.24xlarge"},
		capacity: []string{wellknown.CapacityTypeSpot},
	}}
	p := newStaticProvider(t, seedZones, Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.pool == nil {
				t.Fatal("pool not found in testdata")
			}
			types, err := p.InstanceTypes(context.Background(), tt.pool, s.class(tt.pool))
			if err != nil {
				t.Fatal(err)
			}
			if len(types) < tt.minTypes {
				t.Errorf("%d types, want at least %d: %v", len(types), tt.minTypes, names(types))
			}
			got := names(types)
			if !slices.IsSorted(got) {
				t.Error("types are not sorted by name")
			}
			for _, name := range tt.excluded {
				if slices.Contains(got, name) {
					t.Errorf("%s is allowed, want it excluded", name)
				}
			}
			for _, name := range tt.included {
				if !slices.Contains(got, name) {
					t.Errorf("%s is not allowed, want it included", name)
				}
			}
			zones, capacity := map[string]bool{}, map[string]bool{}
			for _, it := range types {
				for _, check := range tt.eachType {
					check(t, it)
				}
				for _, o := range it.Offerings {
					zones[o.Zone], capacity[o.CapacityType] = true, true
				}
				if tt.ephemeral != "" {
					if q := it.Capacity[corev1.ResourceEphemeralStorage]; q.Cmp(resource.MustParse(tt.ephemeral)) != 0 {
						t.Errorf("%s: ephemeral-storage %s, want %s from the node class", it.Name, q.String(), tt.ephemeral)
					}
				}
			}
			if tt.zones != nil && !sameKeys(zones, tt.zones) {
				t.Errorf("offerings in zones %v, want %v", keys(zones), tt.zones)
			}
			if tt.capacity != nil && !sameKeys(capacity, tt.capacity) {
				t.Errorf("offerings of capacity types %v, want %v", keys(capacity), tt.capacity)
			}
		})
	}
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func sameKeys(m map[string]bool, want []string) bool {
	want = slices.Clone(want)
	slices.Sort(want)
	return slices.Equal(keys(m), want)
}

// TestOfferings checks prices, availability and which zones a pool and its
// class allow.
func TestOfferings(t *testing.T) {
	threeZones := []Zone{{Name: "us-east-1a"}, {Name: "us-east-1b"}, {Name: "us-east-1c"}}
	withSubnets := nodeClass("default", ec2v1.EC2NodeClassSpec{})
	withSubnets.Status.Subnets = []ec2v1.Subnet{{ID: "subnet-1", Zone: "us-east-1b"}}
	m5 := req(wellknown.InstanceTypeLabel, corev1.NodeSelectorOpIn, "m5.large")
	withReservations := nodeClass("default", ec2v1.EC2NodeClassSpec{})
	withReservations.Status.CapacityReservations = []ec2v1.CapacityReservation{
		{ID: "cr-1", InstanceType: "m5.large", AvailabilityZone: "us-east-1a"},
		{ID: "cr-2", InstanceType: "m5.large", AvailabilityZone: "us-east-1c"},
		{ID: "cr-3", InstanceType: "c5.large", AvailabilityZone: "us-east-1a"},
	}
	reservedPrice := 0.096 * reservedPriceFraction
	end := metav1.NewTime(time.Now().Add(3 * time.Hour))
	soon := metav1.NewTime(time.Now().Add(10 * time.Minute))
	withBlocks := nodeClass("default", ec2v1.EC2NodeClassSpec{})
	withBlocks.Status.CapacityReservations = []ec2v1.CapacityReservation{
		{ID: "cr-1", InstanceType: "m5.large", AvailabilityZone: "us-east-1a", ReservationType: "default", State: "active"},
		{ID: "cr-4", InstanceType: "m5.large", AvailabilityZone: "us-east-1b", ReservationType: "capacity-block", EndTime: &end, State: "active"},
		{ID: "cr-5", InstanceType: "m5.large", AvailabilityZone: "us-east-1c", ReservationType: "capacity-block", EndTime: &end, State: "expiring"},
		// Listed active, but its end is within the lead already.
		{ID: "cr-6", InstanceType: "m5.large", AvailabilityZone: "us-east-1a", ReservationType: "capacity-block", EndTime: &soon, State: "active"},
	}

	tests := []struct {
		name  string
		zones []Zone
		pool  *karpv1.NodePool
		class *ec2v1.EC2NodeClass
		want  Offerings
	}{{
		name:  "offline: on-demand priced, spot capped at on-demand and marked unpriced",
		zones: threeZones[:1],
		pool:  nodePool("p", m5),
		want: Offerings{
			{Zone: "us-east-1a", CapacityType: "on-demand", Price: 0.096, PriceKnown: true, Available: true},
			{Zone: "us-east-1a", CapacityType: "spot", Price: 0.096, PriceKnown: false, Available: true},
		},
	}, {
		name:  "zone requirement",
		zones: threeZones,
		pool:  nodePool("p", m5, req(wellknown.ZoneLabel, corev1.NodeSelectorOpNotIn, "us-east-1a", "us-east-1b"), req(wellknown.CapacityTypeLabel, corev1.NodeSelectorOpIn, "on-demand")),
		want: Offerings{
			{Zone: "us-east-1c", CapacityType: "on-demand", Price: 0.096, PriceKnown: true, Available: true},
		},
	}, {
		name:  "the class's subnets limit the zones",
		zones: threeZones,
		pool:  nodePool("p", m5, req(wellknown.CapacityTypeLabel, corev1.NodeSelectorOpIn, "on-demand")),
		class: withSubnets,
		want: Offerings{
			{Zone: "us-east-1b", CapacityType: "on-demand", Price: 0.096, PriceKnown: true, Available: true},
		},
	}, {
		name:  "zone id requirement",
		zones: seedZones[:3],
		pool:  nodePool("p", m5, req(wellknown.TopologyZoneIDLabel, corev1.NodeSelectorOpIn, "use1-az4"), req(wellknown.CapacityTypeLabel, corev1.NodeSelectorOpIn, "on-demand")),
		want: Offerings{
			{Zone: "us-east-1c", ZoneID: "use1-az4", CapacityType: "on-demand", Price: 0.096, PriceKnown: true, Available: true},
		},
	}, {
		name:  "zone id requirement offline, where zone ids are unknown",
		zones: threeZones,
		pool:  nodePool("p", m5, req(wellknown.TopologyZoneIDLabel, corev1.NodeSelectorOpIn, "use1-az4")),
	}, {
		name:  "a reservation of the type in an allowed zone is a reserved offering, priced near zero",
		zones: threeZones[:2],
		pool:  nodePool("p", m5, req(wellknown.CapacityTypeLabel, corev1.NodeSelectorOpIn, "reserved", "on-demand")),
		class: withReservations,
		want: Offerings{
			{Zone: "us-east-1a", CapacityType: "on-demand", Price: 0.096, PriceKnown: true, Available: true},
			{Zone: "us-east-1b", CapacityType: "on-demand", Price: 0.096, PriceKnown: true, Available: true},
			{Zone: "us-east-1a", CapacityType: "reserved", Price: reservedPrice, PriceKnown: true, Available: true, ReservationID: "cr-1", ReservationType: "default"},
		},
	}, {
		name:  "a pool that allows only reserved gets only the reservations",
		zones: threeZones,
		pool:  nodePool("p", m5, req(wellknown.CapacityTypeLabel, corev1.NodeSelectorOpIn, "reserved")),
		class: withReservations,
		want: Offerings{
			{Zone: "us-east-1a", CapacityType: "reserved", Price: reservedPrice, PriceKnown: true, Available: true, ReservationID: "cr-1", ReservationType: "default"},
			{Zone: "us-east-1c", CapacityType: "reserved", Price: reservedPrice, PriceKnown: true, Available: true, ReservationID: "cr-2", ReservationType: "default"},
		},
	}, {
		name:  "a pool that does not allow reserved does not use the reservations",
		zones: threeZones[:1],
		pool:  nodePool("p", m5, req(wellknown.CapacityTypeLabel, corev1.NodeSelectorOpIn, "on-demand", "spot")),
		class: withReservations,
		want: Offerings{
			{Zone: "us-east-1a", CapacityType: "on-demand", Price: 0.096, PriceKnown: true, Available: true},
			{Zone: "us-east-1a", CapacityType: "spot", Price: 0.096, PriceKnown: false, Available: true},
		},
	}, {
		name:  "a pool with no capacity type requirement does not use the reservations either",
		zones: threeZones[:1],
		pool:  nodePool("p", m5),
		class: withReservations,
		want: Offerings{
			{Zone: "us-east-1a", CapacityType: "on-demand", Price: 0.096, PriceKnown: true, Available: true},
			{Zone: "us-east-1a", CapacityType: "spot", Price: 0.096, PriceKnown: false, Available: true},
		},
	}, {
		name:  "a block's offering carries its type, and an expiring block offers nothing, by state or by end",
		zones: threeZones,
		pool:  nodePool("p", m5, req(wellknown.CapacityTypeLabel, corev1.NodeSelectorOpIn, "reserved")),
		class: withBlocks,
		want: Offerings{
			{Zone: "us-east-1a", CapacityType: "reserved", Price: reservedPrice, PriceKnown: true, Available: true, ReservationID: "cr-1", ReservationType: "default"},
			{Zone: "us-east-1b", CapacityType: "reserved", Price: reservedPrice, PriceKnown: true, Available: true, ReservationID: "cr-4", ReservationType: "capacity-block"},
		},
	}, {
		name:  "a pool requiring capacity blocks gets only them, and no on-demand",
		zones: threeZones,
		pool: nodePool("p", m5, req(wellknown.CapacityTypeLabel, corev1.NodeSelectorOpIn, "reserved", "on-demand"),
			req(wellknown.CapacityReservationTypeLabel, corev1.NodeSelectorOpIn, "capacity-block")),
		class: withBlocks,
		want: Offerings{
			{Zone: "us-east-1b", CapacityType: "reserved", Price: reservedPrice, PriceKnown: true, Available: true, ReservationID: "cr-4", ReservationType: "capacity-block"},
		},
	}, {
		name:  "a pool keeping away from capacity blocks keeps ODCRs and on-demand",
		zones: threeZones[:2],
		pool: nodePool("p", m5, req(wellknown.CapacityTypeLabel, corev1.NodeSelectorOpIn, "reserved", "on-demand"),
			req(wellknown.CapacityReservationTypeLabel, corev1.NodeSelectorOpNotIn, "capacity-block")),
		class: withBlocks,
		want: Offerings{
			{Zone: "us-east-1a", CapacityType: "on-demand", Price: 0.096, PriceKnown: true, Available: true},
			{Zone: "us-east-1b", CapacityType: "on-demand", Price: 0.096, PriceKnown: true, Available: true},
			{Zone: "us-east-1a", CapacityType: "reserved", Price: reservedPrice, PriceKnown: true, Available: true, ReservationID: "cr-1", ReservationType: "default"},
		},
	}, {
		name:  "a type without a price is never available",
		zones: threeZones[:1],
		pool:  nodePool("p", req(wellknown.InstanceTypeLabel, corev1.NodeSelectorOpIn, "trn2.48xlarge"), req(wellknown.CapacityTypeLabel, corev1.NodeSelectorOpIn, "on-demand")),
		want: Offerings{
			{Zone: "us-east-1a", CapacityType: "on-demand", Available: false, UnavailableReason: "no on-demand price is known for the type"},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newStaticProvider(t, tt.zones, Options{})
			types, err := p.InstanceTypes(context.Background(), tt.pool, tt.class)
			if err != nil {
				t.Fatal(err)
			}
			if tt.want == nil {
				if len(types) != 0 {
					t.Fatalf("types %v, want none", names(types))
				}
				return
			}
			if len(types) != 1 {
				t.Fatalf("types %v, want one", names(types))
			}
			if got := types[0].Offerings; !slices.Equal(got, tt.want) {
				t.Errorf("offerings\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// TestWindowsNodeClass checks that a Windows class gives x86 types with the
// Windows labels.
func TestWindowsNodeClass(t *testing.T) {
	p := newStaticProvider(t, seedZones[:1], Options{})
	class := nodeClass("windows", ec2v1.EC2NodeClassSpec{AMIFamily: ptr.To(AMIFamilyWindows2022)})

	types, err := p.InstanceTypes(context.Background(), nodePool("any"), class)
	if err != nil {
		t.Fatal(err)
	}
	if len(types) == 0 {
		t.Fatal("no types for a Windows class")
	}
	for _, it := range types {
		if it.Labels[wellknown.ArchLabel] != wellknown.ArchAMD64 {
			t.Fatalf("%s: architecture %s on Windows", it.Name, it.Labels[wellknown.ArchLabel])
		}
		if it.Labels[wellknown.OSLabel] != wellknown.OSWindows || it.Labels[wellknown.WindowsBuildLabel] != "10.0.20348" {
			t.Fatalf("%s: labels %v, want Windows Server 2022", it.Name, it.Labels)
		}
	}

	linuxOnly := nodePool("linux", req(wellknown.OSLabel, corev1.NodeSelectorOpIn, wellknown.OSLinux))
	types, err = p.InstanceTypes(context.Background(), linuxOnly, class)
	if err != nil {
		t.Fatal(err)
	}
	if len(types) != 0 {
		t.Errorf("a Linux-only pool allows %d types of a Windows class", len(types))
	}
}

func TestInstanceTypesErrors(t *testing.T) {
	p := newStaticProvider(t, seedZones[:1], Options{})
	bad := nodeClass("bad", ec2v1.EC2NodeClassSpec{Kubelet: &ec2v1.KubeletConfiguration{SystemReserved: map[string]ec2v1.Quantity{"memory": "lots"}}})
	_, err := p.InstanceTypes(context.Background(), nodePool("p"), bad)
	if err == nil {
		t.Fatal("InstanceTypes succeeded with a malformed class")
	}
	if want := "EC2NodeClass bad: kubelet.systemReserved: memory:"; !bytes.HasPrefix([]byte(err.Error()), []byte(want)) {
		t.Errorf("error %q, want it to start with %q", err, want)
	}

	failing := &failingSource{err: errors.New("throttled")}
	p, err = New(failing, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.InstanceTypes(context.Background(), nodePool("p"), nil); !errors.Is(err, failing.err) {
		t.Errorf("error %v, want it to wrap the source's", err)
	}
}

type failingSource struct{ err error }

func (s *failingSource) Snapshot(context.Context) (*Snapshot, error) { return nil, s.err }

func TestNewRejectsBadOptions(t *testing.T) {
	for _, opts := range []Options{{VMMemoryOverheadFraction: 1}, {VMMemoryOverheadFraction: -0.1}, {UnavailableOfferingTTL: -1}} {
		if _, err := New(NewStaticSource(nil), opts); err == nil {
			t.Errorf("New(%+v) succeeded", opts)
		}
	}
}
