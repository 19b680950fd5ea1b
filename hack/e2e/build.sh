#!/usr/bin/env bash
# Builds the binaries the e2e checks need — etcd, kube-apiserver + kubectl, and promql-check (Prometheus' PromQL
# parser) — from their public sources on the Go module proxy, and caches them keyed by version so that only the
# first run on a machine pays the build (≈ 7 min and ≈ 3 GB of memory for kube-apiserver on 2 cores).
# kube-controller-manager is not needed: the checks use server-side dry runs and direct reads, no GC.
#
#   hack/e2e/build.sh            # build what is missing, print the cache directory
#
# Layout: ${TENANT_HOOKS_E2E_CACHE:-$HOME/.cache/tenant-hooks/e2e}/<component>-<version>/<component>
# Scratch modules live under <cache>/.scratch/, never inside this repository's module.
set -euo pipefail

ETCD_VERSION="${ETCD_VERSION:-v3.6.16}"
KUBE_VERSION="${KUBE_VERSION:-v1.37.2}"
PROMETHEUS_VERSION="${PROMETHEUS_VERSION:-v0.316.0}"   # Go module version of Prometheus 3.x, for promql-check
CACHE="${TENANT_HOOKS_E2E_CACHE:-$HOME/.cache/tenant-hooks/e2e}"
BUILD_PARALLELISM="${E2E_BUILD_PARALLELISM:-2}"   # -p: kube-apiserver's link step alone peaks near 3 GB

# The staging modules of k8s.io/kubernetes vX.Y.Z are published as v0.Y.Z.
STAGING_VERSION="v0.${KUBE_VERSION#v1.}"
KUBE_MINOR="$(echo "${KUBE_VERSION#v}" | cut -d. -f2)"

export GOWORK=off
export GOFLAGS="-mod=mod -buildvcs=false"
export CGO_ENABLED=0
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"

log() { printf '[build] %s\n' "$*" >&2; }

# usable <binary> <version-args...>: the cached binary exists and runs.
usable() {
  local bin="$1"; shift
  [[ -x "$bin" ]] && "$bin" "$@" >/dev/null 2>&1
}

build_etcd() {
  local out="$CACHE/etcd-$ETCD_VERSION"
  if usable "$out/etcd" --version; then log "etcd $ETCD_VERSION cached at $out"; return; fi
  local mod="$CACHE/.scratch/etcd-$ETCD_VERSION"
  log "building etcd $ETCD_VERSION in $mod"
  local start=$SECONDS
  rm -rf "$mod" && mkdir -p "$mod" "$out"
  (
    cd "$mod"
    cat > go.mod <<GOMOD
module scratch/etcd

go 1.25

require go.etcd.io/etcd/server/v3 $ETCD_VERSION
GOMOD
    # etcd's go.mod has replace lines, so `go install pkg@version` is refused; a scratch module that
    # requires it works. The server module's root package is etcd's main.
    cat > tools.go <<'GO'
//go:build tools

package tools

import _ "go.etcd.io/etcd/server/v3"
GO
    go mod tidy
    go build -p "$BUILD_PARALLELISM" -trimpath \
      -ldflags "-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=$ETCD_VERSION" \
      -o "$out/etcd.tmp" go.etcd.io/etcd/server/v3
  )
  mv "$out/etcd.tmp" "$out/etcd"
  log "etcd built in $((SECONDS - start)) s"
}

# promql-check: a 20-line program (written into its scratch module here, not part of this repository's module)
# that parses PromQL with Prometheus' own parser, so run.sh can check the alert and dashboard expressions.
build_promql_check() {
  local out="$CACHE/promql-check-$PROMETHEUS_VERSION"
  if [[ -x "$out/promql-check" ]] && echo '[]' | "$out/promql-check" >/dev/null 2>&1; then
    log "promql-check $PROMETHEUS_VERSION cached at $out"; return
  fi
  local mod="$CACHE/.scratch/promql-check-$PROMETHEUS_VERSION"
  log "building promql-check (github.com/prometheus/prometheus $PROMETHEUS_VERSION) in $mod"
  local start=$SECONDS
  rm -rf "$mod" && mkdir -p "$mod" "$out"
  (
    cd "$mod"
    printf 'module scratch/promql-check\n\ngo 1.25\n\nrequire github.com/prometheus/prometheus %s\n' \
      "$PROMETHEUS_VERSION" > go.mod
    cat > main.go <<'GO'
// Reads a JSON list of {"Name": ..., "Expr": ...} on stdin and parses every Expr as PromQL.
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/prometheus/prometheus/promql/parser"
)

func main() {
	var exprs []struct{ Name, Expr string }
	if err := json.NewDecoder(os.Stdin).Decode(&exprs); err != nil {
		fmt.Fprintln(os.Stderr, "promql-check:", err)
		os.Exit(2)
	}
	p := parser.NewParser(parser.Options{})
	bad := 0
	for _, e := range exprs {
		if _, err := p.ParseExpr(e.Expr); err != nil {
			fmt.Printf("%s: %v\n", e.Name, err)
			bad++
		}
	}
	fmt.Printf("%d expressions parsed, %d invalid\n", len(exprs), bad)
	if bad > 0 {
		os.Exit(1)
	}
}
GO
    go mod tidy
    go build -p "$BUILD_PARALLELISM" -trimpath -ldflags "-s -w" -o "$out/promql-check.tmp" .
  )
  mv "$out/promql-check.tmp" "$out/promql-check"
  log "promql-check built in $((SECONDS - start)) s"
}

