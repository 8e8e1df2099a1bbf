//! The coverage notice when the exporter's statement limit is below the number of statements
//! (issue 21), with every part real: a PostgreSQL 15 with pg_stat_statements (and pg_stat_kcache
//! and pg_wait_sampling, as in the e2e stack) running 60 statements of distinct shapes and costs;
//! Debian's postgres_exporter 0.11.1 reading e2e/stack/queries.yaml cut as postgres_exporter's
//! own collector cuts it (`ORDER BY seconds_total DESC LIMIT 20`, what `stack.sh` puts there
//! with PGSS_EXPORT_LIMIT=20); two of its /metrics pages, with statements run between them,
//! imported into a real VictoriaMetrics; `pgssTopQueries` through the datasource.

mod support;

use std::collections::{BTreeSet, HashMap};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use pgscope::datasource::{Datasource, QueryOutcome};
use pgscope::frame::{Frame, Values};
use pgscope::pluginv2;
use support::Postgres;

/// Statements the exporter exports, and statements run.
const LIMIT: usize = 20;
const STATEMENTS: usize = 60;

/// Debian's postgres_exporter on 127.0.0.1 with a queries file, killed by PID when dropped.
struct Exporter {
    child: Child,
    addr: String,
    _dir: tempfile::TempDir,
}

