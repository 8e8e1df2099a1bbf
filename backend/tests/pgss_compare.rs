//! "What changed" (issue 20) on real VictoriaMetrics and Prometheus: a backfilled hour of
//! postgres_exporter series holding a seeded 2x time-per-call regression, an improvement, a new
//! statement, a gone one, a counter reset, a statement that moved to another instance and noise
//! (3 calls whose time per call doubles), compared window against window by `pgssTopQueries`
//! and `pgssQuery`; states and figures checked against the ones computed by hand below.

mod support;

use std::collections::BTreeMap;

use pgscope::frame::{Frame, Values};
use pgscope::pgss::{PgssState, Span};
use pgscope::prom::client::PromClient;
use pgscope::settings::Settings;
use pgscope::telemetry::Telemetry;

const STEP: i64 = 15;
/// Each window: the last 30 minutes (now) and the 30 before (then).
const WINDOW: i64 = 1800;

/// One statement of the fixture: calls per second and seconds per call in each window
/// (None: no series in that window), the instance it runs on in each.
struct Seeded {
    queryid: &'static str,
    name: &'static str,
    then: Option<(f64, f64)>,
    now: Option<(f64, f64)>,
    instances: (&'static str, &'static str),
    /// The calls and seconds counters start again from 0 at this second of the now window.
    reset_at: Option<i64>,
    /// Calls only at these sample indexes of each window (noise), instead of a rate.
    sparse: bool,
}

const SEEDED: &[Seeded] = &[
    Seeded { queryid: "101", name: "regressed 2x", then: Some((2.0, 0.010)), now: Some((2.0, 0.020)), instances: ("db1:9187", "db1:9187"), reset_at: None, sparse: false },
    Seeded { queryid: "102", name: "steady with a reset", then: Some((5.0, 0.005)), now: Some((5.0, 0.005)), instances: ("db1:9187", "db1:9187"), reset_at: Some(900), sparse: false },
    Seeded { queryid: "103", name: "new statement", then: None, now: Some((1.0, 0.050)), instances: ("db1:9187", "db1:9187"), reset_at: None, sparse: false },
    Seeded { queryid: "104", name: "gone statement", then: Some((1.0, 0.030)), now: None, instances: ("db1:9187", "db1:9187"), reset_at: None, sparse: false },
    Seeded { queryid: "105", name: "noise", then: Some((0.0, 0.010)), now: Some((0.0, 0.020)), instances: ("db1:9187", "db1:9187"), reset_at: None, sparse: true },
    Seeded { queryid: "106", name: "improved 4x", then: Some((2.0, 0.040)), now: Some((2.0, 0.010)), instances: ("db1:9187", "db1:9187"), reset_at: None, sparse: false },
    Seeded { queryid: "107", name: "moved after a failover", then: Some((1.0, 0.008)), now: Some((1.0, 0.008)), instances: ("db1:9187", "db2:9187"), reset_at: None, sparse: false },
];

/// Sample indexes (of 120 per window) where a sparse statement is called once.
const SPARSE_AT: [i64; 3] = [10, 50, 90];

/// The fixture's samples: (metric, labels, value, seconds), from `end - 2 * WINDOW - 5 min`.
fn samples(end: i64) -> Vec<(String, String, f64, i64)> {
    let start = end - 2 * WINDOW - 300;
    let mut out = Vec::new();
    for s in SEEDED {
        // Counters per instance: (calls, seconds).
        let mut counters: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
        let mut t = start;
        let mut last_sample: BTreeMap<&str, i64> = BTreeMap::new();
        while t <= end {
            let in_now = t > end - WINDOW;
            let (figures, instance) = if in_now { (s.now, s.instances.1) } else { (s.then, s.instances.0) };
            if let Some((rate, per_call)) = figures {
                let entry = counters.entry(instance).or_insert((0.0, 0.0));
                if in_now && s.reset_at == Some(t - (end - WINDOW)) {
                    *entry = (0.0, 0.0);
                }
                // What the 15 s before this sample added.
                let calls = if s.sparse {
                    let index = (t - start) / STEP % (WINDOW / STEP);
                    if SPARSE_AT.contains(&index) { 1.0 } else { 0.0 }
                } else if last_sample.contains_key(instance) {
                    rate * STEP as f64
                } else {
                    0.0
                };
                entry.0 += calls;
                entry.1 += calls * per_call;
                let labels = format!("datname=\"app\",instance=\"{instance}\",job=\"postgres\",queryid=\"{}\",user=\"app\"", s.queryid);
                out.push(("pg_stat_statements_calls_total".to_string(), labels.clone(), entry.0, t));
                out.push(("pg_stat_statements_seconds_total".to_string(), labels, entry.1, t));
                out.push(("pgss_query_info".to_string(), format!("datname=\"app\",displayname=\"{}\",job=\"query-info\",queryid=\"{}\"", s.name, s.queryid), 1.0, t));
                last_sample.insert(instance, t);
            }
            t += STEP;
        }
    }
    out
}

