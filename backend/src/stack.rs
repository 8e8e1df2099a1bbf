//! Stack health: can the monitoring stack that feeds the dashboards be trusted? Checks scrape
//! targets (up, down since when, last error, scrape duration against its timeout, sample
//! collapse, series churn), required jobs, the info metrics the fallback relies on (present,
//! age, share of pgss statements named), freshness of the pgss data, PostgreSQL exporters
//! (pg_up, scrape errors) and Patroni clusters (one primary, timeline, paused, pending restart,
//! DCS contact). Each check ends ok / warning / failing / unknown with a reason a user can act on.
//!
//! Split in two: `gather` asks the TSDB (concurrently, each request with a short timeout) and
//! records what came back as `Observations`; `evaluate` is pure and turns observations into
//! checks, so recorded TSDB answers test every check (tests/stack_checks.rs).
//! Not for: whether the TSDB itself answers (see `health`).

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use futures_util::future::join_all;
use serde::Deserialize;

use crate::frame::{Field, Frame, FrameMeta, Labels, Values};
use crate::prom::client::PromClient;
use crate::prom::convert::parse_sample_value;

/// How long one stack request may take: a slow answer is reported as unknown, not waited for.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Calls counters of the pgss schemas we know (postgres_exporter >= 0.13 and our custom
/// queries, older custom files, pgwatch v3, postgres_ai's pgwatch).
pub const PGSS_CALLS_METRICS: &[&str] = &[
    "pg_stat_statements_calls_total",
    "pg_stat_statements_calls",
    "pgwatch_stat_statements_calls",
    "pgwatch_pg_stat_statements_calls",
];

/// Metrics of postgres_exporter and pgwatch saying whether PostgreSQL answers them.
const POSTGRES_METRICS: &[&str] = &["pg_up", "pg_exporter_last_scrape_error", "pgwatch_instance_up"];

const PATRONI_METRICS: &[&str] = &[
    "patroni_primary",
    "patroni_master",
    "patroni_postgres_running",
    "patroni_postgres_timeline",
    "patroni_is_paused",
    "patroni_pending_restart",
    "patroni_dcs_last_seen",
];

/// What the checks need from the settings.
#[derive(Debug, Clone, PartialEq)]
pub struct StackRules {
    /// Jobs that must have at least one target.
    pub required_jobs: Vec<String>,
    /// A target's sample count below this share of its recent maximum is a collapse.
    pub collapse_fraction: f64,
    /// How far back "recent" goes (sample maximum, churn, timeline changes, down since).
    pub window: Duration,
    /// The info metrics configured in the settings (reported even when they never existed).
    pub info_metrics: Vec<String>,
    /// The scrape interval: pgss data older than 3 of them (and at least a minute) is stale.
    pub scrape_interval: Duration,
    /// Patroni's DCS TTL: a member that has not reached the DCS for longer loses the leader lock.
    pub patroni_ttl: Duration,
}

impl Default for StackRules {
    fn default() -> Self {
        StackRules {
            required_jobs: Vec::new(),
            collapse_fraction: 0.5,
            window: Duration::from_secs(3600),
            info_metrics: Vec::new(),
            scrape_interval: Duration::from_secs(15),
            patroni_ttl: Duration::from_secs(30),
        }
    }
}

/// A check's verdict, ordered from best to worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    Ok,
    Unknown,
    Warning,
    Failing,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Unknown => "unknown",
            Status::Warning => "warning",
            Status::Failing => "failing",
        }
    }
}

/// One check's outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// The group it belongs to: "Scrape targets", "Query names", "pgss data", "PostgreSQL", "Patroni".
    pub component: &'static str,
    /// What was checked, e.g. "query-info 127.0.0.1:19188".
    pub name: String,
    pub job: String,
    pub instance: String,
    pub status: Status,
    /// A few words for a one-line summary ("query-info down 12 min: names unavailable").
    pub summary: String,
    /// What is wrong and what to do, or the figures when all is well.
    pub reason: String,
    /// Since when (unix seconds) the check is in this state, when known.
    pub since: Option<f64>,
}

/// A sample of an instant query: labels (with `__name__` when the TSDB kept it) and value.
pub type Sample = (Labels, f64);
/// A series of a range query: labels and (unix seconds, value) points.
pub type Series = (Labels, Vec<(f64, f64)>);

/// One scrape target as the TSDB's `/api/v1/targets` describes it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Target {
    pub job: String,
    pub instance: String,
    /// None until its first scrape.
    pub up: Option<bool>,
    pub last_error: String,
    /// Seconds.
    pub last_duration: Option<f64>,
    /// Seconds.
    pub timeout: Option<f64>,
}

/// One info metric: current count, its count over the window (by job), and how many pgss
/// statements it names.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct InfoObservation {
    pub metric: String,
    pub count_now: Option<f64>,
    /// `count by (job) (INFO)` over the window.
    pub history: Vec<Series>,
    /// Statements (queryids) of the pgss calls metric that have a name in this metric.
    pub named: Option<f64>,
}

/// One pgss calls metric: its series count now, age of its newest sample, history of the count.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PgssObservation {
    pub metric: String,
    pub count_now: Option<f64>,
    /// Seconds since its newest sample.
    pub age: Option<f64>,
    /// `count by (job) (M)` over the window.
    pub history: Vec<Series>,
    /// Distinct queryids now.
    pub statements: Option<f64>,
}

/// Everything the checks look at. `None` means the request failed (the check is unknown).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Observations {
    /// Evaluation time, unix seconds.
    pub at: f64,
    /// The history range's step, seconds.
    pub step: f64,
    pub targets: Option<Vec<Target>>,
    pub up: Option<Vec<Series>>,
    pub samples: Option<Vec<Series>>,
    pub samples_now: Option<Vec<Sample>>,
    pub samples_max: Option<Vec<Sample>>,
    pub durations: Option<Vec<Sample>>,
    pub timeouts: Option<Vec<Sample>>,
    /// Series added over the window, less the largest single scrape (a target's first scrape
    /// adds every series at once). Checked for the jobs that export pgss metrics.
    pub churn: Option<Vec<Sample>>,
    pub info: Vec<InfoObservation>,
    pub pgss: Vec<PgssObservation>,
    pub postgres: Option<Vec<Sample>>,
    pub patroni: Option<Vec<Sample>>,
    pub patroni_timeline_min: Option<Vec<Sample>>,
}

