package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
	launcheraws "github.com/tailor-project/tailor/launcher/aws"
	"github.com/tailor-project/tailor/launcher/catalog"
	"github.com/tailor-project/tailor/plugin/tailor"
)

type walkthrough struct {
	kube      kubernetes.Interface
	client    client.Client
	catalog   catalog.Catalog
	manifests string
	timeout   time.Duration
	start     time.Time
	// seen is what was already said about each object, so each change is
	// said once.
	seen map[string]string
}

func newWalkthrough(cfg *rest.Config, manifests string, timeout time.Duration) (*walkthrough, error) {
	scheme, err := tailor.Scheme()
	if err != nil {
		return nil, err
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, err
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(context.Background())
	if err != nil {
		return nil, fmt.Errorf("loading the AWS configuration (source .local/env): %w", err)
	}
	awsCfg.HTTPClient = launcheraws.LoopbackSafe(awsCfg.HTTPClient)
	ec2Client, pricingClient := launcheraws.NewClients(awsCfg, launcheraws.Endpoints{})
	source, err := launcheraws.NewSource(ec2Client, pricingClient, launcheraws.Options{Region: awsCfg.Region})
	if err != nil {
		return nil, err
	}
	cat, err := catalog.New(source, catalog.Options{})
	if err != nil {
		return nil, err
	}
	return &walkthrough{kube: kubernetes.NewForConfigOrDie(cfg), client: c, catalog: cat, manifests: manifests, timeout: timeout, seen: map[string]string{}}, nil
}

func (w *walkthrough) say(format string, args ...interface{}) {
	fmt.Printf("[%6.1fs] %s\n", time.Since(w.start).Seconds(), fmt.Sprintf(format, args...))
}

func (w *walkthrough) run(ctx context.Context, replicas int32) error {
	w.start = time.Now()
	if err := w.showPools(ctx); err != nil {
		return err
	}
	d, err := w.inflate(ctx)
	if err != nil {
		return err
	}
	defer func() {
		_ = w.kube.AppsV1().Deployments(d.Namespace).Delete(context.Background(), d.Name, metav1.DeleteOptions{})
	}()

	fmt.Printf("\n== kubectl scale deployment inflate --replicas %d\n", replicas)
	step := time.Now()
	if err := w.scale(ctx, d, replicas); err != nil {
		return err
	}
	if err := w.watch(ctx, func(s state) bool {
		return s.running == int(replicas) && s.initialized == len(s.claims) && len(s.claims) > 0
	}); err != nil {
		return err
	}
	w.say("all %d pods Running, %s after the scale-up", replicas, time.Since(step).Round(100*time.Millisecond))
	if err := w.fleet(ctx); err != nil {
		return err
	}

	fmt.Printf("\n== kubectl scale deployment inflate --replicas 0\n")
	step = time.Now()
	if err := w.scale(ctx, d, 0); err != nil {
		return err
	}
	np := &karpv1.NodePool{}
	if err := w.client.Get(ctx, client.ObjectKey{Name: "default"}, np); err != nil {
		return err
	}
	w.say("empty nodes go once they have been empty for the pool's consolidateAfter (%s), within its disruption budgets", np.Spec.Disruption.ConsolidateAfter.String())
	if err := w.watch(ctx, func(s state) bool { return s.pods == 0 && len(s.claims) == 0 && s.nodes == 0 }); err != nil {
		return err
	}
	w.say("0 nodes left, %s after the scale-down; the fleet costs $0.0000/h", time.Since(step).Round(100*time.Millisecond))
	return nil
}

// showPools says what may be bought, once the launcher has resolved the
// classes against the simulated VPC.
func (w *walkthrough) showPools(ctx context.Context) error {
	var classes ec2v1.EC2NodeClassList
	deadline := time.Now().Add(w.timeout)
	for {
		if err := w.client.List(ctx, &classes); err != nil {
			return err
		}
		ready := 0
		for _, c := range classes.Items {
			if meta.IsStatusConditionTrue(c.Status.Conditions, ec2v1.ConditionTypeReady) {
				ready++
			}
		}
		if ready == len(classes.Items) || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, c := range classes.Items {
		ready := meta.FindStatusCondition(c.Status.Conditions, ec2v1.ConditionTypeReady)
		status := "not resolved yet"
		if ready != nil {
			status = fmt.Sprintf("Ready=%s %s", ready.Status, ready.Message)
		}
		w.say("EC2NodeClass %s: %d subnets, %d security groups, %d AMIs (%s)", c.Name, len(c.Status.Subnets), len(c.Status.SecurityGroups), len(c.Status.AMIs), status)
	}
	var pools karpv1.NodePoolList
	if err := w.client.List(ctx, &pools); err != nil {
		return err
	}
	for _, np := range pools.Items {
		class := &ec2v1.EC2NodeClass{}
		if err := w.client.Get(ctx, client.ObjectKey{Name: np.Spec.Template.Spec.NodeClassRef.Name}, class); err != nil {
			return err
		}
		types, err := w.catalog.InstanceTypes(ctx, &np, class)
		if err != nil {
			return err
		}
		w.say("NodePool %s (weight %s) allows %d instance types", np.Name, weight(&np), len(types))
	}
	return nil
}

func weight(np *karpv1.NodePool) string {
	if np.Spec.Weight == nil {
		return "none"
	}
	return strconv.Itoa(int(*np.Spec.Weight))
}

// inflate creates the guide's Deployment for the Tailor scheduler, at 0.
func (w *walkthrough) inflate(ctx context.Context) (*appsv1.Deployment, error) {
	data, err := os.ReadFile(filepath.Join(w.manifests, "08-inflate-deployment.yaml"))
	if err != nil {
		return nil, err
	}
	d := &appsv1.Deployment{}
	if err := yaml.UnmarshalStrict(data, d); err != nil {
		return nil, err
	}
	d.Spec.Template.Spec.SchedulerName = "tailor-scheduler"
	fmt.Println("\n== kubectl apply -f 08-inflate-deployment.yaml   (with schedulerName: tailor-scheduler)")
	created, err := w.kube.AppsV1().Deployments(d.Namespace).Create(ctx, d, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("deployment inflate already exists: delete it first (kubectl delete deployment inflate)")
	}
	return created, err
}

func (w *walkthrough) scale(ctx context.Context, d *appsv1.Deployment, n int32) error {
	patch := []byte(fmt.Sprintf(`{"spec":{"replicas":%d}}`, n))
	_, err := w.kube.AppsV1().Deployments(d.Namespace).Patch(ctx, d.Name, types.MergePatchType, patch, metav1.PatchOptions{})
	return err
}

// state is what the cluster looks like at one poll.
type state struct {
	pods, running, nodes, initialized int
	claims                            []karpv1.NodeClaim
}

// watch polls until done, narrating every change.
func (w *walkthrough) watch(ctx context.Context, done func(state) bool) error {
	deadline := time.Now().Add(w.timeout)
	for {
		s, err := w.observe(ctx)
		if err != nil {
			return err
		}
		if done(s) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not done after %s: %d/%d pods running, %d NodeClaims (%d initialized), %d nodes; see .local/*.log",
				w.timeout, s.running, s.pods, len(s.claims), s.initialized, s.nodes)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func (w *walkthrough) observe(ctx context.Context) (state, error) {
	var s state
	var claims karpv1.NodeClaimList
	if err := w.client.List(ctx, &claims); err != nil {
		return s, err
	}
	s.claims = claims.Items
	present := map[string]bool{}
	for _, nc := range claims.Items {
		present["claim/"+nc.Name] = true
		w.narrateClaim(ctx, &nc)
		if meta.IsStatusConditionTrue(nc.Status.Conditions, karpv1.ConditionTypeInitialized) {
			s.initialized++
		}
	}
	nodes, err := w.kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: wellknown.NodePoolLabel})
	if err != nil {
		return s, err
	}
	s.nodes = len(nodes.Items)
	for _, n := range nodes.Items {
		present["node/"+n.Name] = true
		ready := "NotReady"
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
				ready = "Ready"
			}
		}
		w.change("node/"+n.Name, ready, "Node %s %s (%s, %s, %s)", n.Name, ready, n.Labels[wellknown.InstanceTypeLabel], n.Labels[wellknown.ZoneLabel], n.Labels[wellknown.CapacityTypeLabel])
	}
	pods, err := w.kube.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=inflate"})
	if err != nil {
		return s, err
	}
	s.pods = len(pods.Items)
	for _, p := range pods.Items {
		if p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil {
			s.running++
		}
	}
	w.change("pods", fmt.Sprintf("%d/%d", s.running, s.pods), "inflate: %d/%d pods Running", s.running, s.pods)
	for key := range w.seen {
		if (strings.HasPrefix(key, "claim/") || strings.HasPrefix(key, "node/")) && !present[key] {
			delete(w.seen, key)
			w.say("%s is gone", strings.Replace(strings.Replace(key, "claim/", "NodeClaim ", 1), "node/", "Node ", 1))
		}
	}
	return s, nil
}

// narrateClaim says how far a claim got.
func (w *walkthrough) narrateClaim(ctx context.Context, nc *karpv1.NodeClaim) {
	key := "claim/" + nc.Name
	switch {
	case nc.DeletionTimestamp != nil:
		w.change(key, "deleting", "NodeClaim %s is being removed: its node is drained and its instance terminated", nc.Name)
	case meta.IsStatusConditionTrue(nc.Status.Conditions, karpv1.ConditionTypeInitialized):
		w.change(key, "initialized", "NodeClaim %s initialized: node %s is Ready", nc.Name, nc.Status.NodeName)
	case meta.IsStatusConditionTrue(nc.Status.Conditions, karpv1.ConditionTypeLaunched):
		it, zone, ct := nc.Labels[wellknown.InstanceTypeLabel], nc.Labels[wellknown.ZoneLabel], nc.Labels[wellknown.CapacityTypeLabel]
		w.change(key, "launched", "NodeClaim %s launched: %s in %s, %s, %s/h (%s)", nc.Name, it, zone, ct, w.price(ctx, nc), nc.Status.ProviderID)
	default:
		types := ""
		for _, r := range nc.Spec.Requirements {
			if r.Key == wellknown.InstanceTypeLabel && len(r.Values) > 0 {
				types = fmt.Sprintf("%s or %d more", r.Values[0], len(r.Values)-1)
			}
		}
		w.change(key, "created", "NodeClaim %s created by the scheduler: %s, planned at $%s/h", nc.Name, types, nc.Annotations[tailor.PriceAnnotation])
	}
}

func (w *walkthrough) change(key, value, format string, args ...interface{}) {
	if w.seen[key] == value {
		return
	}
	w.seen[key] = value
	w.say(format, args...)
}

// price is the hourly price of a launched claim's offering.
func (w *walkthrough) price(ctx context.Context, nc *karpv1.NodeClaim) string {
	p, ok := w.offeringPrice(ctx, nc)
	if !ok {
		return "$?"
	}
	return fmt.Sprintf("$%.4f", p)
}

func (w *walkthrough) offeringPrice(ctx context.Context, nc *karpv1.NodeClaim) (float64, bool) {
	np := &karpv1.NodePool{}
	if err := w.client.Get(ctx, client.ObjectKey{Name: nc.Labels[wellknown.NodePoolLabel]}, np); err != nil {
		return 0, false
	}
	class := &ec2v1.EC2NodeClass{}
	if err := w.client.Get(ctx, client.ObjectKey{Name: nc.Spec.NodeClassRef.Name}, class); err != nil {
		return 0, false
	}
	types, err := w.catalog.InstanceTypes(ctx, np, class)
	if err != nil {
		return 0, false
	}
	for _, it := range types {
		if it.Name != nc.Labels[wellknown.InstanceTypeLabel] {
			continue
		}
		for _, o := range it.Offerings {
			if o.Zone == nc.Labels[wellknown.ZoneLabel] && o.CapacityType == nc.Labels[wellknown.CapacityTypeLabel] {
				return o.Price, true
			}
		}
	}
	return 0, false
}

// fleet prints the launched nodes and their hourly price.
func (w *walkthrough) fleet(ctx context.Context) error {
	var claims karpv1.NodeClaimList
	if err := w.client.List(ctx, &claims); err != nil {
		return err
	}
	sort.Slice(claims.Items, func(i, j int) bool { return claims.Items[i].Name < claims.Items[j].Name })
	fmt.Printf("\n%-16s %-18s %-11s %-10s %-9s %-8s %s\n", "NODECLAIM", "TYPE", "ZONE", "CAPACITY", "$/HOUR", "PLANNED", "PODS")
	total, planned := 0.0, 0.0
	for _, nc := range claims.Items {
		p, _ := w.offeringPrice(ctx, &nc)
		plan, _ := strconv.ParseFloat(nc.Annotations[tailor.PriceAnnotation], 64)
		total += p
		planned += plan
		pods, err := w.kube.CoreV1().Pods("").List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=" + nc.Status.NodeName})
		if err != nil {
			return err
		}
		fmt.Printf("%-16s %-18s %-11s %-10s %-9.4f %-8.4f %d\n", nc.Name, nc.Labels[wellknown.InstanceTypeLabel], nc.Labels[wellknown.ZoneLabel],
			nc.Labels[wellknown.CapacityTypeLabel], p, plan, len(pods.Items))
	}
	fmt.Printf("fleet: %d nodes, $%.4f per hour (the scheduler planned $%.4f at the cheapest offerings; spot prices are simulated)\n\n", len(claims.Items), total, planned)
	return nil
}
