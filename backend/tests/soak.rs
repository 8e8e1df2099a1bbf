//! A soak: every pgscope query of the provisioned dashboards, refreshed by concurrent
//! "browsers" against the real plugin process and a real VictoriaMetrics holding pgss series,
//! while a second datasource of the same plugin points at TSDBs that fail (an HTML 500, an
//! answer slower than its timeout). Prints requests, errors by kind, p50/p99 latency, the
//! plugin's RSS and CPU at the start and the end; checks that no healthy query failed, that
//! every faulty one failed cleanly, and that the plugin's own `pgscope_queries_total` counted
//! exactly what was sent.
//!
//! `make test` runs it for `PGSCOPE_SOAK_SECONDS` (default 8) with 4 refreshers; `make soak` for
//! 5 minutes with 8 (`SOAK_SECONDS=`, `SOAK_REFRESHERS=`).

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use pgscope::pluginv2::{self, data_client::DataClient, diagnostics_client::DiagnosticsClient};
use pgscope::pgss::POSTGRES_EXPORTER;
use serde_json::Value;
use support::{data_query, instance, now_s, pgss_dataset, plugin_context, Fault, FaultyTsdb, PluginProcess, VictoriaMetrics, QUERYIDS};

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The pgscope targets of every provisioned dashboard, variables set (query variables at All,
/// custom ones at their current value, `queryid` at a statement the TSDB holds).
fn dashboard_queries() -> Vec<(String, String)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../provisioning/dashboards/json");
    let mut queries = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let dashboard: Value = serde_json::from_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap()).unwrap();
        let mut vars: Vec<(String, String)> = dashboard["templating"]["list"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| {
                let name = v["name"].as_str()?.to_string();
                let value = match (&v["current"]["value"], name.as_str()) {
                    (_, "queryid") => QUERYIDS[0].to_string(),
                    (Value::String(s), _) if !s.is_empty() && s != "$__all" => s.clone(),
                    _ => ".*".to_string(),
                };
                Some((name, value))
            })
            .collect();
        vars.sort_by_key(|(name, _)| std::cmp::Reverse(name.len()));
        let mut stack: Vec<&Value> = dashboard["panels"].as_array().into_iter().flatten().collect();
        while let Some(panel) = stack.pop() {
            stack.extend(panel["panels"].as_array().into_iter().flatten());
            for target in panel["targets"].as_array().into_iter().flatten() {
                let mut json = target.to_string();
                for (name, value) in &vars {
                    for token in [format!("${{{name}:regex}}"), format!("${{{name}}}"), format!("${name}")] {
                        json = json.replace(&token, value);
                    }
                }
                let query_type = target["queryType"].as_str().unwrap_or("promql").to_string();
                queries.push((query_type, json));
            }
        }
    }
    queries
}

/// (RSS in KB, CPU seconds) of a process, from /proc.
fn usage(pid: u32) -> (u64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let rss = status.lines().find_map(|l| l.strip_prefix("VmRSS:")).and_then(|v| v.split_whitespace().next()?.parse().ok()).unwrap_or(0);
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let ticks: f64 = fields.get(11).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0) + fields.get(12).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (rss, ticks / 100.0)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted.get(((sorted.len() as f64 - 1.0) * p).round() as usize).copied().unwrap_or_default()
}

