#!/usr/bin/env bash
# The main job on the embedded default: start the local cluster (control
# plane, kwok, EC2 simulator, tailor scheduler and launcher), run the
# guide's inflate walkthrough, and stop what was started — unless KEEP=1,
# which leaves the cluster up for kubectl.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

hack/local-up.sh
cleanup() {
	if [[ "${KEEP:-0}" == "1" ]]; then
		echo
		echo "The cluster is still up (KEEP=1):"
		echo "  source .local/env        # KUBECONFIG and the simulator's AWS variables"
		echo "  bin/kubectl get nodepools,nodeclaims,nodes"
		echo "  hack/local-down.sh       # when done"
	else
		hack/local-down.sh
	fi
}
trap cleanup EXIT
# shellcheck disable=SC1091
source .local/env
go build -o bin/demo ./hack/demo
bin/demo --kubeconfig "$KUBECONFIG" --manifests manifests/examples
