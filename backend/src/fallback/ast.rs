//! Reading PromQL syntax trees: a selector's metric name, matcher text, parentheses stripped,
//! every node and every selector of an expression. Pure helpers for the rewrite and the linter;
//! nothing here changes a tree.

use promql_parser::label::{MatchOp, Matcher};
use promql_parser::parser::{Expr, VectorSelector};
pub(super) fn strip_parens(mut expr: &Expr) -> &Expr {
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

pub(super) fn matcher_text(matcher: &Matcher) -> String {
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
