#!/usr/bin/env bash
# A real pgss monitoring stack on 127.0.0.1 (shared/notes/pgss-metrics.md): a throwaway
# PostgreSQL 15 with pg_stat_statements under a fixed-rate pgbench workload in two databases,
# Debian's postgres_exporter with our queries file, our query-info exporter, node-exporter, a
# deliberately dead `self-cadvisor` target, and VictoriaMetrics (default) or Prometheus
# (TSDB=prometheus) scraping every 5 s; and a single-node Patroni 3.0 cluster (scope `demo`, its
# own PostgreSQL) on etcd, for the Patroni checks (PATRONI=0 leaves it out). It also scrapes
# pgscope's own metrics from Grafana (or the stand-in) on GRAFANA_PORT, for the plugin-errors rule. Every process is tracked by PID and stopped by PID;
# readiness is waited for by condition, never by fixed sleeps. A process that does not come up is
# named with its log file and the log's last lines.
#
# It works wherever the checkout lives and whoever runs it: every process starts from `/` (run as
# root, PostgreSQL and Patroni run as `postgres`, which may not be able to enter a private checkout),
# and what the `postgres` processes read is written into the state directory, owned by them.
#
# Usage: stack.sh start | stop | status | env
#        stack.sh stop-info | start-info | stop-tsdb | start-tsdb   (failure tests)
#        stack.sh stop-node | start-node | collapse-info | restore-info
#        stack.sh patroni-pause | patroni-resume | stop-etcd | start-etcd
#        stack.sh many-statements N   (N statements of distinct shapes: evictions)
#        stack.sh regress fast|slow|stop   (a probe statement at 10/s, 1 ms or 20 ms per call)
#        stack.sh io-probe start|stop     (a statement made I/O-bound: reads past the page cache)
#        stack.sh lock-probe start|stop   (a statement made lock-bound: two connections, one row)
# Settings: PGSS_MAX (pg_stat_statements.max, default 1000; a new state directory only),
# PGSS_EXPORT_LIMIT (statements the exporter exports, default all).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
STATE=$(realpath -m "${PGSCOPE_STACK_DIR:-/tmp/pgscope-stack}")
cd / # every path below is absolute
TSDB=${TSDB:-victoriametrics}
PG_PORT=${PG_PORT:-55432}
EXPORTER_PORT=${EXPORTER_PORT:-19187}
INFO_PORT=${INFO_PORT:-19188}
NODE_PORT=${NODE_PORT:-19100}
DEAD_PORT=${DEAD_PORT:-19180}
VM_PORT=${VM_PORT:-8428}
PROM_PORT=${PROM_PORT:-19090}
PATRONI=${PATRONI:-1}
GRAFANA_PORT=${GRAFANA_PORT:-3000}
ETCD_PORT=${ETCD_PORT:-12379}
PATRONI_PORT=${PATRONI_PORT:-18008}
PATRONI_PG_PORT=${PATRONI_PG_PORT:-55452}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
SCRAPE_INTERVAL=5s

case $TSDB in
  victoriametrics) TSDB_URL=http://127.0.0.1:$VM_PORT ;;
  prometheus) TSDB_URL=http://127.0.0.1:$PROM_PORT ;;
  *) echo "stack: TSDB must be victoriametrics or prometheus, not $TSDB" >&2; exit 2 ;;
esac

log() { echo "stack: $*" >&2; }

# PostgreSQL refuses to run as root: use the postgres account then.
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

fail() { # fail NAME LOG_FILE WHAT_WENT_WRONG : says which process failed and how its log ends, exits
  log "$1 $3; the last lines of its log $2:"
  tail -n 12 "$2" 2>/dev/null | sed 's/^/  | /' >&2
  exit 1
}

wait_for() { # wait_for NAME DESCRIPTION SECONDS COMMAND... : until COMMAND succeeds while NAME runs
  local name=$1 what=$2 seconds=$3; shift 3
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    running "$name" || fail "$name" "$STATE/$name.log" "exited while waiting for $what"
    ((SECONDS < deadline)) || fail "$name" "$STATE/$name.log" "timed out after $seconds s waiting for $what"
    sleep 0.2
  done
}

fetch() { curl -sf --max-time 5 "$@"; } # a squatter on a port must not hang a wait

metrics_have() { # metrics_have PORT PATTERN : the /metrics page on PORT has a line matching PATTERN
  local page
  page=$(fetch "http://127.0.0.1:$1/metrics") && grep -q "$2" <<<"$page"
}

