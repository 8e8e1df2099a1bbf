//! The `pgssTopQueries` and `pgssQuery` query types: the schema detected (cached a minute per
//! datasource), one PromQL per measure run concurrently with the names and the sparklines,
//! joined by (database, queryid) in `pgss`, returned as frames the panel and Grafana's own
//! panels read.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use serde::Deserialize;

use crate::duration::format_go;
use crate::frame::{Field, FieldConfig, Frame, FrameMeta, Labels, Notice, Severity, Values};
use crate::pgss::{self, quote, Filters, Measure, NameSource, Names, Order, Schema, Statement};
use crate::prom::client::{ClientError, JsonAnswer, PromClient};
use crate::stack::{parse_matrix, parse_names, parse_vector, parse_vector_ref, LabelSet, Sample, SampleRef, Series};

pub const QUERY_TYPE_TOP: &str = "pgssTopQueries";
pub const QUERY_TYPE_ONE: &str = "pgssQuery";
pub const DEFAULT_LIMIT: usize = 20;
pub const MAX_LIMIT: usize = 5000;
/// Points in a row's sparkline.
const SPARK_POINTS: f64 = 60.0;
const SCHEMA_TTL: Duration = Duration::from_secs(60);

/// `pgssTopQueries`' JSON.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct TopModel {
    pub order_by: String,
    pub limit: Option<serde_json::Value>,
    pub search: String,
    #[serde(flatten)]
    pub filters: Filters,
}

/// `pgssQuery`'s JSON.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct OneModel {
    pub queryid: serde_json::Value,
    #[serde(flatten)]
    pub filters: Filters,
}

/// The time range and resolution a query asks for.
#[derive(Debug, Clone, Copy)]
pub struct Span {
    pub from: f64,
    pub to: f64,
    pub interval_ms: i64,
    pub max_points: i64,
}

