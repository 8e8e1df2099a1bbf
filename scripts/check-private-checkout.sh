#!/usr/bin/env bash
# Checks that the stack (e2e/stack/stack.sh) starts and stops from a checkout only its owner can
# enter (issue 24): e2e/stack is copied into a `mktemp -d` directory (mode 0700) and run from there
# as root, Patroni included, on ports of its own (neither the demo's nor scripts/e2e.sh's). Then
# that a start failure (a port taken) names the process, its log file and the log's last lines,
# and that a state directory `postgres` cannot reach is refused with a reason. Every process the
# stack started is gone after each stop. Run as another user, there is nothing to check: skipped.
set -uo pipefail
if [ "$(id -u)" != 0 ]; then
  echo "check-private-checkout: skipped: only root runs the stack's PostgreSQL and Patroni as another user (postgres)"
  exit 0
fi
cd "$(dirname "$0")/.."
export PGSCOPE_STACK_DIR=/tmp/pgscope-private-check-stack PG_PORT=55472 EXPORTER_PORT=19387 INFO_PORT=19388 \
  NODE_PORT=19300 DEAD_PORT=19380 VM_PORT=18628 PROM_PORT=19290 ETCD_PORT=12579 PATRONI_PORT=18208 \
  PATRONI_PG_PORT=55482 GRAFANA_PORT=13400 TSDB=victoriametrics
state=$PGSCOPE_STACK_DIR
private=$(mktemp -d)
squatter=
cleanup() {
  [ -n "$squatter" ] && kill "$squatter" 2>/dev/null
  (cd "$private" && bash e2e/stack/stack.sh stop)
  rm -rf "$private"
}
trap cleanup EXIT
git ls-files -z e2e/stack | xargs -0 cp --parents -t "$private"
cd "$private" # the stack runs from here, as `make test` does from a private checkout

passed=0; failed=0
check() { # check "what" command...
  local what=$1; shift
  if "$@" >/dev/null 2>&1; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: $what"; fi
}
says() { grep -qF -- "$2" <<<"$1"; } # says OUTPUT TEXT
runs_nothing_from() { ! pgrep -f "$1"; } # runs_nothing_from PATTERN : no command line matches

# The PIDs of what is running now: the stack's recorded processes and both PostgreSQL postmasters.
stack_pids() {
  cat "$state"/*.pid 2>/dev/null
  head -qn 1 "$state/pg/postmaster.pid" "$state/patroni/pg/postmaster.pid" 2>/dev/null
}
none_alive() { # none_alive PID... : each one is gone or a zombie (the stack's daemons are orphans)
  local pid stat
  for pid in "$@"; do
    stat=$(ps -o stat= -p "$pid") && [[ $stat != Z* ]] && return 1
  done
  return 0
}
stop_and_check() { # stop_and_check CASE : stops the stack, checks nothing it started is left
  local pids
  pids=$(stack_pids)
  bash e2e/stack/stack.sh stop
  # shellcheck disable=SC2086
  check "$1: every process stopped" none_alive $pids
  check "$1: nothing runs from the private copy or the state directory" runs_nothing_from "$private|$state"
  check "$1: the state directory is gone" test ! -e "$state"
}

started=$SECONDS
check "the copy is private (mode 0700)" test "$(stat -c %a "$private")" = 700
check "postgres cannot enter the copy" bash -c "! runuser -u postgres -- test -x '$private'"

bash e2e/stack/stack.sh stop # leftovers of an interrupted run

# A state directory inside the private copy: refused with the reason, nothing started.
out=$(PGSCOPE_STACK_DIR="$private/state" bash e2e/stack/stack.sh start 2>&1); status=$?
check "a state directory postgres cannot reach is refused" test "$status" != 0
check "the refusal says why" says "$out" "the postgres user cannot enter the state directory $private/state"
check "nothing was started for it" test ! -e "$private/state/pg"

# The whole stack, Patroni included, from the private copy.
out=$(bash e2e/stack/stack.sh start 2>&1); status=$?
check "start from the private copy succeeds" test "$status" = 0
[ "$status" = 0 ] || echo "$out"
check "no process was refused its working directory" bash -c "! grep -rqs 'could not change directory' '$state'"
check "start said nothing of working directories" bash -c '! grep -q "could not change directory" <<<"$1"' _ "$out"
check "pg_stat_statements answers" bash -c "psql -X -h 127.0.0.1 -p $PG_PORT -U pgscope_reader -d postgres -tAc 'SELECT count(*) > 0 FROM pg_stat_statements' | grep -qx t"
check "Patroni runs a primary" curl -sf --max-time 5 "http://127.0.0.1:$PATRONI_PORT/primary"
check "VictoriaMetrics holds pgss series" bash -c "curl -sf --max-time 5 'http://127.0.0.1:$VM_PORT/api/v1/query?query=pg_stat_statements_calls_total' | grep -q '\"metric\"'"
stop_and_check "full stack"

# A port taken by someone else: the process that cannot bind it is named, with its log's end.
python3 -c 'import signal, socket, sys; s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(); signal.pause()' "$NODE_PORT" &
squatter=$!
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$NODE_PORT") 2>/dev/null && break; sleep 0.1; done
out=$(PATRONI=0 bash e2e/stack/stack.sh start 2>&1); status=$?
check "start with node-exporter's port taken fails" test "$status" != 0
check "the failure names node-exporter and its log file" says "$out" "node-exporter exited while waiting for its metrics; the last lines of its log $state/node-exporter.log:"
check "the failure shows the log's last lines" says "$out" "address already in use"
[ "$failed" = 0 ] || echo "$out"
stop_and_check "port taken"
kill "$squatter" 2>/dev/null; wait "$squatter" 2>/dev/null; squatter=

echo "check-private-checkout: $passed passed, $failed failed in $((SECONDS - started)) s"
[ "$failed" = 0 ]
