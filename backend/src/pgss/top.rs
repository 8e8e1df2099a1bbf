//! `pgssTopQueries` ranked in the TSDB (`ranked` plans the PromQL): the order's `topk` with the
//! totals every row's share needs, then every measure, the names and the sparklines of the rows
//! shown only, in batches of queryids; the rows are then worked out and ordered by `analysis`
//! exactly as the in-plugin path (`fetch::top_queries_in_plugin`, the reference) does, so both
//! give the same rows and figures, while the answers read and the memory held grow with the
//! limit, not with the number of statements.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use futures_util::future::join_all;

use super::analysis::{self, Statement};
use super::compare::{self, Compared, Comparison, State};
use super::compare_exprs::{self, StateExprs};
use super::catalog::Measure;
use super::coverage;
use super::fetch::{by_measure, increases, instant, plan_top, postgres_names, range, read, Metricsql, PgssState};
use super::frames::{self, TopTable};
use super::names::Names;
use super::plan::{info_selector, seconds, Span, TopPlan};
use super::schema::Schema;
use super::ranked::{id_batches, Ranking, MAX_EXTRA};
use crate::failure::QueryFailure;
use crate::frame::{Frame, Notice, Severity};
use crate::prom::client::PromClient;
use crate::prom::read::{parse_vector, LabelSet, Sample, SampleRef, Series};
use crate::promql_text::QueryidSample;

/// A statement's key: (database, queryid).
type Key = (String, String);

/// The statements of an answer with their values, and whether the TSDB said there were more
/// than `MAX_EXTRA` instead (`ranked::bounded`).
fn keyed(samples: Vec<Sample>, database_label: &str) -> (Vec<(Key, f64)>, Option<f64>) {
    let mut more = None;
    let mut out = Vec::new();
    for (labels, value) in samples {
        if labels.get("pgscope").map(String::as_str) == Some("more") {
            more = Some(value);
            continue;
        }
        let Some(queryid) = labels.get("queryid").filter(|q| !q.is_empty()) else { continue };
        out.push(((labels.get(database_label).cloned().unwrap_or_default(), queryid.clone()), value));
    }
    (out, more)
}

/// By queryid, then database: how the in-plugin ranking orders statements of equal value.
fn by_queryid(rows: &mut [(Key, f64)]) {
    rows.sort_by(|((da, qa), _), ((db, qb), _)| (qa, da).cmp(&(qb, db)));
}

/// The statements to show, at most `limit`, in no particular order (`analysis::rank` orders
/// them), and notices when the TSDB held back statements past `MAX_EXTRA`.
async fn pick(client: &PromClient, ranking: &Ranking<'_>, limit: usize, top: Vec<Sample>, at: f64) -> Result<(Vec<Key>, Vec<Notice>), QueryFailure> {
    let database_label = ranking.database_label();
    let (mut valued, _) = keyed(top, database_label);
    let lowest_first = ranking.order_expr().is_some_and(|(_, lowest_first)| lowest_first);
    valued.sort_by(|(ka, a), (kb, b)| {
        let by_value = if lowest_first { a.total_cmp(b) } else { b.total_cmp(a) };
        by_value.then_with(|| (&ka.1, &ka.0).cmp(&(&kb.1, &kb.0)))
    });
    let mut notices = Vec::new();
    if valued.len() > limit {
        let boundary = valued[limit - 1].1;
        if valued[limit].1 != boundary {
            valued.truncate(limit);
            return Ok((valued.into_iter().map(|(k, _)| k).collect(), notices));
        }
        // A tie at the limit: the in-plugin ranking shows the tied statements by queryid.
        let mut rows: Vec<Key> = valued.iter().filter(|(_, v)| *v != boundary).map(|(k, _)| k.clone()).collect();
        let expr = ranking.tied_expr(boundary).unwrap_or_default();
        let (mut tied, more) = keyed(instant(client, &expr, at).await?, database_label);
        if let Some(count) = more {
            notices.push(Notice {
                severity: Severity::Info,
                text: format!("{count} statements tie at the limit; the ones shown among them are the TSDB's pick rather than the lowest queryids"),
            });
            tied = valued.into_iter().filter(|(_, v)| *v == boundary).collect();
        }
        by_queryid(&mut tied);
        let wanted = limit - rows.len();
        rows.extend(tied.into_iter().take(wanted).map(|(k, _)| k));
        return Ok((rows, notices));
    }
    let mut rows: Vec<Key> = valued.into_iter().map(|(k, _)| k).collect();
    if rows.len() < limit {
        // Fewer statements have a value for the order than the limit: the rest follow, by queryid.
        let (mut unranked, more) = keyed(instant(client, &ranking.unranked_expr(), at).await?, database_label);
        if let Some(count) = more {
            notices.push(Notice {
                severity: Severity::Info,
                text: format!("{count} statements have no value for this order; past {MAX_EXTRA} they are not listed after the ranked ones"),
            });
        }
        by_queryid(&mut unranked);
        let wanted = limit - rows.len();
        rows.extend(unranked.into_iter().take(wanted).map(|(k, _)| k));
    }
    Ok((rows, notices))
}