impl Exporter {
    fn start(pg_port: u16, queries: &str) -> Exporter {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("queries.yaml");
        std::fs::write(&path, queries).unwrap();
        let addr = format!("127.0.0.1:{}", support::free_port());
        let child = Command::new("prometheus-postgres-exporter")
            .arg(format!("--web.listen-address={addr}"))
            .arg(format!("--extend.query-path={}", path.display()))
            .arg("--disable-settings-metrics")
            .env("DATA_SOURCE_NAME", format!("postgresql://postgres@127.0.0.1:{pg_port}/postgres?sslmode=disable"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("prometheus-postgres-exporter is not installed (scripts/setup.sh installs it)");
        let exporter = Exporter { child, addr, _dir: dir };
        support::wait_for("the exporter's pgss metrics", Duration::from_secs(30), || exporter.page().contains("\npg_stat_statements_calls_total{"));
        exporter
    }

    /// One scrape of its /metrics page.
    fn page(&self) -> String {
        support::http("GET", &self.addr, "/metrics", b"").map(|(_, body)| body).unwrap_or_default()
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every statement once: statement k (a shape of its own: k columns) sleeps k ms, so that the
/// exporter's cut by execution time is the same at every scrape.
fn run_statements(pg: &Postgres) {
    let sql: String = (1..=STATEMENTS)
        .map(|k| format!("SELECT pg_sleep({}), {};", k as f64 / 1000.0, (1..=k).map(|c| format!("1 AS c{c}")).collect::<Vec<_>>().join(", ")))
        .collect();
    pg.psql("app", &sql);
}

/// A /metrics page's pgss samples (pg_stat_statements*, pg_stat_kcache*, pg_wait_sampling*) as
/// `(series, value)`, labelled as a scrape labels them.
fn samples(page: &str, instance: &str) -> Vec<(String, f64)> {
    page.lines()
        .filter(|l| ["pg_stat_statements", "pg_stat_kcache", "pg_wait_sampling"].iter().any(|family| l.starts_with(family)))
        .filter_map(|line| {
            // The value follows the last space (label values may hold spaces; the page has no timestamps).
            let (series, value) = line.rsplit_once(' ')?;
            let scrape = format!("job=\"postgres\",instance=\"{instance}\"");
            let series = match series.split_once('{') {
                Some((name, labels)) => format!("{name}{{{scrape},{labels}"),
                None => format!("{series}{{{scrape}}}"),
            };
            Some((series, value.parse().ok().filter(|v: &f64| v.is_finite())?))
        })
        .collect()
}

/// The value of the one series of `name` whose labels hold `label` (all of them with "").
fn value(samples: &[(String, f64)], name: &str, label: &str) -> Option<f64> {
    samples.iter().find(|(s, _)| s.starts_with(&format!("{name}{{")) && s.contains(label)).map(|(_, v)| *v)
}

fn table(url: &str, from_s: i64, to_s: i64) -> Frame {
    let request = pluginv2::QueryDataRequest {
        plugin_context: Some(support::plugin_context(support::instance("pgss", url, r#"{"timeInterval":"20s"}"#))),
        headers: HashMap::new(),
        queries: vec![pluginv2::DataQuery {
            query_type: "pgssTopQueries".into(),
            ..support::data_query("A", &format!(r#"{{"orderBy":"exec_time","limit":{LIMIT}}}"#), from_s * 1000, to_s * 1000)
        }],
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    match runtime.block_on(Datasource::new().query_data(&request)).remove(0).1 {
        QueryOutcome::Frames(mut frames) => frames.remove(0),
        QueryOutcome::Error { status, message, .. } => panic!("{status}: {message}"),
    }
}

#[test]
fn an_exporter_limit_below_the_statements_held_is_said_with_the_share_of_time_shown() {
    let pg = Postgres::start("shared_preload_libraries = 'pg_stat_statements,pg_stat_kcache,pg_wait_sampling'\npg_stat_statements.max = 1000");
    pg.psql("postgres", "CREATE EXTENSION pg_stat_statements; CREATE EXTENSION pg_stat_kcache; CREATE EXTENSION pg_wait_sampling");
    pg.psql("postgres", "CREATE DATABASE app");
    // Twice before the exporter starts: far ahead of the exporter's own statements in time.
    run_statements(&pg);
    run_statements(&pg);
    let queries = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../e2e/stack/queries.yaml")).unwrap();
    let marker = queries.lines().find(|l| l.trim_start().starts_with("-- pgscope:limit")).expect("queries.yaml marks where the limit goes");
    let limited = queries.replace(marker, &format!("    ORDER BY seconds_total DESC LIMIT {LIMIT}"));
    let exporter = Exporter::start(pg.port, &limited);

    // Two scrapes 20 s apart (as timestamps), every statement run once more between them.
    let first = samples(&exporter.page(), &exporter.addr);
    run_statements(&pg);
    let second = samples(&exporter.page(), &exporter.addr);
    let exported = second.iter().filter(|(s, _)| s.starts_with("pg_stat_statements_calls_total{")).count();
    assert_eq!(exported, LIMIT, "the exporter's cut");
    let held = value(&second, "pg_stat_statements_info_statements", "").expect("pg_stat_statements_info in the page");
    assert!(held >= STATEMENTS as f64, "PostgreSQL holds our {STATEMENTS} statements and the exporter's: {held}");

    let vm = support::VictoriaMetrics::start();
    let to = chrono::Utc::now().timestamp() - 30;
    let from = to - 20;
    let mut lines = String::new();
    let mut series = BTreeSet::new();
    for (page, at) in [(&first, from), (&second, to)] {
        for (s, v) in page.iter() {
            lines.push_str(&format!("{s} {v} {}\n", at * 1000));
            series.insert(s.clone());
        }
    }
    vm.import(&lines, series.len());

    // Over the second page's 20 s (VictoriaMetrics' increase takes the first as its base), as
    // many rows as the exporter exports: all ranked by their execution time. (A longer table is
    // filled up with statements known only from series the cut does not apply to, here
    // pg_stat_kcache's and pg_wait_sampling's, which have no execution time.)
    let table = table(&vm.url(), from + 1, to);
    let queryids = match &table.fields.iter().find(|f| f.name == "queryid").unwrap().values {
        Values::String(v) => v.clone(),
        other => panic!("queryid: {other:?}"),
    };
    assert_eq!(queryids.len(), LIMIT, "{queryids:?}");
    let increase = |name: &str, label: &str| value(&second, name, label).unwrap() - value(&first, name, label).unwrap_or(0.0);
    let shown: f64 = queryids.iter().map(|q| increase("pg_stat_statements_seconds_total", &format!("queryid=\"{q}\""))).sum();
    let recorded = increase("pg_stat_statements_info_exec_seconds_total", "");
    let share = shown / recorded * 100.0;
    assert!(share < 90.0, "the {LIMIT} slowest of {STATEMENTS} statements leave time out: {share:.1} %");
    let notices: Vec<String> = table.meta.as_ref().map(|m| m.notices.iter().map(|n| n.text.clone()).collect()).unwrap_or_default();
    let cover = format!("The {} statements shown cover {share:.1} % of the execution time PostgreSQL recorded in this range.", queryids.len());
    // Exported: the calls series the TSDB holds at the end of the range, those of the first page
    // that the second no longer has included (no stale markers in an import): the exporter's own
    // statements add up between scrapes and move the cut now and then.
    let calls_series: BTreeSet<&String> = first.iter().chain(&second).map(|(s, _)| s).filter(|s| s.starts_with("pg_stat_statements_calls_total{")).collect();
    assert!(calls_series.len() < held as usize, "{} of {held}", calls_series.len());
    let limit = format!("The exporter exports {} of the {} statements pg_stat_statements holds: raise its statement limit.", calls_series.len(), held.round());
    let notice = notices.iter().find(|n| n.contains("raise its statement limit")).unwrap_or_else(|| panic!("no limit notice in {notices:?}"));
    assert!(notice.contains(&cover) && notice.contains(&limit), "{notice:?} should say {cover:?} and {limit:?}");
    eprintln!("coverage notice: {notice}");
}
