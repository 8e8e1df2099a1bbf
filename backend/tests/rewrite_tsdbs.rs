//! Every rewrite case of ../shared/vectors/rewrite-cases.tsv against both real TSDBs from
//! Debian, VictoriaMetrics and Prometheus, loaded with the same synthetic pgss and info series:
//! data for 40 minutes, info metrics for the first 15 only. At +35 min (info absent) each
//! rewritten query must return the data series, all marked as fallback, where the original
//! returns nothing; at +12 min (info present) it must return exactly the original's series and
//! values, without duplicates or markers.

mod support;
#[path = "support/vectors.rs"]
mod vectors;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use pgscope::fallback::{rewrite, Rules, MARKER_LABEL};
use pgscope::promql::macros::{interpolate, MacroContext};
use support::{instant, Prometheus, VictoriaMetrics};

const STEP_S: i64 = 15;

/// A series in exposition format without its value, and its value at an offset (seconds).
type Series = (String, Box<dyn Fn(i64) -> f64>);

struct Dataset {
    series: Vec<Series>,
    /// Info series exist only up to this offset (seconds).
    info_until: i64,
    /// Everything ends at this offset.
    end: i64,
}

fn dataset() -> Dataset {
    let mut series: Vec<Series> = Vec::new();
    for q in 1..=4 {
        let rate = q as f64 * 1.5;
        series.push((format!("pgwatch_pg_stat_statements_calls{{cluster=\"prod\",instance=\"db1\",dbname=\"app\",queryid=\"{q}\"}}"), Box::new(move |t| rate * t as f64)));
    }
    series.push(("pgwatch_pg_stat_statements_calls{cluster=\"dev\",instance=\"db2\",dbname=\"app\",queryid=\"5\"}".into(), Box::new(|t| 0.7 * t as f64)));
    for q in 1..=3 {
        let (calls, seconds) = (q as f64 * 2.0, q as f64 * 0.01);
        series.push((format!("pg_stat_statements_calls_total{{datname=\"app\",queryid=\"{q}\"}}"), Box::new(move |t| calls * t as f64)));
        series.push((format!("pg_stat_statements_seconds_total{{datname=\"app\",queryid=\"{q}\"}}"), Box::new(move |t| seconds * t as f64)));
    }
    series.push(("kube_pod_container_resource_requests{resource=\"cpu\",namespace=\"ns\",pod=\"p1\"}".into(), Box::new(|_| 0.5)));
    series.push(("pg_settings_max_connections{instance=\"db1\"}".into(), Box::new(|_| 100.0)));
    let info_start = series.len();
    for q in 1..=5 {
        series.push((format!("pgwatch_query_info{{cluster=\"prod\",queryid=\"{q}\",displayname=\"stmt {q}\",query=\"SELECT {q}\"}}"), Box::new(|_| 1.0)));
    }
    for q in 1..=3 {
        series.push((format!("pg_stat_statements_query_id{{datname=\"app\",queryid=\"{q}\",query=\"SELECT {q}\"}}"), Box::new(|_| 1.0)));
        series.push((format!("pgss_query_info{{datname=\"app\",queryid=\"{q}\",displayname=\"stmt {q}\"}}"), Box::new(|_| 1.0)));
    }
    for instance in ["db1", "db2"] {
        series.push((format!("pgwatch_db_info{{instance=\"{instance}\",server_version=\"15.4\"}}"), Box::new(|_| 1.0)));
    }
    series.push(("kube_pod_info{namespace=\"ns\",pod=\"p1\",node=\"n1\"}".into(), Box::new(|_| 1.0)));
    assert!(series[info_start..].iter().all(|(s, _)| s.contains("_info") || s.contains("query_id")));
    Dataset { series, info_until: 15 * 60, end: 40 * 60 }
}

fn is_info(series: &str) -> bool {
    series.contains("_info{") || series.starts_with("pg_stat_statements_query_id")
}

