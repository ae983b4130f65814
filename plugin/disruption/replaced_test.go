package disruption

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
)

// retiredNow runs finishReplaced over three nodes one initialized
// replacement replaces, in a pool whose budget allows allowed nodes to be
// disrupted at once with already being disrupted, and counts the nodes it
// retired.
func retiredNow(t *testing.T, allowed, already int) int {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := corev1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := karpv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	indexer := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	var objs []client.Object
	var claims []karpv1.NodeClaim
	for _, name := range []string{"a", "b", "c"} {
		node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-" + name}}
		if err := indexer.Add(node); err != nil {
			t.Fatal(err)
		}
		nc := karpv1.NodeClaim{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{wellknown.NodePoolLabel: "default"}},
			Status: karpv1.NodeClaimStatus{NodeName: node.Name}}
		objs = append(objs, node, nc.DeepCopy())
		claims = append(claims, nc)
	}
	replacement := karpv1.NodeClaim{ObjectMeta: metav1.ObjectMeta{Name: "r", Labels: map[string]string{wellknown.NodePoolLabel: "default"},
		Annotations: map[string]string{ReplacementForAnnotation: "a,b,c"}},
		Status: karpv1.NodeClaimStatus{Conditions: []metav1.Condition{{Type: karpv1.ConditionTypeInitialized, Status: metav1.ConditionTrue}}}}
	claims = append(claims, replacement)
	objs = append(objs, replacement.DeepCopy())
	cl := fake.NewClientBuilder().WithScheme(scheme).WithObjects(objs...).Build()
	c := consolidation{Env: Env{Client: cl, Nodes: corelisters.NewNodeLister(indexer), Recorder: events.NewFakeRecorder(10)},
		state: &consolidationState{}}
	f := &fleet{claims: claims, replacements: replacementsOf(claims),
		allowed: map[string]int{"default": allowed}, retiring: map[string]int{"default": already}}
	c.finishReplaced(context.Background(), f)
	retired := 0
	for _, name := range []string{"a", "b", "c"} {
		err := cl.Get(context.Background(), client.ObjectKey{Name: name}, &karpv1.NodeClaim{})
		switch {
		case apierrors.IsNotFound(err):
			retired++
		case err != nil:
			t.Fatal(err)
		}
	}
	return retired
}
