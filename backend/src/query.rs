//! The `promql` query model: what the panel, Explore or alerting sends in a query's JSON, the
//! step Grafana's Prometheus datasource would use, and the finishing touches it puts on frames
//! (series names, legends, `executedQueryString`). Pure functions; the I/O is in `datasource`.
//! Not for: rewriting the expression (the fallback engine) or talking HTTP (`prom::client`).

use std::time::Duration;

use serde::Deserialize;

use crate::duration;
use crate::fallback::{self, Rewrite};
use crate::frame::{FieldConfig, Frame, Labels};
use crate::macros::{self, MacroContext};
use crate::settings::Settings;

/// Query types the datasource answers (the query JSON's `queryType`).
pub const QUERY_TYPE_PROMQL: &str = "promql";
pub const QUERY_TYPE_STACK_HEALTH: &str = "stackHealth";

/// The members of a `promql` query's JSON we read; everything else is ignored.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PromQueryModel {
    pub expr: String,
    pub legend_format: String,
    pub range: Option<bool>,
    pub instant: Option<bool>,
    /// The minimum step ("Min step" in the editor), e.g. `15s`.
    pub interval: String,
    /// "auto", "off", or "" for the datasource's setting.
    pub fallback: String,
    /// "time_series" (default) or "table".
    pub format: String,
}

/// What Grafana tells us about a query besides its JSON.
#[derive(Debug, Clone, Copy)]
pub struct QueryContext {
    pub from_ms: i64,
    pub to_ms: i64,
    pub max_data_points: i64,
}

/// One request to make to the TSDB.
#[derive(Debug, Clone, PartialEq)]
pub enum PromRequest {
    Range { expr: String, start: f64, end: f64, step: Duration },
    Instant { expr: String, time: f64 },
}

/// A query, validated and planned.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedQuery {
    /// What is sent: macros interpolated, fragile joins rewritten.
    pub expr: String,
    pub legend_format: String,
    pub step: Duration,
    pub requests: Vec<PromRequest>,
    /// What the fallback engine did (unchanged when it is off).
    pub rewrite: Rewrite,
    /// `format: table`: one long frame with labels as columns.
    pub table: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("the query JSON is not valid: {0}")]
    BadJson(String),
    #[error("the query has no expression: enter a PromQL expression")]
    EmptyExpr,
    #[error("query type {0:?} is not supported by this datasource (supported: promql, stackHealth)")]
    UnsupportedType(String),
    #[error("min step: {0}")]
    BadMinStep(String),
    #[error("the time range is empty or reversed (from {from_ms} to {to_ms})")]
    BadTimeRange { from_ms: i64, to_ms: i64 },
    #[error("fallback {0:?} is neither auto nor off")]
    BadFallback(String),
    #[error("format {0:?} is not supported: use time_series or table")]
    BadFormat(String),
}

/// Parses a query's JSON (the bytes Grafana forwards unchanged).
pub fn parse_model(query_type: &str, json: &[u8]) -> Result<PromQueryModel, QueryError> {
    if !(query_type.is_empty() || query_type == QUERY_TYPE_PROMQL) {
        return Err(QueryError::UnsupportedType(query_type.to_string()));
    }
    serde_json::from_slice(json).map_err(|e| QueryError::BadJson(e.to_string()))
}

