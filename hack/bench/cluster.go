package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/plugin/tailor"
)

type bench struct {
	dir    string
	kube   kubernetes.Interface
	client client.WithWatch
}

// clusterBenchmarks starts a local cluster with zero boot delay and the
// plain comparison profile, measures, and stops it.
func clusterBenchmarks(ctx context.Context, dir string) ([]row, error) {
	fmt.Println("starting a local cluster with zero boot delay in", dir, "...")
	if _, err := run(ctx, "hack/build-bins.sh", "etcd", "kube-apiserver", "kube-controller-manager", "kwok"); err != nil {
		return nil, err
	}
	if _, err := run(ctx, "go", "build", "-o", "bin/tailor", "./cmd/tailor"); err != nil {
		return nil, err
	}
	if _, err := run(ctx, "go", "build", "-o", "bin/localcluster", "./hack/localcluster"); err != nil {
		return nil, err
	}
	if _, err := run(ctx, "bin/localcluster", "--dir", dir, "--boot-delay", "0s", "--plain-profile"); err != nil {
		return nil, err
	}
	defer func() {
		if out, err := run(context.Background(), "hack/local-down.sh", dir); err != nil {
			fmt.Fprintln(os.Stderr, out, err)
		}
	}()
	cfg, err := clientcmd.BuildConfigFromFlags("", filepath.Join(dir, "kubeconfig"))
	if err != nil {
		return nil, err
	}
	cfg.QPS, cfg.Burst = 500, 1000
	scheme, err := tailor.Scheme()
	if err != nil {
		return nil, err
	}
	c, err := client.NewWithWatch(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, err
	}
	b := &bench{dir: dir, kube: kubernetes.NewForConfigOrDie(cfg), client: c}
	if err := b.quickScaleDown(ctx); err != nil {
		return nil, err
	}

	var rows []row
	for _, n := range []int32{100, 1000} {
		d, steps, err := b.toRunning(ctx, n)
		if err != nil {
			return nil, err
		}
		rows = append(rows, row{what: fmt.Sprintf("%d pods pending -> Running", n), value: d.Round(10 * time.Millisecond).String(),
			how: "local cluster, zero boot delay: Deployment scaled from 0 until every pod Running (250m, 256Mi each)"})
		rows = append(rows, row{what: fmt.Sprintf("%d pods: where the time goes", n), value: steps.summary(),
			how: "each step's last sighting after the scale, from watches of the pods and NodeClaims"})
	}
	p50, p99, count, err := b.batchLatency()
	if err != nil {
		return nil, err
	}
	rows = append(rows, row{what: "batch closed -> NodeClaim created", value: fmt.Sprintf("p50 %s, p99 %s", p50, p99),
		how: fmt.Sprintf("%d NodeClaims of the runs above, from the scheduler's log", count)})

	tailorRate, plainRate, err := b.fitExisting(ctx)
	if err != nil {
		return nil, err
	}
	rows = append(rows, row{what: "pods that fit existing nodes", value: fmt.Sprintf("%.0f pods/s with Tailor, %.0f without (%.2f)", tailorRate, plainRate, tailorRate/plainRate),
		how: "same scheduler process, profile tailor-scheduler vs plain-scheduler; 500 pods on 20 nodes, median of 3 rounds each"})
	for _, name := range []string{"scheduler", "launcher"} {
		peak, err := peakMemory(dir, name)
		if err != nil {
			return nil, err
		}
		rows = append(rows, row{what: "peak memory, " + name, value: fmt.Sprintf("%d MiB", peak>>10), how: "VmHWM of the process after the runs above"})
	}
	return rows, nil
}

// quickScaleDown lets empty nodes go within seconds, so runs do not reuse
// the nodes of the run before.
func (b *bench) quickScaleDown(ctx context.Context) error {
	// The launcher writes the pool's status meanwhile.
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		np := &karpv1.NodePool{}
		if err := b.client.Get(ctx, client.ObjectKey{Name: "default"}, np); err != nil {
			return err
		}
		np.Spec.Disruption.ConsolidateAfter = karpv1.MustParseNillableDuration("1s")
		np.Spec.Disruption.Budgets = []karpv1.Budget{{Nodes: "100%"}}
		return b.client.Update(ctx, np)
	})
}

