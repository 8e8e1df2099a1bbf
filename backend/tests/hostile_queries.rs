//! One crafted query must never take the plugin down for every user. `(` × 20,000 + `up` +
//! `)` × 20,000 and `up` followed by 20,000 × ` + up` used to overflow the stack (the process
//! aborted, exit 134) through QueryData, the `rewrite` resource and the linter. Now they are
//! sent as written with a note, queries up to the bounds are analysed on any thread, and the
//! real plugin process answers and keeps serving.

mod support;

use std::time::{Duration, Instant};

use pgscope::pluginv2::{self, data_client::DataClient, resource_client::ResourceClient};
use pgscope::fallback::guard::{MAX_NESTING, MAX_OPERATORS};
use pgscope::fallback::{rewrite, Reason, Rules};
use pgscope::lint::{self, FindingKind};
use support::{data_query, instance, plugin_context, urlencode, FakeServer, PluginProcess};

fn nested(levels: usize) -> String {
    format!("{}up{}", "(".repeat(levels), ")".repeat(levels))
}

fn chain(operators: usize) -> String {
    format!("up{}", " + up".repeat(operators))
}

/// An info join inside the deepest analysed nesting, and one at the end of the longest chain.
fn at_the_bounds() -> Vec<String> {
    let join = "rate(x[5m]) * on(queryid) group_left(displayname) pgss_query_info";
    vec![
        format!("{}{join}{}", "(".repeat(MAX_NESTING - 2), ")".repeat(MAX_NESTING - 2)),
        format!("{} + {join}", chain(MAX_OPERATORS - 3)),
        format!("{} or {join}", vec!["up"; MAX_OPERATORS - 3].join(" and ")),
    ]
}

#[test]
fn queries_up_to_the_bounds_are_analysed_on_a_small_stack_and_beyond_them_sent_as_written() {
    // A tokio worker's stack is 2 MB: the rewrite and the linter must hold there.
    let worker = std::thread::Builder::new().stack_size(2 << 20).spawn(|| {
        let rules = Rules::default();
        for query in at_the_bounds() {
            let started = Instant::now();
            let out = rewrite(&query, &rules);
            assert!(out.changed, "{:?}", out.notes);
            println!("{} chars analysed and rewritten in {:?}", query.len(), started.elapsed());
            assert!(lint::lint_query(&query, &rules).iter().any(|f| f.kind == FindingKind::FragileJoin));
        }
        for query in [nested(20_000), chain(20_000), nested(MAX_NESTING + 1), chain(MAX_OPERATORS + 1)] {
            let out = rewrite(&query, &rules);
            assert_eq!((out.changed, out.query.len()), (false, query.len()), "sent as written");
            assert_eq!(out.notes[0].reason, Reason::NotAnalysed);
            assert!(out.notes[0].text.contains("limit"), "{}", out.notes[0].text);
            let findings = lint::lint_query(&query, &rules);
            assert_eq!(findings[0].kind, FindingKind::Unparseable, "{findings:?}");
            assert!(lint::metric_names(&query).is_empty());
        }
    });
    worker.unwrap().join().expect("the rewrite and the linter held on a 2 MB stack");
}

