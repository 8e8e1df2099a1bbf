//! Ranking `pgssTopQueries` in the TSDB, so that what crosses the wire and what the plugin
//! holds depend on the rows shown, not on the fleet: the PromQL that picks those rows (`topk`,
//! or `bottomk` for the hit ratio, over one value per statement), the two figures the table
//! needs across every statement (execution time, for the share of it; the number of
//! statements), the statements tied at the limit or without a value for the order (which the
//! in-plugin ranking puts last, by queryid), and the measures and names of the rows shown
//! only, their queryids in regex matchers of at most `ID_BATCH` ids. Pure; `top` runs them.
//!
//! A statement here is (database, queryid) summed over users and instances, as `analysis`
//! keys it; series without a queryid are left out there, so they are here (`queryid!=""`).

use super::analysis::Order;
use super::catalog::Measure;
use super::names::{NAME_LABELS, TEXT_LABELS};
use super::plan::{info_names, info_selector, info_selector_with, seconds, TopPlan};
use crate::duration::format_go;
use crate::promql_text::{quote, regex_escape, with_matcher, QueryidSample};
use crate::settings::Settings;

/// Queryids per regex matcher, and bytes of them: VictoriaMetrics 1.79 matches an alternation
/// of at most ~4,000 bytes as exact values and a longer one as a regex over every queryid
/// (measured: 15 measures of 380 ids took 5x as long as of 360), and Prometheus looks up at
/// most 256 alternatives as exact values.
pub const ID_BATCH: usize = 200;
pub const ID_BATCH_BYTES: usize = 3_600;
/// At most this many statements are read to break a tie at the limit, or to list the
/// statements without a value for the order; past it the TSDB's choice stands, said in a notice.
pub const MAX_EXTRA: usize = 5000;

/// The PromQL of one `pgssTopQueries` query ranked in the TSDB.
pub struct Ranking<'a> {
    plan: &'a TopPlan,
    /// `[10m0s]`, or `[10m0s] offset 1h0m0s` for a comparison window (`compare`).
    range: String,
    /// The window in seconds.
    window_seconds: f64,
    /// Ranks by this expression instead of the order's (`(expr, lowest_first)`): a change.
    ranked_by: Option<(String, bool)>,
    /// Keeps only the statements this expression has (a comparison's states).
    keep: Option<String>,
    /// Statements listed after the ranked ones besides this window's (another window's).
    also: Option<String>,
    /// `datname, queryid`: the statement's key.
    by: String,
    /// The search as a case-insensitive regex matching anywhere, when there is one.
    search: Option<String>,
    /// Every info metric with a queryid.
    info: String,
    /// The info metrics' names, as `plan::info_names` gives them.
    info_names: String,
}

/// `needle` found anywhere, any case, in an RE2 regex (Prometheus' and VictoriaMetrics'): the
/// needle as `regex_escape` makes it literal.
pub fn contains_regex(needle: &str) -> String {
    format!("(?i).*{}.*", regex_escape(needle))
}

impl<'a> Ranking<'a> {
    pub fn new(plan: &'a TopPlan, settings: &Settings) -> Ranking<'a> {
        let needle = plan.query.model.search.trim();
        Ranking {
            info: info_selector(settings, None),
            info_names: info_names(settings),
            plan,
            range: format!("[{}]", format_go(seconds(plan.query.window))),
            window_seconds: seconds(plan.query.window).as_secs_f64(),
            ranked_by: None,
            keep: None,
            also: None,
            by: format!("{}, queryid", plan.schema.def.database_label),
            search: (!needle.is_empty()).then(|| contains_regex(needle)),
        }
    }

    /// The same query over another window ending `offset` seconds before this one's end: a
    /// comparison's (`compare`). Its expressions are evaluated at the same instant.
    pub fn shifted(plan: &'a TopPlan, settings: &Settings, window: f64, offset: f64) -> Ranking<'a> {
        let mut ranking = Ranking::new(plan, settings);
        let offset = if offset >= 1.0 { format!(" offset {}", format_go(seconds(offset))) } else { String::new() };
        ranking.range = format!("[{}]{offset}", format_go(seconds(window)));
        ranking.window_seconds = seconds(window).as_secs_f64();
        ranking
    }

    /// Ranks by `expr` (`lowest_first` for the other direction) and keeps the statements of
    /// `keep`, instead of the order's value over every statement.
    pub fn ranking_by(mut self, expr: Option<(String, bool)>, keep: Option<String>) -> Ranking<'a> {
        self.ranked_by = expr;
        self.keep = keep;
        self
    }

    /// Lists `other`'s statements too after the ranked ones (a comparison window's).
    pub fn listing_also(mut self, other: &Ranking) -> Ranking<'a> {
        self.also = Some(other.statements_expr());
        self
    }

