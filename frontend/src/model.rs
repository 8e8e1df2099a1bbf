//! The panel's data model, pure Rust: the props JSON the JS glue sends (Grafana's data frames,
//! trimmed to what we draw), turned into one row per series with its labels and last value, and
//! sorted. Nothing here touches the DOM, so it is tested natively. Odd input (wrong types,
//! missing members, NaN, ragged fields) becomes an error message or an empty cell, never a
//! panic: in wasm a panic would abort the instance every panel on the page shares.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;

/// What the JS glue sends on every render.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct PanelInput {
    pub series: Vec<InputFrame>,
    /// Query errors Grafana reported for this panel.
    pub errors: Vec<String>,
    /// The dashboard's time range, in ms since the epoch (charts share it).
    #[serde(rename = "timeRange")]
    pub time_range: Option<TimeRange>,
    /// The panel's options (set in the panel editor or the dashboard JSON).
    pub options: PanelOptions,
}

#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct TimeRange {
    pub from: f64,
    pub to: f64,
}

/// Options of the panel (frontend/js/panel.js declares their editors).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct PanelOptions {
    /// The top-queries view's columns, by field name, in the order chosen; None or empty: all
    /// the data has. Unknown names are ignored.
    #[serde(rename = "topColumns", deserialize_with = "lenient_strings")]
    pub top_columns: Option<Vec<String>>,
    /// The detail view's charts: "overview", "perSecond" or "perCall".
    #[serde(rename = "detailCharts", deserialize_with = "lenient_string")]
    pub detail_charts: Option<String>,
}

/// Options come from dashboard JSON users edit by hand: a wrong type means "not set", never a
/// panel that cannot draw.
fn lenient_strings<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    let value = Value::deserialize(d)?;
    Ok(value.as_array().map(|a| a.iter().filter_map(|v| v.as_str().map(String::from)).collect()))
}