spawn() { # spawn NAME COMMAND... : starts a long-running process, remembers its PID
  local name=$1; shift
  nohup "$@" >"$STATE/$name.log" 2>&1 &
  echo $! >"$STATE/$name.pid"
}

# A process that exited but was not reaped yet (a zombie) counts as gone: our daemons are
# orphans whose reaping is up to PID 1.
alive() { # alive PID
  local stat
  stat=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
  [[ $stat != Z* ]]
}

running() { # running NAME : its recorded process is alive
  [ -f "$STATE/$1.pid" ] && alive "$(cat "$STATE/$1.pid")"
}

# Fails when a process we just started has died (e.g. its port was taken by someone else).
still_running() {
  running "$1" || fail "$1" "$STATE/$1.log" "exited"
}

stop_pid() { # stop_pid NAME
  local file=$STATE/$1.pid pid
  [ -f "$file" ] || return 0
  pid=$(cat "$file")
  if kill "$pid" 2>/dev/null; then
    for _ in $(seq 100); do alive "$pid" || break; sleep 0.1; done
    if alive "$pid"; then kill -9 "$pid" 2>/dev/null || true; fi
  fi
  rm -f "$file"
}

tsdb_has() { # tsdb_has PROMQL : true when the query returns at least one series
  fetch "$TSDB_URL/api/v1/query" --data-urlencode "query=$1" | grep -q '"metric"'
}

psql_pg() { psql -X -q -h "$STATE" -p "$PG_PORT" -U postgres "$@"; }

# Run as root, the state directory belongs to `postgres`, which must be able to reach it.
prepare_state() {
  mkdir -p "$STATE"
  [ "$(id -u)" = 0 ] || return 0
  chown postgres "$STATE"
  if ! runuser -u postgres -- test -w "$STATE" -a -x "$STATE"; then
    log "the postgres user cannot enter the state directory $STATE (is a directory above it private?);"
    log "set PGSCOPE_STACK_DIR to a directory it can reach, e.g. under /tmp"
    exit 1
  fi
}

start_postgres() {
  if [ ! -d "$STATE/pg" ]; then
    mkdir -p "$STATE/pg"
    [ "$(id -u)" = 0 ] && chown postgres "$STATE/pg"
    as_pg "$PG_BIN/initdb" -D "$STATE/pg" --auth=trust --no-sync -U postgres >"$STATE/initdb.log" 2>&1 ||
      fail initdb "$STATE/initdb.log" "failed"
    cat >>"$STATE/pg/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$STATE'
shared_preload_libraries = 'pg_stat_statements,pg_stat_kcache,pg_wait_sampling,pg_qualstats'
pg_qualstats.sample_rate = 1
pg_wait_sampling.profile_queries = on
track_io_timing = on
fsync = off
synchronous_commit = off
full_page_writes = on
pg_stat_statements.max = ${PGSS_MAX:-1000}
shared_buffers = 64MB
CONF
  fi
  as_pg "$PG_BIN/pg_ctl" -D "$STATE/pg" -l "$STATE/postgres.log" -w -t 30 start >/dev/null ||
    fail postgres "$STATE/postgres.log" "did not start"
  for db in app shop; do
    if ! psql_pg -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1; then
      psql_pg -d postgres -c "CREATE DATABASE $db"
      "$PG_BIN/pgbench" -h "$STATE" -p "$PG_PORT" -U postgres -i -s 1 -q "$db" >"$STATE/pgbench-init-$db.log" 2>&1 ||
        fail "pgbench -i $db" "$STATE/pgbench-init-$db.log" "failed"
    fi
  done
  psql_pg -d postgres -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"
  # Issue 21: CPU/I/O and wait events per statement (read by the exporter in `postgres`),
  # predicates and hypothetical indexes for index advice (in the databases queried).
  psql_pg -d postgres -c "CREATE EXTENSION IF NOT EXISTS pg_stat_kcache" -c "CREATE EXTENSION IF NOT EXISTS pg_wait_sampling"
  for db in app shop; do
    psql_pg -d "$db" -c "CREATE EXTENSION IF NOT EXISTS pg_qualstats" -c "CREATE EXTENSION IF NOT EXISTS hypopg"
  done
  # The read-only role pgscope names statements with (README: names from PostgreSQL);
  # pg_read_all_data lets index advice EXPLAIN the statements (docs/workload.md).
  psql_pg -d postgres -c "DO \$\$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'pgscope_reader')
    THEN CREATE ROLE pgscope_reader LOGIN; END IF; END \$\$; ALTER ROLE pgscope_reader PASSWORD 'demo-reader-pw';
    GRANT pg_read_all_stats, pg_read_all_data TO pgscope_reader"
}

