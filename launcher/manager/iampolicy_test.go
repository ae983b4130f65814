package manager_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/tailor-project/tailor/launcher/tags"
)

// policyCluster is the cluster's name as iam-policy.json spells it, for
// the reader to replace.
const policyCluster = "my-cluster"

// ec2ARN is an ARN of an EC2 resource of the kind, in a real region and
// account, for the statements' patterns to match.
func ec2ARN(kind string) string {
	account := "111122223333"
	if kind == "image" || kind == "snapshot" {
		account = "" // Amazon's and other accounts' are shared, so the ARN names none
	}
	return "arn:aws:ec2:us-east-1:" + account + ":" + kind + "/" + kind + "-0123456789abcdef0"
}

// iamCondition is one condition a statement must carry: op, key, values.
type iamCondition struct {
	op, key string
	values  []string
}

func requestTag(key, value string) iamCondition {
	op := "StringEquals"
	if value == "*" {
		op = "StringLike"
	}
	return iamCondition{op, "aws:RequestTag/" + key, []string{value}}
}

func resourceTag(key, value string) iamCondition {
	c := requestTag(key, value)
	c.key = "aws:ResourceTag/" + key
	return c
}

var (
	// tailorsRequestTags are the tags every resource a launch creates
	// carries in the request: EKS managed node groups tag their instances
	// owned as well, so owned alone would not tell Tailor's apart.
	tailorsRequestTags = []iamCondition{
		requestTag(tags.ClusterKey(policyCluster), tags.Owned),
		requestTag(tags.EKSClusterName, policyCluster),
		requestTag(tags.NodePool, "*"),
	}
	// tailorsTemplate is what marks a launch template as Tailor's: the
	// owned tag, the tag Karpenter and Tailor filter their templates by,
	// and a pool's.
	tailorsTemplate = []iamCondition{
		resourceTag(tags.ClusterKey(policyCluster), tags.Owned),
		resourceTag(tags.Cluster, policyCluster),
		resourceTag(tags.NodePool, "*"),
	}
)

// iamRule is what the launcher's policy must say about one action on one
// kind of resource: some statement allows it, and every statement that
// allows it carries the conditions.
type iamRule struct {
	name       string
	actions    []string
	kinds      []string
	conditions []iamCondition
}

var launcherIAMRules = []iamRule{
	{
		name:    "launches use the subnets, security groups, images and capacity reservations node classes select, untagged by Tailor",
		actions: []string{"ec2:CreateFleet", "ec2:RunInstances"},
		kinds:   []string{"image", "snapshot", "security-group", "subnet", "capacity-reservation"},
	},
	{
		name:       "launches use only Tailor's launch templates",
		actions:    []string{"ec2:CreateFleet", "ec2:RunInstances"},
		kinds:      []string{"launch-template"},
		conditions: tailorsTemplate,
	},
	{
		name:       "launches create fleets, instances, volumes, interfaces and spot requests only with Tailor's tags in the request",
		actions:    []string{"ec2:CreateFleet", "ec2:RunInstances"},
		kinds:      []string{"fleet", "instance", "volume", "network-interface", "spot-instances-request"},
		conditions: tailorsRequestTags,
	},
	{
		name:       "launch templates are created only with Tailor's tags in the request",
		actions:    []string{"ec2:CreateLaunchTemplate"},
		kinds:      []string{"launch-template"},
		conditions: append(slices.Clone(tailorsRequestTags), requestTag(tags.Cluster, policyCluster)),
	},
	{
		name:    "tags are written only by the calls that create, with Tailor's tags",
		actions: []string{"ec2:CreateTags"},
		kinds:   []string{"fleet", "instance", "volume", "network-interface", "launch-template", "spot-instances-request"},
		conditions: append(slices.Clone(tailorsRequestTags),
			iamCondition{"StringEquals", "ec2:CreateAction", []string{"CreateFleet", "CreateLaunchTemplate", "RunInstances"}}),
	},
	{
		name:    "only instances with the owned and a pool's tag are terminated, not a managed node group's",
		actions: []string{"ec2:TerminateInstances"},
		kinds:   []string{"instance"},
		conditions: []iamCondition{
			resourceTag(tags.ClusterKey(policyCluster), tags.Owned),
			resourceTag(tags.NodePool, "*"),
		},
	},
	{
		name:       "only Tailor's launch templates are deleted",
		actions:    []string{"ec2:DeleteLaunchTemplate"},
		kinds:      []string{"launch-template"},
		conditions: tailorsTemplate,
	},
}

