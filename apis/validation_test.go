package apis_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// seedObject returns a fresh copy of one object from the seed manifests.
func seedObject(t *testing.T, file, name string) *unstructured.Unstructured {
	t.Helper()
	for _, obj := range readManifests(t, "../manifests/examples/"+file) {
		if obj.GetName() == name {
			return obj
		}
	}
	t.Fatalf("no object %q in %s", name, file)
	return nil
}

func set(path string, value interface{}) func(*unstructured.Unstructured) {
	return func(u *unstructured.Unstructured) {
		if err := unstructured.SetNestedField(u.Object, value, strings.Split(path, ".")...); err != nil {
			panic(err)
		}
	}
}

func unset(path string) func(*unstructured.Unstructured) {
	return func(u *unstructured.Unstructured) {
		unstructured.RemoveNestedField(u.Object, strings.Split(path, ".")...)
	}
}

func requirement(key, op string, values ...string) map[string]interface{} {
	r := map[string]interface{}{"key": key, "operator": op}
	if values != nil {
		vs := make([]interface{}, len(values))
		for i, v := range values {
			vs[i] = v
		}
		r["values"] = vs
	}
	return r
}

func requirements(reqs ...map[string]interface{}) func(*unstructured.Unstructured) {
	list := make([]interface{}, len(reqs))
	for i, r := range reqs {
		list[i] = r
	}
	return set("spec.template.spec.requirements", list)
}

func budgets(bs ...map[string]interface{}) func(*unstructured.Unstructured) {
	list := make([]interface{}, len(bs))
	for i, b := range bs {
		list[i] = b
	}
	return set("spec.disruption.budgets", list)
}

func amiTerms(terms ...map[string]interface{}) func(*unstructured.Unstructured) {
	list := make([]interface{}, len(terms))
	for i, term := range terms {
		list[i] = term
	}
	return set("spec.amiSelectorTerms", list)
}

type validationCase struct {
	name   string
	mutate []func(*unstructured.Unstructured)
	// wantErr is a part of the message the API server must refuse with;
	// empty means the object must be accepted.
	wantErr string
}

func crTerms(terms ...map[string]interface{}) func(*unstructured.Unstructured) {
	list := make([]interface{}, len(terms))
	for i, t := range terms {
		list[i] = t
	}
	return set("spec.capacityReservationSelectorTerms", list)
}

func runValidationCases(t *testing.T, gvr schema.GroupVersionResource, base func(*testing.T) *unstructured.Unstructured, cases []validationCase) {
	t.Helper()
	ctx := context.Background()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			obj := base(t)
			obj.SetName("validation")
			for _, m := range tc.mutate {
				m(obj)
			}
			_, err := client.Resource(gvr).Create(ctx, obj, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("refused a valid object: %v", err)
			case tc.wantErr != "" && err == nil:
				t.Fatalf("accepted an object that must be refused with %q", tc.wantErr)
			case tc.wantErr != "" && !strings.Contains(err.Error(), tc.wantErr):
				t.Fatalf("refused with\n  %v\nwant a message containing\n  %q", err, tc.wantErr)
			}
		})
	}
}