/// `pgscope_queries_total` summed over every label set.
async fn queries_counted(plugin: &PluginProcess) -> f64 {
    let mut diagnostics = DiagnosticsClient::connect(plugin.endpoint()).await.unwrap();
    let context = plugin_context(instance("soak", "http://127.0.0.1:1", "{}"));
    let metrics = diagnostics.collect_metrics(pluginv2::CollectMetricsRequest { plugin_context: Some(context) }).await.unwrap().into_inner();
    let text = String::from_utf8(metrics.metrics.unwrap().prometheus).unwrap();
    text.lines().filter(|l| l.starts_with("pgscope_queries_total{")).filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok()).sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_dashboard_query_under_load_with_faults() {
    let seconds = env("PGSCOPE_SOAK_SECONDS", 8);
    let refreshers = env("PGSCOPE_SOAK_REFRESHERS", 4) as usize;
    let vm = VictoriaMetrics::start();
    let end_s = now_s();
    let (lines, series) = pgss_dataset(&POSTGRES_EXPORTER, end_s);
    vm.import(&lines, series);
    let failing = [FaultyTsdb::start(Fault::Html500), FaultyTsdb::start(Fault::Slow(3))];
    let queries = dashboard_queries();
    assert!(queries.len() >= 20, "{} dashboard queries", queries.len());
    let plugin = PluginProcess::start();
    let pid = plugin.pid();
    let healthy = plugin_context(instance("soak-vm", &vm.url(), r#"{"timeInterval":"15s"}"#));
    let faulty: Vec<pluginv2::PluginContext> =
        failing.iter().map(|t| plugin_context(instance(&format!("soak-{}", t.addr), &t.url(), r#"{"queryTimeout":"1s"}"#))).collect();
    let to_ms = end_s * 1000;

    // Warm up (the first requests build instances and caches), then measure.
    let mut data = DataClient::connect(plugin.endpoint()).await.unwrap().max_decoding_message_size(256 << 20);
    let warm = pluginv2::QueryDataRequest {
        plugin_context: Some(healthy.clone()),
        headers: Default::default(),
        queries: queries.iter().enumerate().map(|(i, (t, json))| pluginv2::DataQuery { query_type: t.clone(), ..data_query(&i.to_string(), json, to_ms - 3_600_000, to_ms) }).collect(),
    };
    let first = data.query_data(warm).await.unwrap().into_inner();
    let warm_errors: Vec<String> = first.responses.values().filter(|r| !r.error.is_empty()).map(|r| r.error.clone()).collect();
    assert!(warm_errors.is_empty(), "dashboard queries fail on a healthy TSDB: {warm_errors:?}");
    let counted_before = queries_counted(&plugin).await;
    let (rss_start, cpu_start) = usage(pid);
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);

    let tasks: Vec<_> = (0..refreshers)
        .map(|r| {
            let (endpoint, queries, healthy, faulty) = (plugin.endpoint(), queries.clone(), healthy.clone(), faulty.clone());
            tokio::spawn(async move {
                let mut data = DataClient::connect(endpoint).await.unwrap().max_decoding_message_size(256 << 20);
                let (mut latencies, mut errors, mut sent, mut round) = (Vec::new(), BTreeMap::<String, usize>::new(), 0usize, 0usize);
                while Instant::now() < deadline {
                    // A dashboard refresh: every query of the dashboards in one request; every third
                    // round of a refresher also asks a failing datasource.
                    round += 1;
                    let fault = (round + r) % 3 == 0;
                    let context = if fault { faulty[round % faulty.len()].clone() } else { healthy.clone() };
                    let picked: Vec<&(String, String)> = if fault { queries.iter().take(3).collect() } else { queries.iter().collect() };
                    let request = pluginv2::QueryDataRequest {
                        plugin_context: Some(context),
                        headers: Default::default(),
                        queries: picked.iter().enumerate().map(|(i, (t, json))| pluginv2::DataQuery { query_type: t.clone(), ..data_query(&i.to_string(), json, to_ms - 3_600_000, to_ms) }).collect(),
                    };
                    sent += picked.len();
                    let at = Instant::now();
                    let answer = data.query_data(request).await.expect("the plugin answers").into_inner();
                    latencies.push(at.elapsed());
                    for response in answer.responses.values() {
                        let kind = match (fault, response.error.is_empty()) {
                            (false, true) => "ok".to_string(),
                            (false, false) => format!("UNEXPECTED {}: {}", response.status, response.error),
                            (true, false) => format!("injected fault, HTTP {}", response.status),
                            (true, true) => "UNEXPECTED success from a failing TSDB".to_string(),
                        };
                        *errors.entry(kind).or_default() += 1;
                    }
                }
                (latencies, errors, sent)
            })
        })
        .collect();
    // RSS over the run, ten samples: growth that stops after the first minutes is the allocator
    // and the connection pools warming up; growth that goes on to the end is a leak.
    let sampler = tokio::spawn(async move {
        let every = Duration::from_secs_f64((seconds as f64 / 10.0).max(0.5));
        let mut samples = Vec::new();
        while Instant::now() + every / 2 < deadline {
            tokio::time::sleep(every).await;
            samples.push(usage(pid).0 / 1024);
        }
        samples
    });
    let (mut latencies, mut outcomes, mut sent) = (Vec::new(), BTreeMap::<String, usize>::new(), 0);
    for task in tasks {
        let (l, e, s) = task.await.unwrap();
        latencies.extend(l);
        for (k, v) in e {
            *outcomes.entry(k).or_default() += v;
        }
        sent += s;
    }
    let elapsed = started.elapsed();
    let (rss_end, cpu_end) = usage(pid);
    let rss_samples = sampler.await.unwrap();
    latencies.sort();
    let counted = queries_counted(&plugin).await - counted_before;
    println!(
        "soak: {refreshers} refreshers × {:.0} s: {} requests, {sent} queries; outcomes {outcomes:?}; request latency p50 {:?} p99 {:?}; plugin RSS {} → {} MB ({:+.1} %), CPU {:.1} s ({:.0} % of one core); own metrics counted {counted} queries",
        elapsed.as_secs_f64(),
        latencies.len(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        rss_start / 1024,
        rss_end / 1024,
        (rss_end as f64 / rss_start.max(1) as f64 - 1.0) * 100.0,
        cpu_end - cpu_start,
        (cpu_end - cpu_start) / elapsed.as_secs_f64() * 100.0,
    );
    if let Some(&middle) = rss_samples.get(rss_samples.len().saturating_sub(1) / 2) {
        println!(
            "soak: plugin RSS every {:.0} s (MB): {rss_samples:?}; first half {:+.1} %, second half {:+.1} %",
            (seconds as f64 / 10.0).max(0.5),
            (middle as f64 / (rss_start / 1024).max(1) as f64 - 1.0) * 100.0,
            ((rss_end / 1024) as f64 / middle.max(1) as f64 - 1.0) * 100.0,
        );
    }
    let unexpected: Vec<&String> = outcomes.keys().filter(|k| k.starts_with("UNEXPECTED")).collect();
    assert!(unexpected.is_empty(), "{unexpected:?}");
    assert!(outcomes.keys().any(|k| k.starts_with("injected")), "no fault was injected");
    assert_eq!(counted, sent as f64, "pgscope_queries_total counts every query sent");
    drop(vm);
}