/// Plans the TSDB requests for a query: range, instant or both (range when neither is set).
pub fn plan(model: &PromQueryModel, context: &QueryContext, settings: &Settings) -> Result<PlannedQuery, QueryError> {
    let expr = model.expr.trim();
    if expr.is_empty() {
        return Err(QueryError::EmptyExpr);
    }
    if context.to_ms < context.from_ms {
        return Err(QueryError::BadTimeRange { from_ms: context.from_ms, to_ms: context.to_ms });
    }
    let min_step = match model.interval.trim() {
        "" => settings.scrape_interval,
        text => duration::parse(text).map_err(|e| QueryError::BadMinStep(e.to_string()))?,
    };
    let range = Duration::from_millis((context.to_ms - context.from_ms) as u64);
    let step = calculate_step(range, context.max_data_points, min_step);
    let table = match model.format.trim() {
        "" | "time_series" => false,
        "table" => true,
        other => return Err(QueryError::BadFormat(other.to_string())),
    };
    let fallback_enabled = match model.fallback.trim() {
        "" => settings.fallback_enabled,
        "auto" => true,
        "off" => false,
        other => return Err(QueryError::BadFallback(other.to_string())),
    };
    let interpolated = macros::interpolate(expr, &MacroContext { interval: step, range, scrape_interval: min_step });
    let rewrite = if fallback_enabled {
        fallback::rewrite(&interpolated, &settings.fallback_rules)
    } else {
        Rewrite { query: interpolated, changed: false, fallbacks: vec![], notes: vec![] }
    };
    let sent = rewrite.query.clone();
    let (start, end) = (context.from_ms as f64 / 1000.0, context.to_ms as f64 / 1000.0);
    let want_instant = model.instant.unwrap_or(false);
    let want_range = model.range.unwrap_or(!want_instant);
    let mut requests = Vec::with_capacity(2);
    if want_range {
        if range.is_zero() {
            return Err(QueryError::BadTimeRange { from_ms: context.from_ms, to_ms: context.to_ms });
        }
        requests.push(PromRequest::Range { expr: sent.clone(), start, end, step });
    }
    if want_instant {
        requests.push(PromRequest::Instant { expr: sent.clone(), time: end });
    }
    Ok(PlannedQuery { expr: sent, legend_format: model.legend_format.clone(), step, requests, rewrite, table })
}

/// Grafana's step rule: the range split into `max_data_points` and rounded to a "nice" interval,
/// at least `min_step`, and never more than 11,000 points (Prometheus's limit).
pub fn calculate_step(range: Duration, max_data_points: i64, min_step: Duration) -> Duration {
    let points = if max_data_points > 0 { max_data_points as u128 } else { 100 };
    let calculated = round_interval(Duration::from_millis((range.as_millis() / points) as u64)).max(min_step);
    let safe = round_interval(Duration::from_millis((range.as_millis() / 11_000) as u64));
    calculated.max(safe).max(Duration::from_millis(1))
}

/// Rounds an interval to the nearest "nice" value, as Grafana's interval calculator does.
fn round_interval(interval: Duration) -> Duration {
    const TABLE: &[(u64, u64)] = &[
        (10, 1),
        (15, 10),
        (35, 20),
        (75, 50),
        (150, 100),
        (350, 200),
        (750, 500),
        (1_500, 1_000),
        (3_500, 2_000),
        (7_500, 5_000),
        (12_500, 10_000),
        (17_500, 15_000),
        (25_000, 20_000),
        (45_000, 30_000),
        (90_000, 60_000),
        (210_000, 120_000),
        (450_000, 300_000),
        (750_000, 600_000),
        (1_050_000, 900_000),
        (1_500_000, 1_200_000),
        (2_700_000, 1_800_000),
        (5_400_000, 3_600_000),
        (9_000_000, 7_200_000),
        (16_200_000, 10_800_000),
        (32_400_000, 21_600_000),
        (86_400_000, 43_200_000),
        (604_800_000, 86_400_000),
        (1_814_400_000, 604_800_000),
        (3_628_800_000, 2_592_000_000),
    ];
    let ms = interval.as_millis() as u64;
    let rounded = TABLE.iter().find(|(upper, _)| ms <= *upper).map_or(31_536_000_000, |(_, nice)| *nice);
    Duration::from_millis(rounded)
}

/// What the query inspector shows as the query really sent.
pub fn executed_query_string(expr: &str, step: Option<Duration>) -> String {
    match step {
        Some(step) => format!("Expr: {expr}\nStep: {}", duration::format_go(step)),
        None => format!("Expr: {expr}"),
    }
}

