package controlplane

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
)

// TestFullControlPlane runs everything the local cluster runs and checks the
// parts work together: a kwok node turns Ready, kube-controller-manager lifts
// its not-ready taint, and a Deployment makes a pod that runs on it.
func TestFullControlPlane(t *testing.T) {
	cp := StartT(t, Options{ControllerManager: true, Kwok: true})
	client := kubernetes.NewForConfigOrDie(cp.Config)
	ctx := context.Background()

	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "fake-0", Annotations: map[string]string{KwokNodeAnnotation: "fake"}},
		Status: corev1.NodeStatus{
			Capacity:    corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("8Gi"), corev1.ResourcePods: resource.MustParse("110")},
			Allocatable: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("8Gi"), corev1.ResourcePods: resource.MustParse("110")},
		},
	}
	if _, err := client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		n, err := client.CoreV1().Nodes().Get(ctx, "fake-0", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		ready := false
		for _, c := range n.Status.Conditions {
			ready = ready || (c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue)
		}
		for _, taint := range n.Spec.Taints {
			if taint.Key == corev1.TaintNodeNotReady {
				return false, nil
			}
		}
		return ready, nil
	})
	if err != nil {
		t.Fatalf("node fake-0 did not turn Ready without the not-ready taint: %v", err)
	}

	// A bare pod bound by name: no scheduler runs in this harness.
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default"},
		Spec: corev1.PodSpec{
			NodeName:   "fake-0",
			Containers: []corev1.Container{{Name: "c", Image: "pause"}},
		},
	}
	if _, err := client.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		p, err := client.CoreV1().Pods("default").Get(ctx, "p", metav1.GetOptions{})
		return err == nil && p.Status.Phase == corev1.PodRunning, err
	})
	if err != nil {
		t.Fatalf("pod on the kwok node did not run: %v", err)
	}
}

// TestParallelControlPlanes: two instances side by side share nothing, and
// Stop leaves no process and no directory behind.
func TestParallelControlPlanes(t *testing.T) {
	planes := make([]*ControlPlane, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range planes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			planes[i], errs[i] = Start(context.Background(), Options{})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("control plane %d: %v", i, err)
		}
	}
	if planes[0].Config.Host == planes[1].Config.Host || planes[0].Dir == planes[1].Dir {
		t.Fatalf("two control planes share %s / %s", planes[0].Config.Host, planes[0].Dir)
	}
	ctx := context.Background()
	a := kubernetes.NewForConfigOrDie(planes[0].Config)
	b := kubernetes.NewForConfigOrDie(planes[1].Config)
	if _, err := a.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "only-in-a"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.CoreV1().Namespaces().Get(ctx, "only-in-a", metav1.GetOptions{}); err == nil {
		t.Fatal("a namespace created in one control plane is visible in the other")
	}
	for _, p := range planes {
		procs := append([]*process(nil), p.procs...)
		if err := p.Stop(); err != nil {
			t.Fatal(err)
		}
		for _, proc := range procs {
			if !proc.exited() {
				t.Errorf("%s still runs after Stop", proc.name)
			}
		}
		if _, err := os.Stat(p.Dir); !os.IsNotExist(err) {
			t.Errorf("%s remains after Stop", p.Dir)
		}
	}
}

// TestMissingBinaryNamesTheFix: a checkout without bin/ gets an error that
// says how to build the binaries, not a cryptic exec failure.
func TestMissingBinaryNamesTheFix(t *testing.T) {
	t.Setenv("TAILOR_BIN_DIR", t.TempDir())
	_, err := Start(context.Background(), Options{})
	if err == nil {
		t.Fatal("started without binaries")
	}
	if want := "run `make bins`"; !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q does not say %q", err, want)
	}
}
