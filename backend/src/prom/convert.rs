//! Prometheus HTTP API JSON -> Grafana data frames, shaped exactly like Grafana's own Prometheus
//! datasource (pkg/promlib/converter): one frame per series with a `Time` and a `Value` field,
//! the series' labels on the value field, meta type `timeseries-multi` for a range query
//! (matrix) and `numeric-multi` for an instant query (vector, scalar). TSDB `warnings` and
//! `infos` become frame notices; with no series they ride on an empty frame named `Warnings`.
//!
//! This is the pure part: names, legends and `executedQueryString` are added by the caller, who
//! knows the query (`query::decorate_frames`). Golden tests: tests/conformance.rs.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{json, Map};

use super::client::JsonAnswer;
use super::scan::ReadAhead;
use super::value::parse_sample_value;
use crate::frame::{Field, Frame, FrameMeta, Labels, Notice, Severity, Values};

/// The answer the TSDB gave instead of data.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConvertError {
    /// `{"status":"error","errorType":..,"error":..}`.
    #[error("{error_type}: {message}")]
    Api { error_type: String, message: String },
    /// Well-formed JSON that is not a Prometheus API answer, or broken JSON.
    #[error("the answer is not Prometheus API JSON: {0}")]
    NotPrometheusJson(String),
    /// A result type this datasource cannot show (e.g. native histograms only).
    #[error("unsupported result: {0}")]
    Unsupported(String),
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    status: Cow<'a, str>,
    #[serde(default, borrow)]
    data: Option<ResultData<'a>>,
    #[serde(default, rename = "errorType")]
    error_type: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    warnings: Vec<String>,
    #[serde(default)]
    infos: Vec<String>,
}

#[derive(Deserialize)]
#[serde(tag = "resultType", content = "result", rename_all = "lowercase")]
enum ResultData<'a> {
    Matrix(#[serde(borrow)] Vec<RangeSeries<'a>>),
    Vector(#[serde(borrow)] Vec<InstantSample<'a>>),
    Scalar(#[serde(borrow)] SamplePair<'a>),
    String(#[serde(borrow)] SamplePair<'a>),
}

#[derive(Deserialize)]
struct RangeSeries<'a> {
    #[serde(default)]
    metric: BTreeMap<String, String>,
    #[serde(default, borrow)]
    values: Vec<SamplePair<'a>>,
}

#[derive(Deserialize)]
struct InstantSample<'a> {
    #[serde(default)]
    metric: BTreeMap<String, String>,
    #[serde(default, borrow)]
    value: Option<SamplePair<'a>>,
}

/// `[<unix seconds as float>, "<value as string>"]`; the value is borrowed from the body (sample
/// values never contain escapes), which saves an allocation per sample.
#[derive(Deserialize)]
struct SamplePair<'a>(f64, #[serde(borrow)] Cow<'a, str>);

impl SamplePair<'_> {
    fn time_ms(&self) -> i64 {
        (self.0 * 1000.0).round() as i64
    }
}

/// Converts one API answer (`/api/v1/query` or `/api/v1/query_range`) into frames.
pub fn convert(body: &[u8]) -> Result<Vec<Frame>, ConvertError> {
    convert_with(body, &ReadAhead::default())
}

/// `convert` of a client answer, using the parts of it read while it arrived.
pub fn convert_answer(answer: &JsonAnswer) -> Result<Vec<Frame>, ConvertError> {
    convert_with(&answer.body, &answer.read_ahead)
}

fn convert_with(body: &[u8], ahead: &ReadAhead) -> Result<Vec<Frame>, ConvertError> {
    if let Some(answer) = super::scan::read(body, ahead) {
        let (frame_type, result_type) = if answer.matrix { ("timeseries-multi", "matrix") } else { ("numeric-multi", "vector") };
        let frames = answer
            .series
            .into_iter()
            .map(|s| series_frame(frame_type, result_type, s.labels, Values::Time(s.times), Values::Float64(s.values)))
            .collect();
        return Ok(with_notices(frames, answer.warnings, answer.infos));
    }
    convert_with_serde(body)
}

