//! Fuzzing of every reader of untrusted input, with proptest (cargo-fuzz needs a nightly
//! toolchain, which these machines cannot fetch): arbitrary and near-valid PromQL through the
//! guard, the rewrite, macro interpolation and the linter; arbitrary query JSON through the
//! promql and pgss models; arbitrary jsonData and secureJsonData through the settings; arbitrary
//! and mutated Prometheus answers through both answer readers and the typed readers. Nothing may
//! panic; answers the readers accept must be well formed.
//!
//! `make test` runs `PGSCOPE_FUZZ_CASES` (default 300) cases per target with a fixed seed;
//! `make fuzz` runs many more with a seed of the run (printed, to replay a failure).

use std::collections::HashMap;
use std::time::Duration;

use pgscope::pluginv2;
use pgscope::fallback::{guard, rewrite, Rules};
use pgscope::lint;
use pgscope::prom::convert::convert;
use pgscope::prom::read::{parse_matrix, parse_names, parse_vector, parse_vector_ref};
use pgscope::promql::macros::{interpolate, MacroContext};
use pgscope::promql::model::{parse_model, plan, QueryContext};
use pgscope::settings::Settings;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};

fn config() -> Config {
    let cases = std::env::var("PGSCOPE_FUZZ_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(300);
    let seed = std::env::var("PGSCOPE_FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0xf022);
    Config { cases, failure_persistence: None, rng_seed: RngSeed::Fixed(seed), max_shrink_iters: 200, ..Config::default() }
}

/// PromQL-ish text: fragments of real syntax glued at random, with random bytes between.
fn promqlish() -> impl Strategy<Value = String> {
    let fragment = prop_oneof![
        Just("rate(pgss_calls_total[5m])"),
        Just(" * on(queryid) group_left(displayname) pgss_query_info"),
        Just("sum by (datname) ("),
        Just(")"),
        Just("("),
        Just("{datname=~\"a.*\"}"),
        Just(" or "),
        Just(" and "),
        Just(" + "),
        Just("topk(5, "),
        Just("$__rate_interval"),
        Just("$__interval"),
        Just("${var:regex}"),
        Just("[1h:5m]"),
        Just(" offset 1d"),
        Just("\""),
        Just("# comment\n"),
        Just("label_replace(up, \"a\", \"$1\", \"b\", \"(.*)\")"),
    ];
    (prop::collection::vec(fragment, 0..40), prop::collection::vec(any::<char>(), 0..8), 0..40usize).prop_map(|(parts, noise, at)| {
        let mut text: String = parts.concat();
        let at = text.char_indices().map(|(i, _)| i).nth(at).unwrap_or(text.len());
        text.insert_str(at, &noise.into_iter().collect::<String>());
        text
    })
}

/// Prometheus answers: valid shapes with random values and labels, then cut or flipped.
fn answerish() -> impl Strategy<Value = Vec<u8>> {
    let value = prop_oneof![Just("\"1.5\"".to_string()), Just("\"NaN\"".into()), Just("\"+Inf\"".into()), Just("\"x\"".into()), Just("1".into()), "\"[0-9e.+-]{0,6}\"".prop_map(|s| s)];
    let labels = prop::collection::btree_map("[a-z_\\\\\"]{0,5}", "[a-z\\\\\"\u{e9}]{0,5}", 0..4)
        .prop_map(|l| serde_json::to_string(&l).unwrap_or_else(|_| "{}".into()));
    let sample = (labels.clone(), value.clone()).prop_map(|(l, v)| format!(r#"{{"metric":{l},"value":[1700000000.5,{v}]}}"#));
    let series = (labels, prop::collection::vec(value, 0..4)).prop_map(|(l, vs)| {
        let points: Vec<String> = vs.iter().enumerate().map(|(i, v)| format!("[{},{v}]", 1700000000 + i)).collect();
        format!(r#"{{"metric":{l},"values":[{}]}}"#, points.join(","))
    });
    let body = prop_oneof![
        prop::collection::vec(sample, 0..5).prop_map(|s| format!(r#"{{"status":"success","data":{{"resultType":"vector","result":[{}]}}}}"#, s.join(","))),
        prop::collection::vec(series, 0..5).prop_map(|s| format!(r#"{{"status":"success","warnings":["w"],"data":{{"resultType":"matrix","result":[{}]}}}}"#, s.join(","))),
        Just(r#"{"status":"success","data":{"resultType":"scalar","result":[1,"2"]}}"#.to_string()),
        Just(r#"{"status":"error","errorType":"bad_data","error":"x"}"#.to_string()),
        Just(r#"{"status":"success","data":["a","b"]}"#.to_string()),
    ];
    (body, 0..3u8, any::<prop::sample::Index>(), any::<u8>()).prop_map(|(body, mutation, at, byte)| {
        let mut bytes = body.into_bytes();
        let i = at.index(bytes.len().max(1)).min(bytes.len().saturating_sub(1));
        match mutation {
            0 => {}
            1 => bytes.truncate(i),
            _ if !bytes.is_empty() => bytes[i] = byte,
            _ => {}
        }
        bytes
    })
}

fn instance(json: Vec<u8>, secure: HashMap<String, String>, url: String) -> pluginv2::DataSourceInstanceSettings {
    pluginv2::DataSourceInstanceSettings { url, json_data: json, decrypted_secure_json_data: secure, basic_auth_enabled: true, basic_auth_user: "u".into(), ..Default::default() }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn promql_text_never_panics_the_rewrite_macros_or_linter(query in promqlish()) {
        let rules = Rules::default();
        let context = MacroContext { interval: Duration::from_secs(15), range: Duration::from_secs(3600), scrape_interval: Duration::from_secs(15) };
        let interpolated = interpolate(&query, &context);
        let out = rewrite(&interpolated, &rules);
        if out.changed {
            prop_assert!(guard::parse(&out.query).is_ok(), "a rewrite that does not parse: {}", out.query);
        } else {
            prop_assert_eq!(&out.query, &interpolated);
        }
        let _ = lint::lint_query(&query, &rules);
        let _ = lint::metric_names(&query);
    }

    #[test]
    fn query_json_never_panics_the_models(json in prop_oneof![
        any::<Vec<u8>>(),
        (promqlish(), any::<Option<bool>>(), "[a-z_ ]{0,8}", "[a-z0-9 ]{0,6}").prop_map(|(expr, instant, format, interval)| {
            serde_json::json!({ "expr": expr, "instant": instant, "format": format, "interval": interval, "fallback": format }).to_string().into_bytes()
        }),
    ], from in any::<i64>(), span in 0..100_000_000i64, points in any::<i64>()) {
        let settings = Settings::from_instance(Some(&instance(Vec::new(), HashMap::new(), "http://127.0.0.1:1".into()))).unwrap();
        if let Ok(model) = parse_model("promql", &json) {
            let context = QueryContext { from_ms: from, to_ms: from.saturating_add(span), max_data_points: points };
            let _ = plan(&model, &context, &settings);
        }
        let _ = pgscope::pgss::TopQuery::parse(&json, &pgscope::pgss::Span { from: 0.0, to: 3600.0, interval_ms: 15_000, max_points: 100 });
    }

    #[test]
    fn settings_never_panic_and_never_print_a_secret(
        json in prop_oneof![any::<Vec<u8>>(), prop::collection::btree_map("[a-zA-Z]{1,12}", prop_oneof![
            Just(serde_json::json!(null)), any::<i64>().prop_map(|n| serde_json::json!(n)), "[ -~]{0,12}".prop_map(|s| serde_json::json!(s)),
            any::<bool>().prop_map(|b| serde_json::json!(b)), Just(serde_json::json!(["a", 1])),
        ], 0..6).prop_map(|m| serde_json::to_vec(&m).unwrap())],
        secret in "[a-zA-Z0-9]{8,16}",
        key in prop_oneof![Just("basicAuthPassword"), Just("bearerToken"), Just("httpHeaderValue1"), Just("pgssConnection"), Just("tlsClientKey")],
        url in prop_oneof![Just("http://127.0.0.1:8428".to_string()), "[ -~]{0,24}".prop_map(|s| s)],
    ) {
        let secure: HashMap<String, String> = [(key.to_string(), format!("host=h user=u password={secret}"))].into();
        match Settings::from_instance(Some(&instance(json, secure, url))) {
            Ok(settings) => {
                let printed = format!("{settings:?}");
                prop_assert!(!printed.contains(&secret));
            }
            Err(e) => prop_assert!(!e.to_string().contains(&secret), "{}", e),
        }
    }

    #[test]
    fn answers_never_panic_the_readers(body in answerish()) {
        let fast_or_serde = convert(&body);
        if let Ok(frames) = &fast_or_serde {
            for frame in frames {
                let lens: Vec<usize> = frame.fields.iter().map(|f| f.values.len()).collect();
                prop_assert!(lens.windows(2).all(|w| w[0] == w[1]), "fields of unequal length: {:?}", lens);
            }
        }
        let _ = (parse_vector(&body), parse_vector_ref(&body), parse_matrix(&body), parse_names(&body));
    }
}