fn vm_lines(samples: &[(String, String, f64, i64)]) -> String {
    samples.iter().map(|(m, l, v, t)| format!("{m}{{{l}}} {v} {}\n", t * 1000)).collect()
}

fn client(url: &str) -> PromClient {
    PromClient::new(Settings::from_instance(Some(&support::instance("compare", url, r#"{"timeInterval":"15s"}"#))).unwrap(), Telemetry::default()).unwrap()
}

fn strings(frame: &Frame, name: &str) -> Vec<String> {
    match frame.fields.iter().find(|f| f.name == name).map(|f| &f.values) {
        Some(Values::String(v)) => v.clone(),
        other => panic!("no string column {name}: {other:?}"),
    }
}

fn numbers(frame: &Frame, name: &str) -> Vec<f64> {
    match frame.fields.iter().find(|f| f.name == name).map(|f| &f.values) {
        Some(Values::Float64(v)) => v.clone(),
        other => panic!("no number column {name}: {other:?}"),
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 + 1e-6 * b.abs()
}

/// A row's value in a column, by queryid.
fn cell(frame: &Frame, queryid: &str, column: &str) -> f64 {
    let row = strings(frame, "queryid").iter().position(|q| q == queryid).unwrap_or_else(|| panic!("no row {queryid}"));
    numbers(frame, column)[row]
}

fn notices(frame: &Frame) -> Vec<String> {
    frame.meta.as_ref().map(|m| m.notices.iter().map(|n| n.text.clone()).collect()).unwrap_or_default()
}

/// Every check, against the TSDB at `url` holding the fixture that ends at `end`.
fn check(url: &str, end: i64, tsdb: &str) {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let client = client(url);
    let state = PgssState::default();
    let span = Span { from: (end - WINDOW) as f64, to: end as f64, interval_ms: 15_000, max_points: 120 };
    let top = |json: &str| runtime.block_on(pgscope::pgss::top_queries(&client, &state, json.as_bytes(), span)).unwrap_or_else(|e| panic!("{tsdb} {json}: {e:?}"));

    // Ordered by the regression of time per call: the seeded 2x first, the improvement last
    // of those with a change; new, gone and noise have none.
    let frames = top(r#"{"compareTo":"previous","orderBy":"exec_time_per_call_change_pct","limit":20,"minCalls":20,"threshold":20}"#);
    let table = &frames[0];
    let order = strings(table, "queryid");
    assert_eq!(order[0], "101", "{tsdb}: the regression ranks first: {order:?}");
    // 102 and 107 did not change (0 %, in either order: rounding), 106 fell by 75 %; new, gone
    // and the noise have no change and follow by queryid.
    let mut unchanged = order[1..3].to_vec();
    unchanged.sort();
    assert_eq!((unchanged, &order[3..]), (vec!["102".to_string(), "107".to_string()], &["106", "103", "104", "105"].map(String::from)[..]), "{tsdb}: by the change: {order:?}");
    let states: BTreeMap<String, String> = order.iter().cloned().zip(strings(table, "state")).collect();
    let expected = [("101", "regressed"), ("102", "unchanged"), ("103", "new"), ("104", "gone"), ("105", "unchanged"), ("106", "improved"), ("107", "unchanged")];
    assert_eq!(states, expected.iter().map(|(q, s)| (q.to_string(), s.to_string())).collect(), "{tsdb}: states");
    // Figures by hand: time per call now and then, the change in ms and in %.
    for (queryid, now, then) in [("101", 0.020, 0.010), ("102", 0.005, 0.005), ("106", 0.010, 0.040), ("107", 0.008, 0.008)] {
        assert!(close(cell(table, queryid, "exec_time_per_call"), now), "{tsdb} {queryid}: now {}", cell(table, queryid, "exec_time_per_call"));
        assert!(close(cell(table, queryid, "exec_time_per_call_then"), then), "{tsdb} {queryid}: then {}", cell(table, queryid, "exec_time_per_call_then"));
        assert!(close(cell(table, queryid, "exec_time_per_call_change"), now - then), "{tsdb} {queryid}: change");
        assert!(close(cell(table, queryid, "exec_time_per_call_change_pct"), (now / then - 1.0) * 100.0), "{tsdb} {queryid}: change %");
    }
    // Calls per second over fully covered windows: 2/s in both for the regression.
    assert!(close(cell(table, "101", "calls_per_s"), 2.0) && close(cell(table, "101", "calls_per_s_then"), 2.0), "{tsdb}: calls/s");
    assert!(close(cell(table, "103", "exec_time_per_call"), 0.050) && cell(table, "103", "exec_time_per_call_then").is_nan(), "{tsdb}: new has nothing then");
    assert!(close(cell(table, "104", "exec_time_per_call_then"), 0.030) && !(cell(table, "104", "calls_per_s") > 0.0), "{tsdb}: gone has no calls now");
    assert_eq!(strings(table, "name")[order.iter().position(|q| q == "104").unwrap()], "gone statement", "{tsdb}: a gone statement is named from then");
    let custom = table.meta.as_ref().and_then(|m| m.custom.clone()).unwrap();
    let compare = &custom["compare"];
    assert_eq!(compare["label"], "previous 30m0s", "{tsdb}");
    assert_eq!(compare["counts"], serde_json::json!({"new": 1.0, "gone": 1.0, "regressed": 1.0, "improved": 1.0}), "{tsdb}: counts across every statement");
    assert_eq!(custom["orderBy"], "exec_time_per_call_change_pct");
    let said = notices(table).join("\n");
    assert!(said.contains("counters of statements shown were reset inside the windows (1 statement(s) now, 0 then"), "{tsdb}: {said}");
    assert!(said.contains("1 statement(s) shown ran on other instances"), "{tsdb}: {said}");

    // States as filters; a gone statement is ordered by its figures then.
    let only = |state: &str| strings(&top(&format!(r#"{{"compareTo":"previous","orderBy":"exec_time","state":"{state}"}}"#))[0], "queryid");
    assert_eq!(only("new"), ["103"], "{tsdb}");
    assert_eq!(only("gone"), ["104"], "{tsdb}");
    assert_eq!(only("regressed"), ["101"], "{tsdb}");
    assert_eq!(only("improved"), ["106"], "{tsdb}");
    assert_eq!(only("regressed,improved"), ["101", "106"], "{tsdb}: by time now (0.04 s/s, then 0.02 s/s)");
    // Noise counts when the bar is lowered to its 3 calls; the threshold keeps 2x out at 150 %.
    let low_bar = top(r#"{"compareTo":"previous","state":"regressed","minCalls":2}"#);
    let mut regressed = strings(&low_bar[0], "queryid");
    regressed.sort();
    assert_eq!(regressed, ["101", "105"], "{tsdb}: with minCalls 2 the noise doubles too");
    assert!(strings(&top(r#"{"compareTo":"previous","state":"regressed","threshold":150}"#)[0], "queryid").is_empty(), "{tsdb}");
    // An offset of the window's length is the previous window; limit 1 keeps the regression.
    assert_eq!(strings(&top(r#"{"compareTo":"30m","orderBy":"exec_time_per_call_change_pct","limit":1}"#)[0], "queryid"), ["101"], "{tsdb}");
    let absolute = format!(r#"{{"compareTo":{{"from":{},"to":{}}},"orderBy":"exec_time_per_call_change","limit":1}}"#, (end - 2 * WINDOW) * 1000, (end - WINDOW) * 1000);
    assert_eq!(strings(&top(&absolute)[0], "queryid"), ["101"], "{tsdb}: an absolute range");
    // Without compareTo, no comparison columns.
    let plain = &top(r#"{"orderBy":"exec_time"}"#)[0];
    assert!(plain.fields.iter().all(|f| f.name != "state" && !f.name.ends_with("_then")), "{tsdb}");

    // pgssQuery: the regression's series then, on the same time axis, half of now.
    let frames = runtime.block_on(pgscope::pgss::one_query(&client, &state, br#"{"queryid":"101","compareTo":"previous"}"#, span)).unwrap();
    let per_call = |then: bool| {
        let frame = frames
            .iter()
            .find(|f| {
                let custom = f.meta.as_ref().and_then(|m| m.custom.clone()).unwrap_or_default();
                custom.get("measure") == Some(&"exec_time".into()) && custom.get("per") == Some(&"call".into()) && (custom.get("window") == Some(&"then".into())) == then
            })
            .unwrap_or_else(|| panic!("{tsdb}: no exec_time per call frame (then: {then})"));
        let Values::Time(times) = &frame.fields[0].values else { panic!() };
        (*times.last().unwrap(), *numbers(frame, "Value").last().unwrap())
    };
    let ((t_now, now), (t_then, then)) = (per_call(false), per_call(true));
    assert_eq!(t_now, t_then, "{tsdb}: then is shifted onto now's time axis");
    assert!(close(now, 0.020) && close(then, 0.010), "{tsdb}: per call now {now}, then {then}");
    let custom = frames[0].meta.as_ref().and_then(|m| m.custom.clone()).unwrap();
    assert_eq!(custom["compare"]["shiftMs"], serde_json::json!(1_800_000.0), "{tsdb}");
}

#[test]
fn victoriametrics_compares_windows() {
    // A minute back: a query time within -search.latencyOffset of now is moved by VictoriaMetrics.
    let end = support::now_s() / STEP * STEP - 60;
    let samples = samples(end);
    let vm = support::VictoriaMetrics::start();
    // Calls, seconds and info per statement; 107's calls and seconds on two instances.
    vm.import(&vm_lines(&samples), 3 * SEEDED.len() + 2);
    check(&vm.url(), end, "VictoriaMetrics");
}

#[test]
fn prometheus_compares_windows() {
    let end = support::now_s() / STEP * STEP - 60;
    let prometheus = support::Prometheus::start_with(&support::openmetrics(&vm_lines(&samples(end))));
    check(&prometheus.url(), end, "Prometheus");
}

#[test]
fn malformed_comparisons_are_the_query_s_error() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    // Nothing listens on port 9: the query is refused before any request is made.
    let client = client("http://127.0.0.1:9");
    let state = PgssState::default();
    let span = Span { from: 1_000.0, to: 2_000.0, interval_ms: 15_000, max_points: 100 };
    for (json, says) in [
        (r#"{"compareTo":"yesterday"}"#, "compareTo"),
        (r#"{"compareTo":{"from":"x"}}"#, "compareTo"),
        (r#"{"compareTo":"1d","threshold":"-3"}"#, "threshold"),
        (r#"{"orderBy":"exec_time_per_call_change_pct","state":"worse"}"#, "state"),
        (r#"{"orderBy":"speed_change"}"#, "orderBy"),
    ] {
        let error = runtime.block_on(pgscope::pgss::top_queries(&client, &state, json.as_bytes(), span)).unwrap_err();
        assert_eq!(error.status, 400, "{json}: {error:?}");
        assert!(error.message.contains(says), "{json}: {}", error.message);
    }
    let error = runtime.block_on(pgscope::pgss::one_query(&client, &state, br#"{"queryid":"1","compareTo":[]}"#, span)).unwrap_err();
    assert!(error.message.contains("compareTo"), "{}", error.message);
}

/// `pgscope diff` on the same fixture: a line per statement, the regression first, exit 1.
#[test]
fn the_cli_diffs_windows() {
    let end = support::now_s() / STEP * STEP - 60;
    let vm = support::VictoriaMetrics::start();
    vm.import(&vm_lines(&samples(end)), 3 * SEEDED.len() + 2);
    let run = |extra: &[&str]| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_pgscope"))
            .args(["diff", "--tsdb", &vm.url(), "--range", "30m", "--at", &end.to_string()])
            .args(extra)
            .output()
            .unwrap();
        (output.status.code(), String::from_utf8_lossy(&output.stdout).to_string(), String::from_utf8_lossy(&output.stderr).to_string())
    };
    let (code, out, err) = run(&[]);
    assert_eq!(code, Some(1), "something regressed: exit 1\n{out}{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("queryid") && lines.len() == 1 + SEEDED.len(), "{out}");
    let first: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(&first[..7], ["101", "app", "regressed", "20.000ms", "10.000ms", "+100%", "2.00/s"], "{out}");
    assert!(lines[1].ends_with("regressed 2x"), "{out}");
    assert!(out.lines().any(|l| l.starts_with("104 ") && l.contains(" gone ") && l.contains("30.000ms")), "{out}");
    assert!(out.lines().any(|l| l.starts_with("103 ") && l.contains(" new ")), "{out}");
    assert!(err.contains("against previous 30m0s: 1 regressed, 1 improved, 1 new, 1 gone"), "{err}");
    assert!(err.contains("note: counters of statements shown were reset"), "{err}");
    // Only the new one, as JSON; nothing regressed among the statements kept: exit 0.
    let (code, out, _) = run(&["--database", "nothing", "--format", "json"]);
    assert_eq!(code, Some(0), "{out}");
    let answer: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(answer["statements"], serde_json::json!([]), "{out}");
    let (code, out, _) = run(&["--order", "calls", "--compare", "30m", "--format", "json", "--limit", "1"]);
    assert_eq!(code, Some(1));
    let answer: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(answer["statements"][0]["queryid"], "102", "5 calls/s, the most: {out}");
    let (code, _, err) = run(&["--compare", "yesterday"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("compareTo"), "{err}");
}
