//! The pgss query types' frames: the top-queries table (identity columns, then per measure per
//! second and per call, share of time, hit ratio) with its notices, a sparkline frame per row,
//! one statement's series with its identity in the first frame's meta. Kinds as `wire` names
//! them, so the panel and Grafana's own panels read them. Pure.

use std::collections::{BTreeMap, HashMap};

use super::analysis::Statement;
use super::catalog::{Measure, Source, WaitSource};
use super::waits::Waits;
use super::names::{NameSource, Names};
use super::plan::TopPlan;
use super::schema::Schema;
use super::text_filter;
use crate::frame::{Field, FieldConfig, Frame, FrameMeta, Labels, Notice, Severity, Values};
use crate::prom::read::Series;
use crate::promql_text::QueryidSample;
use crate::wire::{FRAME_KIND_PGSS_QUERY, FRAME_KIND_PGSS_SERIES, FRAME_KIND_PGSS_SPARKLINE, FRAME_KIND_PGSS_TOP};

fn time_field(points: &[(f64, f64)]) -> Field {
    Field::new("Time", Values::Time(points.iter().map(|p| (p.0 * 1000.0).round() as i64).collect()))
}

fn with_config(mut field: Field, display: &str, unit: &str) -> Field {
    field.config = Some(FieldConfig { display_name_from_ds: Some(display.into()), unit: Some(unit.into()), ..Default::default() });
    field
}

fn meta(kind: &str, custom: serde_json::Map<String, serde_json::Value>, frame_type: &str) -> Option<FrameMeta> {
    Some(FrameMeta::pgscope(kind, frame_type, custom))
}

/// What a query's names rest on, said once per frame set when they are missing.
/// `info_known`: some info metric with a queryid had series in the range.
fn names_notices(schema: &Schema, info_known: bool, statements: &[Statement]) -> Vec<Notice> {
    let unnamed = statements.iter().filter(|s| s.name_source == NameSource::Queryid).count();
    if unnamed == 0 {
        return Vec::new();
    }
    let text = if !info_known && schema.def.text_label.is_none() {
        format!(
            "names unavailable: no info metric with a queryid had series in the range; {unnamed} statement(s) are shown by queryid (the data is complete)"
        )
    } else {
        format!("{unnamed} of {} statement(s) have no name in the info metric and are shown by queryid", statements.len())
    };
    vec![Notice { severity: Severity::Warning, text }]
}

/// Says where names came from when PostgreSQL supplied some, or why it could not.
fn postgres_notice(statements: &[Statement], error: Option<String>) -> Option<Notice> {
    if let Some(message) = error {
        return Some(Notice { severity: Severity::Warning, text: message });
    }
    let named = statements.iter().filter(|s| s.name_source == NameSource::Postgres).count();
    (named > 0).then(|| Notice {
        severity: Severity::Info,
        text: format!("{named} statement(s) named by PostgreSQL's pg_stat_statements: the info metric had no name for them"),
    })
}

/// The wide table: identity columns (with the statement's type and sqlcommenter tags), then per measure `<m>_per_s` and `<m>_per_call`
/// (measures the schema lacks have no column), `share_of_time` and `hit_ratio`.
pub fn table_frame(schema: &Schema, rows: &[Statement]) -> Frame {
    let text = |f: fn(&Statement) -> String| Values::String(rows.iter().map(f).collect());
    let mut fields = vec![
        Field::new("queryid", text(|s| s.queryid.clone())),
        Field::new("database", text(|s| s.database.clone())),
        Field::new("user", text(|s| s.users.join(", "))),
        Field::new("name", text(|s| s.name.clone())),
        Field::new("text", text(|s| s.text.clone())),
        Field::new("name_source", text(|s| s.name_source.as_str().into())),
        // From the text (issue 21): "" where it does not tell, never a guess.
        Field::new("statement_type", text(text_filter::type_column)),
        Field::new("tags", text(text_filter::tags_column)),
    ];
    let number = |values: Vec<f64>| Values::Float64(values);
    if schema.has(Measure::ExecTime) {
        fields.push(with_config(
            Field::new("share_of_time", number(rows.iter().map(|s| s.share_of_time.unwrap_or(f64::NAN)).collect())),
            "% of time",
            "percentunit",
        ));
    }
    for source in &schema.present {
        let m = source.measure;
        let (per_s_unit, per_call_unit) = m.units();
        fields.push(with_config(
            Field::new(format!("{}_per_s", m.key()), number(rows.iter().map(|s| s.per_second.get(&m).copied().unwrap_or(f64::NAN)).collect())),
            &format!("{}/s", m.label()),
            per_s_unit,
        ));
        if m != Measure::Calls && schema.has(Measure::Calls) {
            fields.push(with_config(
                Field::new(format!("{}_per_call", m.key()), number(rows.iter().map(|s| s.per_call.get(&m).copied().unwrap_or(f64::NAN)).collect())),
                &format!("{}/call", m.label()),
                per_call_unit,
            ));
        }
    }
    if schema.has(Measure::SharedHit) && schema.has(Measure::SharedRead) {
        fields.push(with_config(
            Field::new("hit_ratio", number(rows.iter().map(|s| s.hit_ratio.unwrap_or(f64::NAN)).collect())),
            "hit ratio",
            "percentunit",
        ));
    }
    Frame { name: "pgss top queries".into(), ref_id: String::new(), meta: None, fields }
}

