//! The maths of the top-queries table: counter increases over the range summed per statement
//! (`totals`), turned into per second, per call, % of total time and hit ratio (`analyse`),
//! ranked and searched (`rank`). Pure: the requests live in `fetch`.

use std::collections::{BTreeMap, BTreeSet};

use super::catalog::Measure::{Calls, ExecTime, SharedHit, SharedRead};
use super::catalog::Measure;
use super::names::{short_name, NameSource, Names};
use super::schema::Schema;
use crate::prom::read::LabelSet;

/// Per statement (database, queryid): what the range added to each measure, canonical units.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Totals {
    pub database: String,
    pub queryid: String,
    pub users: BTreeSet<String>,
    pub text: Option<String>,
    pub values: BTreeMap<Measure, f64>,
}

/// Sums each measure's `increase(...)` samples by (database, queryid), in canonical units.
/// Negative increases (a TSDB's artefact after a counter reset) count as 0.
pub fn totals<L: LabelSet>(schema: &Schema, answers: &[(Measure, Vec<(L, f64)>)]) -> Vec<Totals> {
    // Statements by database, then queryid, looked up by reference: the answer has a sample
    // per statement and measure, and only a statement's first needs its key copied.
    let mut index: std::collections::HashMap<&str, std::collections::HashMap<&str, usize>> = std::collections::HashMap::new();
    let mut all: Vec<Totals> = Vec::new();
    for (measure, samples) in answers {
        let Some(source) = schema.source(*measure) else { continue };
        for (labels, value) in samples {
            let Some(queryid) = labels.label("queryid").filter(|q| !q.is_empty()) else { continue };
            let database = labels.label(schema.def.database_label).unwrap_or_default();
            let at = *index.entry(database).or_default().entry(queryid).or_insert_with(|| {
                all.push(Totals { database: database.to_string(), queryid: queryid.to_string(), ..Default::default() });
                all.len() - 1
            });
            let entry = &mut all[at];
            if let Some(user) = schema.def.user_label.and_then(|l| labels.label(l)) {
                if !entry.users.contains(user) {
                    entry.users.insert(user.to_string());
                }
            }
            if let Some(text) = schema.def.text_label.and_then(|l| labels.label(l)).filter(|t| !t.is_empty()) {
                entry.text.get_or_insert_with(|| text.to_string());
            }
            if value.is_finite() {
                *entry.values.entry(*measure).or_insert(0.0) += value.max(0.0) * source.scale;
            }
        }
    }
    all.sort_unstable_by(|a, b| (&a.database, &a.queryid).cmp(&(&b.database, &b.queryid)));
    all
}

/// One row of the top-queries table.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub database: String,
    pub queryid: String,
    pub users: Vec<String>,
    pub name: String,
    pub text: String,
    pub name_source: NameSource,
    /// Per second of the range, canonical units; absent measures are missing, not 0.
    pub per_second: BTreeMap<Measure, f64>,
    /// Per call (needs calls > 0).
    pub per_call: BTreeMap<Measure, f64>,
    /// This statement's share of all statements' execution time in the range, 0..=1.
    pub share_of_time: Option<f64>,
    /// shared hit / (hit + read), when both exist and something was touched.
    pub hit_ratio: Option<f64>,
}

/// Turns range totals into table rows (every statement; sorting and limits are separate).
/// Names: the info metric's, else the exporter's text label, else PostgreSQL's (`from_postgres`,
/// see `pgnames`), else the queryid.
pub fn analyse(totals: Vec<Totals>, range_seconds: f64, names: &Names, from_postgres: &Names) -> Vec<Statement> {
    let total_time: f64 = totals.iter().filter_map(|t| t.values.get(&ExecTime)).sum();
    analyse_with_total(totals, range_seconds, total_time, names, from_postgres)
}

/// `analyse` for some of the statements, the share of time taken of `total_time` (seconds,
/// every statement's execution time in the range, summed by the TSDB).
pub fn analyse_with_total(totals: Vec<Totals>, range_seconds: f64, total_time: f64, names: &Names, from_postgres: &Names) -> Vec<Statement> {
    let range = range_seconds.max(1e-9);
    totals
        .into_iter()
        .map(|t| {
            let calls = t.values.get(&Calls).copied();
            let per_second = t.values.iter().map(|(m, v)| (*m, v / range)).collect();
            let per_call = match calls {
                Some(c) if c > 0.0 => t.values.iter().filter(|(m, _)| **m != Calls).map(|(m, v)| (*m, v / c)).collect(),
                _ => BTreeMap::new(),
            };
            let share_of_time = t.values.get(&ExecTime).filter(|_| total_time > 0.0).map(|v| v / total_time);
            let hit_ratio = match (t.values.get(&SharedHit), t.values.get(&SharedRead)) {
                (Some(h), Some(r)) if h + r > 0.0 => Some(h / (h + r)),
                _ => None,
            };
            let (name, text, name_source) = match (names.get(&t.database, &t.queryid), &t.text) {
                (Some((name, text)), _) => (name.clone(), text.clone(), NameSource::Info),
                (None, Some(text)) => (short_name(text, 80), text.clone(), NameSource::Label),
                (None, None) => match from_postgres.get(&t.database, &t.queryid) {
                    Some((name, text)) => (name.clone(), text.clone(), NameSource::Postgres),
                    None => (format!("queryid {}", t.queryid), String::new(), NameSource::Queryid),
                },
            };
            Statement {
                database: t.database,
                queryid: t.queryid,
                users: t.users.into_iter().collect(),
                name,
                text,
                name_source,
                per_second,
                per_call,
                share_of_time,
                hit_ratio,
            }
        })
        .collect()
}

