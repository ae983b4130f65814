// Package apis is the contract between Tailor's scheduler side and its
// launcher: the karpenter.sh/v1 and karpenter.k8s.aws/v1 types, the
// well-known keys, and the requirement algebra. Its tests apply the CRDs'
// validation to a real API server.
package apis