// ---------------------------------------------------------------------------------------------
// Parsing TSDB answers.

#[derive(Deserialize)]
struct Envelope {
    status: String,
    #[serde(default)]
    data: Option<serde_json::Value>,
}

/// An instant sample, its value text borrowed from the body (or `Value`) it is read from, not
/// copied: an allocation less per sample. `L`: the labels, owned or borrowed (`LabelsRef`).
#[derive(Deserialize)]
struct InstantItem<'a, L = Labels> {
    #[serde(default)]
    metric: L,
    #[serde(borrow)]
    value: (f64, Cow<'a, str>),
}

/// A series' labels read by name, owned (`Labels`) or borrowed from an answer (`LabelsRef`).
pub trait LabelSet {
    fn label(&self, name: &str) -> Option<&str>;
}

impl LabelSet for Labels {
    fn label(&self, name: &str) -> Option<&str> {
        self.get(name).map(String::as_str)
    }
}

/// Labels borrowed from the answer's body where they have no escapes: reading the 6,000
/// samples of a pgss increases answer this way takes half the time of building a `Labels` map
/// each. A repeated name keeps its last value, as `Labels` does.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LabelsRef<'a>(Vec<(Cow<'a, str>, Cow<'a, str>)>);

/// A `Sample` whose labels borrow from the answer.
pub type SampleRef<'a> = (LabelsRef<'a>, f64);

impl LabelSet for LabelsRef<'_> {
    fn label(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_ref())
    }
}

impl From<Labels> for LabelsRef<'_> {
    fn from(labels: Labels) -> Self {
        LabelsRef(labels.into_iter().map(|(k, v)| (Cow::Owned(k), Cow::Owned(v))).collect())
    }
}

/// A JSON string, borrowed when it has no escapes.
struct Text<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v.to_string())))
            }
        }
        d.deserialize_str(Visitor)
    }
}

impl<'de> Deserialize<'de> for LabelsRef<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = LabelsRef<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object of label names and values")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<LabelsRef<'de>, A::Error> {
                let mut labels: Vec<(Cow<'de, str>, Cow<'de, str>)> = Vec::with_capacity(map.size_hint().unwrap_or(8));
                while let Some((Text(name), Text(value))) = map.next_entry::<Text, Text>()? {
                    match labels.iter_mut().find(|(k, _)| *k == name) {
                        Some(entry) => entry.1 = value,
                        None => labels.push((name, value)),
                    }
                }
                Ok(LabelsRef(labels))
            }
        }
        d.deserialize_map(Visitor)
    }
}

#[derive(Deserialize)]
struct RangeItem<'a> {
    #[serde(default)]
    metric: Labels,
    #[serde(default, borrow)]
    values: Vec<(f64, Cow<'a, str>)>,
}

/// The common shapes parsed straight into their types: no `Value` tree, no copy of it.
#[derive(Deserialize)]
struct Typed<T> {
    status: String,
    data: TypedData<T>,
}

#[derive(Deserialize)]
struct TypedData<T> {
    #[serde(rename = "resultType")]
    result_type: String,
    result: T,
}

fn typed<'a, T: Deserialize<'a>>(body: &'a [u8], result_type: &str) -> Option<T> {
    let answer: Typed<T> = serde_json::from_slice(body).ok()?;
    (answer.status == "success" && answer.data.result_type == result_type).then_some(answer.data.result)
}

fn success_data(body: &[u8]) -> Option<serde_json::Value> {
    let envelope: Envelope = serde_json::from_slice(body).ok()?;
    (envelope.status == "success").then_some(envelope.data?)
}

/// An instant query's answer (vector or scalar) as samples; None when it is not one.
pub fn parse_vector(body: &[u8]) -> Option<Vec<Sample>> {
    let samples = |items: Vec<InstantItem>| items.into_iter().filter_map(|i| Some((i.metric, parse_sample_value(&i.value.1)?))).collect();
    if let Some(items) = typed::<Vec<InstantItem>>(body, "vector") {
        return Some(samples(items));
    }
    let data = success_data(body)?;
    match data.get("resultType")?.as_str()? {
        "vector" => Some(samples(Vec::<InstantItem>::deserialize(data.get("result")?).ok()?)),
        "scalar" => {
            let (_, value): (f64, String) = serde_json::from_value(data.get("result")?.clone()).ok()?;
            Some(parse_sample_value(&value).map(|v| vec![(Labels::new(), v)]).unwrap_or_default())
        }
        _ => None,
    }
}

/// `parse_vector` with labels borrowed from `body` (`LabelsRef`); for the large pgss answers.
pub fn parse_vector_ref(body: &[u8]) -> Option<Vec<SampleRef<'_>>> {
    match typed::<Vec<InstantItem<LabelsRef>>>(body, "vector") {
        Some(items) => Some(items.into_iter().filter_map(|i| Some((i.metric, parse_sample_value(&i.value.1)?))).collect()),
        // Anything else (a scalar, a shape only the `Value` reading accepts) as parse_vector reads it.
        None => Some(parse_vector(body)?.into_iter().map(|(labels, value)| (labels.into(), value)).collect()),
    }
}

/// A range query's answer as series; None when it is not a matrix.
pub fn parse_matrix(body: &[u8]) -> Option<Vec<Series>> {
    let items: Vec<RangeItem> = typed(body, "matrix")?;
    Some(
        items
            .into_iter()
            .map(|i| (i.metric, i.values.into_iter().filter_map(|(t, v)| Some((t, parse_sample_value(&v)?))).collect()))
            .collect(),
    )
}

/// `/api/v1/label/__name__/values`: the names.
pub fn parse_names(body: &[u8]) -> Option<Vec<String>> {
    serde_json::from_value(success_data(body)?).ok()
}

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
    /// Metric names matching a regex, seen in the window.
    Names(String),
    Instant(String),
    /// Over the history range.
    Range(String),
}

