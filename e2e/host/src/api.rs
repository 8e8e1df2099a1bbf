//! The HTTP API subset of Grafana that pgscope's plugins and the host page use
//! (shared/notes/grafana-host-contract.md, section 2), mapped onto the plugin's gRPC services:
//! `POST /api/ds/query`, datasource health, resources and settings, plugin metrics, plugin
//! assets, dashboards, and the page itself with its boot data.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Json, Router};
use futures_util::StreamExt;
use pgscope::frame::Frame;
use pgscope::pluginv2::{self, check_health_response::HealthStatus};
use serde::Deserialize;
use serde_json::{json, Value};
use tower_http::services::ServeDir;

use crate::state::{now_ms, Host};
use crate::timerange::parse_time;

type Shared = Arc<Host>;

pub fn router(host: Shared) -> Router {
    let mut router = Router::new()
        .route("/api/ds/query", post(query))
        .route("/api/datasources/uid/:uid/health", get(health))
        .route("/api/datasources/uid/:uid/resources", any(resource_root))
        .route("/api/datasources/uid/:uid/resources/*path", any(resource))
        .route("/api/datasources/uid/:uid", get(get_datasource).put(put_datasource))
        .route("/api/datasources", get(list_datasources))
        .route("/api/plugins/:id/metrics", get(plugin_metrics))
        .route("/api/plugins/:id/settings", get(plugin_settings))
        .route("/api/dashboards/uid/:uid", get(get_dashboard))
        .route("/api/search", get(search))
        .route("/api/frontend/settings", get(frontend_settings))
        .route("/api/health", get(|| async { Json(json!({"database": "ok", "version": crate::backend::GRAFANA_VERSION})) }))
        .nest_service("/public/host", ServeDir::new(&host.web_dir))
        .nest_service("/public/vendor/systemjs", ServeDir::new(&host.systemjs_dir));
    for plugin in &host.plugins {
        router = router.nest_service(&format!("/public/plugins/{}", plugin.id), ServeDir::new(&plugin.dir));
    }
    router.fallback(page).with_state(host)
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "message": message.into() }))).into_response()
}

#[derive(Deserialize)]
struct QueryRequest {
    #[serde(default)]
    from: Option<Value>,
    #[serde(default)]
    to: Option<Value>,
    #[serde(default)]
    queries: Vec<Value>,
}

