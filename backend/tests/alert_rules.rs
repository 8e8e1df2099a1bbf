//! The provisioned alert rules: provisioning/rules (Prometheus / vmalert format) pass
//! `promtool check rules`; provisioning/alerting (Grafana-managed, through pgscope) holds the
//! same rules with the same expressions, wired as Grafana evaluates them. That every metric they
//! use exists is checked on the live stack (e2e/specs/alert-rules.spec.mjs, `pgscope lint --tsdb`).

use std::collections::BTreeMap;
use std::process::Command;

use pgscope::fallback::Rules;
use pgscope::lint::{self, FindingKind};
use pgscope::stored;

fn provisioning(path: &str) -> String {
    let path = format!("{}/../provisioning/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn prometheus_rules_pass_promtool() {
    let path = format!("{}/../provisioning/rules/pgscope-stack.rules.yml", env!("CARGO_MANIFEST_DIR"));
    let output = Command::new("promtool")
        .args(["check", "rules", &path])
        .output()
        .expect("promtool (Debian package prometheus, installed by scripts/setup.sh)");
    let text = String::from_utf8_lossy(&output.stdout).to_string() + &String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{text}");
    assert!(text.contains("SUCCESS: 10 rules found"), "{text}");
}

#[test]
fn grafana_rules_match_the_prometheus_rules() {
    let by_name = |text: &str| -> BTreeMap<String, String> {
        stored::rule_queries(text)
            .unwrap()
            .into_iter()
            .map(|q| (q.location.split(" rule ").nth(1).unwrap().split(" query ").next().unwrap().to_string(), q.expr))
            .collect()
    };
    let prometheus = by_name(&provisioning("rules/pgscope-stack.rules.yml"));
    let grafana = by_name(&provisioning("alerting/pgscope-stack.yaml"));
    assert_eq!(prometheus.len(), 10);
    assert_eq!(prometheus, grafana);
    for name in ["TargetDown", "QueryInfoEndpointDown", "ScrapeSampleCollapse", "PgssDataStale", "PgssStatementsEvicted", "PgssStatementsNotExported", "PatroniNoPrimary", "PatroniTimelineChanged", "PatroniPaused", "PgscopePluginErrors"] {
        assert!(prometheus.contains_key(name), "{name} missing");
    }
    for (name, expr) in &prometheus {
        let findings = lint::lint_query(expr, &Rules::default());
        assert!(findings.iter().all(|f| f.kind != FindingKind::Unparseable), "{name}: {findings:?}");
    }
}

#[test]
fn grafana_rules_are_wired_as_grafana_evaluates_them() {
    let doc: serde_yaml::Value = serde_yaml::from_str(&provisioning("alerting/pgscope-stack.yaml")).unwrap();
    assert_eq!(doc["apiVersion"].as_i64(), Some(1));
    let rules = doc["groups"][0]["rules"].as_sequence().unwrap();
    let mut uids = std::collections::BTreeSet::new();
    for rule in rules {
        let title = rule["title"].as_str().unwrap();
        let uid = rule["uid"].as_str().unwrap();
        assert!(uid.len() <= 40 && uids.insert(uid.to_string()), "{title}: uid {uid} too long or repeated");
        let data = rule["data"].as_sequence().unwrap();
        let ref_ids: Vec<&str> = data.iter().map(|d| d["refId"].as_str().unwrap()).collect();
        assert!(ref_ids.contains(&rule["condition"].as_str().unwrap()), "{title}: condition is not a refId");
        let query = &data[0];
        assert_eq!(query["datasourceUid"].as_str(), Some("pgscope"), "{title}");
        assert_eq!(query["model"]["instant"].as_bool(), Some(true), "{title}");
        let condition = &data[1]["model"];
        assert_eq!(condition["type"].as_str(), Some("math"), "{title}");
        assert!(condition["expression"].as_str().unwrap().contains("$A"), "{title}");
        assert_eq!(rule["noDataState"].as_str(), Some("OK"), "{title}: no series means nothing to alert on");
    }
}
