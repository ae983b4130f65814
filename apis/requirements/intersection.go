package requirements

// Intersection returns the requirement a node satisfies exactly when it
// satisfies both r and other: the values both admit, and absence only when
// both allow it. MinValues is the larger of the two. The result carries r's
// Key; intersecting requirements on different keys is a caller's mistake and
// is not checked.
//
// Intersection is commutative and associative in meaning (the String of the
// result does not depend on the order). It allocates the result, a copy of
// MinValues when one is set, and a new value slice only when the result's
// values differ from both operands'.
func (r *Requirement) Intersection(other *Requirement) *Requirement {
	out := &Requirement{
		Key:       r.Key,
		MinValues: maxMinValues(r.MinValues, other.MinValues),
		absent:    r.absent && other.absent,
	}
	switch {
	case !r.complement && !other.complement:
		out.values = intersectSorted(r.values, other.values)
	case !r.complement:
		out.values = filterAdmitted(r.values, other)
	case !other.complement:
		out.values = filterAdmitted(other.values, r)
	default:
		out.complement = true
		out.values = unionSorted(r.values, other.values)
		if r.bounded || other.bounded {
			lo, hi := jointBounds(r, other)
			out.bounded, out.lo, out.hi = true, lo, hi
			out.normaliseBounds()
		}
	}
	return out
}

// intersects reports, without allocating, whether r.Intersection(other) would
// be satisfiable (not Empty).
func (r *Requirement) intersects(other *Requirement) bool {
	if r.absent && other.absent {
		return true
	}
	switch {
	case !r.complement && !other.complement:
		return overlapSorted(r.values, other.values)
	case !r.complement:
		return anyAdmitted(r.values, other)
	case !other.complement:
		return anyAdmitted(other.values, r)
	case r.bounded || other.bounded:
		// A non-empty integer range is never used up by finitely many
		// exclusions: every integer has endless spellings ("6", "06", ...).
		lo, hi := jointBounds(r, other)
		return lo <= hi
	default:
		return true
	}
}

// jointBounds intersects the integer ranges of two complement requirements,
// of which at least one is bounded.
func jointBounds(a, b *Requirement) (lo, hi int64) {
	switch {
	case !a.bounded:
		return b.lo, b.hi
	case !b.bounded:
		return a.lo, a.hi
	}
	return max(a.lo, b.lo), min(a.hi, b.hi)
}

// normaliseBounds restores the invariants of a bounded complement: an empty
// range admits nothing, and excluded values the range already rules out are
// dropped, so that equal meanings print equally.
func (r *Requirement) normaliseBounds() {
	if r.lo > r.hi {
		*r = Requirement{Key: r.Key, MinValues: r.MinValues}
		return
	}
	n := 0
	for _, v := range r.values {
		if r.inBounds(v) {
			n++
		}
	}
	if n == len(r.values) {
		return
	}
	kept := make([]string, 0, n)
	for _, v := range r.values {
		if r.inBounds(v) {
			kept = append(kept, v)
		}
	}
	if len(kept) == 0 {
		kept = nil
	}
	r.values = kept
}

func maxMinValues(a, b *int) *int {
	switch {
	case a == nil:
		return copyInt(b)
	case b == nil || *a >= *b:
		return copyInt(a)
	default:
		return copyInt(b)
	}
}

// The helpers below work on sorted, duplicate-free slices. They count before
// they allocate and hand back an operand unchanged when the result equals it;
// that is safe because value slices are never modified once built.

func intersectSorted(a, b []string) []string {
	n := 0
	for i, j := 0, 0; i < len(a) && j < len(b); {
		switch {
		case a[i] < b[j]:
			i++
		case a[i] > b[j]:
			j++
		default:
			n++
			i++
			j++
		}
	}
	switch n {
	case 0:
		return nil
	case len(a):
		return a
	case len(b):
		return b
	}
	out := make([]string, 0, n)
	for i, j := 0, 0; i < len(a) && j < len(b); {
		switch {
		case a[i] < b[j]:
			i++
		case a[i] > b[j]:
			j++
		default:
			out = append(out, a[i])
			i++
			j++
		}
	}
	return out
}

func overlapSorted(a, b []string) bool {
	for i, j := 0, 0; i < len(a) && j < len(b); {
		switch {
		case a[i] < b[j]:
			i++
		case a[i] > b[j]:
			j++
		default:
			return true
		}
	}
	return false
}

func unionSorted(a, b []string) []string {
	n := 0
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] < b[j]:
			i++
		case a[i] > b[j]:
			j++
		default:
			i++
			j++
		}
		n++
	}
	n += len(a) - i + len(b) - j
	switch n {
	case len(a):
		return a
	case len(b):
		return b
	}
	out := make([]string, 0, n)
	i, j = 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] < b[j]:
			out = append(out, a[i])
			i++
		case a[i] > b[j]:
			out = append(out, b[j])
			j++
		default:
			out = append(out, a[i])
			i++
			j++
		}
	}
	out = append(out, a[i:]...)
	return append(out, b[j:]...)
}

// filterAdmitted keeps the values of a finite set that r admits.
func filterAdmitted(values []string, r *Requirement) []string {
	n := 0
	for _, v := range values {
		if r.Has(v) {
			n++
		}
	}
	switch n {
	case 0:
		return nil
	case len(values):
		return values
	}
	out := make([]string, 0, n)
	for _, v := range values {
		if r.Has(v) {
			out = append(out, v)
		}
	}
	return out
}

func anyAdmitted(values []string, r *Requirement) bool {
	for _, v := range values {
		if r.Has(v) {
			return true
		}
	}
	return false
}
