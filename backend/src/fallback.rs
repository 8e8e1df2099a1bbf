//! The fallback rewrite: makes info joins degrade instead of vanish.
//!
//! A pgss panel joins a rate with an *info* metric to get a readable name:
//!
//! ```text
//! topk(5, irate(calls[1m])) * on(queryid) group_left(displayname) pgwatch_query_info
//! ```
//!
//! When the exporter behind `pgwatch_query_info` stops, the join is empty and the panel goes
//! blank. `rewrite` turns such a join `J = A * on(K) group_left(L) INFO` into
//!
//! ```text
//! (J) or ignoring(L, __info_fallback) label_replace(A, "__info_fallback", "$1,INFO", "__info_fallback", "(.*)")
//! ```
//!
//! so every series of `A` comes back, named when `INFO` has it and marked with
//! `__info_fallback` when not (the data path strips the marker and says which names are missing).
//! `ignoring(L, marker)` keeps the named series from also appearing unnamed; `topk`/`bottomk`
//! around `A` move outside the `or` (two separate topk may pick different tied series).
//!
//! One entry point, `rewrite(query, rules) -> Rewrite`: parse, walk, print, as
//! prom-label-proxy's `Enforce` does. The walk is one exhaustive match over the AST. Every join
//! that is left alone gets a note saying why, in words a Grafana user understands. What cannot
//! be parsed (MetricsQL, Prometheus 3 additions, typos) is sent exactly as written, with a note.
//! When nothing changes the original text is sent, never the re-printed one (printing
//! normalises it). Facts behind these rules: shared/notes/promql-fallback.md.

use std::sync::OnceLock;
use std::time::Duration;

use promql_parser::label::{Labels, MatchOp, Matcher};
use promql_parser::parser::{
    self, AggregateExpr, BinModifier, BinaryExpr, Call, Expr, FunctionArgs, LabelModifier, MatrixSelector, ParenExpr,
    StringLiteral, VectorMatchCardinality, VectorSelector,
};

/// The label that marks series of the fallback side; its value lists the missing info metrics
/// (`,pgss_query_info` or `,a_info,b_info`).
pub const MARKER_LABEL: &str = "__info_fallback";

/// What counts as an info metric, and how far to go.
#[derive(Debug, Clone, PartialEq)]
pub struct Rules {
    /// Metric names that are info metrics although they do not end in `_info`.
    pub info_metrics: Vec<String>,
    /// Treat every metric whose name ends in `_info` as an info metric.
    pub info_suffix: bool,
    /// Rewrite `A / on(K) group_left(L) INFO` too (dividing by 1).
    pub allow_division: bool,
    /// Join against `last_over_time(INFO[window])`, so names survive short exporter outages.
    pub sticky_window: Option<Duration>,
    /// At most this many joins are rewritten in one query.
    pub max_rewrites: usize,
    /// A rewritten query longer than this is abandoned (the original is sent).
    pub max_output_len: usize,
}

/// postgres_exporter's (>= 0.18) and postgres_ai's info metrics, whose names lack `_info`.
pub const DEFAULT_INFO_METRICS: &[&str] = &["pg_stat_statements_query_id", "pgwatch_query_info"];

impl Default for Rules {
    fn default() -> Self {
        Rules {
            info_metrics: DEFAULT_INFO_METRICS.iter().map(|s| s.to_string()).collect(),
            info_suffix: true,
            allow_division: false,
            sticky_window: None,
            max_rewrites: 16,
            max_output_len: 64 * 1024,
        }
    }
}

impl Rules {
    pub fn is_info_metric(&self, name: &str) -> bool {
        (self.info_suffix && name.ends_with("_info")) || self.info_metrics.iter().any(|m| m == name)
    }
}