/// One frame per ranked statement: the ordering measure per second over the range.
pub(super) fn spark_frames(schema: &Schema, source: Source, rows: &[Statement], series: Vec<Series>) -> Vec<Frame> {
    let mut by_key: HashMap<(String, String), Vec<(f64, f64)>> = HashMap::new();
    for (labels, points) in series {
        let (Some(db), Some(id)) = (labels.get(schema.def.database_label), labels.get("queryid")) else { continue };
        by_key.insert((db.clone(), id.clone()), points.into_iter().map(|(t, v)| (t, v * source.scale)).collect());
    }
    let (unit, _) = source.measure.units();
    rows.iter()
        .filter_map(|row| {
            let points = by_key.remove(&(row.database.clone(), row.queryid.clone()))?;
            let labels: Labels = [("database".to_string(), row.database.clone()), ("queryid".to_string(), row.queryid.clone())].into();
            let mut custom = serde_json::Map::new();
            custom.insert("measure".into(), source.measure.key().into());
            Some(Frame {
                name: format!("{}/s", source.measure.label()),
                ref_id: String::new(),
                meta: meta(FRAME_KIND_PGSS_SPARKLINE, custom, "timeseries-multi"),
                fields: vec![
                    time_field(&points),
                    with_config(Field::new("Value", Values::Float64(points.iter().map(|p| p.1).collect())).with_labels(labels), &row.name, unit),
                ],
            })
        })
        .collect()
}

/// One measure of one statement over the range, per second or per call (`per`); `then`: the
/// comparison window's series, labelled `window="then"`.
pub(super) fn measure_frame(measure: Measure, per: &str, points: &[(f64, f64)], unit: &str, then: bool) -> Frame {
    let window: &[(&str, &str)] = if then { &[("window", "then")] } else { &[] };
    let display = format!("{}/{per}{}", measure.label(), if then { " (then)" } else { "" });
    series_frame(SeriesOf { measure: measure.key(), per, labels: window, custom: window }, display, points, unit)
}

/// What a statement's series frame is of: `measure` per `per`, both in its value's labels and
/// in its meta, with more `labels` and meta (`custom`).
struct SeriesOf<'a> {
    measure: &'a str,
    per: &'a str,
    labels: &'a [(&'a str, &'a str)],
    custom: &'a [(&'a str, &'a str)],
}

/// A statement's series frame (`FRAME_KIND_PGSS_SERIES`): time and value, shown as `display`.
fn series_frame(of: SeriesOf, display: String, points: &[(f64, f64)], unit: &str) -> Frame {
    let both = [("measure", of.measure), ("per", of.per)];
    let labels: Labels = both.iter().chain(of.labels).map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let custom: serde_json::Map<String, serde_json::Value> = both.iter().chain(of.custom).map(|(k, v)| (k.to_string(), (*v).into())).collect();
    Frame {
        name: display.clone(),
        ref_id: String::new(),
        meta: meta(FRAME_KIND_PGSS_SERIES, custom, "timeseries-multi"),
        fields: vec![time_field(points), with_config(Field::new("Value", Values::Float64(points.iter().map(|p| p.1).collect())).with_labels(labels), &display, unit)],
    }
}

/// A `pgssTopQueries` answer's table: the ranked rows, what the plan and the names say about
/// them (as notices and meta).
pub(super) struct TopTable<'a> {
    pub plan: &'a TopPlan,
    pub rows: &'a [Statement],
    /// Statements in the range before ranking and limits.
    pub total_statements: usize,
    /// The sample of queryids `total_statements` was counted on and scaled from; None: whole.
    pub statements_sample: Option<QueryidSample>,
    pub names: &'a Names,
    /// Some info metric with a queryid had series in the range (whether or not it named
    /// the rows shown).
    pub info_known: bool,
    /// Said as they are, after the others.
    pub extra_notices: Vec<Notice>,
    /// The info metric query failed.
    pub names_error: Option<String>,
    /// PostgreSQL could not name statements.
    pub postgres_error: Option<String>,
}

