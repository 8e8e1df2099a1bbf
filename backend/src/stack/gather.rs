//! Asking the TSDB what the checks need: one `Ask` per request, answered by a `Source` (the TSDB
//! through `PromClient`, a `Recording` of its answers in tests, a `Recorder` that keeps them for
//! `pgscope stack --record`), gathered concurrently into `Observations`.

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::future::{join_all, FutureExt};
use serde::Deserialize;

use super::{InfoObservation, Observations, PgssObservation, Series, StackRules, Target, GATHER_DEADLINE, PATRONI_METRICS, PGSS_CALLS_METRICS, POSTGRES_METRICS, REQUEST_TIMEOUT};
use crate::frame::Labels;
use crate::prom::client::{ClientError, JsonAnswer, PromClient};
use crate::prom::read::{parse_matrix, parse_names, parse_vector, success_data, Sample};
use crate::promql_text::{quote, regex_escape, QueryidSample, SAMPLE_ABOVE};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TargetsData {
    #[serde(default)]
    active_targets: Vec<ApiTarget>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ApiTarget {
    #[serde(default)]
    labels: Labels,
    #[serde(default)]
    discovered_labels: Labels,
    #[serde(default)]
    scrape_pool: String,
    #[serde(default)]
    health: String,
    #[serde(default)]
    last_error: String,
    #[serde(default)]
    last_scrape_duration: Option<f64>,
    /// Prometheus: "10s".
    #[serde(default)]
    scrape_timeout: Option<String>,
}

/// `/api/v1/targets` of Prometheus or VictoriaMetrics.
pub fn parse_targets(body: &[u8]) -> Option<Vec<Target>> {
    let data: TargetsData = serde_json::from_value(success_data(body)?).ok()?;
    Some(
        data.active_targets
            .into_iter()
            .map(|t| {
                let timeout = t
                    .scrape_timeout
                    .as_deref()
                    .or(t.discovered_labels.get("__scrape_timeout__").map(String::as_str))
                    .and_then(|text| crate::duration::parse(text).ok())
                    .map(|d| d.as_secs_f64());
                Target {
                    job: t.labels.get("job").cloned().unwrap_or(t.scrape_pool),
                    instance: t.labels.get("instance").cloned().unwrap_or_default(),
                    up: match t.health.as_str() {
                        "up" => Some(true),
                        "down" => Some(false),
                        _ => None,
                    },
                    last_error: t.last_error,
                    last_duration: t.last_scrape_duration,
                    timeout,
                }
            })
            .collect(),
    )
}

// ---------------------------------------------------------------------------------------------
// Asking the TSDB.

/// One request the checks make. Its `key` names it in recordings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ask {
    Targets,
    /// Every metric name seen in the window: an index lookup, where a `match[]` would make the
    /// TSDB find every series of the names it matches (seconds at 100,000 statements).
    Names,
    Instant(String),
    /// Over the history range.
    Range(String),
}

impl Ask {
    pub fn key(&self) -> String {
        match self {
            Ask::Targets => "targets".into(),
            Ask::Names => "names".into(),
            Ask::Instant(expr) => format!("instant {expr}"),
            Ask::Range(expr) => format!("range {expr}"),
        }
    }
}

/// Where answers come from: the TSDB, or a recording of its answers (tests).
pub trait Source {
    /// The answer body, or None when the request failed or timed out.
    fn ask(&self, ask: &Ask, span: Span) -> impl std::future::Future<Output = Option<Vec<u8>>>;
}

/// Evaluation time, history start and step, unix seconds; and the window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Span {
    pub at: f64,
    pub start: f64,
    pub step: f64,
    pub window: f64,
}

impl Source for PromClient {
    async fn ask(&self, ask: &Ask, span: Span) -> Option<Vec<u8>> {
        let answer = match ask {
            Ask::Targets => self.get_json("api/v1/targets", &[("state", "active".into())], Some(REQUEST_TIMEOUT)).await,
            Ask::Names => self.metric_names(span.at, span.window, Some(REQUEST_TIMEOUT)).await,
            Ask::Instant(expr) => self.query_instant(expr, span.at, Some(REQUEST_TIMEOUT)).await,
            Ask::Range(expr) => {
                let step = Duration::from_secs_f64(span.step);
                tokio::time::timeout(REQUEST_TIMEOUT, self.query_range(expr, span.start, span.at, step)).await.ok()?
            }
        }
        .ok()?;
        answer.status.is_success().then(|| answer.body.to_vec())
    }
}

