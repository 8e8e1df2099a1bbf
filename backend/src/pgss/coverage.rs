//! How much of the workload a pgss table shows (issue 21): the statements shown against the
//! execution time PostgreSQL recorded over every statement in the same range
//! (`pg_stat_statements_info_exec_seconds_total` from e2e/stack/queries.yaml), with the statements
//! exported against those pg_stat_statements holds and its evictions. Pure: the PromQL out, the
//! figures in, the notice out; a total that is not known gives no figure rather than a guess.

use super::schema::Filters;
use crate::frame::{Notice, Severity};
use crate::prom::read::Sample;

/// The metrics the totals come from (e2e/stack/queries.yaml's `pg_stat_statements_info` query).
pub const RECORDED_SECONDS_METRIC: &str = "pg_stat_statements_info_exec_seconds_total";
pub const HELD_STATEMENTS_METRIC: &str = "pg_stat_statements_info_statements";
pub const DEALLOC_METRIC: &str = "pg_stat_statements_info_dealloc_total";

/// Below this share of the recorded time the notice is shown; below `WARN_BELOW` it is a warning.
pub const NOTICE_BELOW: f64 = 0.9;
pub const WARN_BELOW: f64 = 0.5;

/// The figures of one range; `None` where the TSDB holds no series for it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Figures {
    /// Rows in the table.
    pub shown: usize,
    /// Their execution time in the range, seconds.
    pub shown_seconds: f64,
    /// Execution time PostgreSQL recorded over every statement in the range, seconds.
    pub recorded_seconds: Option<f64>,
    /// Statements the exporter exports now, and those pg_stat_statements holds.
    pub exported: Option<f64>,
    pub held: Option<f64>,
    /// pg_stat_statements deallocations in the range.
    pub dealloc: Option<f64>,
}

/// The share of the recorded execution time the rows shown cover, 0..=1, when it is known. The
/// exporter's and PostgreSQL's counters are read at different moments: a share a little above 1
/// is 1.
pub fn share(f: &Figures) -> Option<f64> {
    let recorded = f.recorded_seconds.filter(|r| r.is_finite() && *r > 0.0)?;
    f.shown_seconds.is_finite().then(|| (f.shown_seconds.max(0.0) / recorded).min(1.0))
}

/// The notice for the table: the coverage when it is under `NOTICE_BELOW`, and evictions or an
/// exporter limit whenever they happened. None when all is covered or nothing is known.
pub fn notice(f: &Figures) -> Option<Notice> {
    let mut parts = Vec::new();
    let mut severity = Severity::Info;
    if let Some(share) = share(f) {
        if share < NOTICE_BELOW {
            let (statements, verb) = if f.shown == 1 { ("statement".to_string(), "covers") } else { (format!("{} statements", f.shown), "cover") };
            parts.push(format!("The {statements} shown {verb} {} of the execution time PostgreSQL recorded in this range.", percent(share)));
            if share < WARN_BELOW {
                severity = Severity::Warning;
            }
        }
    }
    if let (Some(exported), Some(held)) = (f.exported.filter(|e| e.is_finite()), f.held.filter(|h| h.is_finite())) {
        if exported + 0.5 < held {
            parts.push(format!("The exporter exports {} of the {} statements pg_stat_statements holds: raise its statement limit.", whole(exported), whole(held)));
        }
    }
    if let Some(dealloc) = f.dealloc.filter(|d| d.is_finite() && *d >= 0.5) {
        let times = if dealloc.round() == 1.0 { "once".to_string() } else { format!("{} times", whole(dealloc)) };
        parts.push(format!("pg_stat_statements evicted entries {times} in this range (pg_stat_statements.max reached): statements come and go."));
    }
    (!parts.is_empty()).then(|| Notice { severity, text: parts.join(" ") })
}

/// One instant query for the range's totals, each answer marked by a `pgscope` label: the
/// execution time recorded (`recorded`), statements held (`held`) and deallocations
/// (`dealloc`). `window` is a PromQL duration. Small series only: one per server.
pub fn figures_expr(window: &str) -> String {
    [
        mark(format!("sum(increase({RECORDED_SECONDS_METRIC}[{window}]))"), "recorded"),
        mark(format!("sum({HELD_STATEMENTS_METRIC})"), "held"),
        mark(format!("sum(increase({DEALLOC_METRIC}[{window}]))"), "dealloc"),
    ]
    .join(" or ")
}

/// The statements exported now (`exported`): series of the calls metric, one per user,
/// database and queryid as `held` counts them. It reads every statement's series: asked only
/// when `held` is known.
pub fn exported_expr(calls_metric: &str) -> String {
    mark(format!("count({calls_metric})"), "exported")
}

fn mark(expr: String, what: &str) -> String {
    format!("label_replace({expr}, \"pgscope\", \"{what}\", \"\", \"\")")
}

