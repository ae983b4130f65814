package fleet_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/launcher/instance"
	"github.com/tailor-project/tailor/launcher/launchtemplate"
	"github.com/tailor-project/tailor/launcher/tags"
	"github.com/tailor-project/tailor/test/ec2sim"
)

// recorder passes the launcher's calls on to EC2 and keeps the requests
// that create something, as IAM would see them.
type recorder struct {
	*ec2.Client
	mu        sync.Mutex
	fleets    []*ec2.CreateFleetInput
	templates map[string]*ec2.CreateLaunchTemplateInput // by template id
}

func (r *recorder) CreateFleet(ctx context.Context, in *ec2.CreateFleetInput, opts ...func(*ec2.Options)) (*ec2.CreateFleetOutput, error) {
	r.mu.Lock()
	r.fleets = append(r.fleets, in)
	r.mu.Unlock()
	return r.Client.CreateFleet(ctx, in, opts...)
}

func (r *recorder) CreateLaunchTemplate(ctx context.Context, in *ec2.CreateLaunchTemplateInput, opts ...func(*ec2.Options)) (*ec2.CreateLaunchTemplateOutput, error) {
	out, err := r.Client.CreateLaunchTemplate(ctx, in, opts...)
	if err == nil {
		r.mu.Lock()
		r.templates[aws.ToString(out.LaunchTemplate.LaunchTemplateId)] = in
		r.mu.Unlock()
	}
	return out, err
}

// iamPolicy is as much of an IAM policy as the launcher's uses.
type iamPolicy struct {
	Statement []struct {
		Sid       string
		Effect    string
		Action    any
		Resource  any
		Condition map[string]map[string]any
	}
}

// launcherPolicy reads manifests/launcher/iam-policy.json for the test's
// cluster: the file names it my-cluster, for the reader to replace.
func launcherPolicy(t *testing.T) *iamPolicy {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "manifests", "launcher", "iam-policy.json"))
	if err != nil {
		t.Fatal(err)
	}
	var p iamPolicy
	if err := json.Unmarshal([]byte(strings.ReplaceAll(string(raw), "my-cluster", testCluster)), &p); err != nil {
		t.Fatalf("iam-policy.json: %v", err)
	}
	return &p
}

func stringsOf(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			out = append(out, stringsOf(e)...)
		}
		return out
	}
	return nil
}

// wildcard matches IAM's wildcards: * any run of characters, ? one.
func wildcard(pattern, s string) bool {
	if pattern == "" {
		return s == ""
	}
	switch pattern[0] {
	case '*':
		for i := 0; i <= len(s); i++ {
			if wildcard(pattern[1:], s[i:]) {
				return true
			}
		}
		return false
	case '?':
		return s != "" && wildcard(pattern[1:], s[1:])
	}
	return s != "" && pattern[0] == s[0] && wildcard(pattern[1:], s[1:])
}

// allows evaluates the policy as IAM would for one action on one resource,
// with the condition keys of the request (aws:RequestTag/..,
// aws:ResourceTag/.., ec2:CreateAction). It knows the operators the
// launcher's policy uses and refuses to guess at others.
func (p *iamPolicy) allows(action, arn string, keys map[string]string) (bool, error) {
	allowed := false
	for _, s := range p.Statement {
		if !slices.ContainsFunc(stringsOf(s.Action), func(a string) bool { return wildcard(strings.ToLower(a), strings.ToLower(action)) }) ||
			!slices.ContainsFunc(stringsOf(s.Resource), func(r string) bool { return wildcard(r, arn) }) {
			continue
		}
		met := true
		for op, conditions := range s.Condition {
			for key, want := range conditions {
				got, present := keys[key]
				var ok bool
				switch op {
				case "StringEquals":
					ok = present && slices.Contains(stringsOf(want), got)
				case "StringLike":
					ok = present && slices.ContainsFunc(stringsOf(want), func(w string) bool { return wildcard(w, got) })
				default:
					return false, fmt.Errorf("statement %s: condition operator %s is not one this test evaluates", s.Sid, op)
				}
				met = met && ok
			}
		}
		switch {
		case met && s.Effect == "Deny":
			return false, nil
		case met && s.Effect == "Allow":
			allowed = true
		}
	}
	return allowed, nil
}

// iamCall is one authorization a launch asks of IAM.
type iamCall struct {
	action, kind, id string
	keys             map[string]string
}

func (c iamCall) arn() string {
	account := "111122223333"
	if c.kind == "image" {
		account = ""
	}
	return fmt.Sprintf("arn:aws:ec2:%s:%s:%s/%s", ec2sim.Region, account, c.kind, c.id)
}

