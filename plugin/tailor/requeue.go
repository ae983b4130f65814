package tailor

import (
	"context"
	"fmt"
	"reflect"

	corev1 "k8s.io/api/core/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
)

// A pod Tailor could not provide for waits in the scheduler's unschedulable
// pool. kube-scheduler (1.34) asks a plugin's queueing hints only for pods
// one of its Filters refused, and a PostFilter refusal does not count, so
// Tailor's hints on NodePools and EC2NodeClasses never fire for these pods:
// without help they would wait for the scheduler's five-minute flush after
// the user fixed the pool. The plugin therefore moves them to the active
// queue itself when what can be bought changes: a NodePool or EC2NodeClass
// is created, its spec changes, or a class's resolution (its status)
// changes. They are then decided again within one batch window.

// watchPoolsAndClasses requeues the pods Tailor refused when a NodePool or an
// EC2NodeClass changes.
func (t *Tailor) watchPoolsAndClasses(ctx context.Context) error {
	for _, watched := range []struct {
		obj     client.Object
		changed func(old, obj interface{}) bool
	}{
		{&karpv1.NodePool{}, poolChanged},
		{&ec2v1.EC2NodeClass{}, classChanged},
	} {
		inf, err := t.cache.GetInformer(ctx, watched.obj)
		if err != nil {
			return fmt.Errorf("watching %T: %w", watched.obj, err)
		}
		changed := watched.changed
		_, err = inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
			AddFunc: func(obj interface{}) { t.requeueRefused(ctx, describeObject(obj)+" was created") },
			UpdateFunc: func(old, obj interface{}) {
				if changed(old, obj) {
					t.requeueRefused(ctx, describeObject(obj)+" changed")
				}
			},
		})
		if err != nil {
			return fmt.Errorf("watching %T: %w", watched.obj, err)
		}
	}
	return nil
}

// poolChanged: a NodePool's spec changed. Its status changes as nodes come
// and go and says nothing new about what may be bought.
func poolChanged(old, obj interface{}) bool {
	o, ok1 := old.(*karpv1.NodePool)
	n, ok2 := obj.(*karpv1.NodePool)
	return !ok1 || !ok2 || o.Generation != n.Generation
}

// classChanged: an EC2NodeClass's spec or its resolution changed (subnets,
// security groups, AMIs, readiness).
func classChanged(old, obj interface{}) bool {
	o, ok1 := old.(*ec2v1.EC2NodeClass)
	n, ok2 := obj.(*ec2v1.EC2NodeClass)
	return !ok1 || !ok2 || o.Generation != n.Generation || !reflect.DeepEqual(o.Status, n.Status)
}

func describeObject(obj interface{}) string {
	switch o := obj.(type) {
	case *karpv1.NodePool:
		return "NodePool " + o.Name
	case *ec2v1.EC2NodeClass:
		return "EC2NodeClass " + o.Name
	}
	return fmt.Sprintf("%T", obj)
}

// requeueRefused moves every pod Tailor last refused to the active queue.
func (t *Tailor) requeueRefused(ctx context.Context, why string) {
	t.mu.Lock()
	refs := make([]podRef, 0, len(t.explained))
	for _, e := range t.explained {
		if e.reason == ReasonCannotProvision {
			refs = append(refs, e.pod)
		}
	}
	t.mu.Unlock()
	if len(refs) == 0 {
		return
	}
	lister := t.handle.SharedInformerFactory().Core().V1().Pods().Lister()
	pods := map[string]*corev1.Pod{}
	for _, ref := range refs {
		if p, err := lister.Pods(ref.namespace).Get(ref.name); err == nil && p.UID == ref.uid && p.Spec.NodeName == "" {
			pods[podKey(p)] = p
		}
	}
	if len(pods) == 0 {
		return
	}
	logger := klog.FromContext(ctx)
	logger.Info("Deciding again for the pods Tailor could not provide for", "pods", len(pods), "because", why)
	t.handle.Activate(logger, pods)
}
