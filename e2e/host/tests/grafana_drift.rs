//! Issue 18 item 7: where the stand-in answered differently from Grafana, held to Grafana's
//! behaviour as read from its source. The plugin behind the host here is an in-process fake
//! serving pluginv2 (the project's proto) on 127.0.0.1, so each answer can be chosen:
//! - health not implemented: grpcplugin client_v2.go CheckHealth turns gRPC Unimplemented into
//!   status UNKNOWN, "Health check not implemented", which pkg/api/datasources.go answers 400;
//! - health `details` are unmarshalled into a Go map: anything but a JSON object (or null) is a
//!   500 "Failed to unmarshal detailed response from backend plugin";
//! - /api/ds/query writes `errorSource` beside every `error` (sdk backend/json.go), and a
//!   status 0 with an error as 500;
//! - a plugin nested in an app is loaded from under the app's path (bootstrap
//!   configureAppChildPlugin), and its files are served there as well as under its own id.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use pgscope::pluginv2::{
    self, check_health_response::HealthStatus, data_server::{Data, DataServer}, diagnostics_server::{Diagnostics, DiagnosticsServer},
};
use pgscope_e2e_host::provisioning::DatasourceConfig;
use pgscope_e2e_host::state::{Datasource, Host};
use pgscope_e2e_host::{api, backend, plugins};
use serde_json::{json, Value};
use tokio::sync::RwLock;
use tower::ServiceExt;

/// What the fake plugin answers: a health result, and one DataResponse per refId.
#[derive(Clone, Default)]
struct Fake {
    health: Arc<Mutex<(i32, String, Vec<u8>)>>,
    data: Arc<Mutex<HashMap<String, pluginv2::DataResponse>>>,
}

#[tonic::async_trait]
impl Diagnostics for Fake {
    async fn check_health(&self, _: tonic::Request<pluginv2::CheckHealthRequest>) -> Result<tonic::Response<pluginv2::CheckHealthResponse>, tonic::Status> {
        let (status, message, json_details) = self.health.lock().unwrap().clone();
        Ok(tonic::Response::new(pluginv2::CheckHealthResponse { status, message, json_details }))
    }

    async fn collect_metrics(&self, _: tonic::Request<pluginv2::CollectMetricsRequest>) -> Result<tonic::Response<pluginv2::CollectMetricsResponse>, tonic::Status> {
        Err(tonic::Status::unimplemented("no metrics"))
    }
}

#[tonic::async_trait]
impl Data for Fake {
    async fn query_data(&self, _: tonic::Request<pluginv2::QueryDataRequest>) -> Result<tonic::Response<pluginv2::QueryDataResponse>, tonic::Status> {
        Ok(tonic::Response::new(pluginv2::QueryDataResponse { responses: self.data.lock().unwrap().clone() }))
    }
}

/// Serves `fake` on 127.0.0.1 (with or without the Diagnostics service) until the test ends.
async fn serve(fake: Fake, diagnostics: bool) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
    let router = tonic::transport::Server::builder().add_service(DataServer::new(fake.clone()));
    let router = if diagnostics { router.add_service(DiagnosticsServer::new(fake)) } else { router };
    tokio::spawn(router.serve_with_incoming(incoming));
    address
}

fn plugin(id: &str, plugin_type: &str, dir: &Path) -> plugins::Plugin {
    plugins::Plugin { id: id.into(), plugin_type: plugin_type.into(), dir: dir.to_path_buf(), json: json!({ "id": id, "type": plugin_type, "info": { "version": "1.0.0" } }) }
}

/// A host with one datasource `fake` of plugin `fake-datasource`, served by `fake`.
async fn host(fake: Fake, diagnostics: bool) -> axum::Router {
    let address = serve(fake, diagnostics).await;
    let dir = std::env::temp_dir();
    let config: DatasourceConfig = serde_json::from_value(json!({ "name": "fake", "type": "fake-datasource", "uid": "fake", "url": "http://127.0.0.1:1" })).unwrap();
    let host = Host {
        plugins: vec![plugin("fake-datasource", "datasource", &dir)],
        backends: HashMap::from([("fake-datasource".to_string(), backend::connect("fake-datasource", &address).await.unwrap())]),
        datasources: RwLock::new(vec![Datasource { id: 1, version: 1, updated_ms: 1, config }]),
        dashboards: vec![],
        enabled_apps: vec![],
        web_dir: dir.clone(),
        systemjs_dir: dir,
    };
    api::router(Arc::new(host))
}

async fn get(router: &axum::Router, path: &str) -> (StatusCode, Vec<u8>) {
    let response = router.clone().oneshot(Request::get(path).body(Body::empty()).unwrap()).await.unwrap();
    let status = response.status();
    (status, axum::body::to_bytes(response.into_body(), 16 << 20).await.unwrap().to_vec())
}

