//! `pgssTopQueries` ranked in the TSDB (`ranked` plans the PromQL): the order's `topk` with the
//! totals every row's share needs, then every measure, the names and the sparklines of the rows
//! shown only, in batches of queryids; the rows are then worked out and ordered by `analysis`
//! exactly as the in-plugin path (`fetch::top_queries_in_plugin`, the reference) does, so both
//! give the same rows and figures, while the answers read and the memory held grow with the
//! limit, not with the number of statements.

use std::collections::HashSet;

use futures_util::future::join_all;

use super::analysis::{self, Order};
use super::catalog::Measure;
use super::coverage;
use super::fetch::{by_measure, increases, instant, plan_top, postgres_names, range, PgssState};
use super::frames::{self, TopTable};
use super::names::Names;
use super::plan::{info_selector, seconds, Span};
use super::ranked::{id_batches, Ranking, MAX_EXTRA};
use crate::failure::QueryFailure;
use crate::frame::{Frame, Notice, Severity};
use crate::prom::client::PromClient;
use crate::prom::read::{LabelSet, Sample, SampleRef};

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
async fn pick(client: &PromClient, ranking: &Ranking<'_>, order: Order, limit: usize, top: Vec<Sample>, at: f64) -> Result<(Vec<Key>, Vec<Notice>), QueryFailure> {
    let database_label = ranking.database_label();
    let (mut valued, _) = keyed(top, database_label);
    let lowest_first = matches!(order, Order::HitRatio);
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

/// `pgssTopQueries`: one wide table of statements plus a sparkline frame per row, ranked in the
/// TSDB.
pub async fn top_queries(client: &PromClient, state: &PgssState, json: &[u8], span: Span) -> Result<Vec<Frame>, QueryFailure> {
    let plan = plan_top(client, state, json, &span).await?;
    let ranking = Ranking::new(&plan, client.settings());
    let (query, schema, at) = (&plan.query, &plan.schema, span.to);

    let top = async {
        match ranking.top_expr(query.limit + 1) {
            Some(expr) => instant(client, &expr, at).await,
            None => Ok(Vec::new()),
        }
    };
    let totals_expr = ranking.totals_expr();
    // Coverage against PostgreSQL's own totals (issue 21): best effort, absent when unknown.
    let calls_metric = schema.source(Measure::Calls).map(|s| s.metric).filter(|_| coverage::applies(&query.model.filters));
    let coverage_expr = calls_metric.map(|calls| coverage::figures_expr(calls, &crate::duration::format_go(super::plan::seconds(query.window))));
    let coverage = async {
        match &coverage_expr {
            Some(expr) => instant(client, expr, at).await.ok(),
            None => None,
        }
    };
    let (top, totals, info_known, coverage) = tokio::join!(top, instant(client, &totals_expr, at), info_known(client, &span), coverage);
    let (rows, mut extra_notices) = pick(client, &ranking, query.order, query.limit, top?, at).await?;
    let totals = totals?;
    let figure = |what: &str| totals.iter().find(|(l, _)| l.get("pgscope").map(String::as_str) == Some(what)).map(|(_, v)| *v).filter(|v| v.is_finite());
    let exec_scale = schema.source(Measure::ExecTime).map(|s| s.scale).unwrap_or(1.0);
    let total_time = figure("time").unwrap_or(0.0).max(0.0) * exec_scale;
    let total_statements = figure("statements").unwrap_or(0.0) as usize;

    // The rows' measures, names and sparklines, a batch of queryids at a time, all at once.
    let batches = id_batches(rows.iter().map(|(_, id)| id.as_str()));
    let scrape = client.settings().scrape_interval;
    let exprs: Vec<_> = batches.iter().map(|ids| (ranking.measures_exprs(ids), ranking.names_expr(ids), plan.spark_expr(ids, scrape))).collect();
    let measures = join_all(exprs.iter().map(|((combined, per_measure), _, _)| increases(client, state, per_measure, combined, at)));
    let names = join_all(exprs.iter().map(|(_, names, _)| instant(client, names, at)));
    let sparks = join_all(exprs.iter().filter_map(|(_, _, spark)| spark.as_ref()).map(|expr| range(client, expr, &span, plan.step)));
    let (measures, names, sparks) = tokio::join!(measures, names, sparks);

    let wanted: HashSet<(&str, &str)> = rows.iter().map(|(d, q)| (d.as_str(), q.as_str())).collect();
    let mut answers: Vec<(Measure, Vec<SampleRef>)> = schema.present.iter().map(|s| (s.measure, Vec::new())).collect();
    let measures: Vec<_> = measures.into_iter().collect::<Result<_, _>>()?;
    for (answer, ((combined, per_measure), _, _)) in measures.iter().zip(&exprs) {
        for (measure, samples) in by_measure(schema, answer, per_measure, combined)? {
            let Some(i) = answers.iter().position(|(m, _)| *m == measure) else { continue };
            let database_label = schema.def.database_label;
            answers[i].1.extend(samples.into_iter().filter(|(l, _)| wanted.contains(&(l.label(database_label).unwrap_or_default(), l.label("queryid").unwrap_or_default()))));
        }
    }
    // Names are best effort: a failed info query is a notice, never a failed table.
    let mut info = Vec::new();
    let mut names_error = None;
    for answer in names {
        match answer {
            Ok(samples) => info.extend(samples),
            Err(failure) => names_error = Some(failure.message),
        }
    }
    let names = Names::from_info(&info);
    let totals = analysis::totals(schema, &answers);
    let unnamed: Vec<Key> = totals.iter().filter(|t| t.text.is_none() && names.get(&t.database, &t.queryid).is_none()).map(|t| (t.database.clone(), t.queryid.clone())).collect();
    let (from_postgres, postgres_error) = postgres_names(state, unnamed).await;
    if !query.model.search.trim().is_empty() && state.pg_names().is_some() {
        extra_notices.push(Notice { severity: Severity::Info, text: "the search looks through the TSDB's labels and info metrics, not the texts PostgreSQL gives".into() });
    }
    let statements = analysis::analyse_with_total(totals, query.window, total_time, &names, &from_postgres);
    let ranked = analysis::rank(statements, query.order, &query.model.search, query.limit);
    if let Some(samples) = coverage {
        let shown_seconds = ranked.iter().filter_map(|s| s.per_second.get(&Measure::ExecTime)).sum::<f64>() * query.window;
        extra_notices.extend(coverage::notice(&coverage::Figures { shown: ranked.len(), shown_seconds, ..coverage::read_figures(&samples) }));
    }

    let table = TopTable { plan: &plan, rows: &ranked, total_statements, names: &names, info_known: info_known || !names.is_empty(), extra_notices, names_error, postgres_error };
    let mut frames = vec![table.frame()];
    // Best effort, like the names: a failed sparkline query leaves the table whole.
    if let (Some(source), Ok(series)) = (plan.spark, sparks.into_iter().collect::<Result<Vec<_>, _>>()) {
        frames.extend(frames::spark_frames(schema, source, &ranked, series.into_iter().flatten().collect()));
    }
    Ok(frames)
}
