//! Lints stored PromQL (dashboard targets, alerting and recording rules, Grafana-managed rules)
//! for the silent failures pgscope exists for: info joins that blank when the info exporter dies
//! (unless pgscope's datasource rewrites them: then an info line), joins on queryid alone,
//! `or` fallbacks that duplicate series, queries that cannot be analysed, metrics no exporter
//! exports and labels a metric never carries (`catalogue`), alert templates that cannot render
//! (`template`), and with a TSDB (`tsdb`) metrics without series, matchers that match nothing,
//! rules that returned nothing for an hour and dashboard variables without values.
//! Pure except `tsdb`; `files` reads what is linted.

pub mod catalogue;
pub mod files;
pub mod template;
pub mod tsdb;

use std::collections::BTreeSet;

use promql_parser::parser::{Expr, LabelModifier, VectorMatchCardinality};

use crate::fallback::{self, guard, metric_name, nodes, Reason, Rules};
use crate::promql::macros::{self, MacroContext};
use crate::promql::templating;
use catalogue::{Catalogue, Verdict, SCRAPE_LABELS};
use files::{Route, Workspace};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FindingKind {
    FragileJoin,
    QueryidWithoutDatabase,
    DuplicatingOr,
    Unparseable,
    NoSeries,
    /// No series of a metric the catalogue marks optional (Citus's): absent where the extension is.
    OptionalNoSeries,
    UnknownMetric,
    UnknownLabel,
    Template,
    MatchesNothing,
    EmptyRule,
    EmptyVariable,
    Protected,
}

/// How much a finding weighs: errors and warnings make `pgscope lint` exit 1; hints and info
/// lines do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
    Hint,
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Hint => "hint",
            Severity::Info => "info",
        }
    }

    pub fn fails(self) -> bool {
        matches!(self, Severity::Error | Severity::Warning)
    }
}

impl FindingKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::FragileJoin => "fragile-join",
            FindingKind::QueryidWithoutDatabase => "queryid-without-database",
            FindingKind::DuplicatingOr => "duplicating-or",
            FindingKind::Unparseable => "unparseable",
            FindingKind::NoSeries => "no-series",
            FindingKind::OptionalNoSeries => "optional-no-series",
            FindingKind::UnknownMetric => "unknown-metric",
            FindingKind::UnknownLabel => "unknown-label",
            FindingKind::Template => "template",
            FindingKind::MatchesNothing => "matches-nothing",
            FindingKind::EmptyRule => "empty-rule",
            FindingKind::EmptyVariable => "empty-variable",
            FindingKind::Protected => "protected",
        }
    }

    pub fn severity(self) -> Severity {
        match self {
            FindingKind::Unparseable | FindingKind::UnknownMetric | FindingKind::UnknownLabel | FindingKind::Template => Severity::Error,
            FindingKind::EmptyRule => Severity::Hint,
            FindingKind::Protected | FindingKind::OptionalNoSeries => Severity::Info,
            _ => Severity::Warning,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub kind: FindingKind,
    pub message: String,
    /// What to do about it ("" when the message says it).
    pub fix: String,
}

impl Finding {
    pub fn new(kind: FindingKind, message: impl Into<String>, fix: impl Into<String>) -> Self {
        Finding { kind, message: message.into(), fix: fix.into() }
    }
}

/// A finding where it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub file: String,
    /// Line in the file, when known (templates).
    pub line: Option<usize>,
    pub location: String,
    pub finding: Finding,
}

impl Report {
    /// `file:line: location: kind: message (fix: ...)`, one line.
    pub fn line(&self) -> String {
        let at = self.line.map(|l| format!("{}:{l}", self.file)).unwrap_or_else(|| self.file.clone());
        let fix = if self.finding.fix.is_empty() { String::new() } else { format!(" (fix: {})", self.finding.fix) };
        let text = format!("{at}: {}: {}: {}{fix}", self.location, self.finding.kind.as_str(), self.finding.message);
        text.replace('\n', " ")
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "file": self.file,
            "line": self.line,
            "location": self.location,
            "kind": self.finding.kind.as_str(),
            "severity": self.finding.kind.severity().as_str(),
            "message": self.finding.message,
            "fix": self.finding.fix,
        })
    }
}

