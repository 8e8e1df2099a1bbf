//! "What changed": `pgssTopQueries` and `pgssQuery` against a comparison window (issue 20).
//! The query JSON's `compareTo` (`previous`, an offset such as `1d`, or an absolute range)
//! read into a `Comparison`; a row's state (`classify`) and change; the table's comparison columns (`compare_fields`) and what the windows say in
//! notices (`reset_notice`, `moved_notice`, `version_notice`). Pure; `compare_exprs` has the
//! PromQL, `top` runs it.
//!
//! A statement's state: **new** (no calls then, calls now), **gone** (calls then, none now),
//! **regressed** / **improved** (the compared measure, time per call by default, worse / better
//! by more than the threshold, with at least `minCalls` calls in both windows, so that a
//! statement run 3 times does not rank), else **unchanged**.

use std::collections::{BTreeMap, BTreeSet};

use super::analysis::{Order, Statement};
use super::catalog::Measure;
use crate::duration::{format_go, parse as parse_duration};
use crate::failure::QueryFailure;
use crate::frame::{Field, FieldConfig, Frame, Notice, Severity, Values};

pub const DEFAULT_THRESHOLD: f64 = 20.0;
pub const DEFAULT_MIN_CALLS: f64 = 20.0;

/// What the range is compared with.
#[derive(Debug, Clone, PartialEq)]
pub enum CompareTo {
    /// The range of the same length just before.
    Previous,
    /// The same range this many seconds earlier.
    Offset(f64),
    /// An absolute range, epoch seconds.
    Range { from: f64, to: f64 },
}

/// A statement's state between the two windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum State {
    New,
    Gone,
    Regressed,
    Improved,
    Unchanged,
}

impl State {
    pub const ALL: [State; 5] = [State::New, State::Gone, State::Regressed, State::Improved, State::Unchanged];

    pub fn as_str(self) -> &'static str {
        match self {
            State::New => "new",
            State::Gone => "gone",
            State::Regressed => "regressed",
            State::Improved => "improved",
            State::Unchanged => "unchanged",
        }
    }

    fn parse(text: &str) -> Result<State, String> {
        State::ALL
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(text.trim()))
            .ok_or_else(|| format!("state {text:?} is not one of {}", State::ALL.map(State::as_str).join(", ")))
    }
}

/// Ordering by the change of the base order's value rather than by the value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChangeOrder {
    /// By the change in percent of the value then (else by the difference).
    pub pct: bool,
}

/// `exec_time_per_call_change_pct` -> (`exec_time_per_call`, by percent).
pub fn split_change(order_by: &str) -> (&str, Option<ChangeOrder>) {
    let text = order_by.trim();
    if let Some(base) = text.strip_suffix("_change_pct") {
        return (base, Some(ChangeOrder { pct: true }));
    }
    if let Some(base) = text.strip_suffix("_change") {
        return (base, Some(ChangeOrder { pct: false }));
    }
    (text, None)
}

/// The `orderBy` key of a change order.
pub fn change_key(order: Order, change: ChangeOrder) -> String {
    format!("{}_change{}", order.key(), if change.pct { "_pct" } else { "" })
}

/// A comparison, read and checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub to: CompareTo,
    /// The comparison window, epoch seconds.
    pub from_s: f64,
    pub to_s: f64,
    /// Seconds from the end of the comparison window to the end of the range.
    pub offset: f64,
    /// Percent the compared measure must change by to count as regressed or improved.
    pub threshold: f64,
    /// Calls a statement needs in each window to be regressed or improved.
    pub min_calls: f64,
    /// The measure regressions are judged on.
    pub measure: Order,
    /// The states kept; empty keeps every statement.
    pub states: Vec<State>,
}

/// A range in epoch seconds.
struct Range {
    from: f64,
    to: f64,
}

/// The comparison fields of a pgss query's JSON (`compareTo` and its settings).
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CompareModel {
    pub compare_to: serde_json::Value,
    pub threshold: Option<serde_json::Value>,
    pub min_calls: Option<serde_json::Value>,
    pub compare_measure: String,
    pub state: serde_json::Value,
}