impl Ask {
    pub fn key(&self) -> String {
        match self {
            Ask::Targets => "targets".into(),
            Ask::Names(pattern) => format!("names {pattern}"),
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
            Ask::Names(pattern) => {
                let params = [
                    ("match[]", format!("{{__name__=~\"{pattern}\"}}")),
                    ("start", format!("{}", (span.at - span.window).floor())),
                    ("end", format!("{}", span.at.ceil())),
                ];
                self.get_json("api/v1/label/__name__/values", &params, Some(REQUEST_TIMEOUT)).await
            }
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

/// Asks the TSDB everything the checks need, concurrently. `start..at` is the history shown in
/// sparklines and searched for "down since"; it is at least the rules' window.
pub async fn gather<S: Source>(source: &S, rules: &StackRules, at: f64, start: f64) -> Observations {
    let window = rules.window.as_secs_f64();
    let start = start.min(at - window);
    let step = ((at - start) / 120.0).max(rules.scrape_interval.as_secs_f64()).ceil();
    let span = Span { at, start, step, window };
    let w = crate::duration::format_go(rules.window);
    let instant = |expr: String| async move { parse_vector(&source.ask(&Ask::Instant(expr), span).await?) };
    let range = |expr: String| async move { parse_matrix(&source.ask(&Ask::Range(expr), span).await?) };
    let names = |pattern: String| async move { parse_names(&source.ask(&Ask::Names(pattern), span).await?) };
    let targets = async { parse_targets(&source.ask(&Ask::Targets, span).await?) };
    let mut info_names: Vec<String> = rules.info_metrics.clone();
    let mut info_pattern = String::from(".+_query_info|.+_query_id");
    for metric in &rules.info_metrics {
        info_pattern.push('|');
        info_pattern.push_str(&regex_escape(metric));
    }
    let pgss_pattern = PGSS_CALLS_METRICS.join("|");
    let postgres = format!("{{__name__=~\"{}\"}}", POSTGRES_METRICS.join("|"));
    let patroni = format!("{{__name__=~\"{}\"}}", PATRONI_METRICS.join("|"));

    let (targets, up, samples, samples_now, samples_max, durations, timeouts, churn, postgres, patroni, timeline_min, seen_info, seen_pgss) = futures_util::join!(
        targets,
        range("up".into()),
        range("scrape_samples_scraped".into()),
        instant("scrape_samples_scraped".into()),
        instant(format!("max_over_time(scrape_samples_scraped[{w}])")),
        instant("scrape_duration_seconds".into()),
        instant("scrape_timeout_seconds".into()),
        instant(format!("sum_over_time(scrape_series_added[{w}]) - max_over_time(scrape_series_added[{w}])")),
        instant(postgres),
        instant(patroni),
        instant(format!("min_over_time(patroni_postgres_timeline[{w}])")),
        names(info_pattern),
        names(pgss_pattern),
    );
    for name in seen_info.unwrap_or_default() {
        if !info_names.contains(&name) && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':') {
            info_names.push(name);
        }
    }
    let pgss_names: Vec<String> = seen_pgss.unwrap_or_default().into_iter().filter(|n| PGSS_CALLS_METRICS.contains(&n.as_str())).collect();
    let calls = pgss_names.first().cloned();
    let info = join_all(info_names.into_iter().map(|metric| {
        let calls = calls.clone();
        async move {
            let named = match &calls {
                Some(calls) => instant(format!(
                    "count(count by (queryid) ({calls}) and on (queryid) count by (queryid) ({metric}))"
                ))
                .await
                .map(|v| v.first().map(|s| s.1).unwrap_or(0.0)),
                None => None,
            };
            let (count_now, history) = futures_util::join!(instant(format!("count({metric})")), range(format!("count by (job) ({metric})")));
            InfoObservation {
                count_now: count_now.and_then(|v| v.first().map(|s| s.1)),
                history: history.unwrap_or_default(),
                named,
                metric,
            }
        }
    }))
    .await;
    let pgss = join_all(pgss_names.into_iter().map(|metric| async move {
        let (count_now, age, history, statements) = futures_util::join!(
            instant(format!("count({metric})")),
            instant(format!("time() - max(timestamp({metric}))")),
            range(format!("count by (job) ({metric})")),
            instant(format!("count(count by (queryid) ({metric}))")),
        );
        let first = |v: Option<Vec<Sample>>| v.and_then(|v| v.first().map(|s| s.1));
        PgssObservation { count_now: first(count_now), age: first(age), history: history.unwrap_or_default(), statements: first(statements), metric }
    }))
    .await;
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
    }
}

fn regex_escape(text: &str) -> String {
    text.chars().flat_map(|c| if c.is_ascii_alphanumeric() || c == '_' { vec![c] } else { vec!['\\', c] }).collect()
}

// ---------------------------------------------------------------------------------------------
// The checks.

type TargetKey = (String, String);

fn key_of(labels: &Labels) -> TargetKey {
    (labels.get("job").cloned().unwrap_or_default(), labels.get("instance").cloned().unwrap_or_default())
}

fn by_target(samples: &Option<Vec<Sample>>) -> BTreeMap<TargetKey, f64> {
    samples.iter().flatten().map(|(labels, v)| (key_of(labels), *v)).collect()
}

/// Turns observations into checks, worst first.
pub fn evaluate(obs: &Observations, rules: &StackRules) -> Vec<Check> {
    let mut checks = target_checks(obs, rules);
    checks.extend(required_job_checks(obs, rules));
    let down_since: BTreeMap<String, f64> = checks.iter().filter_map(|c| Some((c.job.clone(), c.since?))).collect();
    checks.extend(info_checks(obs, rules, &down_since));
    checks.extend(pgss_checks(obs, rules));
    checks.extend(postgres_checks(obs));
    checks.extend(patroni_checks(obs, rules));
    checks.sort_by(|a, b| b.status.cmp(&a.status).then(a.component.cmp(b.component)).then(a.name.cmp(&b.name)));
    checks
}

/// The jobs whose targets serve an info metric (from its history).
fn info_jobs(obs: &Observations) -> BTreeMap<String, String> {
    let mut jobs = BTreeMap::new();
    for info in &obs.info {
        for (labels, _) in &info.history {
            if let Some(job) = labels.get("job") {
                jobs.insert(job.clone(), info.metric.clone());
            }
        }
    }
    jobs
}

fn target_checks(obs: &Observations, rules: &StackRules) -> Vec<Check> {
    let up_history: BTreeMap<TargetKey, &Vec<(f64, f64)>> = obs.up.iter().flatten().map(|(l, points)| (key_of(l), points)).collect();
    let mut targets: BTreeMap<TargetKey, Target> = BTreeMap::new();
    for target in obs.targets.iter().flatten() {
        targets.insert((target.job.clone(), target.instance.clone()), target.clone());
    }
    // Without a targets API (Mimir, a VictoriaMetrics cluster's select path) `up` tells.
    if obs.targets.is_none() {
        for (key, points) in &up_history {
            if let Some(&(_, v)) = points.last().filter(|(t, _)| obs.at - t <= 300.0) {
                targets.insert(key.clone(), Target { job: key.0.clone(), instance: key.1.clone(), up: Some(v == 1.0), ..Default::default() });
            }
        }
    }
    let samples = by_target(&obs.samples_now);
    let samples_max = by_target(&obs.samples_max);
    let durations = by_target(&obs.durations);
    let timeouts = by_target(&obs.timeouts);
    let churn = by_target(&obs.churn);
    let info_jobs = info_jobs(obs);
    // Churn matters where pgss series live (a top-N exporter replaces them); elsewhere new
    // series are mostly benign (a TSDB's own histogram buckets appear one by one).
    let pgss_jobs: BTreeSet<String> = obs.pgss.iter().flat_map(|p| p.history.iter().filter_map(|(l, _)| l.get("job").cloned())).collect();
    let window = human_duration(rules.window.as_secs_f64());

    let mut checks = Vec::new();
    for ((job, instance), target) in targets {
        let key = (job.clone(), instance.clone());
        let mut problems: Vec<(Status, String, String)> = Vec::new();
        let mut since = None;
        let timeout = target.timeout.or_else(|| timeouts.get(&key).copied());
        let duration = durations.get(&key).copied().or(target.last_duration);
        if target.up.is_none() {
            problems.push((
                Status::Unknown,
                format!("{job} not scraped yet"),
                format!("Target {instance} of job {job} has not been scraped yet (the TSDB started recently or the target was just discovered)."),
            ));
        } else if target.up == Some(false) {
            let history = up_history.get(&key).map(|p| p.as_slice()).unwrap_or(&[]);
            since = down_since(history);
            let how_long = match since {
                Some(t) => format!(" for {}", human_duration(obs.at - t)),
                None => format!(" for more than {}", human_duration(obs.at - history.first().map(|p| p.0).unwrap_or(obs.at - rules.window.as_secs_f64()))),
            };
            let short = match since {
                Some(t) => format!("{job} down {}", human_duration(obs.at - t)),
                None => format!("{job} down > {}", human_duration(obs.at - history.first().map(|p| p.0).unwrap_or(obs.at - rules.window.as_secs_f64()))),
            };
            let error = if target.last_error.is_empty() { String::new() } else { format!(": {}", scrub(&target.last_error)) };
            let consequence = match info_jobs.get(&job) {
                Some(metric) => format!(" Its info metric {metric} is gone: pgss panels show queryids instead of names (the fallback keeps their data)."),
                None => String::new(),
            };
            let summary = if info_jobs.contains_key(&job) { format!("{short}: names unavailable") } else { short };
            problems.push((
                Status::Failing,
                summary,
                format!("Target {instance} of job {job} is down{how_long}{error}.{consequence} Check that the exporter runs and listens where the scrape config says."),
            ));
        } else {
            if let (Some(duration), Some(timeout)) = (duration, timeout) {
                if timeout > 0.0 && duration > 0.8 * timeout {
                    problems.push((
                        Status::Warning,
                        format!("{job} scrapes slow"),
                        format!("Scrapes of {instance} take {} of their {} timeout: one slower scrape and the target is marked down. Raise scrape_timeout or make the exporter faster.", seconds(duration), seconds(timeout)),
                    ));
                }
            }
            if let (Some(&now), Some(&max)) = (samples.get(&key), samples_max.get(&key)) {
                // A failed scrape reports 0 samples: that is a down target (or a TSDB that has
                // not caught up with a recovered one), not a collapse.
                if max > 0.0 && now > 0.0 && now < rules.collapse_fraction * max {
                    problems.push((
                        Status::Failing,
                        format!("{job} samples collapsed to {}%", percent(now / max)),
                        format!(
                            "The last scrape of {instance} returned {} samples, {}% of its maximum of {} in the last {window}: the exporter answers, but with part of its data (a cache emptied by a concurrent scrape does this). Panels built on it show gaps without an error.",
                            count(now), percent(now / max), count(max)
                        ),
                    ));
                }
            }
            // Against the recent maximum: a collapsed scrape must not look like churn.
            let size = samples.get(&key).copied().into_iter().chain(samples_max.get(&key).copied()).fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))));
            // Twice the size: one exporter restart re-adds every series once.
            if let (Some(&added), Some(now), true) = (churn.get(&key), size, pgss_jobs.contains(&job)) {
                if now > 0.0 && added > 2.0 * now {
                    problems.push((
                        Status::Warning,
                        format!("{job} series churn"),
                        format!(
                            "{instance} created {} new series in the last {window}, {:.1}× the {} it returns at most per scrape: labels that keep changing (a top-N list of statements, say) grow the TSDB and break rate().",
                            count(added), added / now, count(now)
                        ),
                    ));
                }
            }
        }
        let status = problems.iter().map(|p| p.0).max().unwrap_or(Status::Ok);
        let (summary, reason) = if problems.is_empty() {
            let mut figures = vec!["up".to_string()];
            if let Some(&n) = samples.get(&key) {
                figures.push(format!("{} samples", count(n)));
            }
            if let Some(d) = duration {
                figures.push(match timeout {
                    Some(t) => format!("scraped in {} (timeout {})", seconds(d), seconds(t)),
                    None => format!("scraped in {}", seconds(d)),
                });
            }
            (format!("{job} up"), figures.join(", "))
        } else {
            problems.sort_by(|a, b| b.0.cmp(&a.0));
            (problems[0].1.clone(), problems.iter().map(|p| p.2.clone()).collect::<Vec<_>>().join(" "))
        };
        checks.push(Check {
            component: "Scrape targets",
            name: format!("{job} {instance}"),
            job,
            instance,
            status,
            summary,
            reason,
            since,
        });
    }
    if obs.targets.is_none() && obs.up.is_none() {
        checks.push(unknown("Scrape targets", "targets", "targets unknown", "Neither /api/v1/targets nor the up metric answered in time."));
    }
    checks
}