/// Why a note was written: tests and the editor can tell cases apart without parsing text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The join got a fallback.
    Rewritten,
    /// Could not be parsed as PromQL; sent as written.
    NotAnalysed,
    /// An enclosing aggregation groups by a copied label but not by the join key.
    WouldCollapse,
    /// The info selector has a matcher the data side lacks: it filters the data.
    InfoFilters,
    /// Already `(J) or ignoring(L) A`.
    AlreadyHasFallback,
    /// Already `(J) or A`: duplicates while the info metric is present.
    PlainOrDuplicates,
    /// `and`/`unless` with an info metric, or a group_left that copies no label.
    Filter,
    /// `+`, `-`, comparisons...: a fallback would change values.
    ChangesValues,
    /// Division by an info metric, which the settings do not allow.
    DivisionDisabled,
    /// A join without `on(...)`.
    NoJoinKey,
    /// Safety caps: too many joins, output too long, or the output did not re-parse.
    Abandoned,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub reason: Reason,
    pub text: String,
}

/// One rewritten join, for the data path (which labels the fallback lacks, what key names it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fallback {
    pub info_metric: String,
    pub copied_labels: Vec<String>,
    pub join_keys: Vec<String>,
}

/// The query to send, and what happened to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rewrite {
    pub query: String,
    pub changed: bool,
    pub fallbacks: Vec<Fallback>,
    pub notes: Vec<Note>,
}

/// Rewrites every fragile info join of `query` per `rules`. Pure; never panics.
pub fn rewrite(query: &str, rules: &Rules) -> Rewrite {
    let unchanged = |notes: Vec<Note>| Rewrite { query: query.to_string(), changed: false, fallbacks: vec![], notes };
    let ast = match parser::parse(query) {
        Ok(ast) => ast,
        Err(error) => {
            return unchanged(vec![Note {
                reason: Reason::NotAnalysed,
                text: format!(
                    "not analysed ({}): sent as written, without a fallback",
                    first_line(&error)
                ),
            }])
        }
    };
    let mut walker = Walker { rules, notes: vec![], fallbacks: vec![] };
    let rewritten = walker.walk(&ast, &[]);
    if walker.fallbacks.is_empty() {
        return unchanged(walker.notes);
    }
    // Our own parentheses around a rewritten root are not needed.
    let root = match (&ast, rewritten) {
        (Expr::Paren(_), rewritten) => rewritten,
        (_, Expr::Paren(ParenExpr { expr })) => *expr,
        (_, rewritten) => rewritten,
    };
    let text = root.to_string();
    let abandon = |walker: Walker, why: String| {
        let mut notes: Vec<Note> = walker.notes.into_iter().filter(|n| n.reason != Reason::Rewritten).collect();
        notes.push(Note { reason: Reason::Abandoned, text: why });
        unchanged(notes)
    };
    if text.len() > rules.max_output_len {
        let why = format!("rewrite abandoned: the result would be {} characters (limit {}); sent as written", text.len(), rules.max_output_len);
        return abandon(walker, why);
    }
    if let Err(error) = parser::parse(&text) {
        let why = format!("rewrite abandoned: the result did not parse ({}); sent as written", first_line(&error));
        return abandon(walker, why);
    }
    Rewrite { query: text, changed: true, fallbacks: walker.fallbacks, notes: walker.notes }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or(text)
}

struct Walker<'r> {
    rules: &'r Rules,
    notes: Vec<Note>,
    fallbacks: Vec<Fallback>,
}

/// What a binary expression is, for the rewrite.
enum Join {
    /// Not a join with an info metric.
    None,
    /// A join with an info metric that must be left alone.
    Skip(Reason, String),
    /// A join to rewrite.
    Fragile { info_on_rhs: bool, info_metric: String, copied: Vec<String>, keys: Vec<String> },
}

