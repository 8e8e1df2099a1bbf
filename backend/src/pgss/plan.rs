//! Planning the pgss query types, before anything is sent: the query JSON read and checked
//! (`TopQuery::parse`, `parse_queryid`), and the PromQL each query makes built from the detected
//! schema (`TopPlan::build`). Pure; `fetch` runs the plans.

use std::time::Duration;

use serde::Deserialize;

use super::analysis::Order;
use super::catalog::{Measure, Source};
use super::compare::{split_change, ChangeOrder, CompareModel, Comparison};
use super::schema::{Filters, Schema};
use super::text_filter::TextFilter;
use crate::duration::format_go;
use crate::failure::QueryFailure;
use crate::promql_text::{quote, regex_escape, with_matcher};
use crate::settings::Settings;

pub const DEFAULT_LIMIT: usize = 20;
pub const MAX_LIMIT: usize = 5000;
/// Points in a row's sparkline.
const SPARK_POINTS: f64 = 60.0;
/// Above this many rows the sparkline query reads every statement rather than a long regex.
const MAX_SPARK_FILTER: usize = 500;

/// `pgssTopQueries`' JSON.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct TopModel {
    pub order_by: String,
    pub limit: Option<serde_json::Value>,
    pub search: String,
    /// Statement types to keep (`text_filter`): a list, or one string of names.
    pub statement_type: serde_json::Value,
    /// `key=value` a statement's comments carry (sqlcommenter tags).
    pub tag: String,
    #[serde(flatten)]
    pub filters: Filters,
    #[serde(flatten)]
    pub compare: CompareModel,
}

/// `pgssQuery`'s JSON.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct OneModel {
    pub queryid: serde_json::Value,
    #[serde(flatten)]
    pub filters: Filters,
    #[serde(flatten)]
    pub compare: CompareModel,
}

/// The time range and resolution a query asks for.
#[derive(Debug, Clone, Copy)]
pub struct Span {
    pub from: f64,
    pub to: f64,
    pub interval_ms: i64,
    pub max_points: i64,
}

impl Span {
    /// The range in seconds; an empty or reversed range is the query's error.
    pub fn window(&self) -> Result<f64, QueryFailure> {
        if self.to <= self.from {
            return Err(QueryFailure::bad_query(format!("the time range is empty or reversed (from {} to {})", self.from, self.to)));
        }
        Ok(self.to - self.from)
    }
}

/// A `pgssTopQueries` query, read and checked.
pub struct TopQuery {
    pub model: TopModel,
    /// The order, or the order whose change `change` ranks by.
    pub order: Order,
    pub change: Option<ChangeOrder>,
    /// The window compared with, when `compareTo` asks for one.
    pub compare: Option<Comparison>,
    pub limit: usize,
    pub window: f64,
    /// `statementType` and `tag`, read.
    pub text_filter: TextFilter,
}

impl TopQuery {
    pub fn parse(json: &[u8], span: &Span) -> Result<TopQuery, QueryFailure> {
        let model: TopModel =
            serde_json::from_slice(json).map_err(|e| QueryFailure::bad_query(format!("pgssTopQueries: the query JSON is malformed: {e}")))?;
        let (order_by, change) = split_change(&model.order_by);
        let order = Order::parse(order_by).map_err(QueryFailure::bad_query)?;
        let limit = parse_limit(model.limit.as_ref())?;
        let window = span.window()?;
        let compare = model.compare.parse(span.from, span.to, change.is_some())?;
        let text_filter = TextFilter::parse(&model.statement_type, &model.tag).map_err(QueryFailure::bad_query)?;
        Ok(TopQuery { model, order, change, compare, limit, window, text_filter })
    }
}

/// The info metrics names may come from (the fallback's list plus any `*_query_info`), for
/// every statement or for one queryid.
pub fn info_selector(settings: &Settings, queryid: Option<&str>) -> String {
    let queryid = match queryid {
        Some(id) => format!("queryid=\"{}\"", quote(id)),
        None => "queryid!=\"\"".into(),
    };
    info_selector_with(&info_names(settings), &queryid)
}

/// The info metrics' names as a `__name__` regex: the configured ones and any `*_query_info`.
pub fn info_names(settings: &Settings) -> String {
    let mut names: Vec<String> = settings.fallback_rules.info_metrics.iter().map(|n| quote(&regex_escape(n))).collect();
    names.push(".+_query_info".into());
    names.join("|")
}

/// The info metrics `names` (`info_names`) with the queryids `matcher` chooses.
pub fn info_selector_with(names: &str, matcher: &str) -> String {
    format!("{{__name__=~\"{names}\",{matcher}}}")
}

/// Whole seconds, at least one.
pub fn seconds(d: f64) -> Duration {
    Duration::from_secs_f64(d.max(1.0).round())
}

/// Grafana's `$__rate_interval`: max(step + scrape interval, 4 × scrape interval).
pub fn rate_window(step: Duration, scrape: Duration) -> Duration {
    (step + scrape).max(scrape * 4)
}

/// The requests one `pgssTopQueries` query makes, built before any is sent (the bench times the
/// same expressions fetched directly).
pub struct TopPlan {
    pub query: TopQuery,
    pub schema: Schema,
    /// One instant `increase()` per measure the schema has, at the end of the range.
    pub measures: Vec<(Measure, String)>,
    /// The same increases in one query, series keeping their metric names (VictoriaMetrics'
    /// `keep_metric_names`): one index lookup and one pass instead of one per measure. Used
    /// unless the TSDB refused it once (Prometheus has no such modifier).
    pub combined: String,
    /// The ordering measure (else exec time, else calls), whose rate the sparklines show.
    pub spark: Option<Source>,
    pub step: Duration,
    /// Names from any info metric, instant at the end of the range.
    pub info: String,
    /// Filters the schema has no label for.
    pub ignored: Vec<String>,
}