const EMPTY_VECTOR: &str = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 63\r\nConnection: close\r\n\r\n{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[]}}";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plugin_process_answers_crafted_queries_and_keeps_serving() {
    assert_eq!(EMPTY_VECTOR.split("\r\n\r\n").nth(1).unwrap().len(), 63);
    let tsdb = FakeServer::start(EMPTY_VECTOR);
    let mut plugin = PluginProcess::start();
    let context = || plugin_context(instance("hostile", &tsdb.url(), "{}"));
    let mut data = DataClient::connect(plugin.endpoint()).await.unwrap();
    let mut resource = ResourceClient::connect(plugin.endpoint()).await.unwrap();
    let to = 1_700_000_000_000;

    for (name, query) in [("nested", nested(20_000)), ("chain", chain(20_000))] {
        let json = serde_json::json!({ "expr": query, "instant": true }).to_string();
        let request = pluginv2::QueryDataRequest {
            plugin_context: Some(context()),
            headers: Default::default(),
            queries: vec![data_query("A", &json, to - 3_600_000, to), data_query("B", r#"{"expr":"up","instant":true}"#, to - 3_600_000, to)],
        };
        let started = Instant::now();
        let answer = tokio::time::timeout(Duration::from_secs(10), data.query_data(request)).await.expect("an answer").expect("no transport error").into_inner();
        println!("{name}: QueryData answered in {:?}", started.elapsed());
        // The crafted query is sent as written (the fake TSDB may cut a 120 KB request short: a
        // clean error for that query is fine); the plain one beside it is answered.
        let crafted = &answer.responses["A"];
        assert!(crafted.status == 200 || !crafted.error.is_empty(), "{name}: {}", crafted.status);
        let plain = &answer.responses["B"];
        assert!(plain.error.is_empty() && plain.status == 200, "{name}: {} {}", plain.status, plain.error);

        let url = format!("rewrite?expr={}", urlencode(&query));
        let started = Instant::now();
        let mut stream = resource
            .call_resource(pluginv2::CallResourceRequest { plugin_context: Some(context()), path: "rewrite".into(), method: "GET".into(), url, ..Default::default() })
            .await
            .unwrap()
            .into_inner();
        let first = stream.message().await.unwrap().unwrap();
        println!("{name}: the rewrite resource answered in {:?}", started.elapsed());
        let body: serde_json::Value = serde_json::from_slice(&first.body).unwrap();
        assert_eq!((first.code, body["changed"].as_bool()), (200, Some(false)), "{body}");
        assert!(body["notes"][0]["text"].as_str().unwrap().contains("not analysed"), "{body}");
        assert!(plugin.is_running(), "the plugin process died on the {name} query");
    }
    // Still serving: a plain query afterwards.
    let request = pluginv2::QueryDataRequest {
        plugin_context: Some(context()),
        headers: Default::default(),
        queries: vec![data_query("C", r#"{"expr":"sum(up)","instant":true}"#, to - 60_000, to)],
    };
    let answer = data.query_data(request).await.unwrap().into_inner();
    assert_eq!(answer.responses["C"].status, 200, "{}", answer.responses["C"].error);
    assert!(plugin.is_running());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_of_many_large_answers_is_bounded_as_a_whole() {
    // ~0.8 MB per answer, 1 MB allowed per answer: three of them pass one by one, not together.
    let long = "x".repeat(1_000);
    let series: Vec<String> = (0..800).map(|i| format!(r#"{{"metric":{{"__name__":"up","instance":"host-{i:05}","note":"{long}"}},"value":[1700000000,"1"]}}"#)).collect();
    let body = format!(r#"{{"status":"success","data":{{"resultType":"vector","result":[{}]}}}}"#, series.join(","));
    assert!(body.len() > 700_000 && body.len() < 1 << 20, "{}", body.len());
    let answer = format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
    let tsdb = FakeServer::start_bytes(answer.into_bytes());
    let plugin = PluginProcess::start();
    let mut data = DataClient::connect(plugin.endpoint()).await.unwrap().max_decoding_message_size(256 << 20);
    let to = 1_700_000_000_000;
    let queries = ["A", "B", "C"].map(|r| data_query(r, r#"{"expr":"up","instant":true}"#, to - 60_000, to)).to_vec();
    let request = pluginv2::QueryDataRequest {
        plugin_context: Some(plugin_context(instance("budget", &tsdb.url(), r#"{"maxResponseMb":1}"#))),
        headers: Default::default(),
        queries,
    };
    let answer = data.query_data(request).await.unwrap().into_inner();
    let failed: Vec<&str> = answer.responses.values().filter(|r| r.status == 413).map(|r| r.error.as_str()).collect();
    let ok = answer.responses.values().filter(|r| r.status == 200 && !r.frames.is_empty()).count();
    assert!(!failed.is_empty() && failed.iter().all(|e| e.contains("together exceed 2 MB")), "{failed:?}");
    assert!(ok >= 1, "the first answers within the budget are served");
}
