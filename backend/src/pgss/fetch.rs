//! Running the pgss query types against the TSDB: the schema detected (cached a minute per
//! datasource in `PgssState`), one PromQL per measure run concurrently with the names, joined by
//! (database, queryid) in `analysis`, then the sparklines for the rows shown; names PostgreSQL
//! gives the statements nothing else names (`postgres`). The answers become frames in `frames`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures_util::future::join_all;

use super::analysis::{self, per_call_series};
use super::catalog::{names_pattern, Measure, Source, WAIT_SOURCES};
use super::frames::{self, QueryIdentity, TopTable};
use super::names::{short_name, NameSource, Names};
use super::plan::{info_selector, parse_queryid, rate_window, seconds, OneModel, Span, TopPlan, TopQuery};
use super::postgres::{Location, PgFleet, PgNames};
use super::schema::{detect, Schema};
use crate::duration::format_go;
use crate::failure::QueryFailure;
use crate::frame::{Frame, Notice, Severity};
use crate::prom::client::{ClientError, JsonAnswer, PromClient};
use crate::promql_text::{QueryidSample, SAMPLE_ABOVE};
use crate::prom::read::{answer_error, LabelSet, parse_matrix, parse_names, parse_vector, parse_vector_ref, Sample, SampleRef, Series};
use crate::settings::pg_servers::PgServers;

const SCHEMA_TTL: Duration = Duration::from_secs(60);

/// What the pgss query types keep per datasource instance: the detected schema (a minute), the
/// TSDB's verdicts on the MetricsQL pgscope uses, and the PostgreSQL name resolver when configured.
/// Rebuilt with the instance when the datasource's settings change.
#[derive(Default)]
pub struct PgssState {
    schema: Mutex<Option<(Instant, Schema)>>,
    /// The MetricsQL the TSDB refused once (Prometheus), by `Metricsql`: not asked again.
    refused: [AtomicBool; 2],
    names: PgFleet,
    /// The last statement count by its query (the filters and window in it): past
    /// `SAMPLE_ABOVE` statements the next one is taken on a sample (`statements_sample`).
    statement_counts: Mutex<HashMap<String, f64>>,
    /// `SAMPLE_ABOVE` unless set (`with_sample_above`).
    sample_above: Option<f64>,
}

/// The most statement counts `PgssState` remembers (one per filter set and window asked).
const MAX_REMEMBERED_COUNTS: usize = 256;

/// The MetricsQL (VictoriaMetrics) pgscope asks where the TSDB takes it, with a PromQL way for
/// the others: `keep_metric_names` (every measure's increase in one query instead of one per
/// measure) and `topk_last` with an other label (the ranking and the share's total in one read).
#[derive(Debug, Clone, Copy)]
pub(super) enum Metricsql {
    KeepMetricNames = 0,
    TopkRest = 1,
}

impl Metricsql {
    /// The word a TSDB's refusal names.
    fn word(self) -> &'static str {
        match self {
            Metricsql::KeepMetricNames => "keep_metric_names",
            Metricsql::TopkRest => "topk_last",
        }
    }

    /// Whether a refusal's text is about this MetricsQL. VictoriaMetrics quotes the whole query
    /// in its errors (a bad filter regex included), so a function is refused only where the
    /// TSDB says it does not know it (Prometheus: `unknown function with name "topk_last"`).
    fn refused_in(self, text: &str) -> bool {
        text.contains(self.word()) && (matches!(self, Metricsql::KeepMetricNames) || text.contains("unknown function"))
    }
}

impl PgssState {
    pub fn new(servers: PgServers) -> PgssState {
        PgssState { names: PgFleet::new(servers), ..Default::default() }
    }

    /// Statement counts sampled past `series` statements instead of `SAMPLE_ABOVE`: the sampled
    /// path on a fixture of hundreds of statements (tests).
    pub fn with_sample_above(self, series: f64) -> PgssState {
        PgssState { sample_above: Some(series), ..self }
    }