/// What the offline checks know besides the queries.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub rules: Rules,
    /// Extra catalogue families (`--queries FILE`); the built-in catalogue is always used.
    pub catalogue: Catalogue,
    /// Labels the scrape adds to targets (besides job and instance).
    pub target_labels: Vec<String>,
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

/// The findings of one query with the built-in catalogue and no target labels.
pub fn lint_query(query: &str, rules: &Rules) -> Vec<Finding> {
    lint_query_with(query, rules, &[Catalogue::builtin()], &[])
}

pub fn lint_query_with(query: &str, rules: &Rules, catalogues: &[&Catalogue], target_labels: &[String]) -> Vec<Finding> {
    let text = parseable(query);
    let ast = match guard::parse(&text) {
        Ok(ast) => ast,
        Err(error) => {
            return vec![Finding::new(
                FindingKind::Unparseable,
                format!("cannot be analysed as PromQL ({error})"),
                "fix the syntax (MetricsQL-only queries are not analysed)",
            )]
        }
    };
    let mut findings = Vec::new();
    let out = fallback::rewrite(&text, rules);
    for fallback in &out.fallbacks {
        findings.push(Finding::new(
            FindingKind::FragileJoin,
            format!("fragile info join: blank when {} has no series", fallback.info_metric),
            "query through pgscope's datasource (it rewrites the join), or run `pgscope fix`",
        ));
    }
    for note in out.notes.iter().filter(|n| n.reason == Reason::PlainOrDuplicates) {
        findings.push(Finding::new(FindingKind::DuplicatingOr, note.text.clone(), ""));
    }
    for node in nodes(&ast) {
        let Expr::Binary(binary) = node else { continue };
        let Some(modifier) = binary.modifier.as_ref() else { continue };
        let Some(LabelModifier::Include(on)) = modifier.matching.as_ref() else { continue };
        let has = |label: &str| on.labels.iter().any(|l| l == label);
        if !has("queryid") || has("datname") || has("dbname") {
            continue;
        }
        // The side that must be unique per queryid: if every metric it reads is catalogued
        // without a database label, joining on the database is impossible and on(queryid) right.
        let one_sides: Vec<&Expr> = match modifier.card {
            VectorMatchCardinality::ManyToOne(_) => vec![&binary.rhs],
            VectorMatchCardinality::OneToMany(_) => vec![&binary.lhs],
            _ => vec![&binary.lhs, &binary.rhs],
        };
        let without_database = one_sides.iter().any(|side| {
            let names: Vec<String> = fallback::selectors(side).into_iter().filter_map(metric_name).collect();
            !names.is_empty()
                && names.iter().all(|name| {
                    catalogues.iter().any(|c| matches!(c.verdict(name), Verdict::Known(Some(labels)) if !labels.contains("datname") && !labels.contains("dbname")))
                })
        });
        if without_database {
            continue;
        }
        findings.push(Finding::new(
            FindingKind::QueryidWithoutDatabase,
            format!(
                "joins on ({}) without datname: the same queryid in two databases makes the join fail (\"many-to-many matching\")",
                on.labels.join(", ")
            ),
            "join on (datname, queryid)",
        ));
    }
    findings.extend(catalogue_findings(&ast, catalogues, target_labels));
    findings
}