start_workload() {
  local w=$HERE/workload
  spawn pgbench-app "$PG_BIN/pgbench" -h "$STATE" -p "$PG_PORT" -U postgres -n -c 2 -j 1 -R 20 -T 86400 \
    -b tpcb-like@6 -f "$w/seq_scan.sql@1" -f "$w/top_n.sql@2" -f "$w/temp_sort.sql@1" -f "$w/sleep.sql@1" -f "$w/wal_heavy.sql@1" -f "$w/tagged.sql@1" app
  spawn pgbench-shop "$PG_BIN/pgbench" -h "$STATE" -p "$PG_PORT" -U postgres -n -c 1 -j 1 -R 10 -T 86400 \
    -b select-only@5 -f "$w/top_n.sql@1" -f "$w/sleep.sql@1" shop
}

start_info() {
  running info-exporter && return 0
  spawn info-exporter python3 "$HERE/info_exporter.py" --listen "127.0.0.1:$INFO_PORT" --pg-host "$STATE" --pg-port "$PG_PORT" \
    --collapse-flag "$STATE/info-collapsed"
  wait_for info-exporter "its pgss_query_info metrics" 20 metrics_have "$INFO_PORT" '^pgss_query_info{'
  still_running info-exporter
}

start_node() {
  running node-exporter && return 0
  spawn node-exporter prometheus-node-exporter --web.listen-address="127.0.0.1:$NODE_PORT" \
    --no-collector.hwmon --no-collector.thermal_zone --no-collector.rapl
  wait_for node-exporter "its metrics" 20 fetch "http://127.0.0.1:$NODE_PORT/metrics"
  still_running node-exporter
}

start_etcd() {
  running etcd && return 0
  spawn etcd etcd --name pgscope --data-dir "$STATE/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$((ETCD_PORT + 1))" --initial-advertise-peer-urls "http://127.0.0.1:$((ETCD_PORT + 1))" \
    --initial-cluster "pgscope=http://127.0.0.1:$((ETCD_PORT + 1))"
  wait_for etcd "its health endpoint" 20 fetch "http://127.0.0.1:$ETCD_PORT/health"
  still_running etcd
}

start_patroni() {
  [ "$PATRONI" = 1 ] || return 0
  running patroni && return 0
  mkdir -p "$STATE/patroni"
  [ "$(id -u)" = 0 ] && chown postgres "$STATE/patroni"
  start_etcd
  cat >"$STATE/patroni.yml" <<YAML
scope: demo
name: pg1
restapi: {listen: '127.0.0.1:$PATRONI_PORT', connect_address: '127.0.0.1:$PATRONI_PORT'}
etcd3: {hosts: '127.0.0.1:$ETCD_PORT'}
bootstrap:
  dcs: {ttl: 30, loop_wait: 2, retry_timeout: 10}
postgresql:
  listen: '127.0.0.1:$PATRONI_PG_PORT'
  connect_address: '127.0.0.1:$PATRONI_PG_PORT'
  data_dir: '$STATE/patroni/pg'
  bin_dir: '$PG_BIN'
  pgpass: '$STATE/patroni/pgpass'
  authentication:
    superuser: {username: postgres, password: pgscope}
    replication: {username: replicator, password: pgscope}
  parameters: {unix_socket_directories: '$STATE/patroni', fsync: 'off', max_connections: 20}
YAML
  [ "$(id -u)" = 0 ] && chown postgres "$STATE/patroni.yml"
  if [ "$(id -u)" = 0 ]; then
    spawn patroni runuser -u postgres -- patroni "$STATE/patroni.yml"
  else
    spawn patroni patroni "$STATE/patroni.yml"
  fi
  wait_for patroni "it to run a primary" 60 fetch "http://127.0.0.1:$PATRONI_PORT/primary"
  still_running patroni
}

patronictl_demo() { as_pg patronictl -c "$STATE/patroni.yml" "$@"; }

