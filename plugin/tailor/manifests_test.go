package tailor

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/klog/v2"
	"k8s.io/kubernetes/cmd/kube-scheduler/app/options"

	"github.com/tailor-project/tailor/test/manifests"
)

var schedulerManifests = filepath.Join("..", "..", "manifests", "scheduler")

func readManifests(t *testing.T, name string) []runtime.Object {
	t.Helper()
	return manifests.Decode(t, clientgoscheme.Scheme, filepath.Join(schedulerManifests, name))
}

// TestSchedulerManifests: the shipped configuration loads as kube-scheduler
// loads it, with valid Tailor args, in both config.yaml and the Deployment's
// ConfigMap; the Deployment runs two replicas behind a PDB; and the RBAC lets
// a replica hold both leases.
func TestSchedulerManifests(t *testing.T) {
	configs := map[string]string{"config.yaml": filepath.Join(schedulerManifests, "config.yaml")}
	var deployment *appsv1.Deployment
	var pdb *policyv1.PodDisruptionBudget
	for _, obj := range readManifests(t, "deployment.yaml") {
		switch o := obj.(type) {
		case *corev1.ConfigMap:
			path := filepath.Join(t.TempDir(), "config.yaml")
			if err := os.WriteFile(path, []byte(o.Data["config.yaml"]), 0o600); err != nil {
				t.Fatal(err)
			}
			configs["the ConfigMap "+o.Name] = path
		case *appsv1.Deployment:
			deployment = o
		case *policyv1.PodDisruptionBudget:
			pdb = o
		}
	}
	for name, path := range configs {
		cfg, err := options.LoadConfigFromFile(klog.Background(), path)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !cfg.LeaderElection.LeaderElect || cfg.LeaderElection.ResourceName != "tailor-scheduler" {
			t.Errorf("%s: leader election %+v, want on under tailor-scheduler", name, cfg.LeaderElection)
		}
		found := false
		for _, p := range cfg.Profiles {
			for _, pc := range p.PluginConfig {
				if pc.Name != Name {
					continue
				}
				found = true
				args, err := decodeArgs(pc.Args)
				if err != nil {
					t.Errorf("%s: %v", name, err)
					continue
				}
				if args.DisruptionLease.Name != "tailor-disruption" || args.DisruptionLease.Namespace != "kube-system" {
					t.Errorf("%s: disruption lease %s/%s, the RBAC grants kube-system/tailor-disruption", name, args.DisruptionLease.Namespace, args.DisruptionLease.Name)
				}
			}
		}
		if !found {
			t.Errorf("%s configures no %s plugin", name, Name)
		}
	}
	if deployment == nil || deployment.Spec.Replicas == nil || *deployment.Spec.Replicas != 2 {
		t.Errorf("the scheduler Deployment does not run two replicas: %+v", deployment)
	}
	if pdb == nil || pdb.Spec.MinAvailable == nil || pdb.Spec.MinAvailable.IntValue() != 1 {
		t.Errorf("no PodDisruptionBudget keeping one scheduler replica: %+v", pdb)
	}
	var rules []rbacv1.PolicyRule
	for _, obj := range readManifests(t, "rbac.yaml") {
		if role, ok := obj.(*rbacv1.ClusterRole); ok {
			rules = append(rules, role.Rules...)
		}
	}
	for _, lease := range []string{"tailor-scheduler", "tailor-disruption"} {
		if !slices.ContainsFunc(rules, func(r rbacv1.PolicyRule) bool {
			return slices.Contains(r.APIGroups, "coordination.k8s.io") && slices.Contains(r.Resources, "leases") &&
				slices.Contains(r.Verbs, "update") && slices.Contains(r.ResourceNames, lease)
		}) {
			t.Errorf("the ClusterRole does not let a replica renew Lease %s", lease)
		}
	}
}
