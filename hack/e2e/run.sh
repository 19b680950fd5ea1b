#!/usr/bin/env bash
# End-to-end checks of deploy/ and examples/ against a real kube-apiserver (no cluster, no kubelet):
#
#   hack/e2e/run.sh
#
# build (cached, hack/e2e/build.sh) → start etcd + kube-apiserver on 127.0.0.1 → checks → stop (trap on EXIT).
# Closes with "N passed, M failed"; exits non-zero if any check failed.
# Env: TENANT_HOOKS_E2E_CACHE (binary cache), METACONTROLLER_CRDS (Metacontroller CRDs to use instead of
# hack/e2e/metacontroller-crds.yaml, e.g. upstream's), E2E_KEEP=1 (leave the API server running and print how to
# reach it).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$here/../.." && pwd)"
# shellcheck source-path=SCRIPTDIR
source "$here/lib.sh"
TESTDATA="$here/testdata"
YAMLUTIL=(python3 "$here/yamlutil.py")

# --- build ------------------------------------------------------------------------------------------------------
build_start=$SECONDS
"$here/build.sh" >/dev/null
BUILD_SECONDS=$((SECONDS - build_start))
PROMQL_CHECK="$E2E_CACHE/promql-check-${PROMETHEUS_VERSION:-v0.316.0}/promql-check"

# --- start ------------------------------------------------------------------------------------------------------
WORK="$(mktemp -d "${TMPDIR:-/tmp}/tenant-hooks-e2e.XXXXXX")"
CLUSTER="$WORK/cluster"
cleanup() {
  local rc=$?
  if [[ "${E2E_KEEP:-}" == 1 ]]; then
    e2e_log "E2E_KEEP=1: left running; export KUBECONFIG=$CLUSTER/kubeconfig; stop with hack/e2e/stop.sh $CLUSTER"
  else
    e2e_stop "$CLUSTER"
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

python3 -c 'import yaml' 2>/dev/null || { e2e_log "python3 with PyYAML is required"; exit 1; }
start_start=$SECONDS
e2e_start "$CLUSTER"
START_SECONDS=$((SECONDS - start_start))
export KUBECONFIG="$CLUSTER/kubeconfig"
export KUBECACHEDIR="$WORK/kube-cache"
k() { "$E2E_KUBECTL" "$@"; }

# --- harness ----------------------------------------------------------------------------------------------------
PASSED=0
FAILED=0
FAILED_NAMES=()
N=0
# check <title> <function>: runs the function in a subshell with errexit (a failing command fails the check);
# its output is shown indented.
check() {
  local title="$1" fn="$2" log
  N=$((N + 1))
  log="$WORK/check-$N.log"
  local t0=$SECONDS
  (set -euo pipefail; "$fn") >"$log" 2>&1 &
  if wait $!; then
    PASSED=$((PASSED + 1))
    printf 'PASS  %2d. %s (%ds)\n' "$N" "$title" "$((SECONDS - t0))"
  else
    FAILED=$((FAILED + 1))
    FAILED_NAMES+=("$N. $title")
    printf 'FAIL  %2d. %s (%ds)\n' "$N" "$title" "$((SECONDS - t0))"
  fi
  sed 's/^/        /' "$log"
}

ensure_ns() { local ns; for ns in "$@"; do k get ns "$ns" >/dev/null 2>&1 || k create ns "$ns" >/dev/null; done; }

# split_docs <file> <dir>: one file per YAML document (doc-001.yaml …), prints the count.
split_docs() {
  python3 - "$1" "$2" <<'PY'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d is not None]
for i, d in enumerate(docs, 1):
    with open(f"{sys.argv[2]}/doc-{i:03d}.yaml", "w") as f:
        yaml.safe_dump(d, f, sort_keys=False)
print(len(docs))
PY
}

# all_rejected <file> <work dir> <what>: every document of the file must be rejected by a server dry run.
all_rejected() {
  local d="$2" count f out bad=0
  mkdir -p "$d"
  count="$(split_docs "$1" "$d")"
  for f in "$d"/doc-*.yaml; do
    local what
    what="$(python3 -c 'import sys,yaml; d=yaml.safe_load(open(sys.argv[1])); print(d["kind"], d["metadata"]["name"])' "$f")"
    local why
    if out="$(k apply --dry-run=server -f "$f" 2>&1)"; then
      echo "ACCEPTED but must be rejected: $what"; bad=$((bad + 1))
    elif why="$(grep -o 'Invalid value.*\|Required value.*\|Unsupported value.*\|unknown field.*\|must be .*' <<<"$out" | sed -n 1p | cut -c1-110)" && [[ -n "$why" ]]; then
      echo "rejected $what: $why"
    else
      # Rejected, but not by validation (no such kind, no namespace, …): proves nothing.
      echo "rejected for another reason than its schema: $what: $out"; bad=$((bad + 1))
    fi
  done
  echo "$count $3, $((count - bad)) rejected"
  ((bad == 0))
}