/// `POST /api/ds/query` (pkg/api/metrics.go QueryMetricsV2 -> pkg/services/query): queries grouped
/// by datasource uid, one QueryDataRequest per uid, groups run concurrently, frames re-encoded
/// from Arrow to Grafana's JSON. HTTP 400 when any result carries an error.
async fn query(State(host): State<Shared>, Json(request): Json<QueryRequest>) -> Response {
    let now = now_ms();
    let from = request.from.as_ref().map_or(Ok(now - 3_600_000), |v| parse_time(v, now));
    let to = request.to.as_ref().map_or(Ok(now), |v| parse_time(v, now));
    let (from, to) = match (from, to) {
        (Ok(from), Ok(to)) => (from, to),
        (Err(e), _) | (_, Err(e)) => return error(StatusCode::BAD_REQUEST, e),
    };
    if request.queries.is_empty() {
        return error(StatusCode::BAD_REQUEST, "No queries found");
    }
    let default_uid = {
        let datasources = host.datasources.read().await;
        datasources.iter().find(|d| d.config.is_default).or(datasources.first()).map(|d| d.config.uid.clone()).unwrap_or_default()
    };
    let mut groups: HashMap<String, Vec<pluginv2::DataQuery>> = HashMap::new();
    for query in &request.queries {
        let uid = query["datasource"]["uid"].as_str().unwrap_or(&default_uid).to_string();
        groups.entry(uid).or_default().push(pluginv2::DataQuery {
            ref_id: query["refId"].as_str().filter(|r| !r.is_empty()).unwrap_or("A").to_string(),
            max_data_points: query["maxDataPoints"].as_i64().unwrap_or(100),
            interval_ms: query["intervalMs"].as_i64().unwrap_or(1000),
            time_range: Some(pluginv2::TimeRange { from_epoch_ms: from, to_epoch_ms: to }),
            json: serde_json::to_vec(query).unwrap_or_default(),
            query_type: query["queryType"].as_str().unwrap_or_default().to_string(),
        });
    }
    let answers = futures_util::future::join_all(groups.into_iter().map(|(uid, queries)| {
        let host = host.clone();
        async move { run_group(&host, &uid, queries).await }
    }))
    .await;
    let mut results = serde_json::Map::new();
    let mut any_error = false;
    for group in answers {
        for (ref_id, result) in group {
            any_error |= result.get("error").is_some();
            results.insert(ref_id, result);
        }
    }
    let status = if any_error { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    (status, Json(json!({ "results": results }))).into_response()
}

async fn run_group(host: &Host, uid: &str, queries: Vec<pluginv2::DataQuery>) -> Vec<(String, Value)> {
    let fail = |queries: &[pluginv2::DataQuery], status: u16, message: String| {
        queries.iter().map(|q| (q.ref_id.clone(), host_error(status, message.clone()))).collect()
    };
    let (plugin_id, settings) = {
        let datasources = host.datasources.read().await;
        match datasources.iter().find(|d| d.config.uid == uid) {
            Some(ds) => (ds.config.plugin_id.clone(), ds.instance_settings()),
            None => return fail(&queries, 404, format!("data source not found: {uid}")),
        }
    };
    let Some(backend) = host.backends.get(&plugin_id) else {
        return fail(&queries, 500, format!("plugin {plugin_id} has no running backend"));
    };
    let request = pluginv2::QueryDataRequest {
        plugin_context: Some(host.plugin_context(&plugin_id, Some(settings))),
        headers: HashMap::new(),
        queries: queries.clone(),
    };
    let response = match backend.clients().data.query_data(request).await {
        Ok(response) => response.into_inner(),
        Err(status) => return fail(&queries, 500, format!("plugin error: {}", status.message())),
    };
    queries
        .iter()
        .map(|q| {
            let result = match response.responses.get(&q.ref_id) {
                None => host_error(500, "the plugin returned no result for this query".into()),
                Some(r) => data_response_json(r),
            };
            (q.ref_id.clone(), result)
        })
        .collect()
}

/// A DataResponse as Grafana's JSON (sdk backend/json.go writeDataResponseJSON): `error` with
/// `errorSource` beside it (written even when the plugin left it empty), `status` (0 reads as
/// 500 with an error, 200 without), `frames`.
pub fn data_response_json(response: &pluginv2::DataResponse) -> Value {
    let mut frames = Vec::with_capacity(response.frames.len());
    for bytes in &response.frames {
        match Frame::from_arrow(bytes) {
            Ok(frame) => frames.push(frame.to_json()),
            Err(e) => return host_error(500, format!("cannot decode a frame from the plugin: {e}")),
        }
    }
    let failed = !response.error.is_empty();
    let status = match response.status {
        0 if failed => 500,
        0 => 200,
        status => status,
    };
    let mut result = json!({ "status": status, "frames": frames });
    if failed {
        result["error"] = json!(response.error);
        result["errorSource"] = json!(response.error_source);
    }
    result
}

/// A result the host itself fails (no datasource, no backend, an undecodable answer): the
/// query never got a usable answer from the plugin, which Grafana counts as the plugin's.
fn host_error(status: u16, message: String) -> Value {
    json!({ "status": status, "frames": [], "error": message, "errorSource": "plugin" })
}

async fn datasource_call_settings(host: &Host, uid: &str) -> Result<(String, pluginv2::DataSourceInstanceSettings), Response> {
    let datasources = host.datasources.read().await;
    let ds = datasources
        .iter()
        .find(|d| d.config.uid == uid)
        .ok_or_else(|| error(StatusCode::NOT_FOUND, "Data source not found"))?;
    if !host.backends.contains_key(&ds.config.plugin_id) {
        return Err(error(StatusCode::NOT_FOUND, "Plugin not registered"));
    }
    Ok((ds.config.plugin_id.clone(), ds.instance_settings()))
}

/// `GET /api/datasources/uid/:uid/health` (pkg/api/datasources.go checkDatasourceHealth).
async fn health(State(host): State<Shared>, Path(uid): Path<String>) -> Response {
    let (plugin_id, settings) = match datasource_call_settings(&host, &uid).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let request = pluginv2::CheckHealthRequest {
        plugin_context: Some(host.plugin_context(&plugin_id, Some(settings))),
        headers: HashMap::new(),
    };
    let mut client = host.backends[&plugin_id].clients().diagnostics;
    match client.check_health(request).await {
        Ok(response) => {
            let response = response.into_inner();
            let status = match HealthStatus::try_from(response.status) {
                Ok(HealthStatus::Ok) => "OK",
                Ok(HealthStatus::Error) => "ERROR",
                _ => "UNKNOWN",
            };
            health_payload(status, response.message, &response.json_details)
        }
        // Grafana's plugin client turns Unimplemented into a result (grpcplugin client_v2.go
        // CheckHealth): status UNKNOWN, which the handler answers with 400 like any non-OK.
        Err(status) if status.code() == tonic::Code::Unimplemented => health_payload("UNKNOWN", "Health check not implemented".into(), &[]),
        Err(status) if status.code() == tonic::Code::Unavailable => error(StatusCode::SERVICE_UNAVAILABLE, "Plugin unavailable"),
        Err(status) => error(StatusCode::INTERNAL_SERVER_ERROR, format!("Plugin health check failed: {}", status.message())),
    }
}

/// The health answer as pkg/api/datasources.go checkDatasourceHealth writes it: status and
/// message; `details` only when the plugin sent some, and those must be a JSON object (Go
/// unmarshals them into a map): anything else is a 500; 200 for OK, else 400.
pub fn health_payload(status: &str, message: String, json_details: &[u8]) -> Response {
    let mut payload = json!({ "status": status, "message": message });
    if !json_details.is_empty() {
        match serde_json::from_slice::<Value>(json_details) {
            // Go's json.Unmarshal of `null` into a map leaves it nil, written back as null.
            Ok(details @ (Value::Object(_) | Value::Null)) => payload["details"] = details,
            _ => return error(StatusCode::INTERNAL_SERVER_ERROR, "Failed to unmarshal detailed response from backend plugin"),
        }
    }
    let code = if status == "OK" { StatusCode::OK } else { StatusCode::BAD_REQUEST };
    (code, Json(payload)).into_response()
}

async fn resource_root(state: State<Shared>, Path(uid): Path<String>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    call_resource(state, uid, String::new(), method, uri, headers, body).await
}

async fn resource(state: State<Shared>, Path((uid, path)): Path<(String, String)>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    call_resource(state, uid, path, method, uri, headers, body).await
}

/// `/api/datasources/uid/:uid/resources/*` -> CallResource, streamed back.
async fn call_resource(State(host): State<Shared>, uid: String, path: String, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    if !matches!(method, Method::GET | Method::POST | Method::PUT | Method::DELETE | Method::PATCH) {
        return error(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed");
    }
    let (plugin_id, settings) = match datasource_call_settings(&host, &uid).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let mut grpc_headers: HashMap<String, pluginv2::StringList> = HashMap::new();
    for (name, value) in &headers {
        // Grafana's client middleware drops cookies and auth headers before the plugin.
        if matches!(name.as_str(), "cookie" | "authorization") {
            continue;
        }
        if let Ok(value) = value.to_str() {
            grpc_headers.entry(name.as_str().to_string()).or_default().values.push(value.to_string());
        }
    }
    let url = match uri.query() {
        Some(query) => format!("{path}?{query}"),
        None => path.clone(),
    };
    let request = pluginv2::CallResourceRequest {
        plugin_context: Some(host.plugin_context(&plugin_id, Some(settings))),
        path,
        method: method.to_string(),
        url,
        headers: grpc_headers,
        body,
    };
    let mut client = host.backends[&plugin_id].clients().resource;
    let mut stream = match client.call_resource(request).await {
        Ok(stream) => stream.into_inner(),
        Err(status) if status.code() == tonic::Code::Unimplemented => return error(StatusCode::NOT_FOUND, "Not found"),
        Err(status) => return error(StatusCode::INTERNAL_SERVER_ERROR, status.message().to_string()),
    };
    let first = match stream.next().await {
        Some(Ok(first)) => first,
        Some(Err(status)) if status.code() == tonic::Code::Unimplemented => return error(StatusCode::NOT_FOUND, "Not found"),
        Some(Err(status)) => return error(StatusCode::INTERNAL_SERVER_ERROR, status.message().to_string()),
        None => return error(StatusCode::INTERNAL_SERVER_ERROR, "the plugin sent no response"),
    };
    let mut response = Response::builder().status(StatusCode::from_u16(first.code as u16).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR));
    for (name, values) in &first.headers {
        for value in &values.values {
            response = response.header(name, value);
        }
    }
    let rest = stream.map(|item| item.map(|chunk| chunk.body).map_err(|status| std::io::Error::other(status.message().to_string())));
    let body = futures_util::stream::once(async move { Ok::<_, std::io::Error>(first.body) }).chain(rest);
    response.body(Body::from_stream(body)).unwrap_or_else(|e| error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))
}

