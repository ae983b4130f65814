// Package interruption reads the SQS queue that EventBridge fills with what
// AWS says about EC2 instances, and acts on the NodeClaims of the instances
// concerned before EC2 takes them:
//
//   - a spot interruption warning, a scheduled change (AWS Health) and a
//     state change to stopping, stopped, shutting-down or terminated taint
//     the node karpenter.sh/disrupted:NoSchedule, mark the claim
//     Interrupted, and delete the claim, whose termination drains the node
//     through the Eviction API within the time left: until two minutes
//     after a spot warning, none for an instance stopping or gone (its pods
//     are deleted at once), the claim's terminationGracePeriod otherwise.
//     A spot warning also takes the spot offering (type, zone) away, in the
//     launcher's catalog and on the claim for the scheduler plugin's;
//   - a rebalance recommendation only records an event on the node and the
//     claim.
//
// Messages are long-polled, handled in parallel, and deleted only once
// handled, so a launcher that dies mid-way leaves them for the next one.
// Handling is idempotent: SQS delivers at least once. A queue that cannot be
// read is retried with backoff and reported by the readiness check, while
// the rest of the launcher goes on.
package interruption
