//! The typed readers of Prometheus API answers that pgss and stack health share: an instant
//! answer as samples, a range answer as series, label values; with labels owned (`Labels`) or
//! borrowed from the body (`LabelsRef`, for the large pgss answers), read by name through
//! `LabelSet`. `None` for anything that is not the expected success shape; callers word the
//! error (see `convert` for the TSDB's own words). Pure.

use std::borrow::Cow;

use serde::Deserialize;

use super::client::JsonAnswer;
use super::value::parse_sample_value;
use crate::frame::Labels;

/// A sample of an instant query: labels (with `__name__` when the TSDB kept it) and value.
pub type Sample = (Labels, f64);
/// A series of a range query: labels and (unix seconds, value) points.
pub type Series = (Labels, Vec<(f64, f64)>);


#[derive(Deserialize)]
struct Envelope {
    status: String,
    #[serde(default)]
    data: Option<serde_json::Value>,
}

/// An instant sample, its value text borrowed from the body (or `Value`) it is read from, not
/// copied: an allocation less per sample. `L`: the labels, owned or borrowed (`LabelsRef`).
#[derive(Deserialize)]
struct InstantItem<'a, L = Labels> {
    #[serde(default)]
    metric: L,
    #[serde(borrow)]
    value: (f64, Cow<'a, str>),
}

/// A series' labels read by name, owned (`Labels`) or borrowed from an answer (`LabelsRef`).
pub trait LabelSet {
    fn label(&self, name: &str) -> Option<&str>;
}

impl LabelSet for Labels {
    fn label(&self, name: &str) -> Option<&str> {
        self.get(name).map(String::as_str)
    }
}

/// Labels borrowed from the answer's body where they have no escapes: reading the 6,000
/// samples of a pgss increases answer this way takes half the time of building a `Labels` map
/// each. A repeated name keeps its last value, as `Labels` does.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LabelsRef<'a>(Vec<(Cow<'a, str>, Cow<'a, str>)>);

/// A `Sample` whose labels borrow from the answer.
pub type SampleRef<'a> = (LabelsRef<'a>, f64);

impl LabelSet for LabelsRef<'_> {
    fn label(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_ref())
    }
}

impl From<Labels> for LabelsRef<'_> {
    fn from(labels: Labels) -> Self {
        LabelsRef(labels.into_iter().map(|(k, v)| (Cow::Owned(k), Cow::Owned(v))).collect())
    }
}

/// A JSON string, borrowed when it has no escapes.
struct Text<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v.to_string())))
            }
        }
        d.deserialize_str(Visitor)
    }
}

impl<'de> Deserialize<'de> for LabelsRef<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = LabelsRef<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object of label names and values")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<LabelsRef<'de>, A::Error> {
                let mut labels: Vec<(Cow<'de, str>, Cow<'de, str>)> = Vec::with_capacity(map.size_hint().unwrap_or(8));
                while let Some((Text(name), Text(value))) = map.next_entry::<Text, Text>()? {
                    match labels.iter_mut().find(|(k, _)| *k == name) {
                        Some(entry) => entry.1 = value,
                        None => labels.push((name, value)),
                    }
                }
                Ok(LabelsRef(labels))
            }
        }
        d.deserialize_map(Visitor)
    }
}

#[derive(Deserialize)]
struct RangeItem<'a> {
    #[serde(default)]
    metric: Labels,
    #[serde(default, borrow)]
    values: Vec<(f64, Cow<'a, str>)>,
}

/// The common shapes parsed straight into their types: no `Value` tree, no copy of it.
#[derive(Deserialize)]
struct Typed<T> {
    status: String,
    data: TypedData<T>,
}

#[derive(Deserialize)]
struct TypedData<T> {
    #[serde(rename = "resultType")]
    result_type: String,
    result: T,
}

fn typed<'a, T: Deserialize<'a>>(body: &'a [u8], result_type: &str) -> Option<T> {
    let answer: Typed<T> = serde_json::from_slice(body).ok()?;
    (answer.status == "success" && answer.data.result_type == result_type).then_some(answer.data.result)
}

pub fn success_data(body: &[u8]) -> Option<serde_json::Value> {
    let envelope: Envelope = serde_json::from_slice(body).ok()?;
    (envelope.status == "success").then_some(envelope.data?)
}

/// The TSDB's own words for a failed answer (`what`: the expression or request it answered).
pub fn answer_error(what: &str, answer: &JsonAnswer) -> String {
    match super::convert::convert(&answer.body) {
        Err(e) => format!("{e} (in {what})"),
        Ok(_) => format!("HTTP {} for {what}", answer.status),
    }
}

/// An instant query's answer (vector or scalar) as samples; None when it is not one.
pub fn parse_vector(body: &[u8]) -> Option<Vec<Sample>> {
    let samples = |items: Vec<InstantItem>| items.into_iter().filter_map(|i| Some((i.metric, parse_sample_value(&i.value.1)?))).collect();
    if let Some(items) = typed::<Vec<InstantItem>>(body, "vector") {
        return Some(samples(items));
    }
    let data = success_data(body)?;
    match data.get("resultType")?.as_str()? {
        "vector" => Some(samples(Vec::<InstantItem>::deserialize(data.get("result")?).ok()?)),
        "scalar" => {
            let (_, value): (f64, String) = serde_json::from_value(data.get("result")?.clone()).ok()?;
            Some(parse_sample_value(&value).map(|v| vec![(Labels::new(), v)]).unwrap_or_default())
        }
        _ => None,
    }
}