// iamWildcard matches IAM's wildcards: * any run of characters, ? one.
func iamWildcard(pattern, s string) bool {
	if pattern == "" {
		return s == ""
	}
	switch pattern[0] {
	case '*':
		for i := 0; i <= len(s); i++ {
			if iamWildcard(pattern[1:], s[i:]) {
				return true
			}
		}
		return false
	case '?':
		return s != "" && iamWildcard(pattern[1:], s[1:])
	}
	return s != "" && pattern[0] == s[0] && iamWildcard(pattern[1:], s[1:])
}

// grants reports whether an Allow statement allows the action on the ARN,
// conditions aside. Actions compare without case, as IAM's do.
func (s iamStatement) grants(action, arn string) bool {
	if s.Effect != "Allow" {
		return false
	}
	actionMatches := slices.ContainsFunc(s.actions(), func(a string) bool {
		return iamWildcard(strings.ToLower(a), strings.ToLower(action))
	})
	return actionMatches && slices.ContainsFunc(s.resources(), func(r string) bool { return iamWildcard(r, arn) })
}

// carries reports whether the statement has the condition, with exactly
// its values.
func (s iamStatement) carries(c iamCondition) bool {
	got := stringsOf(s.Condition[c.op][c.key])
	return slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(c.values)))
}

// isEC2Write says whether an action changes EC2; Describe and Get only read.
func isEC2Write(action string) bool {
	name, ok := strings.CutPrefix(strings.ToLower(action), "ec2:")
	return ok && !strings.HasPrefix(name, "describe") && !strings.HasPrefix(name, "get")
}

// checkLauncherIAM checks a launcher policy against the rules: every
// action the rules name is allowed where they say, every statement that
// allows it carries the rule's conditions, and no statement allows an
// EC2 write that no rule covers.
func checkLauncherIAM(p *iamPolicy, rules []iamRule) []error {
	var errs []error
	for _, rule := range rules {
		for _, action := range rule.actions {
			for _, kind := range rule.kinds {
				arn := ec2ARN(kind)
				granted := false
				for _, s := range p.Statement {
					if !s.grants(action, arn) {
						continue
					}
					granted = true
					for _, c := range rule.conditions {
						if !s.carries(c) {
							errs = append(errs, fmt.Errorf("%s: statement %s allows %s on %s without %s %s=%v", rule.name, s.Sid, action, kind, c.op, c.key, c.values))
						}
					}
				}
				if !granted {
					errs = append(errs, fmt.Errorf("%s: no statement allows %s on %s", rule.name, action, kind))
				}
			}
		}
	}
	for _, s := range p.Statement {
		if s.Effect != "Allow" {
			continue
		}
		for _, action := range s.actions() {
			if !isEC2Write(action) {
				continue
			}
			for _, res := range s.resources() {
				covered := slices.ContainsFunc(rules, func(r iamRule) bool {
					return slices.ContainsFunc(r.actions, func(a string) bool { return iamWildcard(strings.ToLower(action), strings.ToLower(a)) }) &&
						slices.ContainsFunc(r.kinds, func(k string) bool { return iamWildcard(res, ec2ARN(k)) })
				})
				if !covered {
					errs = append(errs, fmt.Errorf("statement %s allows %s on %s, which no rule is about", s.Sid, action, res))
				}
			}
		}
	}
	return errs
}

// templateParameters are the values at which the template's launcher
// policy reads as iam-policy.json: the placeholder cluster, any region and
// account, the default node role and the queue named after the cluster.
var templateParameters = strings.NewReplacer(
	"<AWS::Partition>", "aws",
	"<AWS::Region>", "*",
	"<AWS::AccountId>", "*",
	"<ClusterName>", policyCluster,
	"<NodeRole>", "KarpenterNodeRole-"+policyCluster,
	"<InterruptionQueue.Arn>", "arn:aws:sqs:*:*:"+policyCluster,
)

