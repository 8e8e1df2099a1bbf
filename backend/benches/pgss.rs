//! `make bench`, pgss part (issue 6), measured in one run against a real VictoriaMetrics on
//! 127.0.0.1 holding synthetic postgres_exporter pgss series (all 15 measures, an info metric):
//! `pgssTopQueries` through the plugin's gRPC versus the slowest of its own PromQL sub-queries
//! (the very expressions the backend plans, `pgss::plan_top`: every measure's increase in
//! one query, the names, the sparklines of the rows shown) fetched directly over HTTP.
//! Target: at most 1.3x. And the comparison (issue 20): `pgssTopQueries` with `compareTo`
//! (the previous 10 minutes, ordered by the rise of time per call) against the same query
//! without it, alternated in one run; target at most 1.5x. Prints figures; asserts nothing
//! about time.

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use pgscope::pluginv2::{self, data_client::DataClient};
use pgscope::pgss::POSTGRES_EXPORTER;
use pgscope::pgss::{plan_top, PgssState, Span};
use pgscope::prom::client::PromClient;
use pgscope::settings::Settings;
use pgscope::telemetry::Telemetry;

const STATEMENTS: usize = 400;
const STEP_S: i64 = 15;
const POINTS: i64 = 81; // 20 minutes
const RUNS: usize = 25;

use support::{ms, p50};

/// Counters for every measure of `STATEMENTS` statements in two databases, and their names.
/// In the last 10 minutes each statement's execution time per call changes by its own factor
/// between -30 % and +30 % (a permutation of the statements: no two changes tie), as after a
/// deploy; without it every change would be exactly 0 and the comparison would rank a 400-way
/// tie, which real workloads do not have.
fn dataset(end_s: i64) -> (String, usize) {
    let mut out = String::with_capacity(80 << 20);
    let split = end_s - 600;
    for s in 0..STATEMENTS {
        let labels = format!("datname=\"db{}\",user=\"app\",queryid=\"{}\",instance=\"pg1:9187\"", s % 2, 1_000_000 + s);
        let factor = 1.0 + ((s * 37) % STATEMENTS) as f64 / STATEMENTS as f64 * 0.6 - 0.3;
        for (m, source) in POSTGRES_EXPORTER.sources.iter().enumerate() {
            let rate = ((s % 17) + m + 1) as f64 * 0.37;
            let changes = source.measure == pgscope::pgss::Measure::ExecTime;
            for i in 0..POINTS {
                let t = end_s - (POINTS - 1 - i) * STEP_S;
                let value = if changes && t > split { rate * (split - (end_s - (POINTS - 1) * STEP_S)) as f64 + rate * factor * (t - split) as f64 } else { rate * (i * STEP_S) as f64 };
                out.push_str(&format!("{}{{{labels}}} {} {}\n", source.metric, value, t * 1000));
            }
        }
        for i in 0..POINTS {
            let t = end_s - (POINTS - 1 - i) * STEP_S;
            out.push_str(&format!("pgss_query_info{{datname=\"db{}\",queryid=\"{}\",displayname=\"statement {s}\"}} 1 {}\n", s % 2, 1_000_000 + s, t * 1000));
        }
    }
    (out, STATEMENTS * (POSTGRES_EXPORTER.sources.len() + 1))
}

