#!/usr/bin/env bash
# Starts etcd + kube-apiserver on 127.0.0.1 (free ports) and leaves them running.
#
#   eval "$(hack/e2e/start.sh)"     # sets KUBECONFIG and TENANT_HOOKS_E2E_DIR
#   kubectl get ns
#   hack/e2e/stop.sh                # uses TENANT_HOOKS_E2E_DIR
#
# Needs the binaries from hack/e2e/build.sh (cached). Prints only the export lines on stdout.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR
source "$here/lib.sh"

dir="${1:-$(mktemp -d "${TMPDIR:-/tmp}/tenant-hooks-e2e.XXXXXX")}"
if ! e2e_start "$dir" >&2; then
  e2e_stop "$dir"
  exit 1
fi
echo "export KUBECONFIG=$dir/kubeconfig"
echo "export TENANT_HOOKS_E2E_DIR=$dir"
echo "export PATH=$(dirname "$E2E_KUBECTL"):\$PATH"
