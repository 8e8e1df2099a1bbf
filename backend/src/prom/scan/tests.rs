//! The fast reader against serde on generated answers, large answers read in parts and while
//! they arrive, and the marks that cut them.

use proptest::prelude::*;

use super::read;
use crate::prom::convert::{convert, convert_with_serde};

/// The contract: whatever `read` accepts, serde reads to the same frames (Arrow bytes compared,
/// so NaN and the labels count too).
fn agrees(body: &[u8]) -> Result<bool, TestCaseError> {
    let Some(_) = read(body, &Default::default()) else { return Ok(false) };
    let fast = convert(body).map_err(|e| TestCaseError::fail(format!("fast path took a body serde refuses: {e}")))?;
    let slow = convert_with_serde(body).map_err(|e| TestCaseError::fail(format!("serde refuses a body the fast path took: {e}")))?;
    let arrow = |frames: &[crate::frame::Frame]| frames.iter().map(|f| f.to_arrow().unwrap()).collect::<Vec<_>>();
    prop_assert_eq!(arrow(&fast), arrow(&slow), "{}", String::from_utf8_lossy(body));
    Ok(true)
}

fn json_string(text: &str, unicode_escapes: bool) -> String {
    if unicode_escapes {
        let mut out = String::from("\"");
        for c in text.chars() {
            if c.is_ascii() { out.push_str(&format!("\\u{:04x}", c as u32)) } else { out.push(c) }
        }
        out + "\""
    } else {
        serde_json::to_string(text).unwrap()
    }
}

fn time() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => (0u64..4_000_000_000, proptest::option::of(0u32..1000), 0usize..4).prop_map(|(s, f, digits)| match f {
            Some(f) if digits > 0 => format!("{s}.{}", &format!("{f:03}")[..digits]),
            _ => s.to_string(),
        }),
        1 => Just("1.7e9".to_string()),
        1 => Just("1700000000.12345".to_string()),
        1 => Just("-5".to_string()),
        1 => Just("0".to_string()),
    ]
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => (0u64..1_000_000_000_000).prop_map(|v| v.to_string()),
        2 => any::<f64>().prop_map(|v| v.to_string()),
        1 => (0u64..u64::MAX).prop_map(|v| format!("{v}{v}")),
        1 => prop::sample::select(vec!["NaN", "+Inf", "-Inf", "Inf", "", "abc", "00012", "-0", "1e3", "0.1", "1E-7", "é"]).prop_map(String::from),
    ]
}

fn space() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["", "", "", " ", "\n  ", "\t", "\r\n"])
}

fn labels() -> impl Strategy<Value = String> {
    (prop::collection::vec(("[a-z_]{1,5}", "[ -~]{0,6}|[a-zé\"\\\\\n/]{0,4}", any::<bool>()), 0..4), space()).prop_map(|(pairs, sp)| {
        let members: Vec<String> =
            pairs.iter().map(|(k, v, u)| format!("{}{sp}:{sp}{}", json_string(k, false), json_string(v, *u))).collect();
        format!("{{{sp}{}{sp}}}", members.join(&format!("{sp},{sp}")))
    })
}

