package gang

import (
	"context"
	"fmt"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	corelisters "k8s.io/client-go/listers/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/scheduler-plugins/apis/scheduling/v1alpha1"
)

// Label names a pod's PodGroup, as Coscheduling reads it.
const Label = v1alpha1.PodGroupLabel

// Key names a PodGroup.
type Key struct{ Namespace, Name string }

func (k Key) String() string { return k.Namespace + "/" + k.Name }

// KeyOf is the PodGroup a pod belongs to, if any.
func KeyOf(p *corev1.Pod) (Key, bool) {
	name := p.Labels[Label]
	if name == "" {
		return Key{}, false
	}
	return Key{Namespace: p.Namespace, Name: name}, true
}

// Gang is one PodGroup's part of a batch.
type Gang struct {
	Key
	// MinMember is how many of its pods must run for any to start.
	MinMember int
	// Timeout is the PodGroup's scheduleTimeoutSeconds, zero when unset.
	Timeout time.Duration
	// Pending are its pods that need capacity: those in the batch, and
	// those waiting elsewhere (in a retry, or not yet tried) that are
	// neither bound nor provided for, which join the batch so the gang is
	// decided at once.
	Pending []*corev1.Pod
	// Provided counts its pods that are bound to a node, hold room on a
	// NodeClaim, or wait at Permit with a node chosen.
	Provided int
}

// Short is how many more pods the gang needs before it can start: pods its
// controller has not created yet.
func (g *Gang) Short() int {
	return max(0, g.MinMember-len(g.Pending)-g.Provided)
}

// Source reads what a batch's gangs are made of.
type Source struct {
	// PodGroups reads PodGroups.
	PodGroups client.Reader
	// Pods lists the pods of a group.
	Pods corelisters.PodLister
	// Provided says whether an unbound pod has a node coming: room held on
	// a NodeClaim, or a node chosen while it waits at Permit.
	Provided func(*corev1.Pod) bool
}

// Batch is a batch split by gang.
type Batch struct {
	// Plain are the pods of no gang.
	Plain []*corev1.Pod
	// Gangs are the batch's gangs whose PodGroup was read, by name.
	Gangs []*Gang
	// Unknown are the pods whose PodGroup could not be read, with why.
	Unknown map[*corev1.Pod]error
}

// Split splits a batch by gang.
func (s Source) Split(ctx context.Context, pods []*corev1.Pod) Batch {
	out := Batch{Unknown: map[*corev1.Pod]error{}}
	byKey := map[Key]*Gang{}
	failed := map[Key]error{}
	for _, p := range pods {
		k, ok := KeyOf(p)
		if !ok {
			out.Plain = append(out.Plain, p)
			continue
		}
		if err, ok := failed[k]; ok {
			out.Unknown[p] = err
			continue
		}
		g, ok := byKey[k]
		if !ok {
			var err error
			if g, err = s.Read(ctx, k); err != nil {
				failed[k] = err
				out.Unknown[p] = err
				continue
			}
			byKey[k] = g
			out.Gangs = append(out.Gangs, g)
		}
		g.Pending = append(g.Pending, p)
	}
	for _, g := range out.Gangs {
		s.siblings(g)
	}
	sort.Slice(out.Gangs, func(i, j int) bool { return out.Gangs[i].String() < out.Gangs[j].String() })
	return out
}

// Read reads a gang's PodGroup.
func (s Source) Read(ctx context.Context, k Key) (*Gang, error) {
	var pg v1alpha1.PodGroup
	err := s.PodGroups.Get(ctx, client.ObjectKey{Namespace: k.Namespace, Name: k.Name}, &pg)
	switch {
	case apierrors.IsNotFound(err):
		return nil, fmt.Errorf("PodGroup %s does not exist: Coscheduling would not let the pod start", k)
	case meta.IsNoMatchError(err):
		return nil, fmt.Errorf("pod names PodGroup %s, but the PodGroup CRD (scheduling.x-k8s.io) is not installed", k)
	case err != nil:
		return nil, fmt.Errorf("reading PodGroup %s: %w", k, err)
	}
	g := &Gang{Key: k, MinMember: int(max(pg.Spec.MinMember, 1))}
	if t := pg.Spec.ScheduleTimeoutSeconds; t != nil && *t > 0 {
		g.Timeout = time.Duration(*t) * time.Second
	}
	return g, nil
}

// siblings counts the gang's pods outside the batch that are provided for,
// and adds those that are not to Pending.
func (s Source) siblings(g *Gang) {
	pods, err := s.Pods.Pods(g.Namespace).List(labels.SelectorFromSet(labels.Set{Label: g.Name}))
	if err != nil {
		return
	}
	inBatch := map[types.UID]bool{}
	for _, p := range g.Pending {
		inBatch[p.UID] = true
	}
	sort.Slice(pods, func(i, j int) bool { return pods[i].Name < pods[j].Name })
	for _, p := range pods {
		switch {
		case inBatch[p.UID] || p.DeletionTimestamp != nil || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed:
		case p.Spec.NodeName != "" || (s.Provided != nil && s.Provided(p)):
			g.Provided++
		default:
			g.Pending = append(g.Pending, p)
		}
	}
}

// AnyShort reports whether some gang of the batch needs more pods.
func (b Batch) AnyShort() bool {
	for _, g := range b.Gangs {
		if g.Short() > 0 {
			return true
		}
	}
	return false
}

// Broken returns the gangs the solve could not place whole, each with the
// reason of one of its unplaced pods; nil when every gang is whole.
func Broken(gangs []*Gang, unplaced map[*corev1.Pod]error) map[*Gang]error {
	if len(unplaced) == 0 {
		return nil
	}
	byUID := map[types.UID]error{}
	for p, err := range unplaced {
		byUID[p.UID] = err
	}
	var out map[*Gang]error
	for _, g := range gangs {
		// The first pod in the gang's order, so the reason told is stable.
		for _, p := range g.Pending {
			if err, ok := byUID[p.UID]; ok {
				if out == nil {
					out = map[*Gang]error{}
				}
				out[g] = fmt.Errorf("pod %s: %w", p.Name, err)
				break
			}
		}
	}
	return out
}