write_scrape_config() {
  local self_job=victoriametrics self_port=$VM_PORT
  [ "$TSDB" = prometheus ] && self_job=prometheus self_port=$PROM_PORT
  cat >"$STATE/scrape.yml" <<YAML
global:
  scrape_interval: $SCRAPE_INTERVAL
  scrape_timeout: 4s
scrape_configs:
  - job_name: postgres
    static_configs: [{targets: ['127.0.0.1:$EXPORTER_PORT'], labels: {cluster: demo, node_name: pg1}}]
  - job_name: query-info
    static_configs: [{targets: ['127.0.0.1:$INFO_PORT']}]
  - job_name: node
    static_configs: [{targets: ['127.0.0.1:$NODE_PORT']}]
  - job_name: grafana-pgscope
    metrics_path: /api/plugins/pgscope-datasource/metrics
    static_configs: [{targets: ['127.0.0.1:$GRAFANA_PORT']}]
  - job_name: self-cadvisor
    static_configs: [{targets: ['127.0.0.1:$DEAD_PORT']}]
$( [ "$PATRONI" = 1 ] && printf "  - job_name: patroni\n    static_configs: [{targets: ['127.0.0.1:%s']}]\n" "$PATRONI_PORT")
  - job_name: $self_job
    static_configs: [{targets: ['127.0.0.1:$self_port']}]
YAML
}

start_tsdb() {
  running tsdb && return 0
  if [ "$TSDB" = victoriametrics ]; then
    spawn tsdb victoria-metrics -storageDataPath="$STATE/vm" -httpListenAddr="127.0.0.1:$VM_PORT" \
      -promscrape.config="$STATE/scrape.yml" -search.latencyOffset=1s -retentionPeriod=1d -loggerLevel=WARN
  else
    spawn tsdb prometheus --config.file="$STATE/scrape.yml" --storage.tsdb.path="$STATE/prom" \
      --web.listen-address="127.0.0.1:$PROM_PORT" --storage.tsdb.retention.time=1d
  fi
  local started
  started=$(date +%s)
  wait_for tsdb "$TSDB to answer queries" 30 tsdb_has 'vector(1)'
  # Every target scraped by this process: only then does it write stale markers when one stops
  # (a target it has not scraped yet would keep its old series visible for 5 minutes).
  wait_for tsdb "$TSDB to scrape every target" 30 tsdb_has "min(timestamp(up)) > $started"
  still_running tsdb
}

# The queries file the exporter reads: ours, or with PGSS_EXPORT_LIMIT=N the statements cut at
# the N with the most execution time, as postgres_exporter's own collector does (LIMIT 100).
queries_file() {
  if [ -n "${PGSS_EXPORT_LIMIT:-}" ]; then
    [[ $PGSS_EXPORT_LIMIT =~ ^[0-9]+$ ]] || { log "PGSS_EXPORT_LIMIT must be a number, not $PGSS_EXPORT_LIMIT"; exit 2; }
    sed "s/-- pgscope:limit.*/ORDER BY seconds_total DESC LIMIT $PGSS_EXPORT_LIMIT/" "$HERE/queries.yaml" >"$STATE/queries.yaml"
    echo "$STATE/queries.yaml"
  else
    echo "$HERE/queries.yaml"
  fi
}

start() {
  local started=$SECONDS
  if running tsdb; then
    log "already running ($STATE)"; return 0
  fi
  prepare_state
  start_postgres
  start_workload
  DATA_SOURCE_NAME="postgresql://postgres@127.0.0.1:$PG_PORT/postgres?sslmode=disable" \
    spawn postgres-exporter prometheus-postgres-exporter --web.listen-address="127.0.0.1:$EXPORTER_PORT" \
      --extend.query-path="$(queries_file)" --disable-settings-metrics
  start_info
  start_node
  start_patroni
  write_scrape_config
  start_tsdb
  wait_for postgres-exporter "its pgss metrics" 30 metrics_have "$EXPORTER_PORT" '^pg_stat_statements_calls_total{'
  wait_for tsdb "pgss series in $TSDB" 30 tsdb_has 'pg_stat_statements_calls_total'
  wait_for tsdb "pg_stat_kcache and pg_stat_statements_info series in $TSDB" 30 tsdb_has 'pg_stat_kcache_exec_user_seconds_total and on() pg_stat_statements_info_dealloc_total'
  wait_for tsdb "query names in $TSDB" 30 tsdb_has 'pgss_query_info'
  wait_for tsdb "node-exporter in $TSDB" 30 tsdb_has 'up{job="node"} == 1'
  for name in postgres-exporter info-exporter pgbench-app pgbench-shop; do still_running "$name"; done
  log "ready in $((SECONDS - started)) s: $TSDB at $TSDB_URL (state in $STATE)"
}

