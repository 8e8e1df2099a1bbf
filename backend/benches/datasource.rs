//! `make bench`, datasource part (issue 5), measured in one run against a real VictoriaMetrics
//! on 127.0.0.1: QueryData through the plugin's gRPC versus a direct HTTP fetch of the same
//! query, for a small (20 series x 240 points) and a large (2,000 x 240) answer; and our
//! JSON-to-frames conversion versus a bare JSON parse of the same body. Targets: at most 1.25x
//! on the large answer, at most +3 ms on the small one, conversion at most 1.5x the bare parse.
//! Prints figures; asserts nothing about time.

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::HashMap;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use pgscope::pluginv2::{self, data_client::DataClient};
use pgscope::prom::convert::convert;

const POINTS: i64 = 240;
const STEP_MS: i64 = 15_000;

use support::{ms, p50};

fn dataset(metric: &str, series: usize, end_ms: i64) -> String {
    let mut out = String::new();
    for s in 0..series {
        for i in 0..POINTS {
            let t = end_ms - (POINTS - 1 - i) * STEP_MS;
            out.push_str(&format!("{metric}{{datname=\"db{}\",queryid=\"{s}\"}} {} {t}\n", s % 3, (s as i64 + 1) * i));
        }
    }
    out
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let vm = support::VictoriaMetrics::start();
    let end_ms = (SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64 - 10_000) / STEP_MS * STEP_MS;
    let mut lines = dataset("bench_small", 20, end_ms);
    lines.push_str(&dataset("bench_large", 2000, end_ms));
    vm.import(&lines, 2020);
    let plugin = support::PluginProcess::start();
    let start_ms = end_ms - (POINTS - 1) * STEP_MS;

    runtime.block_on(async {
        let http = reqwest::Client::new();
        // Like grpc-go in Grafana (BDP-based flow control), not tonic's fixed 64 KiB windows.
        let channel = tonic::transport::Endpoint::from_shared(plugin.endpoint()).unwrap().http2_adaptive_window(true).connect().await.unwrap();
        let mut data = DataClient::new(channel).max_decoding_message_size(1 << 30);
        for (label, metric, runs) in [("small (20 x 240)", "bench_small", 60), ("large (2,000 x 240)", "bench_large", 30)] {
            let form = [
                ("query", metric.to_string()),
                ("start", format!("{}", start_ms / 1000)),
                ("end", format!("{}", end_ms / 1000)),
                ("step", "15".to_string()),
            ];
            let url = format!("{}/api/v1/query_range", vm.url());
            let fetch = || async {
                let started = Instant::now();
                let body = http.post(&url).form(&form).send().await.unwrap().bytes().await.unwrap();
                (started.elapsed(), body)
            };
            let query = || pluginv2::QueryDataRequest {
                plugin_context: Some(pluginv2::PluginContext {
                    org_id: 1,
                    plugin_id: "pgscope-datasource".into(),
                    data_source_instance_settings: Some(pluginv2::DataSourceInstanceSettings {
                        id: 1,
                        uid: "bench".into(),
                        url: vm.url(),
                        json_data: br#"{"timeInterval":"15s","maxResponseMb":512}"#.to_vec(),
                        last_updated_ms: 1,
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                headers: HashMap::new(),
                queries: vec![pluginv2::DataQuery {
                    max_data_points: POINTS,
                    interval_ms: STEP_MS,
                    ..support::data_query("A", &format!("{{\"expr\":\"{metric}\"}}"), start_ms, end_ms)
                }],
            };
            // Warm both paths (connections, caches), and check they return the same series.
            let (_, body) = fetch().await;
            let answer = data.query_data(query()).await.unwrap().into_inner();
            let frames = answer.responses["A"].frames.len();
            let series = serde_json::from_slice::<serde_json::Value>(&body).unwrap()["data"]["result"].as_array().unwrap().len();
            assert_eq!(frames, series, "{label}: the plugin returned {frames} frames for {series} series");

            let (mut direct, mut grpc, mut conversion, mut bare) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            for _ in 0..runs {
                let (elapsed, body) = fetch().await;
                direct.push(elapsed);
                let started = Instant::now();
                std::hint::black_box(data.query_data(query()).await.unwrap());
                grpc.push(started.elapsed());
                let started = Instant::now();
                std::hint::black_box(convert(&body).unwrap());
                conversion.push(started.elapsed());
                let started = Instant::now();
                std::hint::black_box(serde_json::from_slice::<serde_json::Value>(&body).unwrap());
                bare.push(started.elapsed());
            }
            let (direct, grpc, conversion, bare) = (p50(direct), p50(grpc), p50(conversion), p50(bare));
            println!(
                "{label}, {} KB of JSON: QueryData via gRPC p50 {:.2} ms vs direct HTTP {:.2} ms = {:.2}x (+{:.2} ms); \
                 JSON->frames {:.2} ms vs bare JSON parse {:.2} ms = {:.2}x",
                body_len_kb(&fetch().await.1),
                ms(grpc),
                ms(direct),
                grpc.as_secs_f64() / direct.as_secs_f64(),
                ms(grpc) - ms(direct),
                ms(conversion),
                ms(bare),
                conversion.as_secs_f64() / bare.as_secs_f64()
            );
        }
    });
    println!("targets: large <= 1.25x, small <= +3 ms, conversion <= 1.5x the bare parse");
}

fn body_len_kb(body: &[u8]) -> usize {
    body.len() / 1024
}
