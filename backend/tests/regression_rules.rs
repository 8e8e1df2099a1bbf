//! The regression alert rules (provisioning/rules/pgscope-regressions.rules.yml for Prometheus
//! and vmalert, provisioning/alerting/pgscope-regressions.yaml Grafana-managed through pgscope).
//!
//! - `promtool test rules` on the Prometheus form, with input series covering 26 hours: a 3x
//!   regression and a heavy new statement fire; noise (3 calls an hour whose time per call
//!   triples), a steady statement, a 1.5x regression, a regression with too few calls a day
//!   earlier, a light new statement, a heavy old one and a heavy statement of an instance first
//!   seen today do not; with the info metric absent the same two fire, named by queryid. The
//!   same tests against rules with a guard removed fail (the cases have teeth).
//! - The Grafana form's queries through the real plugin process, as alerting sends them, against
//!   a real VictoriaMetrics holding a day of counters: with the info metric absent they still
//!   return the regressed and the new statement (no NoData), where the bare join returns
//!   nothing; with it present, each once and named.
//! - Both forms hold the same rules and expressions, each with its info fallback written out, and
//!   the Grafana form is wired as alert_rules.rs holds pgscope-stack.yaml (condition B, uid,
//!   noDataState OK), with pgscope's fallback on.

mod support;

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use pgscope::fallback::{rewrite, Reason, Rules};
use pgscope::frame::{Frame, Values};
use pgscope::lint;
use pgscope::pluginv2::{self, data_client::DataClient};
use support::{data_query, instance, plugin_context, PluginProcess, VictoriaMetrics};

fn provisioning_path(path: &str) -> String {
    format!("{}/../provisioning/{path}", env!("CARGO_MANIFEST_DIR"))
}

