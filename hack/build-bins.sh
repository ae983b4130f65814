#!/usr/bin/env bash
# Builds the binaries the tests and the local cluster run, from Go modules
# only: etcd (hack/tools/go.mod), kube-apiserver and kube-controller-manager
# (k8s.io/kubernetes, pinned in go.mod), kubectl for users of the local
# cluster, kwok, controller-gen, and helm (hack/tools/helm/go.mod) for the
# chart's tests.
# A binary is rebuilt only when its pinned version changed, so a warm run
# takes a second.
#
# Usage: hack/build-bins.sh [name...]   (default: all)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/bin"
mkdir -p "$bin"
cd "$root"

KWOK_VERSION=v0.7.0

mod_version() { # module version as pinned by the go.mod in $1
	(cd "$1" && go list -m -f '{{.Version}}' "$2")
}

# up_to_date NAME VERSION: true when bin/NAME exists and was built at VERSION.
up_to_date() {
	[[ -x "$bin/$1" && -f "$bin/.$1.version" && "$(cat "$bin/.$1.version")" == "$2" ]]
}

stamp() { echo "$2" >"$bin/.$1.version"; }

build_kube() { # kube-apiserver, kube-controller-manager or kubectl from the pinned k8s.io/kubernetes
	local name=$1 version
	version=$(mod_version "$root" k8s.io/kubernetes)
	up_to_date "$name" "$version" && return 0
	echo "building $name $version"
	local pkg=k8s.io/component-base/version
	go build -trimpath -ldflags "-s -w -X $pkg.gitVersion=$version -X $pkg.gitMajor=1 -X $pkg.gitMinor=${version#v1.} -X $pkg.gitTreeState=clean" \
		-o "$bin/$name" "k8s.io/kubernetes/cmd/$name"
	stamp "$name" "$version"
}

build_etcd() {
	local version
	version=$(mod_version "$root/hack/tools" go.etcd.io/etcd/server/v3)
	up_to_date etcd "$version" && return 0
	echo "building etcd $version"
	(cd hack/tools && go build -trimpath -ldflags "-s -w" -o "$bin/etcd" ./etcd)
	stamp etcd "$version"
}

build_kwok() {
	up_to_date kwok "$KWOK_VERSION" && return 0
	echo "building kwok $KWOK_VERSION"
	GOBIN="$bin" GOFLAGS=-trimpath go install -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
	stamp kwok "$KWOK_VERSION"
}

build_controller_gen() {
	local version
	version=$(mod_version "$root/hack/tools" sigs.k8s.io/controller-tools)
	up_to_date controller-gen "$version" && return 0
	echo "building controller-gen $version"
	(cd hack/tools && go build -trimpath -o "$bin/controller-gen" sigs.k8s.io/controller-tools/cmd/controller-gen)
	stamp controller-gen "$version"
}

build_helm() {
	local version
	version=$(mod_version "$root/hack/tools/helm" helm.sh/helm/v3)
	up_to_date helm "$version" && return 0
	echo "building helm $version"
	# helm prints this version (helm version, and the chart's .Capabilities);
	# without it a source build reports v3 with no patch.
	(cd hack/tools/helm && go build -trimpath -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$version" \
		-o "$bin/helm" helm.sh/helm/v3/cmd/helm)
	stamp helm "$version"
}

targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(etcd kube-apiserver kube-controller-manager kwok controller-gen helm)
for t in "${targets[@]}"; do
	case "$t" in
	etcd) build_etcd ;;
	kube-apiserver | kube-controller-manager | kubectl) build_kube "$t" ;;
	kwok) build_kwok ;;
	controller-gen) build_controller_gen ;;
	helm) build_helm ;;
	*) echo "build-bins: unknown binary $t" >&2; exit 2 ;;
	esac
done
