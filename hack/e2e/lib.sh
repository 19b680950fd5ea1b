# shellcheck shell=bash
# Shared by start.sh, stop.sh and run.sh: start and stop etcd + kube-apiserver on 127.0.0.1.
# Everything lives in one state directory: certs, data, logs, pid files and the admin kubeconfig.

E2E_ETCD_VERSION="${ETCD_VERSION:-v3.6.16}"
E2E_KUBE_VERSION="${KUBE_VERSION:-v1.37.2}"
E2E_CACHE="${TENANT_HOOKS_E2E_CACHE:-$HOME/.cache/tenant-hooks/e2e}"
E2E_ETCD="$E2E_CACHE/etcd-$E2E_ETCD_VERSION/etcd"
E2E_APISERVER="$E2E_CACHE/kube-apiserver-$E2E_KUBE_VERSION/kube-apiserver"
E2E_KUBECTL="$E2E_CACHE/kubectl-$E2E_KUBE_VERSION/kubectl"
E2E_READY_TIMEOUT="${E2E_READY_TIMEOUT:-90}"

e2e_log() { printf '[e2e] %s\n' "$*" >&2; }

# A TCP port on 127.0.0.1 that is free right now.
e2e_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

e2e_gen_certs() {
  local d="$1"
  mkdir -p "$d"
  (
    cd "$d" || exit 1
    openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 2 -subj "/CN=tenant-hooks-e2e-ca" \
      -keyout ca.key -out ca.crt 2>/dev/null
    cat > serving.ext <<EXT
basicConstraints=CA:FALSE
keyUsage=digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost,IP:10.0.0.1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc
EXT
    openssl req -newkey rsa:2048 -nodes -subj "/CN=kube-apiserver" -keyout serving.key -out serving.csr 2>/dev/null
    openssl x509 -req -sha256 -days 2 -in serving.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
      -extfile serving.ext -out serving.crt 2>/dev/null
    cat > client.ext <<EXT
basicConstraints=CA:FALSE
keyUsage=digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth
EXT
    openssl req -newkey rsa:2048 -nodes -subj "/O=system:masters/CN=e2e-admin" -keyout admin.key -out admin.csr \
      2>/dev/null
    openssl x509 -req -sha256 -days 2 -in admin.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
      -extfile client.ext -out admin.crt 2>/dev/null
    openssl genrsa -out sa.key 2048 2>/dev/null
    openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
  )
}

e2e_write_kubeconfig() {
  local d="$1" port="$2"
  cat > "$d/kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters:
- name: e2e
  cluster:
    server: https://127.0.0.1:$port
    certificate-authority: $d/pki/ca.crt
users:
- name: e2e-admin
  user:
    client-certificate: $d/pki/admin.crt
    client-key: $d/pki/admin.key
contexts:
- name: e2e
  context: {cluster: e2e, user: e2e-admin}
current-context: e2e
KC
}

# e2e_alive <pidfile>
e2e_alive() { [[ -s "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

# e2e_start <state dir>: starts etcd and kube-apiserver, waits for /readyz, writes <dir>/kubeconfig.
e2e_start() {
  local d="$1"
  local bin
  for bin in "$E2E_ETCD" "$E2E_APISERVER" "$E2E_KUBECTL"; do
    [[ -x "$bin" ]] || { e2e_log "missing $bin: run hack/e2e/build.sh first"; return 1; }
  done
  command -v openssl >/dev/null || { e2e_log "openssl is required"; return 1; }
  mkdir -p "$d/logs" "$d/etcd"
  e2e_gen_certs "$d/pki"

  local etcd_port peer_port api_port
  etcd_port="$(e2e_free_port)"
  peer_port="$(e2e_free_port)"
  while [[ "$peer_port" == "$etcd_port" ]]; do peer_port="$(e2e_free_port)"; done
  api_port="$(e2e_free_port)"
  while [[ "$api_port" == "$etcd_port" || "$api_port" == "$peer_port" ]]; do api_port="$(e2e_free_port)"; done
  printf 'ETCD_PORT=%s\nAPI_PORT=%s\n' "$etcd_port" "$api_port" > "$d/ports"

  "$E2E_ETCD" \
    --name e2e \
    --data-dir "$d/etcd" \
    --listen-client-urls "http://127.0.0.1:$etcd_port" \
    --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$peer_port" \
    --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
    --initial-cluster "e2e=http://127.0.0.1:$peer_port" \
    --unsafe-no-fsync \
    --log-level warn \
    >"$d/logs/etcd.log" 2>&1 &
  echo $! > "$d/etcd.pid"

  local i
  for ((i = 0; i < 50; i++)); do
    curl -fsS "http://127.0.0.1:$etcd_port/health" >/dev/null 2>&1 && break
    e2e_alive "$d/etcd.pid" || { e2e_log "etcd exited:"; tail -n 30 "$d/logs/etcd.log" >&2; return 1; }
    sleep 0.2
  done

  "$E2E_APISERVER" \
    --etcd-servers "http://127.0.0.1:$etcd_port" \
    --bind-address 127.0.0.1 \
    --advertise-address 127.0.0.1 \
    --secure-port "$api_port" \
    --cert-dir "$d/pki" \
    --tls-cert-file "$d/pki/serving.crt" \
    --tls-private-key-file "$d/pki/serving.key" \
    --client-ca-file "$d/pki/ca.crt" \
    --service-account-key-file "$d/pki/sa.pub" \
    --service-account-signing-key-file "$d/pki/sa.key" \
    --service-account-issuer https://kubernetes.default.svc \
    --service-cluster-ip-range 10.0.0.0/24 \
    --authorization-mode RBAC \
    --endpoint-reconciler-type none \
    --profiling=false \
    >"$d/logs/kube-apiserver.log" 2>&1 &
  echo $! > "$d/kube-apiserver.pid"

  e2e_write_kubeconfig "$d" "$api_port"

  local deadline=$((SECONDS + E2E_READY_TIMEOUT))
  until [[ "$("$E2E_KUBECTL" --kubeconfig "$d/kubeconfig" get --raw /readyz 2>/dev/null)" == ok ]]; do
    if ! e2e_alive "$d/kube-apiserver.pid"; then
      e2e_log "kube-apiserver exited:"; tail -n 30 "$d/logs/kube-apiserver.log" >&2; return 1
    fi
    if ((SECONDS >= deadline)); then
      e2e_log "kube-apiserver not ready after ${E2E_READY_TIMEOUT}s:"
      "$E2E_KUBECTL" --kubeconfig "$d/kubeconfig" get --raw '/readyz?verbose' >&2 || true
      tail -n 30 "$d/logs/kube-apiserver.log" >&2
      return 1
    fi
    sleep 0.5
  done
  e2e_log "kube-apiserver $E2E_KUBE_VERSION ready on https://127.0.0.1:$api_port (state in $d)"
}

# e2e_stop <state dir>: stops the processes recorded in <dir>/*.pid (only those this harness started).
e2e_stop() {
  local d="$1" name pidfile pid i
  for name in kube-apiserver etcd; do
    pidfile="$d/$name.pid"
    [[ -s "$pidfile" ]] || continue
    pid="$(cat "$pidfile")"
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
      if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
      wait "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
  done
}