fn lenient_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Value::deserialize(d)?.as_str().map(String::from))
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct InputFrame {
    pub name: Option<String>,
    #[serde(rename = "refId")]
    pub ref_id: Option<String>,
    pub fields: Vec<InputField>,
    pub meta: Option<InputMeta>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct InputMeta {
    pub notices: Vec<InputNotice>,
    /// The datasource's own metadata (`{"pgscope": "stackHealth", ...}` marks pgscope frames).
    pub custom: Option<Value>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct InputNotice {
    pub severity: String,
    pub text: String,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct InputField {
    pub name: String,
    #[serde(rename = "type")]
    pub field_type: String,
    pub labels: Option<BTreeMap<String, String>>,
    pub config: Option<InputFieldConfig>,
    /// Any JSON (numbers, null for NaN and infinities, strings), or the numbers the glue
    /// packed for number and time fields.
    pub values: Values,
}

impl InputField {
    /// The value of label `name`; empty when the field has no such label.
    pub fn label(&self, name: &str) -> String {
        self.labels.as_ref().and_then(|l| l.get(name)).cloned().unwrap_or_default()
    }
}

/// A field's values. The glue sends number and time fields as a range of one Float64Array
/// beside the JSON (`{"packed": [start, len]}` in the JSON), which costs a copy instead of
/// printing and parsing 100,000 numbers per refresh; everything else as JSON.
#[derive(Debug, Clone)]
pub enum Values {
    Json(Vec<Value>),
    /// The whole array the glue sent (shared by every packed field) and this field's range;
    /// NaN stands for a value that was null, not finite or not a number.
    Numbers(Arc<[f64]>, Range<usize>),
}

impl Default for Values {
    fn default() -> Self {
        Values::Json(Vec::new())
    }
}

impl PartialEq for Values {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && (0..self.len()).all(|i| self.number(i) == other.number(i) && self.text(i) == other.text(i))
    }
}

impl Values {
    pub fn len(&self) -> usize {
        match self {
            Values::Json(values) => values.len(),
            Values::Numbers(_, range) => range.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The finite number at `i`; None for null, text, NaN, infinities and past the end.
    pub fn number(&self, i: usize) -> Option<f64> {
        match self {
            Values::Json(values) => values.get(i)?.as_f64(),
            Values::Numbers(all, range) => all.get(range.clone())?.get(i).copied(),
        }
        .filter(|x| x.is_finite())
    }

    /// The value at `i` as text: a string as it is, a number as JSON writes it; None for
    /// anything else.
    pub fn text(&self, i: usize) -> Option<String> {
        match self {
            Values::Json(values) => match values.get(i)? {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            },
            Values::Numbers(..) => self.number(i).map(|x| if x.fract() == 0.0 && x.abs() < 9.0e15 { format!("{}", x as i64) } else { x.to_string() }),
        }
    }
}

thread_local! {
    /// The Float64Array of the props being parsed (`parse_packed`), for `{"packed": ...}` values.
    static PACKED: std::cell::RefCell<Arc<[f64]>> = std::cell::RefCell::new(Arc::from(Vec::new()));
}

impl<'de> Deserialize<'de> for Values {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Values;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an array of values or {\"packed\": [start, len]}")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<Values, A::Error> {
                Vec::<Value>::deserialize(serde::de::value::SeqAccessDeserializer::new(seq)).map(Values::Json)
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Values, A::Error> {
                let mut range = None;
                while let Some(key) = map.next_key::<String>()? {
                    if key == "packed" {
                        range = Some(map.next_value::<(usize, usize)>()?);
                    } else {
                        map.next_value::<serde::de::IgnoredAny>()?;
                    }
                }
                let (start, len) = range.ok_or_else(|| serde::de::Error::missing_field("packed"))?;
                PACKED.with(|all| {
                    let all = all.borrow();
                    match start.checked_add(len).filter(|end| *end <= all.len()) {
                        Some(end) => Ok(Values::Numbers(all.clone(), start..end)),
                        None => Err(serde::de::Error::custom(format!("packed values {start}+{len} lie outside the {} numbers sent", all.len()))),
                    }
                })
            }
        }
        d.deserialize_any(Visitor)
    }
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct InputFieldConfig {
    #[serde(rename = "displayName")]
    pub display_name: Option<String>,
    #[serde(rename = "displayNameFromDS")]
    pub display_name_from_ds: Option<String>,
    /// Grafana's unit id ("s", "bytes", "Bps", "percentunit", ...).
    pub unit: Option<String>,
}

/// One table row: a numeric field of a frame.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesRow {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    /// The last finite value, if any.
    pub last: Option<f64>,
}

/// Everything the view draws.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TableModel {
    pub rows: Vec<SeriesRow>,
    /// Label names across all rows, `__name__` first, then alphabetical.
    pub label_columns: Vec<String>,
    pub notices: Vec<InputNotice>,
    pub errors: Vec<String>,
}

/// Parses the props JSON. Invalid JSON is an error the panel shows, not a panic.
pub fn parse_input(json: &str) -> Result<PanelInput, String> {
    parse_packed(json, Vec::new())
}

/// Parses the props JSON whose number fields refer to `numbers` (js/props.js `panelProps`).
pub fn parse_packed(json: &str, numbers: Vec<f64>) -> Result<PanelInput, String> {
    PACKED.with(|all| *all.borrow_mut() = Arc::from(numbers));
    let parsed = serde_json::from_str(json).map_err(|e| format!("pgscope panel received data it cannot read: {e}"));
    // The fields hold their own references; the slot need not keep the array alive.
    PACKED.with(|all| *all.borrow_mut() = Arc::from(Vec::new()));
    parsed
}

impl TableModel {
    pub fn from_input(input: &PanelInput) -> Self {
        let mut rows = Vec::new();
        let mut notices: Vec<InputNotice> = Vec::new();
        for frame in &input.series {
            for notice in frame.meta.iter().flat_map(|m| &m.notices) {
                if !notices.contains(notice) {
                    notices.push(notice.clone());
                }
            }
            for field in frame.fields.iter().filter(|f| f.field_type == "number") {
                rows.push(SeriesRow {
                    name: display_name(frame, field),
                    labels: field.labels.clone().unwrap_or_default(),
                    last: (0..field.values.len()).rev().find_map(|i| field.values.number(i)),
                });
            }
        }
        let names: BTreeSet<&String> = rows.iter().flat_map(|r| r.labels.keys()).collect();
        // A label that only repeats the series name (the legend is `{{displayname}}`) would be
        // a second copy of the first column.
        let mut label_columns: Vec<String> = names
            .into_iter()
            .filter(|label| !rows.iter().all(|r| r.labels.get(*label).is_none_or(|v| *v == r.name)))
            .cloned()
            .collect();
        if let Some(i) = label_columns.iter().position(|n| n == "__name__") {
            let name = label_columns.remove(i);
            label_columns.insert(0, name);
        }
        TableModel { rows, label_columns, notices, errors: input.errors.clone() }
    }
}

fn display_name(frame: &InputFrame, field: &InputField) -> String {
    let config = field.config.as_ref();
    [
        config.and_then(|c| c.display_name.clone()),
        config.and_then(|c| c.display_name_from_ds.clone()),
        frame.name.clone(),
    ]
    .into_iter()
    .flatten()
    .find(|n| !n.is_empty())
    .unwrap_or_else(|| {
        let labels = field.labels.clone().unwrap_or_default();
        if labels.is_empty() {
            field.name.clone()
        } else {
            let pairs: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
            format!("{{{}}}", pairs.join(", "))
        }
    })
}

/// A column the table can be sorted by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Column {
    Name,
    Label(String),
    Last,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sort {
    pub column: Column,
    pub descending: bool,
}

impl Default for Sort {
    /// Largest last value first: the series that matter most come first.
    fn default() -> Self {
        Sort { column: Column::Last, descending: true }
    }
}

impl Sort {
    /// The sort after a click on `column`'s header: toggles direction on the same column.
    pub fn clicked(&self, column: Column) -> Sort {
        if self.column == column {
            Sort { column, descending: !self.descending }
        } else {
            let descending = column == Column::Last;
            Sort { column, descending }
        }
    }
}

/// Sorts rows; missing values always go last, whatever the direction. Stable.
pub fn sort_rows(rows: &mut [SeriesRow], sort: &Sort) {
    rows.sort_by(|a, b| {
        let ordering = match &sort.column {
            Column::Name => Some(compare_text(&a.name, &b.name)),
            Column::Label(label) => match (a.labels.get(label), b.labels.get(label)) {
                (Some(x), Some(y)) => Some(compare_text(x, y)),
                (Some(_), None) => return Ordering::Less,
                (None, Some(_)) => return Ordering::Greater,
                (None, None) => None,
            },
            Column::Last => match (a.last, b.last) {
                (Some(x), Some(y)) => Some(x.total_cmp(&y)),
                (Some(_), None) => return Ordering::Less,
                (None, Some(_)) => return Ordering::Greater,
                (None, None) => None,
            },
        };
        let ordering = ordering.unwrap_or(Ordering::Equal);
        if sort.descending {
            ordering.reverse()
        } else {
            ordering
        }
    });
}

/// Numbers compare as numbers (queryids, ports), everything else as text.
fn compare_text(a: &str, b: &str) -> Ordering {
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) if x.is_finite() && y.is_finite() => x.total_cmp(&y),
        _ => a.cmp(b),
    }
}