CRD_NAMES=()
crd_names() {
  local f
  for f in "$REPO"/deploy/crds/*.yaml; do
    python3 -c 'import sys,yaml; [print(d["metadata"]["name"]) for d in yaml.safe_load_all(open(sys.argv[1])) if d and d.get("kind")=="CustomResourceDefinition"]' "$f"
  done
}
mapfile -t CRD_NAMES < <(crd_names)

# --- checks -----------------------------------------------------------------------------------------------------

check_crds_generated() {
  python3 "$REPO/hack/gen-crds.py" --check
  echo "deploy/crds matches hack/gen-crds.py"
}

check_crds() {
  k apply --server-side -f "$REPO/deploy/crds/"
  local name
  for name in "${CRD_NAMES[@]}"; do
    k wait --for=condition=Established --timeout=60s "crd/$name" >/dev/null
    k wait --for=condition=NamesAccepted --timeout=10s "crd/$name" >/dev/null
    # Every CRD must serve the status subresource.
    [[ "$(k get crd "$name" -o jsonpath='{.spec.versions[?(@.name=="v1")].subresources.status}')" == "{}" ]] \
      || { echo "$name: no status subresource"; return 1; }
  done
  echo "${#CRD_NAMES[@]} CRDs Established: ${CRD_NAMES[*]}"
}

# The repository's own schema of the Metacontroller kinds deploy/ applies, unless METACONTROLLER_CRDS names others.
METACONTROLLER_CRDS="${METACONTROLLER_CRDS:-$here/metacontroller-crds.yaml}"

check_kustomization() {
  local mc="$METACONTROLLER_CRDS"
  [[ -f "$mc" ]] || { echo "Metacontroller CRDs not found: $mc"; return 1; }
  echo "Metacontroller CRDs: ${mc#"$REPO"/}"
  k apply --server-side -f "$mc" >/dev/null
  k wait --for=condition=Established --timeout=60s crd/compositecontrollers.metacontroller.k8s.io \
    crd/decoratorcontrollers.metacontroller.k8s.io >/dev/null
  # Namespaced objects need their namespace to exist, even for a dry run.
  k apply -f "$REPO/deploy/namespace.yaml"
  # (The CRDs were created by check 2's server-side apply; kubectl's note that they lack its client-side
  # last-applied annotation is expected and filtered.)
  k apply --dry-run=server -k "$REPO/deploy/" 2> >(grep -v 'last-applied-configuration annotation' >&2)
  # And for real (server-side), so later checks see the controllers as stored.
  k apply --server-side -k "$REPO/deploy/" >/dev/null
  local cc dc
  cc="$(k get compositecontrollers -o name | wc -l)"
  dc="$(k get decoratorcontrollers -o name | wc -l)"
  # Every controller deploy/controllers declares is stored (a count fixed here went stale when the shard
  # controllers were added).
  local want_cc want_dc
  want_cc="$(cat "$REPO"/deploy/controllers/*.yaml | grep -c '^kind: CompositeController$')"
  want_dc="$(cat "$REPO"/deploy/controllers/*.yaml | grep -c '^kind: DecoratorController$')"
  [[ "$want_cc" -ge 6 && "$want_dc" -ge 3 ]] || { echo "deploy/controllers declares only $want_cc CompositeControllers and $want_dc DecoratorControllers"; return 1; }
  [[ "$cc" == "$want_cc" && "$dc" == "$want_dc" ]] || { echo "want $want_cc CompositeControllers and $want_dc DecoratorControllers (deploy/controllers), got $cc and $dc"; return 1; }
  k -n tenant-hooks get deployment/tenant-hooks service/tenant-hooks pdb/tenant-hooks serviceaccount/tenant-hooks
  # Stored controllers keep every hook as written (nothing pruned by Metacontroller's schema).
  local hooks
  hooks="$(k get compositecontrollers,decoratorcontrollers -o json | python3 -c '
import json, sys
n = 0
for c in json.load(sys.stdin)["items"]:
    for name, h in c["spec"]["hooks"].items():
        w = h["webhook"]
        assert h["version"] == "v2", (c["metadata"]["name"], name)
        assert w["service"] == {"name": "tenant-hooks", "namespace": "tenant-hooks", "port": 80}, w
        assert w["timeout"] == "10s" and w["path"].startswith("/hooks/"), w
        n += 1
print(n)')"
  echo "4 CompositeControllers, 2 DecoratorControllers, $hooks hooks stored as written"
}

check_metacontroller_schema() {
  all_rejected "$TESTDATA/metacontroller-invalid.yaml" "$WORK/mc-invalid" "misspelt controllers"
}

check_examples() {
  local dir="$REPO/examples"
  if [[ ! -d "$dir" ]]; then
    echo "examples/ does not exist yet: 0 files checked"
    return 0
  fi
  local served
  served="$WORK/served-kinds"
  # apiVersion<TAB>kind of everything the server serves.
  python3 - "$E2E_KUBECTL" > "$served" <<'PY'
import json, subprocess, sys
kubectl = sys.argv[1]
def raw(path):
    return json.loads(subprocess.check_output([kubectl, "get", "--raw", path]))
for v in raw("/api")["versions"]:
    for r in raw(f"/api/{v}")["resources"]:
        if "/" not in r["name"]:
            print(f"{v}\t{r['kind']}")
for g in raw("/apis")["groups"]:
    for v in g["versions"]:
        for r in raw(f"/apis/{v['groupVersion']}")["resources"]:
            if "/" not in r["name"]:
                print(f"{v['groupVersion']}\t{r['kind']}")
PY
  local files=() f
  while IFS= read -r -d '' f; do files+=("$f"); done < <(find "$dir" -type f \( -name '*.yaml' -o -name '*.yml' \) -print0 | sort -z)
  local applied=0 skipped=0 failed=0 expected=0
  for f in "${files[@]}"; do
    local rel="${f#"$REPO"/}" docs out
    docs="$("${YAMLUTIL[@]}" docs "$f")" || { echo "FAIL $rel: not parseable YAML"; failed=$((failed + 1)); continue; }
    local is_expected=0
    [[ "$rel" == examples/*/expected/* ]] && is_expected=1
    if [[ -z "$docs" ]]; then echo "skip $rel: no documents"; skipped=$((skipped + 1)); continue; fi
    if grep -q $'^-\t' <<<"$docs"; then
      if ((is_expected)); then echo "FAIL $rel: a document without apiVersion/kind"; failed=$((failed + 1))
      else echo "skip $rel: not Kubernetes objects"; skipped=$((skipped + 1)); fi
      continue
    fi
    local unknown
    unknown="$(cut -f1,2 <<<"$docs" | sort -u | grep -vxFf "$served" || true)"
    if [[ -n "$unknown" ]]; then
      echo "skip $rel: kind not served by a bare API server: $(tr '\t\n' '  ' <<<"$unknown")"
      skipped=$((skipped + 1)); continue
    fi
    # Namespace: the one the documents name, or one made for this example.
    local example ns explicit
    example="$(cut -d/ -f2 <<<"$rel")"
    [[ "$example" == *.yaml || "$example" == *.yml ]] && example="top"
    explicit="$(cut -f3 <<<"$docs" | grep -vx -- '-' | sort -u || true)"
    local nsargs=()
    if [[ -z "$explicit" ]]; then
      ns="ex-$(tr -c 'a-z0-9\n' '-' <<<"${example,,}" | cut -c1-50)"
      ensure_ns "$ns"; nsargs=(-n "$ns")
    else
      # shellcheck disable=SC2086
      ensure_ns $explicit
      [[ "$(wc -l <<<"$explicit")" == 1 ]] && nsargs=(-n "$explicit")
    fi
    # Namespaces the documents create themselves must exist before objects inside them can be dry-run.
    local own_ns
    own_ns="$(awk -F'\t' '$1=="v1" && $2=="Namespace" {print $4}' <<<"$docs")"
    # shellcheck disable=SC2086
    [[ -z "$own_ns" ]] || ensure_ns $own_ns
    if out="$(k apply --dry-run=server "${nsargs[@]}" -f "$f" 2>&1)"; then
      applied=$((applied + 1)); ((is_expected)) && expected=$((expected + 1))
      echo "ok   $rel ($(wc -l <<<"$docs") objects${nsargs[1]:+ in ${nsargs[1]}})"
    else
      failed=$((failed + 1))
      echo "FAIL $rel:"
      # shellcheck disable=SC2001
      sed 's/^/       /' <<<"$out"
    fi
  done
  echo "${#files[@]} files under examples/: $applied passed server dry-run ($expected of them rendered expected/ children), $skipped skipped, $failed failed"
  ((failed == 0))
}

check_roundtrip() {
  ensure_ns e2e-roundtrip e2e-compat
  k create -f "$TESTDATA/roundtrip.yaml"
  k get -f "$TESTDATA/roundtrip.yaml" -o json > "$WORK/roundtrip.json"
  "${YAMLUTIL[@]}" subset "$TESTDATA/roundtrip.yaml" "$WORK/roundtrip.json"
  echo "v1.0-shaped YAML (strict field validation):"
  k create -f "$TESTDATA/v1.0-compat.yaml"
  k get -f "$TESTDATA/v1.0-compat.yaml" -o json > "$WORK/compat.json"
  "${YAMLUTIL[@]}" subset "$TESTDATA/v1.0-compat.yaml" "$WORK/compat.json"
}

check_status() {
  local kind name ns status n=0
  while IFS=$'\t' read -r kind name ns status; do
    local nsargs=()
    [[ "$ns" == - ]] || nsargs=(-n "$ns")
    k patch "${kind,,}" "$name" "${nsargs[@]}" --subresource=status --type=merge \
      -p "{\"status\": $status}" >/dev/null
    n=$((n + 1))
  done < <("${YAMLUTIL[@]}" select "$TESTDATA/status.yaml" status)
  k get -f "$TESTDATA/status.yaml" -o json > "$WORK/status.json"
  "${YAMLUTIL[@]}" subset "$TESTDATA/status.yaml" "$WORK/status.json"
  # A status write must not bump metadata.generation (the status subresource is in effect).
  python3 - "$WORK/status.json" <<'PY'
import json, sys
for o in json.load(open(sys.argv[1]))["items"]:
    g = o["metadata"]["generation"]
    assert g == 1, f'{o["kind"]} {o["metadata"]["name"]}: generation {g} after a status write'
print("metadata.generation unchanged by status writes")
PY
  echo "printer columns:"
  k get tenantregistries,tenanttemplates,tenants -n e2e-roundtrip
  k get clustertenantregistries,clustertenants -o wide
  local header
  header="$(k get tenantregistries -n e2e-roundtrip | sed -n 1p)"
  [[ "$header" == *TEMPLATES*DESIRED*READY*FAILED*CONDITIONS*AGE* ]] || { echo "unexpected columns: $header"; return 1; }
  [[ "$(k get tenantregistry customers -n e2e-roundtrip --no-headers | awk '{print $2,$3,$4,$5,$6}')" == "2 4 3 1 TenantsFailed" ]] \
    || { echo "registry columns do not show the status"; return 1; }
  [[ "$(k get tenant acme-web -n e2e-roundtrip --no-headers | awk '{print $2,$3,$4,$5,$6,$7,$8}')" == "acme web 11 13 1 True ResourcesNotReady" ]] \
    || { echo "tenant columns do not show the status"; return 1; }
}

check_defaults_validation() {
  ensure_ns e2e-defaults e2e-invalid
  k create -f "$TESTDATA/defaults.yaml" >/dev/null
  k get -f "$TESTDATA/defaults.yaml" -o json > "$WORK/defaults.json"
  "${YAMLUTIL[@]}" subset "$TESTDATA/defaults-expected.yaml" "$WORK/defaults.json"
  all_rejected "$TESTDATA/invalid.yaml" "$WORK/invalid" "invalid objects"
}

# A Tenant's shard is its name's hash modulo spec.sharding.shards (docs/sharding.md): changing the count, or
# removing spec.sharding, would move Tenants between parents, which deletes them. The CRD's CEL rules refuse
# both; the real API server must enforce them, and still accept every other change.
check_sharding_layout() {
  ensure_ns e2e-sharding
  k apply --server-side -f - >/dev/null <<'YAML'
apiVersion: operator.kubernetes-tenants.org/v1
kind: TenantRegistry
metadata: {name: sharded, namespace: e2e-sharding}
spec:
  sharding: {shards: 4, maxTenantsPerShard: 2000}
  source:
    type: static
    static: {rows: [{customer_id: acme, domain: "https://acme.example", is_active: true}]}
  valueMappings: {uid: customer_id, hostOrUrl: domain, activate: is_active}
YAML
  local out
  if out="$(k -n e2e-sharding patch tenantregistry sharded --type=merge -p '{"spec":{"sharding":{"shards":5}}}' 2>&1)"; then
    echo "ACCEPTED but must be rejected: a change of spec.sharding.shards"; return 1
  fi
  grep -q 'spec.sharding.shards is immutable' <<<"$out" || { echo "shards change rejected, but not by its rule: $out"; return 1; }
  echo "rejected shards 4 → 5: $(grep -o 'spec.sharding.shards is immutable[^(]*' <<<"$out" | sed -n 1p)"
  if out="$(k -n e2e-sharding patch tenantregistry sharded --type=json -p '[{"op":"remove","path":"/spec/sharding"}]' 2>&1)"; then
    echo "ACCEPTED but must be rejected: removing spec.sharding"; return 1
  fi
  grep -q 'spec.sharding cannot be removed' <<<"$out" || { echo "removal rejected, but not by its rule: $out"; return 1; }
  echo "rejected removing spec.sharding: $(grep -o 'spec.sharding cannot be removed[^(]*' <<<"$out" | sed -n 1p)"
  k -n e2e-sharding patch tenantregistry sharded --type=merge -p '{"spec":{"sharding":{"maxTenantsPerShard":1000},"source":{"syncInterval":"2m"}}}' >/dev/null \
    || { echo "a change that keeps the layout was rejected"; return 1; }
  [[ "$(k -n e2e-sharding get tenantregistry sharded -o jsonpath='{.spec.sharding.shards}/{.spec.sharding.maxTenantsPerShard}')" == "4/1000" ]] \
    || { echo "the accepted change was not stored"; return 1; }
  echo "accepted maxTenantsPerShard 2000 → 1000 and syncInterval 2m with shards unchanged"
}

# What the hooks write for a sharded registry is stored unchanged by a real API server (docs/sharding.md §1): the
# service runs here, answers the registry's sync for the registry of check 9 (as Metacontroller sends it: the stored
# object, its template related), its TenantShards are applied server-side and read back with spec.registrySpec and
# spec.rowsRevision intact (not pruned by the CRD's schema), and a stored shard's sync answers Tenants that pass the
# Tenant CRD's validation. A shard without spec.registrySpec is refused (required).
check_shard_objects() {
  local d="$WORK/shards" port=18089 pid
  mkdir -p "$d"
  go build -o "$d/tenant-hooks" "$REPO/cmd/tenant-hooks"
  k apply --server-side -f - >/dev/null <<'YAML'
apiVersion: operator.kubernetes-tenants.org/v1
kind: TenantTemplate
metadata: {name: web, namespace: e2e-sharding}
spec:
  registryId: sharded
  configMaps:
  - id: cfg
    nameTemplate: "{{ .uid }}-cfg"
    spec: {apiVersion: v1, kind: ConfigMap, data: {host: "{{ .host }}"}}
YAML
  k patch tenantregistry sharded -n e2e-sharding --type=merge -p \
    '{"spec":{"source":{"static":{"rows":[{"customer_id":"acme","domain":"https://acme.example","is_active":true},{"customer_id":"globex","domain":"https://globex.example","is_active":true},{"customer_id":"initech","domain":"https://initech.example","is_active":true}]}}}}' >/dev/null
  "$d/tenant-hooks" serve --addr "127.0.0.1:$port" --log-format text >"$d/serve.log" 2>&1 &
  pid=$!
  # shellcheck disable=SC2064
  trap "kill $pid 2>/dev/null || true" RETURN
  local i
  for i in $(seq 1 50); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
  k get tenantregistry sharded -n e2e-sharding -o json > "$d/registry.json"
  k get tenanttemplate web -n e2e-sharding -o json > "$d/template.json"
  python3 - "$d" "$port" "$E2E_KUBECTL" <<'PY' || return 1
import json, subprocess, sys, urllib.request
d, port, kubectl = sys.argv[1], sys.argv[2], sys.argv[3]
reg, tpl = json.load(open(d + "/registry.json")), json.load(open(d + "/template.json"))
related = {"TenantTemplate.operator.kubernetes-tenants.org/v1": {"e2e-sharding/web": tpl}}
def post(path, body):
    req = urllib.request.Request("http://127.0.0.1:%s%s" % (port, path), json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(req) as r:
        assert r.status == 200, (path, r.status)
        return json.load(r)
def k(*args, stdin=None):
    return subprocess.run([kubectl, *args], input=stdin, capture_output=True, text=True)
ans = post("/hooks/registries/sync", {"controller": {}, "parent": reg, "children": {}, "related": related})
shards = ans["children"]
assert [s["metadata"]["name"] for s in shards] == ["sharded-shard-%d" % i for i in range(4)], shards
for s in shards:
    r = k("apply", "--server-side", "--field-manager", "metacontroller", "-f", "-", stdin=json.dumps(s))
    assert r.returncode == 0, r.stderr
    got = json.loads(k("get", "tenantshard", s["metadata"]["name"], "-n", "e2e-sharding", "-o", "json").stdout)
    assert got["spec"] == s["spec"], ("stored spec differs", s["spec"], got["spec"])
print("4 TenantShards applied and read back with spec.registrySpec and spec.rowsRevision unchanged")
tenants = 0
for s in shards:
    got = json.loads(k("get", "tenantshard", s["metadata"]["name"], "-n", "e2e-sharding", "-o", "json").stdout)
    cust = post("/hooks/shards/customize", {"controller": {}, "parent": got})
    assert cust["relatedResources"] == [{"apiVersion": "operator.kubernetes-tenants.org/v1", "resource": "tenanttemplates", "namespace": "e2e-sharding"}], cust
    sa = post("/hooks/shards/sync", {"controller": {}, "parent": got, "children": {}, "related": related})
    assert sa["status"]["rowsRevision"] == got["spec"]["rowsRevision"], sa["status"]
    for t in sa["children"]:
        r = k("apply", "--dry-run=server", "--server-side", "-f", "-", stdin=json.dumps(t))
        assert r.returncode == 0, (t["metadata"]["name"], r.stderr)
        tenants += 1
assert tenants == 3, tenants
print("the stored shards' syncs answered 3 Tenants, each accepted by the Tenant CRD (server dry-run)")
bad = {"apiVersion": "operator.kubernetes-tenants.org/v1", "kind": "TenantShard",
       "metadata": {"name": "no-registry-spec", "namespace": "e2e-sharding"}, "spec": {"registry": "sharded", "index": 0, "shards": 4}}
r = k("apply", "--dry-run=server", "-f", "-", stdin=json.dumps(bad))
assert r.returncode != 0 and "registrySpec" in r.stderr, r
print("a TenantShard without spec.registrySpec is rejected: " + r.stderr.strip().splitlines()[-1][:120])
PY
}

check_metacontroller_component() {
  local d="$WORK/mc-overlay"
  mkdir -p "$d"
  # Stand-in for upstream's StatefulSet (manifests/production of metacontroller v4.17.2).
  cat > "$d/statefulset.yaml" <<'YAML'
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: metacontroller, namespace: metacontroller, labels: {app.kubernetes.io/name: metacontroller}}
spec:
  replicas: 1
  serviceName: ""
  selector: {matchLabels: {app.kubernetes.io/name: metacontroller}}
  template:
    metadata: {labels: {app.kubernetes.io/name: metacontroller}}
    spec:
      serviceAccountName: metacontroller
      containers:
      - name: metacontroller
        image: ghcr.io/metacontroller/metacontroller:v4.17.2
        command: ["/usr/bin/metacontroller"]
        args: [--zap-log-level=4, --discovery-interval=20s]
YAML
  # kustomize wants a relative path to a component.
  local rel
  rel="$(python3 -c 'import os,sys; print(os.path.relpath(sys.argv[1], sys.argv[2]))' "$REPO/deploy/metacontroller/tuning" "$d")"
  cat > "$d/kustomization.yaml" <<YAML
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [statefulset.yaml]
components: [$rel]
YAML
  k kustomize "$d" > "$d/out.yaml"
  local args
  args="$(python3 -c 'import sys,yaml; d=yaml.safe_load(open(sys.argv[1])); c=d["spec"]["template"]["spec"]["containers"][0]; print(" ".join(c["args"])); assert c["image"].endswith("v4.17.2")' "$d/out.yaml")"
  echo "args: $args"
  local want
  for want in --apply-strategy=server-side-apply --workers=16 --client-go-qps=100 --client-go-burst=200 \
    --discovery-interval=20s --zap-log-level=4; do
    [[ " $args " == *" $want "* ]] || { echo "missing $want"; return 1; }
  done
  ensure_ns metacontroller
  k apply --dry-run=server -f "$d/out.yaml"
}

check_adoption_component() {
  local d="$WORK/adoption-overlay" rel
  mkdir -p "$d"
  rel="$(python3 -c 'import os,sys; print(os.path.relpath(sys.argv[1], sys.argv[2]))' "$REPO/deploy" "$d")"
  cat > "$d/kustomization.yaml" <<YAML
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [$rel]
components: [$rel/components/force-adoption]
YAML
  k apply --dry-run=server -k "$d" 2> >(grep -v 'last-applied-configuration annotation' >&2) \
    | grep -E 'decoratorcontroller|compositecontroller'
  k kustomize "$d" | grep -q 'name: tenant-force-adoption'
}

check_monitoring() {
  k kustomize "$REPO/deploy/monitoring" > "$WORK/monitoring.yaml"
  python3 - "$WORK/monitoring.yaml" "$WORK/exprs.json" <<'PY'
import json, sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
kinds = sorted(d["kind"] for d in docs)
assert kinds == ["ConfigMap", "PrometheusRule", "ServiceMonitor"], kinds
exprs = []
for d in docs:
    if d["kind"] == "PrometheusRule":
        for g in d["spec"]["groups"]:
            for r in g["rules"]:
                exprs.append({"Name": "alert " + r["alert"], "Expr": r["expr"]})
    if d["kind"] == "ConfigMap":
        assert d["metadata"]["labels"].get("grafana_dashboard") == "1", d["metadata"]
        dash = json.loads(next(iter(d["data"].values())))
        subst = {"$__rate_interval": "5m", "$__range": "1h", "$namespace": ".*", "$registry": ".*"}
        def walk(panels):
            for p in panels:
                for t in p.get("targets", []):
                    e = t["expr"]
                    for k, v in subst.items():
                        e = e.replace(k, v)
                    exprs.append({"Name": "panel " + p["title"], "Expr": e})
                walk(p.get("panels", []))
        walk(dash["panels"])
json.dump(exprs, open(sys.argv[2], "w"))
print(f"{len(docs)} objects; {sum(e['Name'].startswith('alert') for e in exprs)} alert and "
      f"{sum(e['Name'].startswith('panel') for e in exprs)} dashboard expressions")
PY
  "$PROMQL_CHECK" < "$WORK/exprs.json"
  echo "(ServiceMonitor/PrometheusRule need the Prometheus Operator CRDs: rendered and PromQL-checked, not applied)"
}

# Tenant Operator v1.0 → tenant-hooks on a real API server (docs/migrating.md, issue 15). The recorded v1.0 objects
# (migrate/testdata/v1) are created as v1.0 leaves them, under a stand-in for v1.0's CRDs; then the guide's steps:
# tenant-hooks' CRDs, `tenant-hooks migrate` on what kubectl reads, the script. Every object is compared before and
# after (uids, labels, ownerReferences, finalizers, specs, pod template, generation); the plan is re-run (nothing
# left to patch), a stale script is refused without writing anything, and the rollback is run and checked.
# No Metacontroller and no garbage collector run here: render/sim drives Metacontroller's rounds in
# migrate/sim_test.go.
check_migration() {
  local fx="$REPO/migrate/testdata/v1" d="$WORK/migration" ns=uprace mc="python3 $here/migrate_check.py"
  mkdir -p "$d"
  go build -o "$d/tenant-hooks" "$REPO/cmd/tenant-hooks"
  local children_kinds=serviceaccounts,configmaps,secrets,services,persistentvolumeclaims,deployments,statefulsets,daemonsets,jobs,cronjobs,ingresses
  read_all() { # <prefix>: what docs/migrating.md tells the user to read
    k get tenantregistries,tenanttemplates,tenants -n "$ns" -o json > "$1-parents.json"
    k get namespace "$ns" -o json > "$1-namespace.json"
    k get "$children_kinds" -n "$ns" -o json > "$1-children.json"
    python3 -c 'import json,sys; print(json.dumps({"apiVersion":"v1","kind":"List","items":[i for f in sys.argv[1:] for i in json.load(open(f))["items"]]}))' \
      "$1-parents.json" "$1-children.json" > "$1-all.json"
  }
  # --- v1.0 as it runs: its CRDs (stand-in), its objects with its finalizers, ownerReferences and status.
  k apply --server-side --force-conflicts -f "$TESTDATA/migrate/v1-crds.yaml" >/dev/null
  k wait --for=condition=Established --timeout=60s crd/tenants.operator.kubernetes-tenants.org >/dev/null
  ensure_ns "$ns"
  local reg_uid tenant_uid f
  $mc creatable "$fx/tenantregistry.json" | k create -f - >/dev/null
  $mc creatable "$fx/tenanttemplate.json" | k create -f - >/dev/null
  reg_uid="$(k get tenantregistry customers -n "$ns" -o jsonpath='{.metadata.uid}')"
  $mc creatable "$fx/tenant.json" "$reg_uid" | k create -f - >/dev/null
  tenant_uid="$(k get tenant c000001-web -n "$ns" -o jsonpath='{.metadata.uid}')"
  $mc creatable "$fx/children.json" "$tenant_uid" | k create -f - >/dev/null
  # A v1.0 Retain leftover: the child of a deleted Tenant, all owners removed by v1.0's finalizer.
  k create configmap c000002-web-config -n "$ns" --from-literal=TENANT=c000002-web >/dev/null
  for f in tenantregistry/customers:tenantregistry.json tenanttemplate/web:tenanttemplate.json tenant/c000001-web:tenant.json \
    deployment/c000001-web:children.json; do
    local obj="${f%%:*}" st
    st="$($mc status "$fx/${f#*:}" "${obj#*/}")"
    [[ -z "$st" ]] || k patch "$obj" -n "$ns" --subresource=status --type=merge -p "$st" >/dev/null
  done
  read_all "$d/before"
  echo "v1.0 objects created: $(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["items"]))' "$d/before-all.json") in namespace $ns"

  # --- the guide: tenant-hooks' CRDs, read, dry run, script.
  k apply --server-side --force-conflicts -f "$REPO/deploy/crds/" >/dev/null
  read_all "$d/read1"
  "$d/tenant-hooks" migrate --dry-run "$d/read1-parents.json" "$d/read1-namespace.json" "$d/read1-children.json" | tee "$d/dry-run.txt"
  grep -q '^untouched  *ConfigMap  *uprace/c000002-web-config ' "$d/dry-run.txt"
  "$d/tenant-hooks" migrate "$d/read1-parents.json" "$d/read1-namespace.json" "$d/read1-children.json" > "$d/migrate.sh"
  KUBECTL="$E2E_KUBECTL" bash "$d/migrate.sh"
  read_all "$d/after"
  $mc migrated "$d/before-all.json" "$d/after-all.json"

  # --- safe to re-run: planning again finds nothing to patch; the old script is refused and writes nothing.
  "$d/tenant-hooks" migrate "$d/after-parents.json" "$d/after-namespace.json" "$d/after-children.json" > "$d/again.sh"
  grep -q "^echo '0 objects patched'$" "$d/again.sh" || { echo "a second plan still patches:"; cat "$d/again.sh"; return 1; }
  if KUBECTL="$E2E_KUBECTL" bash "$d/migrate.sh" > "$d/stale.log" 2>&1; then
    echo "the stale script ran again without being refused"; return 1
  fi
  read_all "$d/stale"
  diff <($mc versions "$d/after-all.json") <($mc versions "$d/stale-all.json")
  echo "re-run: the plan is empty; the stale script was refused and changed nothing: $(grep -m1 -io "the request is invalid.*\|test.*fail.*" "$d/stale.log" | cut -c1-120 || true)"

  # --- rollback (docs/migrating.md): v1.0's CRDs back, the rollback script, v1.0 would start from there.
  k apply --server-side --force-conflicts -f "$TESTDATA/migrate/v1-crds.yaml" >/dev/null
  read_all "$d/pre-rollback"
  "$d/tenant-hooks" migrate --rollback "$d/pre-rollback-all.json" > "$d/rollback.sh"
  KUBECTL="$E2E_KUBECTL" bash "$d/rollback.sh"
  read_all "$d/rolledback"
  $mc rolledback "$d/before-all.json" "$d/rolledback-all.json"
  "$d/tenant-hooks" migrate --rollback "$d/rolledback-all.json" | grep -q "^echo '0 objects patched'$"
  echo "rollback: re-planning it finds nothing left to patch"
  # Leave the CRDs as the other checks expect them.
  k apply --server-side --force-conflicts -f "$REPO/deploy/crds/" >/dev/null
}