/// Whether any info metric with a queryid has samples in the range: says whether names are
/// missing everywhere or only for some statements. A query over the samples, not the names
/// index: VictoriaMetrics' index answers by day, so a dead info exporter's metric would still be
/// "known" for the rest of the day. Unknown counts as yes.
async fn info_known(client: &PromClient, span: &Span) -> bool {
    let range = crate::duration::format_go(seconds(span.to - span.from));
    let expr = format!("count(last_over_time({}[{range}]))", info_selector(client.settings(), None));
    match instant(client, &expr, span.to).await {
        Ok(samples) => samples.iter().any(|s| s.1 > 0.0),
        Err(_) => true,
    }
}

/// The value of an aggregation's one-sample answer, when it has one and it is finite.
async fn scalar(client: &PromClient, expr: &str, at: f64) -> Result<Option<f64>, QueryFailure> {
    Ok(instant(client, expr, at).await?.first().map(|(_, v)| *v).filter(|v| v.is_finite()))
}

/// Across every statement the filters keep, in one window: execution time, seconds.
async fn total_time(client: &PromClient, ranking: &Ranking<'_>, schema: &Schema, at: f64) -> Result<f64, QueryFailure> {
    let Some(expr) = ranking.total_time_expr() else { return Ok(0.0) };
    Ok(exec_seconds(schema, scalar(client, &expr, at).await?.unwrap_or(0.0)))
}

/// A sum of the execution time metric in seconds (the exporter's unit may be milliseconds).
fn exec_seconds(schema: &Schema, value: f64) -> f64 {
    value.max(0.0) * schema.source(Measure::ExecTime).map(|s| s.scale).unwrap_or(1.0)
}

/// How many statements the filters keep in one window, and the sample of queryids it was
/// counted on (scaled up) when it counted past `SAMPLE_ABOVE` last time (`PgssState::
/// statements_sample`): at 100,000 statements the count read every calls series beside the
/// ranking's read of every time series, for a figure the header rounds anyway.
async fn statement_count(client: &PromClient, state: &PgssState, ranking: &Ranking<'_>, at: f64) -> Result<StatementCount, QueryFailure> {
    let whole = ranking.statement_count_expr(None);
    if let Some(sample) = state.statements_sample(&whole) {
        let sampled = scalar(client, &ranking.statement_count_expr(Some(sample)), at).await?.unwrap_or(0.0);
        if sampled >= state.min_sampled() {
            let count = sampled * sample.scale();
            state.remember_statements(&whole, count);
            return Ok(StatementCount { count: count as usize, sample: Some(sample) });
        }
    }
    let count = scalar(client, &whole, at).await?.unwrap_or(0.0);
    state.remember_statements(&whole, count);
    Ok(StatementCount { count: count as usize, sample: None })
}