async fn get_json(router: &axum::Router, path: &str) -> (StatusCode, Value) {
    let (status, body) = get(router, path).await;
    (status, serde_json::from_slice(&body).unwrap_or_else(|e| panic!("{path}: {e}: {}", String::from_utf8_lossy(&body))))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_not_implemented_is_400_unknown() {
    let router = host(Fake::default(), false).await;
    let (status, body) = get_json(&router, "/api/datasources/uid/fake/health").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body, json!({ "status": "UNKNOWN", "message": "Health check not implemented" }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_details_must_be_a_json_object() {
    let fake = Fake::default();
    let router = host(fake.clone(), true).await;
    let answer = |status: HealthStatus, details: &str| *fake.health.lock().unwrap() = (status as i32, "m".into(), details.as_bytes().to_vec());

    answer(HealthStatus::Ok, r#"{"verboseMessage":"v"}"#);
    let (status, body) = get_json(&router, "/api/datasources/uid/fake/health").await;
    assert_eq!((status, body), (StatusCode::OK, json!({ "status": "OK", "message": "m", "details": { "verboseMessage": "v" } })));

    answer(HealthStatus::Error, "");
    let (status, body) = get_json(&router, "/api/datasources/uid/fake/health").await;
    assert_eq!((status, body), (StatusCode::BAD_REQUEST, json!({ "status": "ERROR", "message": "m" })));

    for details in ["[1,2]", "\"text\"", "42", "true", "{not json"] {
        answer(HealthStatus::Ok, details);
        let (status, body) = get_json(&router, "/api/datasources/uid/fake/health").await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{details}: {body}");
        assert_eq!(body["message"], "Failed to unmarshal detailed response from backend plugin", "{details}");
        assert!(body.get("status").is_none(), "{details}: {body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_error_in_a_query_answer_has_its_error_source() {
    let fake = Fake::default();
    let router = host(fake.clone(), true).await;
    let response = |error: &str, source: &str, status: i32| pluginv2::DataResponse { error: error.into(), error_source: source.into(), status, ..Default::default() };
    *fake.data.lock().unwrap() = HashMap::from([
        ("A".to_string(), response("", "", 200)),
        ("B".to_string(), response("the TSDB is down", "downstream", 502)),
        ("C".to_string(), response("bad query", "plugin", 400)),
        ("D".to_string(), response("no source given", "", 0)),
    ]);
    let queries: Vec<Value> =
        ["A", "B", "C", "D", "E"].iter().map(|r| json!({ "refId": r, "datasource": { "type": "fake-datasource", "uid": if *r == "E" { "gone" } else { "fake" } } })).collect();
    let body = json!({ "from": "1700000000000", "to": "1700000300000", "queries": queries });
    let request = Request::post("/api/ds/query").header("content-type", "application/json").body(Body::from(body.to_string())).unwrap();
    let answer = router.clone().oneshot(request).await.unwrap();
    assert_eq!(answer.status(), StatusCode::BAD_REQUEST);
    let answer: Value = serde_json::from_slice(&axum::body::to_bytes(answer.into_body(), 1 << 20).await.unwrap()).unwrap();
    let results = &answer["results"];
    assert_eq!(results["A"], json!({ "status": 200, "frames": [] }), "no error, no errorSource");
    assert_eq!(results["B"], json!({ "status": 502, "frames": [], "error": "the TSDB is down", "errorSource": "downstream" }));
    assert_eq!(results["C"], json!({ "status": 400, "frames": [], "error": "bad query", "errorSource": "plugin" }));
    // Written even when the plugin set none, as the SDK's writer does; status 0 with an error is 500.
    assert_eq!(results["D"], json!({ "status": 500, "frames": [], "error": "no source given", "errorSource": "" }));
    // The host's own failure (no such datasource) has one too.
    assert!(results["E"]["error"].is_string() && results["E"]["errorSource"].is_string(), "{}", results["E"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nested_plugins_load_from_under_the_apps_path() {
    let dir = tempfile::tempdir().unwrap();
    let app = dir.path().join("pgscope-app");
    std::fs::create_dir_all(app.join("panel")).unwrap();
    std::fs::write(app.join("plugin.json"), r#"{"id":"pgscope-app","type":"app","info":{"version":"1.0.0"}}"#).unwrap();
    std::fs::write(app.join("module.js"), "/* app */").unwrap();
    std::fs::write(app.join("panel/plugin.json"), r#"{"id":"pgscope-panel","type":"panel","name":"pgscope","info":{"version":"1.0.0"}}"#).unwrap();
    std::fs::write(app.join("panel/module.js"), "/* panel */").unwrap();
    std::fs::write(app.join("panel/pgscope_panel.0123abcd.wasm"), b"\0asm\x01\0\0\0").unwrap();
    let host = Host {
        plugins: plugins::discover(dir.path()).unwrap(),
        backends: HashMap::new(),
        datasources: RwLock::new(vec![]),
        dashboards: vec![],
        enabled_apps: vec!["pgscope-app".into()],
        web_dir: dir.path().to_path_buf(),
        systemjs_dir: dir.path().to_path_buf(),
    };
    let router = api::router(Arc::new(host));

    let (_, settings) = get_json(&router, "/api/frontend/settings").await;
    let panel = &settings["panels"]["pgscope-panel"];
    assert_eq!(panel["module"], "public/plugins/pgscope-app/panel/module.js", "{panel}");
    assert_eq!(panel["baseUrl"], "public/plugins/pgscope-app", "{panel}");
    assert_eq!(settings["apps"]["pgscope-app"]["path"], "public/plugins/pgscope-app/module.js");

    for path in [
        "/public/plugins/pgscope-app/panel/module.js",
        "/public/plugins/pgscope-app/panel/pgscope_panel.0123abcd.wasm",
        "/public/plugins/pgscope-panel/module.js",
        "/public/plugins/pgscope-panel/pgscope_panel.0123abcd.wasm",
    ] {
        let (status, body) = get(&router, path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(!body.is_empty(), "{path}");
    }
    let (status, _) = get(&router, "/public/plugins/pgscope-app/panel/missing.wasm").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
