package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/plugin/tailor"
	"github.com/tailor-project/tailor/test/controlplane"
)

// TestSimulateConsolidationLive reads a real API server: the seed fixture's
// objects, with a NodeClaim per node that the loop would have marked
// Consolidatable, except node-a's. The dry run deletes node-b, keeps node-a
// as not Consolidatable and node-c for its do-not-disrupt pod, and leaves
// the cluster as it was.
func TestSimulateConsolidationLive(t *testing.T) {
	dir, err := controlplane.BinDir()
	if err != nil {
		t.Skip(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "kube-apiserver")); err != nil {
		t.Skipf("no control plane binaries: %v", err)
	}
	ctx := context.Background()
	cp := controlplane.StartT(t, controlplane.Options{})
	scheme, err := tailor.Scheme()
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cp.Config, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"../../manifests/examples/01-nodepool-basic.yaml", "../../manifests/examples/03-ec2nodeclass-complete.yaml", "testdata/consolidation-seed.yaml"} {
		applyFile(t, c, f)
	}
	for _, node := range []string{"node-a", "node-b", "node-c"} {
		claimForNode(t, c, node, node != "node-a")
	}
	before := claimVersions(t, c)

	stdout, stderr, err := runTailor(t, "simulate", "--consolidation", "--kubeconfig", cp.Kubeconfig, "--at", quietHour)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	row(t, stdout, "delete", "single-node", "claim-node-b", "node-b")
	if k := row(t, stdout, "claim-node-a", "default"); !strings.Contains(k, "not Consolidatable") {
		t.Errorf("claim-node-a kept for another reason: %q", k)
	}
	if k := row(t, stdout, "claim-node-c", "default"); !strings.Contains(k, "pod default/db-0 is annotated karpenter.sh/do-not-disrupt") {
		t.Errorf("claim-node-c kept for another reason: %q", k)
	}
	if !strings.Contains(stdout, "as their claims' Consolidatable condition says") || strings.Contains(stdout, "give no NodeClaim") {
		t.Errorf("live mode read files' assumptions:\n%s", stdout)
	}
	if after := claimVersions(t, c); !equalMaps(before, after) {
		t.Errorf("the dry run changed NodeClaims: %v, then %v", before, after)
	}
	var events corev1.EventList
	if err := c.List(ctx, &events); err != nil {
		t.Fatal(err)
	}
	for _, e := range events.Items {
		if e.InvolvedObject.Kind == "NodeClaim" {
			t.Errorf("the dry run recorded an event: %s %s", e.Reason, e.Message)
		}
	}
}

// applyFile creates every object of a manifest, then writes the nodes'
// status (allocatable), as a kubelet would.
func applyFile(t *testing.T, c client.Client, file string) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); errors.Is(err, io.EOF) {
			return
		} else if err != nil {
			t.Fatal(err)
		}
		if len(u.Object) == 0 {
			continue
		}
		if u.GetNamespace() == "" && u.GetKind() != "Node" && u.GetKind() != "NodePool" && u.GetKind() != "EC2NodeClass" {
			u.SetNamespace("default")
		}
		status, hasStatus := u.Object["status"]
		if err := c.Create(ctx, u); err != nil {
			t.Fatalf("creating %s %s: %v", u.GetKind(), u.GetName(), err)
		}
		if u.GetKind() != "Node" {
			continue
		}
		if hasStatus {
			u.Object["status"] = status
			if err := c.Status().Update(ctx, u); err != nil {
				t.Fatalf("writing the status of node %s: %v", u.GetName(), err)
			}
		}
		// Admission taints a new node not-ready; with no controller-manager
		// here, the test lifts it as the node lifecycle controller would
		// for a Ready node, keeping the fixture's own taints.
		n := &corev1.Node{}
		if err := c.Get(ctx, client.ObjectKey{Name: u.GetName()}, n); err != nil {
			t.Fatal(err)
		}
		var taints []corev1.Taint
		for _, taint := range n.Spec.Taints {
			if taint.Key != corev1.TaintNodeNotReady {
				taints = append(taints, taint)
			}
		}
		n.Spec.Taints = taints
		if err := c.Update(ctx, n); err != nil {
			t.Fatalf("lifting the not-ready taint of node %s: %v", n.Name, err)
		}
	}
}

// claimForNode creates the launched, initialized claim of a node, marked
// Consolidatable when settled.
func claimForNode(t *testing.T, c client.Client, node string, settled bool) {
	t.Helper()
	ctx := context.Background()
	n := &corev1.Node{}
	if err := c.Get(ctx, client.ObjectKey{Name: node}, n); err != nil {
		t.Fatal(err)
	}
	nc := &karpv1.NodeClaim{ObjectMeta: metav1.ObjectMeta{Name: "claim-" + node, Labels: n.Labels}}
	nc.Spec.NodeClassRef = &karpv1.NodeClassReference{Group: "karpenter.k8s.aws", Kind: "EC2NodeClass", Name: "default"}
	nc.Spec.Requirements = []karpv1.NodeSelectorRequirementWithMinValues{{Key: wellknown.InstanceTypeLabel, Operator: corev1.NodeSelectorOpIn, Values: []string{n.Labels[wellknown.InstanceTypeLabel]}}}
	if err := c.Create(ctx, nc); err != nil {
		t.Fatal(err)
	}
	now := metav1.NewTime(time.Now().Add(-time.Hour).Truncate(time.Second))
	nc.Status.NodeName, nc.Status.ProviderID = node, n.Spec.ProviderID
	nc.Status.Conditions = []metav1.Condition{{Type: karpv1.ConditionTypeInitialized, Status: metav1.ConditionTrue, Reason: "Initialized", LastTransitionTime: now}}
	if settled {
		nc.Status.Conditions = append(nc.Status.Conditions, metav1.Condition{Type: karpv1.ConditionTypeConsolidatable, Status: metav1.ConditionTrue, Reason: "Consolidatable", LastTransitionTime: now})
	}
	if err := c.Status().Update(ctx, nc); err != nil {
		t.Fatal(err)
	}
}

func claimVersions(t *testing.T, c client.Client) map[string]string {
	t.Helper()
	var claims karpv1.NodeClaimList
	if err := c.List(context.Background(), &claims); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, nc := range claims.Items {
		out[nc.Name] = nc.ResourceVersion
	}
	return out
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
