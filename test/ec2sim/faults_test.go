package ec2sim

import (
	"testing"
)

func TestParsePool(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    Pool
		wantErr bool
	}{
		{in: "m5.large:us-east-1a:spot", want: Pool{InstanceType: "m5.large", Zone: "us-east-1a", CapacityType: "spot"}},
		{in: "m5.large", want: Pool{InstanceType: "m5.large"}},
		{in: "*:us-east-1b", want: Pool{Zone: "us-east-1b"}},
		{in: "::on-demand", want: Pool{CapacityType: "on-demand"}},
		{in: "m5.large:eu-west-1a", wantErr: true},
		{in: "m5.large::reserved", wantErr: true},
		{in: "a:b:c:d", wantErr: true},
	} {
		got, err := ParsePool(tc.in)
		if (err != nil) != tc.wantErr || (!tc.wantErr && got != tc.want) {
			t.Errorf("ParsePool(%q) = %+v, %v; want %+v (error %v)", tc.in, got, err, tc.want, tc.wantErr)
		}
		if err == nil {
			if again, _ := ParsePool(got.String()); again != got {
				t.Errorf("%+v does not survive String and ParsePool: %+v", got, again)
			}
		}
	}
}

// TestPoolMatches: empty fields match anything; a pool with a capacity type
// matches only that market.
func TestPoolMatches(t *testing.T) {
	p := Pool{InstanceType: "m5.large", CapacityType: "spot"}
	for _, tc := range []struct {
		instanceType, zone, capacityType string
		want                             bool
	}{
		{"m5.large", "us-east-1a", "spot", true},
		{"m5.large", "us-east-1c", "spot", true},
		{"m5.large", "us-east-1a", "on-demand", false},
		{"m5.xlarge", "us-east-1a", "spot", false},
	} {
		if got := p.matches(tc.instanceType, tc.zone, tc.capacityType); got != tc.want {
			t.Errorf("%+v matches %s/%s/%s = %v, want %v", p, tc.instanceType, tc.zone, tc.capacityType, got, tc.want)
		}
	}
}

// TestThrottleRate: the fraction of throttled calls follows the rate. The
// draws come from a seeded generator, so the counts are the same on every
// run; the bounds say what the rate means.
func TestThrottleRate(t *testing.T) {
	for _, rate := range []float64{0, 0.1, 0.5, 1} {
		fs := newFaultSet(Faults{ThrottleRate: rate}, newIDs(7))
		throttled := 0
		const calls = 2000
		for range calls {
			if fs.throttled() {
				throttled++
			}
		}
		got := float64(throttled) / calls
		if got < rate-0.05 || got > rate+0.05 {
			t.Errorf("rate %v throttled %v of the calls", rate, got)
		}
	}
	if err := (Faults{ThrottleRate: 1.5}).Validate(); err == nil {
		t.Error("a throttle rate above 1 was accepted")
	}
}