/// Recorded answers by `Ask::key` (JSON values, as the TSDB sent them).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, Deserialize)]
pub struct Recording {
    pub at: f64,
    pub start: f64,
    pub answers: BTreeMap<String, serde_json::Value>,
}

impl Source for Recording {
    async fn ask(&self, ask: &Ask, _span: Span) -> Option<Vec<u8>> {
        self.answers.get(&ask.key()).map(|v| serde_json::to_vec(v).unwrap_or_default())
    }
}

/// Passes requests to `inner` and keeps every answer (`pgscope stack --record`).
pub struct Recorder<'a, S> {
    pub inner: &'a S,
    pub answers: std::sync::Mutex<BTreeMap<String, serde_json::Value>>,
}

impl<S: Source> Source for Recorder<'_, S> {
    async fn ask(&self, ask: &Ask, span: Span) -> Option<Vec<u8>> {
        let body = self.inner.ask(ask, span).await?;
        if let Ok(value) = serde_json::from_slice(&body) {
            self.answers.lock().unwrap_or_else(|p| p.into_inner()).insert(ask.key(), value);
        }
        Some(body)
    }
}

/// `inner`, with the metric names' lookup (`Ask::Names`, over the same window) answered by
/// `names`: Save & test asks it once for the stack checks, the pgss schema and the extensions.
pub struct SharedNames<'a, S, F> {
    pub inner: &'a S,
    pub names: F,
}

impl<S, F> Source for SharedNames<'_, S, F>
where
    S: Source,
    F: std::future::Future<Output = Result<JsonAnswer, ClientError>> + Clone,
{
    async fn ask(&self, ask: &Ask, span: Span) -> Option<Vec<u8>> {
        match ask {
            Ask::Names => self.names.clone().await.ok().filter(|a| a.status.is_success()).map(|a| a.body.to_vec()),
            _ => self.inner.ask(ask, span).await,
        }
    }
}

/// A source whose asks all end by one instant.
struct Deadline<'a, S> {
    inner: &'a S,
    at: tokio::time::Instant,
}

impl<S: Source> Source for Deadline<'_, S> {
    async fn ask(&self, ask: &Ask, span: Span) -> Option<Vec<u8>> {
        tokio::time::timeout_at(self.at, self.inner.ask(ask, span)).await.ok().flatten()
    }
}

/// The most info metrics checked (configured ones first, then those the TSDB holds).
const MAX_INFO_METRICS: usize = 8;

/// The most jobs named in one selector when only their history is wanted; past it, every job's.
const MAX_HISTORY_JOBS: usize = 20;

/// What a gathering is for. The checks alone (Save & test) need no target's history beyond
/// `up`; the `stackHealth` query also draws every target's samples over the range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    Checks,
    Sparklines,
}

/// Asks the TSDB everything the checks and the sparklines need, concurrently. `start..at` is the
/// history shown in sparklines and searched for "down since"; it is at least the rules' window.
pub async fn gather<S: Source>(source: &S, rules: &StackRules, at: f64, start: f64) -> Observations {
    gather_within(source, rules, at, start, GATHER_DEADLINE, Detail::Sparklines).await
}

