//! Integration test: the real `gpx_pgscope` binary, started as Grafana starts it (environment,
//! handshake line, gRPC), driven through the pluginv2 clients generated from proto/backend.proto against a real
//! VictoriaMetrics holding imported series, and against servers that are closed or wrong.

mod support;

use std::time::{SystemTime, UNIX_EPOCH};

use pgscope::pluginv2::{
    self, check_health_response::HealthStatus, data_client::DataClient, diagnostics_client::DiagnosticsClient,
    resource_client::ResourceClient,
};
use pgscope::frame::{Frame, Values};
use support::{data_query, FakeServer, PluginProcess, VictoriaMetrics};

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64
}

fn context(url: &str) -> pluginv2::PluginContext {
    pluginv2::PluginContext {
        org_id: 1,
        plugin_id: "pgscope-datasource".into(),
        user: Some(pluginv2::User { login: "admin".into(), role: "Admin".into(), ..Default::default() }),
        data_source_instance_settings: Some(pluginv2::DataSourceInstanceSettings {
            id: 1,
            uid: format!("pgscope-{url}"),
            name: "pgscope".into(),
            url: url.into(),
            json_data: br#"{"timeInterval":"15s"}"#.to_vec(),
            last_updated_ms: 1,
            ..Default::default()
        }),
        ..Default::default()
    }
}

async fn check_health(plugin: &PluginProcess, url: &str) -> pluginv2::CheckHealthResponse {
    let mut client = DiagnosticsClient::connect(plugin.endpoint()).await.unwrap();
    client
        .check_health(pluginv2::CheckHealthRequest { plugin_context: Some(context(url)), headers: Default::default() })
        .await
        .unwrap()
        .into_inner()
}

