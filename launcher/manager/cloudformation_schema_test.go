package manager_test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// This file checks a CloudFormation template the way cfn-lint would, for
// the parts of CloudFormation Tailor's template uses: YAML with the short
// forms of intrinsic functions, known resource types with their required
// and allowed properties, references that resolve, and IAM policy
// documents that are JSON policies once !Sub has substituted them.

// cfnResourceSchema is what CloudFormation accepts of a resource type.
type cfnResourceSchema struct {
	required   []string
	optional   []string
	attributes []string
}

// cfnSchemas are the resource types the template may use, from the
// CloudFormation resource reference.
var cfnSchemas = map[string]cfnResourceSchema{
	"AWS::SQS::Queue": {
		optional: []string{"ContentBasedDeduplication", "DeduplicationScope", "DelaySeconds", "FifoQueue", "FifoThroughputLimit",
			"KmsDataKeyReusePeriodSeconds", "KmsMasterKeyId", "MaximumMessageSize", "MessageRetentionPeriod", "QueueName",
			"ReceiveMessageWaitTimeSeconds", "RedriveAllowPolicy", "RedrivePolicy", "SqsManagedSseEnabled", "Tags", "VisibilityTimeout"},
		attributes: []string{"Arn", "QueueName", "QueueUrl"},
	},
	"AWS::SQS::QueuePolicy": {required: []string{"PolicyDocument", "Queues"}, attributes: []string{"Id"}},
	"AWS::Events::Rule": {
		optional:   []string{"Description", "EventBusName", "EventPattern", "Name", "RoleArn", "ScheduleExpression", "State", "Targets"},
		attributes: []string{"Arn"},
	},
	"AWS::IAM::Role": {
		required:   []string{"AssumeRolePolicyDocument"},
		optional:   []string{"Description", "ManagedPolicyArns", "MaxSessionDuration", "Path", "PermissionsBoundary", "Policies", "RoleName", "Tags"},
		attributes: []string{"Arn", "RoleId"},
	},
	"AWS::IAM::ManagedPolicy": {
		required:   []string{"PolicyDocument"},
		optional:   []string{"Description", "Groups", "ManagedPolicyName", "Path", "Roles", "Users"},
		attributes: []string{"PolicyArn"},
	},
	"AWS::EKS::PodIdentityAssociation": {
		required:   []string{"ClusterName", "Namespace", "RoleArn", "ServiceAccount"},
		optional:   []string{"Tags"},
		attributes: []string{"AssociationArn", "AssociationId"},
	},
}

// cfnPseudoParameters can be referenced without being declared.
var cfnPseudoParameters = []string{"AWS::AccountId", "AWS::NotificationARNs", "AWS::NoValue", "AWS::Partition", "AWS::Region",
	"AWS::StackId", "AWS::StackName", "AWS::URLSuffix"}

// cfnFunctions are the intrinsic functions a short tag may name.
var cfnFunctions = []string{"Base64", "Cidr", "Equals", "FindInMap", "GetAtt", "GetAZs", "If", "ImportValue", "Join", "Not", "And",
	"Or", "Select", "Split", "Sub", "Length", "ToJsonString"}

var cfnTopLevel = []string{"AWSTemplateFormatVersion", "Description", "Metadata", "Parameters", "Rules", "Mappings", "Conditions",
	"Transform", "Resources", "Outputs"}

var cfnParameterTypes = []string{"String", "Number", "List<Number>", "CommaDelimitedList", "AWS::EC2::VPC::Id", "AWS::EC2::Subnet::Id"}

// cfnTemplate is a template read into plain values, intrinsic functions in
// their long form ({"Ref": x}, {"Fn::Sub": x}).
type cfnTemplate struct {
	raw        map[string]any
	parameters map[string]any
	conditions map[string]any
	resources  map[string]map[string]any
}

