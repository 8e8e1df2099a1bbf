//! The `pgscope` command line, run as a user runs it.

mod support;

use std::process::Command;

fn pgscope(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_pgscope")).args(args).output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

// postgres_ai's info metric has no datname label: on(queryid) is its only join, not a finding.
const FRAGILE: &str = "topk($top_n, irate(pgwatch_pg_stat_statements_calls[$__rate_interval])) * on(queryid) group_left(displayname) pgwatch_query_info";

#[test]
fn rewrite_prints_the_query_and_the_notes() {
    let (code, stdout, stderr) = pgscope(&["rewrite", FRAGILE]);
    assert_eq!(code, 0);
    assert!(stdout.starts_with("topk($top_n, (irate(pgwatch_pg_stat_statements_calls[$__rate_interval]) * on (queryid)"), "{stdout}");
    assert!(stderr.contains("-- the join with pgwatch_query_info gets a fallback"), "{stderr}");
    let (_, stdout, stderr) = pgscope(&["rewrite", "sum(rate(x[5m])"]);
    assert_eq!(stdout.trim(), "sum(rate(x[5m])");
    assert!(stderr.contains("not analysed"), "{stderr}");
    assert_eq!(pgscope(&["rewrite"]).0, 2);
    assert_eq!(pgscope(&["--version"]).1.trim(), format!("pgscope {}", env!("CARGO_PKG_VERSION")));
}

#[test]
fn lint_then_fix_then_lint_clean() {
    let dir = tempfile::tempdir().unwrap();
    let dashboard = dir.path().join("d.json");
    let fixed = dir.path().join("fixed.json");
    let json = serde_json::json!({
        "title": "t",
        "panels": [{"id": 7, "title": "Calls", "targets": [{"refId": "A", "expr": FRAGILE}, {"refId": "B", "expr": "sum(rate(x[5m])"}]}]
    });
    std::fs::write(&dashboard, serde_json::to_string_pretty(&json).unwrap()).unwrap();
    let (code, stdout, _) = pgscope(&["lint", dashboard.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(stdout.contains("panel 7 \"Calls\" target A: fragile-join: fragile info join"), "{stdout}");
    assert!(stdout.contains("target B: unparseable: cannot be analysed"), "{stdout}");

    let (code, _, stderr) = pgscope(&["fix", dashboard.to_str().unwrap(), "-o", fixed.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    let (_, stdout, _) = pgscope(&["lint", fixed.to_str().unwrap()]);
    assert!(!stdout.contains("fragile info join"), "{stdout}");

    let rules = dir.path().join("rules.yml");
    std::fs::write(&rules, "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: sum(up)\n").unwrap();
    assert_eq!(pgscope(&["lint", rules.to_str().unwrap()]).0, 0);
    assert_eq!(pgscope(&["lint", "/nonexistent.json"]).0, 2);
}

#[test]
fn lint_with_a_tsdb_reports_metrics_nobody_exports() {
    let vm = support::VictoriaMetrics::start();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis();
    vm.import(&format!("up{{job=\"node\"}} 1 {}\n", now - 5_000), 1);
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.yml");
    std::fs::write(&rules, "groups:\n  - name: g\n    rules:\n      - alert: Down\n        expr: up == 0 or absent(cadvisor_version_info)\n").unwrap();
    let (code, stdout, _) = pgscope(&["lint", "--tsdb", &vm.url(), rules.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(stdout.contains("metric cadvisor_version_info has no series"), "{stdout}");
    assert!(!stdout.contains("metric up has no series"), "{stdout}");
}
