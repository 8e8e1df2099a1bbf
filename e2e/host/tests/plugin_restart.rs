//! The plugin process killed while queries are in flight (issue 17): the stand-in starts it
//! again as Grafana's process manager does; the queries in flight fail at once with a clear
//! error instead of hanging, and the next queries reach the new process.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use pgscope::pluginv2;
use pgscope_e2e_host::backend;

fn plugin_binary() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    [std::env::var_os("PGSCOPE_PLUGIN_BINARY").map(PathBuf::from), Some(root.join("target/debug/gpx_pgscope"))]
        .into_iter()
        .flatten()
        .find(|p| p.is_file())
        .expect("no gpx_pgscope binary: run `cargo build -p pgscope-backend` first")
}

fn request(tsdb: &str) -> pluginv2::QueryDataRequest {
    let settings = pluginv2::DataSourceInstanceSettings {
        id: 1,
        uid: "restart".into(),
        url: tsdb.into(),
        json_data: br#"{"queryTimeout":"60s"}"#.to_vec(),
        last_updated_ms: 1,
        ..Default::default()
    };
    pluginv2::QueryDataRequest {
        plugin_context: Some(pluginv2::PluginContext {
            org_id: 1,
            plugin_id: "pgscope-datasource".into(),
            data_source_instance_settings: Some(settings),
            ..Default::default()
        }),
        headers: Default::default(),
        queries: vec![pluginv2::DataQuery {
            ref_id: "A".into(),
            max_data_points: 100,
            interval_ms: 15_000,
            time_range: Some(pluginv2::TimeRange { from_epoch_ms: 1_699_999_000_000, to_epoch_ms: 1_700_000_000_000 }),
            json: br#"{"expr":"up","instant":true}"#.to_vec(),
            query_type: "promql".into(),
        }],
    }
}

async fn wait_for(what: &str, mut ready: impl FnMut() -> bool) {
    let started = Instant::now();
    while !ready() {
        assert!(started.elapsed() < Duration::from_secs(30), "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_plugin_fails_its_queries_in_flight_and_is_started_again() {
    let backend = backend::start("pgscope-datasource", "0.0.0-test", &plugin_binary()).await.unwrap();
    // A TSDB that accepts and never answers: the queries wait on it (timeout 60 s) until the
    // plugin dies under them.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let tsdb = format!("http://{}", silent.local_addr().unwrap());
    let in_flight: Vec<_> = (0..3)
        .map(|_| {
            let mut data = backend.clients().data;
            let request = request(&tsdb);
            tokio::spawn(async move { data.query_data(request).await })
        })
        .collect();
    // Until each query has reached the TSDB (the plugin holds them all).
    let mut held = Vec::new();
    silent.set_nonblocking(true).unwrap();
    wait_for("the three queries at the TSDB", || {
        while let Ok((stream, _)) = silent.accept() {
            held.push(stream);
        }
        held.len() >= 3
    })
    .await;
    let first = backend.pid();
    assert_ne!(first, 0);
    let killed = Instant::now();
    assert!(std::process::Command::new("kill").args(["-9", &first.to_string()]).status().unwrap().success());
    for query in in_flight {
        let outcome = tokio::time::timeout(Duration::from_secs(20), query).await.expect("a query in flight hung after the kill").unwrap();
        let status = outcome.expect_err("a query answered by a killed process");
        println!("in flight: {:?}: {}", status.code(), status.message());
        assert!(matches!(status.code(), tonic::Code::Unavailable | tonic::Code::Unknown | tonic::Code::Internal | tonic::Code::Cancelled), "{status:?}");
    }
    println!("in-flight queries failed {:?} after the kill", killed.elapsed());
    wait_for("the plugin to be started again", || backend.restarts() == 1).await;
    println!("restarted {:?} after the kill (pid {first} -> {})", killed.elapsed(), backend.pid());
    assert_ne!(backend.pid(), first);
    // The next query reaches the new process (a TSDB that is down: a clean per-query error).
    let down = format!("http://127.0.0.1:{}", TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port());
    let answer = backend.clients().data.query_data(request(&down)).await.expect("the restarted plugin answers").into_inner();
    let response = &answer.responses["A"];
    assert!(response.status >= 500 && !response.error.is_empty(), "{response:?}");
    assert_eq!(backend.restarts(), 1, "restarted once, not in a loop");
}
