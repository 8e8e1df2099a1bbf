//! Fault injection against the real plugin process: a TSDB that answers too slowly, answers
//! HTML with a 500, cuts its JSON short, sends a body far past `maxResponseMb`, or stops and
//! comes back on the same port. Each fault is one query's clear error, nothing waits past its
//! timeout, the process never dies, and the next query against a healthy TSDB is answered.

mod support;

use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use pgscope::pluginv2::{self, data_client::DataClient};
use support::{data_query, instance, plugin_context, Fault, FaultyTsdb, PluginProcess};

async fn query(data: &mut DataClient<tonic::transport::Channel>, tsdb: &str) -> (pluginv2::DataResponse, Duration) {
    let request = pluginv2::QueryDataRequest {
        plugin_context: Some(plugin_context(instance(&format!("faults-{tsdb}"), tsdb, r#"{"queryTimeout":"2s","maxResponseMb":8}"#))),
        headers: Default::default(),
        queries: vec![data_query("A", r#"{"expr":"up","instant":true}"#, 1_699_999_000_000, 1_700_000_000_000)],
    };
    let started = Instant::now();
    let mut answer = tokio::time::timeout(Duration::from_secs(20), data.query_data(request)).await.expect("an answer within 20 s").unwrap().into_inner();
    (answer.responses.remove("A").unwrap(), started.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_fault_is_one_clear_error_and_the_plugin_keeps_serving() {
    let mut plugin = PluginProcess::start();
    let mut data = DataClient::connect(plugin.endpoint()).await.unwrap();
    let healthy = FaultyTsdb::start(Fault::Healthy);
    for (name, fault, status, words) in [
        ("slow", Fault::Slow(10), 504, "did not answer within 2s"),
        ("HTML 500", Fault::Html500, 502, "HTML page titled \"502 upstream down\""),
        ("cut connection", Fault::Truncated, 502, "reading the answer"),
        ("half a JSON answer", Fault::HalfJson, 502, "EOF"),
        ("200 MB body", Fault::Huge, 413, "larger than the 8 MB limit"),
    ] {
        let tsdb = FaultyTsdb::start(fault);
        let (response, took) = query(&mut data, &tsdb.url()).await;
        println!("{name}: HTTP {} in {took:?}: {}", response.status, response.error);
        assert_eq!(response.status, status, "{name}: {}", response.error);
        assert!(response.error.contains(words), "{name}: {}", response.error);
        assert!(took < Duration::from_secs(8), "{name}: waited {took:?}, past the 2 s timeout");
        assert!(plugin.is_running(), "the plugin died on the {name} fault");
        let (after, _) = query(&mut data, &healthy.url()).await;
        assert_eq!((after.status, after.error.as_str()), (200, ""), "a healthy TSDB after the {name} fault");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tsdb_that_stops_and_comes_back_is_used_again_without_a_restart() {
    let plugin = PluginProcess::start();
    let mut data = DataClient::connect(plugin.endpoint()).await.unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let url = format!("http://{addr}");
    let tsdb = FaultyTsdb::start_on(listener, Fault::Healthy);
    assert_eq!(query(&mut data, &url).await.0.status, 200);
    drop(tsdb);
    // Wait until the port is really closed (the accept loop notices the stop flag).
    support::wait_for("the fake TSDB to stop", Duration::from_secs(5), || TcpStream::connect(&addr).is_err());
    let (down, took) = query(&mut data, &url).await;
    assert_eq!(down.status, 502, "{}", down.error);
    assert!(down.error.contains("cannot reach the TSDB"), "{}", down.error);
    assert!(took < Duration::from_secs(5), "{took:?}");
    let back = FaultyTsdb::start_on(TcpListener::bind(&addr).unwrap(), Fault::Healthy);
    let (again, _) = query(&mut data, &back.url()).await;
    assert_eq!((again.status, again.error.as_str()), (200, ""), "the same datasource works again");
}