/// Metric names no exporter exports and matchers on labels a metric never carries.
fn catalogue_findings(ast: &Expr, catalogues: &[&Catalogue], target_labels: &[String]) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut seen = BTreeSet::new();
    for selector in fallback::selectors(ast) {
        let Some(name) = metric_name(selector) else { continue };
        let verdicts: Vec<Verdict> = catalogues.iter().map(|c| c.verdict(&name)).collect();
        let known: Vec<&Verdict> = verdicts.iter().filter(|v| matches!(v, Verdict::Known(_))).collect();
        if known.is_empty() {
            if let Some(Verdict::Unknown { suggestion, source }) = verdicts.iter().find(|v| matches!(v, Verdict::Unknown { .. })) {
                let message = match suggestion {
                    Some(s) => format!("no exporter exports {name}; did you mean {s}? ({source})"),
                    None => format!("no exporter exports {name} ({source} owns the family and has no such metric)"),
                };
                if seen.insert(message.clone()) {
                    let fix = suggestion.as_ref().map(|s| format!("use {s}")).unwrap_or_else(|| "use a metric the exporter exports".into());
                    findings.push(Finding::new(FindingKind::UnknownMetric, message, fix));
                }
            }
            continue;
        }
        // Labels: the union over every catalogue that knows the name; open families skip.
        let mut labels = BTreeSet::new();
        if known.iter().any(|v| matches!(v, Verdict::Known(None))) {
            continue;
        }
        for verdict in known {
            if let Verdict::Known(Some(own)) = verdict {
                labels.extend(own.iter().cloned());
            }
        }
        let matchers = selector.matchers.matchers.iter().chain(selector.matchers.or_matchers.iter().flatten());
        for matcher in matchers {
            let label = matcher.name.as_str();
            if label == "__name__" || SCRAPE_LABELS.contains(&label) || target_labels.iter().any(|t| t == label) || labels.contains(label) {
                continue;
            }
            // A matcher that accepts the empty value also accepts series without the label.
            if matcher.is_match("") {
                continue;
            }
            let has: Vec<&str> = SCRAPE_LABELS.iter().copied().chain(labels.iter().map(String::as_str)).collect();
            let message = format!("{name} has no label {label} (it has {}), so {{{matcher}}} matches nothing", has.join(", "));
            if seen.insert(message.clone()) {
                findings.push(Finding::new(
                    FindingKind::UnknownLabel,
                    message,
                    format!("drop the matcher or use one of its labels; if your scrape config adds {label} to its targets, pass --target-label {label}"),
                ));
            }
        }
    }
    findings
}

/// Every offline finding of a workspace, in file order.
pub fn lint_workspace(workspace: &Workspace, options: &Options) -> Vec<Report> {
    let catalogues = [Catalogue::builtin(), &options.catalogue];
    let mut target_labels = options.target_labels.clone();
    target_labels.extend(workspace.target_labels.iter().cloned());
    let mut reports = Vec::new();
    for query in &workspace.queries {
        for mut finding in lint_query_with(&query.expr, &options.rules, &catalogues, &target_labels) {
            if let (FindingKind::FragileJoin, Route::Protected(why)) = (finding.kind, &query.route) {
                let info = finding.message.trim_start_matches("fragile info join: blank when ").trim_end_matches(" has no series");
                finding = Finding::new(
                    FindingKind::Protected,
                    format!("info join with {info}: pgscope's datasource rewrites it, so it stays filled when {info} has no series ({why})"),
                    "",
                );
            }
            reports.push(Report { file: query.file.clone(), line: None, location: query.location.clone(), finding });
        }
    }
    for item in &workspace.templates {
        let flavour = match &item.grafana_ref_ids {
            Some(ref_ids) => template::Flavour::Grafana { ref_ids: ref_ids.clone() },
            None => template::Flavour::Prometheus,
        };
        for (line, problem) in template::check(&item.text, &flavour) {
            let fix = if problem.contains("not defined") {
                "use a template function (Prometheus: humanize, query, label, ...); read metrics with `query \"...\"`"
            } else if problem.contains("$values.") || problem.contains("$value is") {
                "use $values.<refId>.Value with a refId of the rule's data"
            } else {
                "fix the template syntax"
            };
            reports.push(Report {
                file: item.file.clone(),
                line: item.file_line.map(|l| l + line - 1),
                location: item.location.clone(),
                finding: Finding::new(FindingKind::Template, format!("template cannot render: line {line}: {problem}"), fix),
            });
        }
    }
    reports
}

