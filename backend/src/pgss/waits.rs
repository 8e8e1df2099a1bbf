//! Wait events per statement (issue 21): the PromQL that reads them from a `WaitSource`
//! (pg_wait_sampling through custom queries, or postgres_ai's pgwatch `wait_events`) as seconds
//! waited per queryid and event, and the reading of its answer into each statement's events,
//! top event first. Pure; a TSDB without wait series gives no wait figure, never 0.

use std::collections::BTreeMap;

use super::catalog::{WaitCount, WaitSource, WAIT_SOURCES};
use crate::duration::format_go;
use crate::frame::Labels;
use crate::promql_text::quote;

/// The wait source whose metric the TSDB holds (names from a label-values request).
pub fn detect(names: &[String]) -> Option<&'static WaitSource> {
    WAIT_SOURCES.iter().find(|s| names.iter().any(|n| n == s.metric))
}

fn selector(source: &WaitSource, queryids: &[&str]) -> String {
    let mut matchers = Vec::new();
    let ids: Vec<&str> = queryids.iter().copied().filter(|q| !q.is_empty() && q.chars().enumerate().all(|(i, c)| c.is_ascii_digit() || (i == 0 && c == '-'))).collect();
    match ids.as_slice() {
        [] => {}
        [one] => matchers.push(format!("{}=\"{}\"", source.queryid_label, quote(one))),
        many => matchers.push(format!("{}=~\"{}\"", source.queryid_label, many.join("|"))),
    }
    if let Some(running) = source.running {
        matchers.push(format!("{}!=\"{}\"", source.event_label, quote(running)));
    }
    format!("{}{{{}}}", source.metric, matchers.join(","))
}

fn by(source: &WaitSource) -> String {
    format!("{}, {}, {}", source.queryid_label, source.event_type_label, source.event_label)
}

/// Seconds waited per (queryid, event type, event) over `window_s` ending at the query's time,
/// for the statements `queryids` (every statement when empty). `interval_s` is the collection
/// interval of a `Sessions` source.
pub fn seconds_expr(source: &WaitSource, window_s: f64, queryids: &[&str], interval_s: f64) -> String {
    let window = format_go(std::time::Duration::from_secs_f64(window_s.max(1.0).round()));
    let sel = selector(source, queryids);
    match source.count {
        WaitCount::Samples { period } => format!("sum by ({}) (increase({sel}[{window}])) * {period}", by(source)),
        WaitCount::Sessions => format!("sum by ({}) (sum_over_time({sel}[{window}])) * {interval_s}", by(source)),
    }
}

/// Sessions waiting on average per (queryid, event type, event) over time, for a stacked chart:
/// seconds waited per second.
pub fn rate_expr(source: &WaitSource, rate_window_s: f64, queryids: &[&str]) -> String {
    let window = format_go(std::time::Duration::from_secs_f64(rate_window_s.max(1.0).round()));
    let sel = selector(source, queryids);
    match source.count {
        WaitCount::Samples { period } => format!("sum by ({}) (rate({sel}[{window}])) * {period}", by(source)),
        WaitCount::Sessions => format!("sum by ({}) (avg_over_time({sel}[{window}]))", by(source)),
    }
}

/// One event a statement waited on.
#[derive(Debug, Clone, PartialEq)]
pub struct Wait {
    pub event_type: String,
    pub event: String,
    pub seconds: f64,
}

impl Wait {
    /// "Lock:transactionid", as pg_stat_activity's wait_event_type and wait_event read together.
    pub fn name(&self) -> String {
        format!("{}:{}", self.event_type, self.event)
    }
}

/// A statement's waits, most time first.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Waits {
    pub events: Vec<Wait>,
}

impl Waits {
    pub fn total(&self) -> f64 {
        self.events.iter().map(|w| w.seconds).sum()
    }

