#!/usr/bin/env bash
# `make e2e`: the browser specs (e2e/specs) against the stand-in host (e2e/host) loading dist/,
# around a real stack (e2e/stack) on ports of its own, so a running `make demo` is not
# disturbed. With GRAFANA_URL set, the specs run against that Grafana instead of the stand-in.
# Everything started here is stopped by PID on exit. Screenshots: e2e/artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."

HOST_PORT=${E2E_HOST_PORT:-13300}
export GRAFANA_PORT=$HOST_PORT PGSCOPE_STACK_DIR=/tmp/pgscope-e2e-stack PG_PORT=55442 EXPORTER_PORT=19287 INFO_PORT=19288 \
  NODE_PORT=19200 DEAD_PORT=19280 VM_PORT=18528 PROM_PORT=19190 ETCD_PORT=12479 PATRONI_PORT=18108 PATRONI_PG_PORT=55462
mkdir -p e2e/artifacts
host_pid=
cleanup() {
  if [ -n "$host_pid" ]; then kill "$host_pid" 2>/dev/null || true; wait "$host_pid" 2>/dev/null || true; fi
  bash e2e/stack/stack.sh stop
}
trap cleanup EXIT

bash e2e/stack/stack.sh stop # leftovers of an interrupted run
bash e2e/stack/stack.sh start
eval "$(bash e2e/stack/stack.sh env)"
export PGSCOPE_TSDB_URL PGSCOPE_PG_NAMES GF_PATHS_PROVISIONING="$PWD/provisioning"

if [ -z "${GRAFANA_URL:-}" ]; then
  cargo build --locked -q -p pgscope-e2e-host -p pgscope-backend --bin pgscope-host --bin pgscope
  node e2e/host/web/build.mjs target/host-web
  target/debug/pgscope-host --plugins dist --provisioning provisioning --web target/host-web \
    --systemjs node_modules/systemjs/dist --listen "127.0.0.1:$HOST_PORT" 2>e2e/artifacts/host.log &
  host_pid=$!
  deadline=$((SECONDS + 30))
  until curl -sf "http://127.0.0.1:$HOST_PORT/api/health" >/dev/null; do
    kill -0 "$host_pid" 2>/dev/null || { cat e2e/artifacts/host.log; exit 1; }
    ((SECONDS < deadline)) || { echo "e2e: the stand-in did not start"; exit 1; }
    sleep 0.1
  done
  export STANDIN_URL="http://127.0.0.1:$HOST_PORT"
fi

node --test --test-concurrency=1 ${E2E_SPECS:-e2e/specs/*.spec.mjs}