type Failure = (&'static str, u16, String);

fn bad(message: impl Into<String>) -> Failure {
    ("bad_query", 400, message.into())
}

/// The TSDB's own words for a failed answer.
fn answer_error(expr: &str, answer: &JsonAnswer) -> String {
    match crate::prom::convert::convert(&answer.body) {
        Err(e) => format!("{e} (in {expr})"),
        Ok(_) => format!("HTTP {} for {expr}", answer.status),
    }
}

/// A TSDB answer parsed by `parse`, or why not: the request's failure, a non-2xx status or a
/// body that is not the expected result (in the TSDB's own words when it gave them).
fn parsed<T>(what: &str, answer: Result<JsonAnswer, ClientError>, parse: fn(&[u8]) -> Option<T>) -> Result<T, Failure> {
    read(what, &answer.map_err(client_failure)?, parse)
}

/// `parsed` of an answer that arrived; what `parse` returns may borrow from the body.
fn read<'a, T>(what: &str, answer: &'a JsonAnswer, parse: fn(&'a [u8]) -> Option<T>) -> Result<T, Failure> {
    answer.status.is_success().then(|| parse(&answer.body)).flatten().ok_or_else(|| ("tsdb_error", 502, answer_error(what, answer)))
}

/// A request that got no answer, as the query's failure.
fn client_failure(e: ClientError) -> Failure {
    (e.outcome(), e.status(), e.to_string())
}

async fn instant(client: &PromClient, expr: &str, at: f64) -> Result<Vec<Sample>, Failure> {
    parsed(expr, client.query_instant(expr, at, None).await, parse_vector)
}

async fn range(client: &PromClient, expr: &str, span: &Span, step: Duration) -> Result<Vec<Series>, Failure> {
    parsed(expr, client.query_range(expr, span.from, span.to, step).await, parse_matrix)
}

fn schema_cache() -> &'static Mutex<HashMap<String, (Instant, Schema)>> {
    static CACHE: OnceLock<Mutex<HashMap<String, (Instant, Schema)>>> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

/// The schema the TSDB holds (metric names seen in the last `window` before `at`), or the one
/// the settings name; cached for a minute per datasource URL.
pub async fn schema(client: &PromClient, at: f64, window: f64) -> Result<Schema, Failure> {
    let settings = client.settings();
    let wanted = settings.pgss_schema.clone();
    let key = format!("{}|{}", settings.url, wanted.as_deref().unwrap_or("auto"));
    if let Some((when, schema)) = schema_cache().lock().ok().and_then(|c| c.get(&key).cloned()) {
        if when.elapsed() < SCHEMA_TTL {
            return Ok(schema);
        }
    }
    let params = [
        ("match[]", format!("{{__name__=~\"{}\"}}", pgss::names_pattern())),
        ("start", format!("{}", (at - window).floor())),
        ("end", format!("{}", at.ceil())),
    ];
    let names = parsed("label names", client.get_json("api/v1/label/__name__/values", &params, None).await, parse_names)?;
    let schema = pgss::detect(&names, wanted.as_deref()).map_err(|e| ("no_data", 404, e))?;
    if let Ok(mut cache) = schema_cache().lock() {
        cache.insert(key, (Instant::now(), schema.clone()));
    }
    Ok(schema)
}

/// The info metrics names may come from (the fallback's list plus any `*_query_info`), for
/// every statement or for one queryid.
fn info_selector(client: &PromClient, queryid: Option<&str>) -> String {
    let mut names: Vec<String> = client.settings().fallback_rules.info_metrics.iter().map(|n| regex_escape(n)).collect();
    names.push(".+_query_info".into());
    let queryid = match queryid {
        Some(id) => format!("queryid=\"{}\"", quote(id)),
        None => "queryid!=\"\"".into(),
    };
    format!("{{__name__=~\"{}\",{queryid}}}", names.join("|"))
}

fn regex_escape(name: &str) -> String {
    name.chars().flat_map(|c| if c.is_ascii_alphanumeric() || c == '_' { vec![c] } else { vec!['\\', '\\', c] }).collect()
}

fn seconds(d: f64) -> Duration {
    Duration::from_secs_f64(d.max(1.0).round())
}

/// Grafana's `$__rate_interval`: max(step + scrape interval, 4 × scrape interval).
fn rate_window(step: Duration, scrape: Duration) -> Duration {
    (step + scrape).max(scrape * 4)
}

fn time_field(points: &[(f64, f64)]) -> Field {
    Field::new("Time", Values::Time(points.iter().map(|p| (p.0 * 1000.0).round() as i64).collect()))
}

fn with_config(mut field: Field, display: &str, unit: &str) -> Field {
    field.config = Some(FieldConfig { display_name_from_ds: Some(display.into()), unit: Some(unit.into()), ..Default::default() });
    field
}

fn meta(kind: &str, custom: serde_json::Map<String, serde_json::Value>, frame_type: &str) -> Option<FrameMeta> {
    Some(FrameMeta::pgscope(kind, frame_type, custom))
}

/// What a query's names rest on, said once per frame set when they are missing.
fn names_notices(schema: &Schema, names: &Names, statements: &[Statement]) -> Vec<Notice> {
    let unnamed = statements.iter().filter(|s| s.name_source == NameSource::Queryid).count();
    if unnamed == 0 {
        return Vec::new();
    }
    let text = if names.is_empty() && schema.def.text_label.is_none() {
        format!(
            "names unavailable: no info metric with a queryid had series in the range; {unnamed} statement(s) are shown by queryid (the data is complete)"
        )
    } else {
        format!("{unnamed} of {} statement(s) have no name in the info metric and are shown by queryid", statements.len())
    };
    vec![Notice { severity: Severity::Warning, text }]
}

/// Texts PostgreSQL gives the statements nothing else names, when `pgssConnection` is set; and
/// why some may be missing.
async fn postgres_names(client: &PromClient, wanted: Vec<(String, String)>) -> (Names, Option<String>) {
    let Some(pg) = client.pg_names() else { return (Names::default(), None) };
    if wanted.is_empty() {
        return (Names::default(), None);
    }
    let lookup = pg.resolve(&wanted).await;
    let names = Names::exact(lookup.texts.into_iter().map(|((db, id), text)| (db, id, pgss::short_name(&text, 80), text)));
    (names, lookup.error)
}

/// Says where names came from when PostgreSQL supplied some, or why it could not.
fn postgres_notice(statements: &[Statement], error: Option<String>) -> Option<Notice> {
    if let Some(message) = error {
        return Some(Notice { severity: Severity::Warning, text: message });
    }
    let named = statements.iter().filter(|s| s.name_source == NameSource::Postgres).count();
    (named > 0).then(|| Notice {
        severity: Severity::Info,
        text: format!("{named} statement(s) named by PostgreSQL's pg_stat_statements: the info metric had no name for them"),
    })
}

/// The requests one `pgssTopQueries` query makes, built before any is sent (the bench times the
/// same expressions fetched directly).
pub struct TopPlan {
    model: TopModel,
    order: Order,
    limit: usize,
    pub schema: Schema,
    /// One instant `increase()` per measure the schema has, at the end of the range.
    pub measures: Vec<(Measure, String)>,
    /// The same increases in one query, series keeping their metric names (VictoriaMetrics'
    /// `keep_metric_names`): one index lookup and one pass instead of one per measure. Used
    /// unless the TSDB refused it once (Prometheus has no such modifier).
    pub combined: String,
    /// The ordering measure (else exec time, else calls), whose rate the sparklines show.
    pub spark: Option<pgss::Source>,
    pub step: Duration,
    /// Names from any info metric, instant at the end of the range.
    pub info: String,
    /// Filters the schema has no label for.
    pub ignored: Vec<String>,
}

/// `selector` (`name{a="b"}` or `{...}`) with one more matcher.
fn with_matcher(selector: &str, matcher: &str) -> String {
    match selector.strip_suffix("{}") {
        Some(name) => format!("{name}{{{matcher}}}"),
        None => format!("{},{matcher}}}", selector.trim_end_matches('}')),
    }
}

impl TopPlan {
    /// The sparklines' range query for the statements shown (their queryids; the database is
    /// matched when the answer is joined), or for every statement when there are many.
    pub fn spark_expr(&self, queryids: &[&str], scrape: Duration) -> Option<String> {
        let source = self.spark?;
        let (selector, _) = self.schema.selector(source.metric, &self.model.filters, &[]);
        let mut ids: Vec<&str> = queryids.iter().copied().filter(|q| q.chars().all(|c| c.is_ascii_digit() || c == '-')).collect();
        ids.sort_unstable();
        ids.dedup();
        let selector = if ids.is_empty() || ids.len() > MAX_SPARK_FILTER { selector } else { with_matcher(&selector, &format!("queryid=~\"{}\"", ids.join("|"))) };
        let by = format!("{}, queryid", self.schema.def.database_label);
        Some(format!("sum by ({by}) (rate({selector}[{}]))", format_go(rate_window(self.step, scrape))))
    }
}

/// Above this many rows the sparkline query reads every statement rather than a long regex.
const MAX_SPARK_FILTER: usize = 500;

/// Parses a `pgssTopQueries` query and plans its requests (detecting the schema, cached).
pub async fn plan_top(client: &PromClient, json: &[u8], span: &Span) -> Result<TopPlan, Failure> {
    let model: TopModel = serde_json::from_slice(json).map_err(|e| bad(format!("pgssTopQueries: the query JSON is malformed: {e}")))?;
    let order = Order::parse(&model.order_by).map_err(bad)?;
    let limit = parse_limit(model.limit.as_ref())?;
    if span.to <= span.from {
        return Err(bad(format!("the time range is empty or reversed (from {} to {})", span.from, span.to)));
    }
    let window = span.to - span.from;
    let schema = schema(client, span.to, window).await?;
    let window_text = format_go(seconds(window));
    let by = schema.by_labels();
    let mut ignored = Vec::new();
    let measures: Vec<(Measure, String)> = schema
        .present
        .iter()
        .map(|source| {
            let (selector, skipped) = schema.selector(source.metric, &model.filters, &[]);
            ignored.extend(skipped);
            (source.measure, format!("sum by ({by}) (increase({selector}[{window_text}]))"))
        })
        .collect();
    ignored.sort();
    ignored.dedup();
    // The sparkline of the ordering measure for every statement, in the same round trip.
    let scrape = client.settings().scrape_interval;
    let step = seconds((window / SPARK_POINTS).max(scrape.as_secs_f64()));
    let spark = schema.source(order.measure()).or_else(|| schema.source(Measure::ExecTime)).or_else(|| schema.source(Measure::Calls)).copied();
    let info = format!("last_over_time({}[{window_text}])", info_selector(client, None));
    let combined = {
        let names: Vec<&str> = schema.present.iter().map(|s| s.metric).collect();
        let (selector, _) = schema.selector("", &model.filters, &[]);
        let selector = with_matcher(&selector, &format!("__name__=~\"{}\"", names.join("|")));
        format!("sum by (__name__, {by}) (increase({selector}[{window_text}]) keep_metric_names)")
    };
    let ignored = ignored.into_iter().map(String::from).collect();
    Ok(TopPlan { model, order, limit, schema, measures, combined, spark, step, info, ignored })
}

/// TSDBs (by URL) that refused `keep_metric_names`.
fn without_keep_metric_names() -> &'static Mutex<std::collections::HashSet<String>> {
    static REFUSED: OnceLock<Mutex<std::collections::HashSet<String>>> = OnceLock::new();
    REFUSED.get_or_init(Default::default)
}

