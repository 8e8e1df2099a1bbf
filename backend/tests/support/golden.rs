//! Grafana's promlib goldens (../shared/conformance/promlib) and the semantic comparison Grafana
//! uses for them. Shared by the backend's conformance test and the stand-in host's.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

const MARKER: &str = "//  🌟 This was machine generated.  Do not edit. 🌟";

/// Input file -> golden file, for every golden that has an input.
pub const CASES: &[(&str, &str)] = &[
    ("prom-matrix.json", "prom-matrix-frame.jsonc"),
    ("prom-matrix-with-nans.json", "prom-matrix-with-nans-frame.jsonc"),
    ("prom-query-range.json", "prom-query-range-frame.jsonc"),
    ("prom-vector.json", "prom-vector-frame.jsonc"),
    ("prom-scalar.json", "prom-scalar-frame.jsonc"),
    ("prom-warnings.json", "prom-warnings-frame.jsonc"),
    ("prom-warnings-no-data.json", "prom-warnings-no-data-frame.jsonc"),
    ("prom-infos.json", "prom-infos-frame.jsonc"),
    ("prom-infos-no-data.json", "prom-infos-no-data-frame.jsonc"),
];

/// There is no input file for the string golden: this is the answer it was made from.
pub const STRING_INPUT: &str = r#"{"status":"success","data":{"resultType":"string","result":[1651680139.104,"example"]}}"#;

pub fn promlib_dir(manifest_dir: &str, up: &str) -> PathBuf {
    Path::new(manifest_dir).join(up).join("shared/conformance/promlib")
}

pub fn golden(dir: &Path, name: &str) -> Value {
    let text = std::fs::read_to_string(dir.join(name)).unwrap();
    let expected = text.split(MARKER).nth(2).unwrap_or_else(|| panic!("{name}: no golden JSON after the marker"));
    serde_json::from_str(expected).unwrap()
}

/// Grafana compares semantically; typeVersion is informative (goldens come from two commits).
pub fn normalise(mut value: Value) -> Value {
    fn walk(value: &mut Value) {
        match value {
            Value::Object(map) => {
                map.remove("typeVersion");
                map.values_mut().for_each(walk);
            }
            Value::Array(items) => items.iter_mut().for_each(walk),
            Value::Number(n) => *value = json!(n.as_f64().unwrap()),
            _ => {}
        }
    }
    walk(&mut value);
    value
}
