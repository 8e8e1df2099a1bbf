//! The nodes the rewrite builds: `or ignoring(...)`, the `label_replace` that marks the
//! fallback side, `last_over_time` for sticky names; tokens and functions taken from parsed
//! templates once. Pure; used by `walk`.

use std::sync::OnceLock;
use std::time::Duration;

use promql_parser::label::Labels;
use promql_parser::parser::{self, AggregateExpr, BinModifier, BinaryExpr, Call, Expr, FunctionArgs, LabelModifier, MatrixSelector, ParenExpr, StringLiteral};

use super::MARKER_LABEL;
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
pub(super) fn sticky(info: Expr, window: Duration) -> Expr {
    match info {
        Expr::VectorSelector(vs) if vs.at.is_none() => {
            let mut call = templates().last_over_time.clone();
            call.args = FunctionArgs { args: vec![Box::new(Expr::MatrixSelector(MatrixSelector { vs, range: window }))] };
            Expr::Call(call)
        }
        other => other,
    }
}

/// `binary` with other operands: its operator and modifier copied, never its subtrees (a
/// `..binary.clone()` would copy both operands at every level only to drop them).
pub(super) fn with_operands(binary: &BinaryExpr, lhs: Expr, rhs: Expr) -> BinaryExpr {
    BinaryExpr { op: binary.op, lhs: Box::new(lhs), rhs: Box::new(rhs), modifier: binary.modifier.clone() }
}

/// Builds `((J') or ignoring(L, marker) marked(A))`, with a topk/bottomk around `A` moved outside.
pub(super) fn fallback_expr(original: &BinaryExpr, data: Expr, info: Expr, info_on_rhs: bool, info_metric: &str, copied: &[String]) -> Expr {
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
        with_operands(original, operand, info)
    } else {
        with_operands(original, info, operand)
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

