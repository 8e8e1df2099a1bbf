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
    assert!(text.contains("SUCCESS: 13 rules found"), "{text}");
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
    assert_eq!(prometheus.len(), 13);
    assert_eq!(prometheus, grafana);
    for name in ["TargetDown", "QueryInfoEndpointDown", "ScrapeSampleCollapse", "PgssDataStale", "PgssStatementsEvicted", "PgssStatementsNotExported", "PatroniNoPrimary", "PatroniTimelineChanged", "PatroniPaused", "PgscopePluginErrors", "CitusNodeInactive", "CitusPlacementsInactive", "CitusMetadataNotSynced"] {
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

/// The Citus rules fire and stay quiet as `promtool test rules` evaluates them, on hand-written
/// series (Citus is not installable here) labelled as pg_exporter's pg_citus_node query labels
/// them: w1 goes inactive at minute 6 and gets 2 inactive placements, w3's metadata stops being
/// synced at minute 6, w2 stays healthy and w4 is not meant to hold metadata.
#[test]
fn citus_rules_fire_on_their_states_only() {
    let rules = format!("{}/../provisioning/rules/pgscope-stack.rules.yml", env!("CARGO_MANIFEST_DIR"));
    let series = |name: &str, node: &str, values: &str| {
        format!("      - series: '{name}{{job=\"postgres\",instance=\"c:9187\",node=\"{node}\",datname=\"app\"}}'\n        values: '{values}'\n")
    };
    let mut input = String::new();
    for (name, node, values) in [
        ("pg_citus_node_is_active", "w1:5432", "1x5 0x20"),
        ("pg_citus_placement_inactive", "w1:5432", "0x5 2x20"),
        ("pg_citus_node_is_active", "w2:5432", "1x25"),
        ("pg_citus_node_has_meta", "w2:5432", "1x25"),
        ("pg_citus_node_meta_synced", "w2:5432", "1x25"),
        ("pg_citus_placement_inactive", "w2:5432", "0x25"),
        ("pg_citus_node_is_active", "w3:5432", "1x25"),
        ("pg_citus_node_has_meta", "w3:5432", "1x25"),
        ("pg_citus_node_meta_synced", "w3:5432", "1x5 0x20"),
        ("pg_citus_node_is_active", "w4:5432", "1x25"),
        ("pg_citus_node_has_meta", "w4:5432", "0x25"),
        ("pg_citus_node_meta_synced", "w4:5432", "0x25"),
    ] {
        input.push_str(&series(name, node, values));
    }
    let alert = |name: &str, minute: u32, node: Option<(&str, &str, &str, &str)>| {
        let expected = match node {
            None => "[]".to_string(),
            Some((node, severity, summary, description)) => format!(
                "\n          - exp_labels: {{job: postgres, instance: \"c:9187\", node: \"{node}\", datname: app, severity: {severity}}}\n            exp_annotations:\n              summary: \"{summary}\"\n              description: \"{description}\""
            ),
        };
        format!("      - eval_time: {minute}m\n        alertname: {name}\n        exp_alerts: {expected}\n")
    };
    let inactive = (
        "w1:5432",
        "critical",
        "Citus node w1:5432 is inactive",
        "pg_dist_node marks w1:5432 (database app) inactive: Citus plans no query on it, and queries that need the shards it holds fail. Bring the node back, then SELECT citus_activate_node('host', port).",
    );
    let placements = (
        "w1:5432",
        "critical",
        "2 inactive shard placements on Citus node w1:5432",
        "pg_dist_placement holds inactive placements (shardstate 3) on w1:5432 (database app): those copies missed writes and Citus no longer reads them, so their shards have one copy fewer, or none. Repair each from a healthy placement (citus_copy_shard_placement).",
    );
    let unsynced = (
        "w3:5432",
        "warning",
        "Citus metadata is not synced to w3:5432",
        "For 15 minutes Citus has not synced its metadata to w3:5432 (pg_dist_node.metadatasynced = false while hasmetadata = true): queries sent to that node see stale distributed tables. The maintenance daemon retries; if it keeps failing, the coordinator's log says why, and SELECT start_metadata_sync_to_node('host', port) retries by hand.",
    );
    let tests = [
        alert("CitusNodeInactive", 10, None),
        alert("CitusNodeInactive", 12, Some(inactive)),
        alert("CitusPlacementsInactive", 10, None),
        alert("CitusPlacementsInactive", 12, Some(placements)),
        alert("CitusMetadataNotSynced", 20, None),
        alert("CitusMetadataNotSynced", 22, Some(unsynced)),
    ]
    .concat();
    let text = format!("rule_files:\n  - {rules}\nevaluation_interval: 1m\ntests:\n  - interval: 1m\n    input_series:\n{input}    alert_rule_test:\n{tests}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("citus.test.yml");
    std::fs::write(&file, &text).unwrap();
    let output = Command::new("promtool").args(["test", "rules"]).arg(&file).output().expect("promtool");
    let said = String::from_utf8_lossy(&output.stdout).to_string() + &String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{said}\n{text}");
    assert!(said.contains("SUCCESS"), "{said}");
}
