// Package drift finds the NodeClaims whose nodes are no longer what their
// NodePool and EC2NodeClass would launch today, and marks them with the
// condition Drifted and a reason:
//
//   - NodePoolDrifted: the static fields of the pool's template changed
//     (the pool's hash is not the one stamped on the claim);
//   - RequirementsDrifted: the claim's labels no longer satisfy the pool's
//     requirements (a zone or an instance category removed, say);
//   - NodeClassDrift: the static fields of the class changed;
//   - AMIDrift: the class no longer resolves to the image the instance runs
//     for its instance type (a new release behind al2023@latest, say);
//   - SecurityGroupDrift and SubnetDrift: the instance's security groups
//     are not those the class selects, or its subnet is no longer selected.
//
// The condition is removed when none holds any more. Only launched claims
// drift. Marking is all this package does: replacing drifted nodes is a
// scheduling decision, taken by the disruption loop beside the scheduler
// plugin within the pool's disruption budgets.
//
// The hash controllers keep each NodePool and EC2NodeClass annotated with
// the hash of its static fields (package apis/hash) and its version. When
// the version changes with an upgrade of Tailor, the claims are stamped
// with the new hash instead of being declared drifted, since hashes of
// different versions cannot be compared.
package drift
