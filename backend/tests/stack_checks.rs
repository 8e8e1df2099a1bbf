//! Stack health checks against recorded TSDB answers: every file in tests/data/stack/ was
//! recorded from the e2e stack with `pgscope stack --tsdb URL --record FILE` in the state its
//! name says (VictoriaMetrics 1.79.5 or Prometheus 2.42 from Debian, a real Patroni 3.0.2 on
//! etcd). Replaying one runs the same requests (`stack::gather`) and checks (`stack::evaluate`)
//! as Save & test and the `stackHealth` query. The cases Patroni cannot be driven into on one
//! node (two primaries, a timeline change) and Citus clusters (Citus is not installable here) use
//! answers written by hand, marked as such.
//!
//! Issue 19 changed which requests read the pgss and info series (each read costs ~1 s per
//! 100,000 statements): `count(pgss_query_info)` became `count by (job) (pgss_query_info)` and
//! `count(pg_stat_statements_calls_total)` the coverage check's `count by (job, instance)`. The
//! recordings were re-keyed, not re-recorded: the same values, labelled with the one job that
//! served the metric in the recorded window (its `range count by (job)` answer) and, for the
//! calls metric, that job's one target's instance (the recorded targets API); the sums equal the
//! recorded `count(...)` answers, which were then dropped. Later the calls metric's
//! `count by (job, instance)` and `time() - max(timestamp(...))` became one
//! `count_values by (job, instance) ("timestamp", timestamp(...))`: re-keyed the same way, each
//! target's count labelled with the recorded time minus the recorded age. And the two metric
//! name lookups with a `match[]` (info and pgss names) became one without: its answer is the
//! union of the two recorded ones (every name the checks look for).

use std::collections::BTreeMap;
use std::time::Duration;

mod support;
#[path = "support/scrape_targets.rs"]
mod scrape_targets;

use pgscope::frame::Values;
use pgscope::prom::client::PromClient;
use pgscope::settings::Settings;
use pgscope::stack::{self, Ask, Check, Detail, Recording, Source, Span, StackRules, Status};
use pgscope::telemetry::Telemetry;
use scrape_targets::{ScrapeTargets, TargetsApi};
use serde_json::json;

fn rules() -> StackRules {
    StackRules {
        required_jobs: ["postgres", "query-info", "node", "patroni"].map(String::from).to_vec(),
        scrape_interval: Duration::from_secs(5),
        ..Default::default()
    }
}

fn replay(recording: &Recording, rules: &StackRules) -> (stack::Observations, Vec<Check>) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    let observations = runtime.block_on(stack::gather(recording, rules, recording.at, recording.start));
    let checks = stack::evaluate(&observations, rules);
    (observations, checks)
}