/// A window's statements: counted whole (`sample` None) or on a sample and scaled.
#[derive(Debug, Clone, Copy)]
struct StatementCount {
    count: usize,
    sample: Option<QueryidSample>,
}

/// Across every statement the filters keep, in one window: execution time (seconds) and the
/// number of statements, side by side.
async fn window_totals(client: &PromClient, state: &PgssState, ranking: &Ranking<'_>, schema: &Schema, at: f64) -> Result<(f64, StatementCount), QueryFailure> {
    let (time, count) = tokio::join!(total_time(client, ranking, schema, at), statement_count(client, state, ranking, at));
    Ok((time?, count?))
}

/// The order's first `k` statements and, when `with_rest` (`Ranking::top_with_rest_expr`, where
/// the TSDB has not refused it) gives it from the same read, the execution time of every
/// statement, in seconds. A TSDB that refuses `topk_last` (Prometheus) is asked the plain `topk`
/// now and from then on.
async fn top_rows(client: &PromClient, state: &PgssState, ranking: &Ranking<'_>, schema: &Schema, with_rest: Option<String>, k: usize, at: f64) -> Result<(Vec<Sample>, Option<f64>), QueryFailure> {
    if let Some(expr) = with_rest {
        let answer = client.query_instant(&expr, at, None).await?;
        if !state.refused(Metricsql::TopkRest, &answer) {
            let samples = read(&expr, &answer, parse_vector)?;
            let total: f64 = samples.iter().filter(|(l, v)| v.is_finite() && (l.contains_key("queryid") || l.get("pgscope").is_some_and(|p| p == "rest"))).map(|(_, v)| *v).sum();
            return Ok((samples, Some(exec_seconds(schema, total))));
        }
    }
    match ranking.top_expr(k) {
        Some(expr) => Ok((instant(client, &expr, at).await?, None)),
        None => Ok((Vec::new(), None)),
    }
}

/// One window's figures for the rows shown: their totals per measure, and the info metrics
/// naming them (best effort: a failed names query is its message).
struct RowsWindow {
    totals: Vec<analysis::Totals>,
    info: Vec<Sample>,
    names_error: Option<String>,
}

/// Every measure and the names of `rows` in the window `ranking` reads, a batch of queryids
/// at a time, all at once.
async fn rows_window(client: &PromClient, state: &PgssState, ranking: &Ranking<'_>, schema: &Schema, rows: &[Key], at: f64) -> Result<RowsWindow, QueryFailure> {
    let batches = id_batches(rows.iter().map(|(_, id)| id.as_str()));
    let exprs: Vec<_> = batches.iter().map(|ids| (ranking.measures_exprs(ids), ranking.names_expr(ids))).collect();
    let measures = join_all(exprs.iter().map(|((combined, per_measure), _)| increases(client, state, per_measure, combined, at)));
    let names = join_all(exprs.iter().map(|(_, names)| instant(client, names, at)));
    let (measures, names) = tokio::join!(measures, names);
    let wanted: HashSet<(&str, &str)> = rows.iter().map(|(d, q)| (d.as_str(), q.as_str())).collect();
    let mut answers: Vec<(Measure, Vec<SampleRef>)> = schema.present.iter().map(|s| (s.measure, Vec::new())).collect();
    let measures: Vec<_> = measures.into_iter().collect::<Result<_, _>>()?;
    for (answer, ((combined, per_measure), _)) in measures.iter().zip(&exprs) {
        for (measure, samples) in by_measure(schema, answer, per_measure, combined)? {
            let Some(i) = answers.iter().position(|(m, _)| *m == measure) else { continue };
            let database_label = schema.def.database_label;
            answers[i].1.extend(samples.into_iter().filter(|(l, _)| wanted.contains(&(l.label(database_label).unwrap_or_default(), l.label("queryid").unwrap_or_default()))));
        }
    }
    let mut info = Vec::new();
    let mut names_error = None;
    for answer in names {
        match answer {
            Ok(samples) => info.extend(samples),
            Err(failure) => names_error = Some(failure.message),
        }
    }
    Ok(RowsWindow { totals: analysis::totals(schema, &answers), info, names_error })
}