/// When a target that is down now went down: the first point after its last `up == 1` (or
/// that last point itself, when the history has not caught up yet); None when it was not up at
/// any point of the history.
fn down_since(history: &[(f64, f64)]) -> Option<f64> {
    let last_up = history.iter().rposition(|&(_, v)| v == 1.0)?;
    history.get(last_up + 1).or(history.get(last_up)).map(|p| p.0)
}

fn required_job_checks(obs: &Observations, rules: &StackRules) -> Vec<Check> {
    let mut jobs: BTreeSet<String> = obs.targets.iter().flatten().map(|t| t.job.clone()).collect();
    jobs.extend(obs.up.iter().flatten().filter_map(|(l, _)| l.get("job").cloned()));
    let known = obs.targets.is_some() || obs.up.is_some();
    rules
        .required_jobs
        .iter()
        .filter(|job| !jobs.contains(*job))
        .map(|job| {
            if !known {
                return unknown("Scrape targets", job, &format!("{job} unknown"), "The TSDB did not say which targets it scrapes.");
            }
            Check {
                component: "Scrape targets",
                name: format!("{job} (required)"),
                job: job.clone(),
                instance: String::new(),
                status: Status::Failing,
                summary: format!("{job} missing"),
                reason: format!("Job {job} is required by the datasource settings but the TSDB scrapes no target of it: its scrape config is missing or its service discovery finds nothing."),
                since: None,
            }
        })
        .collect()
}

