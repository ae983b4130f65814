package solver_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/requirements"
	"github.com/tailor-project/tailor/launcher/catalog"
	"github.com/tailor-project/tailor/plugin/solver"
)

var zones = []catalog.Zone{{Name: "us-east-1a"}, {Name: "us-east-1b"}, {Name: "us-east-1c"}}

// staticCatalog is the compiled-in catalog of the three seed zones.
func staticCatalog(t testing.TB) catalog.Catalog {
	t.Helper()
	c, err := catalog.New(catalog.NewStaticSource(zones), catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// seedPools reads the NodePools of a seed manifest.
func seedPools(t testing.TB, file string) []*karpv1.NodePool {
	t.Helper()
	data, err := os.ReadFile("testdata/" + file)
	if err != nil {
		t.Fatal(err)
	}
	var pools []*karpv1.NodePool
	for _, doc := range strings.Split(string(data), "\n---\n") {
		np := &karpv1.NodePool{}
		if err := yaml.Unmarshal([]byte(doc), np); err != nil {
			t.Fatal(err)
		}
		if np.Kind == "NodePool" {
			pools = append(pools, np)
		}
	}
	return pools
}

// pool turns a NodePool into the solver's view, with the compiled-in catalog.
func pool(t testing.TB, c catalog.Catalog, np *karpv1.NodePool) *solver.Pool {
	t.Helper()
	types, err := c.InstanceTypes(context.Background(), np, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &solver.Pool{NodePool: np, Requirements: requirements.FromNodePool(np), InstanceTypes: types}
}

// inflate makes n pods of the seed's inflate Deployment.
func inflate(t testing.TB, n int) []*corev1.Pod {
	t.Helper()
	data, err := os.ReadFile("testdata/08-inflate-deployment.yaml")
	if err != nil {
		t.Fatal(err)
	}
	d := &appsv1.Deployment{}
	if err := yaml.Unmarshal(data, d); err != nil {
		t.Fatal(err)
	}
	return replicas("inflate", d.Spec.Template, n)
}

func replicas(name string, tmpl corev1.PodTemplateSpec, n int) []*corev1.Pod {
	owner := metav1.OwnerReference{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: name, UID: types.UID(name + "-uid"), Controller: ptr(true)}
	pods := make([]*corev1.Pod, n)
	for i := range pods {
		pods[i] = &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%d", name, i), Namespace: "default", UID: types.UID(fmt.Sprintf("%s-%d", name, i)),
				Labels: tmpl.Labels, OwnerReferences: []metav1.OwnerReference{owner}},
			Spec: *tmpl.Spec.DeepCopy(),
		}
	}
	return pods
}

func podWith(name, cpu, memory string, mutate ...func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID(name)},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
			corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(memory),
		}}}}},
	}
	for _, m := range mutate {
		m(p)
	}
	return p
}

func ptr[T any](v T) *T { return &v }

// fits reports whether every instance type of a node holds its requests.
func fits(n *solver.Node) error {
	req := n.Requests()
	for _, it := range n.InstanceTypes {
		for name, q := range req {
			a := it.Allocatable[name]
			if q.Cmp(a) > 0 {
				return fmt.Errorf("%s offered for %s: %s %s > allocatable %s", it.Name, n.Name, name, q.String(), a.String())
			}
		}
	}
	return nil
}

func pools(nps ...*karpv1.NodePool) []*karpv1.NodePool { return nps }

func resourceOf(s string) *resource.Quantity {
	q := resource.MustParse(s)
	return &q
}
