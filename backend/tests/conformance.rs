//! Golden tests: our Prometheus JSON -> frame conversion against Grafana's own converter
//! goldens in ../shared/conformance/promlib (see its README for how Grafana compares). Each
//! frame is also sent through Arrow and back, so what reaches Grafana is what is compared.

#[path = "support/golden.rs"]
mod golden;

use std::path::PathBuf;

use golden::{golden, normalise, CASES, STRING_INPUT};
use pgscope::frame::Frame;
use pgscope::prom::convert::{convert, long_table, ConvertError};
use serde_json::{json, Value};

/// Table-format goldens: compared on what they mean, not field for field (see `table_format`).
const TABLE_CASES: &[(&str, &str)] = &[
    ("prom-matrix.json", "prom-matrix-frame_format_table.jsonc"),
    ("prom-query-range.json", "prom-query-range-frame_format_table.jsonc"),
];

fn promlib() -> PathBuf {
    golden::promlib_dir(env!("CARGO_MANIFEST_DIR"), "../..")
}

fn response_json(body: &[u8]) -> Value {
    let frames = convert(body).unwrap();
    let sent: Vec<Value> = frames
        .iter()
        .map(|frame| Frame::from_arrow(&frame.to_arrow().unwrap()).unwrap().to_json())
        .collect();
    json!({ "status": 200, "frames": sent })
}

fn check(input: &str, golden_name: &str) {
    let body = std::fs::read(promlib().join(input)).unwrap();
    let got = normalise(response_json(&body));
    let want = normalise(golden(&promlib(), golden_name));
    assert_eq!(got, want, "{input} -> {golden_name}:\n got: {got}\nwant: {want}");
}

#[test]
fn every_golden_is_covered_or_deferred_with_a_reason() {
    let covered: Vec<String> = CASES
        .iter()
        .chain(TABLE_CASES)
        .map(|(_, g)| g.to_string())
        .chain(["prom-string-frame.jsonc".into()])
        .collect();
    for entry in std::fs::read_dir(promlib()).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name.ends_with(".jsonc") {
            assert!(
                covered.contains(&name),
                "golden {name} is not tested"
            );
        }
    }
}

#[test]
fn matrix() {
    check(CASES[0].0, CASES[0].1);
}

#[test]
fn matrix_with_nan_and_infinities() {
    check(CASES[1].0, CASES[1].1);
}

#[test]
fn query_range() {
    check(CASES[2].0, CASES[2].1);
}

#[test]
fn vector() {
    check(CASES[3].0, CASES[3].1);
}

#[test]
fn scalar() {
    check(CASES[4].0, CASES[4].1);
}

#[test]
fn warnings_become_warning_notices() {
    check(CASES[5].0, CASES[5].1);
    check(CASES[6].0, CASES[6].1);
}

#[test]
fn infos_become_info_notices() {
    check(CASES[7].0, CASES[7].1);
    check(CASES[8].0, CASES[8].1);
}

#[test]
fn string_result_built_from_its_golden() {
    assert_eq!(normalise(response_json(STRING_INPUT.as_bytes())), normalise(golden(&promlib(), "prom-string-frame.jsonc")));
}

#[test]
fn error_answer_is_an_error_with_its_message() {
    let body = std::fs::read(promlib().join("prom-error.json")).unwrap();
    match convert(&body) {
        Err(ConvertError::Api { error_type, message }) => {
            assert_eq!(error_type, "bad_data");
            assert!(message.contains("cannot parse \"\" to a valid timestamp"), "{message}");
        }
        other => panic!("expected an API error, got {other:?}"),
    }
}

/// Grafana's table goldens: one `timeseries-long` frame with every series' rows in input order.
/// Our frame has the same Time and Value columns and meta; it adds the labels as string columns
/// (Grafana's golden keeps only the last series' labels, on the Value field).
#[test]
fn table_format() {
    for (input, golden_name) in TABLE_CASES {
        let body = std::fs::read(promlib().join(input)).unwrap();
        let table = long_table(&convert(&body).unwrap());
        let got = Frame::from_arrow(&table.to_arrow().unwrap()).unwrap().to_json();
        let want = &golden(&promlib(), golden_name)["frames"][0];
        assert_eq!(normalise(got["schema"]["meta"].clone()), normalise(want["schema"]["meta"].clone()), "{golden_name}");
        let fields = got["schema"]["fields"].as_array().unwrap();
        let values = got["data"]["values"].as_array().unwrap();
        assert_eq!(fields.first().unwrap()["name"], "Time");
        assert_eq!(fields.last().unwrap()["name"], "Value");
        assert_eq!(normalise(values[0].clone()), normalise(want["data"]["values"][0].clone()), "{golden_name}: Time");
        assert_eq!(normalise(values.last().unwrap().clone()), normalise(want["data"]["values"][1].clone()), "{golden_name}: Value");
        // The golden's Value labels are the last series' labels: each is a column of ours whose
        // last row holds that value.
        for (label, value) in want["schema"]["fields"][1]["labels"].as_object().unwrap() {
            let column = fields.iter().position(|f| f["name"] == *label).unwrap_or_else(|| panic!("{golden_name}: no column {label}"));
            assert_eq!(values[column].as_array().unwrap().last().unwrap(), value, "{golden_name}: {label}");
        }
    }
}