// templateLauncherPolicy is the policy of the template's role that the
// launcher's service account assumes, its parameters filled in.
func templateLauncherPolicy(data []byte, parameters *strings.Replacer) (*iamPolicy, error) {
	tpl, err := parseCFN(data)
	if err != nil {
		return nil, err
	}
	var role string
	for _, name := range sortedKeys(tpl.resources) {
		r := tpl.resources[name]
		props := mapping(r["Properties"])
		if r["Type"] == "AWS::EKS::PodIdentityAssociation" && props["ServiceAccount"] == "tailor-launcher" {
			if arn := stringsOf(props["RoleArn"]); len(arn) == 1 {
				role = strings.TrimSuffix(strings.TrimPrefix(arn[0], "<"), ".Arn>")
			}
		}
	}
	for _, name := range sortedKeys(tpl.resources) {
		r := tpl.resources[name]
		props := mapping(r["Properties"])
		if r["Type"] != "AWS::IAM::ManagedPolicy" || !slices.ContainsFunc(list(props["Roles"]), func(v any) bool { return mapping(v)["Ref"] == role }) {
			continue
		}
		doc, err := policyDocument(props["PolicyDocument"])
		if err != nil {
			return nil, fmt.Errorf("policy %s: %w", name, err)
		}
		// Without HTML escaping, so that <X> reads as written.
		var raw strings.Builder
		enc := json.NewEncoder(&raw)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(doc); err != nil {
			return nil, err
		}
		var filled iamPolicy
		if err := json.Unmarshal([]byte(parameters.Replace(raw.String())), &filled); err != nil {
			return nil, fmt.Errorf("policy %s: %w", name, err)
		}
		return &filled, nil
	}
	return nil, fmt.Errorf("no managed policy on the role %q of service account tailor-launcher", role)
}

// checkLauncherPolicies checks the launcher's policy as iam-policy.json
// writes it and as the template embeds it, and that the two are the same
// policy, so that what one is checked for holds of the other and a change
// to one is made to both.
func checkLauncherPolicies(policyJSON, template []byte) []error {
	var v any
	if err := json.Unmarshal(policyJSON, &v); err != nil {
		return []error{fmt.Errorf("iam-policy.json: %w", err)}
	}
	fromFile, err := policyDocument(v)
	if err != nil {
		return []error{fmt.Errorf("iam-policy.json: %w", err)}
	}
	fromTemplate, err := templateLauncherPolicy(template, templateParameters)
	if err != nil {
		return []error{fmt.Errorf("cloudformation.yaml: %w", err)}
	}
	var errs []error
	for _, err := range checkLauncherIAM(fromFile, launcherIAMRules) {
		errs = append(errs, fmt.Errorf("iam-policy.json: %w", err))
	}
	for _, err := range checkLauncherIAM(fromTemplate, launcherIAMRules) {
		errs = append(errs, fmt.Errorf("cloudformation.yaml: %w", err))
	}
	for i := range max(len(fromFile.Statement), len(fromTemplate.Statement)) {
		var a, b iamStatement
		if i < len(fromFile.Statement) {
			a = fromFile.Statement[i]
		}
		if i < len(fromTemplate.Statement) {
			b = fromTemplate.Statement[i]
		}
		if !reflect.DeepEqual(a, b) {
			errs = append(errs, fmt.Errorf("statement %d: iam-policy.json has %+v, the template %+v", i, a, b))
		}
	}
	return errs
}

// readLauncherPolicies reads iam-policy.json and the template.
func readLauncherPolicies(t *testing.T) (policyJSON, template []byte) {
	t.Helper()
	policyJSON, err := os.ReadFile(filepath.Join(manifestDir, "iam-policy.json"))
	if err != nil {
		t.Fatal(err)
	}
	if template, err = os.ReadFile(cloudFormationTemplate); err != nil {
		t.Fatal(err)
	}
	return policyJSON, template
}

// TestLauncherIAMPolicy: the launcher's policy, in iam-policy.json and in
// the CloudFormation template, lets it create, launch from, terminate and
// delete only what carries Tailor's tags, statement by statement.
func TestLauncherIAMPolicy(t *testing.T) {
	for _, err := range checkLauncherPolicies(readLauncherPolicies(t)) {
		t.Error(err)
	}
}