fn number(value: Option<&serde_json::Value>, what: &str, default: f64, max: f64) -> Result<f64, QueryFailure> {
    let parsed = match value {
        None | Some(serde_json::Value::Null) => return Ok(default),
        Some(serde_json::Value::String(s)) if s.trim().is_empty() => return Ok(default),
        Some(serde_json::Value::String(s)) => s.trim().trim_end_matches('%').trim().parse::<f64>().ok(),
        Some(serde_json::Value::Number(n)) => n.as_f64(),
        _ => None,
    };
    match parsed {
        Some(v) if v.is_finite() && (0.0..=max).contains(&v) => Ok(v),
        _ => Err(QueryFailure::bad_query(format!("{what} must be a number from 0 to {max}, not {}", value.map(|v| v.to_string()).unwrap_or_default()))),
    }
}

/// Epoch milliseconds as a number or a numeric string, to seconds.
fn millis(value: Option<&serde_json::Value>) -> Option<f64> {
    let ms = match value? {
        serde_json::Value::Number(n) => n.as_f64()?,
        serde_json::Value::String(s) => s.trim().parse().ok()?,
        _ => return None,
    };
    (ms.is_finite() && ms >= 0.0).then_some(ms / 1000.0)
}

impl CompareModel {
    /// The comparison `compareTo` asks for, if any, for the range `from`..`to` (epoch seconds,
    /// not empty; `required`: a change order without one compares with the previous range).
    pub fn parse(&self, from: f64, to: f64, required: bool) -> Result<Option<Comparison>, QueryFailure> {
        let span = Range { from, to };
        let bad = |text: String| QueryFailure::bad_query(format!("compareTo: {text}"));
        let to = match &self.compare_to {
            serde_json::Value::Null => None,
            serde_json::Value::Bool(false) => None,
            serde_json::Value::String(s) if s.trim().is_empty() || s.trim() == "off" || s.trim() == "none" => None,
            serde_json::Value::String(s) if s.trim() == "previous" => Some(CompareTo::Previous),
            serde_json::Value::String(s) => {
                let offset = parse_duration(s.trim()).map_err(|e| bad(format!("{e}, or previous")))?.as_secs_f64();
                if offset < 1.0 {
                    return Err(bad(format!("the offset {s:?} must be at least 1s")));
                }
                Some(CompareTo::Offset(offset))
            }
            serde_json::Value::Object(range) => {
                let (Some(from), Some(to)) = (millis(range.get("from")), millis(range.get("to"))) else {
                    return Err(bad("an absolute range needs from and to in epoch milliseconds".into()));
                };
                if to <= from || to > span.to {
                    return Err(bad("the absolute range must not be empty and must end before the range compared ends".into()));
                }
                Some(CompareTo::Range { from, to })
            }
            other => return Err(bad(format!("{other} is not previous, an offset like 1d or {{\"from\": ms, \"to\": ms}}"))),
        };
        let Some(to) = to.or_else(|| required.then_some(CompareTo::Previous)) else { return Ok(None) };
        let window = span.to - span.from;
        let (from_s, to_s) = match to {
            CompareTo::Previous => (span.from - window, span.from),
            CompareTo::Offset(offset) => (span.from - offset, span.to - offset),
            CompareTo::Range { from, to } => (from, to),
        };
        let measure = if self.compare_measure.trim().is_empty() {
            Order::PerCall(Measure::ExecTime)
        } else {
            Order::parse(&self.compare_measure).map_err(|e| QueryFailure::bad_query(format!("compareMeasure: {e}")))?
        };
        let states = match &self.state {
            serde_json::Value::Null => Vec::new(),
            serde_json::Value::String(s) => s.split(',').filter(|p| !p.trim().is_empty()).map(State::parse).collect::<Result<_, _>>().map_err(QueryFailure::bad_query)?,
            serde_json::Value::Array(items) => items
                .iter()
                .map(|v| v.as_str().ok_or_else(|| format!("state {v} is not a string")).and_then(State::parse))
                .collect::<Result<_, _>>()
                .map_err(QueryFailure::bad_query)?,
            other => return Err(QueryFailure::bad_query(format!("state {other} is not a state or a list of states"))),
        };
        let mut states: Vec<State> = states;
        states.sort();
        states.dedup();
        if states.len() == State::ALL.len() {
            states.clear();
        }
        Ok(Some(Comparison {
            to,
            from_s,
            to_s,
            offset: span.to - to_s,
            threshold: number(self.threshold.as_ref(), "threshold", DEFAULT_THRESHOLD, 1e6)?,
            min_calls: number(self.min_calls.as_ref(), "minCalls", DEFAULT_MIN_CALLS, 1e15)?,
            measure,
            states,
        }))
    }
}

