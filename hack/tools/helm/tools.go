//go:build tools

// Package tools pins Helm, which the chart's tests run as bin/helm. It is a
// module of its own so Helm's Kubernetes libraries never move the versions
// etcd and controller-gen are built with in hack/tools.
package tools

import (
	_ "helm.sh/helm/v3/cmd/helm"
)