/// Prometheus text format with millisecond timestamps (VictoriaMetrics' import).
fn prometheus_text(data: &Dataset, t0: i64) -> String {
    let mut out = String::new();
    for (series, value) in &data.series {
        let until = if is_info(series) { data.info_until } else { data.end };
        for offset in (0..=until).step_by(STEP_S as usize) {
            out.push_str(&format!("{series} {} {}\n", value(offset), (t0 + offset) * 1000));
        }
    }
    out
}

/// OpenMetrics with second timestamps, one family at a time (promtool's backfill).
fn openmetrics(data: &Dataset, t0: i64) -> String {
    let mut families: Vec<&str> = Vec::new();
    for (series, _) in &data.series {
        let family = series.split('{').next().unwrap();
        if !families.contains(&family) {
            families.push(family);
        }
    }
    let mut out = String::new();
    for family in families {
        out.push_str(&format!("# TYPE {family} gauge\n"));
        for (series, value) in data.series.iter().filter(|(s, _)| s.split('{').next() == Some(family)) {
            let until = if is_info(series) { data.info_until } else { data.end };
            for offset in (0..=until).step_by(STEP_S as usize) {
                out.push_str(&format!("{series} {} {}\n", value(offset), t0 + offset));
            }
        }
    }
    out.push_str("# EOF\n");
    out
}

fn context() -> MacroContext {
    MacroContext { interval: Duration::from_secs(15), range: Duration::from_secs(3600), scrape_interval: Duration::from_secs(15) }
}

fn check_tsdb(name: &str, addr: &str, t0: i64) {
    let (present, absent) = ((t0 + 12 * 60) as f64, (t0 + 35 * 60) as f64);
    let cases = vectors::cases(env!("CARGO_MANIFEST_DIR"), "../..");
    let mut checked = 0;
    for case in cases.iter().filter(|c| c.action == "rewrite") {
        let query = interpolate(&case.query, &context());
        let out = rewrite(&query, &Rules::default());
        assert!(out.changed, "{}", case.id);
        let run = |expr: &str, at: f64| instant(addr, expr, at).unwrap_or_else(|e| panic!("{name} {}: {expr}: {e}", case.id));

        // Info absent: the original is blank, the rewrite shows every data series, marked.
        assert!(run(&query, absent).is_empty(), "{name} {}: the original should be blank without the info metric", case.id);
        let degraded = run(&out.query, absent);
        assert!(!degraded.is_empty(), "{name} {}: the rewrite is blank too: {}", case.id, out.query);
        // An enclosing `by (...)` drops the marker (the notice then rests on count(info)).
        if !query.contains(" by (") {
            assert!(degraded.iter().all(|(labels, _)| labels.contains(MARKER_LABEL)), "{name} {}: {degraded:?}", case.id);
        }

        // Info present: exactly the original's series and values, no duplicates, no markers.
        let original = run(&query, present);
        let rewritten = run(&out.query, present);
        assert!(!original.is_empty(), "{name} {}: no data for the original at +12 min", case.id);
        assert_eq!(
            rewritten.iter().map(|(l, _)| l.as_str()).collect::<Vec<_>>(),
            original.iter().map(|(l, _)| l.as_str()).collect::<Vec<_>>(),
            "{name} {}: series differ\n{}",
            case.id,
            out.query
        );
        for ((labels, a), (_, b)) in original.iter().zip(&rewritten) {
            assert!((a - b).abs() <= 1e-9 * a.abs().max(1.0), "{name} {} {labels}: {a} vs {b}", case.id);
        }
        checked += 1;
    }
    assert!(checked >= 14, "{name}: only {checked} rewrite cases");
    eprintln!("{name}: {checked} rewrite cases checked with the info metric present and absent");
}

#[test]
fn rewrites_hold_on_victoriametrics_and_prometheus() {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
    let t0 = (now - 3 * 3600) / 60 * 60;
    let data = dataset();

    let vm = VictoriaMetrics::start();
    vm.import(&prometheus_text(&data, t0), data.series.len());
    check_tsdb("VictoriaMetrics", &vm.addr, t0);
    drop(vm);

    let prometheus = Prometheus::start_with(&openmetrics(&data, t0));
    check_tsdb("Prometheus", &prometheus.addr, t0);
}