stop() {
  for name in tsdb node-exporter info-exporter postgres-exporter pgbench-app pgbench-shop pgbench-regress pgbench-io pgbench-lock-hold pgbench-lock-wait patroni etcd; do
    stop_pid "$name"
  done
  if [ -f "$STATE/patroni/pg/postmaster.pid" ]; then # Patroni's PostgreSQL, if Patroni was killed
    as_pg "$PG_BIN/pg_ctl" -D "$STATE/patroni/pg" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  if [ -f "$STATE/pg/postmaster.pid" ]; then
    as_pg "$PG_BIN/pg_ctl" -D "$STATE/pg" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$STATE"
}

status() {
  for name in postgres-exporter info-exporter node-exporter tsdb pgbench-app pgbench-shop patroni etcd; do
    local state=stopped
    running "$name" && state="running (pid $(cat "$STATE/$name.pid"))"
    printf '%-18s %s\n' "$name" "$state"
  done
}

# Issue 21's probes, each a statement of its own whose time goes one way (e2e/specs/where-time-goes.spec.mjs).
# I/O-bound: io_probe(n) fetches n random rows by index from a table larger than shared_buffers
# (64 MB), one call every 0.5 s; before each call pgbench drops the table's and index's pages from
# the OS page cache (workload/evict_page_cache.sh), so the reads reach the block device and
# pg_stat_kcache (getrusage) counts them. Without that the page cache of this machine would serve
# every read, and the time would be CPU (system time copying pages) rather than I/O wait.
io_probe_start() {
  psql_pg -d app -v ON_ERROR_STOP=1 \
    -c "CREATE TABLE IF NOT EXISTS io_probe_data AS SELECT g AS id, repeat(md5(g::text), 6) AS pad FROM generate_series(1, 600000) g" \
    -c "CREATE UNIQUE INDEX IF NOT EXISTS io_probe_data_id ON io_probe_data (id)" \
    -c "VACUUM (FREEZE, ANALYZE) io_probe_data" -c "CHECKPOINT" \
    -c "CREATE OR REPLACE FUNCTION io_probe(n int) RETURNS bigint LANGUAGE sql
          SET max_parallel_workers_per_gather = 0 SET enable_bitmapscan = off SET enable_seqscan = off
          AS 'SELECT sum(length(pad)) FROM io_probe_data WHERE id IN (SELECT (random() * 599999)::int + 1 FROM generate_series(1, n))'"
  local table index
  table=$STATE/pg/$(psql_pg -d app -tAc "SELECT pg_relation_filepath('io_probe_data')")
  index=$STATE/pg/$(psql_pg -d app -tAc "SELECT pg_relation_filepath('io_probe_data_id')")
  sync "$table" "$index" # fsync=off: written back now, so that the page cache can drop them
  spawn pgbench-io "$PG_BIN/pgbench" -h "$STATE" -p "$PG_PORT" -U postgres -n -c 1 -j 1 -R 2 -T 86400 \
    -D "evict=$HERE/workload/evict_page_cache.sh" -D "table=$table" -D "index=$index" -f "$HERE/workload/io_probe.sql" app
}

# Lock-bound: one connection runs lock_probe_hold(0.5) back to back (SELECT .. FOR UPDATE of row 1,
# held half a second, released at the statement's end), another updates row 1 twice a second
# (workload/lock_wait.sql), so that statement spends its time waiting for the holder's
# transaction (pg_wait_sampling: Lock:transactionid).
lock_probe_start() {
  psql_pg -d app -v ON_ERROR_STOP=1 \
    -c "CREATE TABLE IF NOT EXISTS lock_probe (id int PRIMARY KEY, n bigint NOT NULL DEFAULT 0)" \
    -c "INSERT INTO lock_probe VALUES (1) ON CONFLICT DO NOTHING" \
    -c "CREATE OR REPLACE FUNCTION lock_probe_hold(hold float8) RETURNS void LANGUAGE plpgsql
          AS 'BEGIN PERFORM 1 FROM lock_probe WHERE id = 1 FOR UPDATE; PERFORM pg_sleep(hold); END'"
  spawn pgbench-lock-hold "$PG_BIN/pgbench" -h "$STATE" -p "$PG_PORT" -U postgres -n -c 1 -j 1 -T 86400 -f "$HERE/workload/lock_hold.sql" app
  spawn pgbench-lock-wait "$PG_BIN/pgbench" -h "$STATE" -p "$PG_PORT" -U postgres -n -c 1 -j 1 -R 2 -T 86400 -f "$HERE/workload/lock_wait.sql" app
}

