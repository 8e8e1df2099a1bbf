//! The pgss query types end to end through the datasource against a real VictoriaMetrics
//! (Debian's), with counters whose rates are known: two statements in database `app`, one named
//! by an info metric, ten minutes of 15 s samples. Checks what DBAs read: per second, per call,
//! share of time, hit ratio, names and their fallback, the detail view's series.

mod support;

use std::collections::HashMap;

use pgscope::pluginv2;
use pgscope::datasource::{Datasource, QueryOutcome};
use pgscope::frame::{Frame, Values};

const STEP_S: i64 = 15;
const POINTS: i64 = 41; // ten minutes

/// (queryid, calls/s, exec seconds/s, rows/s, shared hit blocks/s, shared read blocks/s)
const STATEMENTS: [(&str, f64, f64, f64, f64, f64); 2] = [("111", 2.0, 0.1, 20.0, 90.0, 10.0), ("222", 1.0, 0.3, 1.0, 0.0, 0.0)];

/// Every sample: (metric family, labels, [(time s, value)]).
fn dataset(end_s: i64) -> Vec<(&'static str, String, Vec<(i64, f64)>)> {
    let times: Vec<i64> = (0..POINTS).map(|i| end_s - (POINTS - 1 - i) * STEP_S).collect();
    let mut out = Vec::new();
    for (id, calls, secs, rows, hit, read) in STATEMENTS {
        let labels = format!("datname=\"app\",user=\"alice\",queryid=\"{id}\",instance=\"db1:9187\"");
        for (metric, rate) in [
            ("pg_stat_statements_calls_total", calls),
            ("pg_stat_statements_seconds_total", secs),
            ("pg_stat_statements_rows_total", rows),
            ("pg_stat_statements_shared_blks_hit_total", hit),
            ("pg_stat_statements_shared_blks_read_total", read),
        ] {
            out.push((metric, labels.clone(), times.iter().map(|&t| (t, 1000.0 + rate * (t - times[0]) as f64)).collect()));
        }
    }
    let info = "datname=\"app\",queryid=\"111\",displayname=\"hot path\",query=\"SELECT hot FROM path\"".to_string();
    out.push(("pgss_query_info", info, times.iter().map(|&t| (t, 1.0)).collect()));
    out
}

fn import(vm: &support::VictoriaMetrics, end_s: i64) {
    let data = dataset(end_s);
    let mut lines = String::new();
    for (metric, labels, points) in &data {
        for (t, v) in points {
            lines.push_str(&format!("{metric}{{{labels}}} {v} {}\n", t * 1000));
        }
    }
    vm.import(&lines, data.len());
}

/// Prometheus has no import API: promtool backfills blocks from OpenMetrics (families grouped).
fn prometheus(end_s: i64) -> support::Prometheus {
    let data = dataset(end_s);
    let mut families: Vec<&str> = data.iter().map(|d| d.0).collect();
    families.dedup();
    let mut text = String::new();
    for family in families {
        text.push_str(&format!("# TYPE {family} gauge\n"));
        for (_, labels, points) in data.iter().filter(|d| d.0 == family) {
            for (t, v) in points {
                text.push_str(&format!("{family}{{{labels}}} {v} {t}\n"));
            }
        }
    }
    text.push_str("# EOF\n");
    support::Prometheus::start_with(&text)
}

fn request(url: &str, query_type: &str, json: &str, from_s: i64, to_s: i64) -> pluginv2::QueryDataRequest {
    pluginv2::QueryDataRequest {
        plugin_context: Some(support::plugin_context(support::instance("pgss", url, r#"{"timeInterval":"15s"}"#))),
        headers: HashMap::new(),
        queries: vec![pluginv2::DataQuery {
            query_type: query_type.into(),
            ..support::data_query("A", json, from_s * 1000, to_s * 1000)
        }],
    }
}

/// One request's outcome, on a runtime of its own (dropped after, with its connections).
fn outcome(datasource: &Datasource, request: pluginv2::QueryDataRequest) -> QueryOutcome {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(datasource.query_data(&request)).remove(0).1
}

fn frames(datasource: &Datasource, request: pluginv2::QueryDataRequest) -> Vec<Frame> {
    match outcome(datasource, request) {
        QueryOutcome::Frames(frames) => frames,
        QueryOutcome::Error { status, message, .. } => panic!("{status}: {message}"),
    }
}

fn strings<'a>(frame: &'a Frame, name: &str) -> &'a [String] {
    match frame.fields.iter().find(|f| f.name == name).map(|f| &f.values) {
        Some(Values::String(v)) => v,
        other => panic!("no string field {name}: {other:?}"),
    }
}

fn numbers<'a>(frame: &'a Frame, name: &str) -> &'a [f64] {
    match frame.fields.iter().find(|f| f.name == name).map(|f| &f.values) {
        Some(Values::Float64(v)) => v,
        other => panic!("no number field {name}: {other:?}"),
    }
}

fn close(actual: f64, expected: f64, what: &str) {
    assert!((actual - expected).abs() <= expected.abs() * 0.02 + 1e-9, "{what}: {actual} is not {expected}");
}

