//! The finishing touches Grafana's Prometheus datasource puts on `promql` frames: series names
//! from the legend format, the step as the time field's interval, `executedQueryString`. Pure.

use std::time::Duration;

use crate::duration;
use crate::frame::{FieldConfig, Frame, Labels};
use crate::prom::request::PromRequest;

use super::model::PlannedQuery;

/// What the query inspector shows as the query really sent.
pub fn executed_query_string(expr: &str, step: Option<Duration>) -> String {
    match step {
        Some(step) => format!("Expr: {expr}\nStep: {}", duration::format_go(step)),
        None => format!("Expr: {expr}"),
    }
}

/// Names series like Grafana's Prometheus datasource: the legend format with `{{label}}`
/// replaced, or `metric{label="value", ...}`; `__auto` leaves labelled series unnamed (Grafana
/// then builds the name from the labels).
fn series_name(legend_format: &str, labels: &Labels, expr: &str) -> String {
    let name = match legend_format.trim() {
        "" => default_series_name(labels),
        "__auto" if !labels.is_empty() => String::new(),
        "__auto" => default_series_name(labels),
        format => render_legend(format, labels),
    };
    if name == "{}" {
        expr.to_string()
    } else {
        name
    }
}

fn default_series_name(labels: &Labels) -> String {
    let metric = labels.get("__name__").map_or("", String::as_str);
    let pairs: Vec<String> =
        labels.iter().filter(|(k, _)| k.as_str() != "__name__").map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    format!("{metric}{{{}}}", pairs.join(", "))
}

fn render_legend(format: &str, labels: &Labels) -> String {
    let mut out = String::with_capacity(format.len());
    let mut rest = format;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        match after.find("}}") {
            Some(close) => {
                if let Some(value) = labels.get(after[..close].trim()) {
                    out.push_str(value);
                }
                rest = &after[close + 2..];
            }
            None => {
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// Adds names, legends, the step and `executedQueryString` to converted frames.
/// `legend_labels[i]`, when set, replaces frame i's labels for naming (fallback series).
pub fn decorate_frames(frames: &mut [Frame], planned: &PlannedQuery, request: &PromRequest, legend_labels: &[Option<Labels>]) {
    let (step, executed) = match request {
        PromRequest::Range { expr, step, .. } => (Some(*step), executed_query_string(expr, Some(*step))),
        PromRequest::Instant { expr, .. } => (None, executed_query_string(expr, None)),
    };
    for (i, frame) in frames.iter_mut().enumerate() {
        frame.meta.get_or_insert_with(Default::default).executed_query_string = Some(executed.clone());
        if frame.fields.len() < 2 {
            continue;
        }
        if let Some(step) = step {
            frame.fields[0].config = Some(FieldConfig { interval: Some(step.as_millis() as f64), ..Default::default() });
        }
        let labels = match legend_labels.get(i) {
            Some(Some(labels)) => labels.clone(),
            _ => frame.fields[1].labels.clone().unwrap_or_default(),
        };
        let name = series_name(&planned.legend_format, &labels, &planned.expr);
        if !name.is_empty() {
            frame.fields[1].config = Some(FieldConfig { display_name_from_ds: Some(name.clone()), ..Default::default() });
        }
        frame.name = name;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_names_like_grafana() {
        let labels: Labels = [("__name__", "up"), ("job", "node"), ("instance", "a:1")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(series_name("", &labels, "up"), r#"up{instance="a:1", job="node"}"#);
        assert_eq!(series_name("{{job}} @ {{ instance }}", &labels, "up"), "node @ a:1");
        assert_eq!(series_name("{{missing}}x", &labels, "up"), "x");
        assert_eq!(series_name("{{unclosed", &labels, "up"), "{{unclosed");
        assert_eq!(series_name("__auto", &labels, "up"), "");
        assert_eq!(series_name("", &Labels::new(), "1+1"), "1+1");
    }
}