fn recorded(name: &str) -> Recording {
    let path = format!("{}/tests/data/stack/{name}.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn find<'a>(checks: &'a [Check], component: &str, name_starts: &str) -> &'a Check {
    checks
        .iter()
        .find(|c| c.component == component && c.name.starts_with(name_starts))
        .unwrap_or_else(|| panic!("no {component} check {name_starts:?} in {checks:#?}"))
}

fn statuses(checks: &[Check]) -> BTreeMap<String, Status> {
    checks.iter().map(|c| (format!("{} / {}", c.component, c.name), c.status)).collect()
}

#[test]
fn a_healthy_stack_has_only_its_dead_targets_failing() {
    // Recorded without a Grafana on port 3000: its plugin-metrics target is down too.
    let (_, checks) = replay(&recorded("vm-healthy"), &rules());
    let failing: Vec<&str> = checks.iter().filter(|c| c.status == Status::Failing).map(|c| c.name.as_str()).collect();
    assert_eq!(failing, ["grafana-pgscope 127.0.0.1:3000", "self-cadvisor 127.0.0.1:19180"], "{:#?}", statuses(&checks));
    let cadvisor = find(&checks, "Scrape targets", "self-cadvisor");
    assert!(cadvisor.reason.contains("connection refused"), "{}", cadvisor.reason);
    assert_eq!(checks[1].name, cadvisor.name, "worst first");
    for (component, name) in [
        ("Scrape targets", "postgres"),
        ("Scrape targets", "query-info"),
        ("Scrape targets", "node"),
        ("Scrape targets", "patroni"),
        ("Query names", "pgss_query_info"),
        ("pgss data", "pg_stat_statements_calls_total"),
        ("PostgreSQL", "postgres"),
        ("Patroni", "demo"),
    ] {
        assert_eq!(find(&checks, component, name).status, Status::Ok, "{component} {name}: {:#?}", find(&checks, component, name));
    }
    assert!(find(&checks, "Scrape targets", "postgres").reason.contains("samples, scraped in"));
    assert!(find(&checks, "Patroni", "demo").reason.contains("primary"));
    let summary = stack::summary_line(&checks);
    assert!(summary.starts_with("5 of 7 targets up · grafana-pgscope down > ") && summary.contains("· self-cadvisor down > "), "{summary}");
}

#[test]
fn pgss_evictions_and_an_exporter_limit_are_reported_from_a_real_stack() {
    // Recorded from e2e/stack/stack.sh started with PGSS_MAX=100 PGSS_EXPORT_LIMIT=20, after
    // `stack.sh many-statements 300`: `pgscope stack --window 10m --record`.
    let ten_minutes = StackRules { window: Duration::from_secs(600), ..rules() };
    let (_, checks) = replay(&recorded("vm-pgss-evicting-export-limit"), &ten_minutes);
    let coverage = find(&checks, "pgss coverage", "postgres ");
    assert_eq!(coverage.status, Status::Warning, "{coverage:#?}");
    assert_eq!(coverage.summary, "postgres: pgss evicting");
    assert!(coverage.reason.contains("entries 29 times in the last 10 min (pg_stat_statements_info.dealloc; pg_stat_statements.max = 100)"), "{}", coverage.reason);
    assert!(coverage.reason.contains("exports 20 statements but PostgreSQL holds 95"), "{}", coverage.reason);
    let (_, healthy) = replay(&recorded("vm-healthy"), &rules());
    assert!(!healthy.iter().any(|c| c.component == "pgss coverage"), "a stack without pg_stat_statements_info gets no coverage check");
}

#[test]
fn a_dead_info_exporter_means_names_unavailable() {
    let (_, checks) = replay(&recorded("vm-info-down"), &rules());
    let target = find(&checks, "Scrape targets", "query-info");
    assert_eq!(target.status, Status::Failing);
    assert!(target.summary.starts_with("query-info down ") && target.summary.ends_with(": names unavailable"), "{}", target.summary);
    assert!(target.reason.contains("pgss_query_info is gone"), "{}", target.reason);
    let names = find(&checks, "Query names", "pgss_query_info");
    assert_eq!(names.status, Status::Failing);
    assert_eq!(names.since, target.since, "the names went when the target did");
    let summary = stack::summary_line(&checks);
    assert_eq!(summary.matches("names unavailable").count(), 1, "said once: {summary}");
    assert!(summary.contains("query-info down"), "{summary}");
}

#[test]
fn a_collapsed_scrape_and_a_dead_node_exporter_are_reported_with_figures() {
    let (_, checks) = replay(&recorded("vm-collapse-node-down"), &rules());
    let info = find(&checks, "Scrape targets", "query-info");
    assert_eq!(info.status, Status::Failing);
    assert!(info.reason.contains("returned 2 samples") && info.reason.contains("maximum of 73"), "{}", info.reason);
    assert!(!info.reason.contains("churn") && !info.reason.contains("new series"), "a collapse is not churn: {}", info.reason);
    let names = find(&checks, "Query names", "pgss_query_info");
    assert_eq!(names.status, Status::Warning);
    assert!(names.reason.contains("names 2 of the 55 statements"), "{}", names.reason);
    let node = find(&checks, "Scrape targets", "node");
    assert_eq!(node.status, Status::Failing);
    assert!(node.summary.starts_with("node down"), "{}", node.summary);
    assert!(stack::summary_line(&checks).ends_with("· 1 more problem"), "at most four problems named");
}

#[test]
fn patroni_paused_with_a_restart_pending() {
    let (_, checks) = replay(&recorded("vm-patroni-paused-pending-restart"), &rules());
    let demo = find(&checks, "Patroni", "demo");
    assert_eq!(demo.status, Status::Warning);
    assert!(demo.reason.contains("maintenance mode (paused)"), "{}", demo.reason);
    assert!(demo.reason.contains("waiting for a restart"), "{}", demo.reason);
}

#[test]
fn patroni_without_its_dcs_loses_the_primary() {
    let (_, checks) = replay(&recorded("vm-patroni-dcs-down"), &rules());
    let demo = find(&checks, "Patroni", "demo");
    assert_eq!(demo.status, Status::Failing, "{demo:#?}");
    assert!(demo.reason.contains("last reached the DCS"), "{}", demo.reason);
    assert!(demo.reason.contains("is primary"), "no primary: {}", demo.reason);
}

#[test]
fn prometheus_targets_api_and_metrics_give_the_same_checks() {
    let (_, checks) = replay(&recorded("prometheus-no-primary"), &rules());
    let cadvisor = find(&checks, "Scrape targets", "self-cadvisor");
    assert_eq!(cadvisor.status, Status::Failing);
    assert!(cadvisor.reason.contains("connection refused"), "{}", cadvisor.reason);
    for (component, name) in [("Scrape targets", "postgres"), ("Query names", "pgss_query_info"), ("pgss data", "pg_stat_statements_calls_total")] {
        assert_eq!(find(&checks, component, name).status, Status::Ok, "{component} {name}");
    }
    // Recorded while etcd was stopped: Patroni had demoted its primary.
    let demo = find(&checks, "Patroni", "demo");
    assert_eq!(demo.status, Status::Failing);
    assert!(demo.reason.contains("is primary"), "{}", demo.reason);
    // Prometheus has no scrape_timeout_seconds: the timeout comes from its targets API.
    assert!(find(&checks, "Scrape targets", "postgres").reason.contains("(timeout 4.0 s)"));
}

#[test]
fn a_required_job_without_targets_is_failing() {
    let rules = StackRules { required_jobs: vec!["pgwatch".into()], ..rules() };
    let (_, checks) = replay(&recorded("vm-healthy"), &rules);
    let pgwatch = find(&checks, "Scrape targets", "pgwatch (required)");
    assert_eq!(pgwatch.status, Status::Failing);
    assert!(pgwatch.reason.contains("no target of it"), "{}", pgwatch.reason);
}

#[test]
fn no_answers_at_all_make_unknowns_not_failures() {
    let recording = Recording { at: 1_800_000_000.0, start: 1_799_996_400.0, answers: BTreeMap::new() };
    let (_, checks) = replay(&recording, &StackRules::default());
    assert!(checks.iter().all(|c| c.status <= Status::Warning), "{checks:#?}");
    assert!(checks.iter().any(|c| c.status == Status::Unknown && c.component == "Scrape targets"));
}

// ---- Hand-written answers (not recorded) for states a one-node stack cannot reach. ----

fn vector(samples: &[(serde_json::Value, f64)], at: f64) -> serde_json::Value {
    let result: Vec<_> = samples.iter().map(|(metric, v)| json!({"metric": metric, "value": [at, v.to_string()]})).collect();
    json!({"status": "success", "data": {"resultType": "vector", "result": result}})
}

fn matrix(series: &[(serde_json::Value, Vec<(f64, f64)>)]) -> serde_json::Value {
    let result: Vec<_> = series
        .iter()
        .map(|(metric, points)| json!({"metric": metric, "values": points.iter().map(|(t, v)| json!([t, v.to_string()])).collect::<Vec<_>>()}))
        .collect();
    json!({"status": "success", "data": {"resultType": "matrix", "result": result}})
}

const AT: f64 = 1_800_000_000.0;

fn recording(answers: Vec<(String, serde_json::Value)>) -> Recording {
    Recording { at: AT, start: AT - 3600.0, answers: answers.into_iter().collect() }
}

fn patroni_members(members: &[(&str, f64, f64)]) -> serde_json::Value {
    let mut samples = Vec::new();
    for (instance, primary, timeline) in members {
        samples.push((json!({"__name__": "patroni_primary", "scope": "main", "instance": instance, "job": "patroni"}), *primary));
        samples.push((json!({"__name__": "patroni_postgres_timeline", "scope": "main", "instance": instance, "job": "patroni"}), *timeline));
        samples.push((json!({"__name__": "patroni_dcs_last_seen", "scope": "main", "instance": instance, "job": "patroni"}), AT - 3.0));
    }
    vector(&samples, AT)
}

#[test]
fn two_primaries_are_a_split_brain_and_a_new_timeline_is_a_failover() {
    let patroni_query = "instant {__name__=~\"patroni_primary|patroni_master|patroni_postgres_running|patroni_postgres_timeline|patroni_is_paused|patroni_pending_restart|patroni_dcs_last_seen\"}";
    let split = recording(vec![(patroni_query.into(), patroni_members(&[("a:8008", 1.0, 3.0), ("b:8008", 1.0, 3.0)]))]);
    let (_, checks) = replay(&split, &StackRules::default());
    let main = find(&checks, "Patroni", "main");
    assert_eq!(main.status, Status::Failing);
    assert!(main.summary.contains("2 primaries") && main.reason.contains("split brain"), "{main:#?}");

    let failover = recording(vec![
        (patroni_query.into(), patroni_members(&[("a:8008", 0.0, 4.0), ("b:8008", 1.0, 4.0)])),
        ("instant min_over_time(patroni_postgres_timeline[1h0m0s])".into(), vector(&[(json!({"scope": "main", "instance": "a:8008"}), 3.0)], AT)),
    ]);
    let (_, checks) = replay(&failover, &StackRules::default());
    let main = find(&checks, "Patroni", "main");
    assert_eq!(main.status, Status::Warning);
    assert!(main.reason.contains("went from 3 to 4"), "{}", main.reason);
}

#[test]
fn slow_scrapes_and_churn_without_a_targets_api() {
    // A VictoriaMetrics cluster's select path (or Mimir) has no /api/v1/targets: `up` tells.
    let target = json!({"job": "pgwatch", "instance": "pgwatch:9187"});
    let answers = vec![
        ("names".into(),
            json!({"status": "success", "data": ["pgwatch_pg_stat_statements_calls"]})),
        ("range count by (job) (pgwatch_pg_stat_statements_calls)".into(), matrix(&[(json!({"job": "pgwatch"}), vec![(AT, 1000.0)])])),
        ("range up".into(), matrix(&[(target.clone(), vec![(AT - 60.0, 1.0), (AT, 1.0)])])),
        ("instant scrape_samples_scraped".into(), vector(&[(target.clone(), 1000.0)], AT)),
        ("instant max_over_time(scrape_samples_scraped[1h0m0s])".into(), vector(&[(target.clone(), 1100.0)], AT)),
        ("instant scrape_duration_seconds".into(), vector(&[(target.clone(), 9.2)], AT)),
        ("instant scrape_timeout_seconds".into(), vector(&[(target.clone(), 10.0)], AT)),
        (
            "instant sum_over_time(scrape_series_added[1h0m0s]) - max_over_time(scrape_series_added[1h0m0s])".into(),
            vector(&[(target.clone(), 2500.0)], AT),
        ),
    ];
    let rules = StackRules { required_jobs: vec!["pgwatch".into(), "query-info".into()], ..Default::default() };
    let (_, checks) = replay(&recording(answers), &rules);
    let pgwatch = find(&checks, "Scrape targets", "pgwatch pgwatch:9187");
    assert_eq!(pgwatch.status, Status::Warning, "{pgwatch:#?}");
    assert!(pgwatch.reason.contains("take 9.2 s of their 10.0 s timeout"), "{}", pgwatch.reason);
    assert!(pgwatch.reason.contains("2,500 new series") && pgwatch.reason.contains("2.3×"), "{}", pgwatch.reason);
    assert_eq!(find(&checks, "Scrape targets", "query-info (required)").status, Status::Failing);
    assert!(!checks.iter().any(|c| c.name.starts_with("pgwatch (required)")));
}

#[test]
fn credentials_in_scrape_errors_never_reach_the_reasons() {
    let targets = json!({"status": "success", "data": {"activeTargets": [{
        "labels": {"job": "postgres", "instance": "db:9187"},
        "scrapePool": "postgres", "health": "down", "scrapeTimeout": "10s",
        "lastError": "Get \"http://scraper:s3cr3t@db:9187/metrics\": dial tcp: connection refused"
    }]}});
    let (_, checks) = replay(&recording(vec![("targets".into(), targets)]), &StackRules::default());
    let postgres = find(&checks, "Scrape targets", "postgres");
    assert_eq!(postgres.status, Status::Failing);
    assert!(!postgres.reason.contains("s3cr3t") && !postgres.reason.contains("scraper:"), "{}", postgres.reason);
    assert!(postgres.reason.contains("connection refused"));
}

#[test]
fn frames_carry_every_check_and_the_sparklines() {
    let (observations, checks) = replay(&recorded("vm-healthy"), &rules());
    let frames = stack::frames(&checks, &observations);
    let table = &frames[0];
    assert_eq!(table.fields.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(), [
        "status", "severity", "component", "check", "job", "instance", "summary", "reason", "for_seconds"
    ]);
    assert_eq!(table.fields[0].values.len(), checks.len());
    let sparklines = frames.iter().filter(|f| f.name == "up").count();
    assert_eq!(sparklines, observations.up.as_ref().unwrap().len());
    assert!(frames.iter().any(|f| f.name == "samples"));
    // Each line ends now, on the target's current state: the down cAdvisor at 0, node up at 1.
    let last = |measure: &str, job: &str| {
        let frame = frames.iter().find(|f| f.name == measure && f.fields[1].labels.as_ref().and_then(|l| l.get("job")).map(String::as_str) == Some(job)).unwrap();
        let (Values::Time(t), Values::Float64(v)) = (&frame.fields[0].values, &frame.fields[1].values) else { panic!("field types") };
        (*t.last().unwrap(), *v.last().unwrap())
    };
    let at_ms = (observations.at * 1000.0).round() as i64;
    assert_eq!(last("up", "self-cadvisor"), (at_ms, 0.0));
    assert_eq!(last("up", "node"), (at_ms, 1.0));
    assert!(last("samples", "node").1 > 100.0);
    for frame in &frames {
        frame.to_arrow().expect("every frame encodes");
    }
}

/// The key of the Citus ask in a recording.
const CITUS_ASK: &str = "instant {__name__=~\"pg_citus_node_is_active|pg_citus_node_has_meta|pg_citus_node_meta_synced|pg_citus_placement_inactive|pg_citus_placement_total\"}";

#[test]
fn citus_nodes_inactive_placements_and_unsynced_metadata() {
    // Hand-written (Citus is not installable here): the coordinator's exporter reports every node
    // of pg_dist_node and pgscope's placement query, labelled as pg_exporter's pg_citus_node is.
    let sample = |name: &str, node: &str, value: f64| {
        (json!({"__name__": name, "node": node, "datname": "app", "job": "postgres", "instance": "coordinator:9187"}), value)
    };
    let answer = vector(
        &[
            sample("pg_citus_node_is_active", "w1:5432", 1.0),
            sample("pg_citus_node_has_meta", "w1:5432", 1.0),
            sample("pg_citus_node_meta_synced", "w1:5432", 1.0),
            sample("pg_citus_placement_inactive", "w1:5432", 0.0),
            sample("pg_citus_placement_total", "w1:5432", 32.0),
            sample("pg_citus_node_is_active", "w2:5432", 0.0),
            sample("pg_citus_placement_inactive", "w2:5432", 4.0),
            sample("pg_citus_placement_total", "w2:5432", 32.0),
            sample("pg_citus_node_is_active", "w3:5432", 1.0),
            sample("pg_citus_node_has_meta", "w3:5432", 1.0),
            sample("pg_citus_node_meta_synced", "w3:5432", 0.0),
        ],
        AT,
    );
    let (observations, checks) = replay(&recording(vec![(CITUS_ASK.into(), answer)]), &StackRules::default());
    assert_eq!(observations.citus.as_ref().map(Vec::len), Some(11), "the ask's key is the one gather makes");
    let citus: Vec<&Check> = checks.iter().filter(|c| c.component == "Citus").collect();
    assert_eq!(citus.len(), 3, "{citus:#?}");
    assert_eq!((citus[0].name.as_str(), citus[0].status, citus[0].summary.as_str()), ("w2:5432", Status::Failing, "Citus node w2:5432 inactive"));
    assert!(citus[0].reason.contains("4 of 32 shard placements on w2:5432 (database app) are inactive"), "{}", citus[0].reason);
    assert_eq!(find(&checks, "Citus", "w3:5432").status, Status::Warning);
    assert_eq!(find(&checks, "Citus", "w1:5432").status, Status::Ok);
    assert!(stack::summary_line(&checks).contains("Citus node w2:5432 inactive"), "{}", stack::summary_line(&checks));
}

#[test]
fn a_stack_without_citus_gets_no_citus_check() {
    let empty = vector(&[], AT);
    let (observations, checks) = replay(&recording(vec![(CITUS_ASK.into(), empty)]), &StackRules::default());
    assert_eq!(observations.citus, Some(vec![]));
    assert!(!checks.iter().any(|c| c.component == "Citus"), "{checks:#?}");
    let (_, recorded_checks) = replay(&recorded("vm-healthy"), &rules());
    assert!(!recorded_checks.iter().any(|c| c.component == "Citus"));
}

/// Replays a recording and keeps the key of every ask made.
struct Logged<'a> {
    recording: &'a Recording,
    asks: std::sync::Mutex<Vec<String>>,
}

