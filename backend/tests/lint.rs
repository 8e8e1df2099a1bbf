//! `pgscope lint` on rule files and dashboards written with one mistake of each kind
//! (tests/data/lint), offline and against a real VictoriaMetrics, and on pgscope's own
//! provisioning, which must lint clean.

mod support;

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

fn data(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/lint").join(name).display().to_string()
}

fn pgscope(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_pgscope")).args(args).output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

/// (location, kind, message, line) of one finding.
type Reported = (String, String, String, Option<u64>);

/// `lint --format json` -> (exit code, findings).
fn lint_json(args: &[&str]) -> (i32, Vec<Reported>) {
    let mut all = vec!["lint", "--format", "json"];
    all.extend_from_slice(args);
    let (code, stdout, stderr) = pgscope(&all);
    let json: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}\n{stderr}"));
    let reports = json
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["location"].as_str().unwrap().to_string(),
                r["kind"].as_str().unwrap().to_string(),
                r["message"].as_str().unwrap().to_string(),
                r["line"].as_u64(),
            )
        })
        .collect();
    (code, reports)
}

fn find<'a>(reports: &'a [Reported], location: &str, kind: &str) -> Vec<&'a Reported> {
    reports.iter().filter(|r| r.0.starts_with(location) && r.1 == kind).collect()
}

#[test]
fn a_rule_file_with_one_mistake_of_each_kind() {
    let (code, reports) = lint_json(&[&data("prometheus-rules.yml")]);
    assert_eq!(code, 1);
    let one = |location: &str, kind: &str, text: &str| {
        let found = find(&reports, location, kind);
        assert!(found.iter().any(|r| r.2.contains(text)), "{location} {kind} {text}: {reports:#?}");
        found.first().map(|r| r.3).unwrap_or_default()
    };
    one("group mistakes rule WrongMetric", "unknown-metric", "no exporter exports patroni_timeline; did you mean patroni_postgres_timeline?");
    one("group mistakes rule WrongLabel", "unknown-label", "patroni_primary has no label cluster (it has job, instance, name, scope)");
    let line = one("group mistakes rule MetricAsFunction annotation summary", "template", "function \"patroni_postgres_timeline\" not defined");
    assert_eq!(line, Some(14), "the template's line in the file");
    one("group mistakes rule UnclosedAction annotation description", "template", "line 2: unclosed action");
    one("group mistakes rule UnbalancedEnd annotation summary", "template", "unexpected {{end}}");
    one("group mistakes rule FragileJoin", "fragile-join", "blank when pgss_query_info has no series");
    one("group mistakes rule QueryidAlone", "queryid-without-database", "joins on (queryid) without datname");
    assert!(reports.iter().all(|r| !r.0.starts_with("group fine")), "{reports:#?}");
    // Each finding is one line of text with file, place, kind and fix.
    let (_, stdout, _) = pgscope(&["lint", &data("prometheus-rules.yml")]);
    let line = stdout.lines().find(|l| l.contains("WrongMetric")).unwrap();
    assert!(line.starts_with(&data("prometheus-rules.yml")) && line.contains(": unknown-metric: ") && line.ends_with("(fix: use patroni_postgres_timeline)"), "{line}");
    assert_eq!(stdout.lines().count(), reports.len());
}

#[test]
fn grafana_managed_rules_are_checked_as_grafana_expands_them() {
    let (code, reports) = lint_json(&[&data("datasources.yaml"), &data("grafana-rules.yaml")]);
    assert_eq!(code, 1);
    assert!(find(&reports, "group grafana-mistakes rule WrongRefId", "template")[0].2.contains("$values.C: the rule has no query or expression C (it has A, B)"));
    assert!(find(&reports, "group grafana-mistakes rule ValueAsNumber", "template")[0].2.contains("humanize of $value"));
    assert!(find(&reports, "group grafana-mistakes rule Broken", "template")[0].2.contains("unclosed action"));
    assert!(reports.iter().all(|r| !r.0.starts_with("group grafana-mistakes rule Fine")), "{reports:#?}");
    // The same template is fine in a Prometheus rule, where $value is a number.
    assert_eq!(reports.len(), 3, "{reports:#?}");
}

