//! `make bench`, fallback part: the rewrite's cost per query over ../shared/vectors (p50/p99 in
//! microseconds), and its share of the TSDB round trip for the same query, measured in the same
//! run against a real VictoriaMetrics on 127.0.0.1. Target (issue 4): p50 <= 50 us for the
//! incident's query. Prints figures; asserts nothing about time.

#[path = "../tests/support/mod.rs"]
mod support;
#[path = "../tests/support/vectors.rs"]
mod vectors;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use pgscope::fallback::{rewrite, Rules};
use pgscope::promql::macros::{interpolate, MacroContext};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn main() {
    let runs = 2000;
    let context = MacroContext { interval: Duration::from_secs(15), range: Duration::from_secs(3600), scrape_interval: Duration::from_secs(15) };
    let rules = Rules::default();
    let cases = vectors::cases(env!("CARGO_MANIFEST_DIR"), "../..");
    let mut all = Vec::new();
    let mut seed = Vec::new();
    for case in &cases {
        let query = interpolate(&case.query, &context);
        let mut times = Vec::with_capacity(runs);
        for _ in 0..runs {
            let start = Instant::now();
            std::hint::black_box(rewrite(std::hint::black_box(&query), &rules));
            times.push(start.elapsed());
        }
        if case.id == "seed" {
            seed = times.clone();
        }
        all.extend(times);
    }
    all.sort();
    seed.sort();
    println!("rewrite cost over {} vectors ({runs} runs each): p50 {:.1} us, p99 {:.1} us", cases.len(), micros(percentile(&all, 0.5)), micros(percentile(&all, 0.99)));
    let seed_p50 = percentile(&seed, 0.5);
    println!(
        "the incident's query (seed): p50 {:.1} us, p99 {:.1} us; target p50 <= 50 us: {}",
        micros(seed_p50),
        micros(percentile(&seed, 0.99)),
        if micros(seed_p50) <= 50.0 { "met" } else { "MISSED" }
    );

    // The same query's round trip to a real TSDB holding 20 statements with names.
    let vm = support::VictoriaMetrics::start();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64;
    let mut lines = String::new();
    for q in 0..20 {
        for i in 0..40i64 {
            let t = now - 5_000 - (39 - i) * 15_000;
            lines.push_str(&format!("pgwatch_pg_stat_statements_calls{{cluster=\"prod\",queryid=\"{q}\"}} {} {t}\n", (q + 1) * i * 10));
            lines.push_str(&format!("pgwatch_query_info{{queryid=\"{q}\",displayname=\"stmt {q}\",query=\"SELECT {q}\"}} 1 {t}\n"));
        }
    }
    vm.import(&lines, 40);
    let seed_case = cases.iter().find(|c| c.id == "seed").expect("seed case");
    let original = interpolate(&seed_case.query, &context);
    let rewritten = rewrite(&original, &rules).query;
    let at = (now - 5_000) as f64 / 1000.0;
    for (label, query) in [("original", &original), ("rewritten", &rewritten)] {
        let mut times = Vec::new();
        for _ in 0..100 {
            let start = Instant::now();
            let result = support::instant(&vm.addr, query, at).expect("query");
            times.push(start.elapsed());
            std::hint::black_box(result);
        }
        times.sort();
        let p50 = percentile(&times, 0.5);
        println!(
            "VictoriaMetrics round trip of the seed query, {label}: p50 {:.0} us; the rewrite is {:.1}% of it",
            micros(p50),
            100.0 * seed_p50.as_secs_f64() / p50.as_secs_f64()
        );
    }
}
