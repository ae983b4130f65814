package tailor

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
)

// Provisioning that fails for a reason that may pass (the API server
// refused a write, a cache could not be read) is retried per pod with
// exponential backoff, from retryBaseDelay up to retryMaxDelay, until the pod
// is provided for or told why it cannot be: such a pod must not wait for an
// unrelated event or the scheduler's five-minute flush.
const (
	retryBaseDelay = time.Second
	retryMaxDelay  = 2 * time.Minute
)

// ReasonProvisioningFailed is the event reason on a pod whose provisioning
// failed and is retried.
const ReasonProvisioningFailed = "ProvisioningFailed"

// podRef names a pod in the retry queue: by name to find it again, by uid so
// a new pod of the same name does not inherit the old one's backoff.
type podRef struct {
	namespace, name string
	uid             types.UID
}

func refOf(p *corev1.Pod) podRef { return podRef{namespace: p.Namespace, name: p.Name, uid: p.UID} }

// retryQueue delays each pod by its own backoff: the rate limiter keeps
// the failures per pod, the delaying queue hands the pod back when its time
// comes.
type retryQueue struct {
	limiter workqueue.TypedRateLimiter[podRef]
	queue   workqueue.TypedDelayingInterface[podRef]
}

func newRetryQueue() *retryQueue {
	return &retryQueue{
		limiter: workqueue.NewTypedItemExponentialFailureRateLimiter[podRef](retryBaseDelay, retryMaxDelay),
		queue:   workqueue.NewTypedDelayingQueueWithConfig(workqueue.TypedDelayingQueueConfig[podRef]{Name: "tailor-provisioning-retries"}),
	}
}

// Forget ends a pod's backoff.
func (q *retryQueue) Forget(ref podRef) { q.limiter.Forget(ref) }

// retryLater puts pods back into a later batch, each after its own backoff,
// and tells them why.
func (t *Tailor) retryLater(ctx context.Context, pods []*corev1.Pod, err error) {
	for _, p := range pods {
		ref := refOf(p)
		delay := t.retries.limiter.When(ref)
		t.retries.queue.AddAfter(ref, delay)
		klog.FromContext(ctx).Info("Provisioning for pod failed; retrying", "pod", klog.KObj(p), "in", delay, "err", err)
		t.explain(p, corev1.EventTypeWarning, ReasonProvisioningFailed, err.Error()+"; retrying")
	}
}

// placed ends the backoff of pods provided for, or told why they cannot be.
func (t *Tailor) placed(pods []*corev1.Pod) {
	for _, p := range pods {
		t.retries.Forget(refOf(p))
	}
}

// runRetries hands pods whose backoff ran out to the batcher, as PostFilter
// would, if they still need a node.
func (t *Tailor) runRetries(ctx context.Context) {
	go func() {
		<-ctx.Done()
		t.retries.queue.ShutDown()
	}()
	lister := t.handle.SharedInformerFactory().Core().V1().Pods().Lister()
	for {
		ref, shutdown := t.retries.queue.Get()
		if shutdown {
			return
		}
		p, err := lister.Pods(ref.namespace).Get(ref.name)
		_, reserved := t.ledger.Of(ref.uid)
		if err != nil || p.UID != ref.uid || p.Spec.NodeName != "" || p.DeletionTimestamp != nil || reserved {
			t.retries.Forget(ref)
		} else {
			t.batcher.Add(p)
		}
		t.retries.queue.Done(ref)
	}
}
