//! CPU vs I/O and wait events per statement (issue 21) through the datasource against a real
//! VictoriaMetrics and a real Prometheus (promtool-backfilled) holding exporter output recorded
//! from the e2e stack (tests/data/pgss/e2e-kcache-wait-recorded.prom: five /metrics pages of
//! postgres_exporter 0.11.1 with e2e/stack/queries.yaml, PostgreSQL 15 with pg_stat_kcache and
//! pg_wait_sampling, 20 s apart). The expected figures are computed here from the recorded
//! counters; every check runs on both TSDBs.

mod support;

use std::collections::{BTreeMap, HashMap};

use pgscope::datasource::{Datasource, QueryOutcome};
use pgscope::frame::{Frame, Labels, Values};
use pgscope::pgss::catalog::WAIT_SOURCES;
use pgscope::pgss::waits;
use pgscope::pluginv2;

const FIXTURE: &str = include_str!("data/pgss/e2e-kcache-wait-recorded.prom");

/// (page time s, metric name, labels text, value) for every recorded sample.
fn recorded() -> Vec<(i64, String, String, f64)> {
    let mut at = 0;
    let mut out = Vec::new();
    for line in FIXTURE.lines() {
        if let Some(t) = line.strip_prefix("# at ") {
            at = t.trim().parse().unwrap();
        } else if !line.starts_with('#') && !line.is_empty() {
            let (series, value) = line.rsplit_once(' ').unwrap();
            let (name, labels) = match series.split_once('{') {
                Some((name, rest)) => (name, rest.trim_end_matches('}')),
                None => (series, ""),
            };
            out.push((at, name.to_string(), labels.to_string(), value.parse().unwrap()));
        }
    }
    out
}

fn page_times() -> Vec<i64> {
    let mut times: Vec<i64> = recorded().iter().map(|r| r.0).collect();
    times.dedup();
    times
}

/// The recorded pages shifted so the last is at `end`, with the scrape's job and instance, as
/// `name{labels} value timestamp_ms` lines; `keep` picks the families. And how many series.
fn pages(end: i64, keep: impl Fn(&str) -> bool) -> (String, usize) {
    let shift = end - page_times().last().unwrap();
    let mut lines = String::new();
    let mut series = std::collections::BTreeSet::new();
    for (at, name, labels, value) in recorded().into_iter().filter(|r| keep(&r.1)) {
        let labels = if labels.is_empty() { String::new() } else { format!(",{labels}") };
        let full = format!("{name}{{job=\"postgres\",instance=\"db1:9187\"{labels}}}");
        lines.push_str(&format!("{full} {value} {}\n", (at + shift) * 1000));
        series.insert(full);
    }
    (lines, series.len())
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    VictoriaMetrics,
    Prometheus,
}

/// A real TSDB holding the recorded pages `keep` picks, and the range over which its increases
/// are the exact differences of the recorded counters between the first page and the last.
struct Tsdb {
    url: String,
    addr: String,
    from: i64,
    to: i64,
    /// Seconds.
    window: f64,
    _vm: Option<support::VictoriaMetrics>,
    _prometheus: Option<support::Prometheus>,
}

fn load(kind: Kind, keep: impl Fn(&str) -> bool) -> Tsdb {
    let times = page_times();
    let span = times[4] - times[0];
    match kind {
        // VictoriaMetrics' increase takes the sample before the window as its base: the range
        // starts just after the first page.
        Kind::VictoriaMetrics => {
            let vm = support::VictoriaMetrics::start();
            let end = chrono::Utc::now().timestamp() - 30;
            let (lines, series) = pages(end, keep);
            vm.import(&lines, series);
            let from = end - span + 1;
            Tsdb { url: vm.url(), addr: vm.addr.clone(), from, to: end, window: (end - from) as f64, _vm: Some(vm), _prometheus: None }
        }
        // Prometheus 2.42's range selector holds both ends: over exactly the pages' span both the
        // first and the last page are inside and nothing is extrapolated.
        Kind::Prometheus => {
            let end = chrono::Utc::now().timestamp() - 60;
            let prometheus = support::Prometheus::start_with(&support::openmetrics(&pages(end, keep).0));
            Tsdb { url: prometheus.url(), addr: prometheus.addr.clone(), from: end - span, to: end, window: span as f64, _vm: None, _prometheus: Some(prometheus) }
        }
    }
}

