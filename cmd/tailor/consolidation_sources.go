package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	kubefake "k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crfake "sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/yaml"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/plugin/tailor"
)

// cluster is what a consolidation dry run reads: the core objects through
// a clientset (the plugin's informers), the karpenter objects through a
// reader. Either comes from files or, read-only, from a live cluster.
type cluster struct {
	kube    kubernetes.Interface
	objects client.Reader
	// config is the live cluster's, nil for files.
	config *rest.Config
	// synthesized are the NodeClaims made up for nodes the files give none.
	synthesized []string
}

// clusterObjects are the objects a consolidation dry run reads.
type clusterObjects struct {
	core    []runtime.Object
	pools   []*karpv1.NodePool
	classes []*ec2v1.EC2NodeClass
	claims  []*karpv1.NodeClaim
	nodes   []*corev1.Node
}

// readClusterFiles reads Nodes, Pods, NodePools, EC2NodeClasses,
// NodeClaims, PodDisruptionBudgets and DaemonSets from files; anything else
// is an error, as it is most likely the wrong file.
func readClusterFiles(files []string, stderr io.Writer) (*cluster, error) {
	objs := &clusterObjects{}
	if err := eachDocument(files, func(data []byte) error { return objs.add(data, stderr) }); err != nil {
		return nil, err
	}
	if len(objs.pools) == 0 {
		return nil, errors.New("the files hold no NodePool: there is nothing to consolidate")
	}
	for _, np := range objs.pools {
		defaultNodePool(np)
	}
	objs.classes = append(objs.classes, missingClasses(objs.pools, objs.classes, stderr)...)
	synthesized := objs.synthesizeClaims()
	objects, err := snapshotOf(objs.pools, objs.classes, objs.claims)
	if err != nil {
		return nil, err
	}
	return &cluster{kube: kubefake.NewClientset(objs.core...), objects: objects, synthesized: synthesized}, nil
}

func (o *clusterObjects) add(data []byte, stderr io.Writer) error {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(data, &tm); err != nil {
		return err
	}
	switch tm.GroupVersionKind() {
	case karpv1.GroupVersion.WithKind("NodePool"):
		np := &karpv1.NodePool{}
		if err := yaml.UnmarshalStrict(data, np); err != nil {
			return fmt.Errorf("NodePool: %w", err)
		}
		o.pools = append(o.pools, np)
	case ec2v1.GroupVersion.WithKind("EC2NodeClass"):
		nc := &ec2v1.EC2NodeClass{}
		if err := yaml.UnmarshalStrict(data, nc); err != nil {
			return fmt.Errorf("EC2NodeClass: %w", err)
		}
		o.classes = append(o.classes, nc)
	case karpv1.GroupVersion.WithKind("NodeClaim"):
		nc := &karpv1.NodeClaim{}
		if err := yaml.UnmarshalStrict(data, nc); err != nil {
			return fmt.Errorf("NodeClaim: %w", err)
		}
		o.claims = append(o.claims, nc)
	case corev1.SchemeGroupVersion.WithKind("Node"):
		n := &corev1.Node{}
		if err := yaml.UnmarshalStrict(data, n); err != nil {
			return fmt.Errorf("Node: %w", err)
		}
		o.nodes = append(o.nodes, n)
		o.core = append(o.core, n)
	case corev1.SchemeGroupVersion.WithKind("Pod"):
		p := &corev1.Pod{}
		if err := yaml.UnmarshalStrict(data, p); err != nil {
			return fmt.Errorf("Pod: %w", err)
		}
		defaultPod(p, p.Name)
		if p.Spec.NodeName != "" && p.Status.Phase == "" {
			p.Status.Phase = corev1.PodRunning
		}
		o.core = append(o.core, p)
	case policyv1.SchemeGroupVersion.WithKind("PodDisruptionBudget"):
		pdb := &policyv1.PodDisruptionBudget{}
		if err := yaml.UnmarshalStrict(data, pdb); err != nil {
			return fmt.Errorf("PodDisruptionBudget: %w", err)
		}
		if pdb.Namespace == "" {
			pdb.Namespace = metav1.NamespaceDefault
		}
		if pdb.Status.ObservedGeneration == 0 && pdb.Status.DisruptionsAllowed == 0 {
			fmt.Fprintf(stderr, "warning: PodDisruptionBudget %s/%s has no status: it allows no eviction, as one the disruption controller has not computed yet; give status.disruptionsAllowed\n", pdb.Namespace, pdb.Name)
		}
		o.core = append(o.core, pdb)
	case appsv1.SchemeGroupVersion.WithKind("DaemonSet"):
		ds := &appsv1.DaemonSet{}
		if err := yaml.UnmarshalStrict(data, ds); err != nil {
			return fmt.Errorf("DaemonSet: %w", err)
		}
		if ds.Namespace == "" {
			ds.Namespace = metav1.NamespaceDefault
		}
		o.core = append(o.core, ds)
	default:
		return fmt.Errorf("%s %q is not a Node, Pod, NodePool, EC2NodeClass, NodeClaim, PodDisruptionBudget or DaemonSet", orUnknown(tm.APIVersion), orUnknown(tm.Kind))
	}
	return nil
}

