package gang

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/scheduler-plugins/apis/scheduling/v1alpha1"
)

func pod(name, group string) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ml", UID: types.UID(name), Labels: map[string]string{}}}
	if group != "" {
		p.Labels[Label] = group
	}
	return p
}

func bound(p *corev1.Pod) *corev1.Pod { p.Spec.NodeName = "node-1"; return p }

// source serves the PodGroups and pods given; reserved pods are provided
// for.
func source(t *testing.T, groups []*v1alpha1.PodGroup, pods []*corev1.Pod, reserved ...string) Source {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	b := fake.NewClientBuilder().WithScheme(scheme)
	for _, g := range groups {
		b = b.WithObjects(g)
	}
	indexer := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	for _, p := range pods {
		if err := indexer.Add(p); err != nil {
			t.Fatal(err)
		}
	}
	held := map[types.UID]bool{}
	for _, r := range reserved {
		held[types.UID(r)] = true
	}
	return Source{PodGroups: b.Build(), Pods: corelisters.NewPodLister(indexer), Provided: func(p *corev1.Pod) bool { return held[p.UID] }}
}

func group(name string, min int32, timeout *int32) *v1alpha1.PodGroup {
	return &v1alpha1.PodGroup{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ml"}, Spec: v1alpha1.PodGroupSpec{MinMember: min, ScheduleTimeoutSeconds: timeout}}
}

func names(pods []*corev1.Pod) string {
	var out []string
	for _, p := range pods {
		out = append(out, p.Name)
	}
	return strings.Join(out, ",")
}

func TestSplit(t *testing.T) {
	a0, a1, a2, a3 := pod("a-0", "a"), pod("a-1", "a"), pod("a-2", "a"), pod("a-3", "a")
	plain := pod("web", "")
	orphan := pod("x-0", "x")
	for _, tc := range []struct {
		name     string
		batch    []*corev1.Pod
		cluster  []*corev1.Pod
		reserved []string
		// want: the gang's pending pods, provided count and shortfall.
		wantPlain, wantPending  string
		wantProvided, wantShort int
		wantUnknown             string
	}{
		{name: "whole gang in the batch", batch: []*corev1.Pod{a0, a1, a2, plain}, cluster: []*corev1.Pod{a0, a1, a2, plain},
			wantPlain: "web", wantPending: "a-0,a-1,a-2"},
		{name: "short: a pod not created yet", batch: []*corev1.Pod{a0, a1}, cluster: []*corev1.Pod{a0, a1},
			wantPending: "a-0,a-1", wantShort: 1},
		{name: "a pending sibling outside the batch joins it", batch: []*corev1.Pod{a0, a1}, cluster: []*corev1.Pod{a0, a1, a2},
			wantPending: "a-0,a-1,a-2"},
		{name: "bound and reserved siblings count, are not solved again", batch: []*corev1.Pod{a2}, cluster: []*corev1.Pod{bound(a0.DeepCopy()), a1, a2},
			reserved: []string{"a-1"}, wantPending: "a-2", wantProvided: 2},
		{name: "more pods than minMember", batch: []*corev1.Pod{a0, a1, a2, a3}, cluster: []*corev1.Pod{a0, a1, a2, a3},
			wantPending: "a-0,a-1,a-2,a-3"},
		{name: "PodGroup missing", batch: []*corev1.Pod{orphan, plain}, cluster: []*corev1.Pod{orphan, plain},
			wantPlain: "web", wantUnknown: "PodGroup ml/x does not exist"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := source(t, []*v1alpha1.PodGroup{group("a", 3, nil)}, tc.cluster, tc.reserved...)
			b := s.Split(context.Background(), tc.batch)
			if got := names(b.Plain); got != tc.wantPlain {
				t.Errorf("plain pods %q, want %q", got, tc.wantPlain)
			}
			if tc.wantUnknown != "" {
				if len(b.Unknown) != 1 || !strings.Contains(b.Unknown[orphan].Error(), tc.wantUnknown) {
					t.Errorf("unknown %v, want the orphan with %q", b.Unknown, tc.wantUnknown)
				}
				return
			}
			if len(b.Gangs) != 1 {
				t.Fatalf("%d gangs, want 1", len(b.Gangs))
			}
			g := b.Gangs[0]
			if got := names(g.Pending); got != tc.wantPending || g.Provided != tc.wantProvided || g.Short() != tc.wantShort {
				t.Errorf("pending %q, provided %d, short %d; want %q, %d, %d", got, g.Provided, g.Short(), tc.wantPending, tc.wantProvided, tc.wantShort)
			}
			if b.AnyShort() != (tc.wantShort > 0) {
				t.Errorf("AnyShort %v with a shortfall of %d", b.AnyShort(), g.Short())
			}
		})
	}
}

func TestReadTimeout(t *testing.T) {
	s := source(t, []*v1alpha1.PodGroup{group("timed", 2, ptr.To[int32](90)), group("untimed", 0, nil)}, nil)
	g, err := s.Read(context.Background(), Key{Namespace: "ml", Name: "timed"})
	if err != nil || g.Timeout != 90*time.Second || g.MinMember != 2 {
		t.Errorf("timed gang %+v, %v: want a 90s timeout and minMember 2", g, err)
	}
	g, err = s.Read(context.Background(), Key{Namespace: "ml", Name: "untimed"})
	if err != nil || g.Timeout != 0 || g.MinMember != 1 {
		t.Errorf("untimed gang %+v, %v: want no timeout and minMember at least 1", g, err)
	}
}

func TestBroken(t *testing.T) {
	a0, a1, b0 := pod("a-0", "a"), pod("a-1", "a"), pod("b-0", "b")
	ga := &Gang{Key: Key{"ml", "a"}, MinMember: 2, Pending: []*corev1.Pod{a0, a1}}
	gb := &Gang{Key: Key{"ml", "b"}, MinMember: 1, Pending: []*corev1.Pod{b0}}
	limit := errors.New("the pool's limits leave no room")
	for _, tc := range []struct {
		name     string
		unplaced map[*corev1.Pod]error
		want     map[*Gang]string
	}{
		{name: "all placed"},
		{name: "a plain pod unplaced breaks no gang", unplaced: map[*corev1.Pod]error{pod("web", ""): limit}},
		{name: "one pod of a gang", unplaced: map[*corev1.Pod]error{a1: limit}, want: map[*Gang]string{ga: "pod a-1: the pool's limits leave no room"}},
		// The pods are matched by UID: the solver may hand back copies.
		{name: "matched by uid", unplaced: map[*corev1.Pod]error{b0.DeepCopy(): limit}, want: map[*Gang]string{gb: "pod b-0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Broken([]*Gang{ga, gb}, tc.unplaced)
			if len(got) != len(tc.want) {
				t.Fatalf("broken %v, want %v", got, tc.want)
			}
			for g, text := range tc.want {
				if err, ok := got[g]; !ok || !strings.Contains(err.Error(), text) {
					t.Errorf("gang %s: %v, want %q", g, err, text)
				}
			}
		})
	}
}
