package manager_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tailor-project/tailor/launcher/interruption"
)

// cloudFormationTemplate is the template of manifests/aws.
var cloudFormationTemplate = filepath.Join("..", "..", "manifests", "aws", "cloudformation.yaml")

// launcherQueueActions are the SQS calls the launcher makes, and all the
// SQS it may do.
var launcherQueueActions = []string{"sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:ReceiveMessage"}

// interruptionRules are the events the queue must receive, with the kind
// of message the launcher reads each as.
var interruptionRules = []struct {
	source, detailType string
	kind               interruption.Kind
}{
	{"aws.ec2", "EC2 Spot Instance Interruption Warning", interruption.KindSpotInterruption},
	{"aws.ec2", "EC2 Instance Rebalance Recommendation", interruption.KindRebalanceRecommendation},
	{"aws.ec2", "EC2 Instance State-change Notification", interruption.KindStateChange},
	{"aws.health", "AWS Health Event", interruption.KindScheduledChange},
}

// readPolicyFile reads an IAM policy of manifests/.
func readPolicyFile(path string) (*iamPolicy, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return policyDocument(v)
}

func actionSet(p *iamPolicy) []string {
	var out []string
	for _, s := range p.Statement {
		out = append(out, s.actions()...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// checkTailor checks what the template is for: the queue as Karpenter's,
// the four rules sending to it, the roles with the launcher's and the
// scheduler's policies (the same actions as their iam-policy.json, the
// launcher's SQS calls on the queue only), bound to their service accounts.
func checkTailor(t *cfnTemplate, launcherPolicy, schedulerPolicy *iamPolicy) []error {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	byType := map[string][]string{}
	for _, name := range sortedKeys(t.resources) {
		typ, _ := t.resources[name]["Type"].(string)
		byType[typ] = append(byType[typ], name)
	}
	props := func(name string) map[string]any { return mapping(t.resources[name]["Properties"]) }

	queues := byType["AWS::SQS::Queue"]
	if len(queues) != 1 {
		return append(errs, fmt.Errorf("%d SQS queues, want one", len(queues)))
	}
	queue := queues[0]
	queueArn := "<" + queue + ".Arn>"
	if q := props(queue); q["MessageRetentionPeriod"] != 300 || q["SqsManagedSseEnabled"] != true {
		fail("queue %s: retention %v, SqsManagedSseEnabled %v; want 300 and true", queue, q["MessageRetentionPeriod"], q["SqsManagedSseEnabled"])
	}

	senders := map[string]bool{}
	for _, name := range byType["AWS::SQS::QueuePolicy"] {
		p := props(name)
		if !slices.ContainsFunc(list(p["Queues"]), func(v any) bool { return mapping(v)["Ref"] == queue }) {
			continue
		}
		doc, err := policyDocument(p["PolicyDocument"])
		if err != nil {
			continue
		}
		for _, s := range doc.Statement {
			if s.Effect == "Allow" && slices.Contains(s.actions(), "sqs:SendMessage") && slices.Equal(s.resources(), []string{queueArn}) {
				for _, svc := range stringsOf(mapping(s.Principal)["Service"]) {
					senders[svc] = true
				}
			}
		}
	}
	for _, svc := range []string{"events.amazonaws.com", "sqs.amazonaws.com"} {
		if !senders[svc] {
			fail("no queue policy lets %s send to %s", svc, queue)
		}
	}

	for _, want := range interruptionRules {
		var found []string
		for _, name := range byType["AWS::Events::Rule"] {
			p := props(name)
			pattern := mapping(p["EventPattern"])
			if !slices.Equal(stringsOf(pattern["source"]), []string{want.source}) || !slices.Equal(stringsOf(pattern["detail-type"]), []string{want.detailType}) {
				continue
			}
			found = append(found, name)
			targets := list(p["Targets"])
			if len(targets) != 1 || !slices.Equal(stringsOf(mapping(targets[0])["Arn"]), []string{queueArn}) {
				fail("rule %s sends to %v, want only %s", name, targets, queue)
			}
			if err := readableBy(want.source, want.detailType, mapping(pattern["detail"]), want.kind); err != nil {
				fail("rule %s: %v", name, err)
			}
		}
		if len(found) != 1 {
			fail("%d rules forward %s from %s, want one", len(found), want.detailType, want.source)
		}
	}

	roleOf := map[string]*iamPolicy{}
	for _, name := range byType["AWS::IAM::ManagedPolicy"] {
		doc, err := policyDocument(props(name)["PolicyDocument"])
		if err != nil {
			continue
		}
		for _, r := range list(props(name)["Roles"]) {
			if role, ok := mapping(r)["Ref"].(string); ok {
				roleOf[role] = doc
			}
		}
	}
	serviceAccountOf := map[string]string{}
	for _, name := range byType["AWS::EKS::PodIdentityAssociation"] {
		p := props(name)
		if arn := stringsOf(p["RoleArn"]); len(arn) == 1 {
			role := strings.TrimSuffix(strings.TrimPrefix(arn[0], "<"), ".Arn>")
			serviceAccountOf[role], _ = p["ServiceAccount"].(string)
		}
	}
	for _, want := range []struct {
		serviceAccount string
		policy         *iamPolicy
	}{{"tailor-launcher", launcherPolicy}, {"tailor-scheduler", schedulerPolicy}} {
		var role string
		for r, sa := range serviceAccountOf {
			if sa == want.serviceAccount {
				role = r
			}
		}
		doc := roleOf[role]
		if role == "" || doc == nil {
			fail("no role with a policy is associated with service account %s", want.serviceAccount)
			continue
		}
		trust, err := policyDocument(props(role)["AssumeRolePolicyDocument"])
		if err != nil || len(trust.Statement) != 1 || !slices.Equal(stringsOf(mapping(trust.Statement[0].Principal)["Service"]), []string{"pods.eks.amazonaws.com"}) ||
			!slices.Equal(trust.Statement[0].actions(), []string{"sts:AssumeRole", "sts:TagSession"}) {
			fail("role %s does not trust EKS Pod Identity (sts:AssumeRole, sts:TagSession): %v", role, err)
		}
		if got, want := actionSet(doc), actionSet(want.policy); !slices.Equal(got, want) {
			fail("role %s may do %v; its iam-policy.json allows %v", role, got, want)
		}
		for _, s := range doc.Statement {
			sqsActions := slices.ContainsFunc(s.actions(), func(a string) bool { return strings.HasPrefix(a, "sqs:") })
			if !sqsActions {
				continue
			}
			got := slices.Sorted(slices.Values(s.actions()))
			if !slices.Equal(got, launcherQueueActions) || !slices.Equal(s.resources(), []string{queueArn}) {
				fail("role %s: statement %s allows %v on %v; want %v on %s only", role, s.Sid, got, s.resources(), launcherQueueActions, queueArn)
			}
		}
	}
	return errs
}

// readableBy builds the events a rule's pattern matches (each value of each
// detail field, the other fields at their first value) and reads them as
// the launcher does.
func readableBy(source, detailType string, detail map[string]any, want interruption.Kind) error {
	if len(detail) == 0 && detailType == "EC2 Instance State-change Notification" {
		return fmt.Errorf("forwards every state change, also pending and running, which ask nothing")
	}
	base := map[string]any{"instance-id": "i-0123456789abcdef0", "affectedEntities": []any{map[string]any{"entityValue": "i-0123456789abcdef0"}}}
	for _, k := range sortedKeys(detail) {
		values := stringsOf(detail[k])
		if len(values) == 0 {
			return fmt.Errorf("detail field %s matches no value", k)
		}
		base[k] = values[0]
	}
	read := func(d map[string]any) (interruption.Message, error) {
		body, _ := json.Marshal(map[string]any{"id": "e", "source": source, "detail-type": detailType, "time": "2026-03-02T10:00:00Z", "detail": d})
		return interruption.Parse(string(body))
	}
	if msg, err := read(base); err != nil || msg.Kind != want {
		return fmt.Errorf("the event it forwards reads as %q (%v), want %q", msg.Kind, err, want)
	}
	for _, k := range sortedKeys(detail) {
		for _, value := range stringsOf(detail[k]) {
			d := maps.Clone(base)
			d[k] = value
			if msg, err := read(d); err != nil || msg.Kind != want {
				return fmt.Errorf("an event with detail %s=%s reads as %q (%v), want %q", k, value, msg.Kind, err, want)
			}
		}
	}
	return nil
}

// checkCFN runs every check on a template's text.
func checkCFN(t *testing.T, data []byte) []error {
	t.Helper()
	launcherPolicy, err := readPolicyFile(filepath.Join(manifestDir, "iam-policy.json"))
	if err != nil {
		t.Fatal(err)
	}
	schedulerPolicy, err := readPolicyFile(filepath.Join("..", "..", "manifests", "scheduler", "iam-policy.json"))
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := parseCFN(data)
	if err != nil {
		return []error{err}
	}
	if errs := tpl.validate(); len(errs) > 0 {
		return errs
	}
	return checkTailor(tpl, launcherPolicy, schedulerPolicy)
}

// TestCloudFormation: manifests/aws/cloudformation.yaml passes every check
// (cfn-lint cannot be installed here; these checks stand in for it), and
// manifests/launcher/iam-policy.json allows the launcher's SQS calls on one
// queue and nothing else of SQS.
func TestCloudFormation(t *testing.T) {
	data, err := os.ReadFile(cloudFormationTemplate)
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range checkCFN(t, data) {
		t.Error(err)
	}

	policy, err := readPolicyFile(filepath.Join(manifestDir, "iam-policy.json"))
	if err != nil {
		t.Fatal(err)
	}
	var sqsStatements int
	for _, s := range policy.Statement {
		if !slices.ContainsFunc(s.actions(), func(a string) bool { return strings.HasPrefix(a, "sqs:") }) {
			continue
		}
		sqsStatements++
		got := slices.Sorted(slices.Values(s.actions()))
		res := s.resources()
		if !slices.Equal(got, launcherQueueActions) || len(res) != 1 || !strings.HasPrefix(res[0], "arn:aws:sqs:") ||
			strings.ContainsAny(res[0][strings.LastIndex(res[0], ":")+1:], "*?") {
			t.Errorf("iam-policy.json statement %s allows %v on %v; want %v on one queue", s.Sid, got, res, launcherQueueActions)
		}
	}
	if sqsStatements != 1 {
		t.Errorf("iam-policy.json has %d statements about SQS, want one", sqsStatements)
	}
}

// TestCloudFormationChecksFail: each check catches the mistake it is for,
// so that TestCloudFormation passing means something.
func TestCloudFormationChecksFail(t *testing.T) {
	data, err := os.ReadFile(cloudFormationTemplate)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, old, new, wantErr string
	}{
		{"unknown tag", "Resource: !GetAtt InterruptionQueue.Arn", "Resource: !GetAttr InterruptionQueue.Arn", "unknown tag !GetAttr"},
		{"function in a key", "aws:SecureTransport: \"false\"", "!Sub aws:SecureTransport: \"false\"", "a key cannot be an intrinsic function"},
		{"Ref to nothing", "- !Ref LauncherRole", "- !Ref LaunchRole", `Ref to unknown "LaunchRole"`},
		{"attribute a type lacks", "RoleArn: !GetAtt LauncherRole.Arn", "RoleArn: !GetAtt LauncherRole.Name", "has no attribute Name"},
		{"Sub variable of nothing", "role/${NodeRole}", "role/${NodeRoles}", "${NodeRoles} names nothing"},
		{"If on no condition", "- DefaultNodeRole\n", "- DefaultRole\n", `unknown condition "DefaultRole"`},
		{"missing required property", "      ServiceAccount: tailor-scheduler\n", "", "lacks required property ServiceAccount"},
		{"unknown property", "SqsManagedSseEnabled: true", "SqsManagedSSEEnabled: true", "unknown property SqsManagedSSEEnabled"},
		{"unknown type", "Type: AWS::SQS::QueuePolicy", "Type: AWS::SQS::QueuePolicies", `unknown type "AWS::SQS::QueuePolicies"`},
		{"policy that is not JSON", `"Sid": "ReadTheInterruptionQueue",`, `"Sid": "ReadTheInterruptionQueue"`, "not a policy document"},
		{"retention", "MessageRetentionPeriod: 300", "MessageRetentionPeriod: 345600", "retention 345600"},
		{"no SSE", "SqsManagedSseEnabled: true", "SqsManagedSseEnabled: false", "SqsManagedSseEnabled false"},
		{"SQS may not send", "                - sqs.amazonaws.com\n", "", "no queue policy lets sqs.amazonaws.com send"},
		{"a rule missing", "- EC2 Instance Rebalance Recommendation", "- EC2 Instance Rebalance Recommendations", "0 rules forward EC2 Instance Rebalance Recommendation"},
		{"every state change", "        detail:\n          state:\n            - stopping\n            - stopped\n            - shutting-down\n            - terminated\n", "", "also pending and running"},
		{"a state the launcher ignores", "            - terminated\n", "            - terminated\n            - running\n", `detail state=running reads as "no-op"`},
		{"health events of every service", "          service:\n            - EC2\n", "", "reads as \"no-op\""},
		{"queue permission missing", `"sqs:GetQueueUrl", `, "", "allows [sqs:DeleteMessage sqs:GetQueueAttributes sqs:ReceiveMessage]"},
		{"queue permission on every queue", `"Resource": "${InterruptionQueue.Arn}"`, `"Resource": "*"`, "on [*]"},
		{"scheduler without a role", "      ServiceAccount: tailor-scheduler", "      ServiceAccount: someone-else", "associated with service account tailor-scheduler"},
		{"launcher may do more than its iam-policy.json", `"pricing:GetProducts"
                ],`, `"pricing:GetProducts", "ec2:DeleteSubnet"
                ],`, "ec2:DeleteSubnet"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(string(data), tc.old) {
				t.Fatalf("the template has no %q to change", tc.old)
			}
			changed := strings.Replace(string(data), tc.old, tc.new, 1)
			errs := checkCFN(t, []byte(changed))
			if !slices.ContainsFunc(errs, func(err error) bool { return strings.Contains(err.Error(), tc.wantErr) }) {
				t.Errorf("errors %v, want one with %q", errs, tc.wantErr)
			}
		})
	}
}