# The replace block of k8s.io/kubernetes' own go.mod maps every staging module to ./staging/src/...;
# rewrite each such line to the published module at $STAGING_VERSION, keep any other replace as it is.
kube_replaces() {
  local gomod
  gomod="$(go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])')"
  [[ -s "$gomod" ]] || { log "no go.mod for k8s.io/kubernetes@$KUBE_VERSION"; return 1; }
  awk -v ver="$STAGING_VERSION" '
    function emit(line,   parts) {
      sub(/\/\/.*/, "", line)
      if (line ~ /^[ \t]*$/) return
      n = split(line, parts, /[ \t]+/)
      # fields: [""] mod [ver] => target [ver]
      arrow = 0
      for (i = 1; i <= n; i++) if (parts[i] == "=>") arrow = i
      if (!arrow) return
      lhs = ""; for (i = 1; i < arrow; i++) if (parts[i] != "") lhs = lhs " " parts[i]
      target = parts[arrow + 1]
      if (target ~ /^\.\/staging\/src\//) { sub(/^\.\/staging\/src\//, "", target); print "\t" substr(lhs, 2) " => " target " " ver }
      else { rhs = ""; for (i = arrow + 1; i <= n; i++) if (parts[i] != "") rhs = rhs " " parts[i]; print "\t" substr(lhs, 2) " =>" rhs }
    }
    /^replace[ \t]*\($/ { inblock = 1; next }
    inblock && /^\)/ { inblock = 0; next }
    inblock { emit($0); next }
    /^replace[ \t]/ { l = $0; sub(/^replace[ \t]+/, "", l); emit(l) }
  ' "$gomod"
}

build_kube() {
  local api_out="$CACHE/kube-apiserver-$KUBE_VERSION" ctl_out="$CACHE/kubectl-$KUBE_VERSION"
  local need=()
  usable "$api_out/kube-apiserver" --version || need+=(kube-apiserver)
  usable "$ctl_out/kubectl" version --client || need+=(kubectl)
  if ((${#need[@]} == 0)); then log "kube-apiserver and kubectl $KUBE_VERSION cached"; return; fi
  local mod="$CACHE/.scratch/kubernetes-$KUBE_VERSION"
  log "building ${need[*]} $KUBE_VERSION in $mod"
  local start=$SECONDS
  mkdir -p "$mod" "$api_out" "$ctl_out"
  local replaces
  replaces="$(kube_replaces)"
  local count
  count="$(grep -c '=>' <<<"$replaces" || true)"
  ((count > 0)) || { log "found no replace lines in k8s.io/kubernetes $KUBE_VERSION go.mod"; return 1; }
  log "derived $count replace lines from k8s.io/kubernetes@$KUBE_VERSION go.mod"
  (
    cd "$mod"
    {
      printf 'module scratch/kubernetes\n\ngo 1.25\n\nrequire k8s.io/kubernetes %s\n\nreplace (\n' "$KUBE_VERSION"
      printf '%s\n' "$replaces"
      printf ')\n'
    } > go.mod
    cat > tools.go <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
GO
    go mod tidy
    local date
    date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    local ldflags="-s -w"
    local pkg
    for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
      ldflags+=" -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$KUBE_MINOR"
      ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$date"
    done
    local c
    for c in "${need[@]}"; do
      local out="$CACHE/$c-$KUBE_VERSION"
      log "go build $c (-p $BUILD_PARALLELISM)"
      go build -p "$BUILD_PARALLELISM" -trimpath -ldflags "$ldflags" -o "$out/$c.tmp" "k8s.io/kubernetes/cmd/$c"
      mv "$out/$c.tmp" "$out/$c"
    done
  )
  log "kubernetes components built in $((SECONDS - start)) s"
}

main() {
  command -v go >/dev/null || { log "go is required"; exit 1; }
  command -v python3 >/dev/null || { log "python3 is required"; exit 1; }
  mkdir -p "$CACHE"
  local start=$SECONDS
  build_etcd
  build_kube
  build_promql_check
  "$CACHE/etcd-$ETCD_VERSION/etcd" --version | sed -n 1p >&2
  "$CACHE/kube-apiserver-$KUBE_VERSION/kube-apiserver" --version >&2
  "$CACHE/kubectl-$KUBE_VERSION/kubectl" version --client 2>/dev/null | sed -n 1p >&2
  log "done in $((SECONDS - start)) s; cache: $CACHE"
  echo "$CACHE"
}

main "$@"
