//! Issue 18 item 7: the plugin's real Arrow output, decoded by an implementation that is not
//! ours. The real `gpx_pgscope` process answers every query shape (promql range, instant, table,
//! a TSDB error, an empty answer, an info-metric join the fallback rewrites, pgssTopQueries,
//! pgssQuery, a pgssQuery whose frames carry warning notices, stackHealth) against a real VictoriaMetrics holding a postgres_exporter pgss dataset; each
//! frame's raw bytes go to a temporary directory with a manifest, and
//! `node frontend/js/test/arrow-check.mjs <dir>` decodes them with the `apache-arrow` npm package
//! and holds them to grafana-plugin-sdk-go's reader (data/arrow.go UnmarshalArrowFrame): the IPC
//! file format, `name`/`refId`/`meta` schema metadata, `name`/`labels`/`config` field metadata,
//! the column types it accepts, nanosecond times, notice severities. Node and the package are
//! installed by scripts/setup.sh (`npm ci`); without them this test fails and says so.

mod support;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use pgscope::pgss::catalog::POSTGRES_EXPORTER;
use pgscope::pluginv2::{self, data_client::DataClient};
use serde_json::{json, Value};
use support::{data_query, instance, now_s, pgss_dataset, plugin_context, PluginProcess, VictoriaMetrics};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// (shape, query type, query JSON): every kind of answer the plugin gives.
fn shapes() -> Vec<(&'static str, &'static str, Value)> {
    vec![
        ("range", "promql", json!({ "expr": "rate(pg_stat_statements_calls_total[5m])", "range": true, "instant": false, "legendFormat": "{{datname}} {{queryid}}" })),
        ("instant", "promql", json!({ "expr": "sum by (datname) (pg_stat_statements_calls_total)", "range": false, "instant": true })),
        ("table", "promql", json!({ "expr": "pg_stat_statements_calls_total", "range": false, "instant": true, "format": "table" })),
        ("error", "promql", json!({ "expr": "rate(pg_stat_statements_calls_total[5m]", "range": true, "instant": false })),
        ("empty", "promql", json!({ "expr": "no_such_metric_anywhere", "range": true, "instant": false })),
        (
            "rewrite",
            "promql",
            json!({ "expr": "rate(pg_stat_statements_calls_total[5m]) * on(datname, queryid) group_left(displayname) pgss_query_info", "range": true, "instant": false }),
        ),
        ("pgssTopQueries", "pgssTopQueries", json!({ "orderBy": "exec_time", "limit": 10 })),
        ("pgssQuery", "pgssQuery", json!({ "queryid": support::QUERYIDS[1] })),
        // A statement with no series: frames with warning notices.
        ("notices", "pgssQuery", json!({ "queryid": "999" })),
        ("stackHealth", "stackHealth", json!({})),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_query_shape_decodes_with_apache_arrow_under_the_sdk_reader_rules() {
    let node = Command::new("node").arg("--version").output();
    assert!(
        node.as_ref().is_ok_and(|o| o.status.success()),
        "node is not installed: the independent Arrow check needs Node.js and the apache-arrow npm package (scripts/setup.sh installs both: apt nodejs, npm ci): {node:?}"
    );
    let checker = root().join("frontend/js/test/arrow-check.mjs");
    assert!(
        root().join("node_modules/apache-arrow/package.json").is_file(),
        "node_modules/apache-arrow is missing: run `npm ci` at the repository root (scripts/setup.sh does) for the independent Arrow check"
    );

    let vm = VictoriaMetrics::start();
    let end_s = now_s();
    let (lines, series) = pgss_dataset(&POSTGRES_EXPORTER, end_s);
    vm.import(&lines, series);
    let plugin = PluginProcess::start();
    let mut data = DataClient::connect(plugin.endpoint()).await.unwrap().max_decoding_message_size(256 << 20);
    let (to_ms, from_ms) = (end_s * 1000, end_s * 1000 - 3_600_000);
    let queries: Vec<pluginv2::DataQuery> = shapes()
        .into_iter()
        .map(|(shape, query_type, mut json)| {
            json["refId"] = json!(shape);
            pluginv2::DataQuery { query_type: query_type.into(), ..data_query(shape, &json.to_string(), from_ms, to_ms) }
        })
        .collect();
    let request = pluginv2::QueryDataRequest {
        plugin_context: Some(plugin_context(instance("arrow-check", &vm.url(), r#"{"timeInterval":"15s"}"#))),
        headers: HashMap::new(),
        queries,
    };
    let responses = data.query_data(request).await.unwrap().into_inner().responses;

    let dir = tempfile::tempdir().unwrap();
    let mut manifest = Vec::new();
    for (shape, _, _) in shapes() {
        let response = &responses[shape];
        if shape == "error" {
            assert!(!response.error.is_empty() && response.frames.is_empty(), "the error shape did not fail: {response:?}");
        } else {
            assert!(response.error.is_empty(), "{shape}: {}", response.error);
            assert!(!response.frames.is_empty(), "{shape}: no frames");
        }
        let mut files = Vec::new();
        for (i, frame) in response.frames.iter().enumerate() {
            let file = format!("{shape}-{i}.arrow");
            std::fs::write(dir.path().join(&file), frame).unwrap();
            files.push(file);
        }
        manifest.push(json!({
            "shape": shape, "refId": shape, "files": files, "fromMs": from_ms, "toMs": to_ms,
            "status": response.status, "error": response.error, "errorSource": response.error_source,
        }));
    }
    std::fs::write(dir.path().join("manifest.json"), serde_json::to_vec_pretty(&manifest).unwrap()).unwrap();

    let output = Command::new("node").arg(&checker).arg(dir.path()).current_dir(root()).output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    println!("{stdout}");
    assert!(output.status.success(), "apache-arrow's reading of the plugin's frames breaks the SDK reader's rules:\n{stdout}\n{stderr}");
    for (shape, _, _) in shapes() {
        assert!(stdout.contains(&format!("ok {shape}:")), "the checker did not report shape {shape}:\n{stdout}");
    }
    let notices = stdout.lines().find(|l| l.starts_with("ok notices:")).unwrap_or_default();
    assert!(notices.contains("notices") && notices.contains("warning"), "no notice reached the checker: {notices}");
}
