//! Issue 18 item 6, through the real `gpx_pgscope` process over gRPC: every failed data
//! response carries `errorSource` (DataResponse field 5 of Grafana's protocol) -- `downstream`
//! when the TSDB fails or answers with its own error, `plugin` for a query or setting pgscope
//! cannot use -- and a successful one carries none. Also the one grafanaConfig key pgscope reads,
//! GF_CONCURRENT_QUERY_COUNT: a request's queries never run more at once than it says.

mod support;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use pgscope::pluginv2::{self, data_client::DataClient};
use support::{data_query, instance, plugin_context, FakeServer, FaultyTsdb, Fault, PluginProcess};

const NOW_MS: i64 = 1_700_000_000_000;

async fn query(plugin: &PluginProcess, url: &str, queries: Vec<pluginv2::DataQuery>) -> HashMap<String, pluginv2::DataResponse> {
    let mut client = DataClient::connect(plugin.endpoint()).await.unwrap();
    let request = pluginv2::QueryDataRequest {
        // One datasource per URL: the plugin keeps an instance per uid until its settings change.
        plugin_context: Some(plugin_context(instance(&format!("ds-{url}"), url, r#"{"timeInterval":"15s","queryTimeout":"5s"}"#))),
        headers: HashMap::new(),
        queries,
    };
    client.query_data(request).await.unwrap().into_inner().responses
}

fn instant(ref_id: &str, expr: &str) -> pluginv2::DataQuery {
    let json = serde_json::json!({ "refId": ref_id, "expr": expr, "instant": true, "range": false }).to_string();
    data_query(ref_id, &json, NOW_MS - 300_000, NOW_MS)
}

/// A Prometheus API error answer.
fn prom_error(status: &str, error_type: &str, error: &str) -> Vec<u8> {
    let body = serde_json::json!({ "status": "error", "errorType": error_type, "error": error }).to_string();
    format!("HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()).into_bytes()
}

#[track_caller]
fn assert_failed(responses: &HashMap<String, pluginv2::DataResponse>, ref_id: &str, source: &str) {
    let response = &responses[ref_id];
    assert!(!response.error.is_empty(), "{ref_id}: no error: {response:?}");
    assert_eq!(response.error_source, source, "{ref_id}: {} (status {})", response.error, response.status);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_responses_say_who_failed() {
    let plugin = PluginProcess::start();

    // Nothing listens there: the TSDB is unreachable.
    let closed = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let responses = query(&plugin, &closed, vec![instant("A", "up")]).await;
    assert_failed(&responses, "A", "downstream");
    assert_eq!(responses["A"].status, 502);

    // The TSDB answers an HTML 500 (a proxy in front of it failing).
    let broken = FaultyTsdb::start(Fault::Html500);
    let responses = query(&plugin, &broken.url(), vec![instant("A", "up")]).await;
    assert_failed(&responses, "A", "downstream");

    // The TSDB says it is overloaded (its own 503 with a Prometheus error body).
    let overloaded = FakeServer::start_bytes(prom_error("503 Service Unavailable", "unavailable", "too many queries"));
    let responses = query(&plugin, &overloaded.url(), vec![instant("A", "up")]).await;
    assert_failed(&responses, "A", "downstream");

    // The TSDB refuses what was sent as malformed (400 bad_data): the SDK's table calls a 400
    // from downstream the plugin's.
    let refusing = FakeServer::start_bytes(prom_error("400 Bad Request", "bad_data", "parse error at char 3"));
    let responses = query(&plugin, &refusing.url(), vec![instant("A", "up")]).await;
    assert_failed(&responses, "A", "plugin");

    // A healthy TSDB, and in the same request queries pgscope itself cannot run.
    let healthy = FaultyTsdb::start(Fault::Healthy);
    let mut unknown_type = instant("C", "up");
    unknown_type.query_type = "noSuchType".into();
    let mut malformed = instant("D", "up");
    malformed.json = b"{not json".to_vec();
    let responses = query(&plugin, &healthy.url(), vec![instant("A", "up"), instant("B", ""), unknown_type, malformed]).await;
    let ok = &responses["A"];
    assert!(ok.error.is_empty() && ok.error_source.is_empty() && !ok.frames.is_empty(), "{ok:?}");
    for ref_id in ["B", "C", "D"] {
        assert_failed(&responses, ref_id, "plugin");
        assert_eq!(responses[ref_id].status, 400, "{ref_id}: {}", responses[ref_id].error);
    }

    // Bad datasource settings: nothing was sent anywhere, the plugin cannot use them.
    let responses = query(&plugin, "not a url", vec![instant("A", "up")]).await;
    assert_failed(&responses, "A", "plugin");
}

/// A TSDB that holds every answer for a while and records the most requests it held at once.
struct CountingTsdb {
    url: String,
    most: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl CountingTsdb {
    fn start(hold: Duration) -> CountingTsdb {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (now, most, stop) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)), Arc::new(AtomicBool::new(false)));
        let (most_seen, stopped) = (most.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stopped.load(Ordering::Relaxed) {
                let Ok((mut stream, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                };
                let (now, most) = (now.clone(), most_seen.clone());
                std::thread::spawn(move || {
                    stream.set_nonblocking(false).ok();
                    let mut buf = [0u8; 65536];
                    let _ = stream.read(&mut buf);
                    let open = now.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(open, Ordering::SeqCst);
                    // Holding the answer is what makes overlapping queries visible.
                    std::thread::sleep(hold);
                    now.fetch_sub(1, Ordering::SeqCst);
                    let body = r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#;
                    let _ = write!(stream, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
                });
            }
        });
        CountingTsdb { url, most, stop }
    }
}

impl Drop for CountingTsdb {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grafanas_concurrent_query_count_bounds_a_requests_queries() {
    let plugin = PluginProcess::start();
    let queries: Vec<_> = (0..6).map(|i| instant(&format!("Q{i}"), &format!("up{i}"))).collect();
    let run = |config: Option<&str>, url: String| {
        let queries = queries.clone();
        let endpoint = plugin.endpoint();
        let config = config.map(str::to_string);
        async move {
            let mut context = plugin_context(instance(&format!("ds-{url}"), &url, r#"{"timeInterval":"15s"}"#));
            if let Some(count) = config {
                context.grafana_config.insert(pgscope::datasource::CONCURRENT_QUERY_COUNT.into(), count);
            }
            let mut client = DataClient::connect(endpoint).await.unwrap();
            let request = pluginv2::QueryDataRequest { plugin_context: Some(context), headers: HashMap::new(), queries };
            let responses = client.query_data(request).await.unwrap().into_inner().responses;
            assert!(responses.values().all(|r| r.error.is_empty()), "{responses:?}");
        }
    };

    // Without the key: as many at once as the datasource's own bound (maxConcurrentRequests, 4).
    let tsdb = CountingTsdb::start(Duration::from_millis(300));
    run(None, tsdb.url.clone()).await;
    let unbounded = tsdb.most.load(Ordering::SeqCst);
    assert!(unbounded >= 3, "6 queries without a Grafana bound overlapped only {unbounded} at most");

    // Grafana says 2.
    let tsdb = CountingTsdb::start(Duration::from_millis(300));
    run(Some("2"), tsdb.url.clone()).await;
    let bounded = tsdb.most.load(Ordering::SeqCst);
    assert!((1..=2).contains(&bounded), "GF_CONCURRENT_QUERY_COUNT=2, yet {bounded} queries reached the TSDB at once");

    // A value that is no count is ignored, not a failure.
    let tsdb = CountingTsdb::start(Duration::from_millis(50));
    run(Some("many"), tsdb.url.clone()).await;
}
