#!/usr/bin/env bash
# Starts the local cluster in the background: etcd, kube-apiserver,
# kube-controller-manager and kwok, built from Go modules, on loopback.
# Writes .local/kubeconfig; hack/local-down.sh stops it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
hack/build-bins.sh etcd kube-apiserver kube-controller-manager kwok
go build -o bin/localcluster ./hack/localcluster
bin/localcluster --dir "$root/.local"
