//! The `promql` query model: what the panel, Explore or alerting sends in a query's JSON, read
//! and planned into the TSDB requests it needs (macros interpolated, fragile joins rewritten).
//! Pure; the requests are sent by `datasource`.

use std::time::Duration;

use serde::Deserialize;

use super::macros::{self, MacroContext};
use super::step::calculate_step;
use crate::duration;
use crate::failure::QueryFailure;
use crate::fallback::{self, Rewrite};
use crate::prom::request::PromRequest;
use crate::settings::Settings;
use crate::wire::{FallbackMode, QueryType};

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
    #[error("{}", QueryType::parse(.0).err().unwrap_or_default())]
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

impl PromQueryModel {
    /// The query's own fallback mode; None leaves it to the datasource's setting.
    pub fn fallback_mode(&self) -> Result<Option<FallbackMode>, QueryError> {
        FallbackMode::parse(&self.fallback).map_err(|_| QueryError::BadFallback(self.fallback.trim().to_string()))
    }
}

impl From<QueryError> for QueryFailure {
    fn from(e: QueryError) -> QueryFailure {
        QueryFailure::bad_query(e.to_string())
    }
}

/// Parses a query's JSON (the bytes Grafana forwards unchanged).
pub fn parse_model(query_type: &str, json: &[u8]) -> Result<PromQueryModel, QueryError> {
    if QueryType::parse(query_type) != Ok(QueryType::Promql) {
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
    let fallback_enabled = match model.fallback_mode()? {
        None => settings.fallback_enabled,
        Some(mode) => mode == FallbackMode::Auto,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings::from_instance(Some(&crate::pluginv2::DataSourceInstanceSettings {
            url: "http://127.0.0.1:8428".into(),
            ..Default::default()
        }))
        .unwrap()
    }

    fn context(range_s: i64) -> QueryContext {
        QueryContext { from_ms: 1_700_000_000_000, to_ms: 1_700_000_000_000 + range_s * 1000, max_data_points: 1000 }
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
}
