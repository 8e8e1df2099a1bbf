//! Every case of ../shared/vectors/rewrite-cases.tsv, by action and reason, through the same
//! macro interpolation the data path uses.

#[path = "support/vectors.rs"]
mod vectors;

use std::time::Duration;

use pgscope::fallback::{rewrite, Reason, Rules};
use pgscope::promql::macros::{interpolate, MacroContext};

fn context() -> MacroContext {
    MacroContext { interval: Duration::from_secs(15), range: Duration::from_secs(3600), scrape_interval: Duration::from_secs(15) }
}

/// The reason each case must be reported with (None: no note at all).
fn expected_reason(id: &str) -> Option<Reason> {
    Some(match id {
        "sum-by-name" => Reason::WouldCollapse,
        "info-filters" => Reason::InfoFilters,
        "already-ignoring" => Reason::AlreadyHasFallback,
        "already-plain-or" => Reason::PlainOrDuplicates,
        "and-filter" | "bare-group-left" => Reason::Filter,
        "plus" => Reason::ChangesValues,
        "divide" => Reason::DivisionDisabled,
        "not-info" | "no-join" => return None,
        id if id.starts_with("metricsql-") || id == "garbage" => Reason::NotAnalysed,
        _ => Reason::Rewritten,
    })
}

#[test]
fn every_case_by_action_and_reason() {
    let cases = vectors::cases(env!("CARGO_MANIFEST_DIR"), "../..");
    assert!(cases.len() >= 28, "{} cases", cases.len());
    for case in &cases {
        let query = interpolate(&case.query, &context());
        let out = rewrite(&query, &Rules::default());
        let reasons: Vec<Reason> = out.notes.iter().map(|n| n.reason).collect();
        match case.action.as_str() {
            "rewrite" => {
                assert!(out.changed, "{}: not rewritten ({}); notes {:?}", case.id, case.why, out.notes);
                assert!(out.query.contains("or ignoring ("), "{}: {}", case.id, out.query);
                promql_parser::parser::parse(&out.query).unwrap_or_else(|e| panic!("{}: output does not parse: {e}", case.id));
                let again = rewrite(&out.query, &Rules::default());
                assert!(!again.changed, "{}: second pass changed {}", case.id, again.query);
            }
            "unchanged" | "passthrough" => {
                assert!(!out.changed, "{}: rewritten to {}", case.id, out.query);
                assert_eq!(out.query, query, "{}: must be sent exactly as written", case.id);
            }
            other => panic!("{}: unknown action {other}", case.id),
        }
        match expected_reason(&case.id) {
            Some(reason) => assert!(reasons.contains(&reason), "{} ({}): expected {reason:?}, notes {:?}", case.id, case.why, out.notes),
            None => assert!(reasons.is_empty(), "{}: unexpected notes {:?}", case.id, out.notes),
        }
        for note in &out.notes {
            assert!(!note.text.is_empty() && !note.text.contains('\n'), "{}: {note:?}", case.id);
        }
    }
}

#[test]
fn shapes_the_notes_call_for() {
    let cases = vectors::cases(env!("CARGO_MANIFEST_DIR"), "../..");
    let out = |id: &str| {
        let case = cases.iter().find(|c| c.id == id).unwrap();
        rewrite(&interpolate(&case.query, &context()), &Rules::default())
    };
    // topk stays outside the `or`.
    assert!(out("seed-n").query.starts_with("topk(10, (irate("), "{}", out("seed-n").query);
    assert!(out("inside-topk").query.starts_with("topk(10, ((irate("), "{}", out("inside-topk").query);
    // (a / b) * info: the fallback carries the whole ratio.
    let per_call = out("per-call").query;
    assert!(per_call.contains("label_replace(irate(pg_stat_statements_seconds_total[5m]) / irate(pg_stat_statements_calls_total[5m]),"), "{per_call}");
    // Both joins, and the outer fallback appends its metric to the marker.
    let two = out("two-joins");
    assert_eq!(two.fallbacks.len(), 2);
    assert!(two.query.contains("\"$1,pgwatch_db_info\""), "{}", two.query);
    // Offsets and @ kept on both sides.
    assert!(out("offset").query.matches("offset 10m").count() >= 3, "{}", out("offset").query);
    assert!(out("at-end").query.matches("@ end()").count() >= 3, "{}", out("at-end").query);
    // postgres_exporter's info metric is an info metric by default.
    assert_eq!(out("scaled").fallbacks[0].info_metric, "pg_stat_statements_query_id");
    assert_eq!(out("scaled").fallbacks[0].join_keys, ["datname", "queryid"]);
    // group_right: the data side is on the right.
    assert!(out("group-right").query.contains("label_replace(irate(pgwatch_pg_stat_statements_calls[1m])"), "{}", out("group-right").query);
}

#[test]
fn division_is_rewritten_when_enabled() {
    let cases = vectors::cases(env!("CARGO_MANIFEST_DIR"), "../..");
    let divide = cases.iter().find(|c| c.id == "divide").unwrap();
    let out = rewrite(&divide.query, &Rules { allow_division: true, ..Rules::default() });
    assert!(out.changed, "{:?}", out.notes);
}
