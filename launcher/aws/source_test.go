package aws

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr/funcr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/klog/v2"
	clocktesting "k8s.io/utils/clock/testing"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/launcher/catalog"
)

var testNow = time.Date(2026, 8, 1, 12, 0, 0, 0, time.UTC)

// logLines collects what a test's logger writes.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) containing(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, line := range l.lines {
		if strings.Contains(line, s) {
			n++
		}
	}
	return n
}

func logContext(t *testing.T) (context.Context, *logLines) {
	l := &logLines{}
	logger := funcr.New(func(prefix, args string) {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.lines = append(l.lines, prefix+" "+args)
		t.Log(prefix, args)
	}, funcr.Options{Verbosity: 4})
	return klog.NewContext(context.Background(), logger), l
}

// newTestSource returns a Source on the fake server, with a fake clock; an
// empty pricingURL sends Pricing to the same server.
func newTestSource(t *testing.T, server *httptest.Server, pricingURL string) (*Source, *clocktesting.FakePassiveClock) {
	t.Helper()
	if pricingURL == "" {
		pricingURL = server.URL
	}
	ec2Client, pricingClient := NewClients(testConfig(), Endpoints{EC2: server.URL, Pricing: pricingURL})
	clock := clocktesting.NewFakePassiveClock(testNow)
	source, err := NewSource(ec2Client, pricingClient, Options{Region: "us-east-1", Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	return source, clock
}

func staticInfo(t *testing.T, name string) catalog.Info {
	t.Helper()
	for _, info := range catalog.StaticInstanceTypes() {
		if info.Name == name {
			return info
		}
	}
	t.Fatalf("%s is not in the static table", name)
	return catalog.Info{}
}

// TestDescribeInstanceTypes reads two pages of recorded DescribeInstanceTypes
// responses and checks that EC2's description gives the same facts as the
// compiled-in table, from labels to the pod limit of a multi-card type.
func TestDescribeInstanceTypes(t *testing.T) {
	fake, server := newFakeAWS(t)
	ec2Client, _ := NewClients(testConfig(), Endpoints{EC2: server.URL})

	infos, err := describeInstanceTypes(context.Background(), ec2Client)
	if err != nil {
		t.Fatal(err)
	}
	if got := fake.operationCount("DescribeInstanceTypes"); got != 2 {
		t.Errorf("DescribeInstanceTypes called %d times, want 2 (two pages)", got)
	}
	want := []string{"inf2.xlarge", "m5.large", "m7g.large", "p4d.24xlarge"} // mac1.metal runs no node
	if len(infos) != len(want) {
		t.Fatalf("got %d types, want %v", len(infos), want)
	}
	for i, name := range want {
		if infos[i] != staticInfo(t, name) {
			t.Errorf("%s:\n got %+v\nwant %+v", name, infos[i], staticInfo(t, name))
		}
	}
}

// TestInstanceFamilyScheme checks the split of every known type's family into
// category and generation against the labels Karpenter publishes.
func TestInstanceFamilyScheme(t *testing.T) {
	for _, info := range catalog.StaticInstanceTypes() {
		parts := instanceFamilyScheme.FindStringSubmatch(info.Family)
		if parts == nil || parts[1] != info.Category || parts[2] != info.Generation {
			t.Errorf("%s: split %q, want category %q generation %q", info.Name, parts, info.Category, info.Generation)
		}
	}
}

func TestSnapshot(t *testing.T) {
	fake, server := newFakeAWS(t)
	source, _ := newTestSource(t, server, "")
	ctx := context.Background()

	snap, err := source.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if snap.Region != "us-east-1" || len(snap.Types) != 4 {
		t.Errorf("region %q with %d types, want us-east-1 with 4", snap.Region, len(snap.Types))
	}
	wantZones := []catalog.Zone{{Name: "us-east-1a", ID: "use1-az1"}, {Name: "us-east-1b", ID: "use1-az2"}}
	if len(snap.Zones) != 2 || snap.Zones[0] != wantZones[0] || snap.Zones[1] != wantZones[1] {
		t.Errorf("zones %v, want %v (the Local Zone is not opted in)", snap.Zones, wantZones)
	}
	for name, want := range map[string]sets.Set[string]{
		"m5.large":     sets.New("us-east-1a", "us-east-1b"),
		"m7g.large":    sets.New("us-east-1a", "us-east-1b"),
		"p4d.24xlarge": sets.New("us-east-1b"),
		"inf2.xlarge":  sets.New("us-east-1a"),
	} {
		if !snap.Offered[name].Equal(want) {
			t.Errorf("%s offered in %v, want %v", name, sets.List(snap.Offered[name]), sets.List(want))
		}
	}
	wantOnDemand := map[string]float64{"m5.large": 0.096, "m7g.large": 0.0816, "inf2.xlarge": 0.7582}
	if len(snap.OnDemandPrices) != len(wantOnDemand) {
		t.Errorf("on-demand prices %v, want %v", snap.OnDemandPrices, wantOnDemand)
	}
	for name, want := range wantOnDemand {
		if got := snap.OnDemandPrices[name]; got != want {
			t.Errorf("on-demand price of %s = %v, want %v", name, got, want)
		}
	}
	wantSpot := map[[2]string]float64{
		{"m5.large", "us-east-1a"}:  0.0412, // the newer of two entries
		{"m5.large", "us-east-1b"}:  0.0359,
		{"m7g.large", "us-east-1a"}: 0.0291,
	}
	for key, want := range wantSpot {
		if got, ok := snap.SpotPrices[key[0]][key[1]]; !ok || got != want {
			t.Errorf("spot price of %s in %s = %v (present %t), want %v", key[0], key[1], got, ok, want)
		}
	}
	if _, ok := snap.SpotPrices["m7g.large"]["us-east-1b"]; ok {
		t.Error("a spot price for m7g.large in us-east-1b, which has no spot market in the recording")
	}

	again, err := source.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if again != snap {
		t.Error("a second Snapshot within every TTL returned a new snapshot")
	}
	for action, want := range map[string]int{
		"DescribeInstanceTypes":         2,
		"DescribeAvailabilityZones":     1,
		"DescribeInstanceTypeOfferings": 2,
		"DescribeSpotPriceHistory":      1,
		"GetProducts":                   2,
	} {
		if got := fake.operationCount(action); got != want {
			t.Errorf("%s called %d times, want %d", action, got, want)
		}
	}
}

// TestSnapshotRefresh checks that each part is read again when its own TTL
// has passed, and only then.
func TestSnapshotRefresh(t *testing.T) {
	fake, server := newFakeAWS(t)
	source, clock := newTestSource(t, server, "")
	ctx := context.Background()
	first, err := source.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}

	clock.SetTime(testNow.Add(DefaultSpotPricesTTL))
	second, err := source.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if second == first {
		t.Error("refreshed spot prices did not make a new snapshot")
	}
	if spot, types := fake.operationCount("DescribeSpotPriceHistory"), fake.operationCount("DescribeInstanceTypes"); spot != 2 || types != 2 {
		t.Errorf("after the spot TTL: %d spot price reads (want 2), %d instance type pages (want 2, no refresh)", spot, types)
	}

	clock.SetTime(testNow.Add(DefaultInstanceTypesTTL))
	if _, err := source.Snapshot(ctx); err != nil {
		t.Fatal(err)
	}
	if types, prices := fake.operationCount("DescribeInstanceTypes"), fake.operationCount("GetProducts"); types != 4 || prices != 2 {
		t.Errorf("after the instance type TTL: %d instance type pages (want 4), %d price pages (want 2, no refresh)", types, prices)
	}
}

// TestThrottlingIsRetried answers DescribeAvailabilityZones with EC2's
// RequestLimitExceeded twice; the SDK's standard retryer tries again and the
// third answer gets through.
func TestThrottlingIsRetried(t *testing.T) {
	fake, server := newFakeAWS(t)
	fake.throttleNext("DescribeAvailabilityZones", 2)
	source, _ := newTestSource(t, server, "")

	snap, err := source.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Zones) != 2 {
		t.Errorf("zones %v after throttling, want two", snap.Zones)
	}
	if got := fake.callCount("DescribeAvailabilityZones"); got != 3 {
		t.Errorf("DescribeAvailabilityZones called %d times, want 3", got)
	}
}