/// `down_since`: when each job's target went down (its info series went with it).
fn info_checks(obs: &Observations, rules: &StackRules, down_since: &BTreeMap<String, f64>) -> Vec<Check> {
    let statements = obs.pgss.iter().find_map(|p| p.statements);
    let mut checks = Vec::new();
    for info in &obs.info {
        let job = info.history.iter().find_map(|(l, _)| l.get("job").cloned()).unwrap_or_default();
        let last_seen = newest_point(&info.history);
        let check = |status, summary: String, reason: String, since| Check {
            component: "Query names",
            name: info.metric.clone(),
            job: job.clone(),
            instance: String::new(),
            status,
            summary,
            reason,
            since,
        };
        match (info.count_now, last_seen) {
            (None, None) if rules.info_metrics.contains(&info.metric) => checks.push(check(
                Status::Warning,
                format!("{} absent", info.metric),
                format!("The info metric {} is configured but has no series in the last {}: check its exporter and the scrape config.", info.metric, human_duration(rules.window.as_secs_f64())),
                None,
            )),
            (None, None) => {}
            (None, Some(seen)) => {
                let seen = down_since.get(&job).copied().unwrap_or(seen);
                checks.push(check(
                Status::Failing,
                format!("{} gone: names unavailable", info.metric),
                format!(
                    "{} has had no series for {} ({}): pgss panels that join it show queryids instead of names; pgscope's fallback keeps their data. Restart the exporter that serves it{}.",
                    info.metric,
                    human_duration(obs.at - seen),
                    if job.is_empty() { "its job is unknown".to_string() } else { format!("job {job}") },
                    if job.is_empty() { String::new() } else { format!(" ({job})") }
                ),
                Some(seen),
            ))
            }
            (Some(count_now), _) => {
                let named = info.named.zip(statements).filter(|(_, total)| *total > 0.0);
                match named {
                    Some((named, total)) if named / total < 0.9 => checks.push(check(
                        Status::Warning,
                        format!("{}% of statements named", percent(named / total)),
                        format!(
                            "{} names {} of the {} statements in pg_stat_statements ({}%): the others show as queryids. The info exporter may read fewer statements than the pgss exporter, or lag behind new ones.",
                            info.metric, count(named), count(total), percent(named / total)
                        ),
                        None,
                    )),
                    _ => checks.push(check(
                        Status::Ok,
                        format!("{} names", count(count_now)),
                        match named {
                            Some((named, total)) => format!("{} series; {} of {} statements named", count(count_now), count(named), count(total)),
                            None => format!("{} series", count(count_now)),
                        },
                        None,
                    )),
                }
            }
        }
    }
    checks
}

/// The time of the newest point of a range answer, if it has any.
fn newest_point(history: &[Series]) -> Option<f64> {
    history.iter().flat_map(|(_, points)| points.iter().map(|p| p.0)).reduce(f64::max)
}

fn pgss_checks(obs: &Observations, rules: &StackRules) -> Vec<Check> {
    let stale_after = (3.0 * rules.scrape_interval.as_secs_f64()).max(60.0);
    let mut checks = Vec::new();
    for pgss in &obs.pgss {
        let last_seen = newest_point(&pgss.history);
        let (status, summary, reason, since) = match (pgss.count_now, pgss.age) {
            (Some(n), Some(age)) if age <= stale_after => (
                Status::Ok,
                format!("{} series", count(n)),
                format!("{} series, newest sample {} old", count(n), human_duration(age)),
                None,
            ),
            (Some(_), Some(age)) => (
                Status::Warning,
                format!("pgss data {} old", human_duration(age)),
                format!("The newest {} sample is {} old (more than 3 scrape intervals): the exporter scrapes slowly or fails part of the time.", pgss.metric, human_duration(age)),
                Some(obs.at - age),
            ),
            _ => (
                Status::Failing,
                "pgss data stale".into(),
                format!(
                    "{} has no current sample{}: pgss panels go blank. Check postgres_exporter (or pgwatch) and its stat_statements collector.",
                    pgss.metric,
                    last_seen.map(|t| format!(" (last seen {} ago)", human_duration(obs.at - t))).unwrap_or_default()
                ),
                last_seen,
            ),
        };
        checks.push(Check { component: "pgss data", name: pgss.metric.clone(), job: String::new(), instance: String::new(), status, summary, reason, since });
    }
    if obs.pgss.is_empty() {
        checks.push(Check {
            component: "pgss data",
            name: "pg_stat_statements metrics".into(),
            job: String::new(),
            instance: String::new(),
            status: Status::Warning,
            summary: "no pgss metrics".into(),
            reason: format!(
                "None of {} has a series in the last {}: no exporter feeds pg_stat_statements into this TSDB (postgres_exporter needs --collector.stat_statements).",
                PGSS_CALLS_METRICS.join(", "),
                human_duration(rules.window.as_secs_f64())
            ),
            since: None,
        });
    }
    checks
}

