//! The walk over the syntax tree: one exhaustive match over every `Expr` node. Each binary
//! expression is a fragile info join to rewrite, one to leave alone (with the reason, as a
//! note) or not a join. Nodes are built by `templates`, read with `ast`. Pure.

use promql_parser::parser::{
    AggregateExpr, BinaryExpr, Call, Expr, FunctionArgs, LabelModifier, ParenExpr, SubqueryExpr, UnaryExpr, VectorMatchCardinality, VectorSelector,
};

use super::ast::{matcher_text, metric_name, selectors, strip_parens};
use super::templates::{fallback_expr, sticky, with_operands};
use super::{Fallback, Note, Reason, Rules};
pub(super) struct Walker<'r> {
    pub(super) rules: &'r Rules,
    pub(super) notes: Vec<Note>,
    pub(super) fallbacks: Vec<Fallback>,
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
    pub(super) fn walk(&mut self, expr: &Expr, groupings: &[LabelModifier]) -> Expr {
        match expr {
            Expr::Aggregate(aggregate) => {
                let mut inner = groupings.to_vec();
                inner.extend(aggregate.modifier.clone());
                // Field by field, never `..aggregate.clone()`: that would copy the whole subtree
                // at every level (quadratic on deep queries) only to drop it.
                Expr::Aggregate(AggregateExpr {
                    op: aggregate.op,
                    expr: Box::new(self.walk(&aggregate.expr, &inner)),
                    param: aggregate.param.as_ref().map(|p| Box::new(self.walk(p, groupings))),
                    modifier: aggregate.modifier.clone(),
                })
            }
            Expr::Unary(unary) => {
                Expr::Unary(UnaryExpr { expr: Box::new(self.walk(&unary.expr, groupings)) })
            }
            Expr::Binary(binary) => self.walk_binary(binary, groupings),
            Expr::Paren(paren) => Expr::Paren(ParenExpr { expr: Box::new(self.walk(&paren.expr, groupings)) }),
            Expr::Subquery(subquery) => {
                Expr::Subquery(SubqueryExpr {
                    expr: Box::new(self.walk(&subquery.expr, groupings)),
                    offset: subquery.offset.clone(),
                    at: subquery.at.clone(),
                    range: subquery.range,
                    step: subquery.step,
                })
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
            Join::None => Expr::Binary(with_operands(binary, lhs, rhs)),
            Join::Skip(reason, text) => {
                self.note(reason, text);
                Expr::Binary(with_operands(binary, lhs, rhs))
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