/// `gather` with its overall deadline and detail given: every ask still pending when the
/// deadline passes counts as failed (the checks say "unknown"), however many rounds remain.
///
/// Cost at fleet scale: each request over the pgss or info series reads every statement's
/// series in the TSDB (about 1 s per 100,000 on VictoriaMetrics, more where it groups them by
/// queryid), so each such metric is read as few times as its checks allow: one
/// `count_values by (job, instance)` of its samples' timestamps serves the coverage check, the
/// series count, the jobs and the newest sample's age; one `count by (job)` per info metric its
/// count and its job. The statements and the share of them named (a join by queryid, the
/// dearest read) are counted whole up to `SAMPLE_ABOVE` series of the calls metric and on a
/// sample of queryids past it (`queryid_sample`). The history over the window (a range query
/// over every series) is asked only when there is no series now (the check reports since when)
/// or, for the jobs whose targets are down or churn, when those jobs have no series now.
pub async fn gather_within<S: Source>(source: &S, rules: &StackRules, at: f64, start: f64, deadline: Duration, detail: Detail) -> Observations {
    let source = &Deadline { inner: source, at: tokio::time::Instant::now() + deadline };
    let window = rules.window.as_secs_f64();
    let start = start.min(at - window);
    let step = ((at - start) / 120.0).max(rules.scrape_interval.as_secs_f64()).ceil();
    let span = Span { at, start, step, window };
    let w = crate::duration::format_go(rules.window);
    let instant = |expr: String| async move { parse_vector(&source.ask(&Ask::Instant(expr), span).await?) };
    let range = |expr: String| async move { parse_matrix(&source.ask(&Ask::Range(expr), span).await?) };
    let names = async { parse_names(&source.ask(&Ask::Names, span).await?) };
    let targets = async { parse_targets(&source.ask(&Ask::Targets, span).await?) };
    let mut info_names: Vec<String> = rules.info_metrics.clone();
    let postgres = format!("{{__name__=~\"{}\"}}", POSTGRES_METRICS.join("|"));
    let patroni = format!("{{__name__=~\"{}\"}}", PATRONI_METRICS.join("|"));
    let citus = format!("{{__name__=~\"{}\"}}", super::citus_checks::CITUS_METRICS.join("|"));
    let samples_history = async {
        match detail {
            Detail::Sparklines => range("scrape_samples_scraped".into()).await,
            Detail::Checks => None,
        }
    };

    use super::coverage_checks::{DEALLOC_METRIC, EXPORTED_METRIC, HELD_METRIC, MAX_METRIC};
    let coverage = async {
        futures_util::join!(
            instant(format!("increase({DEALLOC_METRIC}[{w}])")),
            instant(HELD_METRIC.to_string()),
            instant(MAX_METRIC.to_string()),
            instant(per_target(EXPORTED_METRIC)),
        )
    };
    let (targets, up, samples, samples_now, samples_max, durations, timeouts, churn, postgres, patroni, timeline_min, seen, coverage, citus) = futures_util::join!(
        targets,
        range("up".into()),
        samples_history,
        instant("scrape_samples_scraped".into()),
        instant(format!("max_over_time(scrape_samples_scraped[{w}])")),
        instant("scrape_duration_seconds".into()),
        instant("scrape_timeout_seconds".into()),
        instant(format!("sum_over_time(scrape_series_added[{w}]) - max_over_time(scrape_series_added[{w}])")),
        instant(postgres),
        instant(patroni),
        instant(format!("min_over_time(patroni_postgres_timeline[{w}])")),
        names,
        coverage,
        instant(citus),
    );
    let exported = per_target_and_newest(coverage.3);
    let pgss_coverage = named_samples([(DEALLOC_METRIC, coverage.0), (HELD_METRIC, coverage.1), (MAX_METRIC, coverage.2), (EXPORTED_METRIC, exported.0.clone())]);
    let seen = seen.unwrap_or_default();
    // Info metrics: the configured ones, then any `*_query_info` or `*_query_id` in the TSDB.
    let is_info = |name: &str| ["_query_info", "_query_id"].iter().any(|suffix| name.len() > suffix.len() && name.ends_with(suffix));
    for name in seen.iter().filter(|n| is_info(n)) {
        if !info_names.contains(name) && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':') {
            info_names.push(name.clone());
        }
    }
    // Three requests per info metric: a TSDB holding hundreds of `*_query_info` names must not
    // turn one Save & test into hundreds of requests. The configured ones come first.
    info_names.truncate(MAX_INFO_METRICS);
    let pgss_names: Vec<String> = seen.into_iter().filter(|n| PGSS_CALLS_METRICS.contains(&n.as_str())).collect();
    // The jobs whose history the checks read: down targets' (did they serve names?) and
    // churning targets' (do they export pgss series?).
    let down_jobs = jobs_where(&targets, &up, |t| t.up == Some(false), |points| points.last().map(|p| p.1) == Some(0.0));
    let churning_jobs: Vec<String> = jobs_of(churn.iter().flatten().filter(|(_, v)| *v > 0.0).map(|(l, _)| l));
    let history = |metric: String, now: &Option<Vec<Sample>>, jobs: &[String]| {
        let now_jobs = jobs_of(now.iter().flatten().map(|(l, _)| l));
        let missing: Vec<&String> = jobs.iter().filter(|j| !now_jobs.contains(j)).collect();
        let selector = match (now.as_ref().is_some_and(|v| !v.is_empty()), missing.len()) {
            (false, _) => Some(metric.clone()),
            (true, 0) => None,
            (true, n) if n > MAX_HISTORY_JOBS => Some(metric.clone()),
            (true, _) => Some(format!("{metric}{{job=~\"{}\"}}", quote(&missing.iter().map(|j| regex_escape(j)).collect::<Vec<_>>().join("|")))),
        };
        let mut series = jobs_now(now, at);
        async move {
            if let Some(selector) = selector {
                series.extend(range(format!("count by (job) ({selector})")).await.unwrap_or_default());
            }
            series
        }
    };
    // What each pgss metric holds now, and the sample its statements are counted on (whose size
    // depends on it): the coverage check's read already holds postgres_exporter's, so its sample
    // is known at once.
    let pgss_now = join_all(pgss_names.iter().map(|metric| {
        let exported = &exported;
        async move {
            let (now, newest) = match metric == EXPORTED_METRIC {
                true => exported.clone(),
                false => per_target_and_newest(instant(per_target(metric)).await),
            };
            let sample = queryid_sample(total(&now));
            PgssNow { now, newest, sample }
        }
    }))
    .shared();
    // The statements named are counted on the first calls metric's sample (its queryids), and
    // each info metric on the same sample past `SAMPLE_ABOVE` (`info_count`).
    let calls = pgss_names.first().cloned();
    let sample = pgss_now.clone().map(|now| now.first().and_then(|first| first.sample)).shared();
    let info = join_all(info_names.into_iter().map(|metric| {
        let (calls, sample, down_jobs) = (&calls, sample.clone(), &down_jobs);
        async move {
            let counted = async {
                let (now, sampled) = info_count(&instant, &metric, sample.clone().await).await;
                (history(metric.clone(), &now, down_jobs).await, now, sampled)
            };
            let named = async {
                let (calls, sample) = (calls.as_ref()?, sample.clone().await?);
                let count = instant(format!("count(count by (queryid) ({}) and on (queryid) count by (queryid) ({}))", sample.select(calls), sample.select(&metric))).await?;
                Some(count.first().map(|s| s.1).unwrap_or(0.0))
            };
            let ((history, now, sampled), named) = futures_util::join!(counted, named);
            InfoObservation { count_now: total(&now), count_sampled: sampled, history, named, metric }
        }
    }));
    let pgss = async {
        let churning_jobs = &churning_jobs;
        join_all(pgss_names.iter().zip(pgss_now.await).map(|(metric, PgssNow { now, newest, sample })| async move {
            let statements = async {
                let sample = sample.as_ref()?;
                let count = instant(format!("count(count by (queryid) ({}))", sample.select(metric))).await?;
                count.first().map(|s| s.1)
            };
            let age = newest.map(|t| at - t);
            // Without its newest sample's age the check reads the history's (last seen).
            let (statements, history) = futures_util::join!(statements, history(metric.clone(), if age.is_some() { &now } else { &None }, churning_jobs));
            let sampled = sample.and_then(|s| (s.digits > 0).then_some(s.digits));
            PgssObservation { count_now: total(&now), age, history, statements, sampled, metric: metric.clone() }
        }))
        .await
    };
    let (pgss, info) = futures_util::join!(pgss, info);
    Observations {
        at,
        step,
        targets,
        up,
        samples,
        samples_now,
        samples_max,
        durations,
        timeouts,
        churn,
        info,
        pgss,
        postgres,
        patroni,
        patroni_timeline_min: timeline_min,
        pgss_coverage,
        citus,
    }
}