impl Source for Logged<'_> {
    async fn ask(&self, ask: &Ask, span: Span) -> Option<Vec<u8>> {
        self.asks.lock().unwrap().push(ask.key());
        self.recording.ask(ask, span).await
    }
}

fn asks_of(recording: &Recording, detail: Detail) -> Vec<String> {
    let logged = Logged { recording, asks: Default::default() };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    runtime.block_on(stack::gather_within(&logged, &rules(), recording.at, recording.start, stack::GATHER_DEADLINE, detail));
    logged.asks.into_inner().unwrap()
}

#[test]
fn the_pgss_and_info_series_are_read_once_each_way_and_their_history_only_when_gone() {
    let healthy = asks_of(&recorded("vm-healthy"), Detail::Checks);
    let reading = |asks: &[String], metric: &str| asks.iter().filter(|k| k.contains(metric) && !k.starts_with("names")).cloned().collect::<Vec<_>>();
    let mut calls = reading(&healthy, "pg_stat_statements_calls_total");
    calls.sort();
    assert_eq!(calls, [
        "instant count(count by (queryid) (pg_stat_statements_calls_total) and on (queryid) count by (queryid) (pgss_query_info))",
        "instant count(count by (queryid) (pg_stat_statements_calls_total))",
        "instant count_values by (job, instance) (\"timestamp\", timestamp(pg_stat_statements_calls_total))",
        // VictoriaMetrics' own target adds series (its histogram buckets): only whether its job
        // exported pgss series in the window is read, not every statement's history.
        "range count by (job) (pg_stat_statements_calls_total{job=~\"victoriametrics\"})",
    ], "one request per figure, the per-target count and the newest sample shared with the coverage check, no whole history while the series exist");
    assert!(!healthy.iter().any(|k| k == "range scrape_samples_scraped"), "Save & test draws no sparkline");
    assert!(asks_of(&recorded("vm-healthy"), Detail::Sparklines).iter().any(|k| k == "range scrape_samples_scraped"));
    // Two targets are down (jobs grafana-pgscope, self-cadvisor): did they serve names? Only
    // their jobs' history is read.
    assert!(healthy.contains(&"range count by (job) (pgss_query_info{job=~\"grafana\\\\-pgscope|self\\\\-cadvisor\"})".to_string()), "{healthy:#?}");
    // The info exporter down, its metric gone: its whole history says since when.
    let info_down = asks_of(&recorded("vm-info-down"), Detail::Checks);
    assert!(info_down.contains(&"range count by (job) (pgss_query_info)".to_string()), "{info_down:#?}");
    // Without the newest sample's age the pgss check says when it was last seen: from the history.
    let mut no_age = recorded("vm-healthy");
    no_age.answers.remove("instant count_values by (job, instance) (\"timestamp\", timestamp(pg_stat_statements_calls_total))");
    let asks = asks_of(&no_age, Detail::Checks);
    assert!(asks.contains(&"range count by (job) (pg_stat_statements_calls_total)".to_string()), "{asks:#?}");
    let (_, checks) = replay(&no_age, &rules());
    let pgss = find(&checks, "pgss data", "pg_stat_statements_calls_total");
    assert!(pgss.reason.contains("last seen") && !pgss.reason.contains("last seen 0 s ago"), "{}", pgss.reason);
}