/// Names series like Grafana's Prometheus datasource: the legend format with `{{label}}`
/// replaced, or `metric{label="value", ...}`; `__auto` leaves labelled series unnamed (Grafana
/// then builds the name from the labels).
pub fn series_name(legend_format: &str, labels: &Labels, expr: &str) -> String {
    let name = match legend_format.trim() {
        "" => default_series_name(labels),
        "__auto" if !labels.is_empty() => String::new(),
        "__auto" => default_series_name(labels),
        format => render_legend(format, labels),
    };
    if name == "{}" {
        expr.to_string()
    } else {
        name
    }
}

fn default_series_name(labels: &Labels) -> String {
    let metric = labels.get("__name__").map_or("", String::as_str);
    let pairs: Vec<String> =
        labels.iter().filter(|(k, _)| k.as_str() != "__name__").map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    format!("{metric}{{{}}}", pairs.join(", "))
}

fn render_legend(format: &str, labels: &Labels) -> String {
    let mut out = String::with_capacity(format.len());
    let mut rest = format;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        match after.find("}}") {
            Some(close) => {
                if let Some(value) = labels.get(after[..close].trim()) {
                    out.push_str(value);
                }
                rest = &after[close + 2..];
            }
            None => {
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// Adds names, legends, the step and `executedQueryString` to converted frames.
/// `legend_labels[i]`, when set, replaces frame i's labels for naming (fallback series).
pub fn decorate_frames(frames: &mut [Frame], planned: &PlannedQuery, request: &PromRequest, legend_labels: &[Option<Labels>]) {
    let (step, executed) = match request {
        PromRequest::Range { expr, step, .. } => (Some(*step), executed_query_string(expr, Some(*step))),
        PromRequest::Instant { expr, .. } => (None, executed_query_string(expr, None)),
    };
    for (i, frame) in frames.iter_mut().enumerate() {
        frame.meta.get_or_insert_with(Default::default).executed_query_string = Some(executed.clone());
        if frame.fields.len() < 2 {
            continue;
        }
        if let Some(step) = step {
            frame.fields[0].config = Some(FieldConfig { interval: Some(step.as_millis() as f64), ..Default::default() });
        }
        let labels = match legend_labels.get(i) {
            Some(Some(labels)) => labels.clone(),
            _ => frame.fields[1].labels.clone().unwrap_or_default(),
        };
        let name = series_name(&planned.legend_format, &labels, &planned.expr);
        if !name.is_empty() {
            frame.fields[1].config = Some(FieldConfig { display_name_from_ds: Some(name.clone()), ..Default::default() });
        }
        frame.name = name;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings::from_instance(Some(&grafana_plugin_sdk::pluginv2::DataSourceInstanceSettings {
            url: "http://127.0.0.1:8428".into(),
            ..Default::default()
        }))
        .unwrap()
    }

    fn context(range_s: i64) -> QueryContext {
        QueryContext { from_ms: 1_700_000_000_000, to_ms: 1_700_000_000_000 + range_s * 1000, max_data_points: 1000 }
    }

    #[test]
    fn step_follows_grafanas_rule() {
        let s = Duration::from_secs;
        // 1h / 1000 points = 3.6s -> 2s, raised to the 15s scrape interval.
        assert_eq!(calculate_step(s(3600), 1000, s(15)), s(15));
        // 7d / 1000 points = 604.8s -> 10m.
        assert_eq!(calculate_step(s(7 * 86_400), 1000, s(15)), s(600));
        // 1y never exceeds 11,000 points: 31,536,000 / 11,000 = 2,867s -> 1h.
        assert_eq!(calculate_step(s(365 * 86_400), 1_000_000, s(1)), s(3600));
        // No max data points given: Grafana's default of 100.
        assert_eq!(calculate_step(s(3600), 0, s(1)), s(30));
    }

    #[test]
    fn plan_range_instant_or_both() {
        let model = |range, instant| PromQueryModel { expr: " up ".into(), range, instant, ..Default::default() };
        let kinds = |m: &PromQueryModel| {
            plan(m, &context(3600), &settings()).unwrap().requests.iter().map(|r| matches!(r, PromRequest::Range { .. })).collect::<Vec<_>>()
        };
        assert_eq!(kinds(&model(None, None)), vec![true]);
        assert_eq!(kinds(&model(None, Some(true))), vec![false]);
        assert_eq!(kinds(&model(Some(true), Some(true))), vec![true, false]);
        let planned = plan(&model(None, None), &context(3600), &settings()).unwrap();
        assert_eq!(planned.expr, "up");
    }

    #[test]
    fn macros_then_the_fallback_then_the_override() {
        let expr = "rate(calls[$__rate_interval]) * on(queryid) group_left(displayname) pgss_query_info";
        let model = |fallback: &str| PromQueryModel { expr: expr.into(), fallback: fallback.into(), ..Default::default() };
        let planned = plan(&model(""), &context(3600), &settings()).unwrap();
        assert!(planned.rewrite.changed);
        assert!(planned.expr.starts_with("(rate(calls[1m]) * on (queryid)"), "{}", planned.expr);
        assert!(matches!(&planned.requests[0], PromRequest::Range { expr, .. } if expr == &planned.expr));
        let off = plan(&model("off"), &context(3600), &settings()).unwrap();
        assert_eq!(off.expr, "rate(calls[1m0s]) * on(queryid) group_left(displayname) pgss_query_info");
        assert!(matches!(plan(&model("maybe"), &context(3600), &settings()), Err(QueryError::BadFallback(_))));
        let heatmap = PromQueryModel { expr: "up".into(), format: "heatmap".into(), ..Default::default() };
        assert!(matches!(plan(&heatmap, &context(3600), &settings()), Err(QueryError::BadFormat(_))));
        let table = PromQueryModel { expr: "up".into(), format: "table".into(), ..Default::default() };
        assert!(plan(&table, &context(3600), &settings()).unwrap().table);
    }

    #[test]
    fn bad_queries_say_why() {
        let empty = PromQueryModel::default();
        assert_eq!(plan(&empty, &context(60), &settings()), Err(QueryError::EmptyExpr));
        let bad_step = PromQueryModel { expr: "up".into(), interval: "fast".into(), ..Default::default() };
        assert!(matches!(plan(&bad_step, &context(60), &settings()), Err(QueryError::BadMinStep(_))));
        let reversed = QueryContext { from_ms: 10, to_ms: 5, ..context(60) };
        let up = PromQueryModel { expr: "up".into(), ..Default::default() };
        assert!(matches!(plan(&up, &reversed, &settings()), Err(QueryError::BadTimeRange { .. })));
        assert!(matches!(parse_model("promql", b"{\"expr\": 5}"), Err(QueryError::BadJson(_))));
        assert!(matches!(parse_model("promql", b"not json"), Err(QueryError::BadJson(_))));
        assert_eq!(parse_model("sql", b"{}").unwrap_err(), QueryError::UnsupportedType("sql".into()));
        assert_eq!(parse_model("", br#"{"expr":"up","refId":"A","datasource":{"uid":"x"}}"#).unwrap().expr, "up");
    }

    #[test]
    fn series_names_like_grafana() {
        let labels: Labels = [("__name__", "up"), ("job", "node"), ("instance", "a:1")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(series_name("", &labels, "up"), r#"up{instance="a:1", job="node"}"#);
        assert_eq!(series_name("{{job}} @ {{ instance }}", &labels, "up"), "node @ a:1");
        assert_eq!(series_name("{{missing}}x", &labels, "up"), "x");
        assert_eq!(series_name("{{unclosed", &labels, "up"), "{{unclosed");
        assert_eq!(series_name("__auto", &labels, "up"), "");
        assert_eq!(series_name("", &Labels::new(), "1+1"), "1+1");
    }
}