/// `expr` for each batch of the queryids of `rows`.
fn batch_exprs(rows: &[Key], expr: impl Fn(&[&str]) -> Option<String>) -> Vec<String> {
    id_batches(rows.iter().map(|(_, id)| id.as_str())).iter().filter_map(|ids| expr(ids)).collect()
}

/// `expr`'s instant answers at `at` for the queryids of `rows`, a batch at a time, all at once.
async fn batched(client: &PromClient, rows: &[Key], at: f64, expr: impl Fn(&[&str]) -> Option<String>) -> Vec<Result<Vec<Sample>, QueryFailure>> {
    join_all(batch_exprs(rows, expr).iter().map(|e| instant(client, e, at))).await
}

/// Each row's wait events over the window (by queryid), when the TSDB holds them (best effort:
/// None when it does not or a query failed).
async fn row_waits(client: &PromClient, schema: &Schema, rows: &[Key], window: f64, at: f64) -> Option<BTreeMap<String, super::waits::Waits>> {
    let source = schema.waits?;
    let scrape = client.settings().scrape_interval.as_secs_f64();
    let answers = batched(client, rows, at, |ids| Some(super::waits::seconds_expr(source, window, ids, scrape))).await;
    let samples: Vec<Sample> = answers.into_iter().collect::<Result<Vec<_>, _>>().ok()?.into_iter().flatten().collect();
    Some(super::waits::read(source, &samples))
}

/// The sparklines of the rows shown over the range (best effort: None when a query failed).
async fn sparks(client: &PromClient, plan: &TopPlan, rows: &[Key], span: &Span) -> Option<Vec<Series>> {
    let scrape = client.settings().scrape_interval;
    let exprs = batch_exprs(rows, |ids| plan.spark_expr(ids, scrape));
    let series = join_all(exprs.iter().map(|expr| range(client, expr, span, plan.step))).await;
    series.into_iter().collect::<Result<Vec<_>, _>>().ok().map(|s| s.into_iter().flatten().collect())
}

/// Names for the statements neither the info metric nor a text label names, from PostgreSQL.
async fn unnamed_from_postgres(state: &PgssState, totals: &[&analysis::Totals], names: &Names) -> (Names, Option<String>) {
    let unnamed: Vec<Key> = totals.iter().filter(|t| t.text.is_none() && names.get(&t.database, &t.queryid).is_none()).map(|t| (t.database.clone(), t.queryid.clone())).collect();
    postgres_names(state, unnamed).await
}

/// The notice a search or a text filter gets when PostgreSQL's texts name statements: it
/// cannot look there.
fn search_notice(query: &super::plan::TopQuery, state: &PgssState) -> Option<Notice> {
    let what = match (!query.model.search.trim().is_empty(), !query.text_filter.is_empty()) {
        (true, false) => "the search looks",
        (false, true) => "the statement type and tag filters look",
        (true, true) => "the search and the statement type and tag filters look",
        (false, false) => return None,
    };
    state.pg_names().is_some().then(|| Notice { severity: Severity::Info, text: format!("{what} through the TSDB's labels and info metrics, not the texts PostgreSQL gives") })
}

/// Coverage against PostgreSQL's own totals (issue 21): best effort, None when unknown. Every
/// calls series is counted only where pg_stat_statements' count of the statements it holds is
/// there to compare with.
async fn coverage_samples(client: &PromClient, plan: &TopPlan, at: f64) -> Option<Vec<Sample>> {
    let calls = plan.schema.source(Measure::Calls).map(|s| s.metric).filter(|_| coverage::applies(&plan.query.model.filters))?;
    let mut samples = instant(client, &coverage::figures_expr(&crate::duration::format_go(seconds(plan.query.window))), at).await.ok()?;
    if coverage::read_figures(&samples).held.is_some() {
        samples.extend(instant(client, &coverage::exported_expr(calls), at).await.ok()?);
    }
    Some(samples)
}

