package ec2sim

import (
	"context"
	"maps"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

func tagSpec(resourceType ec2types.ResourceType, kv ...string) ec2types.TagSpecification {
	spec := ec2types.TagSpecification{ResourceType: resourceType}
	for i := 0; i+1 < len(kv); i += 2 {
		spec.Tags = append(spec.Tags, ec2types.Tag{Key: aws.String(kv[i]), Value: aws.String(kv[i+1])})
	}
	return spec
}

// TestLaunchVolumeTags: TagSpecifications of type volume, the launch
// template's and the request's (CreateFleet's or RunInstances'), tag the
// instance's volumes, the request's winning a key both set, and are not
// instance tags. With no DescribeVolumes, the admin endpoint's instance
// listing reports them.
func TestLaunchVolumeTags(t *testing.T) {
	s := startSim(t, Options{})
	ctx := context.Background()
	c := ec2Client(s)
	img := s.world.ssmParameters["/aws/service/eks/optimized-ami/1.34/amazon-linux-2023/x86_64/standard/recommended/image_id"]
	subnet := privateSubnets(s)["us-east-1a"]
	for _, tc := range []struct {
		name            string
		viaRunInstances bool
		templateSpecs   []ec2types.LaunchTemplateTagSpecificationRequest
		requestSpecs    []ec2types.TagSpecification
		wantVolume      map[string]string
		wantInstance    map[string]string
	}{
		{
			name:         "a fleet's volume tags go on the volumes and its instance tags on the instance",
			requestSpecs: []ec2types.TagSpecification{tagSpec(ec2types.ResourceTypeInstance, "nodeclaim", "a"), tagSpec(ec2types.ResourceTypeVolume, "team", "storage")},
			wantVolume:   map[string]string{"team": "storage"},
			wantInstance: map[string]string{"nodeclaim": "a"},
		},
		{
			name: "a fleet's volume tags merge with the template's and win",
			templateSpecs: []ec2types.LaunchTemplateTagSpecificationRequest{
				{ResourceType: ec2types.ResourceTypeVolume, Tags: []ec2types.Tag{{Key: aws.String("team"), Value: aws.String("template")}, {Key: aws.String("cost"), Value: aws.String("x")}}},
				{ResourceType: ec2types.ResourceTypeInstance, Tags: []ec2types.Tag{{Key: aws.String("from-template"), Value: aws.String("yes")}}},
			},
			requestSpecs: []ec2types.TagSpecification{tagSpec(ec2types.ResourceTypeVolume, "team", "fleet")},
			wantVolume:   map[string]string{"team": "fleet", "cost": "x"},
			wantInstance: map[string]string{"from-template": "yes"},
		},
		{
			name:         "a fleet without volume tags leaves the volumes untagged",
			requestSpecs: []ec2types.TagSpecification{tagSpec(ec2types.ResourceTypeInstance, "nodeclaim", "b")},
			wantVolume:   map[string]string{},
			wantInstance: map[string]string{"nodeclaim": "b"},
		},
		{
			name:            "RunInstances keeps its volume tags too",
			viaRunInstances: true,
			templateSpecs: []ec2types.LaunchTemplateTagSpecificationRequest{
				{ResourceType: ec2types.ResourceTypeVolume, Tags: []ec2types.Tag{{Key: aws.String("cost"), Value: aws.String("x")}}},
			},
			requestSpecs: []ec2types.TagSpecification{tagSpec(ec2types.ResourceTypeVolume, "team", "run")},
			wantVolume:   map[string]string{"team": "run", "cost": "x"},
			wantInstance: map[string]string{},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tpl, err := c.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{
				LaunchTemplateName: aws.String(s.ids.resource("volumes")),
				LaunchTemplateData: &ec2types.RequestLaunchTemplateData{ImageId: aws.String(img), TagSpecifications: tc.templateSpecs},
			})
			if err != nil {
				t.Fatalf("CreateLaunchTemplate: %v", err)
			}
			var id string
			if tc.viaRunInstances {
				out, err := c.RunInstances(ctx, &ec2.RunInstancesInput{
					MinCount: aws.Int32(1), MaxCount: aws.Int32(1), InstanceType: ec2types.InstanceTypeM5Large, SubnetId: aws.String(subnet),
					LaunchTemplate:    &ec2types.LaunchTemplateSpecification{LaunchTemplateId: tpl.LaunchTemplate.LaunchTemplateId},
					TagSpecifications: tc.requestSpecs,
				})
				if err != nil {
					t.Fatalf("RunInstances: %v", err)
				}
				id = aws.ToString(out.Instances[0].InstanceId)
			} else {
				out, err := c.CreateFleet(ctx, &ec2.CreateFleetInput{
					Type: ec2types.FleetTypeInstant,
					LaunchTemplateConfigs: []ec2types.FleetLaunchTemplateConfigRequest{{
						LaunchTemplateSpecification: &ec2types.FleetLaunchTemplateSpecificationRequest{LaunchTemplateId: tpl.LaunchTemplate.LaunchTemplateId},
						Overrides:                   []ec2types.FleetLaunchTemplateOverridesRequest{{InstanceType: ec2types.InstanceTypeM5Large, SubnetId: aws.String(subnet)}},
					}},
					TargetCapacitySpecification: &ec2types.TargetCapacitySpecificationRequest{
						TotalTargetCapacity: aws.Int32(1), DefaultTargetCapacityType: ec2types.DefaultTargetCapacityTypeOnDemand,
					},
					TagSpecifications: tc.requestSpecs,
				})
				if err != nil {
					t.Fatalf("CreateFleet: %v", err)
				}
				if len(out.Errors) > 0 || len(out.Instances) != 1 {
					t.Fatalf("CreateFleet launched %+v with errors %+v, want one instance", out.Instances, out.Errors)
				}
				id = out.Instances[0].InstanceIds[0]
			}

			var listed []InstanceInfo
			if code := admin(t, s, http.MethodGet, "/_sim/instances", "", &listed); code != http.StatusOK {
				t.Fatalf("GET /_sim/instances: %d", code)
			}
			var info *InstanceInfo
			for i := range listed {
				if listed[i].ID == id {
					info = &listed[i]
				}
			}
			if info == nil {
				t.Fatalf("the admin endpoint does not list %s", id)
			}
			if got := info.VolumeTags; !maps.Equal(got, tc.wantVolume) {
				t.Errorf("volume tags %v, want %v", got, tc.wantVolume)
			}

			desc, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
			if err != nil {
				t.Fatalf("DescribeInstances: %v", err)
			}
			got := map[string]string{}
			for _, tag := range desc.Reservations[0].Instances[0].Tags {
				got[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
			}
			for k, v := range tc.wantInstance {
				if got[k] != v {
					t.Errorf("instance tag %s = %q, want %q (tags %v)", k, got[k], v, got)
				}
			}
			for k := range tc.wantVolume {
				if _, ok := got[k]; ok && tc.wantInstance[k] == "" {
					t.Errorf("volume tag %s is on the instance too (tags %v)", k, got)
				}
			}
		})
	}
}