/// `parse_vector` with labels borrowed from `body` (`LabelsRef`); for the large pgss answers.
pub fn parse_vector_ref(body: &[u8]) -> Option<Vec<SampleRef<'_>>> {
    match typed::<Vec<InstantItem<LabelsRef>>>(body, "vector") {
        Some(items) => Some(items.into_iter().filter_map(|i| Some((i.metric, parse_sample_value(&i.value.1)?))).collect()),
        // Anything else (a scalar, a shape only the `Value` reading accepts) as parse_vector reads it.
        None => Some(parse_vector(body)?.into_iter().map(|(labels, value)| (labels.into(), value)).collect()),
    }
}

/// A range query's answer as series; None when it is not a matrix.
pub fn parse_matrix(body: &[u8]) -> Option<Vec<Series>> {
    let items: Vec<RangeItem> = typed(body, "matrix")?;
    Some(
        items
            .into_iter()
            .map(|i| (i.metric, i.values.into_iter().filter_map(|(t, v)| Some((t, parse_sample_value(&v)?))).collect()))
            .collect(),
    )
}

/// `/api/v1/label/__name__/values`: the names.
pub fn parse_names(body: &[u8]) -> Option<Vec<String>> {
    serde_json::from_value(success_data(body)?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_read_the_same_whichever_way_they_are_parsed() {
        let typed = br#"{"status":"success","data":{"resultType":"vector","result":[
            {"metric":{"queryid":"1"},"value":[1700000000,"2.5"]},
            {"metric":{"queryid":"2"},"value":[1700000000,"\u0031e3"]},
            {"metric":{},"value":[1700000000,"not a number"]}]}}"#;
        // A repeated member fails the typed read: the same answer through the `Value` tree.
        let untyped = String::from_utf8_lossy(typed).replace(r#""resultType":"vector","#, r#""resultType":"matrix","resultType":"vector","#);
        assert!(untyped.contains(r#""resultType":"matrix","resultType""#));
        let expected = vec![(Labels::from([("queryid".to_string(), "1".to_string())]), 2.5), (Labels::from([("queryid".to_string(), "2".to_string())]), 1000.0)];
        assert_eq!(parse_vector(typed), Some(expected.clone()));
        assert_eq!(parse_vector(untyped.as_bytes()), Some(expected), "the fallback reads escaped values too");
        assert_eq!(parse_vector(br#"{"status":"success","data":{"resultType":"scalar","result":[1700000000,"4"]}}"#), Some(vec![(Labels::new(), 4.0)]));
        assert_eq!(parse_vector(br#"{"status":"error","errorType":"bad_data","error":"x"}"#), None);
        assert_eq!(parse_vector(br#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#), None);
    }

    #[test]
    fn borrowed_labels_read_like_owned_ones() {
        let owned = |body: &[u8]| parse_vector(body).map(|samples| samples.into_iter().map(|(l, v)| (LabelsRef::from(l), v)).collect::<Vec<_>>());
        let typed = br#"{"status":"success","data":{"resultType":"vector","result":[
            {"metric":{"__name__":"calls","queryid":"1","datname":"a\"b\u00e9"},"value":[1700000000,"2.5"]},
            {"metric":{"queryid":"2","queryid":"3"},"value":[1700000000,"1e3"]},
            {"value":[1700000000,"4"]},
            {"metric":{"queryid":"4"},"value":[1700000000,"NaN-ish"]}]}}"#;
        let samples = parse_vector_ref(typed).unwrap();
        assert_eq!(samples.len(), 3, "a value that is no number is left out");
        let sorted = |l: &LabelsRef| {
            let mut pairs: Vec<(String, String)> = l.0.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            pairs.sort();
            pairs
        };
        for ((a, x), (b, y)) in samples.iter().zip(owned(typed).unwrap()) {
            assert_eq!((sorted(a), x), (sorted(&b), &y));
        }
        assert_eq!(samples[0].0.label("datname"), Some("a\"bé"), "escapes read");
        assert!(matches!(samples[0].0 .0[1].1, Cow::Borrowed("1")), "no copy without escapes");
        assert_eq!(samples[1].0.label("queryid"), Some("3"), "a repeated name keeps its last value, as Labels does");
        assert_eq!(samples[2].0, LabelsRef::default());
        assert_eq!(LabelSet::label(&Labels::from([("a".to_string(), "b".to_string())]), "a"), Some("b"));
        // Shapes only the `Value` reading takes, a scalar and failures: as parse_vector reads them.
        let untyped = String::from_utf8_lossy(typed).replace(r#""resultType":"vector","#, r#""resultType":"matrix","resultType":"vector","#);
        for body in [untyped.as_bytes(), br#"{"status":"success","data":{"resultType":"scalar","result":[1700000000,"4"]}}"#, br#"{"status":"error","error":"x"}"#, b"<html>"] {
            assert_eq!(parse_vector_ref(body), owned(body));
        }
        assert_eq!(parse_vector_ref(untyped.as_bytes()).map(|s| s.len()), Some(3));
    }
}
