//! When Grafana cancels a query (the dashboard is closed, the user refreshes), the plugin stops
//! the work: its request to the TSDB is dropped at once, not left running until the TSDB answers
//! or the query timeout (60 s) ends it.

mod support;

use std::io::Read;
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use pgscope::pluginv2::{self, data_client::DataClient};
use support::PluginProcess;

/// A TSDB that reads a request and never answers; reports how long the caller kept the
/// connection open.
fn silent_tsdb() -> (String, mpsc::Receiver<Duration>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        if let Ok((mut stream, _)) = listener.accept() {
            let accepted = Instant::now();
            stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
            let mut buf = [0u8; 4096];
            // Read the request, then wait for the caller to hang up (read returns 0).
            while let Ok(n) = stream.read(&mut buf) {
                if n == 0 {
                    break;
                }
            }
            let _ = sender.send(accepted.elapsed());
        }
    });
    (addr, receiver)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_query_drops_its_tsdb_request() {
    let (addr, hung_up) = silent_tsdb();
    let plugin = PluginProcess::start();
    let mut data = DataClient::connect(plugin.endpoint()).await.unwrap();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64;
    let request = pluginv2::QueryDataRequest {
        plugin_context: Some(pluginv2::PluginContext {
            data_source_instance_settings: Some(pluginv2::DataSourceInstanceSettings {
                uid: "cancel".into(),
                url: format!("http://{addr}"),
                last_updated_ms: 1,
                ..Default::default()
            }),
            ..Default::default()
        }),
        headers: Default::default(),
        queries: vec![support::data_query("A", r#"{"expr":"up"}"#, now - 60_000, now)],
    };
    // Grafana gives up after 500 ms: the call is dropped, which resets the gRPC stream.
    let outcome = tokio::time::timeout(Duration::from_millis(500), data.query_data(request)).await;
    assert!(outcome.is_err(), "the silent TSDB cannot have answered");
    let held = tokio::task::spawn_blocking(move || hung_up.recv_timeout(Duration::from_secs(20))).await.unwrap().expect("the plugin kept the TSDB request open");
    assert!(held < Duration::from_secs(5), "the TSDB connection stayed open {held:?} after a 500 ms cancel");
}