// TestLauncherIAMPolicyFits: the template's launcher policy stays within
// IAM's 6,144 characters for a managed policy (whitespace aside) at the
// longest cluster name the template allows, in the longest partition and
// region: every condition on a tag spells the name out.
func TestLauncherIAMPolicyFits(t *testing.T) {
	_, template := readLauncherPolicies(t)
	longest := strings.Repeat("c", 80)
	p, err := templateLauncherPolicy(template, strings.NewReplacer(
		"<AWS::Partition>", "aws-us-gov",
		"<AWS::Region>", "ap-southeast-2",
		"<AWS::AccountId>", "111122223333",
		"<ClusterName>", longest,
		"<NodeRole>", "KarpenterNodeRole-"+longest,
		"<InterruptionQueue.Arn>", "arn:aws-us-gov:sqs:ap-southeast-2:111122223333:"+longest,
	))
	if err != nil {
		t.Fatal(err)
	}
	var compact strings.Builder
	enc := json.NewEncoder(&compact)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(p); err != nil {
		t.Fatal(err)
	}
	// The decoded policy has fields it did not have (empty Principal and
	// Condition); they only make the count larger.
	if n := len(strings.TrimSpace(compact.String())); n > 6144 {
		t.Errorf("the launcher's policy takes %d characters, more than IAM's 6144", n)
	}
}

