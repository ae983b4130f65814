// Package reservation keeps the capacity Tailor bought for pods reserved for
// them until they bind: which pods each in-flight NodeClaim was bought for,
// which node the claim became, and how much of that node is promised to pods
// not yet bound. The scheduler plugin consults it at Filter (no pod takes
// room bought for another), Score (a pod goes to its own node), PostFilter
// (a pod already provided for waits) and Reserve (a binding consumes or
// releases a reservation).
//
// The ledger is in memory; each claim also records its pods in an
// annotation, so a restarted scheduler rebuilds the ledger from the claims
// instead of buying capacity again.
package reservation
