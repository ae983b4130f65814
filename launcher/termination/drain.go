package termination

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tailor-project/tailor/apis/wellknown"
	"github.com/tailor-project/tailor/launcher/fieldindex"
)

// stuckAfter is how long past its own deletion deadline a terminating pod
// is waited for; a pod still there then sits on a node whose kubelet is
// gone, and will never finish.
const stuckAfter = time.Minute

// Drainer evicts the pods of a node.
type Drainer struct {
	Client   client.Client
	Recorder record.EventRecorder
	Clock    clock.PassiveClock
}

// Drain moves the node's pods along and reports how many of those that must
// leave are still there; zero means the node is drained. Events about pods
// go to about, the node's claim or the node itself.
//
// Before the deadline pods are evicted in order; a pod whose own grace
// period would run past the deadline is deleted instead, with a grace period
// that ends at the deadline. Without a deadline the drain waits as long as
// budgets and do-not-disrupt pods make it.
func (d *Drainer) Drain(ctx context.Context, node *corev1.Node, about client.Object, deadline *time.Time) (int, error) {
	pods := &corev1.PodList{}
	if err := d.Client.List(ctx, pods, client.MatchingFields{fieldindex.PodNodeName: node.Name}); err != nil {
		return 0, fmt.Errorf("listing the pods of node %s: %w", node.Name, err)
	}
	now := d.Clock.Now()
	var waiting []*corev1.Pod
	var errs []error
	for i := range pods.Items {
		pod := &pods.Items[i]
		if !mustLeave(pod, now) {
			continue
		}
		waiting = append(waiting, pod)
		if deadline != nil && pod.DeletionTimestamp.IsZero() && !now.Add(podGrace(pod)).Before(*deadline) {
			errs = append(errs, d.deleteBy(ctx, pod, about, *deadline, now))
		}
	}
	// Only the first group is evicted; the next waits until it is gone.
	if groups := evictionGroups(waiting); len(groups) > 0 {
		for _, pod := range groups[0] {
			if !pod.DeletionTimestamp.IsZero() {
				continue
			}
			if pod.Annotations[wellknown.DoNotDisruptAnnotation] == "true" {
				d.Recorder.Eventf(about, corev1.EventTypeNormal, "DrainBlocked",
					"Pod %s/%s has %s; it is not evicted, and leaves when the termination grace period ends", pod.Namespace, pod.Name, wellknown.DoNotDisruptAnnotation)
				continue
			}
			errs = append(errs, d.evict(ctx, pod, about))
		}
	}
	return len(waiting), errors.Join(errs...)
}

// mustLeave reports whether a pod has to be gone before the node goes.
// Finished pods, the mirrors of static pods, pods that tolerate the
// disrupted taint (they would come right back) and pods stuck terminating
// on a dead kubelet do not.
func mustLeave(pod *corev1.Pod, now time.Time) bool {
	if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return false
	}
	if _, mirror := pod.Annotations[corev1.MirrorPodAnnotationKey]; mirror {
		return false
	}
	for _, t := range pod.Spec.Tolerations {
		if t.ToleratesTaint(&wellknown.DisruptedNoScheduleTaint) {
			return false
		}
	}
	if !pod.DeletionTimestamp.IsZero() && now.After(pod.DeletionTimestamp.Add(stuckAfter)) {
		return false
	}
	return true
}

// evictionGroups orders the pods that must leave into the groups evicted
// one after the other: ordinary pods, critical pods, ordinary DaemonSet
// pods, critical DaemonSet pods. Empty groups are left out.
func evictionGroups(pods []*corev1.Pod) [][]*corev1.Pod {
	groups := make([][]*corev1.Pod, 4)
	for _, pod := range pods {
		i := 0
		if critical(pod) {
			i++
		}
		if ownedByDaemonSet(pod) {
			i += 2
		}
		groups[i] = append(groups[i], pod)
	}
	var out [][]*corev1.Pod
	for _, g := range groups {
		if len(g) > 0 {
			out = append(out, g)
		}
	}
	return out
}

func critical(pod *corev1.Pod) bool {
	switch pod.Spec.PriorityClassName {
	case "system-cluster-critical", "system-node-critical":
		return true
	}
	return false
}

func ownedByDaemonSet(pod *corev1.Pod) bool {
	ref := metav1.GetControllerOf(pod)
	return ref != nil && ref.Kind == "DaemonSet"
}

// podGrace is the pod's termination grace period, kubelet's 30s default
// when unset.
func podGrace(pod *corev1.Pod) time.Duration {
	if s := pod.Spec.TerminationGracePeriodSeconds; s != nil {
		return time.Duration(*s) * time.Second
	}
	return corev1.DefaultTerminationGracePeriodSeconds * time.Second
}

// evict asks the API server to evict a pod, which it refuses (429) while a
// PodDisruptionBudget does not allow it; the next drain pass asks again.
func (d *Drainer) evict(ctx context.Context, pod *corev1.Pod, about client.Object) error {
	err := d.Client.SubResource("eviction").Create(ctx, pod, &policyv1.Eviction{
		ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace},
	})
	switch {
	case err == nil:
		d.Recorder.Eventf(about, corev1.EventTypeNormal, "Evicted", "Evicted pod %s/%s", pod.Namespace, pod.Name)
		return nil
	case apierrors.IsNotFound(err):
		return nil
	case apierrors.IsTooManyRequests(err):
		d.Recorder.Eventf(about, corev1.EventTypeNormal, "EvictionBlocked",
			"Pod %s/%s is not evicted yet: %v", pod.Namespace, pod.Name, err)
		return nil
	}
	return fmt.Errorf("evicting pod %s/%s: %w", pod.Namespace, pod.Name, err)
}

// deleteBy deletes a pod so that its grace period ends by the deadline.
func (d *Drainer) deleteBy(ctx context.Context, pod *corev1.Pod, about client.Object, deadline, now time.Time) error {
	grace := int64(math.Max(0, math.Ceil(deadline.Sub(now).Seconds())))
	if own := int64(podGrace(pod).Seconds()); own < grace {
		grace = own
	}
	err := d.Client.Delete(ctx, pod, client.GracePeriodSeconds(grace), client.Preconditions{UID: &pod.UID})
	if client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("deleting pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	d.Recorder.Eventf(about, corev1.EventTypeWarning, "TerminationGracePeriodExpiring",
		"Deleted pod %s/%s with a grace period of %ds: the termination grace period ends at %s", pod.Namespace, pod.Name, grace, deadline.Format(time.RFC3339))
	pod.DeletionTimestamp = &metav1.Time{Time: now}
	return nil
}
