package apis_test

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
)

// TestDefaults checks what the API server fills in for a pool and a class
// that leave their optional blocks out, as Karpenter users rely on.
func TestDefaults(t *testing.T) {
	ctx := context.Background()
	pool := seedObject(t, "04-nodepool-spot-optimized.yaml", "spot-optimized")
	got, err := client.Resource(nodePools).Create(ctx, pool, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]interface{}{
		"consolidateAfter":    "0s",
		"consolidationPolicy": "WhenEmptyOrUnderutilized",
		"budgets":             []interface{}{map[string]interface{}{"nodes": "10%"}},
	}
	if d, _, _ := unstructured.NestedMap(got.Object, "spec", "disruption"); !reflect.DeepEqual(d, want) {
		t.Errorf("spec.disruption defaulted to %v, want %v", d, want)
	}
	// 04 names no node class: its nodes are built from the class named default.
	wantRef := map[string]interface{}{"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": "default"}
	if ref, _, _ := unstructured.NestedMap(got.Object, "spec", "template", "spec", "nodeClassRef"); !reflect.DeepEqual(ref, wantRef) {
		t.Errorf("spec.template.spec.nodeClassRef defaulted to %v, want %v", ref, wantRef)
	}
	if e, _, _ := unstructured.NestedString(got.Object, "spec", "template", "spec", "expireAfter"); e != "720h" {
		t.Errorf("spec.template.spec.expireAfter defaulted to %q, want 720h", e)
	}

	class := seedObject(t, "03-ec2nodeclass-complete.yaml", "default")
	unstructured.RemoveNestedField(class.Object, "spec", "metadataOptions")
	gotClass, err := client.Resource(ec2NodeClasses).Create(ctx, class, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	if err != nil {
		t.Fatal(err)
	}
	wantMeta := map[string]interface{}{"httpEndpoint": "enabled", "httpProtocolIPv6": "disabled", "httpPutResponseHopLimit": int64(1), "httpTokens": "required"}
	if m, _, _ := unstructured.NestedMap(gotClass.Object, "spec", "metadataOptions"); !reflect.DeepEqual(m, wantMeta) {
		t.Errorf("spec.metadataOptions defaulted to %v, want %v", m, wantMeta)
	}
}

func nodeClaim(name string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]interface{}{
		"apiVersion": "karpenter.sh/v1",
		"kind":       "NodeClaim",
		"metadata": map[string]interface{}{
			"name": name,
			"labels": map[string]interface{}{
				"node.kubernetes.io/instance-type": "m7i.large",
				"karpenter.sh/capacity-type":       "spot",
				"topology.kubernetes.io/zone":      "us-east-1a",
				"karpenter.sh/nodepool":            "default",
			},
		},
		"spec": map[string]interface{}{
			"requirements": []interface{}{requirement("node.kubernetes.io/instance-type", "In", "m7i.large", "m7i.xlarge")},
			"nodeClassRef": map[string]interface{}{"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": "default"},
			"resources":    map[string]interface{}{"requests": map[string]interface{}{"cpu": "1", "memory": "1Gi"}},
		},
	}}
}

// TestNodeClaimSpecIsImmutable: a claim is a decision; changing it would
// leave the launched instance and the claim disagreeing.
func TestNodeClaimSpecIsImmutable(t *testing.T) {
	ctx := context.Background()
	nc, err := client.Resource(nodeClaims).Create(ctx, nodeClaim("immutable"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Resource(nodeClaims).Delete(ctx, "immutable", metav1.DeleteOptions{}) })
	if err := unstructured.SetNestedField(nc.Object, "2", "spec", "resources", "requests", "cpu"); err != nil {
		t.Fatal(err)
	}
	_, err = client.Resource(nodeClaims).Update(ctx, nc, metav1.UpdateOptions{})
	if err == nil || !strings.Contains(err.Error(), "spec is immutable") {
		t.Fatalf("update of a NodeClaim's spec: got %v, want refusal with \"spec is immutable\"", err)
	}
}

// TestPrinterColumns asks the server for the table kubectl prints, so
// `kubectl get nodeclaims` shows what Karpenter's does.
func TestPrinterColumns(t *testing.T) {
	ctx := context.Background()
	if _, err := client.Resource(nodeClaims).Create(ctx, nodeClaim("columns"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Resource(nodeClaims).Delete(ctx, "columns", metav1.DeleteOptions{}) })

	cfg := rest.CopyConfig(cp.Config)
	cfg.GroupVersion = &metav1.SchemeGroupVersion
	cfg.APIPath = "/apis"
	cfg.NegotiatedSerializer = serializer.WithoutConversionCodecFactory{CodecFactory: scheme.Codecs}
	rc, err := rest.RESTClientFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		resource string
		want     []string
		row      []string
	}{
		{resource: "nodeclaims", want: []string{"Name", "Type", "Capacity", "Zone", "Node", "Ready", "Age", "ImageID", "ID", "NodePool", "NodeClass", "Drifted"},
			row: []string{"columns", "m7i.large", "spot", "us-east-1a"}},
		{resource: "nodepools", want: []string{"Name", "NodeClass", "Nodes", "Ready", "Age", "Weight", "CPU", "Memory"}},
		{resource: "ec2nodeclasses", want: []string{"Name", "Ready", "Age", "Role"}},
	} {
		group := "karpenter.sh"
		if tc.resource == "ec2nodeclasses" {
			group = "karpenter.k8s.aws"
		}
		raw, err := rc.Get().AbsPath("/apis", group, "v1", tc.resource).
			SetHeader("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io").DoRaw(ctx)
		if err != nil {
			t.Fatalf("table of %s: %v", tc.resource, err)
		}
		var table metav1.Table
		if err := json.Unmarshal(raw, &table); err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, c := range table.ColumnDefinitions {
			names = append(names, c.Name)
		}
		if !reflect.DeepEqual(names, tc.want) {
			t.Errorf("%s columns = %v, want %v", tc.resource, names, tc.want)
		}
		if tc.row != nil {
			if len(table.Rows) != 1 {
				t.Fatalf("%s: %d rows, want 1", tc.resource, len(table.Rows))
			}
			for i, want := range tc.row {
				if got := table.Rows[0].Cells[i]; got != want {
					t.Errorf("%s column %s = %v, want %v", tc.resource, tc.want[i], got, want)
				}
			}
		}
	}
}
