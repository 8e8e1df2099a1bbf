//! The plugin's own metrics under load, learning from the pgwatch exporter-cache race (a scrape
//! that sometimes returned 54 samples instead of 117,000): QueryData and CollectMetrics run
//! concurrently, and every scrape must hold every metric family, each with one label set shape,
//! and counters that never go backwards.

mod support;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{SystemTime, UNIX_EPOCH};

use pgscope::pluginv2::{self, data_client::DataClient, diagnostics_client::DiagnosticsClient};
use support::{PluginProcess, VictoriaMetrics};

const FAMILIES: &[&str] = &[
    "pgscope_queries_total",
    "pgscope_upstream_request_duration_seconds",
    "pgscope_health_checks_total",
    "pgscope_fallback_activations_total",
    "pgscope_rewrites_total",
];

fn context(url: &str) -> pluginv2::PluginContext {
    pluginv2::PluginContext {
        org_id: 1,
        plugin_id: "pgscope-datasource".into(),
        data_source_instance_settings: Some(pluginv2::DataSourceInstanceSettings {
            id: 1,
            uid: "metrics".into(),
            url: url.into(),
            last_updated_ms: 1,
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Per family, the label-name sets seen.
type Shapes = BTreeMap<String, BTreeSet<Vec<String>>>;

/// (shapes, samples by full series text).
fn parse(text: &str) -> (Shapes, HashMap<String, f64>) {
    let mut shapes = Shapes::new();
    let mut samples = HashMap::new();
    for line in text.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
        let (series, value) = line.rsplit_once(' ').unwrap();
        let (name, labels) = series.split_once('{').map_or((series, ""), |(n, l)| (n, l.trim_end_matches('}')));
        let family = ["_bucket", "_sum", "_count"].iter().fold(name, |n, suffix| n.strip_suffix(suffix).unwrap_or(n));
        let mut names: Vec<String> = labels.split(',').filter(|p| !p.is_empty()).map(|p| p.split('=').next().unwrap().to_string()).collect();
        names.retain(|n| n != "le");
        names.sort();
        shapes.entry(family.to_string()).or_default().insert(names);
        samples.insert(series.to_string(), value.parse::<f64>().unwrap());
    }
    (shapes, samples)
}

async fn scrape(diagnostics: &mut DiagnosticsClient<tonic::transport::Channel>, url: &str) -> String {
    let metrics = diagnostics
        .collect_metrics(pluginv2::CollectMetricsRequest { plugin_context: Some(context(url)) })
        .await
        .unwrap()
        .into_inner()
        .metrics
        .unwrap();
    String::from_utf8(metrics.prometheus).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_scrape_holds_every_family_while_queries_run() {
    let vm = VictoriaMetrics::start();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64;
    vm.import(&format!("up{{job=\"node\"}} 1 {}\n", now - 5_000), 1);
    let plugin = PluginProcess::start();
    let url = vm.url();

    let mut writers = Vec::new();
    for worker in 0..4 {
        let (endpoint, url) = (plugin.endpoint(), url.clone());
        writers.push(tokio::spawn(async move {
            let mut data = DataClient::connect(endpoint).await.unwrap();
            for i in 0..25 {
                let expr = if (worker + i) % 5 == 0 { "sum(" } else { "rate(up[1m]) * on(job) group_left(version) build_info" };
                let query = support::data_query("A", &serde_json::json!({ "expr": expr }).to_string(), now - 300_000, now);
                let request = pluginv2::QueryDataRequest { plugin_context: Some(context(&url)), headers: HashMap::new(), queries: vec![query] };
                data.query_data(request).await.unwrap();
            }
        }));
    }
    let mut diagnostics = DiagnosticsClient::connect(plugin.endpoint()).await.unwrap();
    let mut previous: HashMap<String, f64> = HashMap::new();
    let mut scrapes = 0;
    while scrapes < 40 || !writers.iter().all(|w| w.is_finished()) {
        let (shapes, samples) = parse(&scrape(&mut diagnostics, &url).await);
        for family in FAMILIES {
            let shape = shapes.get(*family).unwrap_or_else(|| panic!("scrape {scrapes}: family {family} missing"));
            assert_eq!(shape.len(), 1, "scrape {scrapes}: {family} has label sets {shape:?}");
        }
        for (series, value) in &samples {
            if let Some(before) = previous.get(series) {
                assert!(value >= before, "scrape {scrapes}: {series} went from {before} to {value}");
            }
        }
        assert!(samples.len() >= previous.len(), "scrape {scrapes}: {} samples after {}", samples.len(), previous.len());
        previous = samples;
        scrapes += 1;
    }
    for writer in writers {
        writer.await.unwrap();
    }
    // One scrape after every query has returned: each one counted exactly once.
    let (_, previous) = parse(&scrape(&mut diagnostics, &url).await);
    let total: f64 = previous.iter().filter(|(k, _)| k.starts_with("pgscope_queries_total{")).map(|(_, v)| v).sum();
    assert_eq!(total, 100.0, "every query counted once");
    assert!(previous.iter().any(|(k, v)| k.contains("pgscope_rewrites_total{outcome=\"rewritten\"}") && *v == 80.0), "{previous:?}");
}
