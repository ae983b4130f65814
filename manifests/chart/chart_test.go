package chart

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
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apimachinery/pkg/util/wait"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/restmapper"
	"k8s.io/klog/v2"
	"k8s.io/kubernetes/cmd/kube-scheduler/app/options"
	frameworkruntime "k8s.io/kubernetes/pkg/scheduler/framework/runtime"
	"sigs.k8s.io/yaml"

	"github.com/tailor-project/tailor/plugin/tailor"
	"github.com/tailor-project/tailor/test/controlplane"
	"github.com/tailor-project/tailor/test/manifests"
)

// seedFlags are the --set flags of Karpenter's getting-started `helm install`,
// which must work unchanged with this chart.
var seedFlags = []string{
	"--namespace", "kube-system",
	"--set", "settings.clusterName=my-cluster",
	"--set", "settings.interruptionQueue=my-cluster-karpenter",
	"--set", "controller.resources.requests.cpu=1",
	"--set", "controller.resources.requests.memory=1Gi",
	"--set", "controller.resources.limits.cpu=1",
	"--set", "controller.resources.limits.memory=1Gi",
	"--set", `serviceAccount.annotations.eks\.amazonaws\.com/role-arn=arn:aws:iam::111122223333:role/KarpenterControllerRole-my-cluster`,
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := controlplane.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func chartDir(t *testing.T) string { return filepath.Join(repoRoot(t), "manifests", "chart", "tailor") }

// helm runs bin/helm and returns its stdout, or its stderr as the error.
func helm(t *testing.T, args ...string) (string, error) {
	t.Helper()
	dir, err := controlplane.BinDir()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "helm")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("helm is not built at %s: run `make bins` (hack/build-bins.sh helm)", bin)
	}
	cmd := exec.Command(bin, args...)
	// A fresh Helm home, so no user's repositories or plugins take part.
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "HELM_CONFIG_HOME="+home, "HELM_CACHE_HOME="+home, "HELM_DATA_HOME="+home)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("helm %s: %v: %s%s", strings.Join(args, " "), err, stderr.String(), stdout.String())
	}
	return stdout.String(), nil
}

// render is `helm template tailor` of the chart with args, as objects.
func render(t *testing.T, args ...string) []*unstructured.Unstructured {
	t.Helper()
	out, err := helm(t, append([]string{"template", "tailor", chartDir(t)}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	reader := utilyaml.NewYAMLReader(bufio.NewReader(strings.NewReader(out)))
	var objs []*unstructured.Unstructured
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return objs
		}
		if err != nil {
			t.Fatal(err)
		}
		obj := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(doc, &obj.Object); err != nil {
			t.Fatalf("helm template printed invalid YAML: %v\n%s", err, doc)
		}
		if len(obj.Object) > 0 {
			objs = append(objs, obj)
		}
	}
}

// typed converts a rendered object into its Go type, strictly: a field the
// type does not have fails the test.
func typed[T any](t *testing.T, obj *unstructured.Unstructured) *T {
	t.Helper()
	raw, err := obj.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	out := new(T)
	if err := yaml.UnmarshalStrict(raw, out); err != nil {
		t.Fatalf("%s %s: %v", obj.GetKind(), obj.GetName(), err)
	}
	return out
}

func find(t *testing.T, objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	t.Fatalf("the chart renders no %s %s", kind, name)
	return nil
}

func TestLint(t *testing.T) {
	if out, err := helm(t, "lint", "--strict", chartDir(t), "--set", "settings.clusterName=x"); err != nil {
		t.Fatal(err)
	} else if !strings.Contains(out, "0 chart(s) failed") {
		t.Fatalf("helm lint: %s", out)
	}
}

