//! `make bench-fleet` (issue 19): pgss analysis at fleet scale, figures measured side by side in
//! one run against real TSDBs on 127.0.0.1 holding the fleet fixture (tests/support/fleet.rs:
//! postgres_exporter names, every measure, 41 points 15 s apart, resets, statements appearing and
//! vanishing). For each size: `pgssTopQueries` top 20 and 500 by time, calls and time per call
//! through the plugin's gRPC versus the TSDB answering the single `topk` query for the order
//! directly (targets: <= 1.5x on VictoriaMetrics, <= 2x on Prometheus); the answer's bytes and
//! what the plugin read from the TSDB; the in-plugin ranking (the reference) once; `pgssQuery`
//! versus its sub-queries fetched directly at once; the plugin's peak RSS (target <= 256 MB);
//! and Save & test with 1,000 scrape targets (target <= 2 s) with the requests it made, where
//! its time goes, and its stack checks against a baseline build's. Prints figures; asserts
//! nothing about time.
//!
//! PGSCOPE_FLEET_SIZES (default 10000,100000) for VictoriaMetrics, PGSCOPE_FLEET_PROMETHEUS
//! (default 10000) the sizes for Prometheus, PGSCOPE_FLEET_RUNS (default 5) runs per figure,
//! PGSCOPE_FLEET_PARTS (default pgss,health) which parts run, PGSCOPE_BASELINE_CLI a `pgscope`
//! binary to compare the stack checks with, PGSCOPE_BASELINE_PLUGIN a `gpx_pgscope` binary to
//! compare Save & test with. Save & test alone at 10k statements (CI-sized):
//! `PGSCOPE_FLEET_SIZES=10000 PGSCOPE_FLEET_PROMETHEUS=0 PGSCOPE_FLEET_PARTS=health`.
//! PGSCOPE_BENCH_PROFILE=1 prints VictoriaMetrics' own time per query of each ordering.

#[path = "../tests/support/mod.rs"]
mod support;
#[path = "../tests/support/fleet.rs"]
mod fleet;
#[path = "../tests/support/scrape_targets.rs"]
mod scrape_targets;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use fleet::{CountingProxy, Fleet};
use pgscope::stack::{self, Ask, Detail, Source, Span as StackSpan, StackRules};
use scrape_targets::{ScrapeTargets, TargetsApi};
use pgscope::pgss::{plan_top, PgssState, Ranking, Span, POSTGRES_EXPORTER};
use pgscope::pluginv2::{self, data_client::DataClient, diagnostics_client::DiagnosticsClient};
use pgscope::prom::client::PromClient;
use pgscope::settings::Settings;
use pgscope::telemetry::Telemetry;
use support::{ms, p50};

const POINTS: usize = 41;
const RANGE_S: i64 = 600;
const ORDERS: [(&str, usize); 6] = [("exec_time", 20), ("exec_time", 500), ("calls", 20), ("calls", 500), ("exec_time_per_call", 20), ("exec_time_per_call", 500)];

fn sizes(var: &str, default: &str) -> Vec<usize> {
    std::env::var(var).unwrap_or_else(|_| default.into()).split(',').filter_map(|s| s.trim().parse().ok()).filter(|n| *n > 0).collect()
}

fn runs() -> usize {
    std::env::var("PGSCOPE_FLEET_RUNS").ok().and_then(|r| r.parse().ok()).unwrap_or(5).max(1)
}

/// Whether PGSCOPE_FLEET_PARTS (default `pgss,health`) names this part of the benchmark.
fn part(name: &str) -> bool {
    std::env::var("PGSCOPE_FLEET_PARTS").unwrap_or_else(|_| "pgss,health".into()).split(',').any(|p| p.trim() == name)
}

fn instance(uid: &str, url: &str) -> pluginv2::DataSourceInstanceSettings {
    support::instance(uid, url, r#"{"timeInterval":"15s","pgssSchema":"postgres_exporter"}"#)
}

/// The plugin's peak resident memory so far (VmHWM), MB.
fn peak_rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status.lines().find_map(|l| l.strip_prefix("VmHWM:")).and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok()).unwrap_or(f64::NAN) / 1024.0
}

