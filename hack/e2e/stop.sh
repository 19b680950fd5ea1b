#!/usr/bin/env bash
# Stops what start.sh started and removes its state directory.
#   hack/e2e/stop.sh [state dir]     (default: $TENANT_HOOKS_E2E_DIR)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR
source "$here/lib.sh"

dir="${1:-${TENANT_HOOKS_E2E_DIR:-}}"
[[ -n "$dir" && -d "$dir" ]] || { e2e_log "usage: stop.sh <state dir> (or set TENANT_HOOKS_E2E_DIR)"; exit 2; }
[[ -f "$dir/kubeconfig" || -f "$dir/ports" ]] || { e2e_log "$dir is not an e2e state directory"; exit 2; }
e2e_stop "$dir"
rm -rf "$dir"
e2e_log "stopped, removed $dir"
