//! What the pgss panels cannot show (issue 21): pg_stat_statements evicting entries because
//! `pg_stat_statements.max` is reached (`pg_stat_statements_info.dealloc` growing in the window),
//! and the exporter exporting fewer statements than PostgreSQL holds (postgres_exporter's
//! stat_statements collector keeps the 100 with the most execution time, `LIMIT 100`, newer
//! releases `--collector.stat_statements.limit`, and drops those at or below the 10th percentile of
//! execution time). Pure; a stack exporting no `pg_stat_statements_info_*` series and no collector
//! series gets no check here rather than an unknown one.

use std::collections::BTreeMap;

use super::checks::{key_of, TargetKey};
use super::text::{count, human_duration};
use super::{Check, Observations, StackRules, Status};

/// postgres_exporter's stat_statements collector: `ORDER BY seconds_total DESC LIMIT 100`.
pub const COLLECTOR_LIMIT: f64 = 100.0;

/// The metrics read, per exporter target: evictions in the window, statements held, the setting,
/// statements exported.
pub const DEALLOC_METRIC: &str = "pg_stat_statements_info_dealloc_total";
pub const HELD_METRIC: &str = "pg_stat_statements_info_statements";
pub const MAX_METRIC: &str = "pg_stat_statements_info_max";
pub const EXPORTED_METRIC: &str = "pg_stat_statements_calls_total";

#[derive(Default)]
struct Target {
    evicted: Option<f64>,
    held: Option<f64>,
    max: Option<f64>,
    exported: Option<f64>,
}

