// Package e2e holds Tailor's end-to-end suites. Each test runs the whole
// system: a real control plane with kube-controller-manager and kwok, the
// EC2 simulator its instances join from, the launcher, and kube-scheduler
// with the Tailor plugin. Most suites run the last two in this process; the
// crash, failover and burst suites (system.go, process.go) run bin/tailor as
// real child processes, to kill them. The tests drive it
// as a user does, with the seed's manifests and Deployments, and judge it
// by what a user can see: pods, nodes, NodeClaims, events and the
// simulated EC2 account.
//
// kube-scheduler keeps global state, so one scheduler runs in the process at
// a time: no test of this package is parallel with another. Subtests that
// share their parent's scheduler may run in parallel.
package e2e