fn provisioning(path: &str) -> String {
    let path = provisioning_path(path);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

const PROMETHEUS_RULES: &str = "rules/pgscope-regressions.rules.yml";
const GRAFANA_RULES: &str = "alerting/pgscope-regressions.yaml";

// ---------------------------------------------------------------- the two forms

/// Each rule's expression by name, in a Prometheus or a Grafana-managed rule file.
fn expressions(path: &str) -> BTreeMap<String, String> {
    pgscope::stored::rule_queries(&provisioning(path))
        .unwrap()
        .into_iter()
        .map(|q| (q.location.split(" rule ").nth(1).unwrap().split(" query ").next().unwrap().to_string(), q.expr))
        .collect()
}

#[test]
fn both_forms_hold_the_same_rules_and_expressions() {
    let prometheus = expressions(PROMETHEUS_RULES);
    let mut grafana = expressions(GRAFANA_RULES);
    assert_eq!(prometheus.keys().collect::<Vec<_>>(), ["PgssHeavyNewStatement", "PgssStatementRegressed"]);
    assert_eq!(prometheus, grafana);
    // The check sees a difference.
    let regressed = grafana.get_mut("PgssStatementRegressed").unwrap();
    *regressed = regressed.replacen("> 2", "> 1.5", 1);
    assert_ne!(prometheus, grafana);
}

/// The names come from the info join with its fallback written out (`or ignoring(displayname)`):
/// Prometheus and vmalert have no rewrite (lint would report a bare join), and pgscope's rewrite
/// leaves such a query as written.
#[test]
fn both_forms_carry_their_info_fallback() {
    for (rule, expr) in expressions(PROMETHEUS_RULES) {
        assert!(expr.contains("* on(datname, queryid) group_left(displayname) pgss_query_info)\nor ignoring(displayname)\n"), "{rule}: {expr}");
        let out = rewrite(&expr, &Rules::default());
        assert!(!out.changed, "{rule}: {}", out.query);
        assert!(out.notes.iter().any(|n| n.reason == Reason::AlreadyHasFallback), "{rule}: {:?}", out.notes);
        assert_eq!(lint::lint_query(&expr, &Rules::default()), [], "{rule}");
    }
}

#[test]
fn grafana_rules_are_wired_as_grafana_evaluates_them() {
    let doc: serde_yaml::Value = serde_yaml::from_str(&provisioning(GRAFANA_RULES)).unwrap();
    assert_eq!(doc["apiVersion"].as_i64(), Some(1));
    assert_eq!(doc["groups"][0]["folder"].as_str(), Some("pgscope"));
    let stack: serde_yaml::Value = serde_yaml::from_str(&provisioning("alerting/pgscope-stack.yaml")).unwrap();
    let stack_uids: Vec<&str> = stack["groups"][0]["rules"].as_sequence().unwrap().iter().filter_map(|r| r["uid"].as_str()).collect();
    for rule in doc["groups"][0]["rules"].as_sequence().unwrap() {
        let title = rule["title"].as_str().unwrap();
        let uid = rule["uid"].as_str().unwrap();
        assert!(uid.len() <= 40 && !stack_uids.contains(&uid), "{title}: uid {uid} too long or taken");
        assert_eq!(rule["condition"].as_str(), Some("B"), "{title}");
        let (query, condition) = (&rule["data"][0], &rule["data"][1]);
        assert_eq!((query["refId"].as_str(), query["datasourceUid"].as_str()), (Some("A"), Some("pgscope")), "{title}");
        assert_eq!((query["model"]["instant"].as_bool(), query["model"]["fallback"].as_str()), (Some(true), Some("auto")), "{title}");
        assert_eq!(condition["model"]["expression"].as_str(), Some("is_number($A) || is_nan($A) || is_inf($A)"), "{title}");
        assert_eq!(rule["noDataState"].as_str(), Some("OK"), "{title}: no series means no statement regressed");
        for (key, text) in rule["annotations"].as_mapping().unwrap() {
            let text = text.as_str().unwrap();
            assert!(!text.contains("$value ") && !text.contains("$value}"), "{title} {key:?}: $value is the evaluation string in Grafana");
        }
    }
}

// ---------------------------------------------------------------- promtool test rules

/// One statement's counters in promtool's expanding notation, one sample every 5 minutes from
/// 0 to 26h (step 288 is 24h: before it is "a day earlier", after it "now").
struct Statement {
    instance: &'static str,
    queryid: &'static str,
    calls: &'static str,
    seconds: &'static str,
}

const fn db1(queryid: &'static str, calls: &'static str, seconds: &'static str) -> Statement {
    Statement { instance: "db1:9187", queryid, calls, seconds }
}

const STATEMENTS: &[Statement] = &[
    // Regressed: 720 calls an hour throughout, 0.01 s per call until 24h, then 0.03 s (3x).
    db1("1", "0+60x312", "0+0.6x288 174.6+1.8x23"),
    // Noise: 3 calls an hour, 1 s per call, then 3 s (3x): too few calls to mean anything.
    db1("2", "0+0.25x312", "0+0.25x288 72.75+0.75x23"),
    // Steady.
    db1("3", "0+60x312", "0+0.6x312"),
    // 1.5x: under the threshold (more than 2x).
    db1("4", "0+60x312", "0+0.6x288 173.7+0.9x23"),
    // 3x, 720 calls an hour now but 48 a day earlier.
    db1("5", "0+4x288 1212+60x23", "0+0.04x288 13.32+1.8x23"),
    // New and heavy: no series before 24h, then 6 minutes of execution an hour.
    db1("6", "_x288 0+10x24", "_x288 0+30x24"),
    // New and light: 12 s an hour.
    db1("7", "_x288 0+10x24", "_x288 0+1x24"),
    // Heavy all along.
    db1("8", "0+10x312", "0+30x312"),
    // Heavy and new, on an instance that had no pgss series a day earlier (newly monitored).
    Statement { instance: "db2:9187", queryid: "9", calls: "_x288 0+10x24", seconds: "_x288 0+30x24" },
];

fn input_series(statements: &[Statement], named: bool) -> String {
    let mut out = String::new();
    for s in statements {
        let labels = format!(r#"job="postgres",instance="{}",datname="app",user="app",queryid="{}""#, s.instance, s.queryid);
        out += &format!("      - series: 'pg_stat_statements_calls_total{{{labels}}}'\n        values: '{}'\n", s.calls);
        out += &format!("      - series: 'pg_stat_statements_seconds_total{{{labels}}}'\n        values: '{}'\n", s.seconds);
        if named {
            out += &format!(
                "      - series: 'pgss_query_info{{job=\"query-info\",instance=\"info:9188\",datname=\"app\",queryid=\"{}\",displayname=\"SELECT {}\"}}'\n        values: '1x312'\n",
                s.queryid, s.queryid
            );
        }
    }
    out
}

/// The one alert a rule must have at 25h30m: its labels and its annotations as Prometheus
/// renders them.
fn expected_alert(queryid: &str, named: bool, summary: &str, description: &str) -> String {
    let displayname = if named { format!(", displayname: \"SELECT {queryid}\"") } else { String::new() };
    let name = if named { format!("SELECT {queryid}") } else { "(name unavailable: the query-info exporter has no series for it)".to_string() };
    format!(
        "          - exp_labels: {{severity: warning, job: postgres, instance: \"db1:9187\", datname: app, user: app, queryid: \"{queryid}\"{displayname}}}\n            exp_annotations:\n              summary: '{summary}'\n              description: '{name} — {description}'\n"
    )
}

const REGRESSED_DESCRIPTION: &str = "its mean execution time per call over the last hour is more than twice that of the same hour a day earlier, with at least 100 calls in both hours. Open the pgss — what changed dashboard (compare to 1d) for the other measures.";
const NEW_DESCRIPTION: &str = "it had no calls in the same hour a day earlier and now takes more than 5 minutes of execution per hour. A deploy, a new report or a changed plan (a PostgreSQL major upgrade changes every queryid: expect one alert per heavy statement then).";

/// One `tests:` entry: nothing fires at 24h30m (the change is 30 minutes old, `for` is 15m and
/// the hour now still holds half of the old behaviour); at 25h30m the regressed statement 1 and
/// the new statement 6 fire, nothing else.
fn promtool_case(statements: &[Statement], named: bool) -> String {
    let regressed = expected_alert("1", named, "Statement 1 in app on db1:9187 takes 3x its time per call of a day earlier", REGRESSED_DESCRIPTION);
    let new = expected_alert("6", named, "New statement 6 in app on db1:9187 ran 6m 0s in the last hour", NEW_DESCRIPTION);
    format!(
        "  - interval: 5m\n    input_series:\n{}    alert_rule_test:\n\
         \x20     - {{eval_time: 24h30m, alertname: PgssStatementRegressed, exp_alerts: []}}\n\
         \x20     - {{eval_time: 24h30m, alertname: PgssHeavyNewStatement, exp_alerts: []}}\n\
         \x20     - eval_time: 25h30m\n        alertname: PgssStatementRegressed\n        exp_alerts:\n{regressed}\
         \x20     - eval_time: 25h30m\n        alertname: PgssHeavyNewStatement\n        exp_alerts:\n{new}",
        input_series(statements, named)
    )
}

/// Runs `promtool test rules` for `rules` (a rule file's text): (success, output).
fn promtool_test(rules: &str) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("rules.yml"), rules).unwrap();
    // Info exporter up (every statement named) and down (no pgss_query_info at all); in the
    // second, only the statements that fire: the rest are covered by the first.
    let tests = format!(
        "rule_files:\n  - rules.yml\nevaluation_interval: 5m\ntests:\n{}{}",
        promtool_case(STATEMENTS, true),
        promtool_case(&[db1("1", STATEMENTS[0].calls, STATEMENTS[0].seconds), db1("6", STATEMENTS[5].calls, STATEMENTS[5].seconds)], false)
    );
    let test_file = dir.path().join("regressions.test.yml");
    std::fs::write(&test_file, tests).unwrap();
    let output = Command::new("promtool")
        .args(["test", "rules"])
        .arg(&test_file)
        .current_dir(dir.path())
        .output()
        .expect("promtool (Debian package prometheus, installed by scripts/setup.sh)");
    let text = String::from_utf8_lossy(&output.stdout).to_string() + &String::from_utf8_lossy(&output.stderr);
    (output.status.success(), text)
}

