//! pgss analysis: schema detection against each exporter's metric names (backend/tests/data/pgss:
//! one list recorded from the e2e stack, the others hand-written from the exporters' naming and
//! marked so), and the maths of the top-queries table: units, per second, per call, % of total,
//! hit ratio, counter resets, measures a schema lacks, ranking and search.

use std::path::Path;

use pgscope::frame::{Labels, Values};
use pgscope::pgss::{self, Measure, NameSource, Names, Order};
use pgscope::pgss::table_frame;

fn names(file: &str) -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/pgss").join(file);
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    serde_json::from_value(json["names"].clone()).unwrap()
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

#[test]
fn each_exporter_is_recognised_with_its_measures() {
    let custom = pgss::detect(&names("postgres-exporter-custom-queries.json"), None).unwrap();
    assert_eq!(custom.def.id, "postgres_exporter");
    assert_eq!(custom.present.len(), 15);
    // Recorded before the stack exported pg_stat_kcache: those four are absent, not zero.
    assert_eq!(custom.absent, [Measure::CpuUserTime, Measure::CpuSystemTime, Measure::DiskRead, Measure::DiskWritten]);
    assert_eq!(custom.describe(), "postgres_exporter (custom queries) · 15 of 19 measures");

    let collector = pgss::detect(&names("postgres-exporter-collector.json"), None).unwrap();
    assert_eq!(collector.def.id, "postgres_exporter");
    assert_eq!(collector.describe(), "postgres_exporter >= 0.13 (stat_statements collector) · 5 of 19 measures");
    assert!(collector.absent.contains(&Measure::PlanTime) && collector.absent.contains(&Measure::SharedHit));

    let pgwatch = pgss::detect(&names("pgwatch-v3.json"), None).unwrap();
    assert_eq!(pgwatch.def.id, "pgwatch");
    assert_eq!(pgwatch.absent[0], Measure::WalRecords, "pgwatch v3 has no wal_records column");
    assert_eq!(pgwatch.absent[1..], [Measure::CpuUserTime, Measure::CpuSystemTime, Measure::DiskRead, Measure::DiskWritten], "nor pg_stat_kcache");
    assert_eq!(pgwatch.def.database_label, "dbname");
    assert_eq!(pgwatch.def.text_label, Some("query"));

    let postgres_ai = pgss::detect(&names("postgres-ai.json"), None).unwrap();
    assert_eq!(postgres_ai.def.id, "postgres_ai");
    assert_eq!(postgres_ai.present.len(), 15);
}

#[test]
fn units_are_normalised_to_seconds_and_bytes() {
    let scale = |file: &str, m: Measure| pgss::detect(&names(file), None).unwrap().source(m).unwrap().scale;
    assert_eq!(scale("postgres-exporter-custom-queries.json", Measure::ExecTime), 1.0, "already seconds");
    assert_eq!(scale("pgwatch-v3.json", Measure::ExecTime), 0.001, "milliseconds");
    assert_eq!(scale("postgres-ai.json", Measure::ExecTime), 0.001, "milliseconds");
    assert_eq!(scale("postgres-exporter-custom-queries.json", Measure::SharedRead), 8192.0, "blocks");
    assert_eq!(scale("pgwatch-v3.json", Measure::TempWritten), 8192.0, "blocks");
    assert_eq!(scale("postgres-ai.json", Measure::SharedRead), 1.0, "already bytes");
}

#[test]
fn detection_fails_clearly_and_can_be_overridden() {
    let err = pgss::detect(&["up".to_string(), "node_load1".to_string()], None).unwrap_err();
    assert!(err.contains("no pg_stat_statements metrics") && err.contains("pg_stat_statements_calls_total"), "{err}");
    // Both postgres_exporter and pgwatch names present: the settings choose.
    let mut both = names("postgres-exporter-collector.json");
    both.extend(names("pgwatch-v3.json"));
    assert_eq!(pgss::detect(&both, None).unwrap().def.id, "pgwatch", "auto: the one with the most measures");
    let chosen = pgss::detect(&both, Some("postgres_exporter")).unwrap();
    assert!(chosen.overridden && chosen.describe().ends_with("set in the settings"));
    assert!(pgss::detect(&both, Some("postgres_ai")).unwrap_err().contains("has no series"));
    assert!(pgss::detect(&both, Some("mysql")).unwrap_err().contains("not one of auto"));
}

/// Increases over a 100 s range, as `sum by (datname, queryid, user) (increase(...))` answers.
fn answers() -> Vec<(Measure, Vec<(Labels, f64)>)> {
    let row = |db: &str, id: &str, user: &str, v: f64| (labels(&[("datname", db), ("queryid", id), ("user", user)]), v);
    vec![
        (Measure::Calls, vec![row("app", "1", "alice", 100.0), row("app", "1", "bob", 100.0), row("app", "2", "alice", 50.0), row("shop", "1", "alice", 0.0)]),
        // Seconds: statement 1 took 3 s in all, statement 2 1 s; a counter reset artefact is < 0.
        (Measure::ExecTime, vec![row("app", "1", "alice", 2.0), row("app", "1", "bob", 1.0), row("app", "2", "alice", 1.0), row("shop", "1", "alice", -5.0)]),
        // Blocks: scaled to bytes.
        (Measure::SharedHit, vec![row("app", "1", "alice", 90.0), row("app", "2", "alice", 0.0)]),
        (Measure::SharedRead, vec![row("app", "1", "alice", 10.0), row("app", "2", "alice", 0.0)]),
    ]
}