impl TopTable<'_> {
    pub fn frame(self) -> Frame {
        let TopPlan { query, schema, ignored, .. } = self.plan;
        let mut notices = names_notices(schema, self.info_known, self.rows);
        if let Some(message) = self.names_error {
            notices.push(Notice { severity: Severity::Warning, text: format!("names unavailable: the info metric query failed: {message}") });
        }
        notices.extend(postgres_notice(self.rows, self.postgres_error));
        if !ignored.is_empty() {
            notices.push(Notice {
                severity: Severity::Info,
                text: format!("{} filter(s) ignored: {} has no such label", ignored.join(", "), schema.def.name),
            });
        }
        notices.extend(self.extra_notices);
        let mut custom = serde_json::Map::new();
        custom.insert("schema".into(), schema.describe().into());
        custom.insert("absent".into(), schema.absent.iter().map(|m| serde_json::Value::from(m.key())).collect());
        custom.insert("orderBy".into(), query.order.key().into());
        custom.insert("statements".into(), self.total_statements.into());
        if let Some(sample) = self.statements_sample {
            // An estimate: counted on one statement in `statementsSample`.
            custom.insert("statementsSample".into(), sample.scale().into());
        }
        custom.insert("names".into(), self.names.len().into());
        let mut table = table_frame(schema, self.rows);
        table.meta = meta(FRAME_KIND_PGSS_TOP, custom, "table");
        if let Some(m) = table.meta.as_mut() {
            m.notices = notices;
        }
        table
    }
}

/// Who a `pgssQuery` statement is.
pub(super) struct QueryIdentity {
    pub queryid: String,
    pub database: String,
    pub users: Vec<String>,
    pub name: String,
    pub text: String,
    pub source: NameSource,
}

/// One statement's series frames, the first carrying its identity and the notices (an empty
/// table frame when there are no series).
pub(super) fn with_identity(mut frames: Vec<Frame>, schema: &Schema, identity: QueryIdentity, notices: Vec<Notice>) -> Vec<Frame> {
    let mut custom = serde_json::Map::new();
    custom.insert("queryid".into(), identity.queryid.into());
    custom.insert("database".into(), identity.database.into());
    custom.insert("users".into(), identity.users.into());
    custom.insert("name".into(), identity.name.into());
    custom.insert("text".into(), identity.text.into());
    custom.insert("nameSource".into(), identity.source.as_str().into());
    custom.insert("schema".into(), schema.describe().into());
    custom.insert("absent".into(), schema.absent.iter().map(|m| serde_json::Value::from(m.key())).collect());
    match frames.first_mut() {
        Some(first) => {
            // The first series frame carries the query's identity too; it keeps its measure.
            if let Some(own) = first.meta.as_ref().and_then(|m| m.custom.as_ref()) {
                for key in ["measure", "per"] {
                    if let Some(v) = own.get(key) {
                        custom.insert(key.into(), v.clone());
                    }
                }
            }
            let mut m = FrameMeta::pgscope(FRAME_KIND_PGSS_QUERY, "timeseries-multi", custom);
            m.notices = notices;
            first.meta = Some(m);
        }
        None => frames.push(Frame { name: "pgss query".into(), ref_id: String::new(), meta: meta(FRAME_KIND_PGSS_QUERY, custom, "table"), fields: vec![] }),
    }
    frames
}

/// A statement's wait events over time (`waits::rate_expr`'s answer), one frame per event:
/// sessions waiting (seconds waited per second), labelled `event_type` and `event`, meta
/// `measure: "wait"`, `per: "s"`.
pub(super) fn wait_frames(source: &WaitSource, series: Vec<Series>) -> Vec<Frame> {
    series
        .into_iter()
        .filter_map(|(labels, points)| {
            let event = labels.get(source.event_label).filter(|e| !e.is_empty())?;
            let event_type = labels.get(source.event_type_label).map_or("", String::as_str);
            let of = SeriesOf { measure: "wait", per: "s", labels: &[("event_type", event_type), ("event", event)], custom: &[] };
            Some(series_frame(of, format!("{event_type}:{event}"), &points, "none"))
        })
        .collect()
}