// TestLauncherIAMChecksFail: each mistake the checks are for is caught, so
// that TestLauncherIAMPolicy passing means something.
func TestLauncherIAMChecksFail(t *testing.T) {
	policyJSON, template := readLauncherPolicies(t)
	const (
		inPolicy   = "iam-policy.json"
		inTemplate = "cloudformation.yaml"
	)
	tests := []struct {
		name, file, old, new, wantErr string
	}{
		{"templates of no pool", inPolicy, `"aws:ResourceTag/karpenter.k8s.aws/cluster": "my-cluster"
        },
        "StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"}
      }
    },
    {
      "Sid": "LaunchOnlyWithTailorsTags"`, `"aws:ResourceTag/karpenter.k8s.aws/cluster": "my-cluster"
        }
      }
    },
    {
      "Sid": "LaunchOnlyWithTailorsTags"`, "statement LaunchFromTailorsTemplatesOnly allows ec2:CreateFleet on launch-template without StringLike aws:ResourceTag/karpenter.sh/nodepool"},
		{"templates of anyone", inPolicy, `"arn:aws:ec2:*:*:subnet/*"
      ]`, `"arn:aws:ec2:*:*:subnet/*",
        "arn:aws:ec2:*:*:launch-template/*"
      ]`, "statement LaunchWithTheResourcesNodeClassesSelect allows ec2:RunInstances on launch-template without StringEquals aws:ResourceTag/kubernetes.io/cluster/my-cluster"},
		{"untagged fleets", inPolicy, `"arn:aws:ec2:*:*:subnet/*"
      ]`, `"arn:aws:ec2:*:*:subnet/*",
        "arn:aws:ec2:*:*:fleet/*"
      ]`, "statement LaunchWithTheResourcesNodeClassesSelect allows ec2:CreateFleet on fleet without StringEquals aws:RequestTag/kubernetes.io/cluster/my-cluster=[owned]"},
		{"no fleets", inPolicy, `"arn:aws:ec2:*:*:fleet/*",
        "arn:aws:ec2:*:*:instance/*",
        "arn:aws:ec2:*:*:volume/*",
        "arn:aws:ec2:*:*:network-interface/*",
        "arn:aws:ec2:*:*:spot-instances-request/*"`, `"arn:aws:ec2:*:*:instance/*",
        "arn:aws:ec2:*:*:volume/*",
        "arn:aws:ec2:*:*:network-interface/*",
        "arn:aws:ec2:*:*:spot-instances-request/*"`, "no statement allows ec2:CreateFleet on fleet"},
		{"instances of any cluster", inPolicy, `"aws:RequestTag/kubernetes.io/cluster/my-cluster": "owned",
          "aws:RequestTag/eks:eks-cluster-name": "my-cluster"
        },
        "StringLike": {"aws:RequestTag/karpenter.sh/nodepool": "*"}
      }
    },
    {
      "Sid": "CreateTemplatesOnlyWithTailorsTags"`, `"aws:RequestTag/eks:eks-cluster-name": "my-cluster"
        },
        "StringLike": {"aws:RequestTag/karpenter.sh/nodepool": "*"}
      }
    },
    {
      "Sid": "CreateTemplatesOnlyWithTailorsTags"`, "statement LaunchOnlyWithTailorsTags allows ec2:CreateFleet on fleet without StringEquals aws:RequestTag/kubernetes.io/cluster/my-cluster=[owned]"},
		{"terminating a managed node group's instances", inPolicy, `"Action": "ec2:TerminateInstances",
      "Resource": "arn:aws:ec2:*:*:instance/*",
      "Condition": {
        "StringEquals": {"aws:ResourceTag/kubernetes.io/cluster/my-cluster": "owned"},
        "StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"}
      }`, `"Action": "ec2:TerminateInstances",
      "Resource": "arn:aws:ec2:*:*:instance/*",
      "Condition": {
        "StringEquals": {"aws:ResourceTag/kubernetes.io/cluster/my-cluster": "owned"}
      }`, "statement TerminateOnlyTailorsInstances allows ec2:TerminateInstances on instance without StringLike aws:ResourceTag/karpenter.sh/nodepool"},
		{"creating templates of no pool", inPolicy, `"aws:RequestTag/karpenter.k8s.aws/cluster": "my-cluster"
        },
        "StringLike": {"aws:RequestTag/karpenter.sh/nodepool": "*"}
      }`, `"aws:RequestTag/karpenter.k8s.aws/cluster": "my-cluster"
        }
      }`, "statement CreateTemplatesOnlyWithTailorsTags allows ec2:CreateLaunchTemplate on launch-template without StringLike aws:RequestTag/karpenter.sh/nodepool=[*]"},
		{"deleting another cluster's templates", inPolicy, `"aws:ResourceTag/karpenter.k8s.aws/cluster": "my-cluster"
        },
        "StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"}
      }
    },
    {
      "Sid": "ManageTheInstanceProfilesOfNodeClasses"`, `"aws:ResourceTag/karpenter.k8s.aws/cluster": "other-cluster"
        },
        "StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"}
      }
    },
    {
      "Sid": "ManageTheInstanceProfilesOfNodeClasses"`, "statement DeleteOnlyTailorsTemplates allows ec2:DeleteLaunchTemplate on launch-template without StringEquals aws:ResourceTag/karpenter.k8s.aws/cluster=[my-cluster]"},
		{"tagging without creating", inPolicy, `"ec2:CreateAction": ["CreateFleet", "RunInstances", "CreateLaunchTemplate"],`, ``,
			"statement TagOnlyOnLaunch allows ec2:CreateTags on fleet without StringEquals ec2:CreateAction"},
		{"untagging", inPolicy, `"Action": "ec2:CreateTags",`, `"Action": ["ec2:CreateTags", "ec2:DeleteTags"],`,
			"statement TagOnlyOnLaunch allows ec2:DeleteTags on arn:aws:ec2:*:*:fleet/*, which no rule is about"},
		{"all of EC2", inPolicy, `"pricing:GetProducts"
      ],`, `"pricing:GetProducts",
        "ec2:*"
      ],`, "statement DescribeWhatNodeClassesSelectAndWhatRuns allows ec2:TerminateInstances on instance without StringEquals aws:ResourceTag/kubernetes.io/cluster/my-cluster"},
		{"the template's termination of any owned instance", inTemplate, `"StringEquals": {"aws:ResourceTag/kubernetes.io/cluster/${ClusterName}": "owned"},
                  "StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"}`, `"StringEquals": {"aws:ResourceTag/kubernetes.io/cluster/${ClusterName}": "owned"}`,
			"cloudformation.yaml: only instances with the owned and a pool's tag are terminated, not a managed node group's: statement TerminateOnlyTailorsInstances allows ec2:TerminateInstances on instance without StringLike aws:ResourceTag/karpenter.sh/nodepool"},
		{"the template differs from iam-policy.json", inTemplate, `::parameter/aws/service/*"`, `::parameter/*"`,
			"statement 1: iam-policy.json has"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, tpl := policyJSON, template
			target := &p
			if tc.file == inTemplate {
				target = &tpl
			}
			if !strings.Contains(string(*target), tc.old) {
				t.Fatalf("%s has no %q to change", tc.file, tc.old)
			}
			*target = []byte(strings.Replace(string(*target), tc.old, tc.new, 1))
			errs := checkLauncherPolicies(p, tpl)
			if !slices.ContainsFunc(errs, func(err error) bool { return strings.Contains(err.Error(), tc.wantErr) }) {
				t.Errorf("errors %v, want one with %q", errs, tc.wantErr)
			}
		})
	}
}