    /// The sample the statement count `whole` is to be taken on: where it last counted past
    /// `SAMPLE_ABOVE` statements (a fleet's count reads every statement's calls series, as long
    /// as the ranking itself, and a tenth of them is as good an estimate). None: count whole.
    pub(super) fn statements_sample(&self, whole: &str) -> Option<QueryidSample> {
        let last = self.statement_counts.lock().ok()?.get(whole).copied();
        QueryidSample::for_series(last, self.sample_above()).filter(|s| s.digits > 0)
    }

    /// Fewer statements than this in a sample do not stand for the whole (the fleet shrank, or
    /// the filters changed what it holds): the count is asked whole.
    pub(super) fn min_sampled(&self) -> f64 {
        self.sample_above() / 20.0
    }

    fn sample_above(&self) -> f64 {
        self.sample_above.unwrap_or(SAMPLE_ABOVE)
    }

    pub(super) fn remember_statements(&self, whole: &str, count: f64) {
        if let Ok(mut counts) = self.statement_counts.lock() {
            if counts.len() >= MAX_REMEMBERED_COUNTS && !counts.contains_key(whole) {
                counts.clear();
            }
            counts.insert(whole.to_string(), count);
        }
    }

    /// The PostgreSQL server for requests that name none (index advice): `pgssConnection`, or
    /// the only server of `pgssServers`.
    pub fn pg_names(&self) -> Option<&PgNames> {
        self.names.primary()
    }

    /// Every PostgreSQL server (Save & test).
    pub fn pg_fleet(&self) -> &PgFleet {
        &self.names
    }

    /// Whether `what` may be asked: the TSDB has not refused it.
    pub(super) fn metricsql(&self, what: Metricsql) -> bool {
        !self.refused[what as usize].load(Ordering::Relaxed)
    }

    /// Whether `answer` is the TSDB refusing `what`, remembered: it cannot parse it and says so
    /// with a 400 or 422 (bad_data) naming it. Any other refusal (a bad filter regex) is the
    /// user's error and is reported as such.
    pub(super) fn refused(&self, what: Metricsql, answer: &JsonAnswer) -> bool {
        let refused = matches!(answer.status.as_u16(), 400 | 422) && what.refused_in(&String::from_utf8_lossy(&answer.body));
        if refused {
            tracing::debug!(status = %answer.status, what = what.word(), "the TSDB refused MetricsQL: its PromQL way from now on");
            self.refused[what as usize].store(true, Ordering::Relaxed);
        }
        refused
    }
}

/// A TSDB answer parsed by `parse`, or why not: a non-2xx status or a body that is not the
/// expected result (in the TSDB's own words when it gave them). What `parse` returns may
/// borrow from the body.
pub(super) fn read<'a, T>(what: &str, answer: &'a JsonAnswer, parse: fn(&'a [u8]) -> Option<T>) -> Result<T, QueryFailure> {
    answer.status.is_success().then(|| parse(&answer.body)).flatten().ok_or_else(|| QueryFailure::tsdb(502, answer_error(what, answer)))
}

pub(super) async fn instant(client: &PromClient, expr: &str, at: f64) -> Result<Vec<Sample>, QueryFailure> {
    read(expr, &client.query_instant(expr, at, None).await?, parse_vector)
}

pub(super) async fn range(client: &PromClient, expr: &str, span: &Span, step: Duration) -> Result<Vec<Series>, QueryFailure> {
    read(expr, &client.query_range(expr, span.from, span.to, step).await?, parse_matrix)
}

/// The schema the TSDB holds (metric names seen in the last `window` before `at`), or the one
/// the settings name; cached for a minute per datasource instance.
pub async fn schema(client: &PromClient, state: &PgssState, at: f64, window: f64) -> Result<Schema, QueryFailure> {
    schema_from(client, state, client.metric_names(at, window, None)).await
}

