//! Resource routes (`/api/datasources/uid/<uid>/resources/<path>`) for the editors and
//! template variables:
//!
//! - `rewrite?expr=&fallback=` — what is sent for an expression, and every note of the fallback
//!   engine (no TSDB call);
//! - `labels`, `label/<name>/values`, `metrics`, `series` (each with optional `match[]`,
//!   `start`, `end`) — the TSDB's label and series APIs, answered as plain JSON arrays;
//! - `query?expr=&time=` — an instant query's series (`query_result(...)` variables);
//! - `advice?queryid=&database=` — index advice for one statement through the PostgreSQL
//!   connection (`pgss::advice`; served by `advice`, which needs the connection).
//!
//! Routes never take a host, URL or path from the request: they call fixed API paths under the
//! configured TSDB; a label name must be a label name, so `..` and `/` cannot travel.

use serde_json::{json, Value};

use crate::fallback::{self, Reason};
use crate::prom::client::PromClient;
use crate::prom::convert;
use crate::settings::Settings;
use crate::wire::FallbackMode;
use crate::{lint, stored};

/// (HTTP status, JSON body) for a resource request.
pub async fn handle(path: &str, url: &str, client: &PromClient) -> (u16, Value) {
    let params = query_params(url);
    let path = path.trim_matches('/');
    match path.split('/').collect::<Vec<_>>().as_slice() {
        ["rewrite"] => rewrite_preview(&params, client.settings()),
        ["labels"] => tsdb_list(client, "api/v1/labels", &tsdb_params(&params, LIST_PARAMS)).await,
        ["label", name, "values"] => {
            if !is_label_name(name) {
                return (400, json!({ "message": format!("{name:?} is not a label name") }));
            }
            tsdb_list(client, &format!("api/v1/label/{name}/values"), &tsdb_params(&params, LIST_PARAMS)).await
        }
        ["metrics"] => tsdb_list(client, "api/v1/label/__name__/values", &tsdb_params(&params, LIST_PARAMS)).await,
        ["series"] => {
            let selectors = tsdb_params(&params, LIST_PARAMS);
            if !selectors.iter().any(|(k, _)| *k == "match[]") {
                return (400, json!({ "message": "series needs at least one match[] selector" }));
            }
            tsdb_list(client, "api/v1/series", &selectors).await
        }
        ["query"] => instant_series(client, &params).await,
        _ => (404, json!({ "message": format!("no resource {path:?}: pgscope serves rewrite, labels, label/<name>/values, metrics, series, query, advice") })),
    }
}

/// `advice?queryid=&database=`: hypothetical indexes for one statement (`pgss::advice`), or why
/// not, in PostgreSQL's words.
pub async fn advice(url: &str, pg: Option<&crate::pgss::postgres::PgNames>) -> (u16, Value) {
    let params = query_params(url);
    let get = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim().to_string()).unwrap_or_default();
    let Ok(queryid) = get("queryid").parse::<i64>() else {
        return (400, json!({ "message": format!("advice needs a queryid (a number as pg_stat_statements shows it), not {:?}", get("queryid")) }));
    };
    let database = get("database");
    if database.is_empty() || database.len() > 63 || database.contains('\0') {
        return (400, json!({ "message": "advice needs the statement's database (its name, at most 63 bytes)" }));
    }
    let Some(pg) = pg else {
        return (400, json!({ "message": format!("index advice needs the PostgreSQL connection (pgssConnection in the datasource's secure settings): {}", crate::pgss::advice::PRIVILEGES) }));
    };
    match crate::pgss::advice::advise(pg, &database, queryid).await {
        Ok(advice) => (200, serde_json::to_value(advice).unwrap_or(Value::Null)),
        Err(message) => (422, json!({ "message": message, "needs": crate::pgss::advice::PRIVILEGES })),
    }
}

/// What the label and series APIs take from a request: selectors and a time range.
const LIST_PARAMS: &[&str] = &["match[]", "start", "end"];