impl Comparison {
    /// The comparison window's length in seconds.
    pub fn window(&self) -> f64 {
        self.to_s - self.from_s
    }

    /// "previous 1h0m0s", "1d0h0m0s earlier", "a fixed range".
    pub fn label(&self) -> String {
        let d = |s: f64| format_go(std::time::Duration::from_secs_f64(s.max(0.0).round()));
        match self.to {
            CompareTo::Previous => format!("previous {}", d(self.window())),
            CompareTo::Offset(offset) => format!("{} earlier", d(offset)),
            CompareTo::Range { .. } => "a fixed range".into(),
        }
    }

    /// For the table frame's meta (`compare`).
    pub fn meta(&self, counts: &BTreeMap<State, f64>) -> serde_json::Value {
        let counts: serde_json::Map<String, serde_json::Value> =
            [State::New, State::Gone, State::Regressed, State::Improved].iter().map(|s| (s.as_str().to_string(), counts.get(s).copied().unwrap_or(0.0).into())).collect();
        serde_json::json!({
            "label": self.label(),
            "from": (self.from_s * 1000.0).round(),
            "to": (self.to_s * 1000.0).round(),
            "threshold": self.threshold,
            "minCalls": self.min_calls,
            "measure": self.measure.key(),
            "states": self.states.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            "counts": counts,
        })
    }
}

/// Whether a larger value of `order` is worse (time, blocks, calls); the hit ratio is worse
/// when lower.
pub(super) fn higher_is_worse(order: Order) -> bool {
    !matches!(order, Order::HitRatio)
}

/// A statement's state from its calls in each window and the compared measure's values.
pub fn classify(comparison: &Comparison, calls_now: f64, calls_then: f64, now: Option<f64>, then: Option<f64>) -> State {
    let (calls_now, calls_then) = (calls_now.max(0.0), calls_then.max(0.0));
    if calls_then <= 0.0 && calls_now > 0.0 {
        return State::New;
    }
    if calls_now <= 0.0 && calls_then > 0.0 {
        return State::Gone;
    }
    let enough = calls_now >= comparison.min_calls && calls_then >= comparison.min_calls;
    match (now, then) {
        (Some(now), Some(then)) if enough && now.is_finite() && then.is_finite() && then > 0.0 => {
            let pct = (now / then - 1.0) * 100.0;
            let worse = if higher_is_worse(comparison.measure) { pct } else { -pct };
            if worse > comparison.threshold {
                State::Regressed
            } else if worse < -comparison.threshold {
                State::Improved
            } else {
                State::Unchanged
            }
        }
        _ => State::Unchanged,
    }
}

/// One row of a compared table: the statement now (figures missing when it is gone), then
/// (None when it is new), its state.
#[derive(Debug, Clone)]
pub struct Compared {
    pub now: Statement,
    pub then: Option<Statement>,
    pub state: State,
}

impl Compared {
    /// The change of `order`'s value, as `change` orders it (None where it has none: fewer
    /// calls than `minCalls` in a window, nothing then).
    pub fn change(&self, comparison: &Comparison, order: Order, change: ChangeOrder, window_now: f64, window_then: f64) -> Option<f64> {
        let then = self.then.as_ref()?;
        let calls_now = self.now.per_second.get(&Measure::Calls).copied().unwrap_or(0.0) * window_now;
        let calls_then = then.per_second.get(&Measure::Calls).copied().unwrap_or(0.0) * window_then;
        if calls_now < comparison.min_calls || calls_then < comparison.min_calls {
            return None;
        }
        let (now, then) = (order.figure(&self.now)?, order.figure(then)?);
        let diff = if change.pct {
            if then <= 0.0 {
                return None;
            }
            (now / then - 1.0) * 100.0
        } else {
            now - then
        };
        diff.is_finite().then_some(diff)
    }
}

/// Orders compared rows by `key`, largest first, rows without one last, ties and the rest by
/// queryid and database.
pub fn order_rows(rows: &mut [Compared], key: impl Fn(&Compared) -> Option<f64>) {
    fn identity(r: &Compared) -> (&str, &str) {
        (&r.now.queryid, &r.now.database)
    }
    rows.sort_by(|a, b| match (key(a), key(b)) {
        (Some(x), Some(y)) => y.total_cmp(&x).then_with(|| identity(a).cmp(&identity(b))),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => identity(a).cmp(&identity(b)),
    });
}