fn instance(url: &str) -> pluginv2::DataSourceInstanceSettings {
    support::instance("bench-pgss", url, r#"{"timeInterval":"15s"}"#)
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let vm = support::VictoriaMetrics::start();
    let end_s = (SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64 - 10) / STEP_S * STEP_S;
    let (lines, series) = dataset(end_s);
    vm.import(&lines, series);
    drop(lines);
    let plugin = support::PluginProcess::start();
    let (from_s, to_s) = (end_s - 15 * 60, end_s);
    let json = r#"{"orderBy":"exec_time","limit":20}"#;

    runtime.block_on(async {
        let http = reqwest::Client::new();
        let channel = tonic::transport::Endpoint::from_shared(plugin.endpoint()).unwrap().http2_adaptive_window(true).connect().await.unwrap();
        let mut data = DataClient::new(channel).max_decoding_message_size(1 << 30);
        let query = || pluginv2::QueryDataRequest {
            plugin_context: Some(support::plugin_context(instance(&vm.url()))),
            headers: HashMap::new(),
            queries: vec![pluginv2::DataQuery {
                query_type: "pgssTopQueries".into(),
                max_data_points: 300,
                ..support::data_query("A", json, from_s * 1000, to_s * 1000)
            }],
        };

        // The sub-queries, exactly as the backend plans them for this query.
        let client = PromClient::new(Settings::from_instance(Some(&instance(&vm.url()))).unwrap(), Telemetry::default()).unwrap();
        let state = PgssState::default();
        let span = Span { from: from_s as f64, to: to_s as f64, interval_ms: 15_000, max_points: 300 };
        let plan = plan_top(&client, &state, json.as_bytes(), &span).await.unwrap_or_else(|e| panic!("{e:?}"));
        // On VictoriaMetrics every measure's increase goes in one query (`keep_metric_names`).
        let mut fetches: Vec<(String, Vec<(&str, String)>, &str)> =
            vec![(format!("increase of all {} measures", plan.measures.len()), vec![("query", plan.combined.clone()), ("time", to_s.to_string())], "api/v1/query")];
        fetches.push(("names (info)".into(), vec![("query", plan.info.clone()), ("time", to_s.to_string())], "api/v1/query"));
        // The sparklines are asked for the statements shown: take them from an answer.
        let frames = pgscope::pgss::top_queries(&client, &state, json.as_bytes(), span).await.unwrap_or_else(|e| panic!("{e:?}"));
        let shown: Vec<&str> = match frames[0].fields.iter().find(|f| f.name == "queryid").map(|f| &f.values) {
            Some(pgscope::frame::Values::String(ids)) => ids.iter().map(String::as_str).collect(),
            _ => panic!("no queryid column"),
        };
        if let Some(expr) = plan.spark_expr(&shown, Duration::from_secs(15)) {
            let step = plan.step.as_secs().to_string();
            fetches.push(("sparklines (range)".into(), vec![("query", expr.clone()), ("start", from_s.to_string()), ("end", to_s.to_string()), ("step", step)], "api/v1/query_range"));
        }
        let fetch = |path: &'static str, form: Vec<(&'static str, String)>| {
            let url = format!("{}/{path}", vm.url());
            let http = http.clone();
            async move {
                let started = Instant::now();
                let body = http.post(&url).form(&form).send().await.unwrap().bytes().await.unwrap();
                assert!(body.starts_with(br#"{"status":"success""#), "{}", String::from_utf8_lossy(&body[..body.len().min(300)]));
                started.elapsed()
            }
        };

        // Warm both paths, and check the plugin answers the statements.
        let answer = data.query_data(query()).await.unwrap().into_inner();
        let response = &answer.responses["A"];
        assert!(response.error.is_empty(), "{}", response.error);
        assert_eq!(response.frames.len(), 21, "a table and 20 sparklines");
        for (_, form, path) in &fetches {
            fetch(path, form.clone()).await;
        }

        let mut plugin_times = Vec::new();
        let mut direct: Vec<Vec<Duration>> = vec![Vec::new(); fetches.len()];
        for _ in 0..RUNS {
            let started = Instant::now();
            std::hint::black_box(data.query_data(query()).await.unwrap());
            plugin_times.push(started.elapsed());
            for (i, (_, form, path)) in fetches.iter().enumerate() {
                direct[i].push(fetch(path, form.clone()).await);
            }
        }
        let plugin_p50 = p50(plugin_times);
        let per_fetch: Vec<(String, Duration)> = fetches.iter().zip(direct).map(|((name, _, _), times)| (name.clone(), p50(times))).collect();
        let (slowest_name, slowest) = per_fetch.iter().max_by_key(|(_, d)| *d).cloned().unwrap();
        let sequential: Duration = per_fetch.iter().map(|(_, d)| *d).sum();
        println!(
            "pgssTopQueries ({STATEMENTS} statements x 15 measures, 15 min range, top 20 + sparklines; {} sub-queries), p50 of {RUNS} runs:",
            per_fetch.len()
        );
        println!("  through the plugin (gRPC)        {:8.1} ms", ms(plugin_p50));
        println!("  slowest sub-query fetched alone  {:8.1} ms  ({slowest_name})", ms(slowest));
        println!("  all sub-queries one after another{:8.1} ms", ms(sequential));
        println!("  ratio plugin / slowest sub-query {:8.2}x  (target <= 1.3x: {})", ms(plugin_p50) / ms(slowest), if ms(plugin_p50) <= 1.3 * ms(slowest) { "met" } else { "NOT met" });

        // The comparison: the last 10 minutes against the 10 before, both inside the data.
        let ask = |json: &'static str| pluginv2::QueryDataRequest {
            plugin_context: Some(support::plugin_context(instance(&vm.url()))),
            headers: HashMap::new(),
            queries: vec![pluginv2::DataQuery { query_type: "pgssTopQueries".into(), max_data_points: 300, ..support::data_query("A", json, (to_s - 600) * 1000, to_s * 1000) }],
        };
        let plain = r#"{"orderBy":"exec_time","limit":20}"#;
        let variants = [
            ("ordered by time, compared (then for the rows shown)", r#"{"orderBy":"exec_time","limit":20,"compareTo":"previous"}"#),
            ("ordered by the rise of time per call", r#"{"orderBy":"exec_time_per_call_change_pct","limit":20,"compareTo":"previous"}"#),
        ];
        for json in std::iter::once(plain).chain(variants.iter().map(|v| v.1)) {
            let answer = data.query_data(ask(json)).await.unwrap().into_inner();
            assert!(answer.responses["A"].error.is_empty(), "{json}: {}", answer.responses["A"].error);
        }
        let mut times: Vec<Vec<Duration>> = vec![Vec::new(); 1 + variants.len()];
        for _ in 0..RUNS {
            for (i, json) in std::iter::once(plain).chain(variants.iter().map(|v| v.1)).enumerate() {
                let started = Instant::now();
                std::hint::black_box(data.query_data(ask(json)).await.unwrap());
                times[i].push(started.elapsed());
            }
        }
        let p50s: Vec<Duration> = times.into_iter().map(p50).collect();
        if std::env::var_os("PGSCOPE_BENCH_PROFILE").is_some() {
            // Where each variant's time goes in the TSDB: VictoriaMetrics' own query stats
            // (`/api/v1/status/top_queries`) over a few runs of that variant alone.
            for json in std::iter::once(plain).chain(variants.iter().map(|v| v.1)) {
                let started = Instant::now();
                for _ in 0..10 {
                    data.query_data(ask(json)).await.unwrap();
                }
                let lifetime = started.elapsed().as_secs() + 1;
                let url = format!("{}/api/v1/status/top_queries?topN=40&maxLifetime={lifetime}s", vm.url());
                let stats: serde_json::Value = http.get(&url).send().await.unwrap().json().await.unwrap();
                println!("VictoriaMetrics' sum of query time over 10 runs of {json}:");
                for line in support::vm_query_time_lines(&stats, 160) {
                    println!("  {line}");
                }
            }
        }
        // The TSDB's own floor: the one query a comparison ordered by change cannot do
        // without (the topk of the change, both windows of every statement) against the plain
        // table's topk, as the plugin sent them (from VictoriaMetrics' query stats), fetched
        // directly and alternated.
        let stats: serde_json::Value = http.get(format!("{}/api/v1/status/top_queries?topN=1000", vm.url())).send().await.unwrap().json().await.unwrap();
        let sent: Vec<String> = stats["topByCount"].as_array().into_iter().flatten().filter_map(|q| q["query"].as_str().map(String::from)).collect();
        let plain_topk = sent.iter().find(|q| q.starts_with("topk(21, sum by"));
        let change_topk = sent.iter().find(|q| q.starts_with("topk(21, (") && q.contains("offset"));
        let floor = match (plain_topk, change_topk) {
            (Some(plain_topk), Some(change_topk)) => {
                let (mut a, mut b) = (Vec::new(), Vec::new());
                for _ in 0..RUNS {
                    a.push(fetch("api/v1/query", vec![("query", plain_topk.clone()), ("time", to_s.to_string())]).await);
                    b.push(fetch("api/v1/query", vec![("query", change_topk.clone()), ("time", to_s.to_string())]).await);
                }
                Some((p50(a), p50(b)))
            }
            _ => None,
        };
        println!("pgssTopQueries compared with the previous 10 min ({STATEMENTS} statements, top 20), p50 of {RUNS} runs, alternated:");
        println!("  without compareTo (ordered by time)                    {:8.1} ms", ms(p50s[0]));
        for ((name, _), p) in variants.iter().zip(&p50s[1..]) {
            let ratio = ms(*p) / ms(p50s[0]);
            println!("  {name:<54} {:8.1} ms  {ratio:5.2}x  (target <= 1.5x: {})", ms(*p), if ratio <= 1.5 { "met" } else { "NOT met" });
        }
        match floor {
            Some((plain_topk, change_topk)) => println!(
                "  the TSDB alone: topk by time {:.1} ms, topk by the change of time per call {:.1} ms: {:.2}x for that one query",
                ms(plain_topk),
                ms(change_topk),
                ms(change_topk) / ms(plain_topk)
            ),
            None => println!("  the TSDB alone: the topk queries were not found in VictoriaMetrics' query stats"),
        }
    });
}