/// `schema` with the metric names' lookup given (Save & test shares one with its other checks);
/// it is not awaited while the cached schema is fresh. Every metric name in the range, without a
/// `match[]` (`PromClient::metric_names`): with one, a fleet's 100,000 statements x 19 measures
/// pass VictoriaMetrics' 300,000-series limit (-search.maxUniqueTimeseries) and detection fails.
pub async fn schema_from(
    client: &PromClient,
    state: &PgssState,
    names: impl std::future::Future<Output = Result<JsonAnswer, ClientError>>,
) -> Result<Schema, QueryFailure> {
    if let Some((when, schema)) = state.schema.lock().ok().and_then(|c| c.clone()) {
        if when.elapsed() < SCHEMA_TTL {
            return Ok(schema);
        }
    }
    let answer = names.await?;
    let known = names_pattern();
    let known: std::collections::HashSet<&str> = known.split('|').chain(WAIT_SOURCES.iter().map(|w| w.metric)).collect();
    let names: Vec<String> = read("label names", &answer, parse_names)?.into_iter().filter(|n| known.contains(n.as_str())).collect();
    let schema = detect(&names, client.settings().pgss_schema.as_deref()).map_err(|e| QueryFailure::new("no_data", 404, e))?;
    if let Ok(mut cache) = state.schema.lock() {
        *cache = Some((Instant::now(), schema.clone()));
    }
    Ok(schema)
}

/// Parses a `pgssTopQueries` query and plans its requests (detecting the schema, cached).
pub async fn plan_top(client: &PromClient, state: &PgssState, json: &[u8], span: &Span) -> Result<TopPlan, QueryFailure> {
    let query = TopQuery::parse(json, span)?;
    let schema = schema(client, state, span.to, query.window).await?;
    Ok(TopPlan::build(query, schema, client.settings()))
}

/// Texts PostgreSQL gives the statements nothing else names, when PostgreSQL servers are set;
/// and why some may be missing. Their series' labels unknown, each is asked of every server.
pub(super) async fn postgres_names(state: &PgssState, wanted: Vec<(String, String)>) -> (Names, Option<String>) {
    postgres_names_at(state, wanted.into_iter().map(|key| (key, None)).collect()).await
}

/// The same, each statement asked of the server of its series' instance or cluster.
pub(super) async fn postgres_names_at(state: &PgssState, wanted: Vec<((String, String), Option<Location>)>) -> (Names, Option<String>) {
    if state.names.is_empty() || wanted.is_empty() {
        return (Names::default(), None);
    }
    let lookup = state.names.resolve(&wanted).await;
    let names = Names::exact(lookup.texts.into_iter().map(|((db, id), text)| (db, id, short_name(&text, 80), text)));
    (names, lookup.error)
}

/// The increases' answers: one holding every measure (by metric name), or one per measure.
pub(super) enum Increases {
    Combined(JsonAnswer),
    PerMeasure(Vec<JsonAnswer>),
}

/// Every measure's increase per statement: in one query where the TSDB keeps metric names
/// (VictoriaMetrics), else one query per measure, concurrently. Read by `by_measure`.
pub(super) async fn increases(client: &PromClient, state: &PgssState, per_measure: &[(Measure, String)], combined: &str, at: f64) -> Result<Increases, QueryFailure> {
    if state.metricsql(Metricsql::KeepMetricNames) {
        let answer = client.query_instant(combined, at, None).await?;
        if !state.refused(Metricsql::KeepMetricNames, &answer) {
            return Ok(Increases::Combined(answer));
        }
    }
    let answers = join_all(per_measure.iter().map(|(_, expr)| client.query_instant(expr, at, None))).await;
    answers.into_iter().map(|a| a.map_err(QueryFailure::from)).collect::<Result<_, _>>().map(Increases::PerMeasure)
}

/// The increases' samples per measure the schema has, labels borrowed from the answers.
pub(super) fn by_measure<'a>(schema: &Schema, answers: &'a Increases, per_measure: &[(Measure, String)], combined: &str) -> Result<Vec<(Measure, Vec<SampleRef<'a>>)>, QueryFailure> {
    match answers {
        Increases::Combined(answer) => {
            let mut by_measure: Vec<(Measure, Vec<SampleRef>)> = schema.present.iter().map(|s| (s.measure, Vec::new())).collect();
            for (labels, value) in read(combined, answer, parse_vector_ref)? {
                let Some(i) = labels.label("__name__").and_then(|name| schema.present.iter().position(|s| s.metric == name)) else { continue };
                by_measure[i].1.push((labels, value));
            }
            Ok(by_measure)
        }
        // One answer per query, in the order of `per_measure`.
        Increases::PerMeasure(answers) => answers.iter().zip(per_measure).map(|(answer, (m, expr))| read(expr, answer, parse_vector_ref).map(|samples| (*m, samples))).collect(),
    }
}

