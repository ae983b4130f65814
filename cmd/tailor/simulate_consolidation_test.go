package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tailor-project/tailor/plugin/disruption"
)

// The seed's NodePool and EC2NodeClass, with three of the pool's nodes.
var seedFiles = []string{
	"-f", "../../manifests/examples/01-nodepool-basic.yaml",
	"-f", "../../manifests/examples/03-ec2nodeclass-complete.yaml",
}

// quietHour is a Wednesday 03:00 UTC: outside the seed pool's "0 nodes"
// budget, Monday to Friday 09:00-10:00 UTC.
const quietHour = "2026-12-02T03:00:00Z"

func simulateConsolidation(t *testing.T, fixture string, extra ...string) (string, string) {
	t.Helper()
	args := append([]string{"simulate", "--consolidation"}, seedFiles...)
	args = append(args, "-f", "testdata/"+fixture)
	stdout, stderr, err := runTailor(t, append(args, extra...)...)
	if err != nil {
		t.Fatalf("tailor %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	return stdout, stderr
}

// row finds the table row that starts with the given cells.
func row(t *testing.T, table string, cells ...string) string {
	t.Helper()
	for _, line := range strings.Split(table, "\n") {
		fields := strings.Fields(line)
		if len(fields) >= len(cells) && strings.Join(fields[:len(cells)], " ") == strings.Join(cells, " ") {
			return line
		}
	}
	t.Fatalf("no row %q in:\n%s", cells, table)
	return ""
}

// TestSimulateConsolidationDeletes: node-b's pod fits on the other nodes,
// by the plugin's own plan, so single-node consolidation deletes it; node-a
// could go too, but the pool's budget (10% of 3 nodes) lets one go at a
// time; node-c runs a do-not-disrupt pod.
func TestSimulateConsolidationDeletes(t *testing.T) {
	stdout, _ := simulateConsolidation(t, "consolidation-seed.yaml", "--at", quietHour)
	if d := strings.Fields(row(t, stdout, "delete", "single-node", "node-b")); strings.Join(d[len(d)-2:], " ") != "0.0960 0.0000" {
		t.Errorf("node-b's decision is not $0.0960/h to nothing: %q", d)
	}
	for _, line := range strings.Split(stdout, "\n") {
		if f := strings.Fields(line); len(f) > 0 && (f[0] == "delete" || f[0] == "replace") && !strings.Contains(line, "node-b") {
			t.Errorf("a decision besides node-b's: %q", line)
		}
	}
	if k := row(t, stdout, "node-c", "default"); !strings.Contains(k, "pod default/db-0 is annotated karpenter.sh/do-not-disrupt") {
		t.Errorf("node-c kept for another reason: %q", k)
	}
	if k := row(t, stdout, "node-a", "default"); !strings.Contains(k, "could also go on its own (single-node delete, $0.0960/h → $0.0000/h)") {
		t.Errorf("node-a kept for another reason: %q", k)
	}
	for _, want := range []string{
		"Fleet: $0.2880/h now, $0.1920/h after these decisions",
		"The files give no NodeClaim for nodes node-a, node-b, node-c",
		"NodePool default's budget lets 1 go now",
		"a delete takes its nodes away at once",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
}

// TestSimulateConsolidationFilters: with node-c tainted for the database
// and the web pods apart by anti-affinity, node-b's pod fits on neither
// other node (TaintToleration, InterPodAffinity): node-b is replaced by a
// cheaper node instead of deleted.
func TestSimulateConsolidationFilters(t *testing.T) {
	stdout, _ := simulateConsolidation(t, "consolidation-seed-filters.yaml", "--at", quietHour, "-o", "json")
	var got consolidationReport
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, stdout)
	}
	if len(got.Decisions) != 1 {
		t.Fatalf("decisions %+v, want node-b's replacement", got.Decisions)
	}
	d := got.Decisions[0]
	if d.Kind != disruption.KindReplace || d.Method != disruption.MethodSingleNode || strings.Join(d.NodeClaims, ",") != "node-b" ||
		d.Replacement == nil || len(d.Replacement.InstanceTypes) == 0 || d.After <= 0 || d.After > d.Before*0.95 ||
		strings.Join(d.Replacement.Pods, ",") != "default/web-3" {
		t.Errorf("decision %+v (replacement %+v), want node-b replaced by a node at least 5%% cheaper for default/web-3", d, d.Replacement)
	}
	kept := map[string]disruption.Kept{}
	for _, k := range got.Kept {
		kept[k.NodeClaim] = k
	}
	if a := kept["node-a"].Alone; a == nil || a.Kind != disruption.KindReplace {
		t.Errorf("node-a kept as %+v, want one that could be replaced on its own", kept["node-a"])
	}
	if !got.AssumeSettled || len(got.SynthesizedNodeClaims) != 3 {
		t.Errorf("assumeSettled %v, synthesized %v", got.AssumeSettled, got.SynthesizedNodeClaims)
	}
}

// TestSimulateConsolidationEmptyThenReplace: the empty node goes first; with
// it gone, the big node's one pod moves to a cheaper replacement.
func TestSimulateConsolidationEmptyThenReplace(t *testing.T) {
	stdout, _, err := runTailor(t, "simulate", "--consolidation", "-f", "../../manifests/examples/03-ec2nodeclass-complete.yaml",
		"-f", "testdata/consolidation-replace.yaml", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var got consolidationReport
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, stdout)
	}
	var decisions []string
	for _, d := range got.Decisions {
		decisions = append(decisions, d.Kind+" "+d.Method+" "+strings.Join(d.NodeClaims, ","))
	}
	want := []string{"delete empty node-empty", "replace single-node node-big"}
	if strings.Join(decisions, "; ") != strings.Join(want, "; ") {
		t.Fatalf("decisions %q, want %q", decisions, want)
	}
	if r := got.Decisions[1].Replacement; r == nil || r.NodePool != "general" || strings.Join(r.CapacityTypes, ",") != "on-demand" {
		t.Errorf("replacement %+v, want an on-demand node of pool general", r)
	}
	if got.FleetPriceAfter >= got.FleetPrice-0.096-0.384*0.05 {
		t.Errorf("fleet $%.4f/h → $%.4f/h: less than the empty node and minSavings saved", got.FleetPrice, got.FleetPriceAfter)
	}
}