#[test]
fn the_maths_per_second_per_call_share_and_hit_ratio() {
    let schema = pgss::detect(&names("postgres-exporter-custom-queries.json"), None).unwrap();
    let totals = pgss::totals(&schema, &answers());
    assert_eq!(totals.len(), 3, "joined by (database, queryid), users folded");
    let statements = pgss::analyse(totals, 100.0, &Names::default(), &Names::default());
    let one = statements.iter().find(|s| s.database == "app" && s.queryid == "1").unwrap();
    assert_eq!(one.users, ["alice", "bob"]);
    assert_eq!(one.per_second[&Measure::Calls], 2.0);
    assert_eq!(one.per_second[&Measure::ExecTime], 0.03);
    assert_eq!(one.per_call[&Measure::ExecTime], 0.015);
    assert_eq!(one.per_second[&Measure::SharedRead], 10.0 * 8192.0 / 100.0);
    assert_eq!(one.hit_ratio, Some(0.9));
    assert_eq!(one.share_of_time, Some(0.75), "3 of the 4 s");
    let two = statements.iter().find(|s| s.queryid == "2").unwrap();
    assert_eq!(two.hit_ratio, None, "nothing touched: no ratio, not 0 or 100 %");
    assert_eq!(two.share_of_time, Some(0.25));
    // A counter reset (negative increase) counts as 0, and 0 calls give no per-call values.
    let shop = statements.iter().find(|s| s.database == "shop").unwrap();
    assert_eq!(shop.per_second[&Measure::ExecTime], 0.0);
    assert!(shop.per_call.is_empty());
    // Measures without answers are absent, not 0.
    assert!(!one.per_second.contains_key(&Measure::TempWritten));
}

#[test]
fn missing_measures_have_no_column_and_names_fall_back() {
    let schema = pgss::detect(&names("postgres-exporter-collector.json"), None).unwrap();
    let answers: Vec<_> = answers().into_iter().filter(|(m, _)| schema.has(*m)).collect();
    let mut names = Names::default();
    names.insert("app", "1", "hot path".into(), "SELECT hot".into());
    let statements = pgss::analyse(pgss::totals(&schema, &answers), 100.0, &names, &Names::default());
    let frame = table_frame(&schema, &statements);
    let columns: Vec<&str> = frame.fields.iter().map(|f| f.name.as_str()).collect();
    assert!(columns.contains(&"exec_time_per_call") && columns.contains(&"block_read_time_per_s"));
    assert!(!columns.iter().any(|c| c.starts_with("shared_") || c.starts_with("wal_") || *c == "hit_ratio"), "{columns:?}");
    let by_id = |id: &str| statements.iter().find(|s| s.queryid == id && s.database == "app").unwrap();
    assert_eq!((by_id("1").name.as_str(), by_id("1").name_source), ("hot path", NameSource::Info));
    assert_eq!((by_id("2").name.as_str(), by_id("2").name_source), ("queryid 2", NameSource::Queryid));
    let Values::String(sources) = &frame.fields[5].values else { panic!("name_source is text") };
    assert!(sources.contains(&"queryid".to_string()));
    frame.to_arrow().expect("the table encodes");
}

#[test]
fn ranking_orders_searches_and_limits() {
    let schema = pgss::detect(&names("postgres-exporter-custom-queries.json"), None).unwrap();
    let mut names = Names::default();
    names.insert("app", "2", "nightly report".into(), "SELECT report".into());
    let statements = pgss::analyse(pgss::totals(&schema, &answers()), 100.0, &names, &Names::default());
    let ids = |v: &[pgss::Statement]| v.iter().map(|s| format!("{}/{}", s.database, s.queryid)).collect::<Vec<_>>();
    assert_eq!(ids(&pgss::rank(statements.clone(), Order::parse("exec_time").unwrap(), "", 10)), ["app/1", "app/2", "shop/1"]);
    assert_eq!(ids(&pgss::rank(statements.clone(), Order::parse("calls").unwrap(), "", 1)), ["app/1"]);
    assert_eq!(ids(&pgss::rank(statements.clone(), Order::parse("hit_ratio").unwrap(), "", 10))[0], "app/1", "the only ratio first, then the rest");
    assert_eq!(ids(&pgss::rank(statements.clone(), Order::parse("exec_time").unwrap(), "REPORT", 10)), ["app/2"], "by name, any case");
    assert_eq!(ids(&pgss::rank(statements.clone(), Order::parse("exec_time").unwrap(), "bob", 10)), ["app/1"], "by user");
    assert_eq!(ids(&pgss::rank(statements, Order::parse("exec_time").unwrap(), "shop", 10)), ["shop/1"], "by database");
}

#[test]
fn pgwatch_texts_come_from_the_query_label() {
    let schema = pgss::detect(&names("pgwatch-v3.json"), None).unwrap();
    let text = "SELECT *\n  FROM orders WHERE id = $1";
    let answers = vec![(Measure::Calls, vec![(labels(&[("dbname", "shop"), ("queryid", "7"), ("query", text)]), 10.0)])];
    let statements = pgss::analyse(pgss::totals(&schema, &answers), 10.0, &Names::default(), &Names::default());
    assert_eq!(statements[0].name, "SELECT * FROM orders WHERE id = $1");
    assert_eq!(statements[0].text, text);
    assert_eq!(statements[0].name_source, NameSource::Label);
}
