// Package chartrender renders Tailor's Helm chart (manifests/chart/tailor)
// with bin/helm and installs what of it a cluster without real pods can
// hold: the CRDs, the ServiceAccounts, the RBAC and the scheduler's
// ConfigMap. The local cluster and the e2e suites then run `tailor scheduler`
// and `tailor launcher` as processes configured from the rendered
// Deployments, under the chart's ServiceAccounts, so that what they run is
// what the chart installs and a permission the chart lacks fails there.
package chartrender

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/tailor-project/tailor/test/controlplane"
)

// Release and Namespace are the README's `helm install tailor ... --namespace
// kube-system`: they give the object names of manifests/ (tailor-scheduler,
// tailor-launcher).
const (
	Release   = "tailor"
	Namespace = "kube-system"
)

// fieldManager owns what Apply writes, so that a second Apply (a test's
// second system in one cluster) takes the fields over instead of conflicting.
const fieldManager = "tailor-chart"

// Options are what the chart is rendered with.
type Options struct {
	// Set are --set values, "key=value" each; settings.clusterName is
	// required by the chart's schema.
	Set []string
	// IncludeCRDs renders the chart's crds/ too, for a cluster that has
	// none installed yet.
	IncludeCRDs bool
}

// Chart is the rendered chart.
type Chart struct {
	Objects []*unstructured.Unstructured
}

// Render runs `helm template` of the chart with opts.
func Render(ctx context.Context, opts Options) (*Chart, error) {
	root, err := controlplane.RepoRoot()
	if err != nil {
		return nil, err
	}
	binDir, err := controlplane.BinDir()
	if err != nil {
		return nil, err
	}
	helm := filepath.Join(binDir, "helm")
	if _, err := os.Stat(helm); err != nil {
		return nil, fmt.Errorf("helm is not built at %s: run `make bins` (hack/build-bins.sh helm)", helm)
	}
	args := []string{"template", Release, filepath.Join(root, "manifests", "chart", "tailor"), "--namespace", Namespace}
	if opts.IncludeCRDs {
		args = append(args, "--include-crds")
	}
	for _, s := range opts.Set {
		args = append(args, "--set", s)
	}
	// A Helm home of its own, so that no user's repositories or plugins
	// take part in the rendering.
	home, err := os.MkdirTemp("", "tailor-helm-")
	if err != nil {
		return nil, fmt.Errorf("making a Helm home: %w", err)
	}
	defer os.RemoveAll(home)
	cmd := exec.CommandContext(ctx, helm, args...)
	cmd.Env = append(os.Environ(), "HELM_CONFIG_HOME="+home, "HELM_CACHE_HOME="+home, "HELM_DATA_HOME="+home)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("helm %s: %w: %s", strings.Join(args, " "), err, stderr.String())
	}
	objs, err := decode(stdout.Bytes())
	if err != nil {
		return nil, fmt.Errorf("reading what helm template printed: %w", err)
	}
	return &Chart{Objects: objs}, nil
}

func decode(data []byte) ([]*unstructured.Unstructured, error) {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var objs []*unstructured.Unstructured
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, err
		}
		obj := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(doc, &obj.Object); err != nil {
			return nil, fmt.Errorf("invalid YAML: %w\n%s", err, doc)
		}
		if len(obj.Object) > 0 {
			objs = append(objs, obj)
		}
	}
}

// runsPods are the kinds whose objects need real pods (kwok runs none of
// Tailor's) or a CRD the cluster lacks: the components run as processes
// in their place.
var runsPods = map[string]bool{
	"Deployment":          true,
	"PodDisruptionBudget": true,
	"Service":             true,
	"ServiceMonitor":      true,
}

// Apply applies, server-side, every object of the chart but those that run
// pods, CRDs first and established before the rest.
func (c *Chart) Apply(ctx context.Context, cfg *rest.Config) error {
	cl, err := client.New(cfg, client.Options{})
	if err != nil {
		return fmt.Errorf("building a client to apply the chart: %w", err)
	}
	var crds, rest []*unstructured.Unstructured
	for _, o := range c.Objects {
		switch {
		case runsPods[o.GetKind()]:
		case o.GetKind() == "CustomResourceDefinition":
			crds = append(crds, o)
		default:
			rest = append(rest, o)
		}
	}
	for _, o := range crds {
		if err := apply(ctx, cl, o); err != nil {
			return err
		}
	}
	for _, o := range crds {
		if err := waitEstablished(ctx, cl, o.GetName()); err != nil {
			return err
		}
	}
	for _, o := range rest {
		if err := apply(ctx, cl, o); err != nil {
			return err
		}
	}
	return nil
}