// TestSimulateConsolidationBudgetWindow: in the seed pool's Monday-Friday
// 09:00 budget of 0 nodes, nothing goes, and every candidate says so.
func TestSimulateConsolidationBudgetWindow(t *testing.T) {
	stdout, _ := simulateConsolidation(t, "consolidation-seed.yaml", "--at", "2026-12-02T09:30:00Z")
	if !strings.Contains(stdout, "No decision: the disruption loop would keep every node.") {
		t.Errorf("a decision in the budget window:\n%s", stdout)
	}
	for _, node := range []string{"node-a", "node-b"} {
		if k := row(t, stdout, node, "default"); !strings.Contains(k, "NodePool default's disruption budget for reason Underutilized allows no more nodes to go now") {
			t.Errorf("%s kept for another reason: %q", node, k)
		}
	}
}

// TestSimulateConsolidationNotSettled: without --assume-settled, claims
// from files have no Consolidatable condition, and nothing goes.
func TestSimulateConsolidationNotSettled(t *testing.T) {
	stdout, _ := simulateConsolidation(t, "consolidation-seed.yaml", "--at", quietHour, "--assume-settled=false")
	if k := row(t, stdout, "node-b", "default"); !strings.Contains(k, "not Consolidatable") {
		t.Errorf("node-b kept for another reason: %q", k)
	}
	if !strings.Contains(stdout, "No decision") {
		t.Errorf("a decision without settled nodes:\n%s", stdout)
	}
}

func TestSimulateConsolidationErrors(t *testing.T) {
	pool := "../../manifests/examples/01-nodepool-basic.yaml"
	nodes := "testdata/consolidation-seed.yaml"
	service := writeFiles(t, [2]string{"svc.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: s}\n"})[0]
	garbage := writeFiles(t, [2]string{"kubeconfig", "this is: [not a kubeconfig"})[0]
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{name: "unknown kind", args: []string{"-f", pool, "-f", service}, want: `v1 "Service" is not a Node, Pod, NodePool, EC2NodeClass, NodeClaim, PodDisruptionBudget or DaemonSet`},
		{name: "no pool", args: []string{"-f", nodes}, want: "the files hold no NodePool"},
		{name: "missing file", args: []string{"-f", "/nonexistent.yaml"}, want: "reading manifests"},
		{name: "missing kubeconfig", args: []string{"--kubeconfig", "/nonexistent/kubeconfig"}, want: "reading the kubeconfig"},
		{name: "unreadable kubeconfig", args: []string{"--kubeconfig", garbage}, want: "reading the kubeconfig"},
		{name: "files and kubeconfig", args: []string{"-f", pool, "--kubeconfig", garbage}, want: "either -f files or --kubeconfig"},
		{name: "bad time", args: []string{"-f", pool, "--at", "tomorrow"}, want: `--at "tomorrow"`},
		{name: "bad output", args: []string{"-f", pool, "-o", "xml"}, want: `unknown output format "xml"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := runTailor(t, append([]string{"simulate", "--consolidation"}, tc.args...)...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// TestReadOnlyTransport: reads reach the cluster, writes never leave.
func TestReadOnlyTransport(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = append(got, r.Method) }))
	defer srv.Close()
	c := &http.Client{Transport: readOnly{http.DefaultTransport}}
	for _, method := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		req, err := http.NewRequest(method, srv.URL+"/api/v1/nodes", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := c.Do(req)
		if method == http.MethodGet {
			if err != nil {
				t.Fatalf("GET refused: %v", err)
			}
			resp.Body.Close()
			continue
		}
		if err == nil || !strings.Contains(err.Error(), "read-only") {
			t.Errorf("%s: %v, want refused", method, err)
		}
	}
	if strings.Join(got, ",") != "GET" {
		t.Errorf("the server saw %v, want only GET", got)
	}
}
