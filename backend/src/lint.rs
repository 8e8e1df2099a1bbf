//! Lints stored PromQL (dashboard targets, alerting and recording rules) for the silent
//! failures pgscope exists for: info joins that blank when the info exporter dies, joins on
//! queryid alone (the same queryid in two databases makes them fail), `or` fallbacks that
//! duplicate series, queries that cannot be analysed, and (with a TSDB) metrics nobody exports.
//! Pure except `metrics_without_series`, which asks the TSDB.

use promql_parser::label::MatchOp;
use promql_parser::parser::{Expr, LabelModifier};

use crate::fallback::{self, guard, metric_name, nodes, Reason, Rules};
use crate::promql::macros::{self, MacroContext};
use crate::prom::client::PromClient;
use crate::prom::convert::convert;
use crate::promql::templating;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FindingKind {
    FragileJoin,
    QueryidWithoutDatabase,
    DuplicatingOr,
    Unparseable,
    NoSeries,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub kind: FindingKind,
    pub message: String,
}

/// A query with variables and macros made parseable, as stored queries need.
pub fn parseable(query: &str) -> String {
    let context = MacroContext {
        interval: std::time::Duration::from_secs(15),
        range: std::time::Duration::from_secs(3600),
        scrape_interval: std::time::Duration::from_secs(15),
    };
    templating::protect(&macros::interpolate(query, &context)).text
}

pub fn lint_query(query: &str, rules: &Rules) -> Vec<Finding> {
    let text = parseable(query);
    let ast = match guard::parse(&text) {
        Ok(ast) => ast,
        Err(error) => return vec![Finding { kind: FindingKind::Unparseable, message: format!("cannot be analysed as PromQL ({error})") }],
    };
    let mut findings = Vec::new();
    let out = fallback::rewrite(&text, rules);
    for fallback in &out.fallbacks {
        findings.push(Finding {
            kind: FindingKind::FragileJoin,
            message: format!(
                "fragile info join: blank when {} has no series; pgscope's datasource rewrites it, or run `pgscope fix`",
                fallback.info_metric
            ),
        });
    }
    for note in out.notes.iter().filter(|n| n.reason == Reason::PlainOrDuplicates) {
        findings.push(Finding { kind: FindingKind::DuplicatingOr, message: note.text.clone() });
    }
    for node in nodes(&ast) {
        let Expr::Binary(binary) = node else { continue };
        let Some(LabelModifier::Include(on)) = binary.modifier.as_ref().and_then(|m| m.matching.as_ref()) else { continue };
        let has = |label: &str| on.labels.iter().any(|l| l == label);
        if has("queryid") && !has("datname") && !has("dbname") {
            findings.push(Finding {
                kind: FindingKind::QueryidWithoutDatabase,
                message: format!(
                    "joins on ({}) without datname: the same queryid in two databases makes the join fail \
                     (\"many-to-many matching\"); join on (datname, queryid)",
                    on.labels.join(", ")
                ),
            });
        }
    }
    findings
}

/// Metric names a query reads (from plain names and `__name__="..."` matchers).
pub fn metric_names(query: &str) -> Vec<String> {
    let Ok(ast) = guard::parse(&parseable(query)) else { return vec![] };
    let mut names: Vec<String> = fallback::selectors(&ast).into_iter().filter_map(metric_name).collect();
    names.sort();
    names.dedup();
    names
}

/// Which of `names` have no series in the TSDB now (`count(name)` is empty). Names the TSDB
/// could not be asked about are returned as errors.
pub async fn metrics_without_series(client: &PromClient, names: &[String]) -> Result<Vec<String>, String> {
    let now = chrono::Utc::now().timestamp() as f64;
    let mut missing = Vec::new();
    for name in names {
        let selector = promql_parser::label::Matcher::new(MatchOp::Equal, "__name__", name);
        let expr = format!("count({{{selector}}})");
        let answer = client.query_instant(&expr, now, None).await.map_err(|e| e.to_string())?;
        let frames = convert(&answer.body).map_err(|e| e.to_string())?;
        if frames.is_empty() {
            missing.push(name.clone());
        }
    }
    Ok(missing)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(query: &str) -> Vec<FindingKind> {
        lint_query(query, &Rules::default()).into_iter().map(|f| f.kind).collect()
    }

    #[test]
    fn findings() {
        assert_eq!(
            kinds("topk($top_n, irate(calls[$__rate_interval])) * on(queryid) group_left(displayname) pgwatch_query_info"),
            [FindingKind::FragileJoin, FindingKind::QueryidWithoutDatabase]
        );
        assert_eq!(kinds("rate(x[5m]) * on(datname, queryid) group_left(displayname) pgss_query_info"), [FindingKind::FragileJoin]);
        assert_eq!(kinds("(a * on(datname, queryid) group_left(displayname) pgss_query_info) or a"), [FindingKind::DuplicatingOr]);
        assert_eq!(kinds("sum(rate(x[5m])"), [FindingKind::Unparseable]);
        assert!(kinds("sum(rate(pg_stat_statements_calls_total[5m]))").is_empty());
    }

    #[test]
    fn metric_names_of_a_query() {
        assert_eq!(
            metric_names(r#"rate(a{x="1"}[5m]) * on(q) group_left(n) b_info + {__name__="c"} + a"#),
            ["a", "b_info", "c"]
        );
        assert!(metric_names("sum(").is_empty());
    }
}