async fn list_datasources(State(host): State<Shared>) -> Response {
    let datasources = host.datasources.read().await;
    Json(datasources.iter().map(|d| d.api_json()).collect::<Vec<_>>()).into_response()
}

async fn get_datasource(State(host): State<Shared>, Path(uid): Path<String>) -> Response {
    let datasources = host.datasources.read().await;
    match datasources.iter().find(|d| d.config.uid == uid) {
        Some(ds) => Json(ds.api_json()).into_response(),
        None => error(StatusCode::NOT_FOUND, "Data source not found"),
    }
}

/// `PUT /api/datasources/uid/:uid`: what the datasource page saves before "test".
async fn put_datasource(State(host): State<Shared>, Path(uid): Path<String>, Json(update): Json<Value>) -> Response {
    let mut datasources = host.datasources.write().await;
    let Some(ds) = datasources.iter_mut().find(|d| d.config.uid == uid) else {
        return error(StatusCode::NOT_FOUND, "Data source not found");
    };
    if let Some(name) = update["name"].as_str() {
        ds.config.name = name.to_string();
    }
    if let Some(url) = update["url"].as_str() {
        ds.config.url = url.to_string();
    }
    if let Some(basic_auth) = update["basicAuth"].as_bool() {
        ds.config.basic_auth = basic_auth;
    }
    if let Some(user) = update["basicAuthUser"].as_str() {
        ds.config.basic_auth_user = user.to_string();
    }
    if let Some(json_data) = update["jsonData"].as_object() {
        ds.config.json_data = json_data.clone();
    }
    if let Some(secure) = update["secureJsonData"].as_object() {
        for (key, value) in secure {
            if let Some(value) = value.as_str() {
                ds.config.secure_json_data.insert(key.clone(), value.to_string());
            }
        }
    }
    ds.version += 1;
    ds.updated_ms = now_ms();
    Json(json!({ "datasource": ds.api_json(), "id": ds.id, "message": "Datasource updated", "name": ds.config.name })).into_response()
}

