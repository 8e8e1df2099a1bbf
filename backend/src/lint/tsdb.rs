//! The checks that ask a TSDB (`pgscope lint --tsdb URL`): metrics without series (an info line
//! for a catalogued *optional* family, such as Citus's, absent wherever the extension is), label
//! matchers that match nothing (with the label's real values as the hint), rules whose
//! expression returned nothing over the last hour while their metrics have series (a hint:
//! an alert's threshold comparison is left out, so a quiet alert is not reported), and dashboard
//! variables whose query returns no values. Dashboard variables inside a query (`$instance`) are
//! unknown here: matchers holding one are left out of what is asked.

use promql_parser::label::{MatchOp, Matcher};
use promql_parser::parser::value::ValueType;
use promql_parser::parser::Expr;
use serde_json::Value;

use super::catalogue::Catalogue;
use super::files::{Kind, Query, Variable};
use super::{metric_name, metric_names, parseable, without_threshold, Finding, FindingKind};
use crate::fallback::{self, guard};
use crate::prom::client::PromClient;

/// At most this many label values in a hint.
const MAX_VALUES: usize = 8;

async fn instant(client: &PromClient, expr: &str) -> Result<Vec<Value>, String> {
    let now = chrono::Utc::now().timestamp() as f64;
    let answer = client.query_instant(expr, now, None).await.map_err(|e| e.to_string())?;
    let body: Value = serde_json::from_slice(&answer.body).map_err(|e| format!("{expr}: not a JSON answer: {e}"))?;
    if body["status"] != "success" {
        return Err(format!("{expr}: {}", body["error"].as_str().unwrap_or("the TSDB refused the query")));
    }
    Ok(body["data"]["result"].as_array().cloned().unwrap_or_default())
}

/// Which of `names` have no series in the TSDB now (`count(name)` is empty).
pub async fn metrics_without_series(client: &PromClient, names: &[String]) -> Result<Vec<String>, String> {
    let mut missing = Vec::new();
    for name in names {
        let selector = Matcher::new(MatchOp::Equal, "__name__", name);
        if instant(client, &format!("count({{{selector}}})")).await?.is_empty() {
            missing.push(name.clone());
        }
    }
    Ok(missing)
}

/// A variable in a matcher value (`$x`, `${x}`, `[[x]]`).
fn has_variable(text: &str) -> bool {
    text.contains("[[") || text.match_indices('$').any(|(i, _)| text[i + 1..].starts_with(|c: char| c.is_alphabetic() || c == '_' || c == '{'))
}

/// Values of `label` on `name`'s series.
async fn label_values(client: &PromClient, name: &str, label: &str) -> Result<Vec<String>, String> {
    let selector = Matcher::new(MatchOp::Equal, "__name__", name);
    let result = instant(client, &format!("group by ({label}) ({{{selector}}})")).await?;
    let mut values: Vec<String> = result.iter().filter_map(|r| r["metric"][label].as_str().map(String::from)).collect();
    values.sort();
    values.dedup();
    Ok(values)
}

/// The TSDB's findings for one stored query.
pub async fn query_findings(client: &PromClient, query: &Query, url: &str) -> Result<Vec<Finding>, String> {
    let names = metric_names(&query.expr);
    let missing = metrics_without_series(client, &names).await?;
    let mut findings: Vec<Finding> = missing
        .iter()
        .map(|name| match Catalogue::builtin().optional(name) {
            Some(why) => Finding::new(FindingKind::OptionalNoSeries, format!("{name} has no series: {why}"), ""),
            None => Finding::new(
                FindingKind::NoSeries,
                format!("metric {name} has no series in {url}"),
                "check the exporter and its scrape job, or the metric's name",
            ),
        })
        .collect();
    let Ok(ast) = guard::parse(&parseable(&query.expr)) else { return Ok(findings) };
    for selector in fallback::selectors(&ast) {
        let Some(name) = metric_name(selector) else { continue };
        if missing.contains(&name) {
            continue;
        }
        let checkable: Vec<&Matcher> = selector
            .matchers
            .matchers
            .iter()
            .filter(|m| m.name != "__name__" && matches!(m.op, MatchOp::Equal | MatchOp::Re(_)) && !has_variable(&m.value) && !m.is_match(""))
            .collect();
        if checkable.is_empty() {
            continue;
        }
        let all: Vec<String> = std::iter::once(Matcher::new(MatchOp::Equal, "__name__", &name).to_string())
            .chain(checkable.iter().map(|m| m.to_string()))
            .collect();
        if !instant(client, &format!("count({{{}}})", all.join(", "))).await?.is_empty() {
            continue;
        }
        for matcher in checkable {
            let name_matcher = Matcher::new(MatchOp::Equal, "__name__", &name);
            if !instant(client, &format!("count({{{name_matcher}, {matcher}}})")).await?.is_empty() {
                continue;
            }
            let values = label_values(client, &name, &matcher.name).await?;
            let message = if values.is_empty() {
                format!("{name}{{{matcher}}} matches nothing: no series of {name} has a {} label", matcher.name)
            } else {
                let shown: Vec<&str> = values.iter().take(MAX_VALUES).map(String::as_str).collect();
                let more = if values.len() > MAX_VALUES { format!(" and {} more", values.len() - MAX_VALUES) } else { String::new() };
                format!("{name}{{{matcher}}} matches nothing: its {} values are {}{more}", matcher.name, shown.join(", "))
            };
            findings.push(Finding::new(FindingKind::MatchesNothing, message, format!("match one of the {} values the TSDB has", matcher.name)));
        }
    }
    let inner: &Expr = without_threshold(&ast);
    // A scalar always has a value (and `count` refuses one): only vectors can come back empty.
    let vector = inner.value_type() == ValueType::Vector;
    if query.kind != Kind::Target && vector && missing.is_empty() && !names.is_empty() && findings.is_empty() {
        // The subquery's steps are aligned to the minute; the plain evaluation covers the newest samples.
        let expr = format!("count(last_over_time(({inner})[1h:1m])) or count({inner})");
        if instant(client, &expr).await?.is_empty() {
            let what = if query.kind == Kind::RecordingRule { "expression" } else { "expression without its threshold" };
            findings.push(Finding::new(
                FindingKind::EmptyRule,
                format!("the rule's {what} returned nothing over the last hour, while its metrics have series: {inner}"),
                "check its joins, label matchers and functions; the rule cannot fire or record as written",
            ));
        }
    }
    Ok(findings)
}

