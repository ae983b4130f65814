package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// seedBasicPool is the guide's basic NodePool (01-nodepool-basic.yaml).
const seedBasicPool = `apiVersion: karpenter.sh/v1
kind: NodePool
metadata:
  name: default
spec:
  template:
    spec:
      requirements:
        - {key: karpenter.k8s.aws/instance-category, operator: In, values: ['c', 'm', 'r']}
        - {key: karpenter.k8s.aws/instance-generation, operator: Gt, values: ['5']}
        - {key: karpenter.sh/capacity-type, operator: In, values: ['on-demand', 'spot']}
      nodeClassRef: {group: karpenter.k8s.aws, kind: EC2NodeClass, name: default}
`

const inflateDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: inflate
spec:
  replicas: 10
  selector:
    matchLabels: {app: inflate}
  template:
    metadata:
      labels: {app: inflate}
    spec:
      containers:
      - name: inflate
        image: pause
        resources:
          requests: {cpu: '1', memory: 1Gi}
`

const hugePod = `apiVersion: v1
kind: Pod
metadata:
  name: huge
spec:
  containers:
  - name: c
    image: pause
    resources:
      requests: {cpu: '500', memory: 1Gi}
`

func TestSimulateCommandJSON(t *testing.T) {
	files := writeFiles(t, [2]string{"pool.yaml", seedBasicPool}, [2]string{"pods.yaml", inflateDeployment + "---\n" + hugePod})
	stdout, _, err := runTailor(t, "simulate", "-f", files[0], "-f", files[1], "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var got simulation
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, stdout)
	}
	seen := map[string]bool{}
	sum := 0.0
	for _, c := range got.NodeClaims {
		sum += c.HourlyPrice
		if c.NodePool != "default" || len(c.InstanceTypes) == 0 || c.HourlyPrice <= 0 {
			t.Errorf("claim %+v", c)
		}
		for _, p := range c.Pods {
			if seen[p] {
				t.Errorf("pod %s on two claims", p)
			}
			seen[p] = true
		}
	}
	if len(seen) != 10 || len(got.NodeClaims) >= 10 || len(got.NodeClaims) == 0 {
		t.Errorf("%d pods on %d claims, want the 10 inflate pods on fewer nodes", len(seen), len(got.NodeClaims))
	}
	if diff := sum - got.HourlyPrice; diff > 1e-9 || diff < -1e-9 {
		t.Errorf("claims sum to $%v, total says $%v", sum, got.HourlyPrice)
	}
	if reason := got.Unplaced["default/huge"]; !strings.Contains(reason, "no instance type has room") {
		t.Errorf("the 500-CPU pod's reason is %q", reason)
	}
}

func TestSimulateCommandTable(t *testing.T) {
	files := writeFiles(t, [2]string{"all.yaml", seedBasicPool + "---\n" + inflateDeployment})
	stdout, _, err := runTailor(t, "simulate", "-f", files[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"NODECLAIM  NODEPOOL", "NodeClaims for 10 pods, $", "compiled-in us-east-1 on-demand prices"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
}

func TestSimulateCommandErrors(t *testing.T) {
	pool := writeFiles(t, [2]string{"pool.yaml", seedBasicPool})[0]
	pods := writeFiles(t, [2]string{"pods.yaml", inflateDeployment})[0]
	service := writeFiles(t, [2]string{"svc.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: s}\n"})[0]
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{name: "no file", args: []string{"simulate"}, want: "no -f file given"},
		{name: "no pool", args: []string{"simulate", "-f", pods}, want: "the files hold no NodePool"},
		{name: "no pods", args: []string{"simulate", "-f", pool}, want: "the files hold no pending Pod or Deployment"},
		{name: "unknown kind", args: []string{"simulate", "-f", pool, "-f", service}, want: `v1 "Service" is not a Pod, Deployment, DaemonSet, Node, NodePool or EC2NodeClass`},
		{name: "bad output", args: []string{"simulate", "-f", pool, "-f", pods, "-o", "xml"}, want: `unknown output format "xml"`},
		{name: "missing file", args: []string{"simulate", "-f", "/nonexistent.yaml"}, want: "reading manifests"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := runTailor(t, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}