// defaultNodePool fills in what the API server's CRD defaults would, since
// a pool read from a file has not been through it: left empty, a
// consolidateAfter would read as Never and no budget would apply.
func defaultNodePool(np *karpv1.NodePool) {
	d := &np.Spec.Disruption
	if d.ConsolidateAfter == (karpv1.NillableDuration{}) {
		d.ConsolidateAfter = karpv1.MustParseNillableDuration("0s")
	}
	if d.ConsolidationPolicy == "" {
		d.ConsolidationPolicy = karpv1.ConsolidationPolicyWhenEmptyOrUnderutilized
	}
	if d.Budgets == nil {
		d.Budgets = []karpv1.Budget{{Nodes: "10%"}}
	}
	for i := range d.Budgets {
		if d.Budgets[i].Nodes == "" {
			d.Budgets[i].Nodes = "10%"
		}
	}
	if np.Spec.Template.Spec.NodeClassRef == nil {
		np.Spec.Template.Spec.NodeClassRef = &karpv1.NodeClassReference{Group: ec2v1.GroupVersion.Group, Kind: "EC2NodeClass", Name: "default"}
	}
}

// missingClasses are empty EC2NodeClasses for the pools whose class the
// files leave out, so the catalog sizes their nodes with the defaults, as
// `tailor simulate` does.
func missingClasses(pools []*karpv1.NodePool, classes []*ec2v1.EC2NodeClass, stderr io.Writer) []*ec2v1.EC2NodeClass {
	have := map[string]bool{}
	for _, c := range classes {
		have[c.Name] = true
	}
	var out []*ec2v1.EC2NodeClass
	for _, np := range pools {
		name := np.Spec.Template.Spec.NodeClassRef.Name
		if have[name] {
			continue
		}
		have[name] = true
		fmt.Fprintf(stderr, "warning: NodePool %s references EC2NodeClass %s, which no -f file defines; sizing nodes with the defaults\n", np.Name, name)
		out = append(out, &ec2v1.EC2NodeClass{ObjectMeta: metav1.ObjectMeta{Name: name}})
	}
	return out
}

// synthesizeClaims gives every node of a NodePool that no NodeClaim in the
// files owns (by node name or provider ID) a claim named after it, launched
// and initialized, with the node's labels and capacity, and returns their
// names.
func (o *clusterObjects) synthesizeClaims() []string {
	owned := map[string]bool{}
	for _, nc := range o.claims {
		owned[nc.Status.NodeName] = true
		if nc.Status.ProviderID != "" {
			owned[nc.Status.ProviderID] = true
		}
	}
	pools := map[string]*karpv1.NodePool{}
	for _, np := range o.pools {
		pools[np.Name] = np
	}
	var names []string
	for _, n := range o.nodes {
		pool := n.Labels[wellknown.NodePoolLabel]
		if pool == "" || owned[n.Name] || n.Spec.ProviderID != "" && owned[n.Spec.ProviderID] {
			continue
		}
		nc := &karpv1.NodeClaim{ObjectMeta: metav1.ObjectMeta{Name: n.Name, Labels: map[string]string{}, CreationTimestamp: n.CreationTimestamp}}
		for k, v := range n.Labels {
			nc.Labels[k] = v
		}
		if np := pools[pool]; np != nil {
			nc.Spec.NodeClassRef = np.Spec.Template.Spec.NodeClassRef.DeepCopy()
		}
		nc.Status = karpv1.NodeClaimStatus{NodeName: n.Name, ProviderID: n.Spec.ProviderID,
			Capacity: n.Status.Capacity.DeepCopy(), Allocatable: n.Status.Allocatable.DeepCopy()}
		for _, typ := range []string{karpv1.ConditionTypeLaunched, karpv1.ConditionTypeRegistered, karpv1.ConditionTypeInitialized} {
			nc.Status.Conditions = append(nc.Status.Conditions, metav1.Condition{Type: typ, Status: metav1.ConditionTrue,
				Reason: "Synthesized", LastTransitionTime: n.CreationTimestamp})
		}
		o.claims = append(o.claims, nc)
		names = append(names, nc.Name)
	}
	sort.Strings(names)
	return names
}