fn coverage_notice(samples: Option<Vec<Sample>>, shown: &[Statement], window: f64) -> Option<Notice> {
    let samples = samples?;
    // Rows known only from series the exporter's cut does not apply to (pg_stat_kcache's,
    // pg_wait_sampling's) have no execution time: they are not counted among those covering it.
    let timed: Vec<f64> = shown.iter().filter_map(|s| s.per_second.get(&Measure::ExecTime).copied()).collect();
    coverage::notice(&coverage::Figures { shown: timed.len(), shown_seconds: timed.iter().sum::<f64>() * window, ..coverage::read_figures(&samples) })
}

/// `pgssTopQueries`: one wide table of statements plus a sparkline frame per row, ranked in the
/// TSDB; with `compareTo`, against a comparison window (`compared`).
pub async fn top_queries(client: &PromClient, state: &PgssState, json: &[u8], span: Span) -> Result<Vec<Frame>, QueryFailure> {
    let plan = plan_top(client, state, json, &span).await?;
    if let Some(comparison) = &plan.query.compare {
        return compared(client, state, &plan, comparison, span).await;
    }
    let ranking = Ranking::new(&plan, client.settings());
    let (query, schema, at) = (&plan.query, &plan.schema, span.to);
    let k = query.limit + 1;
    // The share's total comes with the ranking where the TSDB gives it (VictoriaMetrics), else
    // it is asked beside it.
    let with_rest = ranking.top_with_rest_expr(k).filter(|_| state.metricsql(Metricsql::TopkRest));
    let total_with_top = with_rest.is_some();
    // The rows' own queries follow the pick; the fleet-wide ones run beside both.
    let rows = async {
        let (top, top_total) = top_rows(client, state, &ranking, schema, with_rest, k, at).await?;
        let (rows, notices) = pick(client, &ranking, query.limit, top, at).await?;
        let (window, spark_series, waits) =
            tokio::join!(rows_window(client, state, &ranking, schema, &rows, at), sparks(client, &plan, &rows, &span), row_waits(client, schema, &rows, query.window, at));
        Ok::<_, QueryFailure>((notices, window?, spark_series, waits, top_total))
    };
    let time = async { if total_with_top { Ok(None) } else { total_time(client, &ranking, schema, at).await.map(Some) } };
    let (rows, time, total_statements, coverage) = tokio::join!(rows, time, statement_count(client, state, &ranking, at), coverage_samples(client, &plan, at));
    let (mut extra_notices, window, spark_series, waits, top_total) = rows?;
    let total_time = match (top_total, time?) {
        (Some(time), _) | (None, Some(time)) => time,
        // The TSDB refused the ranking with its total just now (it is not asked again).
        (None, None) => total_time(client, &ranking, schema, at).await?,
    };
    let total_statements = total_statements?;
    let RowsWindow { totals, info, names_error } = window;
    let names = Names::from_info(&info);
    // Whether the info metrics have samples at all matters only when they name none of the rows.
    let all: Vec<&analysis::Totals> = totals.iter().collect();
    let ((from_postgres, postgres_error), info_known) = tokio::join!(unnamed_from_postgres(state, &all, &names), async { !names.is_empty() || info_known(client, &span).await });
    extra_notices.extend(search_notice(query, state));
    let statements = analysis::analyse_with_total(totals, query.window, total_time, &names, &from_postgres);
    let ranked = analysis::rank(query.text_filter.keep(statements), query.order, &query.model.search, query.limit);
    extra_notices.extend(coverage_notice(coverage, &ranked, query.window));

    let table = TopTable { plan: &plan, rows: &ranked, total_statements: total_statements.count, statements_sample: total_statements.sample, names: &names, info_known, extra_notices, names_error, postgres_error };
    let mut table = table.frame();
    if let Some(waits) = waits {
        table.fields.extend(frames::wait_fields(&ranked, &waits, query.window));
    }
    let mut frames = vec![table];
    if let (Some(source), Some(series)) = (plan.spark, spark_series) {
        frames.extend(frames::spark_frames(schema, source, &ranked, series));
    }
    Ok(frames)
}

