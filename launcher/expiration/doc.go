// Package expiration deletes the NodeClaims that have lived longer than
// their expireAfter. Expiry is forceful, as in Karpenter v1: it does not
// wait for the pool's disruption budgets, nor for a replacement. Deleting
// the claim hands it to the launcher's termination, which drains the node
// through the Eviction API, honouring PodDisruptionBudgets and
// karpenter.sh/do-not-disrupt until the claim's terminationGracePeriod runs
// out, and then terminates the instance.
//
// It also deletes the NodeClaims that run in a Capacity Block for ML once
// the block is within ec2v1.CapacityBlockExpiryLead of its end, before EC2
// reclaims the instances, the same way.
package expiration