    /// Every statement with a series of some measure in the window, before the search.
    fn statements_expr(&self) -> String {
        // One increase per measure joined by `or` (Prometheus refuses a range function over
        // series that differ only in their names).
        let increases: Vec<String> = self.plan.schema.present.iter().map(|s| format!("increase({}{})", self.selector(s.metric, &[]), self.range)).collect();
        format!("group by ({}) ({})", self.by, increases.join(" or "))
    }

    /// `datname, queryid`: the labels a statement's value has.
    pub fn by(&self) -> &str {
        &self.by
    }

    /// The label holding the instance.
    pub fn instance_label(&self) -> &'static str {
        self.plan.schema.def.instance_label
    }

    /// The label holding the database name.
    pub fn database_label(&self) -> &'static str {
        self.plan.schema.def.database_label
    }

    /// `metric{filters, queryid!="", extra...}`; with a `queryid=~` matcher among `extra`
    /// (a batch of queryids, or the search's `(?i).*text.*` with a text never empty), without
    /// `queryid!=""`: neither regex matches an empty queryid, so it is implied, and Prometheus
    /// pays for it by merging the postings of every queryid (19 measures of 20 statements at
    /// 10k statements: 157 ms with it, 18 ms without).
    fn selector(&self, metric: &str, extra: &[String]) -> String {
        let (selector, _) = self.plan.schema.selector(metric, &self.plan.query.model.filters, &[]);
        let by_ids = extra.iter().any(|m| m.starts_with("queryid=~"));
        let mut selector = if by_ids { selector } else { with_matcher(&selector, "queryid!=\"\"") };
        for matcher in extra {
            selector = with_matcher(&selector, matcher);
        }
        selector
    }

    /// What the range added to `measure` per statement, in the exporter's units.
    pub fn per_statement(&self, measure: Measure) -> Option<String> {
        let source = self.plan.schema.source(measure)?;
        Some(format!("sum by ({}) (increase({}{}))", self.by, self.selector(source.metric, &[]), self.range))
    }

    /// The order's value per statement, ranked in the order's direction (`true`: lowest first).
    /// The exporter's units: every order's scale is one positive factor, so the ranking is the
    /// canonical one's. None when no statement can have a value (the measure is absent).
    pub fn order_expr(&self) -> Option<(String, bool)> {
        if let Some(ranked_by) = &self.ranked_by {
            return Some(ranked_by.clone());
        }
        match self.plan.query.order {
            Order::PerSecond(m) => Some((self.per_statement(m)?, false)),
            // Per call needs calls > 0; calls per call is no column.
            Order::PerCall(Measure::Calls) => None,
            Order::PerCall(m) => Some((format!("{} / ({} > 0)", self.per_statement(m)?, self.per_statement(Measure::Calls)?), false)),
            Order::HitRatio => {
                let (hit, read) = (self.per_statement(Measure::SharedHit)?, self.per_statement(Measure::SharedRead)?);
                Some((format!("{hit} / (({hit} + {read}) > 0)"), true))
            }
        }
    }

    /// `order`'s value per statement in the units of the table, less the measure's scale (a
    /// positive factor): per second divided by the window, so that windows of different
    /// lengths compare. None where no statement can have one.
    pub fn value_expr(&self, order: Order) -> Option<String> {
        match order {
            Order::PerSecond(m) => Some(format!("({} / {})", self.per_statement(m)?, self.window_seconds)),
            Order::PerCall(Measure::Calls) => None,
            Order::PerCall(m) => Some(format!("({} / ({} > 0))", self.per_statement(m)?, self.per_statement(Measure::Calls)?)),
            Order::HitRatio => {
                let (hit, read) = (self.per_statement(Measure::SharedHit)?, self.per_statement(Measure::SharedRead)?);
                Some(format!("({hit} / (({hit} + {read}) > 0))"))
            }
        }
    }

    /// The statements a label of theirs matches: on the calls series, one of `series_labels`;
    /// on an info metric with their queryid, one of `info_labels`. `matchers(label)`: that
    /// label's matchers, all of which hold.
    fn matching(&self, series_labels: &[&str], info_labels: &[&str], matchers: impl Fn(&str) -> Vec<String>) -> Option<String> {
        let calls = self.plan.schema.source(Measure::Calls)?.metric;
        let statements = |extra: &[String]| format!("group by ({}) (last_over_time({}{}))", self.by, self.selector(calls, extra), self.range);
        let mut parts: Vec<String> = series_labels.iter().map(|l| statements(&matchers(l))).collect();
        let info = info_labels
            .iter()
            .map(|l| format!("last_over_time({}{})", matchers(l).iter().fold(self.info.clone(), |s, m| with_matcher(&s, m)), self.range))
            .collect::<Vec<_>>()
            .join(" or ");
        parts.push(format!("({} and on(queryid) group by (queryid) ({info}))", statements(&[])));
        Some(parts.join(" or "))
    }

    /// The statements the search and the text filters (`text_filter`: statement types, a tag)
    /// can match, by (database, queryid). The search: the queryid, database, user or text label
    /// on the calls series, or a name or text label of an info metric with the queryid; a text
    /// filter: the text label, or a text label of an info metric (`names::TEXT_LABELS`).
    /// PostgreSQL's own texts cannot be searched in the TSDB.
    pub fn candidates(&self) -> Option<String> {
        let def = self.plan.schema.def;
        let mut sets = Vec::new();
        if let Some(regex) = &self.search {
            let mut labels = vec!["queryid", def.database_label];
            labels.extend(def.user_label);
            labels.extend(def.text_label);
            sets.push(self.matching(&labels, NAME_LABELS, |l| vec![format!("{l}=~\"{}\"", quote(regex))])?);
        }
        let text_labels: Vec<&str> = def.text_label.into_iter().collect();
        for condition in self.plan.query.text_filter.label_conditions() {
            sets.push(self.matching(&text_labels, TEXT_LABELS, |l| condition.iter().map(|(op, regex)| format!("{l}{op}\"{}\"", quote(regex))).collect())?);
        }
        match sets.len() {
            0 => None,
            1 => sets.pop(),
            _ => Some(sets.iter().map(|s| format!("({s})")).collect::<Vec<_>>().join(&format!(" and on({}) ", self.by))),
        }
    }

    /// `expr` kept to the candidates of the search and text filters, when there are any.
    fn searched(&self, expr: &str) -> String {
        let expr = match self.candidates() {
            Some(candidates) => format!("({expr}) and on({}) ({candidates})", self.by),
            None => expr.to_string(),
        };
        match &self.keep {
            Some(keep) => format!("({expr}) and on({}) ({keep})", self.by),
            None => expr,
        }
    }

    /// The first `k` statements by the order, with their values.
    pub fn top_expr(&self, k: usize) -> Option<String> {
        let (expr, lowest_first) = self.order_expr()?;
        let function = if lowest_first { "bottomk" } else { "topk" };
        Some(format!("{function}({k}, {})", self.searched(&expr)))
    }

    /// Every statement whose value for the order is `value` (a tie at the limit); `bounded`.
    pub fn tied_expr(&self, value: f64) -> Option<String> {
        let (expr, _) = self.order_expr()?;
        Some(bounded(&format!("({}) == {}", self.searched(&expr), promql_number(value))))
    }

    /// The statements with no value for the order (no such series, no calls, nothing
    /// touched): every measure's series in the range, less the ranked ones; `bounded`.
    pub fn unranked_expr(&self) -> String {
        let all = match &self.also {
            Some(also) => format!("{} or {also}", self.statements_expr()),
            None => self.statements_expr(),
        };
        let all = self.searched(&all);
        let unranked = match self.order_expr() {
            Some((expr, _)) => format!("({all}) unless on({}) ({expr})", self.by),
            None => all,
        };
        bounded(&unranked)
    }

    /// Across every statement the filters keep (not the search, as in the table's share): the
    /// execution time the range added. None when the schema has no execution time.
    pub fn total_time_expr(&self) -> Option<String> {
        let exec = self.plan.schema.source(Measure::ExecTime)?;
        Some(format!("sum(increase({}{}))", self.selector(exec.metric, &[]), self.range))
    }

    /// How many statements the filters keep have calls series in the range, of `sample`'s
    /// queryids where given. Apart from the time's query: Prometheus evaluates a query on one
    /// core, and the two run side by side.
    pub fn statement_count_expr(&self, sample: Option<QueryidSample>) -> String {
        let calls = self.plan.schema.source(Measure::Calls).map(|s| s.metric).unwrap_or_default();
        let extra: Vec<String> = sample.and_then(|s| s.matcher()).into_iter().collect();
        format!("count(group by ({}) (last_over_time({}{})))", self.by, self.selector(calls, &extra), self.range)
    }

    /// The first `k` statements by execution time and, labelled `pgscope="rest"`, the sum of
    /// the others' (MetricsQL's `topk_last` with an other label): the share's total from the
    /// ranking's own read, where `top_expr` and `total_time_expr` read every statement's series
    /// twice. None unless the order is execution time over every statement the filters keep: a
    /// search, a text filter or a comparison ranks fewer statements than the total holds.
    pub fn top_with_rest_expr(&self, k: usize) -> Option<String> {
        let plain = self.ranked_by.is_none() && self.keep.is_none() && self.candidates().is_none();
        (plain && self.plan.query.order == Order::PerSecond(Measure::ExecTime)).then_some(())?;
        Some(format!("topk_last({k}, {}, \"pgscope=rest\")", self.per_statement(Measure::ExecTime)?))
    }

    /// `metric{filters, queryid!="", queryid=~"<ids>"}[window]` with the offset, for `measure`.
    pub fn range_of_ids(&self, measure: Measure, ids: &[&str]) -> Option<String> {
        Some(format!("{}{}", self.selector(self.plan.schema.source(measure)?.metric, &[Self::ids_matcher(ids)]), self.range))
    }

    /// The instances each statement of a batch ran on in the window (calls added).
    pub fn instances_expr(&self, ids: &[&str]) -> Option<String> {
        let calls = self.plan.schema.source(Measure::Calls)?.metric;
        let selector = self.selector(calls, &[Self::ids_matcher(ids)]);
        Some(format!("group by ({}, {}) (increase({selector}{}) > 0)", self.by, self.plan.schema.def.instance_label, self.range))
    }

    /// The PostgreSQL versions (postgres_exporter's `pg_static`) seen in the window.
    pub fn versions_expr(&self) -> String {
        format!("group by (short_version) (last_over_time(pg_static{}))", self.range)
    }

    /// `queryid=~"a|b|..."` for one batch of queryids (digits and a leading minus only).
    fn ids_matcher(ids: &[&str]) -> String {
        format!("queryid=~\"{}\"", ids.join("|"))
    }

    /// Every measure's increase for a batch of statements, by the labels the in-plugin path
    /// sums by: in one query keeping metric names (VictoriaMetrics), and one per measure.
    pub fn measures_exprs(&self, ids: &[&str]) -> (String, Vec<(Measure, String)>) {
        let by = self.plan.schema.by_labels();
        let matcher = [Self::ids_matcher(ids)];
        let names: Vec<&str> = self.plan.schema.present.iter().map(|s| s.metric).collect();
        let mut all_extra = matcher.to_vec();
        all_extra.push(format!("__name__=~\"{}\"", names.join("|")));
        let combined = format!("sum by (__name__, {by}) (increase({}{}) keep_metric_names)", self.selector("", &all_extra), self.range);
        let per_measure = self
            .plan
            .schema
            .present
            .iter()
            .map(|s| (s.measure, format!("sum by ({by}) (increase({}{}))", self.selector(s.metric, &matcher), self.range)))
            .collect();
        (combined, per_measure)
    }

    /// The names of a batch of statements: any info metric with their queryids.
    pub fn names_expr(&self, ids: &[&str]) -> String {
        format!("last_over_time({}{})", info_selector_with(&self.info_names, &Self::ids_matcher(ids)), self.range)
    }
}