/// A statement's identity with no figures: a row's side in a window it did not run in.
fn without_figures(s: &Statement) -> Statement {
    Statement { per_second: Default::default(), per_call: Default::default(), share_of_time: None, hit_ratio: None, ..s.clone() }
}

/// The instances each statement of `rows` ran on in a window (best effort: empty when unknown).
async fn instances(client: &PromClient, ranking: &Ranking<'_>, rows: &[Key], at: f64) -> BTreeMap<Key, BTreeSet<String>> {
    let answers = batched(client, rows, at, |ids| ranking.instances_expr(ids)).await;
    let instance_label = ranking.instance_label();
    let mut out: BTreeMap<Key, BTreeSet<String>> = BTreeMap::new();
    for (labels, _) in answers.into_iter().filter_map(Result::ok).flatten() {
        let key = (labels.get(ranking.database_label()).cloned().unwrap_or_default(), labels.get("queryid").cloned().unwrap_or_default());
        out.entry(key).or_default().insert(labels.get(instance_label).cloned().unwrap_or_default());
    }
    out
}

/// How many statements of `rows` had their calls counter reset in a window (best effort).
async fn resets(client: &PromClient, ranking: &Ranking<'_>, rows: &[Key], at: f64) -> usize {
    let answers = batched(client, rows, at, |ids| compare_exprs::resets_expr(ranking, ids)).await;
    let wanted: HashSet<&Key> = rows.iter().collect();
    answers
        .into_iter()
        .filter_map(Result::ok)
        .flatten()
        .filter(|(l, _)| wanted.contains(&(l.get(ranking.database_label()).cloned().unwrap_or_default(), l.get("queryid").cloned().unwrap_or_default())))
        .count()
}

/// The PostgreSQL versions a window's `pg_static` series name (best effort).
async fn versions(client: &PromClient, ranking: &Ranking<'_>, at: f64) -> BTreeSet<String> {
    let answer = instant(client, &ranking.versions_expr(), at).await.unwrap_or_default();
    answer.into_iter().filter_map(|(l, _)| l.get("short_version").cloned()).filter(|v| !v.is_empty()).collect()
}

