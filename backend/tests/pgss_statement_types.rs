//! Statement types and sqlcommenter tags in `pgssTopQueries` (issue 21) on real VictoriaMetrics
//! and Prometheus: the `statement_type` and `tags` columns from the info metric's texts, and
//! the `statementType` and `tag` filters, whose label regexes let the TSDB rank (`topk`) only
//! the statements the plugin then keeps: the rows ranked in the TSDB are the rows of the
//! in-plugin reference (`top_queries_in_plugin`), also at limits below the matches.

mod support;

use pgscope::frame::{Frame, Values};
use pgscope::pgss::{PgssState, Span};
use pgscope::prom::client::PromClient;
use pgscope::settings::Settings;
use pgscope::telemetry::Telemetry;

const STEP_S: i64 = 15;
const POINTS: i64 = 41;

/// (queryid, execution seconds per second, the info metric's text; None: no info series).
const STATEMENTS: &[(&str, f64, Option<&str>)] = &[
    ("101", 0.10, Some("/* application='checkout',route='%2Fcart' */ SELECT abalance FROM pgbench_accounts WHERE aid = $1")),
    ("102", 0.90, Some("UPDATE pgbench_tellers SET tbalance = tbalance + $1 WHERE tid = $2 /*application='checkout',route='%2Fcart%2Fpay'*/")),
    ("103", 0.80, Some("WITH a AS (SELECT $1) INSERT INTO t (x) SELECT * FROM a")),
    ("104", 0.20, Some("WITH t AS (SELECT $1 AS x) SELECT x FROM t /* application=reports */")),
    ("105", 0.70, Some("BEGIN")),
    ("106", 0.60, Some("CREATE INDEX i ON t (a)")),
    ("107", 0.50, Some("WITH t AS (SELECT 1 FROM big WHERE a = $1 AND b = …")),
    ("108", 0.40, None),
    ("109", 0.30, Some("SELECT * FROM t WHERE id = $1 FOR UPDATE")),
    ("110", 0.05, Some("DELETE FROM t WHERE id = $1 -- application=search")),
];

/// The statements' counters and info series, as postgres_exporter's custom queries and the
/// stack's info exporter name them.
fn dataset(end_s: i64) -> (String, usize) {
    let times: Vec<i64> = (0..POINTS).map(|i| end_s - (POINTS - 1 - i) * STEP_S).collect();
    let mut lines = String::new();
    let mut series = 0;
    for (id, seconds, text) in STATEMENTS {
        let labels = format!("datname=\"app\",user=\"alice\",queryid=\"{id}\",instance=\"db1:9187\"");
        for (metric, rate) in [("pg_stat_statements_calls_total", 1.0), ("pg_stat_statements_seconds_total", *seconds)] {
            for t in &times {
                lines.push_str(&format!("{metric}{{{labels}}} {} {}\n", rate * (t - times[0]) as f64, t * 1000));
            }
            series += 1;
        }
        if let Some(text) = text {
            let quoted = text.replace('\\', "\\\\").replace('"', "\\\"");
            for t in &times {
                lines.push_str(&format!("pgss_query_info{{datname=\"app\",queryid=\"{id}\",query=\"{quoted}\"}} 1 {}\n", t * 1000));
            }
            series += 1;
        }
    }
    (lines, series)
}

fn client(url: &str) -> PromClient {
    let json = r#"{"timeInterval":"15s","pgssSchema":"postgres_exporter"}"#;
    PromClient::new(Settings::from_instance(Some(&support::instance("types", url, json))).unwrap(), Telemetry::default()).unwrap()
}

fn strings(frame: &Frame, name: &str) -> Vec<String> {
    match frame.fields.iter().find(|f| f.name == name).map(|f| &f.values) {
        Some(Values::String(v)) => v.clone(),
        other => panic!("no string field {name}: {other:?} in {:?}", frame.fields.iter().map(|f| &f.name).collect::<Vec<_>>()),
    }
}