/// A pgss metric's series per target now (`per_target_and_newest`) and its statements' sample.
#[derive(Clone)]
struct PgssNow {
    now: Option<Vec<Sample>>,
    newest: Option<f64>,
    sample: Option<QueryidSample>,
}

/// Series per exporter target by the time of their newest sample: summed per target, the
/// coverage check's figure and (summed) the metric's count; the newest time its age. One read
/// where `count by (job, instance)` and `max(timestamp(...))` were two. Samples of one scrape
/// share their time, so the answer holds a few series per target, not one per statement.
fn per_target(metric: &str) -> String {
    format!("count_values by (job, instance) (\"timestamp\", timestamp({metric}))")
}

/// `per_target`'s answer as series per target (`count by (job, instance)`'s answer) and the
/// newest sample's time; None for that time when no series (or no readable time) came back.
fn per_target_and_newest(answer: Option<Vec<Sample>>) -> (Option<Vec<Sample>>, Option<f64>) {
    let Some(answer) = answer else { return (None, None) };
    let mut targets: BTreeMap<Labels, f64> = BTreeMap::new();
    let mut newest: Option<f64> = None;
    for (mut labels, count) in answer {
        let time = labels.remove("timestamp").and_then(|t| t.parse::<f64>().ok()).filter(|t| t.is_finite());
        if let Some(time) = time {
            newest = Some(newest.map_or(time, |n: f64| n.max(time)));
        }
        *targets.entry(labels).or_default() += count;
    }
    (Some(targets.into_iter().collect()), newest)
}

