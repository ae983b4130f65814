package requirements

import (
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/sets"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
	"github.com/tailor-project/tailor/apis/wellknown"
)

// Requirements maps label keys to the requirement on each; a node must meet
// all of them. A key that is not in the map is not constrained.
type Requirements map[string]*Requirement

// NewRequirements collects reqs by key, intersecting requirements that share
// a key.
func NewRequirements(reqs ...*Requirement) Requirements {
	r := make(Requirements, len(reqs))
	r.Add(reqs...)
	return r
}

// Add intersects each of reqs into r, in place: a key r already holds keeps
// both constraints. The stored requirements are replaced, never modified, so
// a Requirement shared with another map is unaffected.
func (r Requirements) Add(reqs ...*Requirement) {
	for _, req := range reqs {
		if existing, ok := r[req.Key]; ok {
			req = existing.Intersection(req)
		}
		r[req.Key] = req
	}
}

// Get returns the requirement on key. For a key r does not hold it returns a
// fresh unconstrained requirement: it admits every value and a missing label
// too, so it is the identity of Intersection and r.Get(k).Intersection(x)
// means x. Its Operator is Exists (nothing restricts the value) but, unlike a
// written Exists, AllowsAbsent is true, and it prints as
// "key Exists or DoesNotExist".
func (r Requirements) Get(key string) *Requirement {
	if req, ok := r[key]; ok {
		return req
	}
	return unconstrained(key)
}

// Has reports whether r constrains key.
func (r Requirements) Has(key string) bool {
	_, ok := r[key]
	return ok
}

// Keys returns the constrained keys.
func (r Requirements) Keys() sets.Set[string] {
	keys := make(sets.Set[string], len(r))
	for k := range r {
		keys.Insert(k)
	}
	return keys
}

// sortedKeys returns the keys in order, for output that must be stable.
func (r Requirements) sortedKeys() []string {
	keys := make([]string, 0, len(r))
	for k := range r {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Labels returns the labels the requirements decide: every key whose
// requirement admits exactly one value (In with one value), mapped to that
// value. A node built for r will carry these labels whichever instance type
// and zone it gets.
//
// Keys whose value is still open (several values, NotIn, Exists, Gt, Lt) are
// left out: picking one is the launcher's choice, made with the instance type
// and offering at hand, and inventing a value here would label a node with
// something no one asked for. Keys in wellknown.RestrictedLabels are left out
// too — the hostname is the node's own, the node class, initialized and
// registered labels are written by Tailor as the node's lifecycle progresses —
// except karpenter.sh/nodepool, which every node of a pool carries from the
// start (FromNodePool pins it).
func (r Requirements) Labels() map[string]string {
	labels := make(map[string]string)
	for key, req := range r {
		if key != wellknown.NodePoolLabel && wellknown.RestrictedLabels.Has(key) {
			continue
		}
		if !req.complement && len(req.values) == 1 {
			labels[key] = req.values[0]
		}
	}
	return labels
}

// NodeSelectorRequirements spells r as node selector expressions, sorted by
// key, that FromNodeSelectorRequirementsWithMinValues turns back into the same
// requirements. Most keys take one expression; a key whose requirement the
// core operators cannot say at once takes two or three (Exists and NotIn, Gt
// and Lt), all of which Kubernetes ANDs. A key left unconstrained (only
// possible by adding what Get returned for a missing key) has no spelling and
// is omitted, which means the same.
func (r Requirements) NodeSelectorRequirements() []karpv1.NodeSelectorRequirementWithMinValues {
	out := make([]karpv1.NodeSelectorRequirementWithMinValues, 0, len(r))
	for _, key := range r.sortedKeys() {
		out = r[key].appendNodeSelectorRequirements(out)
	}
	return out
}

// String lists the requirements sorted by key, separated by ", ".
func (r Requirements) String() string {
	parts := make([]string, 0, len(r))
	for _, key := range r.sortedKeys() {
		parts = append(parts, r[key].String())
	}
	return strings.Join(parts, ", ")
}