/// `convert` for every answer, the slow way: the reference `scan` is tested against, and the
/// reader for errors, scalars, strings and anything unusual.
pub(super) fn convert_with_serde(body: &[u8]) -> Result<Vec<Frame>, ConvertError> {
    let envelope: Envelope =
        serde_json::from_slice(body).map_err(|e| ConvertError::NotPrometheusJson(e.to_string()))?;
    if envelope.status != "success" {
        return Err(ConvertError::Api {
            error_type: envelope.error_type.unwrap_or_else(|| "error".into()),
            message: envelope.error.unwrap_or_else(|| format!("status {:?} without a message", envelope.status)),
        });
    }
    let data = envelope
        .data
        .ok_or_else(|| ConvertError::NotPrometheusJson("a success answer without `data`".into()))?;
    let frames = match data {
        ResultData::Matrix(series) => series
            .into_iter()
            .map(|s| {
                let times = s.values.iter().map(SamplePair::time_ms).collect();
                let values = s.values.iter().map(|p| parse_sample_value(&p.1).unwrap_or(f64::NAN)).collect();
                series_frame("timeseries-multi", "matrix", s.metric, Values::Time(times), Values::Float64(values))
            })
            .collect(),
        ResultData::Vector(samples) => samples
            .into_iter()
            .filter_map(|s| {
                let pair = s.value?;
                let value = parse_sample_value(&pair.1).unwrap_or(f64::NAN);
                Some(series_frame(
                    "numeric-multi",
                    "vector",
                    s.metric,
                    Values::Time(vec![pair.time_ms()]),
                    Values::Float64(vec![value]),
                ))
            })
            .collect(),
        ResultData::Scalar(pair) => vec![series_frame(
            "numeric-multi",
            "scalar",
            Labels::new(),
            Values::Time(vec![pair.time_ms()]),
            Values::Float64(vec![parse_sample_value(&pair.1).unwrap_or(f64::NAN)]),
        )],
        ResultData::String(pair) => vec![series_frame(
            "timeseries-multi",
            "string",
            Labels::new(),
            Values::Time(vec![pair.time_ms()]),
            Values::String(vec![pair.1.into_owned()]),
        )],
    };

    Ok(with_notices(frames, envelope.warnings, envelope.infos))
}

/// The TSDB's warnings and infos on every frame (on an empty `Warnings` frame when none).
/// At most this many of the TSDB's warnings and infos, each cut to `MAX_NOTICE_CHARS`.
const MAX_NOTICES: usize = 20;
const MAX_NOTICE_CHARS: usize = 2000;
/// Notices are copied onto every frame (as Grafana's converter does) while all the copies stay
/// under this many bytes; beyond it (thousands of series), onto the first frame only.
const MAX_NOTICE_COPY_BYTES: usize = 1 << 20;

fn with_notices(mut frames: Vec<Frame>, warnings: Vec<String>, infos: Vec<String>) -> Vec<Frame> {
    let cut = |text: String| if text.chars().count() > MAX_NOTICE_CHARS { text.chars().take(MAX_NOTICE_CHARS).chain("…".chars()).collect() } else { text };
    let notices: Vec<Notice> = warnings
        .into_iter()
        .map(|text| Notice { severity: Severity::Warning, text: cut(text) })
        .chain(infos.into_iter().map(|text| Notice { severity: Severity::Info, text: cut(text) }))
        .take(MAX_NOTICES)
        .collect();
    if !notices.is_empty() {
        if frames.is_empty() {
            frames.push(Frame {
                name: "Warnings".into(),
                meta: Some(FrameMeta { type_version: Some([0, 0]), ..Default::default() }),
                ..Default::default()
            });
        }
        let bytes: usize = notices.iter().map(|n| n.text.len()).sum();
        let copies = if bytes * frames.len() <= MAX_NOTICE_COPY_BYTES { frames.len() } else { 1 };
        for frame in frames.iter_mut().take(copies) {
            if let Some(meta) = frame.meta.as_mut() {
                meta.notices.extend(notices.iter().cloned());
            }
        }
    }
    frames
}