func TestNodePoolValidation(t *testing.T) {
	base := func(t *testing.T) *unstructured.Unstructured {
		return seedObject(t, "01-nodepool-basic.yaml", "default")
	}
	gen := "karpenter.k8s.aws/instance-generation"
	runValidationCases(t, nodePools, base, []validationCase{
		{name: "the seed pool", wantErr: ""},
		{name: "unknown operator", mutate: []func(*unstructured.Unstructured){requirements(requirement(gen, "Like", "5"))},
			wantErr: `Unsupported value: "Like"`},
		{name: "Gt with a non-integer", mutate: []func(*unstructured.Unstructured){requirements(requirement(gen, "Gt", "five"))},
			wantErr: "operators Gt and Lt take exactly one value, a non-negative integer"},
		{name: "Lt with two values", mutate: []func(*unstructured.Unstructured){requirements(requirement(gen, "Lt", "5", "6"))},
			wantErr: "operators Gt and Lt take exactly one value, a non-negative integer"},
		{name: "Gt without values", mutate: []func(*unstructured.Unstructured){requirements(requirement(gen, "Gt"))},
			wantErr: "operators Gt and Lt take exactly one value, a non-negative integer"},
		{name: "In with no values", mutate: []func(*unstructured.Unstructured){requirements(requirement("karpenter.k8s.aws/instance-family", "In"))},
			wantErr: "operator In needs at least one value"},
		{name: "In with an empty list", mutate: []func(*unstructured.Unstructured){requirements(requirement("karpenter.k8s.aws/instance-family", "In", []string{}...))},
			wantErr: "operator In needs at least one value"},
		{name: "Exists with values", mutate: []func(*unstructured.Unstructured){requirements(requirement("karpenter.k8s.aws/instance-family", "Exists", "m5"))},
			wantErr: "operators Exists and DoesNotExist take no values"},
		{name: "minValues larger than values", mutate: []func(*unstructured.Unstructured){requirements(map[string]interface{}{
			"key": "karpenter.k8s.aws/instance-family", "operator": "In", "values": []interface{}{"m5", "c5"}, "minValues": int64(3)})},
			wantErr: "minValues must not be larger than the number of values given to operator In"},
		{name: "minValues equal to values", mutate: []func(*unstructured.Unstructured){requirements(map[string]interface{}{
			"key": "karpenter.k8s.aws/instance-family", "operator": "In", "values": []interface{}{"m5", "c5"}, "minValues": int64(2)})}},
		{name: "minValues with Exists", mutate: []func(*unstructured.Unstructured){requirements(map[string]interface{}{
			"key": "karpenter.k8s.aws/instance-family", "operator": "Exists", "minValues": int64(5)})}},
		{name: "restricted key kubernetes.io/hostname", mutate: []func(*unstructured.Unstructured){requirements(requirement("kubernetes.io/hostname", "In", "a"))},
			wantErr: `label "kubernetes.io/hostname" is restricted`},
		{name: "restricted key karpenter.sh/nodepool", mutate: []func(*unstructured.Unstructured){requirements(requirement("karpenter.sh/nodepool", "In", "a"))},
			wantErr: `label "karpenter.sh/nodepool" is restricted`},
		{name: "restricted domain karpenter.sh", mutate: []func(*unstructured.Unstructured){requirements(requirement("karpenter.sh/initialized", "Exists"))},
			wantErr: `label domain "karpenter.sh" is restricted`},
		{name: "restricted domain kubernetes.io", mutate: []func(*unstructured.Unstructured){requirements(requirement("kubernetes.io/team", "In", "a"))},
			wantErr: `label domain "kubernetes.io" is restricted`},
		{name: "restricted domain karpenter.k8s.aws", mutate: []func(*unstructured.Unstructured){requirements(requirement("karpenter.k8s.aws/ec2nodeclass", "In", "a"))},
			wantErr: `label domain "karpenter.k8s.aws" is restricted`},
		{name: "node.kubernetes.io keys are allowed", mutate: []func(*unstructured.Unstructured){requirements(requirement("node.kubernetes.io/team", "In", "a"))}},
		{name: "custom keys are allowed", mutate: []func(*unstructured.Unstructured){requirements(requirement("example.com/team", "In", "a"))}},
		{name: "restricted template label", mutate: []func(*unstructured.Unstructured){set("spec.template.metadata.labels", map[string]interface{}{"karpenter.sh/nodepool": "x"})},
			wantErr: `label "karpenter.sh/nodepool" is restricted`},
		{name: "weight 0", mutate: []func(*unstructured.Unstructured){set("spec.weight", int64(0))},
			wantErr: "spec.weight: Invalid value: 0: spec.weight in body should be greater than or equal to 1"},
		{name: "weight 101", mutate: []func(*unstructured.Unstructured){set("spec.weight", int64(101))},
			wantErr: "spec.weight in body should be less than or equal to 100"},
		{name: "budget nodes neither integer nor percent", mutate: []func(*unstructured.Unstructured){budgets(map[string]interface{}{"nodes": "ten"})},
			wantErr: `spec.disruption.budgets[0].nodes: Invalid value: "ten"`},
		{name: "budget nodes over 100%", mutate: []func(*unstructured.Unstructured){budgets(map[string]interface{}{"nodes": "150%"})},
			wantErr: `spec.disruption.budgets[0].nodes: Invalid value: "150%"`},
		{name: "schedule without duration", mutate: []func(*unstructured.Unstructured){budgets(map[string]interface{}{"nodes": "0", "schedule": "@daily"})},
			wantErr: "schedule and duration go together: set both or neither"},
		{name: "duration without schedule", mutate: []func(*unstructured.Unstructured){budgets(map[string]interface{}{"nodes": "0", "duration": "1h"})},
			wantErr: "schedule and duration go together: set both or neither"},
		{name: "invalid cron: hour 25", mutate: []func(*unstructured.Unstructured){budgets(map[string]interface{}{"nodes": "0", "schedule": "0 25 * * *", "duration": "1h"})},
			wantErr: "schedule must be a cron expression of five fields"},
		{name: "invalid cron: four fields", mutate: []func(*unstructured.Unstructured){budgets(map[string]interface{}{"nodes": "0", "schedule": "0 9 * *", "duration": "1h"})},
			wantErr: "schedule must be a cron expression of five fields"},
		{name: "invalid cron: unknown day", mutate: []func(*unstructured.Unstructured){budgets(map[string]interface{}{"nodes": "0", "schedule": "0 9 * * MON-FUN", "duration": "1h"})},
			wantErr: "schedule must be a cron expression of five fields"},
		{name: "valid cron with step and list", mutate: []func(*unstructured.Unstructured){budgets(map[string]interface{}{"nodes": "1", "schedule": "*/15 0-6,22 1,15 jan-jun 1-5", "duration": "30m", "reasons": []interface{}{"Drifted", "Empty"}})}},
		{name: "bad budget duration", mutate: []func(*unstructured.Unstructured){budgets(map[string]interface{}{"nodes": "0", "schedule": "@daily", "duration": "1 hour"})},
			wantErr: `spec.disruption.budgets[0].duration: Invalid value: "1 hour"`},
		{name: "unknown budget reason", mutate: []func(*unstructured.Unstructured){budgets(map[string]interface{}{"nodes": "1", "reasons": []interface{}{"Bored"}})},
			wantErr: `Unsupported value: "Bored"`},
		{name: "bad expireAfter", mutate: []func(*unstructured.Unstructured){set("spec.template.spec.expireAfter", "3 days")},
			wantErr: `spec.template.spec.expireAfter: Invalid value: "3 days"`},
		{name: "expireAfter Never", mutate: []func(*unstructured.Unstructured){set("spec.template.spec.expireAfter", "Never")}},
		{name: "bad consolidateAfter", mutate: []func(*unstructured.Unstructured){set("spec.disruption.consolidateAfter", "-1m")},
			wantErr: `spec.disruption.consolidateAfter: Invalid value: "-1m"`},
		{name: "unknown consolidation policy", mutate: []func(*unstructured.Unstructured){set("spec.disruption.consolidationPolicy", "Sometimes")},
			wantErr: `Unsupported value: "Sometimes"`},
		{name: "bad terminationGracePeriod", mutate: []func(*unstructured.Unstructured){set("spec.template.spec.terminationGracePeriod", "forever")},
			wantErr: `spec.template.spec.terminationGracePeriod: Invalid value: "forever"`},
		{name: "nodeClassRef without a name", mutate: []func(*unstructured.Unstructured){set("spec.template.spec.nodeClassRef.name", "")},
			wantErr: "spec.template.spec.nodeClassRef.name in body should be at least 1 chars long"},
		{name: "bad taint effect", mutate: []func(*unstructured.Unstructured){set("spec.template.spec.taints", []interface{}{map[string]interface{}{"key": "a", "effect": "Sometimes"}})},
			wantErr: "taint effect must be NoSchedule, PreferNoSchedule or NoExecute"},
	})
}