#[test]
fn one_gathering_makes_as_many_requests_for_1000_targets_as_for_100() {
    // A minute back: VictoriaMetrics hides samples newer than its -search.latencyOffset.
    let end = support::now_s() / 15 * 15 - 60;
    let gathered = |count: usize| {
        let vm = support::VictoriaMetrics::start();
        let targets = ScrapeTargets { points: 41, ..ScrapeTargets::new(count, end) };
        targets.import_vm(&vm.addr);
        let api = TargetsApi::start(&vm.addr, targets.targets_api());
        let settings = Settings::from_instance(Some(&support::instance("stack", &api.url(), "{}"))).unwrap();
        let client = PromClient::new(settings, Telemetry::default()).unwrap();
        let rules = StackRules::default();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let at = end as f64;
        let observations = runtime.block_on(stack::gather_within(&client, &rules, at, at - 3600.0, stack::GATHER_DEADLINE, Detail::Checks));
        let checks = stack::evaluate(&observations, &rules);
        let targets_checked: Vec<&Check> = checks.iter().filter(|c| c.component == "Scrape targets" && !c.instance.is_empty()).collect();
        let down = targets_checked.iter().filter(|c| c.summary.contains(" down")).count();
        let collapsed = targets_checked.iter().filter(|c| c.summary.contains("collapsed")).count();
        (api.requests(), targets_checked.len(), count - targets.up_now(), down, collapsed, (0..count).filter(|t| ScrapeTargets::is_collapsed(*t)).count())
    };
    let (small, large) = (gathered(100), gathered(1000));
    assert_eq!(small.0, large.0, "requests at 100 targets and at 1,000");
    for (count, (_, checked, want_down, down, collapsed, want_collapsed)) in [(100, small), (1000, large)] {
        assert_eq!(checked, count, "a check per target");
        assert_eq!((down, collapsed), (want_down, want_collapsed), "{count} targets: down and collapsed ones found");
    }
}

#[test]
fn save_and_test_looks_the_metric_names_up_once() {
    // A TSDB answering every request with the scalar 2: Save & test passes `1+1 = 2`, then the
    // stack checks, the pgss schema and the extensions each need every metric name in the window.
    let body = r#"{"status":"success","data":{"resultType":"scalar","result":[1700000000,"2"]}}"#;
    let answer = format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
    let tsdb = support::FakeServer::start_bytes(answer.into_bytes());
    let context = support::plugin_context(support::instance("names-once", &tsdb.url(), "{}"));
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let report = runtime.block_on(pgscope::datasource::Datasource::new().check_health(Some(&context)));
    assert!(report.ok, "{report:?}");
    let requests = tsdb.requests();
    let lookups = requests.iter().filter(|r| r.lines().next().is_some_and(|line| line.contains("/api/v1/label/__name__/values"))).count();
    assert_eq!(lookups, 1, "one lookup shared by the stack checks, the schema and the extensions; asked: {:#?}", requests.iter().filter_map(|r| r.lines().next()).collect::<Vec<_>>());
}
