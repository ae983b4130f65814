// Package manager wires the launcher: one controller-runtime manager with
// leader election, health and metrics endpoints, the cache indexes, and
// every controller of the launcher (node classes, NodeClaim lifecycle,
// termination, drift, expiration, NodePool status, and, given a queue,
// interruption handling) plus garbage collection, all sharing the AWS
// clients and the instance-type catalog they are given.
package manager