// parseCFN reads a template, turning short tags into long forms.
func parseCFN(data []byte) (*cfnTemplate, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	v, err := cfnValue(&doc)
	if err != nil {
		return nil, err
	}
	raw, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("the template is a %T, not a mapping", v)
	}
	t := &cfnTemplate{raw: raw, parameters: mapping(raw["Parameters"]), conditions: mapping(raw["Conditions"]), resources: map[string]map[string]any{}}
	for name, r := range mapping(raw["Resources"]) {
		m, ok := r.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("resource %s is a %T, not a mapping", name, r)
		}
		t.resources[name] = m
	}
	return t, nil
}

func mapping(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// cfnValue converts a node; a tagged node becomes the function it names.
func cfnValue(n *yaml.Node) (any, error) {
	var v any
	switch n.Kind {
	case yaml.DocumentNode:
		return cfnValue(n.Content[0])
	case yaml.AliasNode:
		return cfnValue(n.Alias)
	case yaml.ScalarNode:
		if strings.HasPrefix(n.Tag, "!!") {
			if err := n.Decode(&v); err != nil {
				return nil, err
			}
		} else {
			v = n.Value
		}
	case yaml.SequenceNode:
		list := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			cv, err := cfnValue(c)
			if err != nil {
				return nil, err
			}
			list = append(list, cv)
		}
		v = list
	case yaml.MappingNode:
		m := map[string]any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind != yaml.ScalarNode || !strings.HasPrefix(k.Tag, "!!") {
				return nil, fmt.Errorf("line %d: a key cannot be an intrinsic function (%s): CloudFormation substitutes nothing in keys", k.Line, k.Tag)
			}
			if _, dup := m[k.Value]; dup {
				return nil, fmt.Errorf("line %d: key %s twice", k.Line, k.Value)
			}
			cv, err := cfnValue(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m[k.Value] = cv
		}
		v = m
	}
	if strings.HasPrefix(n.Tag, "!!") || n.Tag == "" {
		return v, nil
	}
	name := strings.TrimPrefix(n.Tag, "!")
	switch {
	case name == "Ref" || name == "Condition":
		return map[string]any{name: v}, nil
	case name == "GetAtt":
		if s, ok := v.(string); ok {
			res, attr, found := strings.Cut(s, ".")
			if !found {
				return nil, fmt.Errorf("line %d: !GetAtt %s names no attribute", n.Line, s)
			}
			v = []any{res, attr}
		}
		return map[string]any{"Fn::GetAtt": v}, nil
	case slices.Contains(cfnFunctions, name):
		return map[string]any{"Fn::" + name: v}, nil
	}
	return nil, fmt.Errorf("line %d: unknown tag %s", n.Line, n.Tag)
}

