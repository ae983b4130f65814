package requirements

import (
	"slices"

	"github.com/tailor-project/tailor/apis/wellknown"
)

// Intersects reports whether r and other can hold on one node as far as the
// keys they share go: for each shared key some value, or a missing label,
// must satisfy both. Keys only one side constrains are not looked at; use
// Compatible when other's keys must also exist on r's nodes.
//
// The error lists every conflicting key in key order as *ConflictError
// values (errors.As finds the first). The check does not allocate when it
// succeeds.
func (r Requirements) Intersects(other Requirements) error {
	small, large := r, other
	if len(large) < len(small) {
		small, large = large, small
	}
	for key, a := range small {
		if b, ok := large[key]; ok && !a.intersects(b) {
			return r.conflicts(other, false)
		}
	}
	return nil
}

// Compatible reports whether a node made from r (a NodePool's or NodeClaim's
// requirements) can satisfy other (a pod's). It is Intersects plus one rule
// for keys r does not define: a node carries a custom label only if its pool
// puts it there, so other may need such a key present (In, Exists, Gt, Lt)
// only if it is well-known (wellknown.WellKnownLabels), which every node gets
// from its instance type and offering. NotIn and DoesNotExist on an undefined
// key are fine: a missing label satisfies them. A requirement of other that
// admits nothing at all is never compatible.
//
// The check is not symmetric. Errors are as for Intersects, with a nil
// Existing for an undefined key; success does not allocate.
func (r Requirements) Compatible(other Requirements) error {
	for key, b := range other {
		if !compatibleKey(r, key, b) {
			return r.conflicts(other, true)
		}
	}
	return nil
}

func compatibleKey(r Requirements, key string, b *Requirement) bool {
	if a, ok := r[key]; ok {
		return a.intersects(b)
	}
	if b.Empty() {
		return false
	}
	return b.absent || wellknown.WellKnownLabels.Has(key)
}

// conflicts builds the error of Intersects (or of Compatible, when
// undefined is true) once the fast path found there is one.
func (r Requirements) conflicts(other Requirements, undefined bool) error {
	var errs conflicts
	for key, b := range other {
		a, ok := r[key]
		switch {
		case ok && !a.intersects(b):
			errs = append(errs, &ConflictError{Key: key, Existing: a, Incoming: b})
		case !ok && undefined && !compatibleKey(r, key, b):
			errs = append(errs, &ConflictError{Key: key, Incoming: b})
		}
	}
	slices.SortFunc(errs, func(x, y error) int {
		kx, ky := x.(*ConflictError).Key, y.(*ConflictError).Key
		switch {
		case kx < ky:
			return -1
		case kx > ky:
			return 1
		}
		return 0
	})
	return errs
}

// MatchesLabels reports whether a node with exactly these labels satisfies
// every requirement, judged as Kubernetes node affinity would: a missing label
// satisfies NotIn and DoesNotExist and fails In, Exists, Gt and Lt.
//
// Pass the whole label set of the would-be node — instance type, offering
// (zone, capacity type), pool and template labels — since a key r holds that
// labels lack counts as a missing label. To judge only the keys an instance
// type speaks for, use r.Intersects(FromLabels(instanceTypeLabels)) instead.
//
// The error is the *IncompatibleError of the failing requirement with the
// smallest key, so that it is the same on every run. Success does not
// allocate.
func (r Requirements) MatchesLabels(labels map[string]string) error {
	var (
		failedKey string
		failed    *Requirement
		value     string
		absent    bool
	)
	for key, req := range r {
		v, ok := labels[key]
		if ok && req.Has(v) || !ok && req.absent {
			continue
		}
		if failed == nil || key < failedKey {
			failedKey, failed, value, absent = key, req, v, !ok
		}
	}
	if failed == nil {
		return nil
	}
	return &IncompatibleError{Key: failedKey, Requirement: failed, Value: value, Absent: absent}
}