// TestMissingClusterName: the values schema refuses an install without
// settings.clusterName, and says which value is missing.
func TestMissingClusterName(t *testing.T) {
	for name, args := range map[string][]string{
		"unset": nil,
		"empty": {"--set", "settings.clusterName="},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := helm(t, append([]string{"template", "tailor", chartDir(t)}, args...)...)
			if err == nil {
				t.Fatal("helm template without settings.clusterName succeeded")
			}
			// Helm reports schema errors by JSON pointer: "at '/settings':
			// missing property 'clusterName'", or at '/settings/clusterName'.
			msg := err.Error()
			if !strings.Contains(msg, "/settings") || !strings.Contains(msg, "clusterName") {
				t.Fatalf("the error does not name settings.clusterName: %v", err)
			}
		})
	}
}

// TestSeedInstallApplies renders the chart with the guide's flags and applies
// every object server-side, with strict field validation, to a real API
// server: CRDs first, as Helm installs them.
func TestSeedInstallApplies(t *testing.T) {
	objs := render(t, append([]string{"--include-crds"}, seedFlags...)...)
	cp := controlplane.StartT(t, controlplane.Options{CRDDir: "-"})
	dyn, err := dynamic.NewForConfig(cp.Config)
	if err != nil {
		t.Fatal(err)
	}
	disc, err := discovery.NewDiscoveryClientForConfig(cp.Config)
	if err != nil {
		t.Fatal(err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disc))
	slices.SortStableFunc(objs, func(a, b *unstructured.Unstructured) int {
		return boolRank(b.GetKind() == "CustomResourceDefinition") - boolRank(a.GetKind() == "CustomResourceDefinition")
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	crds := 0
	for _, obj := range objs {
		mapping, err := mapper.RESTMapping(obj.GroupVersionKind().GroupKind(), obj.GroupVersionKind().Version)
		if err != nil {
			t.Fatalf("%s %s: %v", obj.GetKind(), obj.GetName(), err)
		}
		raw, err := obj.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		var client dynamic.ResourceInterface = dyn.Resource(mapping.Resource)
		if ns := obj.GetNamespace(); ns != "" {
			client = dyn.Resource(mapping.Resource).Namespace(ns)
		}
		force := true
		if _, err := client.Patch(ctx, obj.GetName(), types.ApplyPatchType, raw, metav1.PatchOptions{
			FieldManager: "helm", Force: &force, FieldValidation: "Strict",
		}); err != nil {
			t.Errorf("the API server refuses %s %s/%s: %v", obj.GetKind(), obj.GetNamespace(), obj.GetName(), err)
		}
		if obj.GetKind() == "CustomResourceDefinition" {
			crds++
			waitEstablished(ctx, t, dyn, obj.GetName())
		}
	}
	if crds != 4 {
		t.Errorf("the chart installs %d CRDs, want 4 (EC2NodeClass, NodeClaim, NodePool, PodGroup)", crds)
	}
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

func waitEstablished(ctx context.Context, t *testing.T, dyn dynamic.Interface, name string) {
	t.Helper()
	gvr := apiextensionsv1.SchemeGroupVersion.WithResource("customresourcedefinitions")
	err := wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		u, err := dyn.Resource(gvr).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
		for _, c := range conds {
			if m, ok := c.(map[string]any); ok && m["type"] == "Established" && m["status"] == "True" {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("CRD %s not established: %v", name, err)
	}
}

// TestSeedValues: the guide's values land where Tailor reads them, and the
// scheduler's configuration loads as kube-scheduler loads it, with args the
// plugin accepts and leases its RBAC grants.
func TestSeedValues(t *testing.T) {
	objs := render(t, seedFlags...)

	cm := typed[corev1.ConfigMap](t, find(t, objs, "ConfigMap", "tailor-scheduler-config"))
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(cm.Data["config.yaml"]), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := options.LoadConfigFromFile(klog.Background(), path)
	if err != nil {
		t.Fatalf("kube-scheduler refuses the chart's configuration: %v", err)
	}
	if le := cfg.LeaderElection; !le.LeaderElect || le.ResourceName != "tailor-scheduler" || le.ResourceNamespace != "kube-system" {
		t.Errorf("leader election %+v, want on under kube-system/tailor-scheduler", le)
	}
	if len(cfg.Profiles) != 1 || cfg.Profiles[0].SchedulerName != "tailor-scheduler" {
		t.Fatalf("profiles %+v, want one named tailor-scheduler", cfg.Profiles)
	}
	var args *tailor.TailorArgs
	for _, pc := range cfg.Profiles[0].PluginConfig {
		if pc.Name == tailor.Name {
			args = &tailor.TailorArgs{}
			if err := frameworkruntime.DecodeInto(pc.Args, args); err != nil {
				t.Fatal(err)
			}
		}
	}
	if args == nil {
		t.Fatal("the configuration has no Tailor args")
	}
	tailor.SetDefaults(args)
	if err := tailor.Validate(field.NewPath("args"), args); err != nil {
		t.Fatalf("the plugin refuses the chart's args: %v", err)
	}
	if args.ClusterName != "my-cluster" || *args.Consolidation.MinSavings != 0.05 ||
		args.BatchIdleDuration.Duration != time.Second || args.BatchMaxDuration.Duration != 10*time.Second {
		t.Errorf("args %+v do not carry the values", args)
	}
	role := typed[rbacv1.ClusterRole](t, find(t, objs, "ClusterRole", "tailor-scheduler"))
	lease := args.DisruptionLease.Name
	granted := false
	for _, r := range role.Rules {
		granted = granted || slices.Contains(r.Resources, "leases") && slices.Contains(r.ResourceNames, lease) && slices.Contains(r.Verbs, "update")
	}
	if !granted || args.DisruptionLease.Namespace != "kube-system" {
		t.Errorf("the disruption lease %s/%s is not the one the RBAC grants", args.DisruptionLease.Namespace, lease)
	}

	wantResources := corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("1Gi")},
		Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("1Gi")},
	}
	for _, name := range []string{"tailor-scheduler", "tailor-launcher"} {
		d := typed[appsv1.Deployment](t, find(t, objs, "Deployment", name))
		if d.Spec.Replicas == nil || *d.Spec.Replicas != 2 {
			t.Errorf("%s: replicas %v, want 2", name, d.Spec.Replicas)
		}
		c := d.Spec.Template.Spec.Containers[0]
		if !equality.Semantic.DeepEqual(c.Resources, wantResources) {
			t.Errorf("%s: resources %+v, want controller.resources %+v", name, c.Resources, wantResources)
		}
		if c.Image != "ghcr.io/tailor-project/tailor:0.1.0" {
			t.Errorf("%s: image %s", name, c.Image)
		}
		sa := typed[corev1.ServiceAccount](t, find(t, objs, "ServiceAccount", name))
		if got := sa.Annotations["eks.amazonaws.com/role-arn"]; got != "arn:aws:iam::111122223333:role/KarpenterControllerRole-my-cluster" {
			t.Errorf("ServiceAccount %s: role-arn annotation %q", name, got)
		}
	}
	launcher := typed[appsv1.Deployment](t, find(t, objs, "Deployment", "tailor-launcher")).Spec.Template.Spec.Containers[0]
	env := map[string]string{}
	for _, e := range launcher.Env {
		env[e.Name] = e.Value
	}
	if env["CLUSTER_NAME"] != "my-cluster" || env["INTERRUPTION_QUEUE"] != "my-cluster-karpenter" {
		t.Errorf("launcher env %v, want CLUSTER_NAME and INTERRUPTION_QUEUE from settings", env)
	}
	if !slices.Contains(launcher.Args, "--leader-elect=true") || !slices.Contains(launcher.Args, "--leader-election-namespace=kube-system") {
		t.Errorf("launcher args %v, want leader election in kube-system", launcher.Args)
	}
}

// TestMatchesManifests: with the release named tailor in kube-system, the
// chart installs what manifests/scheduler and manifests/launcher install:
// the same RBAC objects with the same rules and bindings, and containers
// with the same arguments.
func TestMatchesManifests(t *testing.T) {
	objs := render(t, "--namespace", "kube-system", "--set", "settings.clusterName=my-cluster")
	root := repoRoot(t)
	var plain []runtime.Object
	for _, f := range []string{"scheduler/rbac.yaml", "launcher/rbac.yaml", "scheduler/deployment.yaml", "launcher/deployment.yaml"} {
		plain = append(plain, manifests.Decode(t, clientgoscheme.Scheme, filepath.Join(root, "manifests", f))...)
	}
	rbacKinds := map[string]bool{"ClusterRole": true, "Role": true, "ClusterRoleBinding": true, "RoleBinding": true}
	var plainRBAC, chartRBAC []string
	for _, obj := range plain {
		switch o := obj.(type) {
		case *rbacv1.ClusterRole:
			plainRBAC = append(plainRBAC, "ClusterRole/"+o.Name)
			if got := typed[rbacv1.ClusterRole](t, find(t, objs, "ClusterRole", o.Name)); !reflect.DeepEqual(got.Rules, o.Rules) {
				t.Errorf("ClusterRole %s: the chart's rules differ from manifests/:\nchart: %+v\nplain: %+v", o.Name, got.Rules, o.Rules)
			}
		case *rbacv1.Role:
			plainRBAC = append(plainRBAC, "Role/"+o.Name)
			if got := typed[rbacv1.Role](t, find(t, objs, "Role", o.Name)); !reflect.DeepEqual(got.Rules, o.Rules) || got.Namespace != o.Namespace {
				t.Errorf("Role %s: the chart's differs from manifests/:\nchart: %+v\nplain: %+v", o.Name, got, o)
			}
		case *rbacv1.ClusterRoleBinding:
			plainRBAC = append(plainRBAC, "ClusterRoleBinding/"+o.Name)
			if got := typed[rbacv1.ClusterRoleBinding](t, find(t, objs, "ClusterRoleBinding", o.Name)); !reflect.DeepEqual(got.RoleRef, o.RoleRef) || !reflect.DeepEqual(got.Subjects, o.Subjects) {
				t.Errorf("ClusterRoleBinding %s: the chart's differs from manifests/:\nchart: %+v\nplain: %+v", o.Name, got, o)
			}
		case *rbacv1.RoleBinding:
			plainRBAC = append(plainRBAC, "RoleBinding/"+o.Name)
			if got := typed[rbacv1.RoleBinding](t, find(t, objs, "RoleBinding", o.Name)); !reflect.DeepEqual(got.RoleRef, o.RoleRef) || !reflect.DeepEqual(got.Subjects, o.Subjects) || got.Namespace != o.Namespace {
				t.Errorf("RoleBinding %s: the chart's differs from manifests/:\nchart: %+v\nplain: %+v", o.Name, got, o)
			}
		case *appsv1.Deployment:
			got := typed[appsv1.Deployment](t, find(t, objs, "Deployment", o.Name))
			if !reflect.DeepEqual(got.Spec.Selector, o.Spec.Selector) {
				t.Errorf("Deployment %s: selector %v, manifests/ has %v (a selector cannot change in place)", o.Name, got.Spec.Selector, o.Spec.Selector)
			}
			if g, w := got.Spec.Template.Spec.Containers[0].Args, o.Spec.Template.Spec.Containers[0].Args; !reflect.DeepEqual(g, w) {
				t.Errorf("Deployment %s: args %q, manifests/ has %q", o.Name, g, w)
			}
			if got.Spec.Template.Spec.ServiceAccountName != o.Spec.Template.Spec.ServiceAccountName {
				t.Errorf("Deployment %s: service account %s, manifests/ has %s", o.Name, got.Spec.Template.Spec.ServiceAccountName, o.Spec.Template.Spec.ServiceAccountName)
			}
		}
	}
	for _, o := range objs {
		if rbacKinds[o.GetKind()] {
			chartRBAC = append(chartRBAC, o.GetKind()+"/"+o.GetName())
		}
	}
	slices.Sort(plainRBAC)
	slices.Sort(chartRBAC)
	if !slices.Equal(plainRBAC, chartRBAC) {
		t.Errorf("the chart's RBAC objects %v differ from manifests/' %v", chartRBAC, plainRBAC)
	}
}

// TestCRDsMatchManifests: the chart's crds/ are copies of manifests/crds,
// which `make generate` writes; copy them again when this fails:
// cp manifests/crds/*.yaml manifests/chart/tailor/crds/
func TestCRDsMatchManifests(t *testing.T) {
	root := repoRoot(t)
	plain, _ := filepath.Glob(filepath.Join(root, "manifests", "crds", "*.yaml"))
	copies, _ := filepath.Glob(filepath.Join(chartDir(t), "crds", "*.yaml"))
	names := func(paths []string) []string {
		var out []string
		for _, p := range paths {
			out = append(out, filepath.Base(p))
		}
		return out
	}
	if !slices.Equal(names(plain), names(copies)) || len(plain) == 0 {
		t.Fatalf("the chart's CRDs %v are not manifests/crds' %v: cp manifests/crds/*.yaml manifests/chart/tailor/crds/", names(copies), names(plain))
	}
	for i := range plain {
		a, _ := os.ReadFile(plain[i])
		b, _ := os.ReadFile(copies[i])
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs from manifests/crds: cp manifests/crds/*.yaml manifests/chart/tailor/crds/", filepath.Base(copies[i]))
		}
	}
}

// TestPodGroupCRDIsSchedulerPlugins: the PodGroup CRD is scheduler-plugins'
// own, at the version go.mod pins; `make generate` copies it again.
func TestPodGroupCRDIsSchedulerPlugins(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "sigs.k8s.io/scheduler-plugins").Output()
	if err != nil {
		t.Fatalf("finding sigs.k8s.io/scheduler-plugins: %v", err)
	}
	want, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "manifests", "coscheduling", "crd.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(repoRoot(t), "manifests", "crds", "scheduling.x-k8s.io_podgroups.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("manifests/crds/scheduling.x-k8s.io_podgroups.yaml is not scheduler-plugins' manifests/coscheduling/crd.yaml: run make generate")
	}
}

// TestImageIsTheRelease: the default image is the published one of the
// chart's appVersion, so a release bumps one and the test catches the other.
func TestImageIsTheRelease(t *testing.T) {
	var chart struct {
		Version    string `json:"version"`
		AppVersion string `json:"appVersion"`
	}
	var values struct {
		Image struct {
			Repository string `json:"repository"`
			Tag        string `json:"tag"`
		} `json:"image"`
	}
	for path, into := range map[string]any{"Chart.yaml": &chart, "values.yaml": &values} {
		raw, err := os.ReadFile(filepath.Join(chartDir(t), path))
		if err != nil {
			t.Fatal(err)
		}
		if err := yaml.Unmarshal(raw, into); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
	if values.Image.Repository != "ghcr.io/tailor-project/tailor" || values.Image.Tag != chart.AppVersion || chart.AppVersion != chart.Version {
		t.Errorf("image %s:%s, chart %s (app %s): want the published image at the chart's version",
			values.Image.Repository, values.Image.Tag, chart.Version, chart.AppVersion)
	}
}

// TestServiceMonitor: serviceMonitor.enabled adds a ServiceMonitor over both
// components' metrics; off, there is none.
func TestServiceMonitor(t *testing.T) {
	has := func(objs []*unstructured.Unstructured) bool {
		for _, o := range objs {
			if o.GetKind() == "ServiceMonitor" {
				return true
			}
		}
		return false
	}
	if has(render(t, "--set", "settings.clusterName=x")) {
		t.Error("a ServiceMonitor without serviceMonitor.enabled")
	}
	objs := render(t, "--set", "settings.clusterName=x", "--set", "serviceMonitor.enabled=true")
	if !has(objs) {
		t.Fatal("no ServiceMonitor with serviceMonitor.enabled")
	}
	for _, name := range []string{"tailor-scheduler-metrics", "tailor-launcher-metrics"} {
		typed[corev1.Service](t, find(t, objs, "Service", name))
	}
}