/// (filters in query JSON, limit 5 unless they say, the queryids shown, best first by time).
fn cases() -> Vec<(&'static str, Vec<&'static str>)> {
    vec![
        (r#""statementType":["SELECT"]"#, vec!["109", "104", "101"]),
        (r#""statementType":["SELECT"],"limit":2"#, vec!["109", "104"]),
        (r#""statementType":"UPDATE,DELETE""#, vec!["102", "110"]),
        (r#""statementType":["INSERT"]"#, vec!["103"]),
        (r#""statementType":["DDL","utility"],"limit":1"#, vec!["105"]),
        (r#""statementType":["MERGE"]"#, vec![]),
        (r#""tag":"application=checkout""#, vec!["102", "101"]),
        (r#""tag":"route=/cart""#, vec!["101"]),
        (r#""tag":"application=search""#, vec!["110"]),
        (r#""statementType":["SELECT"],"tag":"application=reports""#, vec!["104"]),
        (r#""statementType":["SELECT","INSERT","UPDATE","DELETE","MERGE","DDL","utility"],"search":"pgbench""#, vec!["102", "101"]),
        (r#""statementType":["SELECT","INSERT","UPDATE","DELETE","MERGE","DDL","utility"],"tag":"application=checkout","limit":1"#, vec!["102"]),
        (r#""limit":20"#, vec!["102", "103", "105", "106", "107", "108", "109", "104", "101", "110"]),
    ]
}

fn check(url: &str, end: i64) {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let client = client(url);
    let state = PgssState::default();
    let span = Span { from: (end - 480) as f64, to: end as f64, interval_ms: 15_000, max_points: 100 };
    runtime.block_on(async {
        let all = pgscope::pgss::top_queries(&client, &state, br#"{"orderBy":"exec_time","limit":20}"#, span).await.unwrap();
        let (ids, types, tags) = (strings(&all[0], "queryid"), strings(&all[0], "statement_type"), strings(&all[0], "tags"));
        let column = |id: &str, values: &[String]| values[ids.iter().position(|i| i == id).unwrap()].clone();
        let expected_types = [("101", "SELECT"), ("102", "UPDATE"), ("103", "INSERT"), ("104", "SELECT"), ("105", "utility"), ("106", "DDL"), ("107", ""), ("108", ""), ("109", "SELECT"), ("110", "DELETE")];
        for (id, expected) in expected_types {
            assert_eq!(column(id, &types), expected, "statement_type of {id}");
        }
        assert_eq!(column("101", &tags), "application=checkout route=/cart");
        assert_eq!(column("102", &tags), "application=checkout route=/cart/pay");
        assert_eq!(column("110", &tags), "application=search");
        assert_eq!(column("106", &tags), "");

        for (filters, expected) in cases() {
            let limit = if filters.contains("limit") { "" } else { r#""limit":5,"# };
            let json = format!(r#"{{"orderBy":"exec_time",{limit}{filters}}}"#);
            let ranked = pgscope::pgss::top_queries(&client, &state, json.as_bytes(), span).await.unwrap_or_else(|e| panic!("{json}: {e:?}"));
            let reference = pgscope::pgss::top_queries_in_plugin(&client, &state, json.as_bytes(), span).await.unwrap_or_else(|e| panic!("{json}: {e:?}"));
            assert_eq!(strings(&ranked[0], "queryid"), expected, "{json}: ranked in the TSDB");
            assert_eq!(strings(&reference[0], "queryid"), expected, "{json}: the in-plugin reference");
        }

        // A compared table keeps the same statements.
        let json = br#"{"orderBy":"exec_time","statementType":["SELECT"],"compareTo":"previous"}"#;
        let compared = pgscope::pgss::top_queries(&client, &state, json, Span { from: (end - 240) as f64, ..span }).await.unwrap();
        let mut shown = strings(&compared[0], "queryid");
        shown.sort();
        assert_eq!(shown, ["101", "104", "109"]);

        // A filter that is no type is the query's error, in words.
        let error = pgscope::pgss::top_queries(&client, &state, br#"{"statementType":["QUERY"]}"#, span).await.unwrap_err();
        assert!(error.message.contains("not one of SELECT"), "{}", error.message);
    });
}

#[test]
fn statement_types_and_tags_on_victoriametrics() {
    let vm = support::VictoriaMetrics::start();
    let end = support::now_s() / STEP_S * STEP_S;
    let (lines, series) = dataset(end);
    vm.import(&lines, series);
    check(&vm.url(), end);
}

#[test]
fn statement_types_and_tags_on_prometheus() {
    let end = support::now_s() / STEP_S * STEP_S - 60;
    let prometheus = support::Prometheus::start_with(&support::openmetrics(&dataset(end).0));
    check(&prometheus.url(), end);
}