#[test]
fn info_joins_through_pgscope_are_protected_and_others_fragile() {
    let (code, reports) = lint_json(&[&data("datasources.yaml"), &data("dashboard.json")]);
    assert_eq!(code, 1);
    let kind_of = |panel: &str| find(&reports, panel, "protected").len() + 2 * find(&reports, panel, "fragile-join").len();
    assert_eq!(kind_of("panel 1 "), 1, "through ${{ds}}, a pgscope-only datasource variable: {reports:#?}");
    assert_eq!(kind_of("panel 2 "), 2, "through Prometheus");
    assert_eq!(kind_of("panel 3 "), 2, "pgscope with fallbackMode off");
    assert_eq!(kind_of("panel 4 "), 1, "the default datasource is pgscope");
    assert_eq!(kind_of("panel 5 "), 2, "the query's own fallback: off");
    assert!(find(&reports, "panel 1 ", "protected")[0].2.contains("pgscope's datasource rewrites it"));
    // Without the datasource list, a uid alone tells nothing: only the typed reference protects.
    let (_, reports) = lint_json(&[&data("dashboard.json")]);
    assert_eq!(find(&reports, "panel 4 ", "fragile-join").len(), 1);
    assert_eq!(find(&reports, "panel 1 ", "protected").len(), 1);
}