/// Orders compared rows by the change of `order` (the worst first: the largest rise, or the
/// largest fall of the hit ratio), rows without one last, then by queryid and database.
pub fn order_by_change(rows: &mut [Compared], comparison: &Comparison, order: Order, change: ChangeOrder, window_now: f64, window_then: f64) {
    let sign = if higher_is_worse(order) { 1.0 } else { -1.0 };
    order_rows(rows, |r| r.change(comparison, order, change, window_now, window_then).map(|v| v * sign));
}

/// The comparison's columns for a table whose rows are `now` (built by `frames::table_frame`
/// from the rows now) and `then` (the same rows then, same fields): `state`, and for every
/// numeric field F `F_then`, `F_change` (now − then) and `F_change_pct` (NaN where then is 0
/// or unknown).
pub fn compare_fields(now: &Frame, then: &Frame, states: &[State]) -> Vec<Field> {
    let mut fields = vec![Field::new("state", Values::String(states.iter().map(|s| s.as_str().to_string()).collect()))];
    for field in &now.fields {
        let Values::Float64(values_now) = &field.values else { continue };
        let Some(Values::Float64(values_then)) = then.fields.iter().find(|f| f.name == field.name).map(|f| &f.values) else { continue };
        let display = field.config.as_ref().and_then(|c| c.display_name_from_ds.clone()).unwrap_or_else(|| field.name.clone());
        let unit = field.config.as_ref().and_then(|c| c.unit.clone());
        let with = |name: String, values: Vec<f64>, display: String, unit: Option<String>| {
            let mut f = Field::new(name, Values::Float64(values));
            f.config = Some(FieldConfig { display_name_from_ds: Some(display), unit, ..Default::default() });
            f
        };
        let pairs = || values_now.iter().zip(values_then);
        fields.push(with(format!("{}_then", field.name), values_then.clone(), format!("{display} then"), unit.clone()));
        fields.push(with(format!("{}_change", field.name), pairs().map(|(n, t)| n - t).collect(), format!("{display} change"), unit));
        fields.push(with(
            format!("{}_change_pct", field.name),
            pairs().map(|(n, t)| if *t > 0.0 && t.is_finite() && n.is_finite() { (n / t - 1.0) * 100.0 } else { f64::NAN }).collect(),
            format!("{display} change %"),
            Some("percent".into()),
        ));
    }
    fields
}

/// Said when counters were reset inside the windows.
pub fn reset_notice(now: f64, then: f64) -> Option<Notice> {
    (now > 0.0 || then > 0.0).then(|| Notice {
        severity: Severity::Info,
        text: format!(
            "counters of statements shown were reset inside the windows ({now} statement(s) now, {then} then: pg_stat_statements_reset(), a restart or an eviction); increase() counts across a reset, so their figures stand"
        ),
    })
}

/// Said when statements ran on other instances then than now (by (database, queryid): the
/// instances each ran on in each window).
pub fn moved_notice(instances_now: &BTreeMap<(String, String), BTreeSet<String>>, instances_then: &BTreeMap<(String, String), BTreeSet<String>>) -> Option<Notice> {
    let moved = instances_now.iter().filter(|(k, now)| instances_then.get(*k).is_some_and(|then| !then.is_empty() && !now.is_empty() && then != *now)).count();
    (moved > 0).then(|| Notice {
        severity: Severity::Info,
        text: format!("{moved} statement(s) shown ran on other instances then than now (a failover or a move); a statement is compared by database and queryid, across instances"),
    })
}

