//! For every input in ../shared/conformance/promlib, the JSON the stand-in serves from
//! `POST /api/ds/query` for the real plugin's frames matches Grafana's golden frames. The plugin
//! binary runs as a backend of the host; a fake TSDB on 127.0.0.1 answers each query with the
//! input file named by the query's expression. What Grafana's query path adds to the
//! converter's frames (refId, series names, field config, executedQueryString) is compared
//! separately from the goldens.

#[path = "../../../backend/tests/support/golden.rs"]
mod golden;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use golden::{golden, normalise, CASES, STRING_INPUT};
use pgscope_e2e_host::{api, build_host, HostPaths};
use serde_json::{json, Value};
use tower::ServiceExt;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn promlib() -> PathBuf {
    golden::promlib_dir(env!("CARGO_MANIFEST_DIR"), "../../..")
}

/// The plugin binary: built by `cargo test --workspace` (the backend's integration tests need
/// it), or `make dist`'s static one.
fn plugin_binary() -> PathBuf {
    let candidates = [
        std::env::var_os("PGSCOPE_PLUGIN_BINARY").map(PathBuf::from),
        Some(root().join("target/debug/gpx_pgscope")),
        Some(root().join("dist/pgscope-app/datasource/gpx_pgscope_linux_amd64")),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|p| p.is_file())
        .expect("no gpx_pgscope binary: run `cargo build -p pgscope-backend` or `make dist` first")
}

/// Answers every request with the promlib file named by the `query` parameter (`prom-matrix`
/// -> prom-matrix.json; `prom-string` -> the string answer).
fn fake_tsdb() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut request = Vec::new();
            let mut buf = [0u8; 8192];
            // Read headers and the (small, form-encoded) body.
            loop {
                let n = stream.read(&mut buf).unwrap_or(0);
                request.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&request);
                if n == 0 || text.contains("\r\n\r\n") && text.contains("query=") {
                    break;
                }
            }
            let text = String::from_utf8_lossy(&request).to_string();
            let name = text.split("query=").nth(1).and_then(|rest| rest.split(['&', ' ', '\r']).next()).unwrap_or("").to_string();
            let (status, body) = if name == "prom-string" {
                (200, STRING_INPUT.to_string())
            } else {
                match std::fs::read_to_string(promlib().join(format!("{name}.json"))) {
                    Ok(body) if name == "prom-error" => (400, body),
                    Ok(body) => (200, body),
                    Err(_) => (404, format!("{{\"status\":\"error\",\"errorType\":\"not_found\",\"error\":\"no file {name}\"}}")),
                }
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    addr
}

async fn host_with_fake_tsdb(dir: &Path) -> axum::Router {
    let plugins = dir.join("plugins/pgscope-datasource");
    std::fs::create_dir_all(&plugins).unwrap();
    std::fs::copy(root().join("backend/plugin.json"), plugins.join("plugin.json")).unwrap();
    let arch = if cfg!(target_arch = "aarch64") { "arm64" } else { "amd64" };
    std::os::unix::fs::symlink(plugin_binary(), plugins.join(format!("gpx_pgscope_linux_{arch}"))).unwrap();
    let provisioning = dir.join("provisioning");
    std::fs::create_dir_all(provisioning.join("datasources")).unwrap();
    std::fs::write(
        provisioning.join("datasources/fake.yaml"),
        format!("apiVersion: 1\ndatasources:\n  - name: fake\n    type: pgscope-datasource\n    uid: fake\n    url: http://{}\n    isDefault: true\n", fake_tsdb()),
    )
    .unwrap();
    let host = build_host(HostPaths {
        plugins: dir.join("plugins"),
        provisioning,
        web: dir.to_path_buf(),
        systemjs: dir.to_path_buf(),
    })
    .await
    .unwrap();
    api::router(host)
}

async fn post_query(router: &axum::Router, expr: &str) -> (StatusCode, Value) {
    let body = json!({
        "from": "1435781400000", "to": "1435781500000",
        "queries": [{ "refId": "A", "datasource": { "type": "pgscope-datasource", "uid": "fake" }, "queryType": "promql", "expr": expr }]
    });
    let request = Request::post("/api/ds/query").header("content-type", "application/json").body(Body::from(body.to_string())).unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 64 << 20).await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap())
}

/// Removes what Grafana's query path (not its converter) adds, after checking it is there.
fn strip_query_path_additions(result: &mut Value, expr: &str) {
    for frame in result["frames"].as_array_mut().unwrap() {
        let schema = frame["schema"].as_object_mut().unwrap();
        assert_eq!(schema.remove("refId"), Some(json!("A")));
        let meta = schema.get_mut("meta").unwrap().as_object_mut().unwrap();
        let executed = meta.remove("executedQueryString").unwrap();
        assert!(executed.as_str().unwrap().starts_with(&format!("Expr: {expr}")), "{executed}");
        let has_fields = !schema["fields"].as_array().unwrap().is_empty();
        if has_fields {
            schema.remove("name");
            for field in schema["fields"].as_array_mut().unwrap() {
                field.as_object_mut().unwrap().remove("config");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn served_frames_match_grafanas_goldens() {
    let dir = tempfile::tempdir().unwrap();
    let router = host_with_fake_tsdb(dir.path()).await;
    let mut cases: Vec<(String, Value)> =
        CASES.iter().map(|(input, golden_name)| (input.trim_end_matches(".json").to_string(), golden(&promlib(), golden_name))).collect();
    cases.push(("prom-string".into(), golden(&promlib(), "prom-string-frame.jsonc")));
    for (expr, want) in cases {
        let (status, body) = post_query(&router, &expr).await;
        assert_eq!(status, StatusCode::OK, "{expr}: {body}");
        let mut result = body["results"]["A"].clone();
        strip_query_path_additions(&mut result, &expr);
        assert_eq!(normalise(result.clone()), normalise(want.clone()), "{expr}:\n got: {result}\nwant: {want}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_answer_is_a_per_query_error_with_http_400() {
    let dir = tempfile::tempdir().unwrap();
    let router = host_with_fake_tsdb(dir.path()).await;
    let (status, body) = post_query(&router, "prom-error").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let result = &body["results"]["A"];
    assert_eq!(result["status"], 400);
    assert!(result["error"].as_str().unwrap().contains("bad_data: invalid parameter \"start\""), "{result}");
    // The TSDB refused what the plugin sent with a 400: the plugin's, by the SDK's status table.
    assert_eq!(result["errorSource"], "plugin", "{result}");
    assert_eq!(result["frames"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resources_reach_the_plugin_and_unknown_ones_are_404() {
    let dir = tempfile::tempdir().unwrap();
    let router = host_with_fake_tsdb(dir.path()).await;
    let get = |path: &str| Request::get(path).header("cookie", "grafana_session=secret").body(Body::empty()).unwrap();
    let response = router
        .clone()
        .oneshot(get("/api/datasources/uid/fake/resources/rewrite?expr=rate(x%5B5m%5D)%20*%20on(queryid)%20group_left(displayname)%20pgss_query_info"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = serde_json::from_slice(&axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap()).unwrap();
    assert_eq!(body["changed"], true, "{body}");
    let response = router.clone().oneshot(get("/api/datasources/uid/fake/resources/nothing-here")).await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = router.clone().oneshot(get("/api/datasources/uid/nope/resources/rewrite")).await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}