/// The top-queries table's wait columns for `rows`, when the TSDB holds wait events: the event
/// waited on most (`top_wait_event`, "Lock:transactionid"), its share of the time waited
/// (`top_wait_share`) and the time waited per second of the range (`wait_time_per_s`). A row
/// with no wait seen has "" and NaN, never 0.
pub(super) fn wait_fields(rows: &[Statement], waits: &BTreeMap<String, Waits>, window: f64) -> Vec<Field> {
    let of = |s: &Statement| waits.get(&s.queryid);
    let top = |s: &Statement| of(s).and_then(|w| w.top());
    vec![
        Field::new("top_wait_event", Values::String(rows.iter().map(|s| top(s).map(|(w, _)| w.name()).unwrap_or_default()).collect())),
        with_config(Field::new("top_wait_share", Values::Float64(rows.iter().map(|s| top(s).map(|(_, share)| share).unwrap_or(f64::NAN)).collect())), "top wait share", "percentunit"),
        with_config(
            Field::new("wait_time_per_s", Values::Float64(rows.iter().map(|s| of(s).map(|w| w.total() / window.max(1e-9)).unwrap_or(f64::NAN)).collect())),
            "wait time/s",
            "s",
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pgss::catalog::WAIT_SOURCES;

    /// The frame's name, its value's labels, display name and unit, its meta's custom (the
    /// `pgscope` kind included), and its times and values.
    fn described(frame: &Frame) -> (String, Labels, String, String, serde_json::Value, Vec<i64>, Vec<f64>) {
        let [Field { name: time, values: Values::Time(times), .. }, Field { name: value, labels, config: Some(config), values: Values::Float64(values) }] = frame.fields.as_slice() else {
            panic!("time and value: {frame:?}")
        };
        assert_eq!((time.as_str(), value.as_str()), ("Time", "Value"));
        let meta = frame.meta.clone().unwrap();
        assert_eq!((meta.frame_type.as_deref(), meta.type_version), (Some("timeseries-multi"), Some([0, 1])));
        let display = config.display_name_from_ds.clone().unwrap();
        (frame.name.clone(), labels.clone().unwrap(), display, config.unit.clone().unwrap(), meta.custom.unwrap().into(), times.clone(), values.clone())
    }

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn a_measure_series_says_its_measure_per_and_window() {
        let points = [(1.0, 2.0), (16.5, 0.25)];
        let (name, value_labels, display, unit, custom, times, values) = described(&measure_frame(Measure::ExecTime, "call", &points, "ms", false));
        assert_eq!((name.as_str(), display.as_str(), unit.as_str()), ("exec time/call", "exec time/call", "ms"));
        assert_eq!(value_labels, labels(&[("measure", "exec_time"), ("per", "call")]));
        assert_eq!(custom, serde_json::json!({"measure": "exec_time", "per": "call", "pgscope": FRAME_KIND_PGSS_SERIES}));
        assert_eq!((times, values), (vec![1000, 16500], vec![2.0, 0.25]));
        let (name, value_labels, display, _, custom, ..) = described(&measure_frame(Measure::Calls, "s", &points, "ops", true));
        assert_eq!((name.as_str(), display.as_str()), ("calls/s (then)", "calls/s (then)"));
        assert_eq!(value_labels, labels(&[("measure", "calls"), ("per", "s"), ("window", "then")]));
        assert_eq!(custom, serde_json::json!({"measure": "calls", "per": "s", "window": "then", "pgscope": FRAME_KIND_PGSS_SERIES}));
    }

    #[test]
    fn a_wait_series_is_one_event_and_one_without_an_event_makes_no_frame() {
        let source = &WAIT_SOURCES[1];
        let series = |pairs: &[(&str, &str)]| (labels(pairs), vec![(2.0, 0.5)]);
        let frames = wait_frames(
            source,
            vec![
                series(&[("wait_event_type", "Lock"), ("wait_event", "transactionid"), ("query_id", "1")]),
                series(&[("wait_event", "PgSleep")]),
                series(&[("wait_event_type", "Lock"), ("wait_event", "")]),
                series(&[("wait_event_type", "Lock")]),
            ],
        );
        assert_eq!(frames.len(), 2, "a series without an event makes no frame");
        let (name, value_labels, display, unit, custom, times, values) = described(&frames[0]);
        assert_eq!((name.as_str(), display.as_str(), unit.as_str()), ("Lock:transactionid", "Lock:transactionid", "none"));
        assert_eq!(value_labels, labels(&[("measure", "wait"), ("per", "s"), ("event_type", "Lock"), ("event", "transactionid")]));
        assert_eq!(custom, serde_json::json!({"measure": "wait", "per": "s", "pgscope": FRAME_KIND_PGSS_SERIES}));
        assert_eq!((times, values), (vec![2000], vec![0.5]));
        let (name, value_labels, ..) = described(&frames[1]);
        assert_eq!(name, ":PgSleep", "no event type: empty");
        assert_eq!(value_labels, labels(&[("measure", "wait"), ("per", "s"), ("event_type", ""), ("event", "PgSleep")]));
    }
}
