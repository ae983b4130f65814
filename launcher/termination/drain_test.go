package termination

import (
	"context"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/launcher/fieldindex"
)

// pod is a pod on node n1, shaped by the options.
func pod(name string, opts ...func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID("uid-" + name)},
		Spec:       corev1.PodSpec{NodeName: "n1", TerminationGracePeriodSeconds: ptr.To[int64](30)},
		Status:     corev1.PodStatus{Phase: corev1.PodRunning},
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

func criticalPod(p *corev1.Pod) { p.Spec.PriorityClassName = "system-node-critical" }

func daemon(p *corev1.Pod) {
	p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "DaemonSet", Name: "ds", UID: "ds", Controller: ptr.To(true)}}
}

func doNotDisrupt(p *corev1.Pod) {
	p.Annotations = map[string]string{wellknown.DoNotDisruptAnnotation: "true"}
}

func toleratesEverything(p *corev1.Pod) {
	p.Spec.Tolerations = []corev1.Toleration{{Operator: corev1.TolerationOpExists}}
}

func succeeded(p *corev1.Pod) { p.Status.Phase = corev1.PodSucceeded }

func mirror(p *corev1.Pod) { p.Annotations = map[string]string{corev1.MirrorPodAnnotationKey: "x"} }

// TestDrain: one pass of a drain evicts the first group of pods that must
// leave, skips the pods that need not or may not, and counts what is left;
// evictions a budget refuses are left for the next pass.
func TestDrain(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name        string
		pods        []*corev1.Pod
		deadline    *time.Time
		wantEvicted []string
		wantDeleted []string
		wantLeft    int
	}{
		{
			name:        "ordinary pods before critical before daemons",
			pods:        []*corev1.Pod{pod("app"), pod("crit", criticalPod), pod("ds", daemon), pod("crit-ds", criticalPod, daemon)},
			wantEvicted: []string{"app"}, wantLeft: 4,
		},
		{
			name:        "critical pods once ordinary ones are gone",
			pods:        []*corev1.Pod{pod("crit", criticalPod), pod("ds", daemon)},
			wantEvicted: []string{"crit"}, wantLeft: 2,
		},
		{
			name:        "daemons last, ordinary before critical",
			pods:        []*corev1.Pod{pod("ds", daemon), pod("crit-ds", criticalPod, daemon)},
			wantEvicted: []string{"ds"}, wantLeft: 2,
		},
		{
			name:     "pods that need not leave",
			pods:     []*corev1.Pod{pod("tolerant", toleratesEverything), pod("done", succeeded), pod("static", mirror)},
			wantLeft: 0,
		},
		{
			name:        "budgets and do-not-disrupt hold pods back",
			pods:        []*corev1.Pod{pod("blocked-by-pdb"), pod("precious", doNotDisrupt), pod("free")},
			wantEvicted: []string{"free"}, wantLeft: 3,
		},
		{
			name:        "pods that would outlast the deadline are deleted",
			pods:        []*corev1.Pod{pod("precious", doNotDisrupt), pod("slow", func(p *corev1.Pod) { p.Spec.TerminationGracePeriodSeconds = ptr.To[int64](600) }), pod("quick")},
			deadline:    ptr.To(now.Add(time.Minute)),
			wantDeleted: []string{"slow"}, wantEvicted: []string{"quick"}, wantLeft: 3,
		},
		{
			name:        "past the deadline every pod is deleted",
			pods:        []*corev1.Pod{pod("precious", doNotDisrupt), pod("blocked-by-pdb"), pod("ds", daemon)},
			deadline:    ptr.To(now.Add(-time.Second)),
			wantDeleted: []string{"blocked-by-pdb", "ds", "precious"}, wantLeft: 3,
		},
		{
			name: "pods stuck terminating on a dead kubelet are not waited for",
			pods: []*corev1.Pod{pod("stuck", func(p *corev1.Pod) {
				p.DeletionTimestamp = &metav1.Time{Time: now.Add(-time.Hour)}
				p.Finalizers = []string{"example.com/hold"}
			})},
			wantLeft: 0,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var evicted, deleted []string
			objs := make([]client.Object, 0, len(tc.pods))
			for _, p := range tc.pods {
				objs = append(objs, p)
			}
			c := fake.NewClientBuilder().
				WithObjects(objs...).
				WithIndex(&corev1.Pod{}, fieldindex.PodNodeName, func(o client.Object) []string { return []string{o.(*corev1.Pod).Spec.NodeName} }).
				WithInterceptorFuncs(interceptor.Funcs{
					SubResourceCreate: func(ctx context.Context, c client.Client, sub string, obj client.Object, subObj client.Object, opts ...client.SubResourceCreateOption) error {
						if obj.GetName() == "blocked-by-pdb" {
							return apierrors.NewTooManyRequests("Cannot evict pod as it would violate the pod's disruption budget.", 10)
						}
						evicted = append(evicted, obj.GetName())
						return nil
					},
					Delete: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.DeleteOption) error {
						deleted = append(deleted, obj.GetName())
						return nil
					},
				}).Build()
			d := &Drainer{Client: c, Recorder: record.NewFakeRecorder(100), Clock: clocktesting.NewFakeClock(now)}
			node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}}
			left, err := d.Drain(context.Background(), node, node, tc.deadline)
			if err != nil {
				t.Fatal(err)
			}
			slices.Sort(evicted)
			slices.Sort(deleted)
			if !slices.Equal(evicted, tc.wantEvicted) || !slices.Equal(deleted, tc.wantDeleted) || left != tc.wantLeft {
				t.Errorf("evicted %v, deleted %v, %d left; want evicted %v, deleted %v, %d left", evicted, deleted, left, tc.wantEvicted, tc.wantDeleted, tc.wantLeft)
			}
		})
	}
}