case ${1:-} in
  start) start ;;
  stop) stop ;;
  status) status ;;
  stop-info) stop_pid info-exporter ;;
  start-info) start_info ;;
  stop-tsdb) stop_pid tsdb ;;
  stop-node) stop_pid node-exporter ;;
  start-node) start_node ;;
  patroni-pause) patronictl_demo pause --wait ;;
  patroni-resume) # idempotent: a cluster that is not paused is already what was asked
    if ! out=$(patronictl_demo resume --wait 2>&1); then
      grep -q 'Cluster is not paused' <<<"$out" || { echo "$out" >&2; exit 1; }
    fi
    echo "$out" ;;
  stop-etcd) stop_pid etcd ;;
  start-etcd) start_etcd ;;
  regress) # regress fast|slow|stop: the probe statement regress_probe(delay) (workload/regress_probe.sql) at 10/s in app
    case ${2:-} in fast) delay=0.001 ;; slow) delay=0.02 ;; stop) delay= ;; *) echo "regress fast|slow|stop" >&2; exit 2 ;; esac
    stop_pid pgbench-regress
    # A function of its own, so that its queryid and name are not sleep.sql's (pg_stat_statements
    # ignores column aliases when it computes a queryid).
    [ -z "$delay" ] || psql_pg -d app -q -c "CREATE OR REPLACE FUNCTION regress_probe(delay float8) RETURNS void LANGUAGE sql AS 'SELECT pg_sleep(delay)'"
    [ -z "$delay" ] || spawn pgbench-regress "$PG_BIN/pgbench" -h "$STATE" -p "$PG_PORT" -U postgres -n -c 1 -j 1 -R 10 -T 86400 \
      -D "delay=$delay" -f "$HERE/workload/regress_probe.sql" app ;;
  io-probe) # io-probe start|stop: the I/O-bound probe statement io_probe(2000), 2/s in app
    case ${2:-} in start | stop) ;; *) echo "io-probe start|stop" >&2; exit 2 ;; esac
    stop_pid pgbench-io
    [ "$2" = stop ] || io_probe_start ;;
  lock-probe) # lock-probe start|stop: the lock-bound probe statement (workload/lock_wait.sql) and its holder
    case ${2:-} in start | stop) ;; *) echo "lock-probe start|stop" >&2; exit 2 ;; esac
    stop_pid pgbench-lock-wait; stop_pid pgbench-lock-hold
    [ "$2" = stop ] || lock_probe_start ;;
  many-statements) # N statements of distinct shapes (SELECT 1 AS c1, .., 1 AS ck) in database app
    n=${2:-300}; [[ $n =~ ^[0-9]+$ ]] || { echo "many-statements N: N must be a number" >&2; exit 2; }
    for k in $(seq 1 "$n"); do printf 'SELECT %s;\n' "$(seq -s, -f '1 AS c%g' 1 "$k")"; done | psql_pg -d app -o /dev/null ;;
  collapse-info) touch "$STATE/info-collapsed" ;;
  restore-info) rm -f "$STATE/info-collapsed" ;;
  start-tsdb) start_tsdb ;;
  env) echo "PGSCOPE_TSDB_URL=$TSDB_URL"; echo "PGSCOPE_STACK_DIR=$STATE"; echo "PG_PORT=$PG_PORT"
    # host=localhost, not an address: the plugin (a static musl binary) resolves the name itself.
    echo "PGSCOPE_PG_NAMES='host=localhost port=$PG_PORT user=pgscope_reader password=demo-reader-pw dbname=postgres'" ;;
  *) echo "usage: $0 start|stop|status|env|stop-info|start-info|stop-tsdb|start-tsdb|stop-node|start-node|collapse-info|restore-info|patroni-pause|patroni-resume|stop-etcd|start-etcd|many-statements N|regress fast|slow|stop|io-probe start|stop|lock-probe start|stop" >&2; exit 2 ;;
esac
