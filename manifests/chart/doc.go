// Package chart holds the tests of the Helm chart in tailor/: it lints, it
// renders with the flags of Karpenter's getting-started guide, the API server
// accepts what it renders, a missing settings.clusterName is refused by name,
// and its CRDs and RBAC are those of manifests/, so the chart and the plain
// YAML never drift apart.
//
// The tests run bin/helm, which `make bins` builds from the Helm module pinned
// in hack/tools/helm.
package chart