/// The sample the statements of a calls metric holding `series` series now are counted on:
/// past `SAMPLE_ABOVE` series the join by queryid alone took several seconds of a Save & test
/// that must end within two (100,000 statements). None when it holds none (nothing to count).
fn queryid_sample(series: Option<f64>) -> Option<QueryidSample> {
    QueryidSample::for_series(series, SAMPLE_ABOVE)
}

/// Fewer series than this in an info metric's sample do not stand for it: it is counted whole.
const MIN_SAMPLED_INFO: f64 = 1_000.0;

/// An info metric's series now by job (`count by (job)`), and the digits of the sample it was
/// counted on. Past `SAMPLE_ABOVE` series of the calls metric it is counted on the calls
/// metric's sample of queryids and scaled up (at 100,000 statements, 2.3 s of a Save & test
/// whole); an info metric too small for its sample to stand for it, or whose sampled count
/// fails, is counted whole.
async fn info_count<F, Fut>(instant: &F, metric: &str, sample: Option<QueryidSample>) -> (Option<Vec<Sample>>, Option<u32>)
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = Option<Vec<Sample>>>,
{
    if let Some(sample) = sample.filter(|s| s.digits > 0) {
        if let Some(counted) = instant(format!("count by (job) ({})", sample.select(metric))).await {
            if sum(&counted) >= MIN_SAMPLED_INFO {
                let scale = sample.scale();
                return (Some(counted.into_iter().map(|(labels, n)| (labels, n * scale)).collect()), Some(sample.digits));
            }
        }
    }
    (instant(format!("count by (job) ({metric})")).await, None)
}

/// The sum of a count's samples; None when the request failed or no series exists.
fn total(samples: &Option<Vec<Sample>>) -> Option<f64> {
    samples.as_deref().filter(|v| !v.is_empty()).map(sum)
}

fn sum(samples: &[Sample]) -> f64 {
    samples.iter().map(|s| s.1).sum()
}

/// A count by job (or finer) now as one point per job at `at`: what `count by (job)` over the
/// window would end on.
fn jobs_now(samples: &Option<Vec<Sample>>, at: f64) -> Vec<Series> {
    let mut by_job: BTreeMap<Option<String>, f64> = BTreeMap::new();
    for (labels, value) in samples.iter().flatten() {
        *by_job.entry(labels.get("job").cloned()).or_default() += value;
    }
    by_job
        .into_iter()
        .map(|(job, count)| (job.into_iter().map(|j| ("job".to_string(), j)).collect(), vec![(at, count)]))
        .collect()
}

fn jobs_of<'a>(labels: impl Iterator<Item = &'a Labels>) -> Vec<String> {
    let mut jobs: Vec<String> = labels.filter_map(|l| l.get("job").cloned()).collect();
    jobs.sort();
    jobs.dedup();
    jobs
}

/// The jobs of the targets the targets API (or, without it, `up`'s history) says match.
fn jobs_where(targets: &Option<Vec<Target>>, up: &Option<Vec<Series>>, target: impl Fn(&Target) -> bool, history: impl Fn(&[(f64, f64)]) -> bool) -> Vec<String> {
    let mut jobs: Vec<String> = match targets {
        Some(targets) => targets.iter().filter(|t| target(t)).map(|t| t.job.clone()).collect(),
        None => up.iter().flatten().filter(|(_, points)| history(points)).filter_map(|(l, _)| l.get("job").cloned()).collect(),
    };
    jobs.sort();
    jobs.dedup();
    jobs
}