/// Removes the label matchers holding a dashboard variable from every `{...}` of `query`.
pub fn strip_variable_matchers(query: &str) -> String {
    let mut out = String::with_capacity(query.len());
    let chars: Vec<char> = query.chars().collect();
    let mut i = 0;
    let mut quote: Option<char> = None;
    while i < chars.len() {
        let c = chars[i];
        if let Some(q) = quote {
            out.push(c);
            if c == '\\' && q != '`' {
                if let Some(next) = chars.get(i + 1) {
                    out.push(*next);
                    i += 1;
                }
            } else if c == q {
                quote = None;
            }
            i += 1;
            continue;
        }
        match c {
            '"' | '\'' | '`' => {
                quote = Some(c);
                out.push(c);
                i += 1;
            }
            '{' => {
                // Split the selector body at commas outside strings.
                let mut items = vec![String::new()];
                let mut inner_quote: Option<char> = None;
                let mut j = i + 1;
                while j < chars.len() {
                    let d = chars[j];
                    if let Some(q) = inner_quote {
                        if let Some(last) = items.last_mut() {
                            last.push(d);
                        }
                        if d == '\\' && q != '`' {
                            if let (Some(next), Some(last)) = (chars.get(j + 1), items.last_mut()) {
                                last.push(*next);
                                j += 1;
                            }
                        } else if d == q {
                            inner_quote = None;
                        }
                    } else if d == '}' {
                        break;
                    } else if d == ',' {
                        items.push(String::new());
                    } else {
                        if matches!(d, '"' | '\'' | '`') {
                            inner_quote = Some(d);
                        }
                        if let Some(last) = items.last_mut() {
                            last.push(d);
                        }
                    }
                    j += 1;
                }
                let kept: Vec<&str> = items.iter().map(|s| s.trim()).filter(|s| !s.is_empty() && !has_variable(s)).collect();
                if !kept.is_empty() {
                    out.push('{');
                    out.push_str(&kept.join(", "));
                    out.push('}');
                }
                i = j + 1;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// The arguments of `function(...)` when `query` is such a call.
fn call_args<'a>(query: &'a str, function: &str) -> Option<&'a str> {
    let rest = query.trim().strip_prefix(function)?.trim_start();
    rest.strip_prefix('(')?.strip_suffix(')')
}

/// A finding when the variable's query returns no values; None when it returns some or is of a
/// kind not asked (label_names).
pub async fn variable_finding(client: &PromClient, variable: &Variable) -> Result<Option<Finding>, String> {
    let query = variable.query.trim();
    let empty = if let Some(args) = call_args(query, "label_values") {
        // label_values(label) or label_values(selector, label): the label is after the last comma.
        let (selector, label) = match args.rfind(',') {
            Some(at) => (Some(args[..at].trim()), args[at + 1..].trim()),
            None => (None, args.trim()),
        };
        match selector {
            Some(selector) => {
                let expr = parseable(&strip_variable_matchers(selector));
                let result = instant(client, &format!("group by ({label}) ({expr})")).await?;
                !result.iter().any(|r| r["metric"][label].is_string())
            }
            None => {
                let answer = client.get_json(&format!("api/v1/label/{label}/values"), &[], None).await.map_err(|e| e.to_string())?;
                let body: Value = serde_json::from_slice(&answer.body).map_err(|e| e.to_string())?;
                body["data"].as_array().is_none_or(|values| values.is_empty())
            }
        }
    } else if let Some(expr) = call_args(query, "query_result") {
        instant(client, &parseable(&strip_variable_matchers(expr))).await?.is_empty()
    } else if let Some(regex) = call_args(query, "metrics") {
        let quoted = serde_json::to_string(regex.trim()).map_err(|e| e.to_string())?;
        instant(client, &format!("count by (__name__) ({{__name__=~{quoted}}})")).await?.is_empty()
    } else if query.starts_with("label_names") {
        return Ok(None);
    } else {
        // A plain PromQL query (Grafana runs it as a query_result).
        instant(client, &parseable(&strip_variable_matchers(query))).await?.is_empty()
    };
    Ok(empty.then(|| {
        Finding::new(
            FindingKind::EmptyVariable,
            format!("the variable's query returns no values: {query}"),
            "check its metric, label and matchers against the TSDB (variables in matchers were left out)",
        )
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variable_matchers_are_left_out() {
        assert_eq!(strip_variable_matchers(r#"up{job="a", instance=~"$instance"}"#), r#"up{job="a"}"#);
        assert_eq!(strip_variable_matchers(r#"sum(x{i=~"${i:regex}"}) by (job)"#), "sum(x) by (job)");
        assert_eq!(
            strip_variable_matchers(r#"label_replace(x{a="}{,"}, "d", "$1", "s", "(.+)")"#),
            r#"label_replace(x{a="}{,"}, "d", "$1", "s", "(.+)")"#
        );
        assert!(has_variable("$x") && has_variable("[[x]]") && !has_variable("$1"));
        assert_eq!(call_args(" label_values(up, job) ", "label_values"), Some("up, job"));
    }
}
