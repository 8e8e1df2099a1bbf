//! What the data path does with the answer to a rewritten query: strips the fallback marker
//! from series, gives fallback series legend labels from their join key (so `{{displayname}}`
//! shows the queryid instead of nothing), and says which names are missing.
//!
//! Whether names are missing is decided from the marker AND from `count(INFO)` at the end of
//! the range: Prometheus splits a series into a named and a fallback part when the info metric
//! vanishes mid-range, while VictoriaMetrics keeps the named series and fills the gap with the
//! fallback's values, so markers alone would miss an outage on VictoriaMetrics.

use std::collections::BTreeMap;

use crate::fallback::{Fallback, MARKER_LABEL};
use crate::frame::{Frame, Labels, Notice, Severity};

/// Per-query result of `strip_markers`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FallbackSeries {
    /// For each frame: the labels legends are rendered from (None: the frame's own labels).
    pub legend_labels: Vec<Option<Labels>>,
    /// Fallback series per missing info metric.
    pub missing: BTreeMap<String, usize>,
    /// Series in the answer.
    pub total: usize,
}

/// Removes `__info_fallback` from every frame and records what it said.
pub fn strip_markers(frames: &mut [Frame], fallbacks: &[Fallback]) -> FallbackSeries {
    let mut result = FallbackSeries::default();
    for frame in frames.iter_mut() {
        let Some(labels) = frame.fields.get_mut(1).and_then(|f| f.labels.as_mut()) else {
            result.legend_labels.push(None);
            continue;
        };
        result.total += 1;
        let Some(marker) = labels.remove(MARKER_LABEL) else {
            result.legend_labels.push(None);
            continue;
        };
        let mut legend = labels.clone();
        for metric in marker.split(',').filter(|m| !m.is_empty()) {
            *result.missing.entry(metric.to_string()).or_default() += 1;
            for fallback in fallbacks.iter().filter(|f| f.info_metric == metric) {
                let key: Vec<&str> = fallback.join_keys.iter().filter_map(|k| labels.get(k).map(String::as_str)).collect();
                for copied in &fallback.copied_labels {
                    legend.entry(copied.clone()).or_insert_with(|| key.join(" "));
                }
            }
        }
        result.legend_labels.push(Some(legend));
    }
    result
}

/// The notices for a rewritten query. `info_counts[metric]` is `count(metric)` at the end of the
/// range: Some(n), or None when it returned nothing (the metric has no series now).
pub fn notices(series: &FallbackSeries, fallbacks: &[Fallback], info_counts: &BTreeMap<String, Option<f64>>) -> Vec<Notice> {
    let mut metrics: Vec<&Fallback> = Vec::new();
    for fallback in fallbacks {
        if !metrics.iter().any(|f| f.info_metric == fallback.info_metric) {
            metrics.push(fallback);
        }
    }
    let mut out = Vec::new();
    for fallback in metrics {
        let metric = &fallback.info_metric;
        let marked = series.missing.get(metric).copied().unwrap_or(0);
        let absent_now = matches!(info_counts.get(metric), Some(None));
        let keys = fallback.join_keys.join(", ");
        let text = if absent_now && marked > 0 {
            format!(
                "names unavailable: {metric} has no series now (is its exporter down?); {marked} of {} series are shown by {keys}",
                series.total
            )
        } else if absent_now {
            format!("names unavailable: {metric} has no series now (is its exporter down?); the names shown come from earlier in the time range")
        } else if marked > 0 {
            format!("names unavailable: {metric} has no series for {marked} of {} series; they are shown by {keys}", series.total)
        } else {
            continue;
        };
        out.push(Notice { severity: Severity::Warning, text });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{Field, Values};

    fn frame(labels: &[(&str, &str)]) -> Frame {
        let labels = labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Frame {
            fields: vec![Field::new("Time", Values::Time(vec![1])), Field::new("Value", Values::Float64(vec![1.0])).with_labels(labels)],
            ..Default::default()
        }
    }

    fn fallbacks() -> Vec<Fallback> {
        vec![Fallback { info_metric: "pgss_query_info".into(), copied_labels: vec!["displayname".into()], join_keys: vec!["datname".into(), "queryid".into()] }]
    }

    #[test]
    fn markers_are_stripped_and_fallback_legends_use_the_join_key() {
        let mut frames = vec![
            frame(&[("datname", "app"), ("queryid", "1"), ("displayname", "SELECT 1")]),
            frame(&[("datname", "app"), ("queryid", "2"), ("__info_fallback", ",pgss_query_info")]),
            Frame::default(),
        ];
        let series = strip_markers(&mut frames, &fallbacks());
        assert!(frames.iter().all(|f| f.fields.get(1).is_none_or(|v| !v.labels.as_ref().unwrap().contains_key(MARKER_LABEL))));
        assert_eq!(series.total, 2);
        assert_eq!(series.missing["pgss_query_info"], 1);
        assert_eq!(series.legend_labels[0], None);
        assert_eq!(series.legend_labels[1].as_ref().unwrap()["displayname"], "app 2");
        let counts = [("pgss_query_info".to_string(), Some(19.0))].into();
        let notes = notices(&series, &fallbacks(), &counts);
        assert_eq!(notes[0].text, "names unavailable: pgss_query_info has no series for 1 of 2 series; they are shown by datname, queryid");
    }

    #[test]
    fn an_info_metric_absent_now_is_reported_even_without_markers() {
        // VictoriaMetrics keeps named series over a gap: no marker, but the info is gone.
        let series = FallbackSeries { legend_labels: vec![None, None], missing: BTreeMap::new(), total: 2 };
        let counts = [("pgss_query_info".to_string(), None)].into();
        let notes = notices(&series, &fallbacks(), &counts);
        assert_eq!(notes.len(), 1);
        assert_eq!(
            notes[0].text,
            "names unavailable: pgss_query_info has no series now (is its exporter down?); the names shown come from earlier in the time range"
        );
        let present = [("pgss_query_info".to_string(), Some(3.0))].into();
        assert!(notices(&series, &fallbacks(), &present).is_empty());
    }

    #[test]
    fn nested_fallbacks_count_each_missing_metric() {
        let mut frames = vec![frame(&[("queryid", "1"), ("__info_fallback", ",a_info,b_info")])];
        let series = strip_markers(&mut frames, &[]);
        assert_eq!(series.missing.len(), 2);
    }
}