fn answer() -> impl Strategy<Value = String> {
    let pairs = prop::collection::vec((time(), value()), 0..6);
    let element = (labels(), pairs, space(), any::<bool>());
    (prop::collection::vec(element, 0..5), any::<bool>(), any::<bool>(), any::<bool>(), space(), prop::option::of(prop::collection::vec("[ -~]{0,8}", 0..3)))
        .prop_map(|(elements, matrix, type_first, extras, sp, warnings)| {
            let pair = |(t, v): &(String, String)| format!("[{sp}{t}{sp},{sp}{}{sp}]", json_string(v, false));
            let result: Vec<String> = elements
                .iter()
                .map(|(labels, pairs, sp, has_value)| {
                    let points = if matrix {
                        format!("\"values\"{sp}:{sp}[{}]", pairs.iter().map(pair).collect::<Vec<_>>().join(","))
                    } else if *has_value {
                        format!("\"value\":{}", pairs.first().map(pair).unwrap_or_else(|| "[1,\"1\"]".into()))
                    } else {
                        String::new()
                    };
                    let comma = if points.is_empty() { "" } else { "," };
                    format!("{{\"metric\"{sp}:{sp}{labels}{comma}{points}}}")
                })
                .collect();
            let kind = format!("\"resultType\":\"{}\"", if matrix { "matrix" } else { "vector" });
            let result = format!("\"result\":{sp}[{sp}{}{sp}]", result.join(&format!(",{sp}")));
            let data = if type_first { format!("{kind},{result}") } else { format!("{result},{kind}") };
            let mut top = vec![format!("\"status\"{sp}:{sp}\"success\""), format!("\"data\":{{{data}}}")];
            if extras {
                top.insert(1, "\"isPartial\":false".into());
                top.push(r#""stats":{"seriesFetched":"3","executionTimeMsec":-1.5e-3,"x":[null,true,false,{},[]],"s":"\u00e9\"\\"}"#.into());
            }
            if let Some(w) = warnings {
                top.push(format!("\"warnings\":{}", serde_json::to_string(&w).unwrap()));
                top.push(format!("\"infos\":{}", serde_json::to_string(&w).unwrap()));
            }
            format!("{sp}{{{}}}{sp}", top.join(&format!("{sp},{sp}")))
        })
}

/// A fixed seed keeps CI deterministic, as in tests/rewrite_properties.rs.
fn config() -> ProptestConfig {
    ProptestConfig { cases: 2000, failure_persistence: None, rng_seed: proptest::test_runner::RngSeed::Fixed(0x5ca1), ..ProptestConfig::default() }
}

#[test]
fn most_generated_answers_take_the_fast_path() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let fast = (0..1000).filter(|_| read(answer().new_tree(&mut runner).unwrap().current().as_bytes(), &Default::default()).is_some()).count();
    // Otherwise the properties below would hold by leaving everything to serde.
    assert!(fast > 300, "{fast} of 1000 generated answers took the fast path");
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn the_fast_path_reads_what_serde_reads(body in answer()) {
        agrees(body.as_bytes())?;
    }

    #[test]
    fn damaged_answers_are_serdes_to_judge(body in answer(), at in any::<prop::sample::Index>(), byte in prop::sample::select(b"[]{}\",:0 .e-\\x".to_vec()), cut in any::<bool>()) {
        let mut bytes = body.into_bytes();
        let at = at.index(bytes.len());
        if cut { bytes.remove(at); } else { bytes.insert(at, byte); }
        agrees(&bytes)?;
    }
}

#[test]
fn plain_answers_take_the_fast_path() {
    for body in [
        &br#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"a":"b"},"values":[[1700000000,"1"],[1700000000.5,"NaN"]]}]}}"#[..],
        br#"{"status":"success","isPartial":false,"data":{"resultType":"vector","result":[{"metric":{},"value":[1.25,"+Inf"]}]},"stats":{"seriesFetched":"1"}}"#,
        br#"{"status":"success","data":{"resultType":"matrix","result":[]},"warnings":["w"]}"#,
    ] {
        assert!(read(body, &Default::default()).is_some(), "{}", String::from_utf8_lossy(body));
        assert!(agrees(body).unwrap());
    }
}

