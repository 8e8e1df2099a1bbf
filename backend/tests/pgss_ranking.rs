//! `pgssTopQueries` ranked in the TSDB (`pgss::top_queries`) gives the same rows and figures as
//! the in-plugin ranking it replaced (`pgss::top_queries_in_plugin`, the reference), for every
//! ordering, with limits, searches and filters, on real VictoriaMetrics and Prometheus: the
//! small per-schema fixture of the dashboard tests and a 1,000-statement fleet (resets,
//! statements appearing and vanishing, ties at 0). And what it reads from the TSDB does not grow
//! with the number of statements: bytes counted at 1,000 and 10,000.

mod support;
#[path = "support/fleet.rs"]
mod fleet;

use std::time::Duration;
use fleet::{CountingProxy, Fleet};
use pgscope::frame::{Frame, Values};
use pgscope::pgss::catalog::{POSTGRES_AI, POSTGRES_EXPORTER, SCHEMAS};
use pgscope::pgss::{Measure, PgssState, Span};
use pgscope::prom::client::PromClient;
use pgscope::settings::Settings;
use pgscope::telemetry::Telemetry;

fn client(url: &str, schema: &str) -> PromClient {
    let json = format!(r#"{{"timeInterval":"15s","pgssSchema":"{schema}"}}"#);
    PromClient::new(Settings::from_instance(Some(&support::instance("ranking", url, &json))).unwrap(), Telemetry::default()).unwrap()
}

/// Every ordering the table offers: each measure per second and per call, the hit ratio, the
/// share (the default).
fn orders() -> Vec<String> {
    let mut orders: Vec<String> = Measure::ALL.iter().map(|m| m.key().to_string()).collect();
    orders.extend(Measure::ALL.iter().filter(|m| **m != Measure::Calls).map(|m| format!("{}_per_call", m.key())));
    orders.extend(["hit_ratio".to_string(), String::new()]);
    orders
}

/// Every ordering at `limit`.
fn every_order(limit: usize) -> Vec<String> {
    orders().iter().map(|o| format!(r#"{{"orderBy":"{o}","limit":{limit}}}"#)).collect()
}

/// The query JSONs compared: every ordering at `limit`, and `extras`.
fn cases(limit: usize, searches: &[&str]) -> Vec<String> {
    let mut cases = every_order(limit);
    cases.extend(extras(limit, searches));
    cases
}

/// A few orderings at limits 1 and 500, searches, a filter.
fn extras(limit: usize, searches: &[&str]) -> Vec<String> {
    let mut cases = Vec::new();
    for order in ["exec_time", "calls", "exec_time_per_call", "hit_ratio", "temp_written"] {
        for limit in [1, 500] {
            cases.push(format!(r#"{{"orderBy":"{order}","limit":{limit}}}"#));
        }
    }
    for search in searches {
        cases.push(format!(r#"{{"orderBy":"exec_time","limit":{limit},"search":"{search}"}}"#));
        cases.push(format!(r#"{{"orderBy":"calls_per_call","limit":{limit},"search":"{search}"}}"#));
    }
    cases.push(format!(r#"{{"orderBy":"calls","limit":{limit},"database":"(db1|db3|app)"}}"#));
    cases
}

fn same_number(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
}

/// The two tables hold the same columns, rows in the same order and the same figures.
fn assert_same(reference: &[Frame], ranked: &[Frame], case: &str) {
    let (a, b) = (&reference[0], &ranked[0]);
    let names = |f: &Frame| f.fields.iter().map(|f| f.name.clone()).collect::<Vec<_>>();
    assert_eq!(names(a), names(b), "{case}: columns");
    for (x, y) in a.fields.iter().zip(&b.fields) {
        match (&x.values, &y.values) {
            (Values::String(p), Values::String(q)) => assert_eq!(p, q, "{case}: column {}", x.name),
            (Values::Float64(p), Values::Float64(q)) => {
                assert_eq!(p.len(), q.len(), "{case}: column {}", x.name);
                for (i, (u, v)) in p.iter().zip(q).enumerate() {
                    assert!(same_number(*u, *v), "{case}: column {} row {i}: {u} in the plugin, {v} ranked in the TSDB", x.name);
                }
            }
            other => panic!("{case}: column {} of unexpected kinds {other:?}", x.name),
        }
    }
    let custom = |f: &Frame| f.meta.as_ref().and_then(|m| m.custom.clone()).unwrap_or_default();
    for key in ["statements", "orderBy", "schema"] {
        assert_eq!(custom(a).get(key), custom(b).get(key), "{case}: meta {key}");
    }
    assert_eq!(reference.len(), ranked.len(), "{case}: a sparkline per row");
}

/// Compares both paths on every case against the TSDB at `url`, schema `schema`; returns how
/// many rows were compared (so a fixture that gives nothing fails).
fn compare(url: &str, schema: &str, span: Span, cases: &[String]) -> usize {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let client = client(url, schema);
    let state = PgssState::default();
    let mut rows = 0;
    runtime.block_on(async {
        for case in cases {
            let reference = pgscope::pgss::top_queries_in_plugin(&client, &state, case.as_bytes(), span).await.unwrap_or_else(|e| panic!("{case}: {e:?}"));
            let ranked = pgscope::pgss::top_queries(&client, &state, case.as_bytes(), span).await.unwrap_or_else(|e| panic!("{case}: {e:?}"));
            assert_same(&reference, &ranked, &format!("{schema} {case}"));
            rows += reference[0].fields[0].values.len();
        }
    });
    rows
}

fn span(from: i64, to: i64) -> Span {
    Span { from: from as f64, to: to as f64, interval_ms: 15_000, max_points: 100 }
}

const SMALL_SEARCHES: &[&str] = &["shop", "statement 1234", "APP", "-4733", "t1 where", "nothing matches this"];
const FLEET_SEARCHES: &[&str] = &["db1", "stmt 12", "BATCH", "-1000", "select c7", "nothing matches this"];

#[test]
fn victoriametrics_ranks_like_the_plugin() {
    let end = support::now_s() / 15 * 15;
    // The dashboard tests' fixture, every schema in one TSDB (the settings choose).
    let vm = support::VictoriaMetrics::start();
    let mut lines = String::new();
    let mut series = 0;
    for schema in SCHEMAS {
        let (text, n) = support::pgss_dataset(schema, end);
        lines.push_str(&text);
        series += n;
    }
    vm.import(&lines, series);
    for schema in SCHEMAS {
        assert!(compare(&vm.url(), schema.id, span(end - 1800, end), &cases(3, SMALL_SEARCHES)) > 0, "{}", schema.id);
    }
    drop(vm);
    // The fleet: limits, searches and a filter with postgres_exporter's names (every ordering on
    // Prometheus), every ordering with postgres_ai's.
    for (schema, cases) in [(&POSTGRES_EXPORTER, extras(20, FLEET_SEARCHES)), (&POSTGRES_AI, every_order(20))] {
        let vm = support::VictoriaMetrics::start();
        Fleet::new(schema, 1000, 21, end).import_vm(&vm.addr);
        assert!(compare(&vm.url(), schema.id, span(end - 240, end), &cases) > 500, "{}", schema.id);
        // Ordered by time, the share's total came with the ranking (Prometheus, which refuses
        // `topk_last`, gave the same rows above with the total asked apart).
        let (_, stats) = support::http("GET", &vm.addr, "/api/v1/status/top_queries?topN=1000", b"").unwrap();
        assert!(stats.contains("topk_last("), "{}: no ranking with its total was asked", schema.id);
    }
}

#[test]
fn prometheus_ranks_like_the_plugin() {
    let end = support::now_s() / 15 * 15 - 60;
    let mut lines = String::new();
    for schema in SCHEMAS {
        lines.push_str(&support::pgss_dataset(schema, end).0);
    }
    let prometheus = support::Prometheus::start_with(&support::openmetrics(&lines));
    let url = format!("http://{}", prometheus.addr);
    for schema in SCHEMAS {
        assert!(compare(&url, schema.id, span(end - 1800, end), &cases(3, SMALL_SEARCHES)) > 0, "{}", schema.id);
    }
    drop(prometheus);
    let fleet = Fleet::new(&POSTGRES_EXPORTER, 1000, 21, end);
    let prometheus = support::Prometheus::start_from(|out| fleet.write_openmetrics(out), Duration::from_secs(300));
    assert!(compare(&prometheus.url(), "postgres_exporter", span(end - 240, end), &cases(20, FLEET_SEARCHES)) > 1000);
}

/// Bytes read from the TSDB for the top 20 by time, through a counting proxy: (ranked in the
/// TSDB, ranked in the plugin).
fn bytes_read(vm: &support::VictoriaMetrics, end: i64) -> (u64, u64) {
    let proxy = CountingProxy::start(&vm.addr);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let client = client(&proxy.url(), "postgres_exporter");
    let state = PgssState::default();
    let json = br#"{"orderBy":"exec_time","limit":20}"#;
    runtime.block_on(async {
        // The schema is detected (and cached) first, so both counts are of the queries alone.
        pgscope::pgss::schema(&client, &state, end as f64, 60.0).await.unwrap();
        let before = proxy.received();
        let frames = pgscope::pgss::top_queries(&client, &state, json, span(end - 60, end)).await.unwrap();
        assert_eq!(frames[0].fields[0].values.len(), 20);
        let ranked = proxy.received() - before;
        let before = proxy.received();
        pgscope::pgss::top_queries_in_plugin(&client, &state, json, span(end - 60, end)).await.unwrap();
        (ranked, proxy.received() - before)
    })
}

#[test]
fn what_is_read_from_the_tsdb_does_not_grow_with_the_statements() {
    let end = support::now_s() / 15 * 15;
    let mut read = Vec::new();
    for statements in [1000, 10_000] {
        let vm = support::VictoriaMetrics::start();
        Fleet::new(&POSTGRES_EXPORTER, statements, 6, end).import_vm(&vm.addr);
        read.push((statements, bytes_read(&vm, end)));
    }
    let [(_, (ranked_1k, plugin_1k)), (_, (ranked_10k, plugin_10k))] = read[..] else { unreachable!() };
    eprintln!("bytes read for the top 20: ranked in the TSDB {ranked_1k} at 1k statements, {ranked_10k} at 10k; in the plugin {plugin_1k}, {plugin_10k}");
    // Ten times the statements: the ranked path reads the same rows (labels and figures differ
    // by a few characters), the in-plugin path ten times as much.
    assert!(ranked_10k as f64 <= ranked_1k as f64 * 1.1, "ranked in the TSDB: {ranked_1k} bytes at 1k statements, {ranked_10k} at 10k");
    assert!(plugin_10k as f64 >= plugin_1k as f64 * 5.0, "the reference grows with the fleet: {plugin_1k} -> {plugin_10k}");
}

/// The table's statement count and whether it was taken on a sample (`statementsSample`).
fn statements_counted(frames: &[Frame]) -> (f64, Option<f64>, Vec<String>) {
    let custom = frames[0].meta.as_ref().and_then(|m| m.custom.clone()).unwrap_or_default();
    let queryids = match frames[0].fields.iter().find(|f| f.name == "queryid").map(|f| &f.values) {
        Some(Values::String(ids)) => ids.clone(),
        other => panic!("queryid column: {other:?}"),
    };
    (custom["statements"].as_f64().unwrap(), custom.get("statementsSample").and_then(|n| n.as_f64()), queryids)
}

#[test]
fn past_the_threshold_the_statements_are_counted_on_a_sample_and_said_to_be() {
    let end = support::now_s() / 15 * 15;
    let vm = support::VictoriaMetrics::start();
    Fleet::new(&POSTGRES_EXPORTER, 1000, 6, end).import_vm(&vm.addr);
    let fleet_client = client(&vm.url(), "postgres_exporter");
    // 200 for the 20,000 of a real fleet: 1,000 statements count on one in 10.
    let state = PgssState::default().with_sample_above(200.0);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let top = |json: &str| runtime.block_on(pgscope::pgss::top_queries(&fleet_client, &state, json.as_bytes(), span(end - 60, end))).unwrap();
    let by_time = r#"{"orderBy":"exec_time","limit":20}"#;
    // The first count is whole: nothing says the fleet is large yet.
    let (whole, sample, rows) = statements_counted(&top(by_time));
    assert_eq!((whole, sample), (1000.0, None));
    // Then one statement in 10, scaled, and said; the rows are the same.
    let (estimate, sample, sampled_rows) = statements_counted(&top(by_time));
    assert_eq!(sample, Some(10.0), "counted on a sample");
    assert!((estimate - whole).abs() <= whole * 0.2, "{estimate} for {whole}");
    assert_eq!(sampled_rows, rows);
    // Other filters are another count: whole again the first time.
    let (one_database, sample, _) = statements_counted(&top(r#"{"orderBy":"exec_time","limit":20,"database":"db1"}"#));
    assert_eq!((one_database, sample), (250.0, None));
    // The fleet shrank to 50 statements (the same datasource's state in front of a smaller
    // TSDB): the sample's 5 do not stand for it (under 200 / 20), the count is asked whole.
    let smaller = support::VictoriaMetrics::start();
    Fleet::new(&POSTGRES_EXPORTER, 50, 6, end).import_vm(&smaller.addr);
    let smaller_client = client(&smaller.url(), "postgres_exporter");
    let frames = runtime.block_on(pgscope::pgss::top_queries(&smaller_client, &state, by_time.as_bytes(), span(end - 60, end))).unwrap();
    let (count, sample, _) = statements_counted(&frames);
    assert_eq!((count, sample), (50.0, None), "a sample too small to stand for the whole is not trusted");
}