impl Walker<'_> {
    fn note(&mut self, reason: Reason, text: String) {
        self.notes.push(Note { reason, text });
    }

    /// Returns a copy of `expr` with its fragile joins rewritten. `groupings` are the by/without
    /// clauses of the aggregations around `expr`.
    fn walk(&mut self, expr: &Expr, groupings: &[LabelModifier]) -> Expr {
        match expr {
            Expr::Aggregate(aggregate) => {
                let mut inner = groupings.to_vec();
                inner.extend(aggregate.modifier.clone());
                Expr::Aggregate(AggregateExpr {
                    expr: Box::new(self.walk(&aggregate.expr, &inner)),
                    param: aggregate.param.as_ref().map(|p| Box::new(self.walk(p, groupings))),
                    ..aggregate.clone()
                })
            }
            Expr::Unary(unary) => {
                let mut copy = unary.clone();
                copy.expr = Box::new(self.walk(&unary.expr, groupings));
                Expr::Unary(copy)
            }
            Expr::Binary(binary) => self.walk_binary(binary, groupings),
            Expr::Paren(paren) => Expr::Paren(ParenExpr { expr: Box::new(self.walk(&paren.expr, groupings)) }),
            Expr::Subquery(subquery) => {
                let mut copy = subquery.clone();
                copy.expr = Box::new(self.walk(&subquery.expr, groupings));
                Expr::Subquery(copy)
            }
            Expr::Call(call) => Expr::Call(Call {
                func: call.func.clone(),
                args: FunctionArgs { args: call.args.args.iter().map(|a| Box::new(self.walk(a, groupings))).collect() },
            }),
            // Leaves: nothing below them to rewrite.
            Expr::NumberLiteral(_)
            | Expr::StringLiteral(_)
            | Expr::VectorSelector(_)
            | Expr::MatrixSelector(_)
            | Expr::Extension(_) => expr.clone(),
        }
    }

    fn walk_binary(&mut self, binary: &BinaryExpr, groupings: &[LabelModifier]) -> Expr {
        let op = binary.op.to_string();
        if op == "or" {
            if let Some((info, copied)) = self.join_info(strip_parens(&binary.lhs)) {
                let ignored = match binary.modifier.as_ref().and_then(|m| m.matching.as_ref()) {
                    Some(LabelModifier::Exclude(labels)) => labels.labels.clone(),
                    _ => vec![],
                };
                if copied.iter().all(|l| ignored.contains(l)) {
                    self.note(
                        Reason::AlreadyHasFallback,
                        format!("the join with {info} already has a fallback (`or ignoring({})`): left as written", copied.join(", ")),
                    );
                } else {
                    self.note(
                        Reason::PlainOrDuplicates,
                        format!(
                            "warning: `or` without `ignoring({})` returns every series twice while {info} is present; \
                             write `or ignoring({}) ...` instead",
                            copied.join(", "),
                            copied.join(", ")
                        ),
                    );
                }
                return Expr::Binary(binary.clone());
            }
        }
        let lhs = self.walk(&binary.lhs, groupings);
        let rhs = self.walk(&binary.rhs, groupings);
        match self.classify(binary, groupings) {
            Join::None => Expr::Binary(BinaryExpr { lhs: Box::new(lhs), rhs: Box::new(rhs), ..binary.clone() }),
            Join::Skip(reason, text) => {
                self.note(reason, text);
                Expr::Binary(BinaryExpr { lhs: Box::new(lhs), rhs: Box::new(rhs), ..binary.clone() })
            }
            Join::Fragile { info_on_rhs, info_metric, copied, keys } => {
                let (data, info) = if info_on_rhs { (lhs, rhs) } else { (rhs, lhs) };
                let info = match self.rules.sticky_window {
                    Some(window) => sticky(info, window),
                    None => info,
                };
                self.note(
                    Reason::Rewritten,
                    format!(
                        "the join with {info_metric} gets a fallback: when {info_metric} has no series, the data is shown \
                         without {}, named by {}",
                        copied.join(", "),
                        keys.join(", ")
                    ),
                );
                let result = fallback_expr(binary, data, info, info_on_rhs, &info_metric, &copied);
                self.fallbacks.push(Fallback { info_metric, copied_labels: copied, join_keys: keys });
                result
            }
        }
    }

    /// If `expr` is a join that copies labels from an info metric: the metric and the labels.
    fn join_info(&self, expr: &Expr) -> Option<(String, Vec<String>)> {
        let Expr::Binary(binary) = expr else { return None };
        let (info_side, copied) = match binary.modifier.as_ref().map(|m| &m.card) {
            Some(VectorMatchCardinality::ManyToOne(labels)) => (&binary.rhs, labels),
            Some(VectorMatchCardinality::OneToMany(labels)) => (&binary.lhs, labels),
            _ => return None,
        };
        let (info, _) = self.info_selector(info_side)?;
        (!copied.labels.is_empty()).then(|| (info, copied.labels.clone()))
    }

    /// The info metric an expression reads, if it is an info metric possibly wrapped in
    /// parens, max/min/avg/group, label_replace or last/max/min_over_time.
    fn info_selector<'e>(&self, expr: &'e Expr) -> Option<(String, &'e VectorSelector)> {
        match strip_parens(expr) {
            Expr::VectorSelector(selector) => {
                let name = metric_name(selector)?;
                self.rules.is_info_metric(&name).then_some((name, selector))
            }
            Expr::Aggregate(aggregate) if matches!(aggregate.op.to_string().as_str(), "max" | "min" | "avg" | "group") => {
                self.info_selector(&aggregate.expr)
            }
            Expr::Call(call) => match call.func.name {
                "label_replace" => self.info_selector(call.args.args.first()?),
                "last_over_time" | "max_over_time" | "min_over_time" => match call.args.args.first().map(|a| a.as_ref()) {
                    Some(Expr::MatrixSelector(matrix)) => {
                        let name = metric_name(&matrix.vs)?;
                        self.rules.is_info_metric(&name).then_some((name, &matrix.vs))
                    }
                    _ => None,
                },
                _ => None,
            },
            _ => None,
        }
    }

    fn classify(&self, binary: &BinaryExpr, groupings: &[LabelModifier]) -> Join {
        let op = binary.op.to_string();
        let Some(modifier) = binary.modifier.as_ref() else {
            return Join::None;
        };
        let (info_on_rhs, copied) = match &modifier.card {
            VectorMatchCardinality::ManyToOne(labels) => (true, labels.labels.clone()),
            VectorMatchCardinality::OneToMany(labels) => (false, labels.labels.clone()),
            VectorMatchCardinality::ManyToMany | VectorMatchCardinality::OneToOne => {
                let info = self.info_selector(&binary.rhs).or_else(|| self.info_selector(&binary.lhs));
                return match info {
                    Some((name, _)) if op == "and" || op == "unless" => {
                        Join::Skip(Reason::Filter, format!("`{op}` with {name} is a filter, not a join: left as written"))
                    }
                    _ => Join::None,
                };
            }
        };
        let (info_side, data_side) = if info_on_rhs { (&binary.rhs, &binary.lhs) } else { (&binary.lhs, &binary.rhs) };
        let Some((info, info_selector)) = self.info_selector(info_side) else {
            return Join::None;
        };
        if copied.is_empty() {
            return Join::Skip(Reason::Filter, format!("the group_{} with {info} copies no labels, so it only filters: left as written", if info_on_rhs { "left" } else { "right" }));
        }
        match op.as_str() {
            "*" => {}
            "/" if info_on_rhs && self.rules.allow_division => {}
            "/" if info_on_rhs => {
                return Join::Skip(
                    Reason::DivisionDisabled,
                    format!("division by {info} is rewritten only when \"division by info metrics\" is on in the datasource settings"),
                )
            }
            other => {
                return Join::Skip(Reason::ChangesValues, format!("`{other}` with {info} is not rewritten: a fallback would change the values"))
            }
        }
        let keys = match &modifier.matching {
            Some(LabelModifier::Include(labels)) if !labels.labels.is_empty() => labels.labels.clone(),
            _ => return Join::Skip(Reason::NoJoinKey, format!("the join with {info} has no on(...) clause: left as written")),
        };
        let data_selectors = selectors(data_side);
        for matcher in info_selector.matchers.matchers.iter().filter(|m| m.name != "__name__") {
            if !data_selectors.iter().all(|s| s.matchers.matchers.contains(matcher)) {
                return Join::Skip(
                    Reason::InfoFilters,
                    format!(
                        "the {info} selector filters the data ({}): a fallback would show series the query excludes; left as written",
                        matcher_text(matcher)
                    ),
                );
            }
        }
        for grouping in groupings {
            match grouping {
                LabelModifier::Include(by) => {
                    let groups_by_copied = by.labels.iter().any(|l| copied.contains(l));
                    let keeps_keys = keys.iter().all(|k| by.labels.contains(k));
                    if groups_by_copied && !keeps_keys {
                        return Join::Skip(
                            Reason::WouldCollapse,
                            format!(
                                "`by ({})` groups by a label from {info} but not by the join key ({}): without names every series \
                                 would collapse into one; left as written",
                                by.labels.join(", "),
                                keys.join(", ")
                            ),
                        );
                    }
                }
                LabelModifier::Exclude(without) => {
                    if keys.iter().any(|k| without.labels.contains(k)) {
                        return Join::Skip(
                            Reason::WouldCollapse,
                            format!("`without ({})` drops the join key: without names series would collapse; left as written", without.labels.join(", ")),
                        );
                    }
                }
            }
        }
        if self.fallbacks.len() >= self.rules.max_rewrites {
            return Join::Skip(Reason::Abandoned, format!("more than {} joins in one query: the join with {info} is left as written", self.rules.max_rewrites));
        }
        Join::Fragile { info_on_rhs, info_metric: info, copied, keys }
    }
}