/// Metric names a query reads (from plain names and `__name__="..."` matchers).
pub fn metric_names(query: &str) -> Vec<String> {
    let Ok(ast) = guard::parse(&parseable(query)) else { return vec![] };
    let mut names: Vec<String> = fallback::selectors(&ast).into_iter().filter_map(metric_name).collect();
    names.sort();
    names.dedup();
    names
}

/// An alert rule's expression without its outermost threshold comparisons against numbers
/// (`x > 0.5` -> `x`): what must return series for the alert to be able to fire.
pub fn without_threshold(expr: &Expr) -> &Expr {
    let mut expr = expr;
    loop {
        match expr {
            Expr::Paren(paren) => expr = &paren.expr,
            Expr::Binary(binary) if binary.op.is_comparison_operator() && !binary.return_bool() => {
                let number = |e: &Expr| matches!(e, Expr::NumberLiteral(_));
                if number(&binary.rhs) {
                    expr = &binary.lhs;
                } else if number(&binary.lhs) {
                    expr = &binary.rhs;
                } else {
                    return expr;
                }
            }
            _ => return expr,
        }
    }
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
            kinds("topk($top_n, irate(calls[$__rate_interval])) * on(queryid) group_left(displayname) pgss_query_info"),
            [FindingKind::FragileJoin, FindingKind::QueryidWithoutDatabase]
        );
        assert_eq!(kinds("rate(x[5m]) * on(datname, queryid) group_left(displayname) pgss_query_info"), [FindingKind::FragileJoin]);
        assert_eq!(kinds("(a * on(datname, queryid) group_left(displayname) pgss_query_info) or a"), [FindingKind::DuplicatingOr]);
        assert_eq!(kinds("sum(rate(x[5m])"), [FindingKind::Unparseable]);
        assert!(kinds("sum(rate(pg_stat_statements_calls_total[5m]))").is_empty());
    }

    #[test]
    fn an_info_metric_without_a_database_label_can_only_be_joined_on_queryid() {
        // postgres_ai's pgwatch_query_info has no datname: on(queryid) is the only join.
        assert_eq!(
            kinds("irate(pgwatch_pg_stat_statements_calls[5m]) * on(queryid) group_left(displayname) pgwatch_query_info"),
            [FindingKind::FragileJoin]
        );
    }

    #[test]
    fn catalogue_findings_name_the_metric_and_the_label() {
        let findings = lint_query("changes(patroni_timeline[15m]) > 0", &Rules::default());
        assert_eq!(findings[0].kind, FindingKind::UnknownMetric);
        assert!(findings[0].message.contains("no exporter exports patroni_timeline; did you mean patroni_postgres_timeline?"), "{findings:?}");
        let findings = lint_query("patroni_primary{cluster=\"main\"} == 1", &Rules::default());
        assert_eq!(findings[0].kind, FindingKind::UnknownLabel);
        assert!(findings[0].message.contains("patroni_primary has no label cluster (it has job, instance, name, scope)"), "{findings:?}");
        // Target labels, job/instance, matchers accepting "" and uncatalogued names pass.
        let rules = Rules::default();
        assert!(lint_query_with("patroni_primary{cluster=\"main\"}", &rules, &[Catalogue::builtin()], &["cluster".into()]).is_empty());
        assert!(kinds("up{job=\"x\", instance=~\"a.*\"} + patroni_primary{cluster=~\".*\"} + my:recorded{anything=\"1\"}").is_empty());
    }

    #[test]
    fn thresholds_are_stripped() {
        let ast = guard::parse("(sum by (scope) (patroni_primary) != 1)").unwrap();
        assert_eq!(without_threshold(&ast).to_string(), "sum by (scope) (patroni_primary)");
        let ast = guard::parse("a > b").unwrap();
        assert_eq!(without_threshold(&ast).to_string(), "a > b");
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