/// `pgssTopQueries` ranked in the plugin: every statement's increase for every measure
/// fetched and ranked here. Its answer grows with the fleet (past ~30,000 statements it passes
/// `maxResponseMb`); kept as the reference `top::top_queries` (ranked in the TSDB) is tested
/// and benchmarked against: one wide table of statements plus a sparkline frame per row.
pub async fn top_queries_in_plugin(client: &PromClient, state: &PgssState, json: &[u8], span: Span) -> Result<Vec<Frame>, QueryFailure> {
    let plan = plan_top(client, state, json, &span).await?;
    let TopPlan { query, schema, measures: measure_exprs, combined, step, info: info_expr, .. } = &plan;
    // The increases and the names together; the sparklines after ranking, for the rows shown
    // only (the TSDB reads 20 statements' series instead of all of them).
    let (measures, names) = tokio::join!(increases(client, state, measure_exprs, combined, span.to), instant(client, info_expr, span.to));
    let measures = measures?;
    let answers = by_measure(schema, &measures, measure_exprs, combined)?;
    // Names are best effort: a failed info query is a notice, never a failed table.
    let (names, names_error) = match names {
        Ok(samples) => (Names::from_info(&samples), None),
        Err(failure) => (Names::default(), Some(failure.message)),
    };
    let totals = analysis::totals(schema, &answers);
    let total_statements = totals.len();
    let unnamed: Vec<(String, String)> =
        totals.iter().filter(|t| t.text.is_none() && names.get(&t.database, &t.queryid).is_none()).map(|t| (t.database.clone(), t.queryid.clone())).collect();
    let (from_postgres, postgres_error) = postgres_names(state, unnamed).await;
    let statements = analysis::analyse(totals, query.window, &names, &from_postgres);
    let ranked = analysis::rank(query.text_filter.keep(statements), query.order, &query.model.search, query.limit);

    let table = TopTable { plan: &plan, rows: &ranked, total_statements, statements_sample: None, names: &names, info_known: !names.is_empty(), extra_notices: Vec::new(), names_error, postgres_error };
    let mut frames = vec![table.frame()];
    let ids: Vec<&str> = ranked.iter().map(|s| s.queryid.as_str()).collect();
    if let (Some(source), Some(expr)) = (plan.spark, plan.spark_expr(&ids, client.settings().scrape_interval)) {
        // Best effort, like the names: a failed sparkline query leaves the table whole.
        if let Ok(series) = range(client, &expr, &span, *step).await {
            frames.extend(frames::spark_frames(schema, source, &ranked, series));
        }
    }
    Ok(frames)
}