/// Several megabytes: read in parts on a machine with more than one core.
fn large_answer(series: usize, labels: impl Fn(usize) -> String, after_result: &str) -> String {
    let elements: Vec<String> = (0..series)
        .map(|s| {
            let pairs: Vec<String> = (0..240).map(|i| format!("[{},\"{}.5\"]", 1_700_000_000 + i * 15, s * i)).collect();
            format!("{{\"metric\":{},\"values\":[{}]}}", labels(s), pairs.join(","))
        })
        .collect();
    format!(r#"{{"status":"success","data":{{"resultType":"matrix","result":[{}]}}{after_result}}}"#, elements.join(","))
}

#[test]
fn a_large_answer_read_in_parts_is_the_answer_read_whole() {
    let body = large_answer(1_000, |s| format!(r#"{{"queryid":"{s}","datname":"db\u00e9"}}"#), "");
    assert!(body.len() > 5 << 20);
    let before = super::READ_IN_PARTS.load(std::sync::atomic::Ordering::Relaxed);
    assert!(agrees(body.as_bytes()).unwrap());
    if std::thread::available_parallelism().unwrap().get() > 1 {
        assert!(super::READ_IN_PARTS.load(std::sync::atomic::Ordering::Relaxed) > before, "not read in parts");
    }
    assert_eq!(read(body.as_bytes(), &Default::default()).unwrap().series.len(), 1_000);
}

#[test]
fn a_large_answer_that_cannot_be_cut_is_read_whole() {
    // Pretty-printed elements: no `},{"metric":` to cut at.
    let body = large_answer(800, |s| format!(r#"{{"queryid":"{s}"}}"#), "").replace(r#"},{"metric""#, "},\n  {\"metric\"");
    assert_eq!(read(body.as_bytes(), &Default::default()).unwrap().series.len(), 800);
    assert!(agrees(body.as_bytes()).unwrap());
    // The cutting text after the result (in a large `stats`): the parts do not meet, so the
    // result is read whole.
    let stats: Vec<&str> = std::iter::repeat_n(r#"{"metric":1}"#, 600_000).collect();
    let body = large_answer(3, |_| "{}".into(), &format!(r#","stats":[{}]"#, stats.join(",")));
    assert!(body.len() > 5 << 20);
    assert_eq!(read(body.as_bytes(), &Default::default()).unwrap().series.len(), 3);
    assert!(agrees(body.as_bytes()).unwrap());
    // A damaged element in the second half: serde's judgement, not a half answer.
    let body = large_answer(1_000, |s| format!(r#"{{"queryid":"{s}"}}"#), "").replacen(r#""queryid":"900""#, r#""queryid":900"#, 1);
    assert!(read(body.as_bytes(), &Default::default()).is_none());
    assert!(convert(body.as_bytes()).is_err());
}

/// The body fed to a `ReadAheadBuilder` in `chunk`-byte pieces, as the client does.
async fn read_while_arriving(body: &[u8], chunk: usize) -> super::ReadAhead {
    let mut builder = super::ReadAheadBuilder::default();
    let mut so_far = Vec::new();
    for piece in body.chunks(chunk) {
        so_far.extend_from_slice(piece);
        builder.feed(&so_far);
    }
    builder.finish().await
}

#[tokio::test]
async fn an_answer_read_while_it_arrives_is_the_answer_read_at_the_end() {
    let body = large_answer(1_000, |s| format!(r#"{{"queryid":"{s}","datname":"db\u00e9"}}"#), "");
    let whole = read(body.as_bytes(), &Default::default()).unwrap();
    for chunk in [997, 16 * 1024, 300_001, 4 << 20] {
        let ahead = read_while_arriving(body.as_bytes(), chunk).await;
        let batches = ahead.0.lock().unwrap().len();
        assert!(batches >= if chunk < 1 << 20 { 3 } else { 1 }, "{batches} batches with {chunk}-byte chunks");
        assert_eq!(read(body.as_bytes(), &ahead).unwrap(), whole, "{chunk}-byte chunks");
        assert!(ahead.is_empty(), "a batch was left unused with {chunk}-byte chunks");
    }
}

#[tokio::test]
async fn read_ahead_never_changes_the_judgement() {
    // The cutting text after the result, in a large `stats`: those batches are not elements.
    let stats: Vec<&str> = std::iter::repeat_n(r#"{"metric":{}}"#, 600_000).collect();
    let body = large_answer(3, |_| "{}".into(), &format!(r#","stats":[{}]"#, stats.join(",")));
    let ahead = read_while_arriving(body.as_bytes(), 64 * 1024).await;
    assert!(!ahead.is_empty(), "the stats objects look like elements to the read-ahead");
    assert_eq!(read(body.as_bytes(), &ahead).unwrap().series.len(), 3);
    // A damaged element in the second half: no batch covers it, the body is serde's to judge.
    let body = large_answer(1_000, |s| format!(r#"{{"queryid":"{s}"}}"#), "").replacen(r#""queryid":"900""#, r#""queryid":900"#, 1);
    let ahead = read_while_arriving(body.as_bytes(), 64 * 1024).await;
    assert!(read(body.as_bytes(), &ahead).is_none());
}

#[test]
fn marks_are_found_forwards_and_backwards() {
    use super::{find, rfind};
    let body = br#"{"a":{}},{"metric":1},{"x":{}}},{"metric":2}}"#;
    let first = body.windows(super::MARK.len()).position(|w| w == super::MARK).unwrap();
    let last = body.windows(super::MARK.len()).rposition(|w| w == super::MARK).unwrap();
    assert_eq!(find(body, 0), Some(first));
    assert_eq!(find(body, first), Some(first));
    assert_eq!(find(body, first + 1), Some(last));
    assert_eq!(find(body, last + 1), None);
    assert_eq!(rfind(body, 0), Some(last));
    assert_eq!(rfind(body, last), Some(last));
    assert_eq!(rfind(body, last + 1), None);
    assert_eq!(find(b"}}}", 0), None);
    assert_eq!(rfind(b"", 0), None);
    assert_eq!(find(b"", 5), None);
}

#[test]
fn everything_else_goes_to_serde() {
    for body in [
        &br#"{"status":"error","errorType":"bad_data","error":"x"}"#[..],
        br#"{"status":"success","data":{"resultType":"scalar","result":[1,"1"]}}"#,
        br#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1.7e9,"1"]]}]}}"#,
        br#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"histograms":[]}]}}"#,
        br#"{"status":"success","status":"success","data":{"resultType":"matrix","result":[]}}"#,
        br#"{"status":"success","data":{"resultType":"matrix","result":[]}} x"#,
        b"<html></html>",
        b"",
    ] {
        assert!(read(body, &Default::default()).is_none(), "{}", String::from_utf8_lossy(body));
    }
}
