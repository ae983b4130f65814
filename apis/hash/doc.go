// Package hash digests the static fields of a NodePool's template and of an
// EC2NodeClass: the fields that shape a node once and for all when it is
// launched, so that a change to any of them makes the node out of date
// (drifted). Both sides of Tailor use it: the scheduler plugin stamps the
// pool's hash on every NodeClaim it writes, the launcher stamps the class's
// hash when it launches the claim, and the launcher's controllers annotate
// each NodePool and EC2NodeClass with its current hash and compare.
//
// Fields that are resolved rather than copied onto a node drift in their own
// way and are left out: a pool's requirements (a node drifts only when its
// labels stop satisfying them), a class's subnet, security group and AMI
// selector terms (a node drifts when what they resolve to no longer includes
// its subnet, groups or image). Behavioural fields (expireAfter, limits,
// disruption, weight) say nothing about a node and are left out too.
//
// A hash is the FNV-1a digest of a canonical JSON form: maps in key order,
// lists that are sets (taints, block device mappings) sorted, empty and
// absent values alike, durations and quantities in their canonical
// spelling. Two objects that mean the same node hash the same however they
// were written. The form has a version; a change to what is hashed, or to
// how, must bump it, so that nodes are not all declared drifted by an
// upgrade of Tailor.
package hash