// TestThrottlingExhausted keeps throttling past the retryer's attempts: the
// error names the call and the request id, and is not retried on every
// lookup.
func TestThrottlingExhausted(t *testing.T) {
	fake, server := newFakeAWS(t)
	fake.throttleNext("DescribeAvailabilityZones", 100)
	source, clock := newTestSource(t, server, "")
	ctx, logs := logContext(t)

	_, err := source.Snapshot(ctx)
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("error %v, want an APIError", err)
	}
	if apiErr.Operation != "DescribeAvailabilityZones" || apiErr.RequestID != "7c1e3a5b-2d4f-4a6c-9e8b-5f3d7a9c1e07" {
		t.Errorf("APIError for %s with request id %q, want DescribeAvailabilityZones and the id of the recorded error", apiErr.Operation, apiErr.RequestID)
	}
	if !strings.Contains(err.Error(), "RequestLimitExceeded") {
		t.Errorf("error %q does not say RequestLimitExceeded", err)
	}
	attempts := fake.callCount("DescribeAvailabilityZones")
	if attempts != 3 {
		t.Errorf("%d attempts, want the standard retryer's 3", attempts)
	}

	if _, err := source.Snapshot(ctx); err == nil {
		t.Error("second Snapshot succeeded while EC2 still throttles")
	}
	if got := fake.callCount("DescribeAvailabilityZones"); got != attempts {
		t.Errorf("a lookup before the retry was due called EC2 again (%d calls)", got)
	}
	// Nothing to serve yet: the retry comes after 2s, then 4s, not after
	// a minute.
	clock.SetTime(testNow.Add(2 * time.Second))
	if _, err := source.Snapshot(ctx); err == nil {
		t.Error("Snapshot succeeded while EC2 still throttles")
	}
	if got := fake.callCount("DescribeAvailabilityZones"); got != 2*attempts {
		t.Errorf("%d calls 2s after a failed first read, want a second try (%d)", got, 2*attempts)
	}
	clock.SetTime(testNow.Add(5 * time.Second))
	if _, err := source.Snapshot(ctx); err == nil {
		t.Error("a lookup before the doubled retry was due succeeded")
	}
	if got := fake.callCount("DescribeAvailabilityZones"); got != 2*attempts {
		t.Errorf("%d calls 3s after the second failure, want none before 4s", got)
	}
	if got := logs.containing("Cannot read from AWS"); got != 1 {
		t.Errorf("the outage was logged %d times, want once", got)
	}

	fake.throttleNext("DescribeAvailabilityZones", 0)
	clock.SetTime(testNow.Add(DefaultRetryAfter))
	if _, err := source.Snapshot(ctx); err != nil {
		t.Errorf("Snapshot after the retry interval, with EC2 answering: %v", err)
	}
	if got := logs.containing("works again"); got != 1 {
		t.Errorf("the recovery was logged %d times, want once", got)
	}
}