    /// The event with the most time and its share of the time waited (0..=1).
    pub fn top(&self) -> Option<(&Wait, f64)> {
        let total = self.total();
        let top = self.events.first()?;
        (total > 0.0).then(|| (top, top.seconds / total))
    }
}

/// Reads `seconds_expr`'s answer into waits per queryid. Samples without a queryid or event, or
/// with no finite positive time, are left out: an event never seen is absent, not 0.
pub fn read(source: &WaitSource, samples: &[(Labels, f64)]) -> BTreeMap<String, Waits> {
    let mut out: BTreeMap<String, Waits> = BTreeMap::new();
    for (labels, seconds) in samples {
        let (Some(queryid), Some(event)) = (labels.get(source.queryid_label), labels.get(source.event_label)) else { continue };
        if queryid.is_empty() || event.is_empty() || !seconds.is_finite() || *seconds <= 0.0 {
            continue;
        }
        let event_type = labels.get(source.event_type_label).cloned().unwrap_or_default();
        out.entry(queryid.clone()).or_default().events.push(Wait { event_type, event: event.clone(), seconds: *seconds });
    }
    for waits in out.values_mut() {
        waits.events.sort_by(|a, b| b.seconds.total_cmp(&a.seconds).then_with(|| a.name().cmp(&b.name())));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn expressions_per_source() {
        let sampling = &WAIT_SOURCES[0];
        assert_eq!(
            seconds_expr(sampling, 600.0, &["42"], 15.0),
            "sum by (queryid, event_type, event) (increase(pg_wait_sampling_samples_total{queryid=\"42\"}[10m0s])) * 0.01"
        );
        assert_eq!(
            rate_expr(sampling, 60.0, &["1", "-2", "x\"}) or vector(1"]),
            "sum by (queryid, event_type, event) (rate(pg_wait_sampling_samples_total{queryid=~\"1|-2\"}[1m0s])) * 0.01",
            "only numeric queryids reach the selector"
        );
        let pgwatch = &WAIT_SOURCES[1];
        assert_eq!(
            seconds_expr(pgwatch, 3600.0, &[], 15.0),
            "sum by (query_id, wait_event_type, wait_event) (sum_over_time(pgwatch_wait_events_total{wait_event!=\"CPU*\"}[1h0m0s])) * 15"
        );
        assert_eq!(detect(&["up".into(), "pgwatch_wait_events_total".into()]).map(|s| s.id), Some("postgres_ai"));
        assert_eq!(detect(&["up".into()]), None, "no wait series: no wait figure");
    }

    #[test]
    fn answers_become_each_statements_events_top_first() {
        let sampling = &WAIT_SOURCES[0];
        let samples = vec![
            (labels(&[("queryid", "7"), ("event_type", "IO"), ("event", "DataFileRead")]), 0.3),
            (labels(&[("queryid", "7"), ("event_type", "Lock"), ("event", "transactionid")]), 0.9),
            (labels(&[("queryid", "8"), ("event_type", "Timeout"), ("event", "PgSleep")]), 1.0),
            (labels(&[("queryid", "9"), ("event_type", "IO"), ("event", "DataFileRead")]), 0.0),
            (labels(&[("queryid", "9"), ("event_type", "IO"), ("event", "WalWrite")]), f64::NAN),
            (labels(&[("event_type", "IO"), ("event", "WalWrite")]), 5.0),
        ];
        let waits = read(sampling, &samples);
        assert_eq!(waits.keys().collect::<Vec<_>>(), ["7", "8"], "no time, no event: statement 9 has no waits");
        let (top, share) = waits["7"].top().unwrap();
        assert_eq!((top.name(), share), ("Lock:transactionid".to_string(), 0.75));
        assert!((waits["7"].total() - 1.2).abs() < 1e-12);
        assert_eq!(waits["8"].top().map(|(w, s)| (w.event.as_str(), s)), Some(("PgSleep", 1.0)));
        assert_eq!(Waits::default().top(), None);
    }
}