// toRunning scales a Deployment from 0 to n and times until all run, then
// scales it back and waits for the nodes to go.
func (b *bench) toRunning(ctx context.Context, n int32) (time.Duration, *timeline, error) {
	name := fmt.Sprintf("load-%d", n)
	d := deployment(name, "tailor-scheduler", 0, "250m")
	if _, err := b.kube.AppsV1().Deployments("default").Create(ctx, d, metav1.CreateOptions{}); err != nil {
		return 0, nil, err
	}
	watching, stop := context.WithCancel(ctx)
	defer stop()
	start := time.Now()
	steps := newTimeline(start)
	if err := steps.watchScaleUp(watching, b.kube, b.client, "app="+name); err != nil {
		return 0, nil, err
	}
	if err := b.scale(ctx, name, n); err != nil {
		return 0, nil, err
	}
	if err := b.waitPods(ctx, "app="+name, func(running, total int) bool { return running == int(n) }, 10*time.Minute); err != nil {
		return 0, nil, err
	}
	took := time.Since(start)
	stop()
	fmt.Printf("  %d pods Running after %s\n%s", n, took.Round(10*time.Millisecond), steps)
	if err := b.kube.AppsV1().Deployments("default").Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
		return 0, nil, err
	}
	if err := b.waitPods(ctx, "app="+name, func(_, total int) bool { return total == 0 }, 5*time.Minute); err != nil {
		return 0, nil, err
	}
	return took, steps, b.waitNoClaims(ctx)
}

func (b *bench) scale(ctx context.Context, name string, n int32) error {
	_, err := b.kube.AppsV1().Deployments("default").Patch(ctx, name, types.MergePatchType, []byte(fmt.Sprintf(`{"spec":{"replicas":%d}}`, n)), metav1.PatchOptions{})
	return err
}