/// The increases' answers: one holding every measure (by metric name), or one per measure.
enum Increases {
    Combined(JsonAnswer),
    PerMeasure(Vec<JsonAnswer>),
}

/// Every measure's increase per statement: in one query where the TSDB keeps metric names
/// (VictoriaMetrics), else one query per measure, concurrently. Read by `by_measure`.
async fn increases(client: &PromClient, per_measure: &[(Measure, String)], combined: &str, at: f64) -> Result<Increases, Failure> {
    let url = client.settings().url.to_string();
    let refused = without_keep_metric_names().lock().map(|r| r.contains(&url)).unwrap_or(false);
    if !refused {
        let answer = client.query_instant(combined, at, None).await.map_err(client_failure)?;
        // A TSDB that cannot parse the modifier says so with a 400 or 422 (bad_data) naming it;
        // any other refusal (a bad filter regex) is the user's error and is reported as such.
        let refuses_modifier = matches!(answer.status.as_u16(), 400 | 422) && String::from_utf8_lossy(&answer.body).contains("keep_metric_names");
        if !refuses_modifier {
            return Ok(Increases::Combined(answer));
        }
        tracing::debug!(status = %answer.status, "the TSDB refused keep_metric_names: one query per measure from now on");
        if let Ok(mut r) = without_keep_metric_names().lock() {
            r.insert(url);
        }
    }
    let answers = join_all(per_measure.iter().map(|(_, expr)| client.query_instant(expr, at, None))).await;
    answers.into_iter().map(|a| a.map_err(client_failure)).collect::<Result<_, _>>().map(Increases::PerMeasure)
}