struct Tsdb<'a> {
    name: &'a str,
    url: String,
    addr: String,
    target: f64,
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let end = support::now_s() / 15 * 15 - 60;
    println!(
        "pgss at fleet scale (make bench-fleet): {} cores, {} runs per figure, p50; postgres_exporter names, {} measures, {POINTS} points 15 s apart",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        runs(),
        POSTGRES_EXPORTER.sources.len()
    );
    for statements in sizes("PGSCOPE_FLEET_SIZES", "10000,100000") {
        let fleet = Fleet::new(&POSTGRES_EXPORTER, statements, POINTS, end);
        let vm = support::VictoriaMetrics::start();
        let started = Instant::now();
        fleet.import_vm(&vm.addr);
        println!("\nVictoriaMetrics, {statements} statements ({} series) imported in {:.1} s", fleet.series(), started.elapsed().as_secs_f64());
        let tsdb = Tsdb { name: "VictoriaMetrics", url: vm.url(), addr: vm.addr.clone(), target: 1.5 };
        if part("pgss") {
            runtime.block_on(bench(&tsdb, &fleet));
        }
        if part("health") {
            runtime.block_on(health(&vm, &fleet));
        }
    }
    for statements in sizes("PGSCOPE_FLEET_PROMETHEUS", "10000").into_iter().filter(|_| part("pgss")) {
        let fleet = Fleet::new(&POSTGRES_EXPORTER, statements, POINTS, end);
        let started = Instant::now();
        let prometheus = support::Prometheus::start_from(|out| fleet.write_openmetrics(out), Duration::from_secs(300));
        println!("\nPrometheus, {statements} statements ({} series) backfilled by promtool in {:.1} s", fleet.series(), started.elapsed().as_secs_f64());
        let tsdb = Tsdb { name: "Prometheus", url: prometheus.url(), addr: prometheus.addr.clone(), target: 2.0 };
        runtime.block_on(bench(&tsdb, &fleet));
    }
}

