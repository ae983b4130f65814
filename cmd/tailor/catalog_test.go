package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const generalPool = `apiVersion: karpenter.sh/v1
kind: NodePool
metadata:
  name: general
spec:
  template:
    spec:
      requirements:
        - key: node.kubernetes.io/instance-type
          operator: In
          values: ['m5.large', 'c5.xlarge', 'm7g.large']
        - key: topology.kubernetes.io/zone
          operator: In
          values: ['us-east-1a']
      nodeClassRef:
        group: karpenter.k8s.aws
        kind: EC2NodeClass
        name: default
`

const defaultClass = `apiVersion: karpenter.k8s.aws/v1
kind: EC2NodeClass
metadata:
  name: default
spec:
  amiSelectorTerms:
    - alias: al2023@latest
  role: KarpenterNodeRole
  subnetSelectorTerms:
    - tags:
        karpenter.sh/discovery: test
  securityGroupSelectorTerms:
    - tags:
        karpenter.sh/discovery: test
  kubelet:
    maxPods: 20
`

// writeFiles writes name -> content into a temporary directory and returns
// the paths in the order given.
func writeFiles(t *testing.T, files ...[2]string) []string {
	t.Helper()
	dir := t.TempDir()
	var paths []string
	for _, f := range files {
		path := filepath.Join(dir, f[0])
		if err := os.WriteFile(path, []byte(f[1]), 0o600); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, path)
	}
	return paths
}

func runTailor(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	root := newRootCommand()
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&errOut)
	err = root.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

// TestCatalogCommandTable checks the offline table for a pool whose class
// caps pods at 20: kube-reserved memory is then 11Mi x 20 + 255Mi = 475Mi,
// so an 8GiB type (7577Mi after the VM overhead) leaves 7577 - 475 - 100 =
// 7002Mi to pods, and 2 vCPU leave 2000m - 70m.
func TestCatalogCommandTable(t *testing.T) {
	files := writeFiles(t, [2]string{"pool.yaml", generalPool}, [2]string{"class.yaml", defaultClass})
	stdout, stderr, err := runTailor(t, "catalog", "-f", files[0], "-f", files[1], "--offline")
	if err != nil {
		t.Fatalf("catalog: %v\n%s", err, stderr)
	}
	want := `NodePool general (EC2NodeClass default): 3 instance types
NAME       VCPU  MEMORY  ALLOCATABLE CPU  ALLOCATABLE MEMORY  MAX PODS  ON-DEMAND $/H  SPOT $/H
c5.xlarge  4     8Gi     3920m            7002Mi              20        0.1700         unknown
m5.large   2     8Gi     1930m            7002Mi              20        0.0960         unknown
m7g.large  2     8Gi     1930m            7002Mi              20        0.0816         unknown

Offline: us-east-1 on-demand prices compiled into tailor; spot prices are unknown offline.
`
	if stdout != want {
		t.Errorf("output\n%s\nwant\n%s", stdout, want)
	}
	if stderr != "" {
		t.Errorf("unexpected warnings: %s", stderr)
	}
}

func TestCatalogCommandJSON(t *testing.T) {
	files := writeFiles(t, [2]string{"all.yaml", generalPool + "---\n" + defaultClass})
	stdout, stderr, err := runTailor(t, "catalog", "-f", files[0], "--offline", "-o", "json")
	if err != nil {
		t.Fatalf("catalog: %v\n%s", err, stderr)
	}
	var got []struct {
		NodePool      string `json:"nodePool"`
		EC2NodeClass  string `json:"ec2NodeClass"`
		InstanceTypes []struct {
			Name     string `json:"name"`
			MaxPods  int64  `json:"maxPods"`
			Cheapest map[string]struct {
				Zone         string   `json:"zone"`
				PricePerHour *float64 `json:"pricePerHour"`
			} `json:"cheapest"`
		} `json:"instanceTypes"`
	}
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, stdout)
	}
	if len(got) != 1 || got[0].NodePool != "general" || got[0].EC2NodeClass != "default" || len(got[0].InstanceTypes) != 3 {
		t.Fatalf("output %s, want the general pool with three types", stdout)
	}
	m5 := got[0].InstanceTypes[1]
	if m5.Name != "m5.large" || m5.MaxPods != 20 {
		t.Errorf("second type %s with %d pods, want m5.large with 20", m5.Name, m5.MaxPods)
	}
	if od := m5.Cheapest["on-demand"]; od.PricePerHour == nil || *od.PricePerHour != 0.096 || od.Zone != "us-east-1a" {
		t.Errorf("on-demand %+v, want 0.096 in us-east-1a", od)
	}
	if spot, ok := m5.Cheapest["spot"]; !ok || spot.PricePerHour != nil {
		t.Errorf("spot %+v (present %t), want present with a null price offline", spot, ok)
	}
}

func TestCatalogCommandMissingClassUsesDefaults(t *testing.T) {
	pool := strings.Replace(generalPool, "name: default", "name: elsewhere", 1)
	files := writeFiles(t, [2]string{"pool.yaml", pool})
	stdout, stderr, err := runTailor(t, "catalog", "-f", files[0], "--offline")
	if err != nil {
		t.Fatalf("catalog: %v", err)
	}
	if !strings.Contains(stderr, "EC2NodeClass elsewhere, which no -f file defines") {
		t.Errorf("stderr %q, want a warning about the missing class", stderr)
	}
	// The defaults: m5.large's ENI limit of 29 pods.
	if !strings.Contains(stdout, "(EC2NodeClass defaults)") || !strings.Contains(stdout, "m5.large   2     8Gi     1930m            6903Mi              29") {
		t.Errorf("output does not size nodes with the defaults:\n%s", stdout)
	}
}

func TestCatalogCommandErrors(t *testing.T) {
	deployment := "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: inflate\n"
	typo := strings.Replace(generalPool, "requirements:", "requirments:", 1)
	files := writeFiles(t,
		[2]string{"deployment.yaml", generalPool + "---\n" + deployment},
		[2]string{"broken.yaml", "apiVersion: karpenter.sh/v1\nkind: NodePool\nmetadata: [\n"},
		[2]string{"class-only.yaml", defaultClass},
		[2]string{"typo.yaml", typo},
	)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no files", []string{"--offline"}, "no files"},
		{"unreadable file", []string{"-f", filepath.Join(t.TempDir(), "missing.yaml"), "--offline"}, "missing.yaml: no such file"},
		{"not a NodePool", []string{"-f", files[0], "--offline"}, `document 2 is apps/v1 "Deployment", not a karpenter.sh/v1 NodePool`},
		{"malformed YAML", []string{"-f", files[1], "--offline"}, "broken.yaml: document 1"},
		{"no NodePool", []string{"-f", files[2], "--offline"}, "no NodePool in"},
		{"unknown field", []string{"-f", files[3], "--offline"}, `unknown field "requirments"`},
		{"bad output", []string{"-f", files[2], "--offline", "-o", "yaml"}, `unknown output format "yaml"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := runTailor(t, append([]string{"catalog"}, tt.args...)...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}