/// The increases' samples per measure the schema has, labels borrowed from the answers.
fn by_measure<'a>(schema: &Schema, answers: &'a Increases, per_measure: &[(Measure, String)], combined: &str) -> Result<Vec<(Measure, Vec<SampleRef<'a>>)>, Failure> {
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

/// `pgssTopQueries`: one wide table of statements plus a sparkline frame per row.
pub async fn top_queries(client: &PromClient, json: &[u8], span: Span) -> Result<Vec<Frame>, Failure> {
    let plan = plan_top(client, json, &span).await?;
    let TopPlan { model, order, limit, schema, measures: measure_exprs, combined, step, info: info_expr, ignored, .. } = &plan;
    let (order, limit, window) = (*order, *limit, span.to - span.from);
    // The increases and the names together; the sparklines after ranking, for the rows shown
    // only (the TSDB reads 20 statements' series instead of all of them).
    let (measures, names) = tokio::join!(increases(client, measure_exprs, combined, span.to), instant(client, info_expr, span.to));
    let measures = measures?;
    let answers = by_measure(schema, &measures, measure_exprs, combined)?;
    // Names are best effort: a failed info query is a notice, never a failed table.
    let (names, names_error) = match names {
        Ok(samples) => (Names::from_info(&samples), None),
        Err((_, _, message)) => (Names::default(), Some(message)),
    };
    let totals = pgss::totals(schema, &answers);
    let total_statements = totals.len();
    let unnamed: Vec<(String, String)> =
        totals.iter().filter(|t| t.text.is_none() && names.get(&t.database, &t.queryid).is_none()).map(|t| (t.database.clone(), t.queryid.clone())).collect();
    let (from_postgres, postgres_error) = postgres_names(client, unnamed).await;
    let statements = pgss::analyse(totals, window, &names, &from_postgres);
    let ranked = pgss::rank(statements, order, &model.search, limit);

    let mut notices = names_notices(schema, &names, &ranked);
    if let Some(message) = names_error {
        notices.push(Notice { severity: Severity::Warning, text: format!("names unavailable: the info metric query failed: {message}") });
    }
    notices.extend(postgres_notice(&ranked, postgres_error));
    if !ignored.is_empty() {
        notices.push(Notice {
            severity: Severity::Info,
            text: format!("{} filter(s) ignored: {} has no such label", ignored.join(", "), schema.def.name),
        });
    }
    let mut custom = serde_json::Map::new();
    custom.insert("schema".into(), schema.describe().into());
    custom.insert("absent".into(), schema.absent.iter().map(|m| serde_json::Value::from(m.key())).collect());
    custom.insert("orderBy".into(), order_key(order).into());
    custom.insert("statements".into(), total_statements.into());
    custom.insert("names".into(), names.len().into());
    let mut table = table_frame(schema, &ranked);
    table.meta = meta("pgss.top", custom, "table");
    if let Some(m) = table.meta.as_mut() {
        m.notices = notices;
    }
    let mut frames = vec![table];
    let ids: Vec<&str> = ranked.iter().map(|s| s.queryid.as_str()).collect();
    if let (Some(source), Some(expr)) = (plan.spark, plan.spark_expr(&ids, client.settings().scrape_interval)) {
        // Best effort, like the names: a failed sparkline query leaves the table whole.
        if let Ok(series) = range(client, &expr, &span, *step).await {
            frames.extend(spark_frames(schema, source, &ranked, series));
        }
    }
    Ok(frames)
}

fn order_key(order: Order) -> String {
    match order {
        Order::PerSecond(m) => m.key().to_string(),
        Order::PerCall(m) => format!("{}_per_call", m.key()),
        Order::HitRatio => "hit_ratio".into(),
    }
}

fn parse_limit(limit: Option<&serde_json::Value>) -> Result<usize, Failure> {
    let value = match limit {
        None | Some(serde_json::Value::Null) => return Ok(DEFAULT_LIMIT),
        Some(serde_json::Value::String(s)) if s.trim().is_empty() => return Ok(DEFAULT_LIMIT),
        Some(serde_json::Value::String(s)) => s.trim().parse::<f64>().ok(),
        Some(serde_json::Value::Number(n)) => n.as_f64(),
        _ => None,
    };
    match value {
        Some(v) if v >= 1.0 && v <= MAX_LIMIT as f64 && v.fract() == 0.0 => Ok(v as usize),
        _ => Err(bad(format!("limit must be a whole number from 1 to {MAX_LIMIT}, not {}", limit.map(|l| l.to_string()).unwrap_or_default()))),
    }
}

/// The wide table: identity columns, then per measure `<m>_per_s` and `<m>_per_call`
/// (measures the schema lacks have no column), `share_of_time` and `hit_ratio`.
pub fn table_frame(schema: &Schema, rows: &[Statement]) -> Frame {
    let text = |f: fn(&Statement) -> String| Values::String(rows.iter().map(f).collect());
    let mut fields = vec![
        Field::new("queryid", text(|s| s.queryid.clone())),
        Field::new("database", text(|s| s.database.clone())),
        Field::new("user", text(|s| s.users.join(", "))),
        Field::new("name", text(|s| s.name.clone())),
        Field::new("text", text(|s| s.text.clone())),
        Field::new("name_source", text(|s| s.name_source.as_str().into())),
    ];
    let number = |values: Vec<f64>| Values::Float64(values);
    if schema.has(Measure::ExecTime) {
        fields.push(with_config(
            Field::new("share_of_time", number(rows.iter().map(|s| s.share_of_time.unwrap_or(f64::NAN)).collect())),
            "% of time",
            "percentunit",
        ));
    }
    for source in &schema.present {
        let m = source.measure;
        let (per_s_unit, per_call_unit) = m.units();
        fields.push(with_config(
            Field::new(format!("{}_per_s", m.key()), number(rows.iter().map(|s| s.per_second.get(&m).copied().unwrap_or(f64::NAN)).collect())),
            &format!("{}/s", m.label()),
            per_s_unit,
        ));
        if m != Measure::Calls && schema.has(Measure::Calls) {
            fields.push(with_config(
                Field::new(format!("{}_per_call", m.key()), number(rows.iter().map(|s| s.per_call.get(&m).copied().unwrap_or(f64::NAN)).collect())),
                &format!("{}/call", m.label()),
                per_call_unit,
            ));
        }
    }
    if schema.has(Measure::SharedHit) && schema.has(Measure::SharedRead) {
        fields.push(with_config(
            Field::new("hit_ratio", number(rows.iter().map(|s| s.hit_ratio.unwrap_or(f64::NAN)).collect())),
            "hit ratio",
            "percentunit",
        ));
    }
    Frame { name: "pgss top queries".into(), ref_id: String::new(), meta: None, fields }
}

/// One frame per ranked statement: the ordering measure per second over the range.
fn spark_frames(schema: &Schema, source: pgss::Source, rows: &[Statement], series: Vec<Series>) -> Vec<Frame> {
    let mut by_key: HashMap<(String, String), Vec<(f64, f64)>> = HashMap::new();
    for (labels, points) in series {
        let (Some(db), Some(id)) = (labels.get(schema.def.database_label), labels.get("queryid")) else { continue };
        by_key.insert((db.clone(), id.clone()), points.into_iter().map(|(t, v)| (t, v * source.scale)).collect());
    }
    let (unit, _) = source.measure.units();
    rows.iter()
        .filter_map(|row| {
            let points = by_key.remove(&(row.database.clone(), row.queryid.clone()))?;
            let labels: Labels = [("database".to_string(), row.database.clone()), ("queryid".to_string(), row.queryid.clone())].into();
            let mut custom = serde_json::Map::new();
            custom.insert("measure".into(), source.measure.key().into());
            Some(Frame {
                name: format!("{}/s", source.measure.label()),
                ref_id: String::new(),
                meta: meta("pgss.sparkline", custom, "timeseries-multi"),
                fields: vec![
                    time_field(&points),
                    with_config(Field::new("Value", Values::Float64(points.iter().map(|p| p.1).collect())).with_labels(labels), &row.name, unit),
                ],
            })
        })
        .collect()
}

/// `pgssQuery`: every measure of one statement per second and per call over the range, and
/// its name, text, database and users in the first frame's meta.
pub async fn one_query(client: &PromClient, json: &[u8], span: Span) -> Result<Vec<Frame>, Failure> {
    let model: OneModel = serde_json::from_slice(json).map_err(|e| bad(format!("pgssQuery: the query JSON is malformed: {e}")))?;
    let queryid = match &model.queryid {
        serde_json::Value::String(s) => s.trim().to_string(),
        serde_json::Value::Number(n) => n.to_string(),
        _ => String::new(),
    };
    if queryid.is_empty() || !queryid.chars().enumerate().all(|(i, c)| c.is_ascii_digit() || (i == 0 && c == '-')) {
        return Err(bad(format!("pgssQuery needs a queryid (a number as pg_stat_statements shows it), not {:?}", model.queryid.to_string())));
    }
    if span.to <= span.from {
        return Err(bad(format!("the time range is empty or reversed (from {} to {})", span.from, span.to)));
    }
    let window = span.to - span.from;
    let schema = schema(client, span.to, window).await?;
    let scrape = client.settings().scrape_interval;
    let points = (span.max_points.max(1) as f64).min(11_000.0);
    let step = seconds((window / points).max(span.interval_ms as f64 / 1000.0).max(scrape.as_secs_f64()));
    let rate = format_go(rate_window(step, scrape));
    let id = [("queryid", queryid.as_str())];
    let exprs: Vec<(pgss::Source, String)> = schema
        .present
        .iter()
        .map(|source| {
            let (selector, _) = schema.selector(source.metric, &model.filters, &id);
            (*source, format!("sum(rate({selector}[{rate}]))"))
        })
        .collect();
    let calls_metric = schema.source(Measure::Calls).map(|s| s.metric).unwrap_or_default();
    let (calls_selector, _) = schema.selector(calls_metric, &model.filters, &id);
    let identity_expr = format!("group by ({}) (last_over_time({calls_selector}[{}]))", schema.by_labels(), format_go(seconds(window)));
    let info_expr = format!("last_over_time({}[{}])", info_selector(client, Some(&queryid)), format_go(seconds(window)));

    let series = join_all(exprs.iter().map(|(source, expr)| async move { range(client, expr, &span, step).await.map(|s| (*source, s)) }));
    let (series, identity, info) = tokio::join!(series, instant(client, &identity_expr, span.to), instant(client, &info_expr, span.to));
    let series = series.into_iter().collect::<Result<Vec<_>, _>>()?;
    let identity = identity?;
    let names = info.as_deref().map(Names::from_info).unwrap_or_default();

    let database = identity.iter().find_map(|(l, _)| l.get(schema.def.database_label).cloned()).unwrap_or_default();
    let mut users: Vec<String> = identity.iter().filter_map(|(l, _)| schema.def.user_label.and_then(|u| l.get(u).cloned())).collect();
    users.sort();
    users.dedup();
    let label_text = identity.iter().find_map(|(l, _)| schema.def.text_label.and_then(|t| l.get(t).cloned()));
    let (mut name, mut text, mut source) = match (names.get(&database, &queryid), label_text) {
        (Some((n, t)), _) => (n.clone(), t.clone(), NameSource::Info),
        (None, Some(t)) => (pgss::short_name(&t, 80), t, NameSource::Label),
        (None, None) => (format!("queryid {queryid}"), String::new(), NameSource::Queryid),
    };
    let mut postgres_error = None;
    if source == NameSource::Queryid && !identity.is_empty() {
        let (from_postgres, error) = postgres_names(client, vec![(database.clone(), queryid.clone())]).await;
        if let Some((n, t)) = from_postgres.get(&database, &queryid) {
            (name, text, source) = (n.clone(), t.clone(), NameSource::Postgres);
        }
        postgres_error = error;
    }

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
        frames.push(measure_frame(*measure, "s", points, unit_s));
        if *measure != Measure::Calls && !calls.is_empty() {
            frames.push(measure_frame(*measure, "call", &pgss::per_call_series(points, &calls), unit_call));
        }
    }
    let mut custom = serde_json::Map::new();
    custom.insert("queryid".into(), queryid.clone().into());
    custom.insert("database".into(), database.into());
    custom.insert("users".into(), users.into());
    custom.insert("name".into(), name.into());
    custom.insert("text".into(), text.into());
    custom.insert("nameSource".into(), source.as_str().into());
    custom.insert("schema".into(), schema.describe().into());
    custom.insert("absent".into(), schema.absent.iter().map(|m| serde_json::Value::from(m.key())).collect());
    let mut notices = Vec::new();
    if identity.is_empty() {
        notices.push(Notice { severity: Severity::Warning, text: format!("queryid {queryid} has no pgss series in this range (and these filters)") });
    } else if source == NameSource::Queryid {
        notices.push(Notice { severity: Severity::Warning, text: "names unavailable: no info metric names this queryid in the range (the data is complete)".into() });
    }
    notices.extend(postgres_error.map(|text| Notice { severity: Severity::Warning, text }));
    match frames.first_mut() {
        Some(first) => {
            // The first series frame carries the query's identity too; it keeps its measure.
            if let Some(own) = first.meta.as_ref().and_then(|m| m.custom.as_ref()) {
                for key in ["measure", "per"] {
                    if let Some(v) = own.get(key) {
                        custom.insert(key.into(), v.clone());
                    }
                }
            }
            let mut m = FrameMeta::pgscope("pgss.query", "timeseries-multi", custom);
            m.notices = notices;
            first.meta = Some(m);
        }
        None => frames.push(Frame { name: "pgss query".into(), ref_id: String::new(), meta: meta("pgss.query", custom, "table"), fields: vec![] }),
    }
    Ok(frames)
}

