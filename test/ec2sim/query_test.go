package ec2sim

import (
	"net/url"
	"reflect"
	"testing"
)

// TestParams walks a query request the way handlers do: nested structures,
// ec2query lists (with gaps), awsQuery member lists, typed scalars.
func TestParams(t *testing.T) {
	values, err := url.ParseQuery("Action=CreateFleet" +
		"&LaunchTemplateConfigs.1.LaunchTemplateSpecification.LaunchTemplateName=lt" +
		"&LaunchTemplateConfigs.1.Overrides.1.InstanceType=m5.large" +
		"&LaunchTemplateConfigs.1.Overrides.3.InstanceType=c5.large" +
		"&LaunchTemplateConfigs.1.Overrides.3.Priority=1.5" +
		"&InstanceId.2=i-b&InstanceId.1=i-a&InstanceId=" +
		"&Tags.member.1.Key=k&Tags.member.1.Value=v" +
		"&MaxResults=7&DryRun=TRUE&Bad=x")
	if err != nil {
		t.Fatal(err)
	}
	p := params{values: values}

	cfgs := p.List("LaunchTemplateConfigs")
	if len(cfgs) != 1 || cfgs[0].Struct("LaunchTemplateSpecification").String("LaunchTemplateName") != "lt" {
		t.Fatalf("configs %+v", cfgs)
	}
	overrides := cfgs[0].List("Overrides")
	if len(overrides) != 2 || overrides[0].String("InstanceType") != "m5.large" || overrides[1].String("InstanceType") != "c5.large" {
		t.Fatalf("overrides with a gap: %+v", overrides)
	}
	if prio, err := overrides[1].Float("Priority"); err != nil || *prio != 1.5 {
		t.Errorf("priority %v %v", prio, err)
	}
	if got := p.Strings("InstanceId"); !reflect.DeepEqual(got, []string{"i-a", "i-b"}) {
		t.Errorf("instance ids %v, want in index order", got)
	}
	if tags := p.Members("Tags"); len(tags) != 1 || tags[0].String("Key") != "k" || tags[0].String("Value") != "v" {
		t.Errorf("awsQuery members %+v", tags)
	}
	if n, err := p.Int("MaxResults"); err != nil || *n != 7 {
		t.Errorf("MaxResults %v %v", n, err)
	}
	if n, err := p.Int("Absent"); n != nil || err != nil {
		t.Errorf("an absent integer: %v %v", n, err)
	}
	if b, err := p.Bool("DryRun"); !b || err != nil {
		t.Errorf("DryRun %v %v", b, err)
	}
	if _, err := p.Int("Bad"); err == nil || asAPIError(err).Code != "InvalidParameterValue" {
		t.Errorf("a bad integer: %v", err)
	}
	if _, err := p.Bool("Bad"); err == nil {
		t.Error("a bad boolean was accepted")
	}
	if _, err := p.Required("Missing"); asAPIError(err).Code != "MissingParameter" {
		t.Errorf("a missing parameter: %v", err)
	}
	if !p.Has("LaunchTemplateConfigs") || p.Has("SpotOptions") {
		t.Error("Has does not see nested keys, or sees absent ones")
	}
}