fn seed(vm: &VictoriaMetrics) -> i64 {
    let end = now_ms() - 5_000;
    let mut lines = String::new();
    for i in 0..20i64 {
        let t = end - (19 - i) * 15_000;
        lines.push_str(&format!("pgss_calls_total{{datname=\"app\",queryid=\"101\"}} {} {t}\n", 100 + i * 30));
        lines.push_str(&format!("pgss_calls_total{{datname=\"app\",queryid=\"202\"}} {} {t}\n", 50 + i * 15));
        lines.push_str(&format!("up{{job=\"node\",instance=\"127.0.0.1:9100\"}} 1 {t}\n"));
    }
    vm.import(&lines, 3);
    end
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugin_serves_health_queries_and_metrics_against_victoriametrics() {
    let vm = VictoriaMetrics::start();
    let end = seed(&vm);
    let mut plugin = PluginProcess::start();
    assert!(plugin.grpc_addr.starts_with("127.0.0.1:"), "{}", plugin.handshake);

    // Save & test.
    let health = check_health(&plugin, &vm.url()).await;
    assert_eq!(health.status, HealthStatus::Ok as i32, "{}", health.message);
    assert!(health.message.starts_with("Connected to VictoriaMetrics"), "{}", health.message);
    let details: serde_json::Value = serde_json::from_slice(&health.json_details).unwrap();
    assert!(details["verboseMessage"].as_str().unwrap().contains("1+1 = 2"), "{details}");

    // Three queries in one request: a range query with a legend, an instant query, a bad one.
    let mut data = DataClient::connect(plugin.endpoint()).await.unwrap();
    let from = end - 5 * 60_000;
    let request = pluginv2::QueryDataRequest {
        plugin_context: Some(context(&vm.url())),
        headers: Default::default(),
        queries: vec![
            data_query("A", r#"{"expr":"rate(pgss_calls_total[1m])","legendFormat":"{{queryid}} in {{datname}}"}"#, from, end),
            data_query("B", r#"{"expr":"sum(up)","instant":true,"range":false}"#, from, end),
            data_query("C", r#"{"expr":"rate(pgss_calls_total[1m]"}"#, from, end),
            data_query("D", r#"{"expr": 42}"#, from, end),
        ],
    };
    let responses = data.query_data(request).await.unwrap().into_inner().responses;

    let a = &responses["A"];
    assert_eq!((a.status, a.error.as_str()), (200, ""));
    let frames: Vec<Frame> = a.frames.iter().map(|bytes| Frame::from_arrow(bytes).unwrap()).collect();
    assert_eq!(frames.len(), 2);
    let mut names: Vec<&str> = frames.iter().map(|f| f.name.as_str()).collect();
    names.sort();
    assert_eq!(names, ["101 in app", "202 in app"]);
    for frame in &frames {
        let meta = frame.meta.as_ref().unwrap();
        assert_eq!(meta.frame_type.as_deref(), Some("timeseries-multi"));
        assert_eq!(meta.executed_query_string.as_deref(), Some("Expr: rate(pgss_calls_total[1m])\nStep: 15s"));
        assert_eq!(frame.ref_id, "A");
        let labels = frame.fields[1].labels.as_ref().unwrap();
        assert_eq!(labels["datname"], "app");
        let (Values::Time(times), Values::Float64(values)) = (&frame.fields[0].values, &frame.fields[1].values) else {
            panic!("unexpected field types in {frame:?}");
        };
        assert!(times.len() >= 10, "{} points", times.len());
        assert!(times.windows(2).all(|w| w[1] - w[0] == 15_000), "15 s step");
        // 30 calls per 15 s = 2/s for queryid 101, 1/s for 202.
        let want = if labels["queryid"] == "101" { 2.0 } else { 1.0 };
        assert!(values.iter().all(|v| (v - want).abs() < 1e-9), "{values:?}");
    }

    let b = &responses["B"];
    assert_eq!(b.status, 200, "{}", b.error);
    let frame = Frame::from_arrow(&b.frames[0]).unwrap();
    assert_eq!(frame.meta.as_ref().unwrap().frame_type.as_deref(), Some("numeric-multi"));
    assert_eq!(frame.fields[1].values, Values::Float64(vec![1.0]));

    let c = &responses["C"];
    assert!(c.frames.is_empty());
    assert_eq!(c.status, 422, "{}", c.error);
    assert!(c.error.contains("422") || c.error.contains("parse"), "the TSDB's own message: {}", c.error);

    // As Grafana's alerting sends it: no browser, macros uninterpolated, 43,200 max data points.
    let alert = pluginv2::DataQuery {
        max_data_points: 43_200,
        interval_ms: 1000,
        ..data_query("E", r#"{"expr":"sum(rate(pgss_calls_total[$__rate_interval]))","instant":true,"range":false,"refId":"E"}"#, from, end)
    };
    let alert_request = pluginv2::QueryDataRequest {
        plugin_context: Some(context(&vm.url())),
        headers: [("FromAlert".to_string(), "true".to_string())].into(),
        queries: vec![alert],
    };
    let e = &data.query_data(alert_request).await.unwrap().into_inner().responses["E"];
    assert_eq!(e.status, 200, "{}", e.error);
    let frame = Frame::from_arrow(&e.frames[0]).unwrap();
    assert_eq!(frame.meta.as_ref().unwrap().executed_query_string.as_deref(), Some("Expr: sum(rate(pgss_calls_total[1m0s]))"));
    assert_eq!(frame.fields[1].values, Values::Float64(vec![3.0]), "2/s + 1/s");

    // format: table — one long frame, labels as columns.
    let table_request = pluginv2::QueryDataRequest {
        plugin_context: Some(context(&vm.url())),
        headers: Default::default(),
        queries: vec![data_query("T", r#"{"expr":"pgss_calls_total","format":"table","instant":true,"range":false}"#, from, end)],
    };
    let t = &data.query_data(table_request).await.unwrap().into_inner().responses["T"];
    assert_eq!((t.status, t.frames.len()), (200, 1), "{}", t.error);
    let table = Frame::from_arrow(&t.frames[0]).unwrap();
    let names: Vec<&str> = table.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["Time", "__name__", "datname", "queryid", "Value"]);
    assert_eq!(table.fields[3].values, Values::String(vec!["101".into(), "202".into()]));

    let d = &responses["D"];
    assert_eq!(d.status, 400);
    assert!(d.error.contains("query JSON is not valid"), "{}", d.error);

    // Own metrics, in Prometheus text format.
    let mut diagnostics = DiagnosticsClient::connect(plugin.endpoint()).await.unwrap();
    let metrics = diagnostics
        .collect_metrics(pluginv2::CollectMetricsRequest { plugin_context: Some(context(&vm.url())) })
        .await
        .unwrap()
        .into_inner();
    let text = String::from_utf8(metrics.metrics.unwrap().prometheus).unwrap();
    assert!(text.contains(r#"pgscope_queries_total{outcome="ok",query_type="promql"} 4"#), "{text}");
    assert!(text.contains(r#"pgscope_queries_total{outcome="tsdb_error",query_type="promql"} 1"#), "{text}");
    assert!(text.contains(r#"pgscope_queries_total{outcome="bad_query",query_type="promql"} 1"#), "{text}");
    assert!(text.contains(r#"pgscope_health_checks_total{status="ok"} 1"#), "{text}");
    assert!(text.contains("pgscope_upstream_request_duration_seconds_bucket{path=\"api/v1/query_range\",status=\"200\""), "{text}");
    // Resources for editors and variables, through CallResource.
    let mut resource = ResourceClient::connect(plugin.endpoint()).await.unwrap();
    let range = format!("start={}&end={}", from / 1000, end / 1000);
    let (code, preview) = call_resource(&mut resource, &vm.url(), "rewrite?expr=rate(x%5B5m%5D)%20*%20on(queryid)%20group_left(displayname)%20pgss_query_info").await;
    assert_eq!((code, &preview["changed"]), (200, &serde_json::json!(true)), "{preview}");
    let (code, labels) = call_resource(&mut resource, &vm.url(), &format!("labels?{range}")).await;
    assert_eq!(code, 200, "{labels}");
    for label in ["datname", "queryid", "job"] {
        assert!(labels.as_array().unwrap().contains(&serde_json::json!(label)), "{labels}");
    }
    let (_, values) = call_resource(&mut resource, &vm.url(), &format!("label/queryid/values?match[]=pgss_calls_total&{range}")).await;
    assert_eq!(values, serde_json::json!(["101", "202"]));
    let (_, metrics) = call_resource(&mut resource, &vm.url(), &format!("metrics?{range}")).await;
    assert_eq!(metrics, serde_json::json!(["pgss_calls_total", "up"]));
    let (_, series) = call_resource(&mut resource, &vm.url(), &format!("series?match[]=up&{range}")).await;
    assert_eq!(series[0]["job"], "node", "{series}");
    let at = end / 1000;
    let (_, result) = call_resource(&mut resource, &vm.url(), &format!("query?expr=sum%20by%20(queryid)%20(pgss_calls_total)&time={at}")).await;
    assert_eq!(result.as_array().unwrap().len(), 2, "{result}");
    // What must not pass: a path escape, a label name that is not one, a series call without a selector.
    assert_eq!(call_resource(&mut resource, &vm.url(), "label/../../api/v1/status/flags/values").await.0, 404);
    assert_eq!(call_resource(&mut resource, &vm.url(), "label/a.b/values").await.0, 400);
    assert_eq!(call_resource(&mut resource, &vm.url(), "series").await.0, 400);
    let (code, bad) = call_resource(&mut resource, &vm.url(), "query?expr=sum(").await;
    assert!(code >= 400 && bad["message"].as_str().is_some_and(|m| !m.is_empty()), "{code} {bad}");
    assert!(plugin.is_running());
}

/// GET resources/<url> through CallResource: (status, JSON body).
async fn call_resource(client: &mut ResourceClient<tonic::transport::Channel>, tsdb: &str, url: &str) -> (i32, serde_json::Value) {
    let path = url.split('?').next().unwrap().to_string();
    let mut stream = client
        .call_resource(pluginv2::CallResourceRequest {
            plugin_context: Some(context(tsdb)),
            path,
            method: "GET".into(),
            url: url.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let first = stream.message().await.unwrap().unwrap();
    (first.code, serde_json::from_slice(&first.body).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_check_names_the_cause_when_the_tsdb_is_wrong() {
    let plugin = PluginProcess::start();

    let closed = format!("http://127.0.0.1:{}", support::free_port());
    let health = check_health(&plugin, &closed).await;
    assert_eq!(health.status, HealthStatus::Error as i32);
    assert!(health.message.contains("Cannot reach the TSDB") && health.message.contains("Connection refused"), "{}", health.message);

    let html = FakeServer::start("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 47\r\nConnection: close\r\n\r\n<html><title>Grafana Login</title><body></html>");
    let health = check_health(&plugin, &html.url()).await;
    assert_eq!(health.status, HealthStatus::Error as i32);
    assert!(health.message.contains("HTML page titled \"Grafana Login\""), "{}", health.message);

    let unauthorized = FakeServer::start("HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    let health = check_health(&plugin, &unauthorized.url()).await;
    assert_eq!(health.status, HealthStatus::Error as i32);
    assert!(health.message.contains("refused the credentials (HTTP 401)"), "{}", health.message);

    let health = check_health(&plugin, "not a url").await;
    assert_eq!(health.status, HealthStatus::Error as i32);
    assert!(health.message.contains("Datasource settings"), "{}", health.message);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_against_a_dead_tsdb_fail_per_query_and_the_plugin_lives_on() {
    let mut plugin = PluginProcess::start();
    let closed = format!("http://127.0.0.1:{}", support::free_port());
    let mut data = DataClient::connect(plugin.endpoint()).await.unwrap();
    let end = now_ms();
    let request = pluginv2::QueryDataRequest {
        plugin_context: Some(context(&closed)),
        headers: Default::default(),
        queries: vec![data_query("A", r#"{"expr":"up"}"#, end - 60_000, end)],
    };
    let responses = data.query_data(request).await.unwrap().into_inner().responses;
    assert_eq!(responses["A"].status, 502);
    assert!(responses["A"].error.contains("Connection refused"), "{}", responses["A"].error);

    // A request without any datasource settings is an error per query, not a crash.
    let request = pluginv2::QueryDataRequest {
        plugin_context: None,
        headers: Default::default(),
        queries: vec![data_query("A", "{}", end - 60_000, end)],
    };
    let responses = data.query_data(request).await.unwrap().into_inner().responses;
    assert_eq!(responses["A"].status, 400);
    assert!(plugin.is_running());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gzip_answers_are_decompressed() {
    use std::io::Write;
    let body = br#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"job":"gz"},"value":[1700000000,"7"]}]}}"#;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(body).unwrap();
    let compressed = encoder.finish().unwrap();
    let mut response = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        compressed.len()
    )
    .into_bytes();
    response.extend_from_slice(&compressed);
    let tsdb = FakeServer::start_bytes(response);
    let plugin = PluginProcess::start();
    let mut data = DataClient::connect(plugin.endpoint()).await.unwrap();
    let end = now_ms();
    let request = pluginv2::QueryDataRequest {
        plugin_context: Some(context(&tsdb.url())),
        headers: Default::default(),
        queries: vec![data_query("A", r#"{"expr":"up","instant":true,"range":false}"#, end - 60_000, end)],
    };
    let a = &data.query_data(request).await.unwrap().into_inner().responses["A"];
    assert_eq!(a.status, 200, "{}", a.error);
    assert_eq!(Frame::from_arrow(&a.frames[0]).unwrap().fields[1].values, Values::Float64(vec![7.0]));
    assert!(tsdb.requests()[0].to_ascii_lowercase().contains("accept-encoding: gzip"), "{:?}", tsdb.requests());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_over_the_size_limit_is_a_clear_error() {
    let body = format!("{{\"status\":\"success\",\"data\":{{\"resultType\":\"vector\",\"result\":[]}},\"pad\":\"{}\"}}", "x".repeat(2 << 20));
    let response: &'static str = Box::leak(
        format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()).into_boxed_str(),
    );
    let tsdb = FakeServer::start(response);
    let plugin = PluginProcess::start();
    let mut data = DataClient::connect(plugin.endpoint()).await.unwrap();
    let end = now_ms();
    let mut ctx = context(&tsdb.url());
    ctx.data_source_instance_settings.as_mut().unwrap().json_data = br#"{"maxResponseMb":1}"#.to_vec();
    let request = pluginv2::QueryDataRequest {
        plugin_context: Some(ctx),
        headers: Default::default(),
        queries: vec![data_query("A", r#"{"expr":"up"}"#, end - 60_000, end)],
    };
    let a = &data.query_data(request).await.unwrap().into_inner().responses["A"];
    assert_eq!(a.status, 413);
    assert!(a.error.contains("larger than the 1 MB limit"), "{}", a.error);
}
