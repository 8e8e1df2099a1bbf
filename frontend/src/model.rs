//! The props the JS glue sends on every render (Grafana's data frames trimmed to what we
//! draw, the time range, the panel's options) and their parsing: the types every other model
//! module reads.
//!
//! The model is the crate's pure half: this file, frame.rs (reading a frame), and one module
//! per view for what that view draws: table.rs, pgss.rs (with viewport.rs and compare.rs),
//! detail.rs, stack.rs. It never touches the DOM and never uses the view (view/ draws it, not the other
//! way round; layers.rs checks), so it is tested natively. Odd input (wrong types, missing
//! members, NaN, ragged fields) becomes an error message or an empty cell, never a panic: in
//! wasm a panic would abort the instance every panel on the page shares.

use std::cmp::Ordering;
use std::ops::Range;
use std::sync::Arc;

pub use crate::json::Value;
use crate::json::Pull;

/// What the JS glue sends on every render.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PanelInput {
    pub series: Vec<InputFrame>,
    /// Query errors Grafana reported for this panel.
    pub errors: Vec<String>,
    /// The dashboard's time range, in ms since the epoch (charts share it).
    pub time_range: Option<TimeRange>,
    /// The panel's options (set in the panel editor or the dashboard JSON).
    pub options: PanelOptions,
}

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TimeRange {
    pub from: f64,
    pub to: f64,
}

