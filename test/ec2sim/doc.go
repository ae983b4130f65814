// Package ec2sim is a simulated AWS account for Tailor's tests and demos: one
// HTTP endpoint that answers the real aws-sdk-go-v2 clients of EC2, SQS, SSM,
// Pricing, IAM and STS, and a kubelet side that turns the instances it launches
// into Nodes of a real API server.
//
// The simulator exists so that the launcher is tested through the same SDK
// calls, wire formats and error codes it meets in AWS, not through a Go
// interface that a fake implements: an SDK client configured with the
// simulator's URL as its endpoint cannot tell the difference for the calls
// Tailor makes. Requests are routed by the service name in their SigV4
// credential scope, so a single AWS_ENDPOINT_URL serves every client.
//
// Its world is seeded from the instance-type facts and on-demand prices
// compiled into launcher/catalog, plus a small VPC in three zones of
// us-east-1, the EKS-optimized AMIs of every alias family, and synthesized
// spot prices. An instance boots after a delay, reads its launch template's
// user data as a node would (nodeadm, bootstrap.sh, Bottlerocket TOML, the
// Windows EKS script) and registers a Node with the labels, taints and
// reservations found there, annotated so that kwok keeps it Ready and runs its
// pods. Faults — insufficient capacity, throttling, instances that never
// join, spot interruptions and the other EventBridge events — are injected
// through Options or the admin endpoint under /_sim/.
//
// Time in the simulator is its own Clock, which may run faster than real time
// and be advanced, so that a two-minute spot interruption notice passes in a
// test in seconds.
package ec2sim