/// `pgssQuery`: every measure of one statement per second and per call over the range, and
/// its name, text, database and users in the first frame's meta.
pub async fn one_query(client: &PromClient, state: &PgssState, json: &[u8], span: Span) -> Result<Vec<Frame>, QueryFailure> {
    let model: OneModel = serde_json::from_slice(json).map_err(|e| QueryFailure::bad_query(format!("pgssQuery: the query JSON is malformed: {e}")))?;
    let queryid = parse_queryid(&model)?;
    let window = span.window()?;
    let comparison = model.compare.parse(span.from, span.to, false)?;
    let schema = schema(client, state, span.to, window).await?;
    let scrape = client.settings().scrape_interval;
    let points = (span.max_points.max(1) as f64).min(11_000.0);
    let step = seconds((window / points).max(span.interval_ms as f64 / 1000.0).max(scrape.as_secs_f64()));
    let rate = format_go(rate_window(step, scrape));
    let id = [("queryid", queryid.as_str())];
    // Every measure's rate, over the range and (`offset`) over a comparison window.
    let rates = |offset: &str| -> Vec<(Source, String)> {
        schema
            .present
            .iter()
            .map(|source| {
                let (selector, _) = schema.selector(source.metric, &model.filters, &id);
                (*source, format!("sum(rate({selector}[{rate}]{offset}))"))
            })
            .collect()
    };
    let exprs = rates("");
    let calls_metric = schema.source(Measure::Calls).map(|s| s.metric).unwrap_or_default();
    let (calls_selector, _) = schema.selector(calls_metric, &model.filters, &id);
    let cluster_label = schema.def.cluster_label.unwrap_or("cluster");
    let identity_expr = format!("group by ({}, {}, {cluster_label}) (last_over_time({calls_selector}[{}]))", schema.by_labels(), schema.def.instance_label, format_go(seconds(window)));
    let info_expr = format!("last_over_time({}[{}])", info_selector(client.settings(), Some(&queryid)), format_go(seconds(window)));

    // With `compareTo`, the same series over the comparison window, shifted onto the range's
    // time axis (`offset` by the distance between the windows' starts).
    let shift = comparison.as_ref().map(|c| span.from - c.from_s).filter(|s| *s >= 1.0);
    let shifted = match shift {
        Some(shift) => rates(&format!(" offset {}", format_go(seconds(shift)))),
        None => Vec::new(),
    };
    let series = join_all(exprs.iter().chain(&shifted).map(|(source, expr)| async move { range(client, expr, &span, step).await.map(|s| (*source, s)) }));
    // Wait events, when the TSDB holds them: best effort, a failed query leaves them out.
    let wait_source = schema.waits;
    let waits = async {
        let source = wait_source?;
        let expr = super::waits::rate_expr(source, rate_window(step, scrape).as_secs_f64(), &[queryid.as_str()]);
        range(client, &expr, &span, step).await.ok().map(|series| frames::wait_frames(source, series))
    };
    let (series, identity, info, waits) = tokio::join!(series, instant(client, &identity_expr, span.to), instant(client, &info_expr, span.to), waits);
    let mut series = series.into_iter().collect::<Result<Vec<_>, _>>()?;
    let series_then = series.split_off(exprs.len());
    let identity = identity?;
    let names = info.as_deref().map(Names::from_info).unwrap_or_default();

    let database = identity.iter().find_map(|(l, _)| l.get(schema.def.database_label).cloned()).unwrap_or_default();
    let mut users: Vec<String> = identity.iter().filter_map(|(l, _)| schema.def.user_label.and_then(|u| l.get(u).cloned())).collect();
    users.sort();
    users.dedup();
    let label_text = identity.iter().find_map(|(l, _)| schema.def.text_label.and_then(|t| l.get(t).cloned()));
    let (mut name, mut text, mut source) = match (names.get(&database, &queryid), label_text) {
        (Some((n, t)), _) => (n.clone(), t.clone(), NameSource::Info),
        (None, Some(t)) => (short_name(&t, 80), t, NameSource::Label),
        (None, None) => (format!("queryid {queryid}"), String::new(), NameSource::Queryid),
    };
    let mut postgres_error = None;
    if source == NameSource::Queryid && !identity.is_empty() {
        // The servers of every instance (or cluster) the statement ran on.
        let wanted = identity
            .iter()
            .map(|(l, _)| {
                let location = Location { instance: l.get(schema.def.instance_label).cloned(), cluster: l.get(cluster_label).cloned() };
                ((database.clone(), queryid.clone()), Some(location))
            })
            .collect();
        let (from_postgres, error) = postgres_names_at(state, wanted).await;
        if let Some((n, t)) = from_postgres.get(&database, &queryid) {
            (name, text, source) = (n.clone(), t.clone(), NameSource::Postgres);
        }
        postgres_error = error;
    }

    let mut series_frames = measure_frames(series, false);
    series_frames.extend(measure_frames(series_then, true));
    series_frames.extend(waits.unwrap_or_default());
    let mut notices = Vec::new();
    if identity.is_empty() {
        notices.push(Notice { severity: Severity::Warning, text: format!("queryid {queryid} has no pgss series in this range (and these filters)") });
    } else if source == NameSource::Queryid {
        notices.push(Notice { severity: Severity::Warning, text: "names unavailable: no info metric names this queryid in the range (the data is complete)".into() });
    }
    notices.extend(postgres_error.map(|text| Notice { severity: Severity::Warning, text }));
    let identity = QueryIdentity { queryid, database, users, name, text, source };
    let mut frames = frames::with_identity(series_frames, &schema, identity, notices);
    if let (Some(comparison), Some(custom)) = (&comparison, frames.first_mut().and_then(|f| f.meta.as_mut()).and_then(|m| m.custom.as_mut())) {
        custom.insert("compare".into(), serde_json::json!({"label": comparison.label(), "from": (comparison.from_s * 1000.0).round(), "to": (comparison.to_s * 1000.0).round(), "shiftMs": (shift.unwrap_or(0.0) * 1000.0).round()}));
    }
    Ok(frames)
}

