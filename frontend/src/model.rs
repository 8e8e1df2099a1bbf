//! The props the JS glue sends on every render (Grafana's data frames trimmed to what we
//! draw, the time range, the panel's options) and their parsing: the types every other model
//! module reads.
//!
//! The model is the crate's pure half: this file, frame.rs (reading a frame), and one module
//! per view for what that view draws: table.rs, pgss.rs (with viewport.rs), detail.rs,
//! stack.rs. It never touches the DOM and never uses the view (view/ draws it, not the other
//! way round; layers.rs checks), so it is tested natively. Odd input (wrong types, missing
//! members, NaN, ragged fields) becomes an error message or an empty cell, never a panic: in
//! wasm a panic would abort the instance every panel on the page shares.

use std::cmp::Ordering;
use std::collections::BTreeMap;
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


/// Parses the props JSON without packed numbers (the tests' props). Invalid JSON is an error
/// the panel shows, not a panic.
#[cfg(test)]
pub(crate) fn parse_input(json: &str) -> Result<PanelInput, String> {
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

/// Sorts `items` stably by `compare`. Every sort in the panel goes through the one sort of
/// indices in `sorted_indices`: each `slice::sort_by` is ~5 KB of wasm per element type and
/// comparator, and the panel had eight (issue 19, the wasm diet).
pub fn sort_by<T>(items: &mut [T], mut compare: impl FnMut(&T, &T) -> Ordering) {
    let mut order = sorted_indices(items.len(), &mut |a, b| compare(&items[a], &items[b]));
    // Position i takes the item at order[i]: follow each cycle of the permutation once.
    for start in 0..order.len() {
        let mut at = start;
        while order[at] != start {
            let from = order[at];
            items.swap(at, from);
            order[at] = at;
            at = from;
        }
        order[at] = at;
    }
}

/// 0..n sorted stably by `compare` on indices.
pub fn sorted_indices(n: usize, compare: &mut dyn FnMut(usize, usize) -> Ordering) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| compare(a, b));
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_by_is_stable_and_permutes_every_item_once() {
        // Every permutation of 5 items with a repeated key, by key only: stable and complete.
        let mut seed = 7u32;
        for _ in 0..500 {
            let mut items: Vec<(u32, usize)> = (0..12).map(|i| { seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345); ((seed >> 16) % 4, i) }).collect();
            let mut expected = items.clone();
            expected.sort_by_key(|&(key, _)| key);
            sort_by(&mut items, |a, b| a.0.cmp(&b.0));
            assert_eq!(items, expected);
        }
        let mut empty: Vec<u8> = Vec::new();
        sort_by(&mut empty, |a, b| a.cmp(b));
        assert_eq!(sorted_indices(3, &mut |a, b| b.cmp(&a)), [2, 1, 0]);
    }
    use crate::table::TableModel;

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
}