func tagKeys(prefix string, ts map[string]string) map[string]string {
	out := make(map[string]string, len(ts))
	for k, v := range ts {
		out[prefix+k] = v
	}
	return out
}

func tagMap(ts []ec2types.Tag) map[string]string {
	out := make(map[string]string, len(ts))
	for _, t := range ts {
		out[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return out
}

// launchCalls are the authorizations one CreateFleet asks, with the
// templates it names: creating and tagging each template; launching from
// it; creating and tagging what the launch makes, with the tags the
// request gives each (the fleet's over the template's); and using the
// subnets, security groups and images the templates and overrides name.
func launchCalls(t *testing.T, fleet *ec2.CreateFleetInput, templates map[string]*ec2.CreateLaunchTemplateInput, spot bool) []iamCall {
	t.Helper()
	created := []string{"fleet", "instance", "volume", "network-interface"}
	if spot {
		created = append(created, "spot-instances-request")
	}
	var calls []iamCall
	used := map[[2]string]bool{}
	for _, cfg := range fleet.LaunchTemplateConfigs {
		id := aws.ToString(cfg.LaunchTemplateSpecification.LaunchTemplateId)
		lt, ok := templates[id]
		if !ok {
			t.Fatalf("the fleet launches from template %s, which the launch did not create", id)
		}
		var ltTags map[string]string
		for _, ts := range lt.TagSpecifications {
			if ts.ResourceType == ec2types.ResourceTypeLaunchTemplate {
				ltTags = tagMap(ts.Tags)
			}
		}
		createKeys := tagKeys("aws:RequestTag/", ltTags)
		tagKeysOnCreate := tagKeys("aws:RequestTag/", ltTags)
		tagKeysOnCreate["ec2:CreateAction"] = "CreateLaunchTemplate"
		calls = append(calls,
			iamCall{"ec2:CreateLaunchTemplate", "launch-template", id, createKeys},
			iamCall{"ec2:CreateTags", "launch-template", id, tagKeysOnCreate},
			iamCall{"ec2:CreateFleet", "launch-template", id, tagKeys("aws:ResourceTag/", ltTags)},
			iamCall{"ec2:RunInstances", "launch-template", id, tagKeys("aws:ResourceTag/", ltTags)},
		)

		for _, kind := range created {
			requestTags := map[string]string{}
			for _, ts := range lt.LaunchTemplateData.TagSpecifications {
				if string(ts.ResourceType) == kind {
					maps.Copy(requestTags, tagMap(ts.Tags))
				}
			}
			for _, ts := range fleet.TagSpecifications {
				if string(ts.ResourceType) == kind {
					maps.Copy(requestTags, tagMap(ts.Tags))
				}
			}
			actions := []string{"ec2:CreateFleet", "ec2:RunInstances"}
			if kind == "fleet" {
				actions = actions[:1]
			}
			for _, action := range actions {
				calls = append(calls, iamCall{action, kind, "new", tagKeys("aws:RequestTag/", requestTags)})
				if len(requestTags) == 0 {
					continue // nothing to tag, so no CreateTags to authorize
				}
				withAction := tagKeys("aws:RequestTag/", requestTags)
				withAction["ec2:CreateAction"] = strings.TrimPrefix(action, "ec2:")
				calls = append(calls, iamCall{"ec2:CreateTags", kind, "new", withAction})
			}
		}

		used[[2]string{"image", aws.ToString(lt.LaunchTemplateData.ImageId)}] = true
		groups := lt.LaunchTemplateData.SecurityGroupIds
		for _, ni := range lt.LaunchTemplateData.NetworkInterfaces {
			groups = append(groups, ni.Groups...)
		}
		for _, g := range groups {
			used[[2]string{"security-group", g}] = true
		}
		for _, o := range cfg.Overrides {
			used[[2]string{"subnet", aws.ToString(o.SubnetId)}] = true
		}
		if crs := lt.LaunchTemplateData.CapacityReservationSpecification; crs != nil && crs.CapacityReservationTarget != nil {
			used[[2]string{"capacity-reservation", aws.ToString(crs.CapacityReservationTarget.CapacityReservationId)}] = true
		}
	}
	for _, r := range slices.SortedFunc(maps.Keys(used), func(a, b [2]string) int { return strings.Compare(a[0]+a[1], b[0]+b[1]) }) {
		for _, action := range []string{"ec2:CreateFleet", "ec2:RunInstances"} {
			calls = append(calls, iamCall{action, r[0], r[1], nil})
		}
	}
	return calls
}

// TestLaunchIsWhatTheIAMPolicyAllows: manifests/launcher/iam-policy.json
// allows every call a launch makes, evaluated with the tags the launcher
// really sends: each template, fleet, instance, volume, interface and spot
// request carries in its request every tag the policy's conditions ask of
// it, and the instance and templates carry what terminating and deleting
// them asks. A launcher that stopped sending one of those tags fails here.
func TestLaunchIsWhatTheIAMPolicyAllows(t *testing.T) {
	policy := launcherPolicy(t)
	tests := []struct {
		name, capacityType, pool string
	}{
		{"on-demand", wellknown.CapacityTypeOnDemand, "pool"},
		{"spot", wellknown.CapacityTypeSpot, "pool"},
		{"into a capacity reservation", wellknown.CapacityTypeReserved, "pool"},
		{"a claim of no NodePool", wellknown.CapacityTypeOnDemand, ""},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			w := newWorld(t)
			if tc.capacityType == wellknown.CapacityTypeReserved {
				cr, err := w.sim.AddCapacityReservation(ec2sim.CapacityReservation{InstanceType: "m5.large", AvailabilityZone: "us-east-1a", TotalInstanceCount: 1})
				if err != nil {
					t.Fatal(err)
				}
				w.class.Status.CapacityReservations = []ec2v1.CapacityReservation{{ID: cr.ID, InstanceType: "m5.large", AvailabilityZone: "us-east-1a", OwnerID: cr.OwnerID}}
			}
			rec := &recorder{Client: w.ec2, templates: map[string]*ec2.CreateLaunchTemplateInput{}}
			w.launcher.EC2 = rec
			w.launcher.Templates = launchtemplate.NewProvider(rec, testCluster)
			claim := claimFor(fmt.Sprintf("iam-%d", i), m5Family, in(wellknown.CapacityTypeLabel, tc.capacityType))
			if tc.pool == "" {
				delete(claim.Labels, wellknown.NodePoolLabel)
			}
			res, err := w.launcher.Launch(ctx, w.request(t, claim))
			if err != nil {
				t.Fatal(err)
			}
			if res.Instance.CapacityType != tc.capacityType {
				t.Fatalf("launched %s, want %s", res.Instance.CapacityType, tc.capacityType)
			}
			if len(rec.fleets) != 1 {
				t.Fatalf("%d CreateFleet calls, want 1", len(rec.fleets))
			}
			calls := launchCalls(t, rec.fleets[0], rec.templates, tc.capacityType == wellknown.CapacityTypeSpot)

			// Terminating the instance and deleting the templates, with
			// the tags EC2 holds for them.
			described, err := instance.NewProvider(w.ec2, testCluster).Get(ctx, res.Instance.ID)
			if err != nil {
				t.Fatal(err)
			}
			calls = append(calls, iamCall{"ec2:TerminateInstances", "instance", res.Instance.ID, tagKeys("aws:ResourceTag/", described.Tags)})
			lts, err := w.ec2.DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{})
			if err != nil {
				t.Fatal(err)
			}
			for _, lt := range lts.LaunchTemplates {
				calls = append(calls, iamCall{"ec2:DeleteLaunchTemplate", "launch-template", aws.ToString(lt.LaunchTemplateId), tagKeys("aws:ResourceTag/", tagMap(lt.Tags))})
			}

			for _, c := range calls {
				ok, err := policy.allows(c.action, c.arn(), c.keys)
				if err != nil {
					t.Fatal(err)
				}
				if !ok {
					t.Errorf("the IAM policy denies %s on %s with %v", c.action, c.arn(), c.keys)
				}
			}
			if got := described.Tags[tags.NodePool]; got != tc.pool {
				t.Errorf("instance tag %s=%q, want %q", tags.NodePool, got, tc.pool)
			}

			// The policy does ask for the tags checked above: a fleet
			// without the pool's tag or the owned one is refused.
			for _, c := range calls {
				if c.action != "ec2:CreateFleet" || c.kind != "fleet" {
					continue
				}
				for _, key := range []string{tags.NodePool, tags.ClusterKey(testCluster)} {
					less := maps.Clone(c.keys)
					delete(less, "aws:RequestTag/"+key)
					if ok, _ := policy.allows(c.action, c.arn(), less); ok {
						t.Errorf("the IAM policy allows a fleet without tag %s, so the checks above prove nothing", key)
					}
				}
			}
		})
	}
}
