package apis_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
)

var (
	nodePools      = karpv1.GroupVersion.WithResource("nodepools")
	nodeClaims     = karpv1.GroupVersion.WithResource("nodeclaims")
	ec2NodeClasses = ec2v1.GroupVersion.WithResource("ec2nodeclasses")
)

func resourceFor(obj *unstructured.Unstructured) (schema.GroupVersionResource, bool) {
	switch obj.GroupVersionKind() {
	case karpv1.GroupVersion.WithKind("NodePool"):
		return nodePools, true
	case karpv1.GroupVersion.WithKind("NodeClaim"):
		return nodeClaims, true
	case ec2v1.GroupVersion.WithKind("EC2NodeClass"):
		return ec2NodeClasses, true
	}
	return schema.GroupVersionResource{}, false
}

// readManifests splits a multi-document YAML file into objects.
func readManifests(t *testing.T, path string) []*unstructured.Unstructured {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var objs []*unstructured.Unstructured
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for {
		obj := &unstructured.Unstructured{}
		if err := dec.Decode(&obj.Object); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			t.Fatalf("decoding %s: %v", path, err)
		}
		if len(obj.Object) > 0 {
			objs = append(objs, obj)
		}
	}
	return objs
}

// TestSeedManifestsApplyUnchanged applies every file of the guide with
// server-side apply and checks that each field reads back as written, both
// raw and through Tailor's Go types (which the scheduler and launcher use).
func TestSeedManifestsApplyUnchanged(t *testing.T) {
	files, err := filepath.Glob("../manifests/examples/*.yaml")
	if err != nil || len(files) != 8 {
		t.Fatalf("want the 8 seed manifests in manifests/examples, found %d (%v)", len(files), err)
	}
	ctx := context.Background()
	applied := 0
	for _, file := range files {
		for _, obj := range readManifests(t, file) {
			gvr, ours := resourceFor(obj)
			if !ours {
				continue // the inflate Deployment is for the walkthrough, not the CRDs
			}
			t.Run(filepath.Base(file)+"/"+obj.GetName(), func(t *testing.T) {
				// The pools in 02 and 07 share a name; apply each to a fresh object.
				name := obj.GetName()
				defer func() { _ = client.Resource(gvr).Delete(ctx, name, metav1.DeleteOptions{}) }()
				body, err := json.Marshal(obj.Object)
				if err != nil {
					t.Fatal(err)
				}
				force := true
				got, err := client.Resource(gvr).Patch(ctx, name, types.ApplyPatchType, body, metav1.PatchOptions{FieldManager: "seed-test", Force: &force})
				if err != nil {
					t.Fatalf("server-side apply of %s refused: %v", file, err)
				}
				if diff := missing(obj.Object, got.Object, "", sameText); len(diff) > 0 {
					t.Errorf("read back without: %s", strings.Join(diff, "; "))
				}
				typed, err := roundTripTyped(got)
				if err != nil {
					t.Fatal(err)
				}
				// Go's quantity and duration types print their canonical forms
				// ("1k" for "1000", "1h0m0s" for "1h"): same value, other text.
				if diff := missing(obj.Object, typed, "", sameValue); len(diff) > 0 {
					t.Errorf("the Go types lose: %s", strings.Join(diff, "; "))
				}
			})
			applied++
		}
	}
	if applied != 10 {
		t.Errorf("applied %d objects, want the guide's 10 NodePools and EC2NodeClasses", applied)
	}
}

// roundTripTyped decodes an object into its Go type and encodes it again.
func roundTripTyped(u *unstructured.Unstructured) (map[string]interface{}, error) {
	var typed runtime.Object
	switch u.GetKind() {
	case "NodePool":
		typed = &karpv1.NodePool{}
	case "EC2NodeClass":
		typed = &ec2v1.EC2NodeClass{}
	default:
		return nil, fmt.Errorf("unexpected kind %s", u.GetKind())
	}
	raw, err := json.Marshal(u.Object)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(raw, typed); err != nil {
		return nil, fmt.Errorf("decoding %s into its Go type: %w", u.GetKind(), err)
	}
	raw, err = json.Marshal(typed)
	if err != nil {
		return nil, err
	}
	out := map[string]interface{}{}
	return out, json.Unmarshal(raw, &out)
}

// missing lists the paths of want whose value is absent or different in got,
// leaves compared by equal.
func missing(want, got interface{}, path string, equal func(a, b interface{}) bool) []string {
	switch w := want.(type) {
	case map[string]interface{}:
		g, ok := got.(map[string]interface{})
		if !ok {
			return []string{fmt.Sprintf("%s (got %T)", path, got)}
		}
		var out []string
		for k, v := range w {
			out = append(out, missing(v, g[k], path+"."+k, equal)...)
		}
		return out
	case []interface{}:
		g, ok := got.([]interface{})
		if !ok || len(g) != len(w) {
			return []string{fmt.Sprintf("%s (got %v)", path, got)}
		}
		var out []string
		for i := range w {
			out = append(out, missing(w[i], g[i], fmt.Sprintf("%s[%d]", path, i), equal)...)
		}
		return out
	default:
		if !equal(want, got) {
			return []string{fmt.Sprintf("%s (want %v, got %v)", path, want, got)}
		}
		return nil
	}
}

// sameText: the same JSON value; numbers compare by value, since YAML and
// JSON decoders pick different Go types for them.
func sameText(a, b interface{}) bool {
	return (a == nil) == (b == nil) && fmt.Sprint(a) == fmt.Sprint(b) && sameKind(a, b)
}

// sameValue: sameText, or two strings that are the same quantity or duration.
func sameValue(a, b interface{}) bool {
	if sameText(a, b) {
		return true
	}
	as, aok := a.(string)
	bs, bok := b.(string)
	if !aok || !bok {
		return false
	}
	if qa, err := resource.ParseQuantity(as); err == nil {
		if qb, err := resource.ParseQuantity(bs); err == nil {
			return qa.Cmp(qb) == 0
		}
	}
	da, errA := time.ParseDuration(as)
	db, errB := time.ParseDuration(bs)
	return errA == nil && errB == nil && da == db
}

func sameKind(a, b interface{}) bool {
	isNum := func(v interface{}) bool {
		switch v.(type) {
		case int, int32, int64, float64:
			return true
		}
		return false
	}
	if isNum(a) || isNum(b) {
		return isNum(a) && isNum(b)
	}
	return reflect.TypeOf(a) == reflect.TypeOf(b)
}
