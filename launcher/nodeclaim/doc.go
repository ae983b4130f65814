// Package nodeclaim brings NodeClaims to life, one controller per step:
//
//   - Launch gives a claim an EC2 instance, once its EC2NodeClass is Ready,
//     and records the instance, its type, zone, capacity type and resources
//     on the claim (condition Launched).
//   - Registration links the Node that joins with the claim's provider id:
//     labels, owner reference, finalizer, and the karpenter.sh/unregistered
//     taint lifted (condition Registered).
//   - Initialization waits for the Node to be Ready, its startup taints to
//     be gone and its extended resources to be advertised (condition
//     Initialized).
//   - Liveness deletes the claims that will not become nodes: those no
//     offering could be launched for, after a short backoff, so that the
//     scheduler decides again; and those whose node did not register in
//     time.
//
// Each step writes its condition; all of them keep the claim's Ready
// condition, which kubectl shows, in line with Launched, Registered and
// Initialized. Every decision a person may wonder about is an event on the
// claim.
package nodeclaim