// snapshotOf holds the karpenter objects in memory, for the plugin to read
// as it reads its cache.
func snapshotOf(pools []*karpv1.NodePool, classes []*ec2v1.EC2NodeClass, claims []*karpv1.NodeClaim) (client.Reader, error) {
	scheme, err := tailor.Scheme()
	if err != nil {
		return nil, err
	}
	var objs []client.Object
	for _, np := range pools {
		objs = append(objs, np)
	}
	for _, c := range classes {
		objs = append(objs, c)
	}
	for _, nc := range claims {
		// A claim being deleted holds the launcher's finalizer; the fake
		// client refuses one without any.
		if nc.DeletionTimestamp != nil && len(nc.Finalizers) == 0 {
			nc.Finalizers = []string{wellknown.TerminationFinalizer}
		}
		objs = append(objs, nc)
	}
	for _, o := range objs {
		o.SetResourceVersion("")
	}
	return crfake.NewClientBuilder().WithScheme(scheme).WithObjects(objs...).Build(), nil
}

// readLiveCluster connects to the cluster the kubeconfig names, read-only:
// every request but a read is refused before it leaves. The karpenter
// objects are read once, so the whole dry run sees one state of them.
func readLiveCluster(ctx context.Context, kubeconfig string) (*cluster, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = kubeconfig
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if clientcmd.IsEmptyConfig(err) {
		return nil, errors.New("reading the kubeconfig: there is none: give --kubeconfig, set KUBECONFIG, or give -f files")
	}
	if err != nil {
		return nil, fmt.Errorf("reading the kubeconfig: %w", err)
	}
	cfg = rest.CopyConfig(cfg)
	cfg.UserAgent = "tailor-simulate-consolidation"
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { return readOnly{rt} })
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("building the clientset: %w", err)
	}
	scheme, err := tailor.Scheme()
	if err != nil {
		return nil, err
	}
	// Custom resources do not speak protobuf.
	jsonCfg := rest.CopyConfig(cfg)
	jsonCfg.ContentType = runtime.ContentTypeJSON
	jsonCfg.AcceptContentTypes = runtime.ContentTypeJSON
	c, err := client.New(jsonCfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, fmt.Errorf("connecting to %s: %w", cfg.Host, err)
	}
	var pools karpv1.NodePoolList
	if err := c.List(ctx, &pools); meta.IsNoMatchError(err) {
		return nil, fmt.Errorf("reading NodePools from %s: the cluster does not serve %s: are the CRDs installed? %w", cfg.Host, karpv1.GroupVersion, err)
	} else if err != nil {
		return nil, fmt.Errorf("reading NodePools from %s: %w", cfg.Host, err)
	}
	if len(pools.Items) == 0 {
		return nil, fmt.Errorf("the cluster at %s has no NodePool: there is nothing to consolidate", cfg.Host)
	}
	var classes ec2v1.EC2NodeClassList
	if err := c.List(ctx, &classes); err != nil {
		return nil, fmt.Errorf("reading EC2NodeClasses from %s: %w", cfg.Host, err)
	}
	var claims karpv1.NodeClaimList
	if err := c.List(ctx, &claims); err != nil {
		return nil, fmt.Errorf("reading NodeClaims from %s: %w", cfg.Host, err)
	}
	objects, err := snapshotOf(pointers(pools.Items), pointers(classes.Items), pointers(claims.Items))
	if err != nil {
		return nil, err
	}
	return &cluster{kube: kube, objects: objects, config: cfg}, nil
}

func pointers[T any](items []T) []*T {
	out := make([]*T, len(items))
	for i := range items {
		out[i] = &items[i]
	}
	return out
}

// readOnly refuses every request that could change the cluster.
type readOnly struct{ next http.RoundTripper }

func (r readOnly) RoundTrip(req *http.Request) (*http.Response, error) {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return r.next.RoundTrip(req)
	}
	return nil, fmt.Errorf("a dry run is read-only: refused %s %s", req.Method, req.URL.Path)
}