/// Said when PostgreSQL's major version differs between the windows (queryids change across
/// major versions), from `short_version` values, or when most statements are new and about
/// as many gone without version information.
pub fn version_notice(versions_now: &BTreeSet<String>, versions_then: &BTreeSet<String>, counts: &BTreeMap<State, f64>, statements_now: f64) -> Option<Notice> {
    let major = |v: &String| v.split('.').next().unwrap_or_default().to_string();
    let (now, then): (BTreeSet<String>, BTreeSet<String>) = (versions_now.iter().map(major).collect(), versions_then.iter().map(major).collect());
    let text = |detail: String| Notice {
        severity: Severity::Warning,
        text: format!("{detail}: queryids differ across PostgreSQL major versions, so the same statements show as gone and new; compare with a window after the upgrade"),
    };
    if !now.is_empty() && !then.is_empty() && now.is_disjoint(&then) {
        let list = |s: &BTreeSet<String>| s.iter().cloned().collect::<Vec<_>>().join(", ");
        return Some(text(format!("PostgreSQL's major version changed between the windows ({} then, {} now)", list(&then), list(&now))));
    }
    let (new, gone) = (counts.get(&State::New).copied().unwrap_or(0.0), counts.get(&State::Gone).copied().unwrap_or(0.0));
    (now.is_empty() && statements_now >= 10.0 && new >= 0.5 * statements_now && gone >= 0.5 * new && gone <= 2.0 * new)
        .then(|| text(format!("{new} of {statements_now} statements are new and {gone} gone (no version series to tell whether PostgreSQL was upgraded)")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: serde_json::Value) -> Result<Option<Comparison>, QueryFailure> {
        let model: CompareModel = serde_json::from_value(json).unwrap();
        model.parse(10_000.0, 13_600.0, false)
    }

    #[test]
    fn compare_to_reads_previous_offsets_and_ranges() {
        let previous = parse(serde_json::json!({"compareTo": "previous"})).unwrap().unwrap();
        assert_eq!((previous.from_s, previous.to_s, previous.offset), (6_400.0, 10_000.0, 3_600.0));
        assert_eq!(previous.label(), "previous 1h0m0s");
        assert_eq!((previous.threshold, previous.min_calls, previous.measure), (DEFAULT_THRESHOLD, DEFAULT_MIN_CALLS, Order::PerCall(Measure::ExecTime)));
        let day = parse(serde_json::json!({"compareTo": "1d", "threshold": "50%", "minCalls": 5, "state": "regressed,new"})).unwrap().unwrap();
        assert_eq!((day.offset, day.window(), day.threshold, day.min_calls), (86_400.0, 3_600.0, 50.0, 5.0));
        assert_eq!(day.states, [State::New, State::Regressed]);
        let range = parse(serde_json::json!({"compareTo": {"from": 1_000_000, "to": "2000000"}})).unwrap().unwrap();
        assert_eq!((range.from_s, range.to_s, range.offset), (1_000.0, 2_000.0, 11_600.0));
        assert!(parse(serde_json::json!({})).unwrap().is_none());
        assert!(parse(serde_json::json!({"compareTo": ""})).unwrap().is_none());
        let required: CompareModel = serde_json::from_value(serde_json::json!({})).unwrap();
        assert_eq!(required.parse(10_000.0, 13_600.0, true).unwrap().unwrap().to, CompareTo::Previous, "a change order compares with the previous range");
        for (bad, says) in [
            (serde_json::json!({"compareTo": "yesterday"}), "not a duration"),
            (serde_json::json!({"compareTo": "0s"}), "at least 1s"),
            (serde_json::json!({"compareTo": {"from": 5}}), "from and to"),
            (serde_json::json!({"compareTo": {"from": 2_000_000, "to": 1_000_000}}), "must not be empty"),
            (serde_json::json!({"compareTo": {"from": 1_000, "to": 99_999_999_999u64}}), "must end before"),
            (serde_json::json!({"compareTo": [1]}), "is not previous"),
            (serde_json::json!({"compareTo": "1d", "threshold": -1}), "threshold must be"),
            (serde_json::json!({"compareTo": "1d", "threshold": "lots"}), "threshold must be"),
            (serde_json::json!({"compareTo": "1d", "minCalls": [2]}), "minCalls must be"),
            (serde_json::json!({"compareTo": "1d", "state": "slower"}), "not one of"),
            (serde_json::json!({"compareTo": "1d", "state": [1]}), "not a string"),
            (serde_json::json!({"compareTo": "1d", "compareMeasure": "speed"}), "compareMeasure"),
        ] {
            let error = parse(bad.clone()).unwrap_err().message;
            assert!(error.contains(says), "{bad}: {error}");
        }
        let every = parse(serde_json::json!({"compareTo": "1d", "state": ["new", "gone", "regressed", "improved", "unchanged", "new"]})).unwrap().unwrap();
        assert!(every.states.is_empty(), "every state is no filter");
    }

    #[test]
    fn change_orders_split_off_their_suffix() {
        assert_eq!(split_change("exec_time_per_call_change_pct"), ("exec_time_per_call", Some(ChangeOrder { pct: true })));
        assert_eq!(split_change("calls_change"), ("calls", Some(ChangeOrder { pct: false })));
        assert_eq!(split_change("calls"), ("calls", None));
        assert_eq!(change_key(Order::PerCall(Measure::ExecTime), ChangeOrder { pct: true }), "exec_time_per_call_change_pct");
    }

    #[test]
    fn states_need_calls_in_both_windows_and_a_change_past_the_threshold() {
        let c = parse(serde_json::json!({"compareTo": "previous", "threshold": 20, "minCalls": 10})).unwrap().unwrap();
        assert_eq!(classify(&c, 100.0, 0.0, Some(1.0), None), State::New);
        assert_eq!(classify(&c, 0.0, 100.0, None, Some(1.0)), State::Gone);
        assert_eq!(classify(&c, 100.0, 100.0, Some(2.0), Some(1.0)), State::Regressed);
        assert_eq!(classify(&c, 100.0, 100.0, Some(0.5), Some(1.0)), State::Improved);
        assert_eq!(classify(&c, 100.0, 100.0, Some(1.19), Some(1.0)), State::Unchanged, "inside the threshold");
        assert_eq!(classify(&c, 3.0, 3.0, Some(2.0), Some(1.0)), State::Unchanged, "3 calls that double are noise");
        assert_eq!(classify(&c, 0.0, 0.0, None, None), State::Unchanged);
        let ratio = Comparison { measure: Order::HitRatio, ..c };
        assert_eq!(classify(&ratio, 100.0, 100.0, Some(0.5), Some(0.9)), State::Regressed, "a falling hit ratio is worse");
    }

    #[test]
    fn comparison_columns_follow_the_numeric_fields() {
        let field = |name: &str, values: Vec<f64>| Field::new(name, Values::Float64(values));
        let now = Frame { name: String::new(), ref_id: String::new(), meta: None, fields: vec![Field::new("queryid", Values::String(vec!["1".into(), "2".into()])), field("calls_per_s", vec![4.0, 1.0])] };
        let then = Frame { fields: vec![Field::new("queryid", Values::String(vec!["1".into(), "2".into()])), field("calls_per_s", vec![2.0, 0.0])], ..now.clone() };
        let fields = compare_fields(&now, &then, &[State::Regressed, State::New]);
        let names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["state", "calls_per_s_then", "calls_per_s_change", "calls_per_s_change_pct"]);
        assert_eq!(fields[0].values, Values::String(vec!["regressed".into(), "new".into()]));
        assert_eq!(fields[2].values, Values::Float64(vec![2.0, 1.0]));
        let Values::Float64(pct) = &fields[3].values else { panic!() };
        assert_eq!(pct[0], 100.0);
        assert!(pct[1].is_nan(), "nothing then: no percentage");
    }

    #[test]
    fn notices_say_resets_moves_and_upgrades() {
        assert!(reset_notice(0.0, 0.0).is_none());
        assert!(reset_notice(2.0, 0.0).unwrap().text.contains("2 statement(s) now"));
        let key = ("app".to_string(), "1".to_string());
        let set = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
        let now: BTreeMap<_, _> = [(key.clone(), set(&["db2"]))].into();
        assert!(moved_notice(&now, &[(key.clone(), set(&["db1"]))].into()).unwrap().text.starts_with("1 statement(s)"));
        assert!(moved_notice(&now, &[(key, set(&["db2"]))].into()).is_none());
        let counts = BTreeMap::new();
        let upgrade = version_notice(&set(&["15.4"]), &set(&["14.9"]), &counts, 100.0).unwrap();
        assert!(upgrade.text.contains("(14 then, 15 now)"), "{}", upgrade.text);
        assert!(version_notice(&set(&["15.4"]), &set(&["15.2"]), &counts, 100.0).is_none(), "a minor upgrade keeps queryids");
        let churn: BTreeMap<_, _> = [(State::New, 80.0), (State::Gone, 75.0)].into();
        assert!(version_notice(&BTreeSet::new(), &BTreeSet::new(), &churn, 100.0).unwrap().text.contains("80 of 100"));
        assert!(version_notice(&BTreeSet::new(), &BTreeSet::new(), &[(State::New, 5.0)].into(), 100.0).is_none());
    }
}