/// Samples of several requests in one list, each named by `__name__`; None when all failed.
fn named_samples<const N: usize>(answers: [(&str, Option<Vec<Sample>>); N]) -> Option<Vec<Sample>> {
    let mut samples: Option<Vec<Sample>> = None;
    for (name, answer) in answers {
        for (mut labels, value) in answer.into_iter().flatten() {
            labels.insert("__name__".into(), name.into());
            samples.get_or_insert_with(Vec::new).push((labels, value));
        }
    }
    samples
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Never answers: a TSDB that accepted the connection and went silent.
    struct Silent;
    impl Source for Silent {
        async fn ask(&self, _ask: &Ask, _span: Span) -> Option<Vec<u8>> {
            std::future::pending().await
        }
    }

    /// Answers the first round at once (one info metric name per ask, as a TSDB holding many
    /// would) and never answers the second: both rounds together stay within the deadline.
    struct SilentSecondRound;
    impl Source for SilentSecondRound {
        async fn ask(&self, ask: &Ask, _span: Span) -> Option<Vec<u8>> {
            match ask {
                Ask::Names => Some(br#"{"status":"success","data":["a_query_info","pg_stat_statements_calls_total"]}"#.to_vec()),
                _ => std::future::pending().await,
            }
        }
    }

    #[test]
    fn the_per_target_answer_gives_each_targets_series_and_the_newest_sample() {
        let sample = |instance: &str, time: &str, count: f64| -> Sample {
            ([("job", "pgss"), ("instance", instance), ("timestamp", time)].into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(), count)
        };
        let target = |instance: &str| -> Labels { [("job", "pgss"), ("instance", instance)].into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect() };
        let (targets, newest) = per_target_and_newest(Some(vec![sample("a:1", "100.5", 3.0), sample("a:1", "90", 2.0), sample("b:1", "99", 4.0), sample("b:1", "NaN", 1.0)]));
        assert_eq!(targets, Some(vec![(target("a:1"), 5.0), (target("b:1"), 5.0)]), "every series counted, whatever its time");
        assert_eq!(newest, Some(100.5));
        assert_eq!(per_target_and_newest(Some(vec![])), (Some(vec![]), None), "no series: no age");
        assert_eq!(per_target_and_newest(None), (None, None));
    }

    #[tokio::test]
    async fn an_info_metric_is_counted_on_the_sample_only_when_the_sample_stands_for_it() {
        // A TSDB whose info metric has `sampled` series among the sampled queryids and 5,000 whole.
        let asked = std::sync::Mutex::new(Vec::new());
        let answer = |sampled: f64| {
            let asked = &asked;
            move |expr: String| {
                asked.lock().unwrap().push(expr.clone());
                let n = if expr.contains("queryid=~") { sampled } else { 5_000.0 };
                let job: Labels = [("job".to_string(), "names".to_string())].into_iter().collect();
                async move { Some(vec![(job, n)]) }
            }
        };
        let tenth = queryid_sample(Some(100_000.0));
        let (now, sampled) = info_count(&answer(9_000.0), "q_query_info", tenth).await;
        assert_eq!((total(&now), sampled), (Some(90_000.0), Some(1)), "scaled by the sample");
        assert_eq!(asked.lock().unwrap().as_slice(), [r#"count by (job) (q_query_info{queryid=~".*0."})"#]);
        asked.lock().unwrap().clear();
        let (now, sampled) = info_count(&answer(500.0), "q_query_info", tenth).await;
        assert_eq!((total(&now), sampled), (Some(5_000.0), None), "500 sampled series stand for no one: counted whole");
        assert_eq!(asked.lock().unwrap().len(), 2);
        asked.lock().unwrap().clear();
        let (now, sampled) = info_count(&answer(9_000.0), "q_query_info", queryid_sample(Some(SAMPLE_ABOVE))).await;
        assert_eq!((total(&now), sampled), (Some(5_000.0), None), "below the threshold: whole, one request");
        assert_eq!(asked.lock().unwrap().as_slice(), ["count by (job) (q_query_info)"]);
    }

    #[tokio::test]
    async fn a_silent_tsdb_ends_the_gathering_at_its_deadline_with_everything_unknown() {
        let rules = StackRules::default();
        let gathered = tokio::time::timeout(Duration::from_secs(30), gather_within(&Silent, &rules, 1_000_000.0, 990_000.0, Duration::from_millis(200), Detail::Sparklines)).await;
        let observations = gathered.expect("gather waited past its deadline");
        assert!(observations.targets.is_none() && observations.up.is_none() && observations.info.is_empty());
        let gathered = tokio::time::timeout(Duration::from_secs(30), gather_within(&SilentSecondRound, &rules, 1_000_000.0, 990_000.0, Duration::from_millis(200), Detail::Checks)).await;
        let observations = gathered.expect("the second round waited past the deadline");
        assert_eq!(observations.info.len(), 1, "the info metric found in round one is reported (unknown), not dropped");
        assert!(observations.info[0].count_now.is_none());
        assert_eq!(observations.pgss.len(), 1);
        assert!(observations.pgss[0].age.is_none());
    }
}