/// The recorded increase of one series between the first and the last page.
fn increase(name: &str, labels_contain: &[&str]) -> f64 {
    let values: Vec<f64> = recorded().into_iter().filter(|r| r.1 == name && labels_contain.iter().all(|l| r.2.contains(l))).map(|r| r.3).collect();
    assert_eq!(values.len(), 5, "{name} {labels_contain:?}: one sample per page");
    values[4] - values[0]
}

/// A `#[test]` per TSDB for each check: `check => on VictoriaMetrics, on Prometheus;`.
macro_rules! on_both_tsdbs {
    ($($check:ident => $victoriametrics:ident, $prometheus:ident;)*) => {$(
        #[test]
        fn $victoriametrics() {
            $check(Kind::VictoriaMetrics);
        }

        #[test]
        fn $prometheus() {
            $check(Kind::Prometheus);
        }
    )*};
}

on_both_tsdbs! {
    kcache_measures_come_per_statement_with_their_units =>
        kcache_measures_come_per_statement_with_their_units_victoriametrics,
        kcache_measures_come_per_statement_with_their_units_prometheus;
    without_kcache_series_the_measures_are_absent_not_zero =>
        without_kcache_series_the_measures_are_absent_not_zero_victoriametrics,
        without_kcache_series_the_measures_are_absent_not_zero_prometheus;
    wait_events_per_statement =>
        wait_events_per_statement_read_from_victoriametrics,
        wait_events_per_statement_read_from_prometheus;
    wait_events_come_in_the_table_and_the_detail_view =>
        wait_events_come_in_the_table_and_the_detail_view_victoriametrics,
        wait_events_come_in_the_table_and_the_detail_view_prometheus;
    the_rows_shown_are_measured_against_the_time_postgresql_recorded =>
        the_rows_shown_are_measured_against_the_time_postgresql_recorded_victoriametrics,
        the_rows_shown_are_measured_against_the_time_postgresql_recorded_prometheus;
}

/// The datasource's scrape interval is the recording's page spacing (20 s): the detail view's rate
/// windows are four of them, as Grafana's `$__rate_interval` (with 5 s, a Prometheus rate over
/// 20 s would hold one page and give nothing).
fn request(url: &str, query_type: &str, json: &str, from_s: i64, to_s: i64) -> pluginv2::QueryDataRequest {
    pluginv2::QueryDataRequest {
        plugin_context: Some(support::plugin_context(support::instance("pgss", url, r#"{"timeInterval":"20s"}"#))),
        headers: HashMap::new(),
        queries: vec![pluginv2::DataQuery { query_type: query_type.into(), ..support::data_query("A", json, from_s * 1000, to_s * 1000) }],
    }
}

fn frames(datasource: &Datasource, request: pluginv2::QueryDataRequest) -> Vec<Frame> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    match runtime.block_on(datasource.query_data(&request)).remove(0).1 {
        QueryOutcome::Frames(frames) => frames,
        QueryOutcome::Error { status, message, .. } => panic!("{status}: {message}"),
    }
}

fn field<'a>(frame: &'a Frame, name: &str) -> Option<&'a pgscope::frame::Field> {
    frame.fields.iter().find(|f| f.name == name)
}

fn numbers<'a>(frame: &'a Frame, name: &str) -> &'a [f64] {
    match field(frame, name).map(|f| &f.values) {
        Some(Values::Float64(v)) => v,
        other => panic!("no number field {name}: {other:?}"),
    }
}