func apply(ctx context.Context, cl client.Client, o *unstructured.Unstructured) error {
	if err := cl.Apply(ctx, client.ApplyConfigurationFromUnstructured(o.DeepCopy()), client.FieldOwner(fieldManager), client.ForceOwnership); err != nil {
		return fmt.Errorf("applying the chart's %s %s: %w", o.GetKind(), o.GetName(), err)
	}
	return nil
}

func waitEstablished(ctx context.Context, cl client.Client, name string) error {
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		crd := &unstructured.Unstructured{}
		crd.SetAPIVersion("apiextensions.k8s.io/v1")
		crd.SetKind("CustomResourceDefinition")
		if err := cl.Get(ctx, client.ObjectKey{Name: name}, crd); err != nil {
			return false, err
		}
		conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
		for _, c := range conds {
			m, _ := c.(map[string]any)
			if m["type"] == "Established" && m["status"] == "True" {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("waiting for the chart's CRD %s to be established: %w", name, err)
	}
	return nil
}

// find is the rendered object of kind and name.
func (c *Chart) find(kind, name string) (*unstructured.Unstructured, error) {
	for _, o := range c.Objects {
		if o.GetKind() == kind && o.GetName() == name {
			return o, nil
		}
	}
	return nil, fmt.Errorf("the rendered chart has no %s %s", kind, name)
}

// The components' object names for Release: their Deployments and
// ServiceAccounts.
const (
	SchedulerName = Release + "-scheduler"
	LauncherName  = Release + "-launcher"
)

// SchedulerConfig is the KubeSchedulerConfiguration of the scheduler's
// ConfigMap, as a document to adapt to a process outside the cluster.
func (c *Chart) SchedulerConfig() (map[string]any, error) {
	cm, err := c.find("ConfigMap", SchedulerName+"-config")
	if err != nil {
		return nil, err
	}
	text, ok, _ := unstructured.NestedString(cm.Object, "data", "config.yaml")
	if !ok {
		return nil, fmt.Errorf("the ConfigMap %s-config has no config.yaml", SchedulerName)
	}
	var config map[string]any
	if err := yaml.Unmarshal([]byte(text), &config); err != nil {
		return nil, fmt.Errorf("reading the chart's scheduler configuration: %w", err)
	}
	return config, nil
}

// Container is what a process needs of a Deployment's container: its
// arguments (the image's subcommand first) and its environment.
type Container struct {
	Args []string
	Env  map[string]string
}

// Container is the first container of the Deployment name.
func (c *Chart) Container(deployment string) (*Container, error) {
	d, err := c.find("Deployment", deployment)
	if err != nil {
		return nil, err
	}
	containers, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
	if len(containers) == 0 {
		return nil, fmt.Errorf("the Deployment %s has no container", deployment)
	}
	m, _ := containers[0].(map[string]any)
	out := &Container{Env: map[string]string{}}
	args, _, _ := unstructured.NestedStringSlice(m, "args")
	out.Args = args
	env, _, _ := unstructured.NestedSlice(m, "env")
	for _, e := range env {
		v, _ := e.(map[string]any)
		name, _ := v["name"].(string)
		if _, ok := v["valueFrom"]; ok {
			return nil, fmt.Errorf("the Deployment %s's variable %s comes from the cluster, which a process cannot read", deployment, name)
		}
		value, _ := v["value"].(string)
		out.Env[name] = value
	}
	return out, nil
}

// ServiceAccountUser is the user name a ServiceAccount of the release's
// namespace authenticates as.
func ServiceAccountUser(name string) string {
	return "system:serviceaccount:" + Namespace + ":" + name
}

// WriteImpersonatingKubeconfig writes to path the kubeconfig at admin with
// every user impersonating the release's ServiceAccount sa: the process
// given it has the chart's permissions of sa and no more. The admin
// credentials only authenticate the request; authorization is sa's.
func WriteImpersonatingKubeconfig(admin, path, sa string) error {
	cfg, err := clientcmd.LoadFromFile(admin)
	if err != nil {
		return fmt.Errorf("reading the admin kubeconfig: %w", err)
	}
	for _, auth := range cfg.AuthInfos {
		auth.Impersonate = ServiceAccountUser(sa)
		// Without groups the API server gives an impersonated
		// ServiceAccount the groups a token of it would have.
		auth.ImpersonateGroups = nil
	}
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		return fmt.Errorf("writing the kubeconfig of %s: %w", sa, err)
	}
	return nil
}