fn postgres_checks(obs: &Observations) -> Vec<Check> {
    let Some(samples) = &obs.postgres else {
        return vec![unknown("PostgreSQL", "exporters", "PostgreSQL unknown", "The TSDB did not answer the pg_up query in time.")];
    };
    let mut by_instance: BTreeMap<TargetKey, Vec<(&str, f64)>> = BTreeMap::new();
    for (labels, value) in samples {
        let name = labels.get("__name__").map(String::as_str).unwrap_or("pg_up");
        let metric = POSTGRES_METRICS.iter().find(|m| **m == name).copied().unwrap_or("pg_up");
        let mut key = key_of(labels);
        if let Some(server) = labels.get("server").or(labels.get("dbname")) {
            key.1 = format!("{} ({server})", key.1);
        }
        by_instance.entry(key).or_default().push((metric, *value));
    }
    by_instance
        .into_iter()
        .map(|((job, instance), values)| {
            let down = values.iter().any(|(m, v)| (*m == "pg_up" || *m == "pgwatch_instance_up") && *v == 0.0);
            let error = values.iter().any(|(m, v)| *m == "pg_exporter_last_scrape_error" && *v == 1.0);
            let (status, summary, reason) = if down {
                (Status::Failing, format!("{job}: PostgreSQL down"), format!("The exporter {instance} cannot reach PostgreSQL (pg_up = 0): the server is down or the exporter's connection string / role is wrong."))
            } else if error {
                (Status::Warning, format!("{job}: scrape errors"), format!("The exporter {instance} had an error in its last scrape of PostgreSQL (pg_exporter_last_scrape_error = 1): a custom query failed or timed out; its log says which."))
            } else {
                (Status::Ok, format!("{job}: PostgreSQL up"), format!("The exporter {instance} reaches PostgreSQL."))
            };
            Check { component: "PostgreSQL", name: format!("{job} {instance}"), job, instance, status, summary, reason, since: None }
        })
        .collect()
}