func (b *bench) waitPods(ctx context.Context, selector string, done func(running, total int) bool, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		pods, err := b.kube.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			return err
		}
		running := 0
		for _, p := range pods.Items {
			if p.Status.Phase == corev1.PodRunning {
				running++
			}
		}
		if done(running, len(pods.Items)) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pods %s: %d of %d running after %s; see %s/*.log", selector, running, len(pods.Items), timeout, b.dir)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func (b *bench) waitNoClaims(ctx context.Context) error {
	deadline := time.Now().Add(5 * time.Minute)
	for {
		var claims karpv1.NodeClaimList
		if err := b.client.List(ctx, &claims); err != nil {
			return err
		}
		if len(claims.Items) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d NodeClaims left 5 minutes after their pods went", len(claims.Items))
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func deployment(name, scheduler string, replicas int32, cpu string) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					SchedulerName: scheduler,
					Containers: []corev1.Container{{Name: "pause", Image: "pause", Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
						corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse("256Mi"),
					}}}},
				},
			},
		},
	}
}

var klogTime = regexp.MustCompile(`^[IWE](\d{4} \d{2}:\d{2}:\d{2}\.\d{6})`)

// batchLatency reads, from the scheduler's log, the time from each batch
// closing to each NodeClaim it produced being created.
func (b *bench) batchLatency() (p50, p99 time.Duration, count int, err error) {
	f, err := os.Open(filepath.Join(b.dir, "scheduler.log"))
	if err != nil {
		return 0, 0, 0, err
	}
	defer f.Close()
	var closed time.Time
	var latencies []time.Duration
	scan := bufio.NewScanner(f)
	scan.Buffer(make([]byte, 1<<20), 1<<20)
	for scan.Scan() {
		line := scan.Text()
		m := klogTime.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		at, err := time.Parse("0102 15:04:05.000000", m[1])
		if err != nil {
			continue
		}
		switch {
		case strings.Contains(line, `"Batch closed"`):
			closed = at
		case strings.Contains(line, `"NodeClaim created"`) && !closed.IsZero():
			latencies = append(latencies, at.Sub(closed))
		}
	}
	if len(latencies) == 0 {
		return 0, 0, 0, fmt.Errorf("no batch in %s/scheduler.log (is the scheduler at -v=2?)", b.dir)
	}
	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	pct := func(p float64) time.Duration {
		return latencies[int(p*float64(len(latencies)-1))].Round(time.Millisecond)
	}
	return pct(0.5), pct(0.99), len(latencies), nil
}

// fitExisting times pods that fit nodes already there, with each profile.
func (b *bench) fitExisting(ctx context.Context) (tailorRate, plainRate float64, err error) {
	for i := 0; i < 20; i++ {
		node := &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("existing-%d", i), Annotations: map[string]string{"kwok.x-k8s.io/node": "fake"},
				Labels: map[string]string{corev1.LabelHostname: fmt.Sprintf("existing-%d", i)}},
			Status: corev1.NodeStatus{Allocatable: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("64"), corev1.ResourceMemory: resource.MustParse("256Gi"), corev1.ResourcePods: resource.MustParse("500")},
				Capacity: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("64"), corev1.ResourceMemory: resource.MustParse("256Gi"), corev1.ResourcePods: resource.MustParse("500")}},
		}
		if _, err := b.kube.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
			return 0, 0, err
		}
	}
	if err := b.waitNodesReady(ctx, 20); err != nil {
		return 0, 0, err
	}
	rates := map[string][]float64{}
	for round := 0; round < 3; round++ {
		for _, profile := range []string{"tailor-scheduler", "plain-scheduler"} {
			rate, err := b.bindRate(ctx, profile, 500)
			if err != nil {
				return 0, 0, err
			}
			rates[profile] = append(rates[profile], rate)
		}
	}
	mid := func(vs []float64) float64 { sort.Float64s(vs); return vs[len(vs)/2] }
	return mid(rates["tailor-scheduler"]), mid(rates["plain-scheduler"]), nil
}

// waitNodesReady waits for the existing nodes to be Ready and untainted.
func (b *bench) waitNodesReady(ctx context.Context, n int) error {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		nodes, err := b.kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		ready := 0
		for _, node := range nodes.Items {
			if strings.HasPrefix(node.Name, "existing-") && len(node.Spec.Taints) == 0 {
				for _, c := range node.Status.Conditions {
					if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
						ready++
					}
				}
			}
		}
		if ready == n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d existing nodes Ready", ready, n)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// bindRate creates n pods for a profile and measures pods bound per second.
func (b *bench) bindRate(ctx context.Context, profile string, n int) (float64, error) {
	name := "fit-" + profile
	start := time.Now()
	for i := 0; i < n; i++ {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%d", name, i), Namespace: "default", Labels: map[string]string{"app": name}},
			Spec: deployment(name, profile, 1, "10m").Spec.Template.Spec}
		if _, err := b.kube.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{}); err != nil {
			return 0, err
		}
	}
	deadline := time.Now().Add(5 * time.Minute)
	for {
		pods, err := b.kube.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=" + name})
		if err != nil {
			return 0, err
		}
		bound := 0
		for _, p := range pods.Items {
			if p.Spec.NodeName != "" {
				bound++
			}
		}
		if bound == n {
			break
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("%s: %d of %d pods bound after 5 minutes", profile, bound, n)
		}
		time.Sleep(100 * time.Millisecond)
	}
	rate := float64(n) / time.Since(start).Seconds()
	zero := int64(0)
	if err := b.kube.CoreV1().Pods("default").DeleteCollection(ctx, metav1.DeleteOptions{GracePeriodSeconds: &zero}, metav1.ListOptions{LabelSelector: "app=" + name}); err != nil {
		return 0, err
	}
	return rate, b.waitPods(ctx, "app="+name, func(_, total int) bool { return total == 0 }, 5*time.Minute)
}

// peakMemory reads the VmHWM of a process the local cluster started.
func peakMemory(dir, name string) (int64, error) {
	data, err := os.ReadFile(filepath.Join(dir, "pids"))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || f[1] != name {
			continue
		}
		status, err := os.ReadFile("/proc/" + f[0] + "/status")
		if err != nil {
			return 0, fmt.Errorf("%s is not running: %w", name, err)
		}
		for _, l := range strings.Split(string(status), "\n") {
			if strings.HasPrefix(l, "VmHWM:") {
				kb, err := strconv.ParseInt(strings.Fields(l)[1], 10, 64)
				return kb, err
			}
		}
	}
	return 0, fmt.Errorf("no process %s in %s/pids", name, dir)
}