/// `expr`'s statements when at most `MAX_EXTRA` are, else only their number, labelled
/// `pgscope="more"` (what `too_many` reads).
fn bounded(expr: &str) -> String {
    format!("({expr}) and on() (count({expr}) <= {MAX_EXTRA}) or label_replace(count({expr}) > {MAX_EXTRA}, \"pgscope\", \"more\", \"\", \"\")")
}

/// A number as PromQL reads it back to the same f64 (Rust prints the shortest such digits).
fn promql_number(value: f64) -> String {
    if value.is_finite() {
        format!("{value:?}")
    } else if value.is_nan() {
        "NaN".into()
    } else if value > 0.0 {
        "Inf".into()
    } else {
        "-Inf".into()
    }
}

/// Queryids as they may go into a regex: digits with an optional leading minus, each once,
/// in batches of at most `ID_BATCH` ids and `ID_BATCH_BYTES` bytes joined by `|`.
pub fn id_batches<'s>(ids: impl IntoIterator<Item = &'s str>) -> Vec<Vec<&'s str>> {
    let mut ids: Vec<&str> = ids.into_iter().filter(|q| !q.is_empty() && q.chars().enumerate().all(|(i, c)| c.is_ascii_digit() || (i == 0 && c == '-'))).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut batches: Vec<Vec<&str>> = Vec::new();
    let mut bytes = 0;
    for id in ids {
        match batches.last_mut() {
            Some(batch) if batch.len() < ID_BATCH && bytes + 1 + id.len() <= ID_BATCH_BYTES => {
                bytes += 1 + id.len();
                batch.push(id);
            }
            _ => {
                bytes = id.len();
                batches.push(vec![id]);
            }
        }
    }
    batches
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pgss::plan::{Span, TopQuery};
    use crate::pgss::schema::detect;

    fn plan(json: &str, names: &[&str]) -> (TopPlan, Settings) {
        let instance = crate::pluginv2::DataSourceInstanceSettings { url: "http://127.0.0.1:9".into(), json_data: b"{}".to_vec(), ..Default::default() };
        let settings = Settings::from_instance(Some(&instance)).unwrap();
        let query = TopQuery::parse(json.as_bytes(), &Span { from: 0.0, to: 600.0, interval_ms: 15_000, max_points: 100 }).unwrap();
        let schema = detect(&names.iter().map(|n| n.to_string()).collect::<Vec<_>>(), None).unwrap();
        (TopPlan::build(query, schema, &settings), settings)
    }

    const EXPORTER: &[&str] = &["pg_stat_statements_calls_total", "pg_stat_statements_seconds_total", "pg_stat_statements_shared_blks_hit_total", "pg_stat_statements_shared_blks_read_total"];

    #[test]
    fn orders_rank_one_value_per_statement() {
        let top = |json: &str| {
            let (plan, settings) = plan(json, EXPORTER);
            Ranking::new(&plan, &settings).top_expr(21)
        };
        let calls = r#"sum by (datname, queryid) (increase(pg_stat_statements_calls_total{queryid!=""}[10m0s]))"#;
        let time = r#"sum by (datname, queryid) (increase(pg_stat_statements_seconds_total{queryid!=""}[10m0s]))"#;
        assert_eq!(top(r#"{"orderBy":"calls"}"#).unwrap(), format!("topk(21, {calls})"));
        assert_eq!(top(r#"{"orderBy":"exec_time_per_call","database":"app"}"#).unwrap(), format!("topk(21, {} / ({} > 0))", time.replace("{queryid", "{datname=~\"app\",queryid"), calls.replace("{queryid", "{datname=~\"app\",queryid")));
        assert!(top(r#"{"orderBy":"hit_ratio"}"#).unwrap().starts_with("bottomk(21, "), "lowest ratio first");
        assert_eq!(top(r#"{"orderBy":"wal_bytes"}"#), None, "an absent measure: no statement has a value");
        assert_eq!(top(r#"{"orderBy":"calls_per_call"}"#), None, "calls per call is no column");
        let searched = top(r#"{"orderBy":"calls","search":"Orders (x)"}"#).unwrap();
        assert!(searched.contains(r#"queryid=~"(?i).*Orders \\(x\\).*""#) && searched.contains("displayname=~"), "{searched}");
    }

    #[test]
    fn searches_escape_punctuation_only_and_ids_batch() {
        assert_eq!(contains_regex("a.b é"), r"(?i).*a\.b é.*");
        let ids: Vec<String> = (0..401).map(|i| format!("{}", i - 200)).collect();
        let batches = id_batches(ids.iter().map(String::as_str).chain(["1", "x1", ""]));
        assert_eq!(batches.iter().map(Vec::len).collect::<Vec<_>>(), [200, 200, 1], "each id once, letters dropped");
        // pg_stat_statements' queryids are 64-bit: 20 bytes with the sign.
        let long: Vec<String> = (0..400).map(|i| format!("-92233720368547{i:05}")).collect();
        let batches = id_batches(long.iter().map(String::as_str));
        assert!(batches.iter().all(|b| b.join("|").len() <= ID_BATCH_BYTES), "every batch within the bytes");
        assert_eq!(batches.iter().map(Vec::len).sum::<usize>(), 400);
        assert_eq!(batches[0].len(), (ID_BATCH_BYTES + 1) / 21);
        assert_eq!(promql_number(0.1), "0.1");
        assert_eq!(promql_number(f64::INFINITY), "Inf");
    }
}