fn patroni_checks(obs: &Observations, rules: &StackRules) -> Vec<Check> {
    let Some(samples) = &obs.patroni else {
        return Vec::new();
    };
    #[derive(Default)]
    struct Member {
        values: BTreeMap<String, f64>,
    }
    let mut scopes: BTreeMap<String, BTreeMap<String, Member>> = BTreeMap::new();
    for (labels, value) in samples {
        let scope = labels.get("scope").cloned().unwrap_or_default();
        let member = labels.get("name").or(labels.get("instance")).cloned().unwrap_or_default();
        let metric = labels.get("__name__").cloned().unwrap_or_default();
        scopes.entry(scope).or_default().entry(member).or_default().values.insert(metric, *value);
    }
    let timeline_min: BTreeMap<String, f64> = obs
        .patroni_timeline_min
        .iter()
        .flatten()
        .map(|(l, v)| (l.get("scope").cloned().unwrap_or_default(), *v))
        .fold(BTreeMap::new(), |mut m, (scope, v)| {
            let e = m.entry(scope).or_insert(v);
            *e = e.min(v);
            m
        });
    let window = human_duration(rules.window.as_secs_f64());
    scopes
        .into_iter()
        .map(|(scope, members)| {
            let mut problems: Vec<(Status, String, String)> = Vec::new();
            let is_primary = |m: &Member| m.values.get("patroni_primary").or(m.values.get("patroni_master")).copied() == Some(1.0);
            let primaries: Vec<&String> = members.iter().filter(|(_, m)| is_primary(m)).map(|(name, _)| name).collect();
            match primaries.len() {
                1 => {}
                0 => problems.push((Status::Failing, format!("{scope}: no primary"), format!("No member of Patroni cluster {scope} is primary ({}): writes fail until a leader is elected.", plural(members.len(), "member reports", "members report")))),
                n => problems.push((Status::Failing, format!("{scope}: {n} primaries"), format!("{n} members of {scope} say they are primary ({}): split brain, stop one now.", primaries.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")))),
            }
            let timeline = members.values().filter_map(|m| m.values.get("patroni_postgres_timeline").copied()).fold(f64::NAN, f64::max);
            if let Some(&first) = timeline_min.get(&scope) {
                if timeline.is_finite() && timeline > first {
                    problems.push((Status::Warning, format!("{scope}: timeline changed"), format!("The timeline of {scope} went from {first} to {timeline} in the last {window}: a failover or switchover happened; check why and that replicas followed.")));
                }
            }
            if members.values().any(|m| m.values.get("patroni_is_paused") == Some(&1.0)) {
                problems.push((Status::Warning, format!("{scope}: paused"), format!("Patroni cluster {scope} is in maintenance mode (paused): automatic failover is off.")));
            }
            let pending: Vec<&String> = members.iter().filter(|(_, m)| m.values.get("patroni_pending_restart") == Some(&1.0)).map(|(n, _)| n).collect();
            if !pending.is_empty() {
                problems.push((Status::Warning, format!("{scope}: restart pending"), format!("Members of {scope} with settings waiting for a restart: {}.", pending.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", "))));
            }
            for (name, member) in &members {
                if let Some(&seen) = member.values.get("patroni_dcs_last_seen") {
                    let age = obs.at - seen;
                    if seen > 0.0 && age > rules.patroni_ttl.as_secs_f64() {
                        problems.push((Status::Failing, format!("{scope}: DCS unreachable"), format!("Member {name} of {scope} last reached the DCS {} ago (TTL {}): it cannot hold or renew the leader lock.", human_duration(age), human_duration(rules.patroni_ttl.as_secs_f64()))));
                    }
                }
            }
            let status = problems.iter().map(|p| p.0).max().unwrap_or(Status::Ok);
            problems.sort_by(|a, b| b.0.cmp(&a.0));
            let (summary, reason) = match problems.first() {
                None => (
                    format!("{scope}: healthy"),
                    format!("{}, primary {}, timeline {}", plural(members.len(), "member", "members"), primaries.first().map(|s| s.as_str()).unwrap_or("?"), if timeline.is_finite() { timeline.to_string() } else { "?".into() }),
                ),
                Some(first) => (first.1.clone(), problems.iter().map(|p| p.2.clone()).collect::<Vec<_>>().join(" ")),
            };
            Check { component: "Patroni", name: scope.clone(), job: String::new(), instance: String::new(), status, summary, reason, since: None }
        })
        .collect()
}

fn unknown(component: &'static str, name: &str, summary: &str, reason: &str) -> Check {
    Check {
        component,
        name: name.to_string(),
        job: String::new(),
        instance: String::new(),
        status: Status::Unknown,
        summary: summary.to_string(),
        reason: reason.to_string(),
        since: None,
    }
}

/// Scrape errors quote URLs, which may carry credentials (`http://user:pass@host`).
fn scrub(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split_inclusive(|c: char| c.is_whitespace() || c == '"') {
        match (word.find("://"), word.find('@')) {
            (Some(scheme), Some(at)) if at > scheme => {
                out.push_str(&word[..scheme + 3]);
                out.push_str("<redacted>@");
                out.push_str(&word[at + 1..]);
            }
            _ => out.push_str(word),
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Text.

/// "12 min", "3 h 5 min", "45 s".
pub fn human_duration(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    match s {
        0..=89 => format!("{s} s"),
        90..=5399 => format!("{} min", (s + 30) / 60),
        5400..=172_799 => {
            let (h, m) = (s / 3600, (s % 3600 + 30) / 60);
            if m == 0 || h >= 10 { format!("{} h", (s + 1800) / 3600) } else { format!("{h} h {m} min") }
        }
        _ => format!("{} d", (s + 43_200) / 86_400),
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn seconds(s: f64) -> String {
    if s < 1.0 {
        format!("{} ms", (s * 1000.0).round())
    } else {
        format!("{:.1} s", s)
    }
}

fn count(n: f64) -> String {
    let n = n.round() as i64;
    let digits = n.abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

fn percent(share: f64) -> String {
    let p = share * 100.0;
    if p < 1.0 { format!("{:.2}", p) } else { format!("{:.0}", p) }
}

/// The one-line stack summary for Save & test: "5 of 6 targets up · query-info down 12 min:
/// names unavailable". Problems worst first, at most four.
pub fn summary_line(checks: &[Check]) -> String {
    let targets: Vec<&Check> = checks.iter().filter(|c| c.component == "Scrape targets" && !c.instance.is_empty()).collect();
    let up = targets.iter().filter(|c| !c.summary.contains(" down")).count();
    let mut parts = Vec::new();
    if !targets.is_empty() {
        parts.push(format!("{up} of {} targets up", targets.len()));
    }
    let problems: Vec<&Check> = checks.iter().filter(|c| c.status >= Status::Warning).collect();
    // A down info job already says "names unavailable"; the info check would repeat it.
    let down_info_jobs: BTreeSet<&str> = problems.iter().filter(|c| c.summary.ends_with("names unavailable") && c.component == "Scrape targets").map(|c| c.job.as_str()).collect();
    let problems: Vec<&&Check> = problems.iter().filter(|c| !(c.component == "Query names" && down_info_jobs.contains(c.job.as_str()))).collect();
    for check in problems.iter().take(4) {
        parts.push(check.summary.clone());
    }
    if problems.len() > 4 {
        let more = problems.len() - 4;
        parts.push(format!("{more} more problem{}", if more == 1 { "" } else { "s" }));
    }
    if problems.is_empty() {
        parts.push("stack healthy".into());
    }
    parts.join(" · ")
}

/// One line per check for the health details: "[failing] Scrape targets / query-info …: reason".
pub fn verbose_lines(checks: &[Check]) -> String {
    checks.iter().map(|c| format!("[{}] {} / {}: {}", c.status.as_str(), c.component, c.name, c.reason)).collect::<Vec<_>>().join("\n")
}

// ---------------------------------------------------------------------------------------------
// Frames for the `stackHealth` query type.

/// Frame meta `custom.pgscope` values the panel recognises.
pub const FRAME_KIND_CHECKS: &str = "stackHealth";
pub const FRAME_KIND_SPARKLINE: &str = "stackHealth.sparkline";

fn custom_meta(kind: &str, frame_type: &str, extra: &[(&str, &str)]) -> Option<FrameMeta> {
    let custom = extra.iter().map(|(k, v)| ((*k).to_string(), serde_json::Value::from(*v))).collect();
    Some(FrameMeta::pgscope(kind, frame_type, custom))
}

/// The value a sparkline ends on: the target's state now (targets API) or its last scrape's
/// sample count, so a tile never shows an OK target whose line still ends at its old 0.
fn current_value(measure: &str, obs: &Observations, job: Option<&String>, instance: Option<&String>) -> Option<f64> {
    let (job, instance) = (job?, instance?);
    match measure {
        "up" => obs.targets.iter().flatten().find(|t| &t.job == job && &t.instance == instance)?.up.map(|up| f64::from(u8::from(up))),
        _ => obs
            .samples_now
            .iter()
            .flatten()
            .find(|(labels, _)| labels.get("job") == Some(job) && labels.get("instance") == Some(instance))
            .map(|(_, v)| *v),
    }
}

/// The checks as one table frame (worst first) plus sparklines of `up` and
/// `scrape_samples_scraped` per target, each ending at the evaluation time with the value now.
pub fn frames(checks: &[Check], obs: &Observations) -> Vec<Frame> {
    let strings = |f: fn(&Check) -> String| Values::String(checks.iter().map(f).collect());
    let table = Frame {
        name: "stack health".into(),
        ref_id: String::new(),
        meta: custom_meta(FRAME_KIND_CHECKS, "table", &[]),
        fields: vec![
            Field::new("status", strings(|c| c.status.as_str().into())),
            Field::new("severity", Values::Float64(checks.iter().map(|c| c.status as u8 as f64).collect())),
            Field::new("component", strings(|c| c.component.into())),
            Field::new("check", strings(|c| c.name.clone())),
            Field::new("job", strings(|c| c.job.clone())),
            Field::new("instance", strings(|c| c.instance.clone())),
            Field::new("summary", strings(|c| c.summary.clone())),
            Field::new("reason", strings(|c| c.reason.clone())),
            Field::new("for_seconds", Values::Float64(checks.iter().map(|c| c.since.map(|t| obs.at - t).unwrap_or(f64::NAN)).collect())),
        ],
    };
    let mut frames = vec![table];
    for (measure, series) in [("up", &obs.up), ("samples", &obs.samples)] {
        for (labels, points) in series.iter().flatten() {
            let mut kept = Labels::new();
            for name in ["job", "instance"] {
                if let Some(v) = labels.get(name) {
                    kept.insert(name.into(), v.clone());
                }
            }
            let mut points = points.clone();
            let now = current_value(measure, obs, labels.get("job"), labels.get("instance"));
            if let Some(now) = now.filter(|_| points.last().is_none_or(|last| last.0 < obs.at)) {
                points.push((obs.at, now));
            }
            frames.push(Frame {
                name: measure.into(),
                ref_id: String::new(),
                meta: custom_meta(FRAME_KIND_SPARKLINE, "timeseries-multi", &[("measure", measure)]),
                fields: vec![
                    Field::new("Time", Values::Time(points.iter().map(|p| (p.0 * 1000.0).round() as i64).collect())),
                    Field::new("Value", Values::Float64(points.iter().map(|p| p.1).collect())).with_labels(kept),
                ],
            });
        }
    }
    frames
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_read_the_same_whichever_way_they_are_parsed() {
        let typed = br#"{"status":"success","data":{"resultType":"vector","result":[
            {"metric":{"queryid":"1"},"value":[1700000000,"2.5"]},
            {"metric":{"queryid":"2"},"value":[1700000000,"\u0031e3"]},
            {"metric":{},"value":[1700000000,"not a number"]}]}}"#;
        // A repeated member fails the typed read: the same answer through the `Value` tree.
        let untyped = String::from_utf8_lossy(typed).replace(r#""resultType":"vector","#, r#""resultType":"matrix","resultType":"vector","#);
        assert!(untyped.contains(r#""resultType":"matrix","resultType""#));
        let expected = vec![(Labels::from([("queryid".to_string(), "1".to_string())]), 2.5), (Labels::from([("queryid".to_string(), "2".to_string())]), 1000.0)];
        assert_eq!(parse_vector(typed), Some(expected.clone()));
        assert_eq!(parse_vector(untyped.as_bytes()), Some(expected), "the fallback reads escaped values too");
        assert_eq!(parse_vector(br#"{"status":"success","data":{"resultType":"scalar","result":[1700000000,"4"]}}"#), Some(vec![(Labels::new(), 4.0)]));
        assert_eq!(parse_vector(br#"{"status":"error","errorType":"bad_data","error":"x"}"#), None);
        assert_eq!(parse_vector(br#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#), None);
    }

    #[test]
    fn borrowed_labels_read_like_owned_ones() {
        let owned = |body: &[u8]| parse_vector(body).map(|samples| samples.into_iter().map(|(l, v)| (LabelsRef::from(l), v)).collect::<Vec<_>>());
        let typed = br#"{"status":"success","data":{"resultType":"vector","result":[
            {"metric":{"__name__":"calls","queryid":"1","datname":"a\"b\u00e9"},"value":[1700000000,"2.5"]},
            {"metric":{"queryid":"2","queryid":"3"},"value":[1700000000,"1e3"]},
            {"value":[1700000000,"4"]},
            {"metric":{"queryid":"4"},"value":[1700000000,"NaN-ish"]}]}}"#;
        let samples = parse_vector_ref(typed).unwrap();
        assert_eq!(samples.len(), 3, "a value that is no number is left out");
        let sorted = |l: &LabelsRef| {
            let mut pairs: Vec<(String, String)> = l.0.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            pairs.sort();
            pairs
        };
        for ((a, x), (b, y)) in samples.iter().zip(owned(typed).unwrap()) {
            assert_eq!((sorted(a), x), (sorted(&b), &y));
        }
        assert_eq!(samples[0].0.label("datname"), Some("a\"bé"), "escapes read");
        assert!(matches!(samples[0].0 .0[1].1, Cow::Borrowed("1")), "no copy without escapes");
        assert_eq!(samples[1].0.label("queryid"), Some("3"), "a repeated name keeps its last value, as Labels does");
        assert_eq!(samples[2].0, LabelsRef::default());
        assert_eq!(LabelSet::label(&Labels::from([("a".to_string(), "b".to_string())]), "a"), Some("b"));
        // Shapes only the `Value` reading takes, a scalar and failures: as parse_vector reads them.
        let untyped = String::from_utf8_lossy(typed).replace(r#""resultType":"vector","#, r#""resultType":"matrix","resultType":"vector","#);
        for body in [untyped.as_bytes(), br#"{"status":"success","data":{"resultType":"scalar","result":[1700000000,"4"]}}"#, br#"{"status":"error","error":"x"}"#, b"<html>"] {
            assert_eq!(parse_vector_ref(body), owned(body));
        }
        assert_eq!(parse_vector_ref(untyped.as_bytes()).map(|s| s.len()), Some(3));
    }

    #[test]
    fn durations_read_like_a_person_wrote_them() {
        assert_eq!(human_duration(4.2), "4 s");
        assert_eq!(human_duration(720.0), "12 min");
        assert_eq!(human_duration(3600.0 + 300.0), "65 min");
        assert_eq!(human_duration(2.0 * 3600.0 + 600.0), "2 h 10 min");
        assert_eq!(human_duration(30.0 * 3600.0), "30 h");
        assert_eq!(human_duration(3.0 * 86400.0), "3 d");
        assert_eq!(count(117000.0), "117,000");
        assert_eq!(percent(54.0 / 117000.0), "0.05");
    }

    #[test]
    fn down_since_is_the_start_of_the_last_run_of_zeros() {
        assert_eq!(down_since(&[(0.0, 1.0), (30.0, 1.0), (60.0, 0.0), (90.0, 0.0)]), Some(60.0));
        assert_eq!(down_since(&[(0.0, 0.0), (30.0, 0.0)]), None);
        assert_eq!(down_since(&[(0.0, 1.0), (30.0, 0.0), (60.0, 1.0), (90.0, 0.0)]), Some(90.0));
        assert_eq!(down_since(&[(0.0, 1.0), (30.0, 1.0)]), Some(30.0), "the history lags the targets API");
    }

    #[test]
    fn credentials_in_scrape_errors_are_removed() {
        let text = r#"error when scraping "http://admin:hunter2@10.0.0.1:9187/metrics": dial tcp"#;
        let scrubbed = scrub(text);
        assert!(!scrubbed.contains("hunter2") && !scrubbed.contains("admin"), "{scrubbed}");
        assert!(scrubbed.contains("http://<redacted>@10.0.0.1:9187/metrics"), "{scrubbed}");
    }
}
