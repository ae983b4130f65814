#!/usr/bin/env bash
# Starts the local cluster in the background: etcd, kube-apiserver,
# kube-controller-manager and kwok built from Go modules, the EC2 simulator,
# tailor scheduler and tailor launcher, all on loopback, with the seed's
# default EC2NodeClass and NodePool applied. Tailor is installed from its Helm
# chart (CRDs, ServiceAccounts, RBAC, configuration; its two components run as
# processes under their ServiceAccounts). Writes .local/kubeconfig and
# .local/env; hack/local-down.sh stops it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
hack/build-bins.sh etcd kube-apiserver kube-controller-manager kwok kubectl helm
go build -o bin/tailor ./cmd/tailor
go build -o bin/localcluster ./hack/localcluster
bin/localcluster --dir "$root/.local" "$@"