fn strings<'a>(frame: &'a Frame, name: &str) -> &'a [String] {
    match field(frame, name).map(|f| &f.values) {
        Some(Values::String(v)) => v,
        other => panic!("no string field {name}: {other:?}"),
    }
}

fn close(actual: f64, expected: f64, what: &str) {
    assert!((actual - expected).abs() <= expected.abs() * 0.01 + 1e-9, "{what}: {actual} is not {expected}");
}

fn schema_text(frame: &Frame) -> String {
    frame.meta.as_ref().and_then(|m| m.custom.as_ref()).and_then(|c| c["schema"].as_str()).unwrap_or_default().to_string()
}

fn kcache_measures_come_per_statement_with_their_units(kind: Kind) {
    let tsdb = load(kind, |name| name.starts_with("pg_stat_statements_") || name.starts_with("pg_stat_kcache_"));
    let (from, to, window) = (tsdb.from, tsdb.to, tsdb.window);
    let datasource = Datasource::new();

    let table = &frames(&datasource, request(&tsdb.url, "pgssTopQueries", r#"{"orderBy":"cpu_user_time","limit":50}"#, from, to))[0];
    assert_eq!(schema_text(table), "postgres_exporter (custom queries) · 19 of 19 measures");
    let queryids = strings(table, "queryid");
    let top = &queryids[0];
    let key = format!("queryid=\"{top}\"");
    let user = increase("pg_stat_kcache_exec_user_seconds_total", &[&key]);
    assert!(user > 0.0, "the top statement by CPU used some");
    close(numbers(table, "cpu_user_time_per_s")[0], user / window, "user CPU seconds per second");
    close(numbers(table, "cpu_system_time_per_s")[0], increase("pg_stat_kcache_exec_system_seconds_total", &[&key]) / window, "system CPU");
    let calls = increase("pg_stat_statements_calls_total", &[&key]);
    close(numbers(table, "cpu_user_time_per_call")[0], user / calls, "user CPU per call");
    close(numbers(table, "disk_read_per_s")[0], increase("pg_stat_kcache_exec_reads_bytes_total", &[&key]) / window, "bytes read from storage");
    close(numbers(table, "disk_written_per_s")[0], increase("pg_stat_kcache_exec_writes_bytes_total", &[&key]) / window, "bytes written to storage");
    let unit = |name: &str| field(table, name).and_then(|f| f.config.as_ref()).and_then(|c| c.unit.clone()).unwrap_or_default();
    assert_eq!((unit("cpu_user_time_per_s"), unit("cpu_user_time_per_call")), ("s".to_string(), "s".to_string()));
    assert_eq!((unit("disk_read_per_s"), unit("disk_written_per_call")), ("Bps".to_string(), "bytes".to_string()));
    // Ordered by CPU: every row at or below the first.
    let cpu = numbers(table, "cpu_user_time_per_s");
    assert!(cpu.windows(2).all(|w| w[0] >= w[1] || w[1].is_nan()), "{cpu:?}");

    // The detail view's series of the same statement.
    let one = frames(&datasource, request(&tsdb.url, "pgssQuery", &format!(r#"{{"queryid":"{top}"}}"#), from, to));
    let measures: Vec<String> = one.iter().filter_map(|f| f.meta.as_ref()?.custom.as_ref()?.get("measure")?.as_str().map(String::from)).collect();
    for key in ["cpu_user_time", "cpu_system_time", "disk_read", "disk_written"] {
        assert!(measures.iter().any(|m| m == key), "{key} missing from the detail view's series: {measures:?}");
    }
}

fn without_kcache_series_the_measures_are_absent_not_zero(kind: Kind) {
    let tsdb = load(kind, |name| name.starts_with("pg_stat_statements_") && !name.starts_with("pg_stat_statements_info"));
    let datasource = Datasource::new();
    let table = &frames(&datasource, request(&tsdb.url, "pgssTopQueries", r#"{"orderBy":"exec_time","limit":5}"#, tsdb.from, tsdb.to))[0];
    assert_eq!(schema_text(table), "postgres_exporter (custom queries) · 15 of 19 measures");
    assert!(table.fields.iter().all(|f| !f.name.starts_with("cpu_") && !f.name.starts_with("disk_") && !f.name.contains("wait")), "no kcache or wait column: {:?}", table.fields.iter().map(|f| &f.name).collect::<Vec<_>>());
}

fn labels_of(text: &str) -> Labels {
    text.split(',').filter_map(|kv| kv.split_once('=')).map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn wait_events_per_statement(kind: Kind) {
    let tsdb = load(kind, |name| name.starts_with("pg_wait_sampling_"));
    let (to, window) = (tsdb.to, tsdb.window);
    let source = waits::detect(&["pg_wait_sampling_samples_total".to_string()]).unwrap();
    assert_eq!(source, &WAIT_SOURCES[0]);

    let answer = support::instant(&tsdb.addr, &waits::seconds_expr(source, window, &[], 5.0), to as f64).unwrap();
    let samples: Vec<(Labels, f64)> = answer.iter().map(|(l, v)| (labels_of(l), *v)).collect();
    let by_statement: BTreeMap<String, waits::Waits> = waits::read(source, &samples);
    // pg_sleep(0.02) in sleep.sql: its statement waits on Timeout:PgSleep only.
    let sleep = "2920803561901199087";
    let (top, share) = by_statement[sleep].top().unwrap();
    assert_eq!((top.name().as_str(), share), ("Timeout:PgSleep", 1.0));
    close(top.seconds, increase("pg_wait_sampling_samples_total", &["event=\"PgSleep\"", sleep]) * 0.01, "seconds asleep (samples x 10 ms)");
    // Some pgbench statement waited on another's row lock (tpcb-like updates contend).
    assert!(by_statement.values().any(|w| w.events.iter().any(|e| e.event_type == "Lock")), "{by_statement:#?}");

    // One statement only, and the stacked chart's rate over time.
    let one = support::instant(&tsdb.addr, &waits::seconds_expr(source, window, &[sleep], 5.0), to as f64).unwrap();
    assert_eq!(one.len(), 1, "{one:?}");
    let rate = support::instant(&tsdb.addr, &waits::rate_expr(source, window, &[sleep]), to as f64).unwrap();
    // VictoriaMetrics' rate divides by the time between the samples it uses, not by the window:
    // within a few per cent; Prometheus' by the window, its samples spanning it exactly.
    let (actual, expected) = (rate[0].1, top.seconds / window);
    assert!((actual - expected).abs() <= expected * 0.03, "{kind:?}: sessions asleep on average: {actual} vs {expected}");
}

fn wait_events_come_in_the_table_and_the_detail_view(kind: Kind) {
    let tsdb = load(kind, |name| (name.starts_with("pg_stat_statements_") && !name.starts_with("pg_stat_statements_info")) || name.starts_with("pg_wait_sampling_"));
    let (from, to, window) = (tsdb.from, tsdb.to, tsdb.window);
    let datasource = Datasource::new();
    let sleep = "2920803561901199087";
    let table = &frames(&datasource, request(&tsdb.url, "pgssTopQueries", r#"{"orderBy":"calls","limit":100}"#, from, to))[0];
    let row = strings(table, "queryid").iter().position(|q| q == sleep).expect("the pg_sleep statement is listed");
    assert_eq!(strings(table, "top_wait_event")[row], "Timeout:PgSleep");
    close(numbers(table, "top_wait_share")[row], 1.0, "its only wait");
    close(numbers(table, "wait_time_per_s")[row], increase("pg_wait_sampling_samples_total", &["event=\"PgSleep\"", sleep]) * 0.01 / window, "seconds asleep per second");
    // A statement never seen waiting: no event, no figure (not 0).
    let unseen = strings(table, "top_wait_event").iter().position(String::is_empty);
    if let Some(i) = unseen {
        assert!(numbers(table, "wait_time_per_s")[i].is_nan() && numbers(table, "top_wait_share")[i].is_nan());
    }
    let one = frames(&datasource, request(&tsdb.url, "pgssQuery", &format!(r#"{{"queryid":"{sleep}"}}"#), from, to));
    let waits: Vec<&Frame> = one.iter().filter(|f| f.meta.as_ref().and_then(|m| m.custom.as_ref()).and_then(|c| c.get("measure")).and_then(|m| m.as_str()) == Some("wait")).collect();
    assert_eq!(waits.len(), 1, "one event: {:?}", one.iter().map(|f| &f.name).collect::<Vec<_>>());
    let labels = waits[0].fields[1].labels.clone().unwrap_or_default();
    assert_eq!((labels.get("event_type").map(String::as_str), labels.get("event").map(String::as_str)), (Some("Timeout"), Some("PgSleep")));
    let asleep = numbers(waits[0], "Value");
    assert!(asleep.iter().any(|v| *v > 0.0 && *v < 10.0), "sessions asleep over time: {asleep:?}");
}

fn notices(frame: &Frame) -> Vec<String> {
    frame.meta.as_ref().map(|m| m.notices.iter().map(|n| n.text.clone()).collect()).unwrap_or_default()
}

fn the_rows_shown_are_measured_against_the_time_postgresql_recorded(kind: Kind) {
    // The recording holds database app's statements only, and PostgreSQL's totals over all three
    // databases: what a TSDB fed by an exporter that leaves statements out looks like.
    let tsdb = load(kind, |name| name.starts_with("pg_stat_statements_"));
    let (from, to) = (tsdb.from, tsdb.to);
    let datasource = Datasource::new();
    let table = &frames(&datasource, request(&tsdb.url, "pgssTopQueries", r#"{"orderBy":"exec_time","limit":3}"#, from, to))[0];
    let shown: f64 = strings(table, "queryid").iter().map(|q| increase("pg_stat_statements_seconds_total", &[&format!("queryid=\"{q}\"")])).sum();
    let recorded_time = increase("pg_stat_statements_info_exec_seconds_total", &[]);
    let expected = format!("The 3 statements shown cover {:.1} % of the execution time PostgreSQL recorded in this range.", shown / recorded_time * 100.0);
    assert!(shown < 0.9 * recorded_time, "the recording must leave time out for this test: {shown} of {recorded_time}");
    assert!(notices(table).iter().any(|n| n.starts_with(&expected)), "{expected:?} not in {:?}", notices(table));
    let last_page = page_times()[4];
    let exported = recorded().iter().filter(|r| r.0 == last_page && r.1 == "pg_stat_statements_calls_total").count();
    assert!(notices(table).iter().any(|n| n.contains(&format!("The exporter exports {exported} of the 85 statements pg_stat_statements holds"))), "{:?}", notices(table));

    // Narrowed to one database, PostgreSQL's server-wide totals do not compare: no figure.
    let narrowed = &frames(&datasource, request(&tsdb.url, "pgssTopQueries", r#"{"orderBy":"exec_time","limit":3,"database":"app"}"#, from, to))[0];
    assert!(!notices(narrowed).iter().any(|n| n.contains("PostgreSQL recorded")), "{:?}", notices(narrowed));

    // Without pg_stat_statements_info series nothing is known: no figure, not 100 %.
    let bare = load(kind, |name| name.starts_with("pg_stat_statements_") && !name.starts_with("pg_stat_statements_info"));
    let table = &frames(&Datasource::new(), request(&bare.url, "pgssTopQueries", r#"{"orderBy":"exec_time","limit":3}"#, bare.from, bare.to))[0];
    assert!(!notices(table).iter().any(|n| n.contains("PostgreSQL recorded")), "{:?}", notices(table));
}