/// The Prometheus rules with `from` replaced by `to` everywhere (it must occur).
fn mutated(from: &str, to: &str) -> String {
    let rules = provisioning(PROMETHEUS_RULES);
    assert!(rules.contains(from), "{from:?} is not in {PROMETHEUS_RULES}");
    rules.replace(from, to)
}

#[test]
fn promtool_unit_tests_fire_on_regressions_and_new_statements_only() {
    let (ok, text) = promtool_test(&provisioning(PROMETHEUS_RULES));
    assert!(ok, "{text}");
    assert!(text.contains("SUCCESS"), "{text}");
}

#[test]
fn the_promtool_cases_fail_without_the_guards() {
    // Without the calls guard, the noise statement (3 calls an hour) and the one with 48 calls
    // a day earlier fire too.
    let (ok, text) = promtool_test(&mutated(">= 100", ">= 0"));
    assert!(!ok, "{text}");
    assert!(text.contains(r#"queryid="2""#) && text.contains(r#"queryid="5""#), "{text}");
    // Without the newly-monitored-instance guard, db2's statement fires as new.
    let (ok, text) = promtool_test(&mutated(
        "count by (instance) (pg_stat_statements_calls_total offset 1d)",
        "count by (instance) (pg_stat_statements_calls_total)",
    ));
    assert!(!ok, "{text}");
    assert!(text.contains(r#"instance="db2:9187""#), "{text}");
    // Without the fallback (`and` where it says `or`), nothing fires while the info exporter is
    // down.
    let (ok, text) = promtool_test(&mutated("or ignoring(displayname)", "and ignoring(displayname)"));
    assert!(!ok, "{text}");
    assert!(text.contains("got:[]"), "{text}");
}

// ---------------------------------------------------------------- through pgscope, on VictoriaMetrics

/// A Grafana-managed rule's query A, as its model JSON.
fn grafana_query(title: &str) -> serde_json::Value {
    let doc: serde_yaml::Value = serde_yaml::from_str(&provisioning(GRAFANA_RULES)).unwrap();
    let rule = doc["groups"][0]["rules"].as_sequence().unwrap().iter().find(|r| r["title"].as_str() == Some(title)).unwrap_or_else(|| panic!("no rule {title}"));
    assert_eq!(rule["data"][0]["refId"].as_str(), Some("A"));
    serde_json::to_value(&rule["data"][0]["model"]).unwrap()
}

/// A day and a half of postgres_exporter counters, one sample a minute up to `end_ms`: statement
/// 1 goes from 0.01 s to 0.03 s per call an hour before the end (720 calls an hour), statement 3
/// stays at 0.01 s, statement 6 appears an hour before the end with 6 minutes of execution an
/// hour. Returns the import lines and the number of series.
fn counters(end_ms: i64) -> (String, usize) {
    let minutes = 36 * 60;
    let mut lines = String::new();
    let mut series = 0;
    let mut add = |queryid: &str, per_minute: &dyn Fn(i64) -> Option<(f64, f64)>| {
        let labels = format!(r#"job="postgres",instance="db1:9187",datname="app",user="app",queryid="{queryid}""#);
        let (mut calls, mut seconds) = (0.0, 0.0);
        for minute in 0..=minutes {
            let Some((c, s)) = per_minute(minutes - minute) else { continue };
            calls += c;
            seconds += s;
            let t = end_ms - (minutes - minute) * 60_000;
            lines += &format!("pg_stat_statements_calls_total{{{labels}}} {calls} {t}\npg_stat_statements_seconds_total{{{labels}}} {seconds} {t}\n");
        }
        series += 2;
    };
    // Arguments: minutes before the end; what the minute ending there adds (None: no sample).
    add("1", &|ago| Some(if ago >= 60 { (12.0, 0.12) } else { (12.0, 0.36) }));
    add("3", &|_| Some((12.0, 0.12)));
    add("6", &|ago| match ago {
        61.. => None,
        60 => Some((0.0, 0.0)),
        _ => Some((10.0, 6.0)),
    });
    (lines, series)
}

/// Statements 1, 3 and 6's names, for the last two hours before `end_ms`.
fn info_series(end_ms: i64) -> String {
    let mut lines = String::new();
    for queryid in ["1", "3", "6"] {
        for minute in 0..=120 {
            let t = end_ms - minute * 60_000;
            lines += &format!("pgss_query_info{{job=\"query-info\",instance=\"info:9188\",datname=\"app\",queryid=\"{queryid}\",displayname=\"SELECT {queryid}\"}} 1 {t}\n");
        }
    }
    lines
}

/// Runs `model` through the plugin as Grafana's alerting does (instant, FromAlert) at `end_ms`:
/// each series' labels and value.
async fn alert_query(plugin: &PluginProcess, vm: &VictoriaMetrics, model: &serde_json::Value, end_ms: i64) -> Vec<(BTreeMap<String, String>, f64)> {
    let mut data = DataClient::connect(plugin.endpoint()).await.unwrap();
    let query = pluginv2::DataQuery { max_data_points: 43_200, interval_ms: 1000, ..data_query("A", &model.to_string(), end_ms - 3_600_000, end_ms) };
    let request = pluginv2::QueryDataRequest {
        plugin_context: Some(plugin_context(instance("pgscope", &vm.url(), r#"{"timeInterval":"5s"}"#))),
        headers: [("FromAlert".to_string(), "true".to_string())].into(),
        queries: vec![query],
    };
    let response = &data.query_data(request).await.unwrap().into_inner().responses["A"];
    assert_eq!(response.status, 200, "{}", response.error);
    let mut out = Vec::new();
    for bytes in &response.frames {
        let frame = Frame::from_arrow(bytes).unwrap();
        let Some(value) = frame.fields.iter().find(|f| f.name != "Time") else { continue };
        let Values::Float64(values) = &value.values else { panic!("not a number field: {value:?}") };
        if let Some(v) = values.last() {
            out.push((value.labels.clone().unwrap_or_default(), *v));
        }
    }
    out.sort_by(|a, b| a.0.get("queryid").cmp(&b.0.get("queryid")));
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grafana_rules_return_the_statements_through_pgscope_with_and_without_the_info_metric() {
    let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64;
    let end_ms = (now_ms / 60_000 - 2) * 60_000;
    let vm = VictoriaMetrics::start();
    let (lines, series) = counters(end_ms);
    vm.import(&lines, series);
    let plugin = PluginProcess::start();
    let regressed = grafana_query("PgssStatementRegressed");
    let new = grafana_query("PgssHeavyNewStatement");
    assert_eq!(regressed["fallback"].as_str(), Some("auto"));

    // The info exporter is dead: no pgss_query_info. The rules still return the statements,
    // named by queryid, so they fire instead of going quiet.
    let got = alert_query(&plugin, &vm, &regressed, end_ms).await;
    assert_eq!(got.len(), 1, "{got:?}");
    let (labels, ratio) = &got[0];
    assert_eq!((labels.get("queryid").map(String::as_str), labels.get("displayname")), (Some("1"), None), "{labels:?}");
    assert!(!labels.keys().any(|k| k.starts_with("__")), "{labels:?}");
    assert!((ratio - 3.0).abs() < 1e-6, "0.03 s per call now against 0.01 s a day earlier: {ratio}");
    let got = alert_query(&plugin, &vm, &new, end_ms).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].0.get("queryid").map(String::as_str), Some("6"), "{got:?}");
    assert!((got[0].1 - 360.0).abs() < 1e-6, "6 s a minute for an hour: {}", got[0].1);

    // What the fallback prevents: the bare join is blank with pgscope's fallback off, and
    // pgscope's rewrite gives it back when on (what protects a rule written without one).
    let bare_join = regressed["expr"].as_str().unwrap().split("\nor ignoring(displayname)\n").next().unwrap().to_string();
    let mut bare = regressed.clone();
    bare["expr"] = bare_join.into();
    bare["fallback"] = "off".into();
    assert!(alert_query(&plugin, &vm, &bare, end_ms).await.is_empty());
    bare["fallback"] = "auto".into();
    let rewritten = alert_query(&plugin, &vm, &bare, end_ms).await;
    assert_eq!(rewritten.iter().map(|(l, _)| l["queryid"].as_str()).collect::<Vec<_>>(), ["1"], "{rewritten:?}");

    // The info exporter is back: each statement once, named.
    vm.import(&info_series(end_ms), series + 3);
    for (model, queryid) in [(&regressed, "1"), (&new, "6")] {
        let got = alert_query(&plugin, &vm, model, end_ms).await;
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].0.get("queryid").map(String::as_str), Some(queryid), "{got:?}");
        assert_eq!(got[0].0.get("displayname").map(String::as_str), Some(format!("SELECT {queryid}").as_str()), "{got:?}");
    }
}