fn custom(frame: &Frame) -> &serde_json::Map<String, serde_json::Value> {
    frame.meta.as_ref().and_then(|m| m.custom.as_ref()).expect("pgscope frames carry custom meta")
}

#[test]
fn top_queries_and_one_query_read_victoriametrics() {
    let vm = support::VictoriaMetrics::start();
    let end = chrono::Utc::now().timestamp() / STEP_S * STEP_S;
    import(&vm, end);
    check(&vm.url(), end);
}

/// Prometheus has no `keep_metric_names`: the measures go one query each, with the same result.
#[test]
fn top_queries_and_one_query_read_prometheus() {
    let end = chrono::Utc::now().timestamp() / STEP_S * STEP_S - 60;
    let prometheus = prometheus(end);
    check(&format!("http://{}", prometheus.addr), end);
}

fn check(url: &str, end: i64) {
    let datasource = Datasource::new();
    // The last eight minutes: every sample inside, the counters' increases exact.
    let (from, to) = (end - 480, end);

    let top = frames(&datasource, request(url, "pgssTopQueries", r#"{"orderBy":"exec_time","limit":10}"#, from, to));
    let table = &top[0];
    assert_eq!(custom(table)["pgscope"], "pgss.top");
    assert_eq!(custom(table)["schema"], "postgres_exporter (custom queries) · 5 of 19 measures");
    assert_eq!(strings(table, "queryid"), ["222", "111"], "ordered by exec time");
    assert_eq!(strings(table, "name"), ["queryid 222", "hot path"]);
    assert_eq!(strings(table, "name_source"), ["queryid", "info"]);
    assert_eq!(strings(table, "text")[1], "SELECT hot FROM path");
    assert_eq!(strings(table, "user"), ["alice", "alice"]);
    close(numbers(table, "calls_per_s")[1], 2.0, "calls/s");
    close(numbers(table, "exec_time_per_s")[0], 0.3, "exec time/s");
    close(numbers(table, "exec_time_per_call")[0], 0.3, "time per call");
    close(numbers(table, "exec_time_per_call")[1], 0.05, "time per call");
    close(numbers(table, "rows_per_call")[1], 10.0, "rows per call");
    close(numbers(table, "share_of_time")[0], 0.75, "share of time");
    close(numbers(table, "hit_ratio")[1], 0.9, "hit ratio");
    close(numbers(table, "shared_read_per_s")[1], 10.0 * 8192.0, "blocks are bytes");
    assert!(numbers(table, "hit_ratio")[0].is_nan(), "nothing touched: no ratio, not 0");
    assert!(table.fields.iter().all(|f| !f.name.starts_with("wal_")), "absent measures have no column");
    let notices = &table.meta.as_ref().unwrap().notices;
    assert!(notices.iter().any(|n| n.text.starts_with("1 of 2 statement(s) have no name")), "{notices:?}");
    assert_eq!(top.len(), 3, "a sparkline frame per statement");

    let one = frames(&datasource, request(url, "pgssQuery", r#"{"queryid":"111"}"#, from, to));
    let first = custom(&one[0]);
    assert_eq!((first["pgscope"].as_str(), first["measure"].as_str(), first["per"].as_str()), (Some("pgss.query"), Some("calls"), Some("s")));
    assert_eq!((first["name"].as_str(), first["database"].as_str(), first["nameSource"].as_str()), (Some("hot path"), Some("app"), Some("info")));
    assert_eq!(first["users"], serde_json::json!(["alice"]));
    let series = |measure: &str, per: &str| {
        one.iter().find(|f| custom(f).get("measure").and_then(|m| m.as_str()) == Some(measure) && custom(f)["per"] == per).unwrap_or_else(|| panic!("no {measure}/{per}"))
    };
    let last = |frame: &Frame| *numbers(frame, "Value").iter().rev().find(|v| v.is_finite()).unwrap();
    close(last(series("calls", "s")), 2.0, "calls/s over time");
    close(last(series("exec_time", "call")), 0.05, "time per call over time");
    close(last(series("shared_hit", "s")), 90.0 * 8192.0, "hit bytes/s");
    assert_eq!(one.len(), 1 + 4 * 2, "calls per second; the others per second and per call");

    // A filter the TSDB cannot parse is the user's error, in the TSDB's words, not a fallback.
    match outcome(&datasource, request(url, "pgssTopQueries", r#"{"database":"(app"}"#, from, to)) {
        QueryOutcome::Error { message, .. } => assert!(message.contains("(app"), "{message}"),
        QueryOutcome::Frames(_) => panic!("an unparseable filter answered"),
    }
    let again = frames(&datasource, request(url, "pgssTopQueries", r#"{"database":"app"}"#, from, to));
    assert_eq!(strings(&again[0], "queryid"), ["222", "111"], "and the next query works as before");

    let unknown = frames(&datasource, request(url, "pgssQuery", r#"{"queryid":"999"}"#, from, to));
    let notices = &unknown[0].meta.as_ref().unwrap().notices;
    assert!(notices.iter().any(|n| n.text.contains("queryid 999 has no pgss series")), "{notices:?}");
}
