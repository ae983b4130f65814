package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/requirements"
	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/launcher/catalog"
	"github.com/tailor-project/tailor/plugin/simulate"
	"github.com/tailor-project/tailor/plugin/solver"
)

type simulateOptions struct {
	files  []string
	output string
	online bool
	zones  []string
	// consolidation is the --consolidation mode (simulate_consolidation.go).
	consolidation consolidationOptions
}

func newSimulateCommand() *cobra.Command {
	o := &simulateOptions{}
	cmd := &cobra.Command{
		Use:   "simulate -f FILE [-f FILE...] | simulate --consolidation [-f FILE... | --kubeconfig FILE]",
		Short: "Show the NodeClaims Tailor would create for pending pods, offline",
		Long: `Runs Tailor's solver, with the default scheduler profile's Filter plugins, over the objects in the
files: Pods and Deployments (their replicas) are the pending pods; NodePools and EC2NodeClasses are what
may be bought; Nodes, with the Pods bound to them, and DaemonSets are the cluster the new nodes join.
It prints the NodeClaims that would be created, the pods on each, the total hourly price, and each pod
that cannot be placed with the reason. Prices are the compiled-in us-east-1 on-demand prices unless
--online reads EC2 and the Pricing API through the standard AWS configuration; offline, spot offerings
are priced at the on-demand price, the most a spot instance can cost.

With --consolidation it is a dry run of the disruption loop's consolidation, with the loop's own code and the
plugin's own planner: over a live cluster (--kubeconfig, read-only) or over files of Nodes, Pods bound to them
(spec.nodeName), NodePools, EC2NodeClasses, NodeClaims, PodDisruptionBudgets and DaemonSets, it prints each
decision the loop would take (delete or replace, which NodeClaims, the new claim's types, $/h before and after)
and why it keeps every other NodeClaim. Nothing is written to the cluster.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.run(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	cmd.Flags().StringArrayVarP(&o.files, "filename", "f", nil, "YAML file of Pods, Deployments, DaemonSets, Nodes, NodePools and EC2NodeClasses (repeatable)")
	cmd.Flags().StringVarP(&o.output, "output", "o", "table", "output format: table or json")
	cmd.Flags().BoolVar(&o.online, "online", false, "read instance types and prices from AWS instead of the compiled-in facts")
	cmd.Flags().StringSliceVar(&o.zones, "zones", offlineZones, "zones of the compiled-in catalog")
	o.consolidation.addFlags(cmd.Flags())
	return cmd
}

// world is what the files hold.
type world struct {
	pending []*corev1.Pod
	bound   []*corev1.Pod
	nodes   []*corev1.Node
	daemons []*appsv1.DaemonSet
	pools   []*karpv1.NodePool
	classes map[string]*ec2v1.EC2NodeClass
}

func (o *simulateOptions) run(ctx context.Context, stdout, stderr io.Writer) error {
	if o.consolidation.enabled {
		return o.runConsolidation(ctx, stdout, stderr)
	}
	if len(o.files) == 0 {
		return errors.New("no -f file given: name files of pods and NodePools to simulate")
	}
	if o.output != "table" && o.output != "json" {
		return fmt.Errorf("unknown output format %q: use table or json", o.output)
	}
	w, err := readWorld(o.files)
	if err != nil {
		return err
	}
	if len(w.pools) == 0 {
		return errors.New("the files hold no NodePool: nothing can be bought")
	}
	if len(w.pending) == 0 {
		return errors.New("the files hold no pending Pod or Deployment with replicas: nothing to place")
	}
	cat, err := o.catalog(ctx)
	if err != nil {
		return err
	}
	var pools []*solver.Pool
	for _, np := range w.pools {
		class := classFor(np, w.classes, stderr)
		types, err := cat.InstanceTypes(ctx, np, class)
		if err != nil {
			return fmt.Errorf("NodePool %s: %w", np.Name, err)
		}
		pools = append(pools, &solver.Pool{NodePool: np, Requirements: requirements.FromNodePool(np), InstanceTypes: types,
			DaemonOverhead: solver.DaemonOverhead(np, w.daemons), Remaining: limitsOf(np)})
	}
	prof, err := simulate.DefaultProfile()
	if err != nil {
		return err
	}
	snap := simulate.NewSnapshot(w.nodes, w.bound)
	simulate.AddPlaceholders(snap, pools)
	sim, err := simulate.NewOffline(ctx, prof, snap)
	if err != nil {
		return err
	}
	res := solver.Solve(solver.Input{Pods: w.pending, Pools: pools, Checker: sim, EmptyDomains: true})
	if o.output == "json" {
		return printSimulationJSON(stdout, res, o.online)
	}
	return printSimulationTable(stdout, res, o.online)
}

// limitsOf is what the pool's limits allow; nil for no limit.
func limitsOf(np *karpv1.NodePool) corev1.ResourceList {
	if len(np.Spec.Limits) == 0 {
		return nil
	}
	return corev1.ResourceList(np.Spec.Limits).DeepCopy()
}

func (o *simulateOptions) catalog(ctx context.Context) (catalog.Catalog, error) {
	if o.online {
		return newOnlineCatalog(ctx)
	}
	zones := make([]catalog.Zone, len(o.zones))
	for i, z := range o.zones {
		zones[i] = catalog.Zone{Name: z}
	}
	return catalog.New(catalog.NewStaticSource(zones), catalog.Options{})
}

// readWorld reads the objects of every file; a kind the simulation has no
// use for is an error, as it is most likely the wrong file.
func readWorld(files []string) (*world, error) {
	w := &world{classes: map[string]*ec2v1.EC2NodeClass{}}
	if err := eachDocument(files, w.add); err != nil {
		return nil, err
	}
	return w, nil
}

// eachDocument hands every non-empty YAML document of the files to add, and
// names the file and document of the first error.
func eachDocument(files []string, add func([]byte) error) error {
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			return fmt.Errorf("reading manifests: %w", err)
		}
		reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(raw)))
		for doc := 1; ; doc++ {
			data, err := reader.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return fmt.Errorf("%s: document %d: %w", file, doc, err)
			}
			if len(bytes.TrimSpace(data)) == 0 {
				continue
			}
			if err := add(data); err != nil {
				return fmt.Errorf("%s: document %d: %w", file, doc, err)
			}
		}
	}
	return nil
}

func (w *world) add(data []byte) error {
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
		w.pools = append(w.pools, np)
	case ec2v1.GroupVersion.WithKind("EC2NodeClass"):
		nc := &ec2v1.EC2NodeClass{}
		if err := yaml.UnmarshalStrict(data, nc); err != nil {
			return fmt.Errorf("EC2NodeClass: %w", err)
		}
		w.classes[nc.Name] = nc
	case corev1.SchemeGroupVersion.WithKind("Pod"):
		p := &corev1.Pod{}
		if err := yaml.UnmarshalStrict(data, p); err != nil {
			return fmt.Errorf("Pod: %w", err)
		}
		defaultPod(p, p.Name)
		if p.Spec.NodeName != "" {
			w.bound = append(w.bound, p)
		} else {
			w.pending = append(w.pending, p)
		}
	case appsv1.SchemeGroupVersion.WithKind("Deployment"):
		d := &appsv1.Deployment{}
		if err := yaml.UnmarshalStrict(data, d); err != nil {
			return fmt.Errorf("Deployment: %w", err)
		}
		w.pending = append(w.pending, replicasOf(d)...)
	case appsv1.SchemeGroupVersion.WithKind("DaemonSet"):
		ds := &appsv1.DaemonSet{}
		if err := yaml.UnmarshalStrict(data, ds); err != nil {
			return fmt.Errorf("DaemonSet: %w", err)
		}
		w.daemons = append(w.daemons, ds)
	case corev1.SchemeGroupVersion.WithKind("Node"):
		n := &corev1.Node{}
		if err := yaml.UnmarshalStrict(data, n); err != nil {
			return fmt.Errorf("Node: %w", err)
		}
		w.nodes = append(w.nodes, n)
	default:
		return fmt.Errorf("%s %q is not a Pod, Deployment, DaemonSet, Node, NodePool or EC2NodeClass", orUnknown(tm.APIVersion), orUnknown(tm.Kind))
	}
	return nil
}

// replicasOf makes the pods a Deployment would, one ReplicaSet's worth.
func replicasOf(d *appsv1.Deployment) []*corev1.Pod {
	n := int32(1)
	if d.Spec.Replicas != nil {
		n = *d.Spec.Replicas
	}
	owner := metav1.OwnerReference{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: d.Name, UID: types.UID("deployment/" + d.Namespace + "/" + d.Name), Controller: ptrTo(true)}
	pods := make([]*corev1.Pod, n)
	for i := range pods {
		p := &corev1.Pod{ObjectMeta: *d.Spec.Template.ObjectMeta.DeepCopy(), Spec: *d.Spec.Template.Spec.DeepCopy()}
		p.Namespace = d.Namespace
		p.OwnerReferences = []metav1.OwnerReference{owner}
		defaultPod(p, fmt.Sprintf("%s-%d", d.Name, i))
		pods[i] = p
	}
	return pods
}

func defaultPod(p *corev1.Pod, name string) {
	p.Name = name
	if p.Namespace == "" {
		p.Namespace = metav1.NamespaceDefault
	}
	if p.UID == "" {
		p.UID = types.UID(p.Namespace + "/" + p.Name)
	}
}

func ptrTo[T any](v T) *T { return &v }

type simulatedClaim struct {
	NodePool      string   `json:"nodePool"`
	InstanceTypes []string `json:"instanceTypes"`
	Zones         []string `json:"zones"`
	CapacityTypes []string `json:"capacityTypes"`
	HourlyPrice   float64  `json:"hourlyPrice"`
	Pods          []string `json:"pods"`
}

type simulation struct {
	NodeClaims  []simulatedClaim  `json:"nodeClaims"`
	HourlyPrice float64           `json:"hourlyPrice"`
	Unplaced    map[string]string `json:"unplaced"`
	Prices      string            `json:"prices"`
}

func summarize(res *solver.Result, online bool) simulation {
	out := simulation{HourlyPrice: res.Price(), Unplaced: map[string]string{}, Prices: "compiled-in us-east-1 on-demand; spot at most that"}
	if online {
		out.Prices = "AWS"
	}
	for _, n := range res.Nodes {
		c := simulatedClaim{NodePool: n.Pool.Name(), HourlyPrice: n.Price,
			Zones: n.Requirements.Get(wellknown.ZoneLabel).Values(), CapacityTypes: n.Requirements.Get(wellknown.CapacityTypeLabel).Values()}
		for _, it := range n.InstanceTypes {
			c.InstanceTypes = append(c.InstanceTypes, it.Name)
		}
		for _, p := range n.Pods {
			c.Pods = append(c.Pods, p.Namespace+"/"+p.Name)
		}
		sort.Strings(c.Pods)
		out.NodeClaims = append(out.NodeClaims, c)
	}
	for p, err := range res.Unplaced {
		out.Unplaced[p.Namespace+"/"+p.Name] = err.Error()
	}
	return out
}

func printSimulationJSON(w io.Writer, res *solver.Result, online bool) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(summarize(res, online))
}

func printSimulationTable(w io.Writer, res *solver.Result, online bool) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NODECLAIM\tNODEPOOL\tINSTANCE TYPES\tZONES\tCAPACITY TYPES\t$/HOUR\tPODS")
	for i, n := range res.Nodes {
		c := summarize(&solver.Result{Nodes: []*solver.Node{n}}, online).NodeClaims[0]
		types := "-"
		if len(c.InstanceTypes) > 0 {
			types = c.InstanceTypes[0]
			if len(c.InstanceTypes) > 1 {
				types += fmt.Sprintf(" (+%d)", len(c.InstanceTypes)-1)
			}
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%.4f\t%d\n", i+1, c.NodePool, types, orAny(c.Zones), orAny(c.CapacityTypes), c.HourlyPrice, len(c.Pods))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	placed := 0
	for _, n := range res.Nodes {
		placed += len(n.Pods)
	}
	fmt.Fprintf(w, "\n%d NodeClaims for %d pods, $%.4f per hour", len(res.Nodes), placed, res.Price())
	if !online {
		fmt.Fprint(w, " (compiled-in us-east-1 on-demand prices; spot priced at most that)")
	}
	fmt.Fprintln(w)
	if len(res.Unplaced) > 0 {
		keys := make([]string, 0, len(res.Unplaced))
		reasons := map[string]string{}
		for p, err := range res.Unplaced {
			k := p.Namespace + "/" + p.Name
			keys = append(keys, k)
			reasons[k] = err.Error()
		}
		sort.Strings(keys)
		fmt.Fprintf(w, "\n%d pods cannot be placed:\n", len(keys))
		for _, k := range keys {
			fmt.Fprintf(w, "  %s: %s\n", k, reasons[k])
		}
	}
	return nil
}

func orAny(vs []string) string {
	if len(vs) == 0 {
		return "any"
	}
	return strings.Join(vs, ",")
}