echo "tenant-hooks e2e: kube-apiserver $E2E_KUBE_VERSION, etcd $E2E_ETCD_VERSION (build ${BUILD_SECONDS}s, start ${START_SECONDS}s; cache $E2E_CACHE)"
check "deploy/crds is what hack/gen-crds.py generates" check_crds_generated
check "every CRD in deploy/crds is accepted and Established" check_crds
check "Metacontroller CRDs, then kubectl apply --dry-run=server -k deploy/" check_kustomization
check "the Metacontroller schema rejects misspelt hooks, webhook and child fields" check_metacontroller_schema
check "examples/**/*.yaml and examples/*/expected/*.yaml pass server dry-run" check_examples
check "round-trip: every spec field of docs/api.md survives create + get" check_roundtrip
check "status subresource keeps observedGeneration and every status field" check_status
check "defaults are applied and invalid objects rejected (v1.0 validation)" check_defaults_validation
check "a sharded registry's layout cannot change (CEL rules enforced by the API server)" check_sharding_layout
check "a sharded registry's TenantShards and their Tenants, as the hooks write them, are stored unchanged" check_shard_objects
check "deploy/metacontroller/tuning patches Metacontroller's StatefulSet" check_metacontroller_component
check "deploy/components/force-adoption on top of the base passes server dry-run" check_adoption_component
check "deploy/monitoring renders and its PromQL parses" check_monitoring
check "Tenant Operator v1.0 objects → tenant-hooks migrate → same objects, selectable; then the rollback" check_migration

if ((FAILED > 0)); then
  printf 'failed: %s\n' "${FAILED_NAMES[@]}"
fi
echo "$PASSED passed, $FAILED failed"
((FAILED == 0))