/// A value as the table shows it: up to 3 decimals, thousands as k/M/G beyond a million.
pub fn format_value(value: Option<f64>) -> String {
    let Some(v) = value else { return "–".into() };
    let abs = v.abs();
    let (scaled, suffix) = if abs >= 1e12 {
        (v / 1e12, "T")
    } else if abs >= 1e9 {
        (v / 1e9, "G")
    } else if abs >= 1e6 {
        (v / 1e6, "M")
    } else {
        (v, "")
    };
    let text = format!("{scaled:.3}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    let text = if text == "-0" { "0" } else { text };
    format!("{text}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO_SERIES: &str = r#"{"series":[
        {"name":"101 in app","refId":"A","fields":[
            {"name":"Time","type":"time","values":[1,2,3]},
            {"name":"Value","type":"number","labels":{"queryid":"101","datname":"app"},"values":[1.5,2.5,null],
             "config":{"displayNameFromDS":"101 in app"}}],
         "meta":{"notices":[{"severity":"warning","text":"names unavailable"}]}},
        {"refId":"A","fields":[
            {"name":"Time","type":"time","values":[1,2]},
            {"name":"Value","type":"number","labels":{"queryid":"9","__name__":"calls"},"values":[7,8]}],
         "meta":{"notices":[{"severity":"warning","text":"names unavailable"}]}}
    ]}"#;

    #[test]
    fn one_row_per_numeric_field_with_its_last_finite_value() {
        let model = TableModel::from_input(&parse_input(TWO_SERIES).unwrap());
        assert_eq!(model.rows.len(), 2);
        assert_eq!(model.rows[0].name, "101 in app");
        assert_eq!(model.rows[0].last, Some(2.5));
        assert_eq!(model.rows[1].name, "{__name__=\"calls\", queryid=\"9\"}");
        assert_eq!(model.rows[1].last, Some(8.0));
        assert_eq!(model.label_columns, ["__name__", "datname", "queryid"]);
        assert_eq!(model.notices.len(), 1, "the same notice on two frames is shown once");
    }

    #[test]
    fn a_label_that_only_repeats_the_name_gets_no_column() {
        let json = r#"{"series":[
            {"fields":[{"type":"number","labels":{"displayname":"SELECT 1","queryid":"7"},"config":{"displayNameFromDS":"SELECT 1"},"values":[1]}]},
            {"fields":[{"type":"number","labels":{"queryid":"8"},"config":{"displayNameFromDS":"8"},"values":[2]}]}
        ]}"#;
        let model = TableModel::from_input(&parse_input(json).unwrap());
        assert_eq!(model.label_columns, ["queryid"]);
    }

    #[test]
    fn packed_numbers_read_like_their_json() {
        let json = r#"{"series":[{"fields":[
            {"name":"Time","type":"time","values":{"packed":[0,3]}},
            {"name":"Value","type":"number","labels":{"queryid":"1"},"values":{"packed":[3,3]}},
            {"name":"empty","type":"number","values":{"packed":[6,0]}}]}]}"#;
        let packed = parse_packed(json, vec![1000.0, 2000.0, 3000.0, 1.5, f64::NAN, 7.0]).unwrap();
        let plain = parse_input(r#"{"series":[{"fields":[
            {"name":"Time","type":"time","values":[1000,2000,3000]},
            {"name":"Value","type":"number","labels":{"queryid":"1"},"values":[1.5,null,7]},
            {"name":"empty","type":"number","values":[]}]}]}"#)
        .unwrap();
        assert_eq!(packed, plain);
        let values = &packed.series[0].fields[1].values;
        assert_eq!((values.number(0), values.number(1), values.number(2), values.number(3)), (Some(1.5), None, Some(7.0), None));
        assert_eq!((values.text(0).as_deref(), values.text(1), values.text(2).as_deref()), (Some("1.5"), None, Some("7")));
        assert_eq!(TableModel::from_input(&packed), TableModel::from_input(&plain));
        // A range outside the array sent, or a map without one, is an error the panel shows.
        for (json, numbers) in [(r#"{"series":[{"fields":[{"values":{"packed":[2,5]}}]}]}"#, vec![1.0; 4]), (r#"{"series":[{"fields":[{"values":{"packed":[18446744073709551615,2]}}]}]}"#, vec![]), (r#"{"series":[{"fields":[{"values":{"other":1}}]}]}"#, vec![])] {
            let error = parse_packed(json, numbers).unwrap_err();
            assert!(error.starts_with("pgscope panel received data it cannot read"), "{error}");
        }
        // The array belongs to one parse: the next props without numbers cannot reach it.
        assert!(parse_input(r#"{"series":[{"fields":[{"values":{"packed":[0,1]}}]}]}"#).is_err());
    }

    #[test]
    fn odd_input_never_panics() {
        for json in [
            "", "null", "[]", "{", r#"{"series":5}"#, r#"{"series":[null]}"#,
            r#"{"series":[{"fields":[{"type":"number","values":"abc"}]}]}"#,
        ] {
            let _ = parse_input(json).map(|input| TableModel::from_input(&input));
        }
        let model = TableModel::from_input(
            &parse_input(r#"{"series":[{"fields":[{"type":"number","values":["x",null,{"a":1}]},{"type":"number"}]}]}"#).unwrap(),
        );
        assert_eq!(model.rows.len(), 2);
        assert!(model.rows.iter().all(|r| r.last.is_none()));
        assert!(parse_input("{").unwrap_err().contains("cannot read"));
    }

    fn row(name: &str, queryid: Option<&str>, last: Option<f64>) -> SeriesRow {
        let labels = queryid.map(|q| [("queryid".to_string(), q.to_string())].into()).unwrap_or_default();
        SeriesRow { name: name.into(), labels, last }
    }

    #[test]
    fn sorting_by_value_name_and_label() {
        let mut rows = vec![row("b", Some("10"), Some(1.0)), row("a", Some("9"), None), row("c", None, Some(5.0))];
        sort_rows(&mut rows, &Sort::default());
        assert_eq!(rows.iter().map(|r| r.name.as_str()).collect::<String>(), "cba");
        sort_rows(&mut rows, &Sort { column: Column::Last, descending: false });
        assert_eq!(rows.iter().map(|r| r.name.as_str()).collect::<String>(), "bca", "missing values stay last");
        sort_rows(&mut rows, &Sort { column: Column::Name, descending: false });
        assert_eq!(rows.iter().map(|r| r.name.as_str()).collect::<String>(), "abc");
        sort_rows(&mut rows, &Sort { column: Column::Label("queryid".into()), descending: false });
        assert_eq!(rows.iter().map(|r| r.name.as_str()).collect::<String>(), "abc", "9 < 10 as numbers");
        sort_rows(&mut rows, &Sort { column: Column::Label("queryid".into()), descending: true });
        assert_eq!(rows.iter().map(|r| r.name.as_str()).collect::<String>(), "bac");
    }

    #[test]
    fn header_clicks_toggle_direction() {
        let sort = Sort::default().clicked(Column::Name);
        assert_eq!(sort, Sort { column: Column::Name, descending: false });
        assert!(sort.clicked(Column::Name).descending);
        assert!(sort.clicked(Column::Last).descending);
    }

    #[test]
    fn values_are_formatted_for_reading() {
        assert_eq!(format_value(None), "–");
        assert_eq!(format_value(Some(2.0)), "2");
        assert_eq!(format_value(Some(0.12345)), "0.123");
        assert_eq!(format_value(Some(-0.0001)), "0");
        assert_eq!(format_value(Some(1_234_567.0)), "1.235M");
        assert_eq!(format_value(Some(117_000.0)), "117000");
    }
}
