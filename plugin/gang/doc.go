// Package gang decides capacity for gangs: the pods of one PodGroup
// (sigs.k8s.io/scheduler-plugins' Coscheduling; a pod names its group in the
// scheduling.x-k8s.io/pod-group label), which start together or not at all.
//
// Coscheduling holds a gang's pods at Permit until minMember of them have a
// node. An autoscaler that buys for pods one by one would buy for the first
// pods of a gang whose last ones cannot be placed (a pool limit, no type that
// fits, a constraint), and the gang would never start while the nodes sit
// idle. Tailor decides capacity in the scheduler, for a batch at a time, so
// it can decide for a whole gang:
//
//   - a batch waits, within batchMaxDuration, until each of its gangs has
//     minMember pods pending, bound, or holding room on a NodeClaim (Short);
//   - the solve places every pending pod of a gang, or the gang is taken out
//     and the batch solved again without it, so no claim is bought for any
//     of its pods (Broken).
//
// A pod whose PodGroup does not exist gets nothing: Coscheduling refuses it
// at Permit too.
package gang