/// `figures_expr`'s answer; the rows shown are the caller's to fill in.
pub fn read_figures(samples: &[Sample]) -> Figures {
    let figure = |what: &str| samples.iter().find(|(l, _)| l.get("pgscope").map(String::as_str) == Some(what)).map(|(_, v)| *v).filter(|v| v.is_finite());
    Figures { recorded_seconds: figure("recorded"), held: figure("held"), exported: figure("exported"), dealloc: figure("dealloc"), ..Default::default() }
}

/// PostgreSQL's totals are per server: a table narrowed to a database, a role, an instance or a
/// cluster cannot be compared with them.
pub fn applies(filters: &Filters) -> bool {
    let open = |v: &str| matches!(v.trim(), "" | ".*" | ".+" | "$__all" | "All");
    open(&filters.database) && open(&filters.user) && open(&filters.instance) && open(&filters.cluster)
}

fn percent(share: f64) -> String {
    let p = share * 100.0;
    if p > 0.0 && p < 0.1 {
        "under 0.1 %".into()
    } else {
        format!("{p:.1} %")
    }
}

fn whole(n: f64) -> String {
    format!("{}", n.round().clamp(0.0, 1e15) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figures(shown: usize, shown_seconds: f64, recorded: Option<f64>) -> Figures {
        Figures { shown, shown_seconds, recorded_seconds: recorded, ..Default::default() }
    }

    #[test]
    fn low_coverage_is_said_with_its_figure_and_grows_to_a_warning() {
        let n = notice(&figures(20, 63.2, Some(100.0))).unwrap();
        assert_eq!(n.severity, Severity::Info);
        assert_eq!(n.text, "The 20 statements shown cover 63.2 % of the execution time PostgreSQL recorded in this range.");
        let n = notice(&figures(1, 12.0, Some(100.0))).unwrap();
        assert_eq!(n.severity, Severity::Warning);
        assert!(n.text.starts_with("The statement shown covers 12.0 %"), "{}", n.text);
        assert!(notice(&figures(5, 0.0001, Some(1000.0))).unwrap().text.contains("under 0.1 %"));
    }

    #[test]
    fn full_coverage_and_unknown_totals_say_nothing() {
        assert_eq!(notice(&figures(20, 95.0, Some(100.0))), None, "95 % is covered enough");
        assert_eq!(notice(&figures(20, 104.0, Some(100.0))), None, "read at another moment: capped");
        assert_eq!(share(&figures(20, 104.0, Some(100.0))), Some(1.0));
        assert_eq!(notice(&figures(20, 10.0, None)), None, "no recorded total: no figure, not 100 %");
        assert_eq!(share(&figures(20, 10.0, Some(0.0))), None, "nothing recorded: nothing to cover");
        assert_eq!(share(&figures(20, f64::NAN, Some(10.0))), None);
        assert_eq!(share(&figures(20, 1.0, Some(f64::INFINITY))), None);
    }

    #[test]
    fn the_totals_query_and_its_answer() {
        let expr = figures_expr("10m0s");
        assert!(expr.starts_with("label_replace(sum(increase(pg_stat_statements_info_exec_seconds_total[10m0s])), \"pgscope\", \"recorded\", \"\", \"\") or "), "{expr}");
        assert!(!expr.contains("calls"), "no statement's series: {expr}");
        assert_eq!(exported_expr("pg_stat_statements_calls_total"), "label_replace(count(pg_stat_statements_calls_total), \"pgscope\", \"exported\", \"\", \"\")");
        let mark = |what: &str, v: f64| ([("pgscope".to_string(), what.to_string())].into_iter().collect(), v);
        let f = read_figures(&[mark("recorded", 100.0), mark("held", 95.0), mark("exported", 20.0), mark("dealloc", f64::NAN)]);
        assert_eq!((f.recorded_seconds, f.held, f.exported, f.dealloc), (Some(100.0), Some(95.0), Some(20.0), None));
        assert_eq!(read_figures(&[]), Figures::default(), "no series: nothing known");
        assert!(applies(&Filters::default()) && applies(&Filters { database: "$__all".into(), ..Default::default() }));
        assert!(!applies(&Filters { database: "app".into(), ..Default::default() }));
    }

    #[test]
    fn an_exporter_limit_and_evictions_are_said_even_when_time_is_covered() {
        let f = Figures { shown: 20, shown_seconds: 99.0, recorded_seconds: Some(100.0), exported: Some(20.0), held: Some(95.0), dealloc: Some(29.0) };
        let n = notice(&f).unwrap();
        assert_eq!(n.severity, Severity::Info);
        assert_eq!(
            n.text,
            "The exporter exports 20 of the 95 statements pg_stat_statements holds: raise its statement limit. pg_stat_statements evicted entries 29 times in this range (pg_stat_statements.max reached): statements come and go."
        );
        let once = Figures { dealloc: Some(1.0), ..Default::default() };
        assert!(notice(&once).unwrap().text.contains("entries once"));
        assert_eq!(notice(&Figures { exported: Some(95.0), held: Some(95.0), dealloc: Some(0.0), ..Default::default() }), None);
    }
}