/// What the table can be ordered by: a measure per second (`exec_time`), per call
/// (`exec_time_per_call`), `hit_ratio` (lowest first) or `share` (= exec time).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Order {
    PerSecond(Measure),
    PerCall(Measure),
    HitRatio,
}

impl Order {
    pub fn parse(text: &str) -> Result<Order, String> {
        let text = text.trim();
        if text.is_empty() || text == "share" || text == "pct_time" {
            return Ok(Order::PerSecond(ExecTime));
        }
        if text == "hit_ratio" {
            return Ok(Order::HitRatio);
        }
        let (key, per_call) = match text.strip_suffix("_per_call") {
            Some(key) => (key, true),
            None => (text.strip_suffix("_per_s").unwrap_or(text), false),
        };
        let measure = Measure::from_key(key).ok_or_else(|| {
            format!("orderBy {text:?} is not a measure ({}), a measure with _per_call, or hit_ratio", Measure::ALL.map(|m| m.key()).join(", "))
        })?;
        Ok(if per_call { Order::PerCall(measure) } else { Order::PerSecond(measure) })
    }

    /// The `orderBy` key of an order, as the frame's meta names it.
    pub fn key(self) -> String {
        match self {
            Order::PerSecond(m) => m.key().to_string(),
            Order::PerCall(m) => format!("{}_per_call", m.key()),
            Order::HitRatio => "hit_ratio".into(),
        }
    }

    pub fn measure(self) -> Measure {
        match self {
            Order::PerSecond(m) | Order::PerCall(m) => m,
            Order::HitRatio => SharedHit,
        }
    }

    /// The statement's figure for this order, as the table shows it.
    pub fn figure(self, s: &Statement) -> Option<f64> {
        match self {
            Order::PerSecond(m) => s.per_second.get(&m).copied(),
            Order::PerCall(m) => s.per_call.get(&m).copied(),
            Order::HitRatio => s.hit_ratio,
        }
    }

    /// The figure as ranked, largest first: the worst (lowest) hit ratio first.
    pub fn rank_value(self, s: &Statement) -> Option<f64> {
        let figure = self.figure(s)?;
        Some(if matches!(self, Order::HitRatio) { -figure } else { figure })
    }
}

/// Whether `search` (case-insensitive; empty matches all) is in the statement's name, text,
/// queryid, database or a user.
pub fn matches_search(s: &Statement, search: &str) -> bool {
    let needle = search.trim().to_lowercase();
    needle.is_empty()
        || [&s.name, &s.text, &s.queryid, &s.database].iter().any(|f| f.to_lowercase().contains(&needle))
        || s.users.iter().any(|u| u.to_lowercase().contains(&needle))
}

/// Keeps the statements whose name, text, queryid, database or user contain `search`
/// (case-insensitive), orders them (missing values last, then by queryid) and keeps `limit`.
pub fn rank(mut statements: Vec<Statement>, order: Order, search: &str, limit: usize) -> Vec<Statement> {
    statements.retain(|s| matches_search(s, search));
    statements.sort_by(|a, b| match (order.rank_value(a), order.rank_value(b)) {
        (Some(x), Some(y)) => y.total_cmp(&x).then_with(|| a.queryid.cmp(&b.queryid)),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.queryid.cmp(&b.queryid),
    });
    statements.truncate(limit);
    statements
}

/// Per-call series from aligned per-second series: value / calls at the same timestamps
/// (NaN where calls is 0 or missing).
pub fn per_call_series(values: &[(f64, f64)], calls: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let calls: BTreeMap<i64, f64> = calls.iter().map(|(t, v)| ((t * 1000.0).round() as i64, *v)).collect();
    values
        .iter()
        .map(|(t, v)| {
            let c = calls.get(&((t * 1000.0).round() as i64)).copied().unwrap_or(0.0);
            (*t, if c > 0.0 { v / c } else { f64::NAN })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use Measure::*;

    #[test]
    fn orders_parse_and_explain_themselves() {
        assert_eq!(Order::parse("").unwrap(), Order::PerSecond(ExecTime));
        assert_eq!(Order::parse("calls").unwrap(), Order::PerSecond(Calls));
        assert_eq!(Order::parse("rows_per_call").unwrap(), Order::PerCall(Rows));
        assert_eq!(Order::parse("temp_written_per_s").unwrap(), Order::PerSecond(TempWritten));
        assert_eq!(Order::parse("hit_ratio").unwrap(), Order::HitRatio);
        assert!(Order::parse("bogus").unwrap_err().contains("exec_time"));
    }

    #[test]
    fn per_call_series_divide_at_equal_timestamps() {
        let v = per_call_series(&[(0.0, 2.0), (30.0, 3.0), (60.0, 1.0)], &[(0.0, 4.0), (30.0, 0.0)]);
        assert_eq!(v[0], (0.0, 0.5));
        assert!(v[1].1.is_nan() && v[2].1.is_nan());
    }
}