/// The request parameters a TSDB API takes, and only those.
fn tsdb_params(params: &[(String, String)], allowed: &[&'static str]) -> Vec<(&'static str, String)> {
    params
        .iter()
        .filter_map(|(k, v)| allowed.iter().find(|a| **a == k.as_str()).map(|a| (*a, v.clone())))
        .collect()
}

fn is_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_') && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A TSDB API answer whose `data` is a list, returned as that list.
async fn tsdb_list(client: &PromClient, path: &str, params: &[(&str, String)]) -> (u16, Value) {
    let answer = match client.get_json(path, params, None).await {
        Ok(answer) => answer,
        Err(e) => return (e.status(), json!({ "message": e.to_string() })),
    };
    let body: Value = match serde_json::from_slice(&answer.body) {
        Ok(body) => body,
        Err(e) => return (502, json!({ "message": format!("the TSDB's answer is not JSON: {e}") })),
    };
    match (body["status"].as_str(), body.get("data")) {
        (Some("success"), Some(data)) if data.is_array() => (200, data.clone()),
        _ => {
            let message = body["error"].as_str().unwrap_or("the TSDB's answer has no list");
            let status = if answer.status.is_success() { 502 } else { answer.status.as_u16() };
            (status, json!({ "message": message }))
        }
    }
}

/// `query?expr=&time=`: the series of an instant query, as `[{"metric": {..}, "value": n}]`.
async fn instant_series(client: &PromClient, params: &[(String, String)]) -> (u16, Value) {
    let Some(expr) = params.iter().find(|(k, _)| k == "expr").map(|(_, v)| v.as_str()) else {
        return (400, json!({ "message": "query needs ?expr=<PromQL>" }));
    };
    let time = match params.iter().find(|(k, _)| k == "time") {
        Some((_, t)) => match t.parse::<f64>() {
            Ok(t) if t.is_finite() => t,
            _ => return (400, json!({ "message": format!("time {t:?} is not unix seconds") })),
        },
        None => chrono::Utc::now().timestamp() as f64,
    };
    let answer = match client.query_instant(expr, time, None).await {
        Ok(answer) => answer,
        Err(e) => return (e.status(), json!({ "message": e.to_string() })),
    };
    match convert::convert(&answer.body) {
        Ok(frames) => {
            let series: Vec<Value> = frames
                .iter()
                .filter_map(|frame| {
                    let field = frame.fields.get(1)?;
                    let value = match &field.values {
                        crate::frame::Values::Float64(v) => json!(v.first().copied().filter(|x| x.is_finite())),
                        crate::frame::Values::String(v) => json!(v.first()),
                        crate::frame::Values::Time(_) => Value::Null,
                    };
                    Some(json!({ "metric": field.labels.clone().unwrap_or_default(), "value": value }))
                })
                .collect();
            (200, Value::Array(series))
        }
        Err(e) => (if answer.status.is_success() { 400 } else { answer.status.as_u16() }, json!({ "message": e.to_string() })),
    }
}

fn rewrite_preview(params: &[(String, String)], settings: &Settings) -> (u16, Value) {
    let Some(expr) = params.iter().find(|(k, _)| k == "expr").map(|(_, v)| v.as_str()) else {
        return (400, json!({ "message": "rewrite needs ?expr=<PromQL>" }));
    };
    let mode = params.iter().find(|(k, _)| k == "fallback").map_or("", |(_, v)| v.as_str());
    let enabled = match FallbackMode::parse(mode) {
        Ok(None) => settings.fallback_enabled,
        Ok(Some(mode)) => mode == FallbackMode::Auto,
        Err(reason) => return (400, json!({ "message": format!("fallback {reason}") })),
    };
    if !enabled {
        return (200, json!({ "query": expr, "changed": false, "notes": [{ "reason": "off", "text": "the fallback is off for this query" }] }));
    }
    let rules = &settings.fallback_rules;
    let sent = stored::fix_query(expr, rules);
    let notes: Vec<Value> = fallback::rewrite(&lint::parseable(expr), rules)
        .notes
        .into_iter()
        .map(|n| json!({ "reason": reason_name(n.reason), "text": n.text }))
        .collect();
    (200, json!({ "query": sent.clone().unwrap_or_else(|| expr.to_string()), "changed": sent.is_some(), "notes": notes }))
}

fn reason_name(reason: Reason) -> &'static str {
    match reason {
        Reason::Rewritten => "rewritten",
        Reason::NotAnalysed => "not_analysed",
        Reason::WouldCollapse => "would_collapse",
        Reason::InfoFilters => "info_filters",
        Reason::AlreadyHasFallback => "already_has_fallback",
        Reason::PlainOrDuplicates => "plain_or_duplicates",
        Reason::Filter => "filter",
        Reason::ChangesValues => "changes_values",
        Reason::DivisionDisabled => "division_disabled",
        Reason::NoJoinKey => "no_join_key",
        Reason::Abandoned => "abandoned",
    }
}

/// `a=1&b=x%20y` from a resource URL (`path?query`), percent- and plus-decoded.
fn query_params(url: &str) -> Vec<(String, String)> {
    let query = url.split_once('?').map_or("", |(_, q)| q);
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes[i];
        if byte == b'+' {
            out.push(b' ');
            i += 1;
            continue;
        }
        if byte == b'%' {
            let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
            if let Some(value) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(value);
                i += 3;
                continue;
            }
        }
        out.push(byte);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings::from_instance(Some(&crate::pluginv2::DataSourceInstanceSettings { url: "http://x".into(), ..Default::default() })).unwrap()
    }

    fn preview(url: &str) -> (u16, Value) {
        rewrite_preview(&query_params(url), &settings())
    }

    #[test]
    fn rewrite_preview_route() {
        let url = "rewrite?expr=rate(x%5B%24__rate_interval%5D)+*+on(queryid)+group_left(displayname)+pgss_query_info";
        let (status, body) = preview(url);
        assert_eq!(status, 200);
        assert_eq!(body["changed"], true);
        assert!(body["query"].as_str().unwrap().contains("rate(x[$__rate_interval]) * on (queryid)"), "{body}");
        assert_eq!(body["notes"][0]["reason"], "rewritten");
        let (_, off) = preview(&format!("{url}&fallback=off"));
        assert_eq!(off["changed"], false);
    }

    #[test]
    fn bad_requests() {
        assert_eq!(preview("rewrite").0, 400);
        assert_eq!(preview("rewrite?expr=up&fallback=x").0, 400);
        assert!(is_label_name("datname") && is_label_name("__name__"));
        assert!(!is_label_name("..") && !is_label_name("a/b") && !is_label_name("") && !is_label_name("1x"));
        assert_eq!(decode("a%2"), "a%2");
        assert_eq!(decode("%zz%41+b"), "%zzA b");
    }
}