/// `GET /api/plugins/:id/metrics` -> CollectMetrics (Prometheus text).
async fn plugin_metrics(State(host): State<Shared>, Path(id): Path<String>) -> Response {
    let Some(backend) = host.backends.get(&id) else {
        return error(StatusCode::NOT_FOUND, "Plugin not found, no installed plugin with that id");
    };
    let request = pluginv2::CollectMetricsRequest { plugin_context: Some(host.plugin_context(&id, None)) };
    match backend.clients().diagnostics.collect_metrics(request).await {
        Ok(response) => {
            let text = response.into_inner().metrics.map(|m| m.prometheus).unwrap_or_default();
            ([("content-type", "text/plain; version=0.0.4")], text).into_response()
        }
        Err(status) => error(StatusCode::INTERNAL_SERVER_ERROR, status.message().to_string()),
    }
}

/// `GET /api/plugins/:id/settings` (pkg/api/plugins.go GetPluginSettingByID), what AppRootPage
/// reads before it loads an app's module.js: the plugin's manifest plus whether it is enabled.
async fn plugin_settings(State(host): State<Shared>, Path(id): Path<String>) -> Response {
    let Some(plugin) = host.plugin(&id) else {
        return error(StatusCode::NOT_FOUND, "Plugin not found, no installed plugin with that id");
    };
    let json = &plugin.json;
    let default_nav = json["includes"].as_array().and_then(|includes| {
        includes.iter().find(|i| i["defaultNav"] == true).and_then(|i| i["path"].as_str()).map(str::to_string)
    });
    let enabled = plugin.plugin_type != "app" || host.enabled_apps.contains(&id);
    Json(json!({
        "id": id, "type": plugin.plugin_type, "name": json["name"], "info": json["info"], "includes": json["includes"],
        "dependencies": json["dependencies"], "module": host.module(plugin), "baseUrl": host.base_url(plugin),
        "enabled": enabled, "pinned": enabled, "autoEnabled": false, "jsonData": {}, "secureJsonFields": {},
        "defaultNavUrl": default_nav.unwrap_or_else(|| format!("/plugins/{id}/")), "state": "", "signature": "unsigned",
        "hasUpdate": false, "latestVersion": "",
    }))
    .into_response()
}

async fn get_dashboard(State(host): State<Shared>, Path(uid): Path<String>) -> Response {
    match host.dashboards.iter().find(|d| d.uid == uid) {
        Some(d) => Json(json!({ "dashboard": d.json, "meta": { "slug": slug(&d.title), "folderTitle": d.folder, "provisioned": true } })).into_response(),
        None => error(StatusCode::NOT_FOUND, "Dashboard not found"),
    }
}

