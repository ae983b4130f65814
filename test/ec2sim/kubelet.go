package ec2sim

import (
	"context"
	"fmt"
	"sync"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/workqueue"
)

// kubeletWorkers is how many instances' Nodes are reconciled at once.
const kubeletWorkers = 2

// kubelet plays, for every simulated instance, the parts of kubelet and of
// the cloud controller's node lifecycle that touch the API server: a running
// instance that read its user data registers its Node, a stopped one stops
// being kept Ready, a terminated one has its Node deleted.
//
// It is level-triggered: reconcile compares what an instance's state says
// about its Node with the API server and closes the gap, and failures are
// retried with backoff, so a slow or restarting API server delays nodes
// without losing them.
type kubelet struct {
	client kubernetes.Interface
	sim    *Simulator
	log    logr.Logger
	queue  workqueue.TypedRateLimitingInterface[string]
}

func newKubelet(cfg *rest.Config, s *Simulator, log logr.Logger) (*kubelet, error) {
	cfg = rest.CopyConfig(cfg)
	cfg.UserAgent = "tailor-ec2sim"
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("building the simulator's Kubernetes client: %w", err)
	}
	return &kubelet{
		client: client,
		sim:    s,
		log:    log,
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "ec2sim-kubelet"}),
	}, nil
}

// enqueue asks for the Node of an instance to be brought in line with it.
func (k *kubelet) enqueue(instanceID string) {
	k.queue.Add(instanceID)
}

// run reconciles until ctx ends.
func (k *kubelet) run(ctx context.Context) {
	go func() {
		<-ctx.Done()
		k.queue.ShutDown()
	}()
	var wg sync.WaitGroup
	for range kubeletWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k.processNext(ctx) {
			}
		}()
	}
	wg.Wait()
}

func (k *kubelet) processNext(ctx context.Context) bool {
	id, shutdown := k.queue.Get()
	if shutdown {
		return false
	}
	defer k.queue.Done(id)
	if err := k.reconcile(ctx, id); err != nil {
		if ctx.Err() == nil {
			k.log.Error(err, "Reconciling the Node of an instance failed; retrying", "instance", id)
			k.queue.AddRateLimited(id)
		}
		return true
	}
	k.queue.Forget(id)
	return true
}

// nodeState is what an instance's state says about its Node.
type nodeState int

const (
	// nodeUntouched: the instance has not joined, or is shutting down.
	nodeUntouched nodeState = iota
	// nodeRegistered: kubelet runs and has registered the Node.
	nodeRegistered
	// nodeStopped: kubelet stopped; the Node stays but nobody keeps it Ready.
	nodeStopped
	// nodeDeleted: the instance is gone, and so is its Node.
	nodeDeleted
)

// desiredNode reads, under the world lock, what the Node of an instance
// should be.
func (k *kubelet) desiredNode(id string) (state nodeState, node *corev1.Node, csiNode *storagev1.CSINode) {
	s := k.sim
	s.world.mu.Lock()
	defer s.world.mu.Unlock()
	inst, ok := s.world.instances[id]
	if !ok || inst.boot == nil {
		return nodeUntouched, nil, nil
	}
	node = s.nodeForLocked(inst)
	csiNode = csiNodeForLocked(inst, node)
	switch inst.State {
	case stateRunning:
		return nodeRegistered, node, csiNode
	case stateStopping, stateStopped:
		return nodeStopped, node, csiNode
	case stateTerminated:
		return nodeDeleted, node, csiNode
	}
	return nodeUntouched, node, csiNode
}

func (k *kubelet) reconcile(ctx context.Context, id string) error {
	state, want, wantCSI := k.desiredNode(id)
	if state == nodeUntouched {
		return nil
	}
	nodes := k.client.CoreV1().Nodes()
	have, err := nodes.Get(ctx, want.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		have, err = nil, nil
	}
	if err != nil {
		return fmt.Errorf("getting node %s: %w", want.Name, err)
	}
	// Addresses are reused after termination: a Node of the same name may
	// belong to another instance, and is never touched on this one's behalf.
	if have != nil && have.Spec.ProviderID != want.Spec.ProviderID {
		if state == nodeRegistered {
			return fmt.Errorf("node %s still belongs to %s", want.Name, have.Spec.ProviderID)
		}
		return nil
	}
	log := k.log.WithValues("instance", id, "node", want.Name)
	switch state {
	case nodeRegistered:
		if have == nil {
			created, err := nodes.Create(ctx, want, metav1.CreateOptions{})
			switch {
			case apierrors.IsAlreadyExists(err):
				// The other worker won the race; its Node is read back
				// for the CSINode's owner reference.
				if created, err = nodes.Get(ctx, want.Name, metav1.GetOptions{}); err != nil {
					return fmt.Errorf("getting node %s: %w", want.Name, err)
				}
			case err != nil:
				return fmt.Errorf("registering node %s: %w", want.Name, err)
			default:
				log.Info("Node registered", "labels", len(want.Labels), "taints", len(want.Spec.Taints))
			}
			have = created
		}
		// The CSI node plugin registers after kubelet, on a Node that exists.
		return k.registerCSINode(ctx, log, have, wantCSI)
	case nodeStopped:
		if have == nil || have.Annotations[KwokNodeAnnotation] == "" {
			return nil
		}
		patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:null}}}`, KwokNodeAnnotation)
		if _, err := nodes.Patch(ctx, want.Name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("stopping the kubelet of node %s: %w", want.Name, err)
		}
		log.Info("Node's kubelet stopped: the node is no longer kept Ready")
	case nodeDeleted:
		if have != nil {
			err := nodes.Delete(ctx, want.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &have.UID}})
			if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
				return fmt.Errorf("deleting node %s: %w", want.Name, err)
			}
			log.Info("Node deleted: its instance is terminated")
		}
		return k.deleteCSINode(ctx, want.Name, id)
	}
	return nil
}