fn measure_frame(measure: Measure, per: &str, points: &[(f64, f64)], unit: &str) -> Frame {
    let labels: Labels = [("measure".to_string(), measure.key().to_string()), ("per".to_string(), per.to_string())].into();
    let display = format!("{}/{per}", measure.label());
    let mut custom = serde_json::Map::new();
    custom.insert("measure".into(), measure.key().into());
    custom.insert("per".into(), per.into());
    Frame {
        name: display.clone(),
        ref_id: String::new(),
        meta: meta("pgss.series", custom, "timeseries-multi"),
        fields: vec![time_field(points), with_config(Field::new("Value", Values::Float64(points.iter().map(|p| p.1).collect())).with_labels(labels), &display, unit)],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_whole_numbers_in_range() {
        assert_eq!(parse_limit(None).unwrap(), DEFAULT_LIMIT);
        assert_eq!(parse_limit(Some(&serde_json::json!("50"))).unwrap(), 50);
        assert_eq!(parse_limit(Some(&serde_json::json!(1000))).unwrap(), 1000);
        for bad in [serde_json::json!(0), serde_json::json!(2.5), serde_json::json!("many"), serde_json::json!(100000), serde_json::json!([1])] {
            assert!(parse_limit(Some(&bad)).unwrap_err().2.contains("whole number"), "{bad}");
        }
    }

    #[test]
    fn rate_windows_follow_grafana() {
        assert_eq!(rate_window(Duration::from_secs(30), Duration::from_secs(15)), Duration::from_secs(60));
        assert_eq!(rate_window(Duration::from_secs(120), Duration::from_secs(15)), Duration::from_secs(135));
    }
}