pub(super) fn coverage_checks(obs: &Observations, rules: &StackRules) -> Vec<Check> {
    let mut targets: BTreeMap<TargetKey, Target> = BTreeMap::new();
    for (labels, value) in obs.pgss_coverage.iter().flatten() {
        if !value.is_finite() {
            continue;
        }
        let target = targets.entry(key_of(labels)).or_default();
        match labels.get("__name__").map(String::as_str) {
            Some(DEALLOC_METRIC) => target.evicted = Some(*value),
            Some(HELD_METRIC) => target.held = Some(*value),
            Some(MAX_METRIC) => target.max = Some(*value),
            Some(EXPORTED_METRIC) => target.exported = Some(*value),
            _ => {}
        }
    }
    let window = human_duration(rules.window.as_secs_f64());
    let mut checks = Vec::new();
    for ((job, instance), t) in targets {
        let mut problems: Vec<(String, String)> = Vec::new();
        if let Some(evicted) = t.evicted.filter(|e| *e >= 0.5) {
            let setting = t.max.map(|m| format!("; pg_stat_statements.max = {}", count(m))).unwrap_or_default();
            problems.push((
                format!("{job}: pgss evicting"),
                format!(
                    "pg_stat_statements evicted its least-executed entries {} in the last {window} (pg_stat_statements_info.dealloc{setting}): statements drop out and come back with fresh counters, so rates and rankings miss part of the workload. Raise pg_stat_statements.max (needs a restart).",
                    if evicted.round() == 1.0 { "once".to_string() } else { format!("{} times", count(evicted.round())) }
                ),
            ));
        }
        match (t.exported, t.held) {
            (Some(exported), Some(held)) if exported + 0.5 < held => problems.push((
                format!("{job}: {} of {} statements exported", count(exported), count(held)),
                format!(
                    "The exporter {instance} exports {} statements but PostgreSQL holds {}: the others are invisible to every pgss panel and their time is missing from the totals. Raise the exporter's statement limit (postgres_exporter: --collector.stat_statements.limit; a custom query: its LIMIT).",
                    count(exported),
                    count(held)
                ),
            )),
            (Some(exported), None) if exported == COLLECTOR_LIMIT => problems.push((
                format!("{job}: exactly {} statements exported", count(exported)),
                format!(
                    "The exporter {instance} exports exactly {} statements: postgres_exporter's stat_statements collector stops at LIMIT {} (and drops statements at or below the 10th percentile of execution time), so PostgreSQL likely holds more. Raise --collector.stat_statements.limit, or export pg_stat_statements_info (e2e/stack/queries.yaml) to know.",
                    count(exported),
                    count(COLLECTOR_LIMIT)
                ),
            )),
            _ => {}
        }
        let (status, summary, reason) = match problems.first() {
            Some(first) => (Status::Warning, first.0.clone(), problems.iter().map(|p| p.1.clone()).collect::<Vec<_>>().join(" ")),
            None if t.evicted.is_some() || t.held.is_some() => (
                Status::Ok,
                format!("{job}: every statement kept"),
                format!(
                    "No pg_stat_statements eviction in the last {window}{}.",
                    match (t.exported, t.held) {
                        (Some(e), Some(h)) => format!("; {} of {} statements exported", count(e), count(h)),
                        _ => String::new(),
                    }
                ),
            ),
            None => continue,
        };
        checks.push(Check { component: "pgss coverage", name: format!("{job} {instance}"), job, instance, status, summary, reason, since: None });
    }
    checks
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::Labels;

    fn sample(name: &str, instance: &str, value: f64) -> (Labels, f64) {
        let labels: Labels = [("__name__", name), ("job", "postgres"), ("instance", instance)].into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        (labels, value)
    }

    fn checks(samples: Vec<(Labels, f64)>) -> Vec<Check> {
        let obs = Observations { pgss_coverage: Some(samples), ..Default::default() };
        coverage_checks(&obs, &StackRules::default())
    }

    #[test]
    fn evictions_in_the_window_warn_with_the_setting() {
        let c = checks(vec![sample(DEALLOC_METRIC, "db1:9187", 37.2), sample(MAX_METRIC, "db1:9187", 100.0), sample(HELD_METRIC, "db1:9187", 100.0), sample(EXPORTED_METRIC, "db1:9187", 100.0)]);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].status, Status::Warning);
        assert!(c[0].reason.contains("entries 37 times") && c[0].reason.contains("pg_stat_statements.max = 100"), "{}", c[0].reason);
    }

    #[test]
    fn an_exporter_limit_below_the_statements_held_warns_and_none_is_ok() {
        let c = checks(vec![sample(DEALLOC_METRIC, "db1:9187", 0.0), sample(HELD_METRIC, "db1:9187", 85.0), sample(EXPORTED_METRIC, "db1:9187", 20.0)]);
        assert_eq!((c[0].status, c[0].summary.as_str()), (Status::Warning, "postgres: 20 of 85 statements exported"));
        let c = checks(vec![sample(DEALLOC_METRIC, "db1:9187", 0.0), sample(HELD_METRIC, "db1:9187", 85.0), sample(EXPORTED_METRIC, "db1:9187", 85.0)]);
        assert_eq!(c[0].status, Status::Ok, "{}", c[0].reason);
        assert!(c[0].reason.contains("85 of 85"));
    }

    #[test]
    fn the_collectors_hundred_without_totals_is_a_likely_cut_and_other_counts_say_nothing() {
        let c = checks(vec![sample(EXPORTED_METRIC, "db1:9187", 100.0)]);
        assert_eq!(c[0].status, Status::Warning);
        assert!(c[0].reason.contains("LIMIT 100"));
        assert!(checks(vec![sample(EXPORTED_METRIC, "db1:9187", 42.0)]).is_empty(), "nothing known: no check, not a guess");
        assert!(checks(vec![]).is_empty());
        assert!(coverage_checks(&Observations::default(), &StackRules::default()).is_empty(), "an unanswered request adds no unknown");
    }

    #[test]
    fn targets_are_checked_apart_and_non_finite_values_ignored() {
        let c = checks(vec![sample(DEALLOC_METRIC, "a:1", 5.0), sample(DEALLOC_METRIC, "b:1", 0.0), sample(HELD_METRIC, "b:1", f64::NAN)]);
        assert_eq!(c.len(), 2);
        assert_eq!((c[0].instance.as_str(), c[0].status), ("a:1", Status::Warning));
        assert_eq!((c[1].instance.as_str(), c[1].status), ("b:1", Status::Ok));
    }
}
