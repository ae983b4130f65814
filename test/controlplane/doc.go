// Package controlplane runs a real Kubernetes control plane on loopback for
// tests and for the local cluster: etcd, kube-apiserver and, on request,
// kube-controller-manager and kwok, built from Go modules by
// hack/build-bins.sh. Every instance takes its own free ports and its own
// directory, so many test binaries can run at once, and it installs Tailor's
// CRDs before it hands back a rest.Config.
package controlplane