/// The cells `long_table` would build for `frames`: rows × (label columns + time + value).
pub fn long_table_cells(frames: &[Frame]) -> usize {
    let series = frames.iter().filter(|f| f.fields.len() >= 2);
    let labels: std::collections::BTreeSet<&String> = series.clone().flat_map(|f| f.fields[1].labels.iter().flat_map(|l| l.keys())).collect();
    let rows: usize = series.map(|f| f.fields[0].values.len()).sum();
    rows.saturating_mul(labels.len() + 2)
}

fn series_frame(frame_type: &str, result_type: &str, labels: Labels, times: Values, values: Values) -> Frame {
    let mut custom = Map::new();
    custom.insert("resultType".into(), json!(result_type));
    Frame {
        meta: Some(FrameMeta {
            frame_type: Some(frame_type.into()),
            type_version: Some([0, 1]),
            custom: Some(custom),
            ..Default::default()
        }),
        fields: vec![Field::new("Time", times), Field::new("Value", values).with_labels(labels)],
        ..Default::default()
    }
}

/// `format: table`: every series' rows in one long frame (meta type `timeseries-long`, as in
/// Grafana's table-format goldens), with the labels as string columns between Time and Value,
/// so each row keeps its series' labels. Frames without a Time/Value pair (a notice-only frame)
/// are skipped; their notices move to the table. Grafana's own goldens instead put the last
/// series' labels on the Value field and have no label columns (README, "Known limits").
pub fn long_table(frames: &[Frame]) -> Frame {
    let series: Vec<&Frame> = frames.iter().filter(|f| f.fields.len() >= 2).collect();
    let label_names: std::collections::BTreeSet<&String> =
        series.iter().flat_map(|f| f.fields[1].labels.iter().flat_map(|l| l.keys())).collect();
    let mut times = Vec::new();
    let mut numbers = Vec::new();
    let mut strings = Vec::new();
    let mut columns: Vec<Vec<String>> = vec![Vec::new(); label_names.len()];
    for frame in &series {
        let Values::Time(t) = &frame.fields[0].values else { continue };
        let labels = frame.fields[1].labels.clone().unwrap_or_default();
        match &frame.fields[1].values {
            Values::Float64(v) => numbers.extend_from_slice(v),
            Values::String(v) => strings.extend(v.iter().cloned()),
            Values::Time(_) => continue,
        }
        times.extend_from_slice(t);
        for (column, name) in columns.iter_mut().zip(&label_names) {
            let value = labels.get(*name).cloned().unwrap_or_default();
            column.extend(std::iter::repeat_n(value, t.len()));
        }
    }
    let mut fields = vec![Field::new("Time", Values::Time(times))];
    fields.extend(label_names.iter().zip(columns).map(|(name, column)| Field::new(name.as_str(), Values::String(column))));
    fields.push(Field::new("Value", if strings.is_empty() { Values::Float64(numbers) } else { Values::String(strings) }));
    let mut meta = frames.iter().find_map(|f| f.meta.clone()).unwrap_or_default();
    meta.frame_type = Some("timeseries-long".into());
    meta.type_version = Some([0, 1]);
    meta.notices = frames.iter().flat_map(|f| f.meta.iter().flat_map(|m| m.notices.iter().cloned())).fold(Vec::new(), |mut all, n| {
        if !all.contains(&n) {
            all.push(n);
        }
        all
    });
    Frame { meta: Some(meta), fields, ..Default::default() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_values_as_prometheus_prints_them() {
        assert_eq!(parse_sample_value("1.5"), Some(1.5));
        assert_eq!(parse_sample_value("1e3"), Some(1000.0));
        assert_eq!(parse_sample_value("+Inf"), Some(f64::INFINITY));
        assert_eq!(parse_sample_value("-Inf"), Some(f64::NEG_INFINITY));
        assert!(parse_sample_value("NaN").unwrap().is_nan());
        assert_eq!(parse_sample_value("abc"), None);
        // Rust would read "inf" and "infinity"; Prometheus never prints them.
        assert_eq!(parse_sample_value("infinity"), None);
    }

    #[test]
    fn odd_bodies_are_errors_not_panics() {
        for body in [
            &b""[..],
            b"<html><title>Login</title></html>",
            b"{}",
            b"[]",
            b"{\"status\":\"success\"}",
            b"{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[{\"values\":[[1]]}]}}",
            b"{\"status\":\"success\",\"data\":{\"resultType\":\"histogram\",\"result\":[]}}",
            b"{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":[1e400,\"1\"]}}",
        ] {
            assert!(convert(body).is_err(), "{}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn api_error_keeps_type_and_message() {
        let err = convert(br#"{"status":"error","errorType":"bad_data","error":"parse error at char 3"}"#)
            .unwrap_err();
        assert_eq!(
            err,
            ConvertError::Api { error_type: "bad_data".into(), message: "parse error at char 3".into() }
        );
    }

    #[test]
    fn a_long_table_keeps_every_rows_labels() {
        let body = br#"{"status":"success","warnings":["w"],"data":{"resultType":"matrix","result":[
            {"metric":{"job":"a"},"values":[[1,"1"],[2,"2"]]},
            {"metric":{"job":"b","instance":"x"},"values":[[1,"3"]]}]}}"#;
        let table = long_table(&convert(body).unwrap());
        let names: Vec<&str> = table.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["Time", "instance", "job", "Value"]);
        assert_eq!(table.fields[1].values, Values::String(vec!["".into(), "".into(), "x".into()]));
        assert_eq!(table.fields[2].values, Values::String(vec!["a".into(), "a".into(), "b".into()]));
        assert_eq!(table.fields[3].values, Values::Float64(vec![1.0, 2.0, 3.0]));
        let meta = table.meta.unwrap();
        assert_eq!(meta.frame_type.as_deref(), Some("timeseries-long"));
        assert_eq!(meta.notices.len(), 1, "the warning once, not once per series");
        assert!(long_table(&[]).fields.len() == 2);
    }

    #[test]
    fn table_cells_are_counted_before_the_table_is_built() {
        let body = br#"{"status":"success","data":{"resultType":"matrix","result":[
            {"metric":{"job":"a"},"values":[[1,"1"],[2,"2"]]},
            {"metric":{"job":"b","instance":"x"},"values":[[1,"3"]]}]}}"#;
        let frames = convert(body).unwrap();
        // 3 rows × (instance, job, Time, Value).
        assert_eq!(long_table_cells(&frames), 12);
        assert_eq!(long_table(&frames).fields.iter().map(|f| f.values.len()).sum::<usize>(), 12);
    }

    #[test]
    fn tsdb_warnings_are_bounded_in_number_size_and_copies() {
        let warnings: Vec<String> = (0..100).map(|i| format!("{i}{}", "w".repeat(10_000))).collect();
        let series: Vec<String> = (0..2_000).map(|i| format!(r#"{{"metric":{{"i":"{i}"}},"value":[1,"1"]}}"#)).collect();
        let body = format!(r#"{{"status":"success","warnings":{},"data":{{"resultType":"vector","result":[{}]}}}}"#, serde_json::to_string(&warnings).unwrap(), series.join(","));
        let frames = convert(body.as_bytes()).unwrap();
        let notices = &frames[0].meta.as_ref().unwrap().notices;
        assert_eq!(notices.len(), MAX_NOTICES);
        assert!(notices.iter().all(|n| n.text.chars().count() <= MAX_NOTICE_CHARS + 1));
        assert!(frames[1..].iter().all(|f| f.meta.as_ref().is_none_or(|m| m.notices.is_empty())), "not copied 2,000 times");
    }

    #[test]
    fn a_vector_sample_without_value_is_skipped() {
        let frames = convert(br#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{}}]}}"#)
            .unwrap();
        assert!(frames.is_empty());
    }
}
