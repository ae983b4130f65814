package simulate

import (
	"context"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins"
)

// OfflineDeps serves plugins from a fixed set of objects (PVs, PVCs, storage
// classes, CSI nodes, namespaces) instead of a cluster, for the offline
// `tailor simulate` and for tests. Its informers run until ctx ends.
func OfflineDeps(objects ...runtime.Object) Deps {
	client := fake.NewClientset(objects...)
	return Deps{
		Registry:        plugins.NewInTreeRegistry(),
		InformerFactory: informers.NewSharedInformerFactory(client, 0),
		Client:          client,
	}
}

// NewOffline builds a Simulator with OfflineDeps over snap and starts the
// informers the plugins asked for.
func NewOffline(ctx context.Context, prof Profile, snap *Snapshot, objects ...runtime.Object) (*Simulator, error) {
	deps := OfflineDeps(objects...)
	sim, err := New(ctx, deps, prof, snap)
	if err != nil {
		return nil, err
	}
	deps.InformerFactory.Start(ctx.Done())
	deps.InformerFactory.WaitForCacheSync(ctx.Done())
	return sim, nil
}