fn strip_parens(mut expr: &Expr) -> &Expr {
    while let Expr::Paren(paren) = expr {
        expr = &paren.expr;
    }
    expr
}

/// The metric a selector reads (its name, or an `__name__="..."` matcher).
pub fn metric_name(selector: &VectorSelector) -> Option<String> {
    selector.name.clone().or_else(|| {
        selector
            .matchers
            .matchers
            .iter()
            .find(|m| m.name == "__name__" && matches!(m.op, MatchOp::Equal))
            .map(|m| m.value.clone())
    })
}

fn matcher_text(matcher: &Matcher) -> String {
    format!("{}{}\"{}\"", matcher.name, matcher.op, matcher.value)
}

/// The direct children of an expression.
fn children(expr: &Expr) -> Vec<&Expr> {
    match expr {
        Expr::Aggregate(aggregate) => std::iter::once(aggregate.expr.as_ref()).chain(aggregate.param.as_deref()).collect(),
        Expr::Unary(unary) => vec![&unary.expr],
        Expr::Binary(binary) => vec![&binary.lhs, &binary.rhs],
        Expr::Paren(paren) => vec![&paren.expr],
        Expr::Subquery(subquery) => vec![&subquery.expr],
        Expr::Call(call) => call.args.args.iter().map(|a| a.as_ref()).collect(),
        Expr::VectorSelector(_) | Expr::MatrixSelector(_) | Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => vec![],
    }
}