// validate checks the template's structure and references.
func (t *cfnTemplate) validate() []error {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	for k := range t.raw {
		if !slices.Contains(cfnTopLevel, k) {
			fail("unknown top-level section %s", k)
		}
	}
	if t.raw["AWSTemplateFormatVersion"] != "2010-09-09" {
		fail("AWSTemplateFormatVersion is %v, want 2010-09-09", t.raw["AWSTemplateFormatVersion"])
	}
	if len(t.resources) == 0 {
		fail("no resources")
	}
	logicalID := regexp.MustCompile(`^[A-Za-z0-9]+$`)
	for name, p := range t.parameters {
		if typ, _ := mapping(p)["Type"].(string); !slices.Contains(cfnParameterTypes, typ) {
			fail("parameter %s has type %q", name, typ)
		}
	}
	for _, name := range sortedKeys(t.resources) {
		r := t.resources[name]
		if !logicalID.MatchString(name) {
			fail("resource name %s is not alphanumeric", name)
		}
		typ, _ := r["Type"].(string)
		schema, ok := cfnSchemas[typ]
		if !ok {
			fail("resource %s has unknown type %q", name, typ)
			continue
		}
		for k := range r {
			if !slices.Contains([]string{"Type", "Properties", "DependsOn", "Condition", "DeletionPolicy", "UpdateReplacePolicy", "Metadata"}, k) {
				fail("resource %s: unknown attribute %s", name, k)
			}
		}
		props := mapping(r["Properties"])
		for _, req := range schema.required {
			if _, ok := props[req]; !ok {
				fail("resource %s (%s) lacks required property %s", name, typ, req)
			}
		}
		for k := range props {
			if !slices.Contains(schema.required, k) && !slices.Contains(schema.optional, k) {
				fail("resource %s (%s): unknown property %s", name, typ, k)
			}
		}
		if typ == "AWS::Events::Rule" && props["EventPattern"] == nil && props["ScheduleExpression"] == nil {
			fail("rule %s has neither EventPattern nor ScheduleExpression", name)
		}
		for i, target := range list(props["Targets"]) {
			if m := mapping(target); m["Id"] == nil || m["Arn"] == nil {
				fail("rule %s: target %d lacks Id or Arn", name, i)
			}
		}
	}
	errs = append(errs, t.checkReferences("Resources", t.raw["Resources"], nil)...)
	errs = append(errs, t.checkReferences("Outputs", t.raw["Outputs"], nil)...)
	errs = append(errs, t.checkReferences("Conditions", t.raw["Conditions"], nil)...)
	for _, name := range sortedKeys(t.resources) {
		props := mapping(t.resources[name]["Properties"])
		for _, key := range []string{"PolicyDocument", "AssumeRolePolicyDocument"} {
			if doc, ok := props[key]; ok {
				if _, err := policyDocument(doc); err != nil {
					fail("resource %s: %s: %v", name, key, err)
				}
			}
		}
	}
	return errs
}

// checkReferences walks a value and reports every Ref, GetAtt, Sub variable
// and If condition that names nothing. vars are the names a Sub's map
// defines.
func (t *cfnTemplate) checkReferences(path string, v any, vars map[string]any) []error {
	var errs []error
	switch x := v.(type) {
	case []any:
		for i, e := range x {
			errs = append(errs, t.checkReferences(fmt.Sprintf("%s[%d]", path, i), e, vars)...)
		}
	case map[string]any:
		if len(x) == 1 {
			for fn, arg := range x {
				switch fn {
				case "Ref":
					name, _ := arg.(string)
					if !t.defined(name, vars) {
						errs = append(errs, fmt.Errorf("%s: Ref to unknown %q", path, name))
					}
					return errs
				case "Fn::GetAtt":
					parts := list(arg)
					if len(parts) != 2 {
						return append(errs, fmt.Errorf("%s: GetAtt of %v", path, arg))
					}
					res, _ := parts[0].(string)
					attr, _ := parts[1].(string)
					if err := t.checkGetAtt(res, attr); err != nil {
						errs = append(errs, fmt.Errorf("%s: %w", path, err))
					}
					return errs
				case "Fn::Sub":
					return append(errs, t.checkSub(path, arg)...)
				case "Fn::If":
					args := list(arg)
					if len(args) != 3 {
						return append(errs, fmt.Errorf("%s: If takes a condition and two values", path))
					}
					if cond, _ := args[0].(string); t.conditions[cond] == nil {
						errs = append(errs, fmt.Errorf("%s: If on unknown condition %q", path, cond))
					}
					return append(errs, t.checkReferences(path, args[1:], vars)...)
				}
			}
		}
		for _, k := range sortedKeys(x) {
			errs = append(errs, t.checkReferences(path+"."+k, x[k], vars)...)
		}
	}
	return errs
}

func (t *cfnTemplate) defined(name string, vars map[string]any) bool {
	_, param := t.parameters[name]
	_, res := t.resources[name]
	_, v := vars[name]
	return param || res || v || slices.Contains(cfnPseudoParameters, name)
}

func (t *cfnTemplate) checkGetAtt(res, attr string) error {
	r, ok := t.resources[res]
	if !ok {
		return fmt.Errorf("GetAtt of unknown resource %q", res)
	}
	typ, _ := r["Type"].(string)
	if !slices.Contains(cfnSchemas[typ].attributes, attr) {
		return fmt.Errorf("GetAtt %s.%s: %s has no attribute %s", res, attr, typ, attr)
	}
	return nil
}