func TestEC2NodeClassValidation(t *testing.T) {
	base := func(t *testing.T) *unstructured.Unstructured {
		return seedObject(t, "03-ec2nodeclass-complete.yaml", "default")
	}
	mut := func(ms ...func(*unstructured.Unstructured)) []func(*unstructured.Unstructured) { return ms }
	runValidationCases(t, ec2NodeClasses, base, []validationCase{
		{name: "the seed class"},
		{name: "both role and instanceProfile", mutate: mut(set("spec.instanceProfile", "my-profile")),
			wantErr: "exactly one of role and instanceProfile must be set"},
		{name: "neither role nor instanceProfile", mutate: mut(unset("spec.role")),
			wantErr: "exactly one of role and instanceProfile must be set"},
		{name: "instanceProfile alone", mutate: mut(unset("spec.role"), set("spec.instanceProfile", "my-profile"))},
		{name: "alias with another field", mutate: mut(amiTerms(map[string]interface{}{"alias": "al2023@latest", "id": "ami-123"})),
			wantErr: "alias may not be combined with other fields in an amiSelectorTerm"},
		{name: "alias beside another term", mutate: mut(amiTerms(map[string]interface{}{"alias": "al2023@latest"}, map[string]interface{}{"id": "ami-123"})),
			wantErr: "an amiSelectorTerm with an alias must be the only term"},
		{name: "alias of an unknown family", mutate: mut(amiTerms(map[string]interface{}{"alias": "ubuntu@latest"})),
			wantErr: "alias family must be one of al2, al2023, bottlerocket, windows2019, windows2022, windows2025"},
		{name: "alias with no version", mutate: mut(amiTerms(map[string]interface{}{"alias": "al2023"})),
			wantErr: `spec.amiSelectorTerms[0].alias: Invalid value: "al2023"`},
		{name: "alias with a malformed version", mutate: mut(amiTerms(map[string]interface{}{"alias": "al2023@newest"})),
			wantErr: `alias version must be "latest" or a version such as v20240807 or v1.20.0`},
		{name: "windows alias pinned", mutate: mut(amiTerms(map[string]interface{}{"alias": "windows2022@v2024"})),
			wantErr: `windows families may only use version "latest"`},
		{name: "alias al2023@latest", mutate: mut(amiTerms(map[string]interface{}{"alias": "al2023@latest"}))},
		{name: "alias bottlerocket@v1.20.0", mutate: mut(amiTerms(map[string]interface{}{"alias": "bottlerocket@v1.20.0"}))},
		{name: "alias windows2022@latest", mutate: mut(amiTerms(map[string]interface{}{"alias": "windows2022@latest"}))},
		{name: "alias al2023 pinned", mutate: mut(amiTerms(map[string]interface{}{"alias": "al2023@v20240807"}))},
		{name: "terms without alias need amiFamily", mutate: mut(amiTerms(map[string]interface{}{"id": "ami-0123456789"})),
			wantErr: "amiFamily must be set when no amiSelectorTerm has an alias"},
		{name: "terms by id with amiFamily", mutate: mut(amiTerms(map[string]interface{}{"id": "ami-0123456789"}), set("spec.amiFamily", "AL2023"))},
		{name: "amiFamily against the alias", mutate: mut(set("spec.amiFamily", "Bottlerocket")),
			wantErr: "amiFamily must match the family of the alias"},
		{name: "id with name in an AMI term", mutate: mut(amiTerms(map[string]interface{}{"id": "ami-0123", "name": "x"}), set("spec.amiFamily", "AL2")),
			wantErr: "id may not be combined with tags, name or owner in an amiSelectorTerm"},
		{name: "no subnet selector terms", mutate: mut(set("spec.subnetSelectorTerms", []interface{}{})),
			wantErr: "spec.subnetSelectorTerms: Invalid value: 0: spec.subnetSelectorTerms in body should have at least 1 items"},
		{name: "empty subnet selector term", mutate: mut(set("spec.subnetSelectorTerms", []interface{}{map[string]interface{}{}})),
			wantErr: "each subnetSelectorTerm needs tags or id"},
		{name: "empty security group selector term", mutate: mut(set("spec.securityGroupSelectorTerms", []interface{}{map[string]interface{}{}})),
			wantErr: "each securityGroupSelectorTerm needs tags, id or name"},
		{name: "no AMI selector terms", mutate: mut(set("spec.amiSelectorTerms", []interface{}{})),
			wantErr: "spec.amiSelectorTerms in body should have at least 1 items"},
		{name: "empty AMI selector term", mutate: mut(amiTerms(map[string]interface{}{})),
			wantErr: "each amiSelectorTerm needs alias, tags, id or name"},
		{name: "empty tag value in a selector", mutate: mut(set("spec.subnetSelectorTerms", []interface{}{map[string]interface{}{"tags": map[string]interface{}{"a": ""}}})),
			wantErr: "empty tag keys or values aren't supported"},
		{name: "capacity reservation by id", mutate: mut(crTerms(map[string]interface{}{"id": "cr-0123456789abcdef0"}))},
		{name: "capacity reservation by tags of an owner", mutate: mut(crTerms(map[string]interface{}{"tags": map[string]interface{}{"team": "ml"}, "ownerID": "210987654321"}))},
		{name: "capacity reservation term with id and tags", mutate: mut(crTerms(map[string]interface{}{"id": "cr-0123", "tags": map[string]interface{}{"team": "ml"}})),
			wantErr: "expected exactly one, either tags or id"},
		{name: "empty capacity reservation term", mutate: mut(crTerms(map[string]interface{}{})),
			wantErr: "expected exactly one, either tags or id"},
		{name: "capacity reservation term with id and ownerID", mutate: mut(crTerms(map[string]interface{}{"id": "cr-0123", "ownerID": "210987654321"})),
			wantErr: "'ownerID' is only allowed with 'tags'"},
		{name: "malformed capacity reservation id", mutate: mut(crTerms(map[string]interface{}{"id": "odcr-1"})),
			wantErr: `spec.capacityReservationSelectorTerms[0].id: Invalid value: "odcr-1"`},
		{name: "malformed owner id", mutate: mut(crTerms(map[string]interface{}{"tags": map[string]interface{}{"a": "b"}, "ownerID": "me"})),
			wantErr: `spec.capacityReservationSelectorTerms[0].ownerID: Invalid value: "me"`},
		{name: "too many capacity reservation terms", mutate: mut(crTerms(slices.Repeat([]map[string]interface{}{{"id": "cr-1"}}, 31)...)),
			wantErr: "spec.capacityReservationSelectorTerms: Too many: 31: must have at most 30 items"},
		{name: "httpTokens maybe", mutate: mut(set("spec.metadataOptions.httpTokens", "maybe")),
			wantErr: `spec.metadataOptions.httpTokens: Unsupported value: "maybe": supported values: "required", "optional"`},
		{name: "hop limit 0", mutate: mut(set("spec.metadataOptions.httpPutResponseHopLimit", int64(0))),
			wantErr: "spec.metadataOptions.httpPutResponseHopLimit in body should be greater than or equal to 1"},
		{name: "negative volume size", mutate: mut(set("spec.blockDeviceMappings", []interface{}{map[string]interface{}{"deviceName": "/dev/xvda", "ebs": map[string]interface{}{"volumeSize": "-5Gi"}}})),
			wantErr: `spec.blockDeviceMappings[0].ebs.volumeSize: Invalid value: "-5Gi"`},
		{name: "volume size without a unit", mutate: mut(set("spec.blockDeviceMappings", []interface{}{map[string]interface{}{"deviceName": "/dev/xvda", "ebs": map[string]interface{}{"volumeSize": int64(100)}}})),
			wantErr: "volumeSize needs a unit, such as 100Gi"},
		{name: "two root volumes", mutate: mut(set("spec.blockDeviceMappings", []interface{}{
			map[string]interface{}{"deviceName": "/dev/xvda", "rootVolume": true, "ebs": map[string]interface{}{"volumeSize": "20Gi"}},
			map[string]interface{}{"deviceName": "/dev/xvdb", "rootVolume": true, "ebs": map[string]interface{}{"volumeSize": "20Gi"}}})),
			wantErr: "at most one blockDeviceMapping may be the rootVolume"},
		{name: "unknown volume type", mutate: mut(set("spec.blockDeviceMappings", []interface{}{map[string]interface{}{"deviceName": "/dev/xvda", "ebs": map[string]interface{}{"volumeSize": "20Gi", "volumeType": "gp9"}}})),
			wantErr: `Unsupported value: "gp9"`},
		{name: "restricted tag", mutate: mut(set("spec.tags", map[string]interface{}{"karpenter.sh/nodepool": "x"})),
			wantErr: "tag keys karpenter.sh/nodepool, karpenter.sh/nodeclaim, karpenter.k8s.aws/ec2nodeclass and eks:eks-cluster-name are restricted"},
		{name: "restricted cluster tag", mutate: mut(set("spec.tags", map[string]interface{}{"kubernetes.io/cluster/mine": "owned"})),
			wantErr: `tag key "kubernetes.io/cluster/..." is restricted`},
		{name: "kubelet gc thresholds inverted", mutate: mut(set("spec.kubelet", map[string]interface{}{"imageGCHighThresholdPercent": int64(50), "imageGCLowThresholdPercent": int64(60)})),
			wantErr: "imageGCHighThresholdPercent must be greater than imageGCLowThresholdPercent"},
		{name: "kubelet soft eviction without grace period", mutate: mut(set("spec.kubelet", map[string]interface{}{"evictionSoft": map[string]interface{}{"memory.available": "5%"}})),
			wantErr: "every evictionSoft threshold needs a grace period in evictionSoftGracePeriod"},
		{name: "kubelet unknown reserved key", mutate: mut(set("spec.kubelet", map[string]interface{}{"systemReserved": map[string]interface{}{"gpu": "1"}})),
			wantErr: "systemReserved keys must be cpu, memory, ephemeral-storage or pid"},
		{name: "kubelet reserved not a quantity", mutate: mut(set("spec.kubelet", map[string]interface{}{"kubeReserved": map[string]interface{}{"cpu": "lots"}})),
			wantErr: "kubeReserved values must be non-negative quantities"},
		{name: "kubelet block accepted", mutate: mut(set("spec.kubelet", map[string]interface{}{
			"maxPods": int64(110), "podsPerCore": int64(10), "systemReserved": map[string]interface{}{"cpu": "100m", "memory": "100Mi"},
			"evictionHard": map[string]interface{}{"memory.available": "5%"}, "evictionSoft": map[string]interface{}{"nodefs.available": "15%"},
			"evictionSoftGracePeriod": map[string]interface{}{"nodefs.available": "1m"}, "clusterDNS": []interface{}{"10.0.0.10"}}))},
	})
}
