//! Resource routes (`/api/datasources/uid/<uid>/resources/<path>`), answered without touching
//! the TSDB unless a route needs it. For now: `rewrite`, the preview the query editor shows
//! (what is sent for an expression, and every note of the fallback engine).
//! Routes never take a host or URL from the request: the TSDB is the configured one.

use serde_json::{json, Value};

use crate::fallback::{self, Reason};
use crate::settings::Settings;
use crate::{lint, stored};

/// (HTTP status, JSON body) for a resource request.
pub fn handle(path: &str, url: &str, settings: &Settings) -> (u16, Value) {
    let params = query_params(url);
    match path.trim_matches('/') {
        "rewrite" => {
            let Some(expr) = params.iter().find(|(k, _)| k == "expr").map(|(_, v)| v.as_str()) else {
                return (400, json!({ "message": "rewrite needs ?expr=<PromQL>" }));
            };
            let enabled = match params.iter().find(|(k, _)| k == "fallback").map(|(_, v)| v.as_str()) {
                None | Some("") => settings.fallback_enabled,
                Some("auto") => true,
                Some("off") => false,
                Some(other) => return (400, json!({ "message": format!("fallback {other:?} is neither auto nor off") })),
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
        other => (404, json!({ "message": format!("no resource {other:?}: pgscope serves `rewrite`") })),
    }
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
        Settings::from_instance(Some(&grafana_plugin_sdk::pluginv2::DataSourceInstanceSettings { url: "http://x".into(), ..Default::default() })).unwrap()
    }

    #[test]
    fn rewrite_preview() {
        let url = "rewrite?expr=rate(x%5B%24__rate_interval%5D)+*+on(queryid)+group_left(displayname)+pgss_query_info";
        let (status, body) = handle("rewrite", url, &settings());
        assert_eq!(status, 200);
        assert_eq!(body["changed"], true);
        assert!(body["query"].as_str().unwrap().contains("rate(x[$__rate_interval]) * on (queryid)"), "{body}");
        assert_eq!(body["notes"][0]["reason"], "rewritten");
        let (_, off) = handle("rewrite", &format!("{url}&fallback=off"), &settings());
        assert_eq!(off["changed"], false);
    }

    #[test]
    fn bad_requests() {
        assert_eq!(handle("rewrite", "rewrite", &settings()).0, 400);
        assert_eq!(handle("rewrite", "rewrite?expr=up&fallback=x", &settings()).0, 400);
        assert_eq!(handle("../../etc/passwd", "../../etc/passwd", &settings()).0, 404);
        assert_eq!(decode("a%2"), "a%2");
        assert_eq!(decode("%zz%41+b"), "%zzA b");
    }
}