#[test]
fn pgscopes_own_provisioning_lints_clean() {
    let provisioning = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../provisioning").display().to_string();
    let (code, stdout, stderr) = pgscope(&["lint", &provisioning]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(!lines.is_empty() && lines.iter().all(|l| l.contains(": protected: ")), "{stdout}");
    assert!(stderr.contains("pgscope lint: 0 finding(s)"), "{stderr}");
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(pgscope(&["lint"]).0, 2);
    assert_eq!(pgscope(&["lint", "--format", "xml", &data("dashboard.json")]).0, 2);
    assert_eq!(pgscope(&["lint", "--tsdb"]).0, 2);
    assert_eq!(pgscope(&["lint", &data("datasources.yaml"), "/nonexistent.json"]).0, 2);
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("other.yaml");
    std::fs::write(&other, "a: 1\n").unwrap();
    let (code, _, stderr) = pgscope(&["lint", other.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(stderr.contains("no `groups:`"), "{stderr}");
    // In a folder, such a file is skipped, said on stderr.
    let (code, _, stderr) = pgscope(&["lint", dir.path().to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(stderr.contains("skipped"), "{stderr}");
}

#[test]
fn a_scrape_config_or_target_label_flag_allows_target_labels() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("r.yml");
    std::fs::write(&rules, "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: patroni_primary{cluster=\"main\"} == 0\n").unwrap();
    assert_eq!(pgscope(&["lint", rules.to_str().unwrap()]).0, 1);
    assert_eq!(pgscope(&["lint", "--target-label", "cluster", rules.to_str().unwrap()]).0, 0);
    let scrape = dir.path().join("prometheus.yml");
    std::fs::write(&scrape, "scrape_configs:\n  - job_name: patroni\n    static_configs:\n      - targets: [a:8008]\n        labels: {cluster: main}\n").unwrap();
    assert_eq!(pgscope(&["lint", dir.path().to_str().unwrap()]).0, 0);
}

#[test]
fn a_custom_queries_file_extends_the_catalogue() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("r.yml");
    std::fs::write(&rules, "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: rate(pg_stat_statements_jit_functions_total{toplevel=\"t\"}[5m]) > 0\n").unwrap();
    let (code, stdout, _) = pgscope(&["lint", rules.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(stdout.contains("no exporter exports pg_stat_statements_jit_functions_total"), "{stdout}");
    let queries = dir.path().join("queries.yaml");
    std::fs::write(
        &queries,
        "pg_stat_statements:\n  query: SELECT 1\n  metrics:\n    - queryid: {usage: LABEL}\n    - toplevel: {usage: LABEL}\n    - jit_functions_total: {usage: COUNTER}\n",
    )
    .unwrap();
    let (code, stdout, _) = pgscope(&["lint", "--queries", queries.to_str().unwrap(), rules.to_str().unwrap()]);
    assert_eq!(code, 0, "{stdout}");
    assert_eq!(pgscope(&["lint", "--queries", "/nonexistent.yaml", rules.to_str().unwrap()]).0, 2);
}

#[test]
fn against_victoriametrics() {
    let vm = support::VictoriaMetrics::start();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() - 5_000;
    let lines = [
        "up{job=\"query_info\",instance=\"a:1\"} 1",
        "up{job=\"postgres\",instance=\"a:2\"} 1",
        "up{job=\"node\",instance=\"a:3\"} 1",
        "patroni_primary{job=\"patroni\",instance=\"a:4\",scope=\"main\",name=\"n1\"} 1",
    ];
    let text: String = lines.iter().map(|l| format!("{l} {now}\n")).collect();
    vm.import(&text, lines.len());
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.yml");
    std::fs::write(
        &rules,
        "groups:\n  - name: g\n    rules:\n      - alert: QueryInfoDown\n        expr: up{job=\"query-info\"} == 0\n      \
         - alert: NoPrimary\n        expr: patroni_primary == 0\n      \
         - record: up:with_scope\n        expr: up and on(scope) patroni_primary\n",
    )
    .unwrap();
    let (code, reports) = lint_json(&["--tsdb", &vm.url(), rules.to_str().unwrap(), &data("datasources.yaml"), &data("dashboard.json")]);
    assert_eq!(code, 1);
    let nothing = find(&reports, "group g rule QueryInfoDown", "matches-nothing");
    assert!(nothing[0].2.contains("up{job=\"query-info\"} matches nothing: its job values are node, postgres, query_info"), "{reports:#?}");
    assert!(find(&reports, "group g rule NoPrimary", "empty-rule").is_empty(), "a quiet alert is not reported: {reports:#?}");
    assert!(find(&reports, "group g rule up:with_scope", "empty-rule")[0].2.contains("returned nothing over the last hour"), "{reports:#?}");
    assert!(find(&reports, "variable cluster", "empty-variable")[0].2.contains("label_values(up{job=~\"$job\"}, cluster)"), "{reports:#?}");
    assert!(!find(&reports, "variable nothing", "empty-variable").is_empty(), "{reports:#?}");
    assert!(find(&reports, "variable job", "empty-variable").is_empty() && find(&reports, "variable patroni", "empty-variable").is_empty(), "{reports:#?}");
    assert!(!find(&reports, "panel 2 ", "no-series").is_empty(), "{reports:#?}");
    // An empty rule is a hint: alone, it does not fail the run.
    let hint_only = dir.path().join("hint.yml");
    std::fs::write(&hint_only, "groups:\n  - name: g\n    rules:\n      - record: up:with_scope\n        expr: up and on(scope) patroni_primary\n").unwrap();
    let (code, stdout, _) = pgscope(&["lint", "--tsdb", &vm.url(), hint_only.to_str().unwrap()]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains(": empty-rule: "), "{stdout}");
}

#[test]
fn pgscopes_pgss_dashboard_against_every_schemas_data_asks_nothing_in_vain() {
    // All three pgss schemas' series (as their exporters name them) in one VictoriaMetrics: the
    // dashboard's matchers, variables and metrics must all find data (no false findings).
    let vm = support::VictoriaMetrics::start();
    let end_s = support::now_s() - 5;
    let (mut lines, mut series) = (String::new(), 0);
    for schema in pgscope::pgss::catalog::SCHEMAS {
        let (text, n) = support::pgss_dataset(schema, end_s);
        lines.push_str(&text);
        series += n;
    }
    vm.import(&lines, series);
    let provisioning = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../provisioning");
    let datasources = provisioning.join("datasources/pgscope.yaml").display().to_string();
    let dashboard = provisioning.join("dashboards/json/pgss-top-queries.json").display().to_string();
    let (code, reports) = lint_json(&["--tsdb", &vm.url(), &datasources, &dashboard]);
    let failing: Vec<&Reported> = reports.iter().filter(|r| r.1 != "protected").collect();
    assert!(failing.is_empty(), "{failing:#?}");
    assert_eq!(code, 0);
    // The same checks against an empty TSDB do find: they were asked.
    let empty = support::VictoriaMetrics::start();
    let (code, reports) = lint_json(&["--tsdb", &empty.url(), &datasources, &dashboard]);
    assert_eq!(code, 1);
    for variable in ["variable instance", "variable database"] {
        assert_eq!(find(&reports, variable, "empty-variable").len(), 1, "{reports:#?}");
    }
    assert!(!find(&reports, "panel 2 ", "no-series").is_empty(), "{reports:#?}");
}

/// Series for the "empty over the last hour" hint, sampled every minute over
/// `(from_min, to_min)` minutes before `end_s`: a{k="1"} all along; b{k="1"} 50 to 40 minutes
/// ago, c{k="1"} 100 to 90 minutes ago, so a's join with b matched inside the last hour only
/// and with c only before it; b{k="2"} and c{k="2"} now, so every metric has series. A scalar
/// expression always has a value: it is not asked (Prometheus refuses `count` of one).
fn join_history(end_s: i64) -> Vec<(&'static str, &'static str, Vec<i64>)> {
    let minutes = |from: i64, to: i64| (to..=from).rev().map(|m| end_s - 60 * m).collect::<Vec<i64>>();
    vec![
        ("pgscope_lint_a", "1", minutes(120, 0)),
        ("pgscope_lint_b", "1", minutes(50, 40)),
        ("pgscope_lint_b", "2", minutes(120, 0)),
        ("pgscope_lint_c", "1", minutes(100, 90)),
        ("pgscope_lint_c", "2", minutes(120, 0)),
    ]
}

const JOIN_RULES: &str = "groups:\n  - name: g\n    rules:\n      \
    - record: joined:inside_the_hour\n        expr: pgscope_lint_a and on(k) pgscope_lint_b\n      \
    - record: joined:before_the_hour\n        expr: pgscope_lint_a and on(k) pgscope_lint_c\n      \
    - alert: JoinedNow\n        expr: count(pgscope_lint_a and on(k) pgscope_lint_b) > 0\n      \
    - record: sum:as_scalar\n        expr: scalar(sum(pgscope_lint_a))\n";

/// The empty-rule hints of JOIN_RULES against a TSDB holding `join_history`.
fn join_hints(url: &str, dir: &std::path::Path) -> Vec<String> {
    let rules = dir.join("joins.yml");
    std::fs::write(&rules, JOIN_RULES).unwrap();
    let (code, reports) = lint_json(&["--tsdb", url, rules.to_str().unwrap()]);
    assert!(reports.iter().all(|r| r.1 == "empty-rule"), "{reports:#?}");
    assert_eq!(code, 0, "hints only: {reports:#?}");
    reports.iter().map(|r| r.0.clone()).collect()
}

#[test]
fn the_empty_rule_hint_covers_the_whole_last_hour_on_victoriametrics() {
    let vm = support::VictoriaMetrics::start();
    let history = join_history(support::now_s() - 5);
    let mut lines = String::new();
    for (name, k, times) in &history {
        for t in times {
            lines.push_str(&format!("{name}{{job=\"j\",instance=\"i\",k=\"{k}\"}} 1 {}\n", t * 1000));
        }
    }
    vm.import(&lines, history.len());
    let dir = tempfile::tempdir().unwrap();
    let hinted = join_hints(&vm.url(), dir.path());
    // Matched 40 minutes ago: not empty over the hour, although empty now (the alert too).
    assert_eq!(hinted, ["group g rule joined:before_the_hour"]);
}

#[test]
fn the_empty_rule_hint_covers_the_whole_last_hour_on_prometheus() {
    let history = join_history(support::now_s() - 5);
    let mut text = String::new();
    for name in ["pgscope_lint_a", "pgscope_lint_b", "pgscope_lint_c"] {
        text.push_str(&format!("# TYPE {name} gauge\n"));
        for (_, k, times) in history.iter().filter(|h| h.0 == name) {
            for t in times {
                text.push_str(&format!("{name}{{job=\"j\",instance=\"i\",k=\"{k}\"}} 1 {t}\n"));
            }
        }
    }
    text.push_str("# EOF\n");
    let prometheus = support::Prometheus::start_with(&text);
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(join_hints(&prometheus.url(), dir.path()), ["group g rule joined:before_the_hour"]);
}

#[test]
fn citus_metrics_without_series_are_an_info_line_not_a_finding() {
    let vm = support::VictoriaMetrics::start();
    let now = support::now_s() - 5;
    vm.import(&format!("up{{job=\"postgres\",instance=\"a:1\"}} 1 {}\n", now * 1000), 1);
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("citus.yml");
    std::fs::write(
        &rules,
        "groups:\n  - name: g\n    rules:\n      - alert: CitusNodeInactive\n        expr: pg_citus_node_is_active == 0\n      \
         - alert: Missing\n        expr: pgscope_no_such_metric == 0\n",
    )
    .unwrap();
    let (code, reports) = lint_json(&["--tsdb", &vm.url(), rules.to_str().unwrap()]);
    assert_eq!(code, 1, "the other metric is still a finding: {reports:#?}");
    let citus = find(&reports, "group g rule CitusNodeInactive", "optional-no-series");
    assert_eq!(citus.len(), 1, "{reports:#?}");
    assert_eq!(citus[0].2, "pg_citus_node_is_active has no series: Citus is not installed or not exported here");
    assert!(find(&reports, "group g rule CitusNodeInactive", "no-series").is_empty(), "{reports:#?}");
    assert_eq!(find(&reports, "group g rule Missing", "no-series").len(), 1, "{reports:#?}");
    // pgscope's provisioned stack rules hold Citus rules: against a TSDB without Citus (and
    // without most of the stack), the Citus lines are info, said on stdout, never findings.
    let provisioning = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../provisioning");
    let files = ["rules/pgscope-stack.rules.yml", "alerting/pgscope-stack.yaml"].map(|f| provisioning.join(f).display().to_string());
    let (_, reports) = lint_json(&["--tsdb", &vm.url(), &files[0], &files[1]]);
    let citus: Vec<&Reported> = reports.iter().filter(|r| r.2.starts_with("pg_citus_")).collect();
    assert_eq!(citus.len(), 2 * 5, "3 rules reading 5 metric names, in both forms: {citus:#?}");
    assert!(citus.iter().all(|r| r.1 == "optional-no-series"), "{citus:#?}");
    // Where Citus is exported, nothing is said of it.
    vm.import(&format!("pg_citus_node_is_active{{job=\"postgres\",instance=\"a:1\",node=\"w1:5432\",datname=\"app\"}} 1 {}\n", now * 1000), 2);
    let (_, reports) = lint_json(&["--tsdb", &vm.url(), rules.to_str().unwrap()]);
    assert!(reports.iter().all(|r| !r.0.starts_with("group g rule CitusNodeInactive")), "{reports:#?}");
}