async fn search(State(host): State<Shared>, Query(params): Query<HashMap<String, String>>) -> Response {
    let needle = params.get("query").map(|q| q.to_lowercase()).unwrap_or_default();
    let hits: Vec<Value> = host
        .dashboards
        .iter()
        .filter(|d| d.title.to_lowercase().contains(&needle))
        .map(|d| json!({ "uid": d.uid, "title": d.title, "type": "dash-db", "url": format!("/d/{}/{}", d.uid, slug(&d.title)), "folderTitle": d.folder }))
        .collect();
    Json(hits).into_response()
}

fn slug(title: &str) -> String {
    let mut slug = String::new();
    for c in title.to_lowercase().chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    slug.trim_end_matches('-').to_string()
}

/// The settings a Grafana page boots with (window.grafanaBootData.settings, /api/frontend/settings).
async fn settings_json(host: &Host) -> Value {
    let datasources = host.datasources.read().await;
    let mut by_name = serde_json::Map::new();
    let mut default_name = Value::Null;
    for ds in datasources.iter() {
        let meta = host.plugin(&ds.config.plugin_id).map(|p| {
            let mut meta = p.json.clone();
            meta["module"] = json!(host.module(p));
            meta["baseUrl"] = json!(host.base_url(p));
            meta
        });
        if ds.config.is_default {
            default_name = json!(ds.config.name);
        }
        by_name.insert(
            ds.config.name.clone(),
            json!({
                "id": ds.id, "uid": ds.config.uid, "type": ds.config.plugin_id, "name": ds.config.name,
                "meta": meta, "url": format!("/api/datasources/proxy/uid/{}", ds.config.uid),
                "isDefault": ds.config.is_default, "access": "proxy", "jsonData": ds.config.json_data, "readOnly": false,
            }),
        );
    }
    let panels: serde_json::Map<String, Value> = host
        .plugins
        .iter()
        .filter(|p| p.plugin_type == "panel")
        .map(|p| {
            (p.id.clone(), json!({ "id": p.id, "name": p.json["name"], "info": p.json["info"], "module": host.module(p),
                "baseUrl": host.base_url(p), "hideFromList": false, "sort": 100, "skipDataQuery": false, "state": "" }))
        })
        .collect();
    let apps: serde_json::Map<String, Value> = host
        .plugins
        .iter()
        .filter(|p| p.plugin_type == "app")
        .map(|p| (p.id.clone(), json!({ "id": p.id, "path": host.module(p), "version": p.json["info"]["version"], "preload": false })))
        .collect();
    json!({
        "appSubUrl": "", "appUrl": "/", "namespace": "default", "featureToggles": {},
        "buildInfo": { "env": "production", "version": format!("{}-pgscope-stand-in", crate::backend::GRAFANA_VERSION), "edition": "Open Source" },
        "grafanaJavascriptAgent": { "enabled": false },
        "datasources": by_name, "defaultDatasource": default_name, "panels": panels, "apps": apps,
        "pgscopeStandIn": true,
    })
}

async fn frontend_settings(State(host): State<Shared>) -> Response {
    Json(settings_json(&host).await).into_response()
}

/// Every other GET is the single page: boot data first, then SystemJS, then the host bundle.
async fn page(State(host): State<Shared>, method: Method, uri: Uri) -> Response {
    // Grafana's own assets (fonts, images) are not in npm: a plain 404, not the page.
    if method != Method::GET || uri.path().starts_with("/public/") || uri.path().starts_with("/api/") {
        return error(StatusCode::NOT_FOUND, "Not found");
    }
    let boot = json!({
        "user": { "id": 1, "uid": "u-1", "login": "admin", "isSignedIn": true, "orgId": 1, "orgRole": "Admin", "theme": "dark", "timezone": "browser" },
        "settings": settings_json(&host).await,
        "navTree": [],
        "assets": {},
    });
    // `</` must not end the script element early.
    let boot = boot.to_string().replace("</", "<\\/");
    Html(format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>pgscope · Grafana stand-in</title><base href=\"/\">\n\
         <link rel=\"stylesheet\" href=\"/public/host/host.css\">\n\
         <script>window.grafanaBootData = {boot};</script>\n\
         </head><body class=\"theme-dark\"><div id=\"reactRoot\"></div>\n\
         <script src=\"/public/vendor/systemjs/system.min.js\"></script>\n\
         <script src=\"/public/vendor/systemjs/extras/amd.min.js\"></script>\n\
         <script src=\"/public/host/host.js\"></script>\n\
         </body></html>\n"
    ))
    .into_response()
}