/// `pgssTopQueries` with `compareTo`: the rows picked in the TSDB by the order (or by its
/// change, or among the states asked for), each row's figures now and in the comparison window,
/// its state and change; the states counted across every statement; notices for resets, moves
/// and PostgreSQL upgrades between the windows.
async fn compared(client: &PromClient, state: &PgssState, plan: &TopPlan, comparison: &Comparison, span: Span) -> Result<Vec<Frame>, QueryFailure> {
    let settings = client.settings();
    let (query, schema, at) = (&plan.query, &plan.schema, span.to);
    let (window_now, window_then) = (seconds(query.window).as_secs_f64(), seconds(comparison.window()).as_secs_f64());
    let now = Ranking::new(plan, settings);
    let then = Ranking::shifted(plan, settings, comparison.window(), comparison.offset);
    let exprs = StateExprs { now: &now, then: &then, comparison };
    let keep = exprs.keep(&comparison.states);
    let gone_only = comparison.states == [State::Gone];
    let picker = match query.change {
        // No statement can have a change of this order (calls per call, an absent measure):
        // every statement is unranked, listed by queryid.
        Some(change) => Ranking::new(plan, settings).ranking_by(Some(exprs.change(query.order, change.pct).unwrap_or_else(|| ("vector(0) < 0".into(), false))), keep),
        None if gone_only => Ranking::shifted(plan, settings, comparison.window(), comparison.offset).ranking_by(None, keep),
        None => Ranking::new(plan, settings).ranking_by(None, keep),
    };
    // Statements that ran only then (gone) are listed after the ranked ones too.
    let picker = picker.listing_also(&then);
    let top = async {
        match picker.top_expr(query.limit + 1) {
            Some(expr) => instant(client, &expr, at).await,
            None => Ok(Vec::new()),
        }
    };
    let counts = async {
        match exprs.counts_expr() {
            Some(expr) => instant(client, &expr, at).await.map(|s| compare_exprs::read_counts(&s)),
            None => Ok(BTreeMap::new()),
        }
    };
    // The rows' own queries follow the pick; the fleet-wide ones (totals, the states counted,
    // versions) run beside both, so the longest of them overlaps the rows' round.
    let rows = async {
        let (rows, notices) = pick(client, &picker, query.limit, top.await?, at).await?;
        let (window_n, window_t, spark_series, instances_now, instances_then, resets_now, resets_then, waits) = tokio::join!(
            rows_window(client, state, &now, schema, &rows, at),
            rows_window(client, state, &then, schema, &rows, at),
            sparks(client, plan, &rows, &span),
            instances(client, &now, &rows, at),
            instances(client, &then, &rows, at),
            resets(client, &now, &rows, at),
            resets(client, &then, &rows, at),
            row_waits(client, schema, &rows, query.window, at),
        );
        Ok::<_, QueryFailure>((notices, window_n?, window_t?, spark_series, (instances_now, instances_then), (resets_now, resets_then), waits))
    };
    let (rows, totals_now, totals_then, counts, coverage, versions_now, versions_then) = tokio::join!(
        rows,
        window_totals(client, state, &now, schema, at),
        window_totals(client, state, &then, schema, at),
        counts,
        coverage_samples(client, plan, at),
        versions(client, &now, at),
        versions(client, &then, at),
    );
    let (mut extra_notices, window_n, window_t, spark_series, (instances_now, instances_then), (resets_now, resets_then), waits) = rows?;
    let ((time_now, total_statements), (time_then, _)) = (totals_now?, totals_then?);
    let counts = counts?;
    let mut names = Names::from_info(&window_n.info);
    names.fill_from(Names::from_info(&window_t.info));
    let names_error = window_n.names_error.or(window_t.names_error);
    let both: Vec<&analysis::Totals> = window_n.totals.iter().chain(window_t.totals.iter().filter(|t| !window_n.totals.iter().any(|n| n.database == t.database && n.queryid == t.queryid))).collect();
    let ((from_postgres, postgres_error), info_known) = tokio::join!(unnamed_from_postgres(state, &both, &names), async { !names.is_empty() || info_known(client, &span).await });
    let statements_now = analysis::analyse_with_total(window_n.totals, window_now, time_now, &names, &from_postgres);
    let statements_then = analysis::analyse_with_total(window_t.totals, window_then, time_then, &names, &from_postgres);

    let mut then_by_key: HashMap<Key, Statement> = statements_then.into_iter().map(|s| ((s.database.clone(), s.queryid.clone()), s)).collect();
    let mut rows_cmp: Vec<Compared> = statements_now
        .into_iter()
        .map(|s| {
            let then = then_by_key.remove(&(s.database.clone(), s.queryid.clone()));
            Compared { now: s, then, state: State::Unchanged }
        })
        .collect();
    // Statements that did not run now at all (gone): their identity from then.
    rows_cmp.extend(then_by_key.into_values().map(|t| Compared { now: without_figures(&t), then: Some(t), state: State::Unchanged }));
    let calls = |s: Option<&Statement>, window: f64| s.and_then(|s| s.per_second.get(&Measure::Calls)).copied().unwrap_or(0.0) * window;
    for row in &mut rows_cmp {
        let then = row.then.as_ref();
        row.state = compare::classify(comparison, calls(Some(&row.now), window_now), calls(then, window_then), comparison.measure.figure(&row.now), then.and_then(|t| comparison.measure.figure(t)));
    }
    rows_cmp.retain(|r| analysis::matches_search(&r.now, &query.model.search) && query.text_filter.matches(&r.now) && (comparison.states.is_empty() || comparison.states.contains(&r.state)));
    match query.change {
        Some(change) => compare::order_by_change(&mut rows_cmp, comparison, query.order, change, window_now, window_then),
        // By the order's figure now (then, for gone statements only), the worst hit ratio
        // first, as the plain table ranks.
        None if gone_only => compare::order_rows(&mut rows_cmp, |r| query.order.rank_value(r.then.as_ref()?)),
        None => compare::order_rows(&mut rows_cmp, |r| query.order.rank_value(&r.now)),
    }
    rows_cmp.truncate(query.limit);

    let shown_now: Vec<Statement> = rows_cmp.iter().map(|r| r.now.clone()).collect();
    let shown_then: Vec<Statement> = rows_cmp.iter().map(|r| r.then.clone().unwrap_or_else(|| without_figures(&r.now))).collect();
    let states: Vec<State> = rows_cmp.iter().map(|r| r.state).collect();
    extra_notices.extend(search_notice(query, state));
    extra_notices.extend(coverage_notice(coverage, &shown_now, query.window));
    extra_notices.extend(compare::reset_notice(resets_now as f64, resets_then as f64));
    extra_notices.extend(compare::moved_notice(&instances_now, &instances_then));
    extra_notices.extend(compare::version_notice(&versions_now, &versions_then, &counts, total_statements.count as f64));

    let table = TopTable { plan, rows: &shown_now, total_statements: total_statements.count, statements_sample: total_statements.sample, names: &names, info_known, extra_notices, names_error, postgres_error };
    let mut table = table.frame();
    let then_frame = frames::table_frame(schema, &shown_then);
    let fields = compare::compare_fields(&table, &then_frame, &states);
    table.fields.extend(fields);
    if let Some(waits) = waits {
        table.fields.extend(frames::wait_fields(&shown_now, &waits, query.window));
    }
    if let Some(custom) = table.meta.as_mut().and_then(|m| m.custom.as_mut()) {
        custom.insert("compare".into(), comparison.meta(&counts));
        if let Some(change) = query.change {
            custom.insert("orderBy".into(), compare::change_key(query.order, change).into());
        }
    }
    let mut frames = vec![table];
    if let (Some(source), Some(series)) = (plan.spark, spark_series) {
        frames.extend(frames::spark_frames(schema, source, &shown_now, series));
    }
    Ok(frames)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::Labels;

    fn row(queryid: &str, exec_per_second: Option<f64>) -> Statement {
        let mut per_second = BTreeMap::new();
        per_second.insert(Measure::CpuUserTime, 0.01);
        if let Some(v) = exec_per_second {
            per_second.insert(Measure::ExecTime, v);
        }
        Statement {
            database: "db".into(),
            queryid: queryid.into(),
            users: Vec::new(),
            name: String::new(),
            text: String::new(),
            name_source: super::super::names::NameSource::Info,
            per_second,
            per_call: BTreeMap::new(),
            share_of_time: None,
            hit_ratio: None,
        }
    }

    #[test]
    fn coverage_counts_only_rows_with_execution_time() {
        let recorded: Labels = [("pgscope".to_string(), "recorded".to_string())].into_iter().collect();
        // 100 s recorded in a 100 s window; two timed rows (30 % and 10 %) and three known only
        // from pg_stat_kcache's series, which the exporter's cut does not apply to.
        let shown = vec![row("1", Some(0.3)), row("2", Some(0.1)), row("3", None), row("4", None), row("5", None)];
        let notice = coverage_notice(Some(vec![(recorded, 100.0)]), &shown, 100.0).expect("low coverage is said");
        assert!(notice.text.starts_with("The 2 statements shown cover 40.0 %"), "{}", notice.text);
    }
}
