package requirements

import (
	"fmt"
	"strconv"
	"strings"
)

// IncompatibleError says why a node with given labels does not satisfy a
// requirement. Its text names the requirement and the offending value, e.g.
//
//	karpenter.k8s.aws/instance-generation Gt 5 excludes "5"
//	requires kubernetes.io/arch In [arm64], label absent
//
// and leaves the subject (an instance type, a node) to the caller, who may
// wrap it: fmt.Errorf("%s: %w", "m5.large", err).
type IncompatibleError struct {
	// Key is the label key whose requirement failed.
	Key string
	// Requirement is the requirement that failed.
	Requirement *Requirement
	// Value is the label's value; meaningless when Absent.
	Value string
	// Absent is true when the label was missing and the requirement needs it.
	Absent bool
}

func (e *IncompatibleError) Error() string {
	if e.Absent {
		return "requires " + e.Requirement.String() + ", label absent"
	}
	return e.Requirement.String() + " excludes " + strconv.Quote(e.Value)
}

// ConflictError says two requirement sets cannot hold on one node because of
// the requirements on one key.
type ConflictError struct {
	// Key is the label key in conflict.
	Key string
	// Existing is the receiver's requirement on Key; nil when Compatible found
	// that the receiver does not define Key.
	Existing *Requirement
	// Incoming is the argument's requirement on Key.
	Incoming *Requirement
}

func (e *ConflictError) Error() string {
	switch {
	case e.Existing != nil:
		return fmt.Sprintf("key %q: %s and %s cannot both hold", e.Key, e.Existing, e.Incoming)
	case e.Incoming.Empty():
		return fmt.Sprintf("key %q: %s admits nothing", e.Key, e.Incoming)
	default:
		return fmt.Sprintf("key %q: %s needs the label, which is neither defined nor well-known, so no node would carry it", e.Key, e.Incoming)
	}
}

// conflicts is every ConflictError of one comparison, sorted by key. It
// unwraps to them, so errors.As finds the first.
type conflicts []error

func (c conflicts) Error() string {
	parts := make([]string, len(c))
	for i, err := range c {
		parts[i] = err.Error()
	}
	return strings.Join(parts, "; ")
}

func (c conflicts) Unwrap() []error { return c }
