//! The PromQL of a comparison (`compare`) across every statement, over a `Ranking` of each
//! window: each state's statements, a change per statement to rank by, the states counted,
//! counter resets. Pure; `top` runs them.

use super::analysis::Order;
use super::catalog::Measure;
use super::compare::{higher_is_worse, Comparison, State};
use super::ranked::Ranking;
use crate::prom::read::Sample;
use std::collections::BTreeMap;

/// The PromQL of a comparison across every statement: each state's statements, a change per
/// statement, the states counted. Both rankings are evaluated at the range's end; `then`'s
/// selectors carry the offset.
pub struct StateExprs<'r, 'a> {
    pub now: &'r Ranking<'a>,
    pub then: &'r Ranking<'a>,
    pub comparison: &'r Comparison,
}

impl StateExprs<'_, '_> {
    fn calls(ranking: &Ranking) -> Option<String> {
        ranking.per_statement(Measure::Calls)
    }

    /// Statements with at least `minCalls` calls in both windows.
    fn enough_calls(&self) -> Option<String> {
        let min = self.comparison.min_calls;
        Some(format!("({} >= {min}) and ({} >= {min})", Self::calls(self.now)?, Self::calls(self.then)?))
    }

    /// The change of `order`'s value per statement with enough calls in both windows, in
    /// percent of the value then (`pct`) or as the difference; and whether the worst change is
    /// the lowest (a falling hit ratio).
    pub fn change(&self, order: Order, pct: bool) -> Option<(String, bool)> {
        let (now, then) = (self.now.value_expr(order)?, self.then.value_expr(order)?);
        let change = if pct { format!("({now} / ({then} > 0) - 1) * 100") } else { format!("{now} - {then}") };
        Some((format!("({change}) and on({}) ({})", self.now.by(), self.enough_calls()?), !higher_is_worse(order)))
    }

    /// The statements in `state`, one series each (values are not meaningful).
    pub fn state(&self, state: State) -> Option<String> {
        let (calls_now, calls_then) = (Self::calls(self.now)?, Self::calls(self.then)?);
        let by = self.now.by();
        let threshold = self.comparison.threshold;
        let worse = || {
            let (change, lowest_worst) = self.change(self.comparison.measure, true)?;
            Some(if lowest_worst { format!("-({change})") } else { change })
        };
        Some(match state {
            State::New => format!("({calls_now} > 0) unless on({by}) ({calls_then} > 0)"),
            State::Gone => format!("({calls_then} > 0) unless on({by}) ({calls_now} > 0)"),
            State::Regressed => format!("({}) > {threshold}", worse()?),
            State::Improved => format!("({}) < -{threshold}", worse()?),
            State::Unchanged => {
                let others: Vec<String> = [State::New, State::Gone, State::Regressed, State::Improved].iter().filter_map(|s| self.state(*s)).collect();
                format!("(({calls_now} >= 0) or ({calls_then} >= 0)) unless on({by}) ({})", others.join(" or "))
            }
        })
    }

    /// The statements of `states` (an `or` of each), None for every statement.
    pub fn keep(&self, states: &[State]) -> Option<String> {
        if states.is_empty() {
            return None;
        }
        let parts: Vec<String> = states.iter().filter_map(|s| self.state(*s)).map(|e| format!("group by ({}) ({e})", self.now.by())).collect();
        Some(if parts.is_empty() { "vector(0) < 0".into() } else { parts.join(" or ") })
    }

    /// How many statements are new and gone (labelled `pgscope="<state>"`), regressed and
    /// improved (`count_values` of the direction, `pgscope_direction="1"` and `"-1"`: one
    /// evaluation of the change for both); a state with none has no sample. Read by
    /// `read_counts`. The direction is `ceil((worse - threshold) / (2 threshold))` clamped to
    /// -1..1: regressed strictly past the threshold as `classify` says, improved from exactly
    /// minus the threshold on (where `classify` says unchanged: a statement exactly there is
    /// counted as improved).
    pub fn counts_expr(&self) -> Option<String> {
        let mut parts: Vec<String> = [State::New, State::Gone]
            .iter()
            .filter_map(|s| Some(format!("label_replace(count({}), \"pgscope\", \"{}\", \"\", \"\")", self.state(*s)?, s.as_str())))
            .collect();
        if let Some((change, lowest_worst)) = self.change(self.comparison.measure, true) {
            let worse = if lowest_worst { format!("-({change})") } else { change };
            let t = self.comparison.threshold;
            let direction = if t > 0.0 { format!("clamp(ceil((({worse}) - {t}) / {}), -1, 1)", 2.0 * t) } else { format!("sgn({worse})") };
            parts.push(format!("count_values(\"pgscope_direction\", {direction})"));
        }
        (!parts.is_empty()).then(|| parts.join(" or "))
    }
}

/// The counts of `counts_expr`'s answer by state.
pub fn read_counts(samples: &[Sample]) -> BTreeMap<State, f64> {
    let mut counts = BTreeMap::new();
    for (labels, value) in samples.iter().filter(|(_, v)| v.is_finite()) {
        let state = match (labels.get("pgscope").map(String::as_str), labels.get("pgscope_direction").map(String::as_str)) {
            (Some("new"), _) => State::New,
            (Some("gone"), _) => State::Gone,
            (_, Some("1")) => State::Regressed,
            (_, Some("-1")) => State::Improved,
            _ => continue,
        };
        counts.insert(state, *value);
    }
    counts
}

/// The statements of a batch of queryids whose calls counter went down (a reset) inside the
/// window `ranking` reads.
pub fn resets_expr(ranking: &Ranking, ids: &[&str]) -> Option<String> {
    Some(format!("sum by ({}) (resets({})) > 0", ranking.by(), ranking.range_of_ids(Measure::Calls, ids)?))
}
