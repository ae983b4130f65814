// Package fleet launches the instance of a NodeClaim with one CreateFleet
// call of type instant: every allowed instance type in every allowed zone is
// an override, so that EC2 picks the cheapest pool that has capacity in one
// round trip instead of the launcher trying pools one by one.
//
// On-demand capacity is asked for with the lowest-price strategy and spot
// with price-capacity-optimized. A claim that allows both gets spot whenever
// some spot offering is available; a claim that allows only on-demand never
// gets spot.
//
// A launch is idempotent. The instance carries the karpenter.sh/nodeclaim
// tag, and a launch first looks for an instance with the claim's tag: a
// launcher that died between CreateFleet and recording the instance on the
// claim adopts the instance instead of launching a second one. The client
// token of CreateFleet is the claim's UID, so that a request the SDK retries
// after a lost response is not carried out twice either.
//
// Offerings EC2 refuses for lack of capacity are marked unavailable in the
// catalog and returned, so that the caller can tell the scheduler; when no
// offering has capacity the launch fails with a NotLaunchableError.
package fleet
