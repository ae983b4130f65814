// Package solver decides which nodes to buy for a batch of pods that fit on
// no existing node: how many, from which NodePool, of which instance types,
// and which pods go on each.
//
// It packs to minimise the total hourly price, not the node count. Instance
// prices grow about linearly with size, so what a packing wastes is what it
// rents and leaves idle: the part of a node kubelet reserves, daemons, and the
// room pods leave over. When the solver opens a node it therefore chooses its
// size by the price per pod for the pods of the same kind still to place
// (ten 1-CPU pods make one 8-vCPU node for seven and one 4-vCPU node for
// three, not four 4-vCPU nodes, nor one 16-vCPU node); later pods fill the
// room that is left at no cost, or grow a node when that costs less than a
// node of their own. Each node is finally given every instance type that can
// hold its pods, cheapest first, so the launcher keeps a choice of offerings
// when some run out of capacity.
//
// Whether a pod may share a node with others is not decided here: the
// solver asks a Checker, which runs the scheduler profile's own Filter
// plugins on the hypothetical node (package plugin/simulate). The solver
// itself judges only what the framework cannot see on a node that does not
// exist yet: which instance types, zones and capacity types remain possible
// (the requirement algebra), and whether some type has the room.
package solver