// TestPricingUnreachable points the Pricing client at a closed port: the
// compiled-in prices are used, and the outage is logged once however many
// lookups and retries it spans.
func TestPricingUnreachable(t *testing.T) {
	_, server := newFakeAWS(t)
	closed := httptest.NewServer(nil)
	closed.Close()
	source, clock := newTestSource(t, server, closed.URL)
	ctx, logs := logContext(t)

	for i := 0; i < 3; i++ {
		snap, err := source.Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		static := catalog.StaticOnDemandPrices()
		for _, name := range []string{"m5.large", "p4d.24xlarge"} {
			if got := snap.OnDemandPrices[name]; got != static[name] || got == 0 {
				t.Errorf("on-demand price of %s = %v, want the compiled-in %v", name, got, static[name])
			}
		}
		clock.SetTime(clock.Now().Add(DefaultRetryAfter))
	}
	if got := logs.containing(`"what"="on-demand prices"`); got != 1 {
		t.Errorf("the Pricing outage was logged %d times over three lookups and two retries, want once", got)
	}
	if got := logs.containing("compiled into Tailor"); got != 1 {
		t.Errorf("the fallback was named %d times in the logs, want once", got)
	}
}

// TestCatalogOverEC2 builds the catalog on the EC2 source: zone ids, live
// spot prices, and offerings only where EC2 offers the type.
func TestCatalogOverEC2(t *testing.T) {
	_, server := newFakeAWS(t)
	source, _ := newTestSource(t, server, "")
	p, err := catalog.New(source, catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	types, err := p.InstanceTypes(context.Background(), nodePool("all"), nil)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]catalog.Offerings{}
	for _, it := range types {
		got[it.Name] = it.Offerings
	}
	want := map[string]catalog.Offerings{
		"m5.large": {
			{Zone: "us-east-1a", ZoneID: "use1-az1", CapacityType: "on-demand", Price: 0.096, PriceKnown: true, Available: true},
			{Zone: "us-east-1a", ZoneID: "use1-az1", CapacityType: "spot", Price: 0.0412, PriceKnown: true, Available: true},
			{Zone: "us-east-1b", ZoneID: "use1-az2", CapacityType: "on-demand", Price: 0.096, PriceKnown: true, Available: true},
			{Zone: "us-east-1b", ZoneID: "use1-az2", CapacityType: "spot", Price: 0.0359, PriceKnown: true, Available: true},
		},
		"inf2.xlarge": {
			{Zone: "us-east-1a", ZoneID: "use1-az1", CapacityType: "on-demand", Price: 0.7582, PriceKnown: true, Available: true},
			{Zone: "us-east-1a", ZoneID: "use1-az1", CapacityType: "spot", Price: 0.7582, Available: false, UnavailableReason: "no spot market for the type in the zone"},
		},
		"p4d.24xlarge": {
			{Zone: "us-east-1b", ZoneID: "use1-az2", CapacityType: "on-demand", Available: false, UnavailableReason: "no on-demand price is known for the type"},
			{Zone: "us-east-1b", ZoneID: "use1-az2", CapacityType: "spot", Available: false, UnavailableReason: "no on-demand price is known for the type"},
		},
	}
	for name, w := range want {
		if g := got[name]; len(g) != len(w) {
			t.Errorf("%s offerings\n got %+v\nwant %+v", name, g, w)
		} else {
			for i := range w {
				if g[i] != w[i] {
					t.Errorf("%s offering %d\n got %+v\nwant %+v", name, i, g[i], w[i])
				}
			}
		}
	}
}

func TestNewSourceNeedsRegion(t *testing.T) {
	if _, err := NewSource(nil, nil, Options{}); err == nil {
		t.Error("NewSource without a region succeeded")
	}
}

func TestPricingRegion(t *testing.T) {
	for region, want := range map[string]string{
		"us-east-1":      "us-east-1",
		"eu-west-3":      "us-east-1",
		"ap-southeast-2": "us-east-1",
		"cn-north-1":     "cn-northwest-1",
	} {
		if got := PricingRegion(region); got != want {
			t.Errorf("PricingRegion(%s) = %s, want %s", region, got, want)
		}
	}
}

func nodePool(name string) *karpv1.NodePool {
	return &karpv1.NodePool{ObjectMeta: metav1.ObjectMeta{Name: name}}
}