/// Every node of `expr`, depth first.
pub fn nodes(expr: &Expr) -> Vec<&Expr> {
    let mut found = Vec::new();
    let mut stack = vec![expr];
    while let Some(expr) = stack.pop() {
        found.push(expr);
        stack.extend(children(expr));
    }
    found
}

/// Every vector selector in `expr` (matrix and subquery selectors included).
pub fn selectors(expr: &Expr) -> Vec<&VectorSelector> {
    nodes(expr)
        .into_iter()
        .filter_map(|node| match node {
            Expr::VectorSelector(selector) => Some(selector),
            Expr::MatrixSelector(matrix) => Some(&matrix.vs),
            _ => None,
        })
        .collect()
}

/// Tokens and functions for the nodes we build, taken from parsed templates once.
struct Templates {
    or: BinaryExpr,
    label_replace: Call,
    last_over_time: Call,
}

fn templates() -> &'static Templates {
    static TEMPLATES: OnceLock<Templates> = OnceLock::new();
    TEMPLATES.get_or_init(|| {
        let parse = |text: &str| parser::parse(text).unwrap_or_else(|e| unreachable!("template {text}: {e}"));
        let Expr::Binary(or) = parse("a or ignoring(b) c") else { unreachable!("template a or c") };
        let Expr::Call(label_replace) = parse(r#"label_replace(a, "b", "c", "d", "e")"#) else { unreachable!("template label_replace") };
        let Expr::Call(last_over_time) = parse("last_over_time(a[1m])") else { unreachable!("template last_over_time") };
        Templates { or, label_replace, last_over_time }
    })
}