var subVariable = regexp.MustCompile(`\$\{([^}!][^}]*)\}`)

// checkSub checks the variables of a Sub: parameters, resources (and their
// attributes), pseudo parameters and those of its own map.
func (t *cfnTemplate) checkSub(path string, arg any) []error {
	text, vars, err := subArgs(arg)
	if err != nil {
		return []error{fmt.Errorf("%s: %w", path, err)}
	}
	var errs []error
	for _, k := range sortedKeys(vars) {
		errs = append(errs, t.checkReferences(path+"."+k, vars[k], nil)...)
	}
	for _, m := range subVariable.FindAllStringSubmatch(text, -1) {
		name := m[1]
		if res, attr, ok := strings.Cut(name, "."); ok {
			if err := t.checkGetAtt(res, attr); err != nil {
				errs = append(errs, fmt.Errorf("%s: ${%s}: %w", path, name, err))
			}
			continue
		}
		if !t.defined(name, vars) {
			errs = append(errs, fmt.Errorf("%s: ${%s} names nothing", path, name))
		}
	}
	return errs
}

// subArgs splits a Sub's argument: a string, or a string and a map.
func subArgs(arg any) (string, map[string]any, error) {
	if s, ok := arg.(string); ok {
		return s, nil, nil
	}
	args := list(arg)
	if len(args) != 2 {
		return "", nil, fmt.Errorf("Sub of %T", arg)
	}
	s, ok := args[0].(string)
	vars, okVars := args[1].(map[string]any)
	if !ok || !okVars {
		return "", nil, fmt.Errorf("Sub takes a string and a map")
	}
	return s, vars, nil
}

// iamPolicy is the part of an IAM policy document the checks read.
type iamPolicy struct {
	Version   string
	Statement []iamStatement
}

type iamStatement struct {
	Sid       string
	Effect    string
	Principal any
	Action    any
	Resource  any
	Condition map[string]map[string]any
}

func (s iamStatement) actions() []string   { return stringsOf(s.Action) }
func (s iamStatement) resources() []string { return stringsOf(s.Resource) }

// policyDocument reads a policy document: a mapping, or JSON under Sub, in
// which every ${X} reads <X> so that the result can be compared.
func policyDocument(v any) (*iamPolicy, error) {
	var raw []byte
	if m := mapping(v); m != nil && m["Fn::Sub"] != nil {
		text, _, err := subArgs(m["Fn::Sub"])
		if err != nil {
			return nil, err
		}
		raw = []byte(subVariable.ReplaceAllString(text, "<$1>"))
	} else {
		var err error
		if raw, err = json.Marshal(v); err != nil {
			return nil, err
		}
	}
	var p iamPolicy
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("not a policy document: %w", err)
	}
	if p.Version != "2012-10-17" || len(p.Statement) == 0 {
		return nil, fmt.Errorf("version %q with %d statements", p.Version, len(p.Statement))
	}
	for i, s := range p.Statement {
		if s.Effect != "Allow" && s.Effect != "Deny" {
			return nil, fmt.Errorf("statement %d: effect %q", i, s.Effect)
		}
		if len(s.actions()) == 0 {
			return nil, fmt.Errorf("statement %d: no action", i)
		}
		if s.Resource == nil && s.Principal == nil {
			return nil, fmt.Errorf("statement %d: no resource", i)
		}
	}
	return &p, nil
}

// stringsOf reads a string or a list of strings; a GetAtt reads <A.B>.
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
	case map[string]any:
		if parts := list(x["Fn::GetAtt"]); len(parts) == 2 {
			return []string{fmt.Sprintf("<%v.%v>", parts[0], parts[1])}
		}
	}
	return nil
}

func list(v any) []any {
	l, _ := v.([]any)
	return l
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