/// One statement's series per second and per call, one frame each; `then`: the comparison
/// window's, shifted onto the range's time axis.
fn measure_frames(series: Vec<(Source, Vec<Series>)>, then: bool) -> Vec<Frame> {
    let per_second: Vec<(Measure, Vec<(f64, f64)>)> = series
        .into_iter()
        .map(|(source, s)| {
            let points = s.into_iter().next().map(|(_, p)| p).unwrap_or_default();
            (source.measure, points.into_iter().map(|(t, v)| (t, v * source.scale)).collect())
        })
        .collect();
    let calls = per_second.iter().find(|(m, _)| *m == Measure::Calls).map(|(_, p)| p.clone()).unwrap_or_default();
    let mut frames = Vec::new();
    for (measure, points) in &per_second {
        let (unit_s, unit_call) = measure.units();
        frames.push(frames::measure_frame(*measure, "s", points, unit_s, then));
        if *measure != Measure::Calls && !calls.is_empty() {
            frames.push(frames::measure_frame(*measure, "call", &per_call_series(points, &calls), unit_call, then));
        }
    }
    frames
}

#[cfg(test)]
mod tests {
    use super::{Metricsql, PgssState, MAX_REMEMBERED_COUNTS};

    #[test]
    fn remembered_statement_counts_are_bounded_and_decide_the_sample() {
        let state = PgssState::default();
        for i in 0..MAX_REMEMBERED_COUNTS + 44 {
            state.remember_statements(&format!("count {i}"), 100_000.0);
        }
        let remembered = state.statement_counts.lock().unwrap().len();
        assert!(remembered <= MAX_REMEMBERED_COUNTS, "{remembered} counts kept");
        let last = format!("count {}", MAX_REMEMBERED_COUNTS + 43);
        assert_eq!(state.statements_sample(&last).map(|s| s.digits), Some(1), "the newest is kept: one in 10 past 20,000");
        state.remember_statements(&last, 20_000.0);
        assert_eq!(state.statements_sample(&last), None, "at the threshold: whole");
        assert_eq!(state.statements_sample("never counted"), None);
    }

    #[test]
    fn a_function_is_refused_only_where_the_tsdb_does_not_know_it() {
        let prometheus = r#"{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:1: parse error: unknown function with name \"topk_last\""}"#;
        assert!(Metricsql::TopkRest.refused_in(prometheus));
        // VictoriaMetrics quotes the query in its errors: a bad filter regex is the user's error.
        let bad_regex = r#"{"status":"error","errorType":"422","error":"error when executing query=\"topk_last(21, sum by (datname, queryid) (increase(m{datname=~\"(\"}[10m])), \"pgscope=rest\")\": cannot parse regexp"}"#;
        assert!(!Metricsql::TopkRest.refused_in(bad_regex));
        assert!(Metricsql::KeepMetricNames.refused_in(r#"parse error: unexpected identifier "keep_metric_names""#));
    }
}