impl TopPlan {
    /// Builds the requests of `query` against `schema`.
    pub fn build(query: TopQuery, schema: Schema, settings: &Settings) -> TopPlan {
        let window_text = format_go(seconds(query.window));
        let by = schema.by_labels();
        let mut ignored = Vec::new();
        let measures: Vec<(Measure, String)> = schema
            .present
            .iter()
            .map(|source| {
                let (selector, skipped) = schema.selector(source.metric, &query.model.filters, &[]);
                ignored.extend(skipped);
                (source.measure, format!("sum by ({by}) (increase({selector}[{window_text}]))"))
            })
            .collect();
        ignored.sort();
        ignored.dedup();
        // The sparkline of the ordering measure for every statement, in the same round trip.
        let scrape = settings.scrape_interval;
        let step = seconds((query.window / SPARK_POINTS).max(scrape.as_secs_f64()));
        let spark = schema.source(query.order.measure()).or_else(|| schema.source(Measure::ExecTime)).or_else(|| schema.source(Measure::Calls)).copied();
        let info = format!("last_over_time({}[{window_text}])", info_selector(settings, None));
        let combined = {
            let names: Vec<&str> = schema.present.iter().map(|s| s.metric).collect();
            let (selector, _) = schema.selector("", &query.model.filters, &[]);
            let selector = with_matcher(&selector, &format!("__name__=~\"{}\"", names.join("|")));
            format!("sum by (__name__, {by}) (increase({selector}[{window_text}]) keep_metric_names)")
        };
        let ignored = ignored.into_iter().map(String::from).collect();
        TopPlan { query, schema, measures, combined, spark, step, info, ignored }
    }

    /// The sparklines' range query for the statements shown (their queryids; the database is
    /// matched when the answer is joined), or for every statement when there are many.
    pub fn spark_expr(&self, queryids: &[&str], scrape: Duration) -> Option<String> {
        let source = self.spark?;
        let (selector, _) = self.schema.selector(source.metric, &self.query.model.filters, &[]);
        let mut ids: Vec<&str> = queryids.iter().copied().filter(|q| q.chars().all(|c| c.is_ascii_digit() || c == '-')).collect();
        ids.sort_unstable();
        ids.dedup();
        let selector = if ids.is_empty() || ids.len() > MAX_SPARK_FILTER { selector } else { with_matcher(&selector, &format!("queryid=~\"{}\"", ids.join("|"))) };
        let by = format!("{}, queryid", self.schema.def.database_label);
        Some(format!("sum by ({by}) (rate({selector}[{}]))", format_go(rate_window(self.step, scrape))))
    }
}

fn parse_limit(limit: Option<&serde_json::Value>) -> Result<usize, QueryFailure> {
    let value = match limit {
        None | Some(serde_json::Value::Null) => return Ok(DEFAULT_LIMIT),
        Some(serde_json::Value::String(s)) if s.trim().is_empty() => return Ok(DEFAULT_LIMIT),
        Some(serde_json::Value::String(s)) => s.trim().parse::<f64>().ok(),
        Some(serde_json::Value::Number(n)) => n.as_f64(),
        _ => None,
    };
    match value {
        Some(v) if v >= 1.0 && v <= MAX_LIMIT as f64 && v.fract() == 0.0 => Ok(v as usize),
        _ => Err(QueryFailure::bad_query(format!("limit must be a whole number from 1 to {MAX_LIMIT}, not {}", limit.map(|l| l.to_string()).unwrap_or_default()))),
    }
}

/// A `pgssQuery` query's queryid: a number as pg_stat_statements shows it.
pub fn parse_queryid(model: &OneModel) -> Result<String, QueryFailure> {
    let queryid = match &model.queryid {
        serde_json::Value::String(s) => s.trim().to_string(),
        serde_json::Value::Number(n) => n.to_string(),
        _ => String::new(),
    };
    if queryid.is_empty() || !queryid.chars().enumerate().all(|(i, c)| c.is_ascii_digit() || (i == 0 && c == '-')) {
        return Err(QueryFailure::bad_query(format!("pgssQuery needs a queryid (a number as pg_stat_statements shows it), not {:?}", model.queryid.to_string())));
    }
    Ok(queryid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_whole_numbers_in_range() {
        assert_eq!(parse_limit(None).unwrap(), DEFAULT_LIMIT);
        assert_eq!(parse_limit(Some(&serde_json::json!("50"))).unwrap(), 50);
        assert_eq!(parse_limit(Some(&serde_json::json!(1000))).unwrap(), 1000);
        for bad in [serde_json::json!(0), serde_json::json!(2.5), serde_json::json!("many"), serde_json::json!(100000), serde_json::json!([1])] {
            assert!(parse_limit(Some(&bad)).unwrap_err().message.contains("whole number"), "{bad}");
        }
    }

    #[test]
    fn rate_windows_follow_grafana() {
        assert_eq!(rate_window(Duration::from_secs(30), Duration::from_secs(15)), Duration::from_secs(60));
        assert_eq!(rate_window(Duration::from_secs(120), Duration::from_secs(15)), Duration::from_secs(135));
    }
}
