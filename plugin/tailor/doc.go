// Package tailor is the Tailor scheduler plugin. It decides, at scheduling
// time and with the scheduler's own logic, which nodes to buy for pods that
// fit on no node, and keeps the bought capacity for the pods it was bought
// for.
//
// At PostFilter a pod that fits nowhere joins a batch. When the batch has
// been idle for batchIdleDuration, or open for batchMaxDuration, the solver
// (package plugin/solver) packs the batch into new nodes at the least hourly
// price, judging every placement with the profile's own Filter plugins on
// hypothetical nodes (package plugin/simulate), and the plugin writes each
// node as a NodeClaim for the launcher. The pods of a claim hold
// reservations on it (package plugin/reservation): Filter keeps other pods
// out of the room they were promised, Score steers each pod to its own node,
// and Reserve consumes the reservation when the pod binds there or releases
// it when the pod binds elsewhere; a claim nobody needs any more is
// withdrawn before it launches.
//
// Why here: an autoscaler outside the scheduler predicts what the scheduler
// will do and is sometimes wrong, leaving nodes no pod uses or pods pending.
// Inside the scheduler there is one opinion, the framework's.
//
// Order with DefaultPreemption: PostFilter plugins run in the profile's
// order until one succeeds or rejects for good. By default (provisioning
// after preemption) DefaultPreemption comes first and Tailor buys capacity
// only for pods preemption could not place, so priorities keep their
// meaning. With provisionBeforePreemption, Tailor comes first and ends the
// PostFilter phase (UnschedulableAndUnresolvable) once it has provided for
// the pod, so no pod is evicted for one that is getting a node of its own;
// the profile must then list Tailor before DefaultPreemption, which the
// plugin checks, and logs an error about, the first time it runs.
package tailor