/// Options of the panel (frontend/js/panelOptions.js declares their editors).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PanelOptions {
    /// The top-queries view's columns, by field name, in the order chosen; None or empty: all
    /// the data has. Unknown names are ignored.
    pub top_columns: Option<Vec<String>>,
    /// The detail view's charts: "overview", "perSecond" or "perCall".
    pub detail_charts: Option<String>,
    /// The comparison the panel shows (issue 20): "" off, "previous", "1d", "7d"; None: not
    /// set. The window itself is the query's `compareTo` (the panel cannot change its query).
    pub compare_to: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct InputFrame {
    pub name: Option<String>,
    pub ref_id: Option<String>,
    pub fields: Vec<InputField>,
    pub meta: Option<InputMeta>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct InputMeta {
    pub notices: Vec<InputNotice>,
    /// The datasource's own metadata (`{"pgscope": "stackHealth", ...}` marks pgscope frames).
    pub custom: Option<Value>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct InputNotice {
    pub severity: String,
    pub text: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct InputField {
    pub name: String,
    pub field_type: String,
    pub labels: Option<Labels>,
    pub config: Option<InputFieldConfig>,
    /// Any JSON (numbers, null for NaN and infinities, strings), or the numbers the glue
    /// packed for number and time fields.
    pub values: Values,
}

impl InputField {
    /// The value of label `name`; empty when the field has no such label.
    pub fn label(&self, name: &str) -> String {
        self.label_str(name).to_string()
    }

    /// `label` borrowed.
    pub fn label_str(&self, name: &str) -> &str {
        self.labels.as_ref().and_then(|l| l.get(name)).map_or("", String::as_str)
    }
}

/// A field's values. The glue sends number and time fields as a range of one Float64Array
/// beside the JSON (`{"packed": [start, len]}` in the JSON), which costs a copy instead of
/// printing and parsing 100,000 numbers per refresh; everything else as JSON.
#[derive(Debug, Clone)]
pub enum Values {
    Json(Vec<Value>),
    /// The whole array the glue sent (shared by every packed field, kept as wasm-bindgen
    /// handed it over: an `Arc<[f64]>` would copy 5 MB per refresh at 5,000 statements) and
    /// this field's range; NaN stands for a value that was null, not finite or not a number.
    Numbers(Arc<Vec<f64>>, Range<usize>),
}

impl Default for Values {
    fn default() -> Self {
        Values::Json(Vec::new())
    }
}

impl PartialEq for Values {
    fn eq(&self, other: &Self) -> bool {
        // Packed values' text is their number's: compared as numbers only, without printing.
        let packed = matches!((self, other), (Values::Numbers(..), Values::Numbers(..)));
        self.len() == other.len() && (0..self.len()).all(|i| self.number(i) == other.number(i) && (packed || self.text(i) == other.text(i)))
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
                Value::Int(i) => Some(i.get().to_string()),
                Value::Float(x) => Some(crate::number::shortest(*x)),
                _ => None,
            },
            Values::Numbers(..) => self.number(i).map(crate::number::shortest),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct InputFieldConfig {
    pub display_name: Option<String>,
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
/// Members of the wrong type read as missing (options come from dashboard JSON users edit by
/// hand: a wrong type means "not set", never a panel that cannot draw); text that is not JSON,
/// or packed values outside `numbers`, is an error the panel shows.
pub fn parse_packed(json: &str, numbers: Vec<f64>) -> Result<PanelInput, String> {
    let numbers = Arc::new(numbers);
    let mut reader = Pull::new(json);
    // Packed values outside `numbers` are an error once the whole text has read as JSON (text
    // that is not JSON is the error shown first, as when the text was parsed whole first).
    let mut problem = None;
    let input = PanelInput::read(&mut reader, &numbers, &mut problem).and_then(|input| reader.end().map(|_| input));
    input.and_then(|input| problem.map_or(Ok(input), Err)).map_err(|e| format!("pgscope panel received data it cannot read: {e}"))
}

/// The first error of the props' values (model.rs `parse_packed`), if any.
type Problem = Option<String>;

fn string(value: Value) -> Option<String> {
    value.into_string()
}

fn strings(value: Value) -> Vec<String> {
    value.into_items().into_iter().filter_map(Value::into_string).collect()
}

fn number(value: &Value) -> f64 {
    value.as_f64().unwrap_or(0.0)
}

/// The first of each of `keys` in the object the reader is at (Null when missing), and the
/// items of its first member `list`, each read by `item` (none when missing or not a list).
fn members_and_list<T, const N: usize>(reader: &mut Pull, keys: [&str; N], list: &str, item: &mut dyn FnMut(&mut Pull) -> Result<T, String>) -> Result<([Value; N], Vec<T>), String> {
    let mut items = None;
    let members = reader.members(keys, &mut |reader, key| {
        if key != list || items.is_some() {
            return Ok(false);
        }
        let mut read = Vec::new();
        reader.items(&mut |reader| item(reader).map(|x| read.push(x)))?;
        items = Some(read);
        Ok(true)
    })?;
    Ok((members, items.unwrap_or_default()))
}

impl PanelInput {
    fn read(reader: &mut Pull, numbers: &Arc<Vec<f64>>, problem: &mut Problem) -> Result<Self, String> {
        let ([time_range, mut options, errors], series) =
            members_and_list(reader, ["timeRange", "options", "errors"], "series", &mut |reader| InputFrame::read(reader, numbers, problem))?;
        let time_range = match &time_range {
            range @ Value::Object(_) => Some(TimeRange { from: range.get("from").map_or(0.0, number), to: range.get("to").map_or(0.0, number) }),
            _ => None,
        };
        let options = PanelOptions {
            top_columns: match options.take("topColumns") {
                columns @ Value::Array(_) => Some(strings(columns)),
                _ => None,
            },
            detail_charts: string(options.take("detailCharts")),
            compare_to: string(options.take("compareTo")),
        };
        Ok(PanelInput { series, errors: strings(errors), time_range, options })
    }
}

impl InputFrame {
    fn read(reader: &mut Pull, numbers: &Arc<Vec<f64>>, problem: &mut Problem) -> Result<Self, String> {
        let ([name, ref_id, meta], fields) = members_and_list(reader, ["name", "refId", "meta"], "fields", &mut |reader| InputField::read(reader, numbers, problem))?;
        let meta = match meta {
            mut meta @ Value::Object(_) => Some(InputMeta {
                notices: meta
                    .take("notices")
                    .into_items()
                    .into_iter()
                    .map(|mut notice| InputNotice { severity: string(notice.take("severity")).unwrap_or_default(), text: string(notice.take("text")).unwrap_or_default() })
                    .collect(),
                custom: match meta.take("custom") {
                    Value::Null => None,
                    custom => Some(custom),
                },
            }),
            _ => None,
        };
        Ok(InputFrame { name: string(name), ref_id: string(ref_id), fields, meta })
    }
}

impl InputField {
    /// A field; packed values outside `numbers` are the `problem` (the first one kept).
    fn read(reader: &mut Pull, numbers: &Arc<Vec<f64>>, problem: &mut Problem) -> Result<Self, String> {
        let [name, field_type, labels, config, values] = reader.members(["name", "type", "labels", "config", "values"], &mut |_, _| Ok(false))?;
        let (values, error) = match Self::values(values, numbers) {
            Ok(values) => (values, None),
            Err(error) => (Values::default(), Some(error)),
        };
        if problem.is_none() {
            *problem = error;
        }
        let labels = match labels {
            Value::Object(members) => Some(members.into_iter().filter_map(|(k, v)| Some((k.into_owned(), v.into_string()?))).collect::<Vec<_>>()),
            _ => None,
        };
        let labels = labels.map(Labels::new);
        let config = match config {
            mut config @ Value::Object(_) => Some(InputFieldConfig {
                display_name: string(config.take("displayName")),
                display_name_from_ds: string(config.take("displayNameFromDS")),
                unit: string(config.take("unit")),
            }),
            _ => None,
        };
        Ok(InputField { name: string(name).unwrap_or_default(), field_type: string(field_type).unwrap_or_default(), labels, config, values })
    }

    /// A field's values: a JSON list, or `{"packed": [start, len]}` inside `numbers`.
    fn values(values: Value, numbers: &Arc<Vec<f64>>) -> Result<Values, String> {
        Ok(match values {
            Value::Array(items) => Values::Json(items),
            packed @ Value::Object(_) => {
                let range = packed.get("packed").and_then(Value::as_array).filter(|r| r.len() == 2).ok_or("values without \"packed\": [start, len]")?;
                let index = |v: &Value| match *v {
                    Value::Int(i) => usize::try_from(i.get()).ok(),
                    _ => None,
                };
                let (start, len) = index(&range[0]).zip(index(&range[1])).ok_or("packed values need a start and a length")?;
                match start.checked_add(len).filter(|end| *end <= numbers.len()) {
                    Some(end) => Values::Numbers(numbers.clone(), start..end),
                    None => return Err(format!("packed values {start}+{len} lie outside the {} numbers sent", numbers.len())),
                }
            }
            _ => Values::default(),
        })
    }
}

/// Sorts `items` stably by `compare`. Every sort in the panel goes through the one sort of
/// indices in `sorted_indices`: each `slice::sort_by` is ~5 KB of wasm per element type and
/// comparator, and the panel had eight (issue 19, the wasm diet).
pub fn sort_by<T>(items: &mut [T], mut compare: impl FnMut(&T, &T) -> Ordering) {
    let mut order = sorted_indices(items.len(), &mut |a, b| compare(&items[a], &items[b]));
    permute(&mut order, &mut |a, b| items.swap(a, b));
}

/// Applies the permutation `order` (position i takes the item at order[i]) through `swap`,
/// following each cycle once; `order` is left as 0..n. Not generic, so the ten `sort_by`
/// element types share it (~2 KB of wasm, issue 19).
fn permute(order: &mut [usize], swap: &mut dyn FnMut(usize, usize)) {
    for start in 0..order.len() {
        let mut at = start;
        while order[at] != start {
            let from = order[at];
            swap(at, from);
            order[at] = at;
            at = from;
        }
        order[at] = at;
    }
}

/// A series' labels, sorted by name, one value per name (the first given). A sorted Vec
/// rather than a BTreeMap: the panel's last B-tree, ~5 KB of wasm (issue 19, the wasm diet).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Labels(Vec<(String, String)>);

impl Labels {
    pub fn new(mut pairs: Vec<(String, String)>) -> Self {
        sort_by(&mut pairs, |a, b| a.0.cmp(&b.0));
        pairs.dedup_by(|later, first| later.0 == first.0);
        Labels(pairs)
    }

    pub fn get(&self, name: &str) -> Option<&String> {
        self.0.binary_search_by(|(k, _)| k.as_str().cmp(name)).ok().map(|i| &self.0[i].1)
    }

    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.0.iter().map(|(k, _)| k)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &String)> {
        self.0.iter().map(|(k, v)| (k, v))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<const N: usize> From<[(String, String); N]> for Labels {
    fn from(pairs: [(String, String); N]) -> Self {
        Labels::new(pairs.into())
    }
}

/// A map built once and then read: its entries sorted by key (stably, so of equal keys the
/// last given is found), looked up by binary search. The panel's maps instead of a BTreeMap
/// per key and value type, each ~5 KB of wasm (issue 19, the wasm diet).
pub struct Lookup<K, V>(Vec<(K, V)>);

impl<K: Ord, V> Lookup<K, V> {
    pub fn new(mut entries: Vec<(K, V)>) -> Self {
        sort_by(&mut entries, |a, b| a.0.cmp(&b.0));
        Lookup(entries)
    }

    /// Every value given for `key`, in the order given.
    pub fn all(&self, key: &K) -> impl Iterator<Item = &V> {
        let (start, end) = (self.0.partition_point(|e| e.0 < *key), self.0.partition_point(|e| e.0 <= *key));
        self.0[start..end].iter().map(|e| &e.1)
    }

    /// Every key given, sorted (repeated as often as given).
    pub fn keys(&self) -> impl Iterator<Item = &K> {
        self.0.iter().map(|e| &e.0)
    }

    /// The value last given for `key`.
    pub fn get(&self, key: &K) -> Option<&V> {
        self.all(key).last()
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
        let lookup = Lookup::new(vec![(3, 'a'), (1, 'b'), (3, 'c'), (2, 'd')]);
        assert_eq!((lookup.get(&3), lookup.get(&1), lookup.get(&0), lookup.get(&4)), (Some(&'c'), Some(&'b'), None, None));
        assert_eq!(lookup.all(&3).collect::<String>(), "ac");
        assert_eq!(lookup.keys().copied().collect::<Vec<_>>(), [1, 2, 3, 3]);
        let labels = Labels::new(["b", "a", "b", "c"].iter().zip(["1", "2", "3", "4"]).map(|(k, v)| (k.to_string(), v.to_string())).collect());
        assert_eq!(labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>(), ["a=2", "b=1", "c=4"], "sorted, the first value of a name kept");
        assert_eq!((labels.get("b").map(String::as_str), labels.get("x"), labels.is_empty()), (Some("1"), None, false));
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