fn string(text: &str) -> Box<Expr> {
    Box::new(Expr::StringLiteral(StringLiteral { val: text.to_string() }))
}

/// `label_replace(data, "__info_fallback", "$1,<info>", "__info_fallback", "(.*)")`: appends the
/// missing metric to the marker, so nested fallbacks list every metric that is missing.
fn marked(data: Expr, info_metric: &str) -> Expr {
    let mut call = templates().label_replace.clone();
    call.args = FunctionArgs {
        args: vec![
            Box::new(data),
            string(MARKER_LABEL),
            string(&format!("$1,{info_metric}")),
            string(MARKER_LABEL),
            string("(.*)"),
        ],
    };
    Expr::Call(call)
}

/// `last_over_time(INFO[window])` for a plain info selector; anything else is kept.
fn sticky(info: Expr, window: Duration) -> Expr {
    match info {
        Expr::VectorSelector(vs) if vs.at.is_none() => {
            let mut call = templates().last_over_time.clone();
            call.args = FunctionArgs { args: vec![Box::new(Expr::MatrixSelector(MatrixSelector { vs, range: window }))] };
            Expr::Call(call)
        }
        other => other,
    }
}

/// Builds `((J') or ignoring(L, marker) marked(A))`, with a topk/bottomk around `A` moved outside.
fn fallback_expr(original: &BinaryExpr, data: Expr, info: Expr, info_on_rhs: bool, info_metric: &str, copied: &[String]) -> Expr {
    let (hoisted, data) = match data {
        Expr::Aggregate(aggregate) if matches!(aggregate.op.to_string().as_str(), "topk" | "bottomk") => {
            let inner = (*aggregate.expr).clone();
            (Some(aggregate), inner)
        }
        other => (None, other),
    };
    // A binary data side (exposed by moving a topk out) needs parentheses inside the join, or
    // precedence would regroup it when printed: `info * on(k) a + b` is `(info * a) + b`.
    let operand = match &data {
        Expr::Binary(_) => Expr::Paren(ParenExpr { expr: Box::new(data.clone()) }),
        _ => data.clone(),
    };
    let join = Expr::Binary(if info_on_rhs {
        BinaryExpr { lhs: Box::new(operand), rhs: Box::new(info), ..original.clone() }
    } else {
        BinaryExpr { lhs: Box::new(info), rhs: Box::new(operand), ..original.clone() }
    });
    let mut ignored: Vec<String> = copied.to_vec();
    ignored.push(MARKER_LABEL.to_string());
    let template = &templates().or;
    let or = Expr::Binary(BinaryExpr {
        op: template.op,
        lhs: Box::new(Expr::Paren(ParenExpr { expr: Box::new(join) })),
        rhs: Box::new(marked(data, info_metric)),
        modifier: Some(BinModifier {
            matching: Some(LabelModifier::Exclude(Labels { labels: ignored })),
            ..template.modifier.clone().unwrap_or_else(|| unreachable!("template has a modifier"))
        }),
    });
    let result = match hoisted {
        Some(aggregate) => Expr::Aggregate(AggregateExpr { expr: Box::new(or), ..aggregate }),
        None => or,
    };
    Expr::Paren(ParenExpr { expr: Box::new(result) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> Rules {
        Rules::default()
    }

    #[test]
    fn the_incident_query_gets_topk_outside_the_or() {
        let query = "topk(5, irate(pgwatch_pg_stat_statements_calls{cluster=\"prod\"}[1m])) * on(queryid) group_left(displayname, query) pgwatch_query_info";
        let out = rewrite(query, &rules());
        assert!(out.changed);
        assert_eq!(
            out.query,
            "topk(5, (irate(pgwatch_pg_stat_statements_calls{cluster=\"prod\"}[1m]) * on (queryid) group_left (displayname, query) pgwatch_query_info) \
             or ignoring (displayname, query, __info_fallback) label_replace(irate(pgwatch_pg_stat_statements_calls{cluster=\"prod\"}[1m]), \
             \"__info_fallback\", \"$1,pgwatch_query_info\", \"__info_fallback\", \"(.*)\"))"
        );
        assert_eq!(out.fallbacks[0].join_keys, ["queryid"]);
        assert_eq!(out.notes[0].reason, Reason::Rewritten);
    }

    #[test]
    fn a_second_pass_changes_nothing() {
        let once = rewrite("rate(x[5m]) * on(queryid) group_left(displayname) pgss_query_info", &rules());
        let twice = rewrite(&once.query, &rules());
        assert!(!twice.changed, "{}", twice.query);
        assert_eq!(twice.notes[0].reason, Reason::AlreadyHasFallback);
    }

    #[test]
    fn unparseable_queries_pass_through() {
        let out = rewrite("sum(rate(x[5m])", &rules());
        assert_eq!((out.query.as_str(), out.changed), ("sum(rate(x[5m])", false));
        assert_eq!(out.notes[0].reason, Reason::NotAnalysed);
    }

    #[test]
    fn sticky_names_join_against_last_over_time() {
        let rules = Rules { sticky_window: Some(Duration::from_secs(3600)), ..rules() };
        let out = rewrite("rate(x[5m]) * on(queryid) group_left(displayname) pgss_query_info", &rules);
        assert!(out.query.contains("group_left (displayname) last_over_time(pgss_query_info[1h])"), "{}", out.query);
    }

    #[test]
    fn caps_abandon_the_rewrite() {
        let query = "rate(x[5m]) * on(queryid) group_left(displayname) pgss_query_info";
        let out = rewrite(query, &Rules { max_output_len: 20, ..rules() });
        assert_eq!((out.query.as_str(), out.changed), (query, false));
        assert_eq!(out.notes.last().unwrap().reason, Reason::Abandoned);
        let out = rewrite(query, &Rules { max_rewrites: 0, ..rules() });
        assert!(!out.changed);
        assert_eq!(out.notes[0].reason, Reason::Abandoned);
    }

    #[test]
    fn a_hoisted_topk_keeps_its_binary_data_side_grouped() {
        // Found by the property test: without parentheses the printed join regrouped.
        let query = "pgss_query_info * on(queryid) group_right(displayname) topk(1, a + on() group_right() b)";
        let out = rewrite(query, &rules());
        assert!(out.query.contains("group_right (displayname) (a + on () group_right () b)"), "{}", out.query);
        assert!(!rewrite(&out.query, &rules()).changed);
    }

    #[test]
    fn unchanged_queries_keep_their_exact_text() {
        let query = "sum(rate(pg_stat_statements_calls_total[1m0s])) by (job)   # a comment";
        assert_eq!(rewrite(query, &rules()).query, query);
    }
}