async fn bench(tsdb: &Tsdb<'_>, fleet: &Fleet) {
    let plugin = support::PluginProcess::start();
    let channel = tonic::transport::Endpoint::from_shared(plugin.endpoint()).unwrap().connect().await.unwrap();
    let data = DataClient::new(channel).max_decoding_message_size(1 << 30);
    let http = reqwest::Client::new();
    let (from, to) = (fleet.end_s - RANGE_S, fleet.end_s);
    let span = Span { from: from as f64, to: to as f64, interval_ms: 15_000, max_points: 100 };
    let settings = Settings::from_instance(Some(&instance("fleet", &tsdb.url))).unwrap();
    let client = PromClient::new(settings.clone(), Telemetry::default()).unwrap();
    let state = PgssState::default();
    let request = |uid: &str, url: &str, query_type: &str, json: &str| pluginv2::QueryDataRequest {
        plugin_context: Some(support::plugin_context(instance(uid, url))),
        headers: HashMap::new(),
        queries: vec![pluginv2::DataQuery { query_type: query_type.into(), ..support::data_query("A", json, from * 1000, to * 1000) }],
    };
    // One query through the plugin: (time, answer bytes, rows or the error).
    let ask = |req: pluginv2::QueryDataRequest| {
        let mut data = data.clone();
        async move {
            let started = Instant::now();
            let answer = data.query_data(req).await.unwrap().into_inner();
            let elapsed = started.elapsed();
            let response = &answer.responses["A"];
            let bytes: usize = response.frames.iter().map(Vec::len).sum();
            (elapsed, bytes, if response.error.is_empty() { Ok(response.frames.len()) } else { Err(response.error.clone()) })
        }
    };
    let direct = |path: &'static str, form: Vec<(&'static str, String)>| {
        let (http, url) = (http.clone(), format!("{}/{path}", tsdb.url));
        async move {
            let started = Instant::now();
            let body = http.post(&url).form(&form).send().await.unwrap().bytes().await.unwrap();
            assert!(body.starts_with(br#"{"status":"success""#), "{}", String::from_utf8_lossy(&body[..body.len().min(300)]));
            (started.elapsed(), body.len())
        }
    };
    let proxy = CountingProxy::start(&tsdb.addr);

    println!("  pgssTopQueries on {:<8} plugin ms   topk alone ms   ratio (target <= {}x)   answer bytes   read from the TSDB", tsdb.name, tsdb.target);
    for (order, limit) in ORDERS {
        let json = format!(r#"{{"orderBy":"{order}","limit":{limit}}}"#);
        let plan = plan_top(&client, &state, json.as_bytes(), &span).await.unwrap_or_else(|e| panic!("{e:?}"));
        let topk = Ranking::new(&plan, &settings).top_expr(limit).expect("the order has a value");
        let form = vec![("query", topk), ("time", to.to_string())];
        let (_, bytes, outcome) = ask(request("fleet", &tsdb.url, "pgssTopQueries", &json)).await;
        if let Err(error) = outcome {
            println!("  {order:<19} top {limit:<4} failed: {error}");
            continue;
        }
        direct("api/v1/query", form.clone()).await;
        let before = proxy.received();
        let _ = ask(request("fleet-counted", &proxy.url(), "pgssTopQueries", &json)).await;
        let read = proxy.received() - before;
        let (mut plugin_times, mut direct_times) = (Vec::new(), Vec::new());
        for _ in 0..runs() {
            plugin_times.push(ask(request("fleet", &tsdb.url, "pgssTopQueries", &json)).await.0);
            direct_times.push(direct("api/v1/query", form.clone()).await.0);
        }
        let (plugin_p50, direct_p50) = (p50(plugin_times), p50(direct_times));
        let ratio = ms(plugin_p50) / ms(direct_p50);
        let verdict = if ratio <= tsdb.target { "met" } else { "NOT met" };
        println!("  {order:<19} top {limit:<4} {:9.1}   {:13.1}   {ratio:5.2}x {verdict:<17}   {bytes:12}   {read:10}", ms(plugin_p50), ms(direct_p50));
        if std::env::var_os("PGSCOPE_BENCH_PROFILE").is_some() && tsdb.name == "VictoriaMetrics" {
            // Where the time goes in the TSDB: VictoriaMetrics' own query stats over a few
            // runs of this query alone.
            let started = Instant::now();
            for _ in 0..5 {
                let _ = ask(request("fleet", &tsdb.url, "pgssTopQueries", &json)).await;
            }
            let lifetime = started.elapsed().as_secs() + 1;
            let url = format!("{}/api/v1/status/top_queries?topN=40&maxLifetime={lifetime}s", tsdb.url);
            let stats: serde_json::Value = http.get(&url).send().await.unwrap().json().await.unwrap();
            println!("    VictoriaMetrics' sum of query time over 5 runs:");
            for line in support::vm_query_time_lines(&stats, 150) {
                println!("    {line}");
            }
        }
    }

    // The reference (ranked in the plugin), once, in this process: its answer grows with the fleet.
    let started = Instant::now();
    let json = br#"{"orderBy":"exec_time","limit":20}"#;
    let before = proxy.received();
    let counted = PromClient::new(Settings::from_instance(Some(&instance("fleet-counted", &proxy.url()))).unwrap(), Telemetry::default()).unwrap();
    let reference = pgscope::pgss::top_queries_in_plugin(&counted, &state, json, span).await;
    let read = proxy.received() - before;
    match reference {
        Ok(_) => println!("  ranked in the plugin (the reference), top 20 by time: {:.1} ms, {read} bytes read from the TSDB", ms(started.elapsed())),
        Err(e) => println!("  ranked in the plugin (the reference), top 20 by time: fails after {:.1} ms, {read} bytes read: {}", ms(started.elapsed()), e.message),
    }

    // pgssQuery on the busiest statement versus its sub-queries fetched directly at once.
    let queryid = Fleet::queryid(0);
    let json = format!(r#"{{"queryid":"{queryid}"}}"#);
    let step = 15;
    let subqueries: Vec<Vec<(&'static str, String)>> = POSTGRES_EXPORTER
        .sources
        .iter()
        .map(|s| vec![("query", format!("sum(rate({}{{queryid=\"{queryid}\"}}[1m0s]))", s.metric)), ("start", from.to_string()), ("end", to.to_string()), ("step", step.to_string())])
        .collect();
    let (_, bytes, outcome) = ask(request("fleet", &tsdb.url, "pgssQuery", &json)).await;
    match outcome {
        Err(error) => println!("  pgssQuery failed: {error}"),
        Ok(frames) => {
            let (mut plugin_times, mut direct_times) = (Vec::new(), Vec::new());
            for _ in 0..runs() {
                plugin_times.push(ask(request("fleet", &tsdb.url, "pgssQuery", &json)).await.0);
                let started = Instant::now();
                futures_util::future::join_all(subqueries.iter().map(|form| direct("api/v1/query_range", form.clone()))).await;
                direct_times.push(started.elapsed());
            }
            let (plugin_p50, direct_p50) = (p50(plugin_times), p50(direct_times));
            println!(
                "  pgssQuery (one statement, {frames} frames): plugin {:.1} ms, its {} range queries fetched directly at once {:.1} ms, ratio {:.2}x, answer {bytes} bytes",
                ms(plugin_p50),
                subqueries.len(),
                ms(direct_p50),
                ms(plugin_p50) / ms(direct_p50)
            );
        }
    }
    let rss = peak_rss_mb(plugin.pid());
    println!("  plugin peak RSS during the run: {rss:.1} MB (target <= 256 MB: {})", if rss <= 256.0 { "met" } else { "NOT met" });
}

/// A stack source that times every ask and keeps its answer's size.
struct Timed<'a> {
    inner: &'a PromClient,
    asks: std::sync::Mutex<Vec<(String, Duration, usize)>>,
}

impl Source for Timed<'_> {
    async fn ask(&self, ask: &Ask, span: StackSpan) -> Option<Vec<u8>> {
        let started = Instant::now();
        let body = self.inner.ask(ask, span).await;
        self.asks.lock().unwrap().push((ask.key(), started.elapsed(), body.as_ref().map_or(0, Vec::len)));
        body
    }
}

/// `pgscope stack` of this build or of another (the stack checks as Save & test gathers them,
/// plus the sparklines' history): (time, requests, answer bytes, its summary line).
fn stack_cli(binary: &str, api: &TargetsApi) -> (Duration, u64, u64, String) {
    let (requests, bytes) = (api.requests(), api.bytes());
    let started = Instant::now();
    let output = std::process::Command::new(binary).args(["stack", "--tsdb", &api.url(), "--scrape-interval", "15s"]).output().expect("the pgscope CLI runs");
    let elapsed = started.elapsed();
    let summary = String::from_utf8_lossy(&output.stdout).lines().next().unwrap_or_default().to_string();
    (elapsed, api.requests() - requests, api.bytes() - bytes, summary)
}

/// Save & test against a VictoriaMetrics that also holds 1,000 scrape targets' series (an hour,
/// 15 s apart), behind a targets API listing them (tests/support/scrape_targets.rs), with the
/// fleet live: its calls and info series get five more points ending a minute ago (a 100,000
/// statements import takes minutes, and a fleet whose newest sample is older than the lookback
/// is a dead exporter, another path). Prints where the stack gathering's time goes (each
/// request, timed while all run at once), the stack checks of this build against a baseline
/// build's (`PGSCOPE_BASELINE_CLI`: the `pgscope` binary of the commit to compare with) and the
/// whole Save & test with its requests, against a baseline plugin's (`PGSCOPE_BASELINE_PLUGIN`:
/// its `gpx_pgscope`) in the same run.
async fn health(vm: &support::VictoriaMetrics, fleet: &Fleet) {
    let end = support::now_s() / 15 * 15 - 60;
    let calls_and_names: &'static pgscope::pgss::catalog::SchemaDef = Box::leak(Box::new(pgscope::pgss::catalog::SchemaDef { sources: &fleet.schema.sources[..1], ..*fleet.schema }));
    Fleet { schema: calls_and_names, points: 5, end_s: end, ..*fleet }.import_vm(&vm.addr);
    let targets = ScrapeTargets::new(1000, end);
    targets.import_vm(&vm.addr);
    let api = TargetsApi::start(&vm.addr, targets.targets_api());
    let settings = Settings::from_instance(Some(&instance("health", &api.url()))).unwrap();
    let client = PromClient::new(settings.clone(), Telemetry::default()).unwrap();
    let rules = StackRules::from(&settings);
    let at = support::now_s() as f64;
    let timed = Timed { inner: &client, asks: Default::default() };
    let started = Instant::now();
    let observations = stack::gather_within(&timed, &rules, at, at - rules.window.as_secs_f64(), stack::GATHER_DEADLINE, Detail::Checks).await;
    let gathered = started.elapsed();
    let checks = stack::evaluate(&observations, &rules);
    let mut asks = timed.asks.into_inner().unwrap();
    asks.sort_by_key(|a| std::cmp::Reverse(a.1));
    println!(
        "  Save & test's stack checks with {} targets (first, cold): {:.1} ms, {} requests, {} bytes, {} checks; the slowest requests:",
        targets.targets,
        ms(gathered),
        asks.len(),
        asks.iter().map(|a| a.2).sum::<usize>(),
        checks.len()
    );
    for (key, took, size) in asks.iter().take(8) {
        println!("    {:9.1} ms {size:10} bytes  {}", ms(*took), key.chars().take(100).collect::<String>());
    }

    let mut builds = vec![("this build", env!("CARGO_BIN_EXE_pgscope").to_string())];
    builds.extend(std::env::var("PGSCOPE_BASELINE_CLI").ok().map(|path| ("baseline", path)));
    let mut medians = Vec::new();
    for (name, binary) in &builds {
        let (_, requests, bytes, summary) = stack_cli(binary, &api);
        let times: Vec<Duration> = (0..runs()).map(|_| stack_cli(binary, &api).0).collect();
        let p = p50(times);
        medians.push(p);
        println!("  pgscope stack, {name}: {:.1} ms, {requests} requests, {bytes} bytes read; {}", ms(p), summary.chars().take(140).collect::<String>());
    }
    if let [now, before] = medians[..] {
        println!("  pgscope stack, this build / baseline: {:.2}x", ms(now) / ms(before));
    }

    let mut plugins = vec![("this build", support::plugin_binary())];
    plugins.extend(std::env::var("PGSCOPE_BASELINE_PLUGIN").ok().map(|path| ("baseline", path.into())));
    let check = || pluginv2::CheckHealthRequest { plugin_context: Some(support::plugin_context(instance("health", &api.url()))), headers: Default::default() };
    // Each build's first (cold) Save & test with its requests, then the runs alternated between
    // the builds: the TSDB's caches warm and the machine's load moves during the run, and one
    // build's runs all after the other's would carry that into the ratio.
    let mut started = Vec::new();
    for (name, binary) in &plugins {
        let plugin = support::PluginProcess::start_binary(binary, "info");
        let mut diagnostics = DiagnosticsClient::connect(plugin.endpoint()).await.unwrap();
        let (requests, bytes) = (api.requests(), api.bytes());
        let first = diagnostics.check_health(check()).await.unwrap().into_inner();
        let (requests, bytes) = (api.requests() - requests, api.bytes() - bytes);
        started.push((name, plugin, diagnostics, first, requests, bytes, Vec::new()));
    }
    for _ in 0..runs() {
        for (_, _, diagnostics, _, _, _, times) in started.iter_mut() {
            let began = Instant::now();
            diagnostics.check_health(check()).await.unwrap();
            times.push(began.elapsed());
        }
    }
    let mut medians = Vec::new();
    for (name, _plugin, _, first, requests, bytes, times) in started {
        let p = p50(times);
        medians.push(p);
        println!(
            "  Save & test with 1,000 scrape targets (and the fleet), {name}: {:.1} ms (target <= 2 s: {}), {requests} requests, {bytes} bytes read from the TSDB, status {}, {} bytes of details",
            ms(p),
            if p <= Duration::from_secs(2) { "met" } else { "NOT met" },
            first.status,
            first.json_details.len()
        );
    }
    if let [now, before] = medians[..] {
        println!("  Save & test, this build / baseline: {:.2}x", ms(now) / ms(before));
    }
}
