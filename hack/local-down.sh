#!/usr/bin/env bash
# Stops exactly the processes hack/local-up.sh started, by the pids it wrote,
# checking each pid still runs the program it started before signalling it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$root/.local}
pids_file="$dir/pids"
if [[ ! -f "$pids_file" ]]; then
	echo "no $pids_file: nothing to stop"
	exit 0
fi

ours() { # pid path: is pid alive and still running the binary at path?
	[[ -r "/proc/$1/cmdline" ]] && [[ "$(tr '\0' '\n' <"/proc/$1/cmdline" | head -1)" == "$2" ]]
}

mapfile -t lines < <(tac "$pids_file") # stop in reverse order of start
for line in "${lines[@]}"; do
	read -r pid name path <<<"$line"
	if ours "$pid" "$path"; then
		echo "stopping $name ($pid)"
		kill -TERM "$pid" 2>/dev/null || true
	fi
done
for line in "${lines[@]}"; do
	read -r pid name path <<<"$line"
	for _ in $(seq 1 100); do
		ours "$pid" "$path" || break
		sleep 0.1
	done
	if ours "$pid" "$path"; then
		echo "killing $name ($pid): still running 10s after SIGTERM"
		kill -KILL "$pid" 2>/dev/null || true
	fi
done
rm -f "$pids_file"
echo "local cluster stopped; state and logs remain in $dir"
