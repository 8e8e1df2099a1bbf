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
    /// the lowest (a falling hit ratio). A per-call value divides by the calls that are enough
    /// (`calls >= minCalls`), so each window's increases are read once; other values are kept
    /// where both windows have enough calls.
    pub fn change(&self, order: Order, pct: bool) -> Option<(String, bool)> {
        let (now, then, guarded) = match order {
            Order::PerCall(m) if m != Measure::Calls => (self.per_call(self.now, m)?, self.per_call(self.then, m)?, true),
            _ => (self.now.value_expr(order)?, self.then.value_expr(order)?, false),
        };
        let change = if pct { format!("({now} / ({then} > 0) - 1) * 100") } else { format!("{now} - {then}") };
        let change = if guarded { change } else { format!("({change}) and on({}) ({})", self.now.by(), self.enough_calls()?) };
        Some((change, !higher_is_worse(order)))
    }

    /// `measure` per call in one window, only where the calls are enough (and more than 0).
    fn per_call(&self, ranking: &Ranking, measure: Measure) -> Option<String> {
        let min = self.comparison.min_calls;
        let enough = if min > 0.0 { format!(">= {min}") } else { "> 0".into() };
        Some(format!("({} / ({} {enough}))", ranking.per_statement(measure)?, Self::calls(ranking)?))
    }

    /// The comparison measure's change in percent, signed so that a change for the worse is
    /// positive (a falling hit ratio too): what the states' threshold applies to.
    fn worse(&self) -> Option<String> {
        let (change, lowest_worst) = self.change(self.comparison.measure, true)?;
        Some(if lowest_worst { format!("-({change})") } else { change })
    }

    /// The statements in `state`, one series each (values are not meaningful).
    pub fn state(&self, state: State) -> Option<String> {
        let (calls_now, calls_then) = (Self::calls(self.now)?, Self::calls(self.then)?);
        let by = self.now.by();
        let threshold = self.comparison.threshold;
        Some(match state {
            State::New => format!("({calls_now} > 0) unless on({by}) ({calls_then} > 0)"),
            State::Gone => format!("({calls_then} > 0) unless on({by}) ({calls_now} > 0)"),
            State::Regressed => format!("({}) > {threshold}", self.worse()?),
            State::Improved => format!("({}) < -{threshold}", self.worse()?),
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

    /// How many statements are new, gone, regressed and improved, in one `count_values` of a
    /// code per statement (`pgscope_state`), read by `read_counts`: each window's increases are
    /// read once for all four. Statements with enough calls in both windows get their direction
    /// plus 10 (9 improved, 10 unchanged, 11 regressed); the others their presence (1 only now:
    /// new, 2 only then: gone, 3 both). The direction is `ceil((worse - threshold) / (2
    /// threshold))` clamped to -1..1: regressed strictly past the threshold as `classify` says,
    /// improved from exactly minus the threshold on (where `classify` says unchanged: a
    /// statement exactly there is counted as improved).
    pub fn counts_expr(&self) -> Option<String> {
        let (calls_now, calls_then) = (Self::calls(self.now)?, Self::calls(self.then)?);
        let presence = format!(
            "sum by ({by}) (label_replace(({calls_now} > 0) * 0 + 1, \"pgscope_window\", \"now\", \"\", \"\") or label_replace(({calls_then} > 0) * 0 + 2, \"pgscope_window\", \"then\", \"\", \"\"))",
            by = self.now.by()
        );
        let code = match self.worse() {
            Some(worse) => {
                let t = self.comparison.threshold;
                let direction = if t > 0.0 { format!("clamp(ceil((({worse}) - {t}) / {}), -1, 1)", 2.0 * t) } else { format!("sgn({worse})") };
                format!("({direction} + 10) or {presence}")
            }
            None => presence,
        };
        Some(format!("count_values(\"pgscope_state\", {code})"))
    }
}

/// The counts of `counts_expr`'s answer by state (statements with enough calls in both windows
/// that did not change past the threshold, and those with too few calls, are not counted).
pub fn read_counts(samples: &[Sample]) -> BTreeMap<State, f64> {
    let mut counts = BTreeMap::new();
    for (labels, value) in samples.iter().filter(|(_, v)| v.is_finite()) {
        // count_values writes the code as a number's text: "1", "11" (or "1.0" elsewhere).
        let code = labels.get("pgscope_state").and_then(|c| c.parse::<f64>().ok()).filter(|c| c.fract() == 0.0);
        let state = match code.map(|c| c as i64) {
            Some(1) => State::New,
            Some(2) => State::Gone,
            Some(11) => State::Regressed,
            Some(9) => State::Improved,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn coded(code: &str, count: f64) -> Sample {
        ([("pgscope_state".to_string(), code.to_string())].into_iter().collect(), count)
    }

    #[test]
    fn counts_are_read_from_the_state_codes() {
        // As VictoriaMetrics and Prometheus print them: "10" for a direction of -0 plus 10.
        let answer = vec![coded("1", 3.0), coded("2", 1.0), coded("3", 40.0), coded("9", 2.0), coded("10", 350.0), coded("11", 4.0), coded("x", 9.0), coded("11", f64::NAN)];
        let counts = read_counts(&answer);
        assert_eq!(counts.get(&State::New), Some(&3.0));
        assert_eq!(counts.get(&State::Gone), Some(&1.0));
        assert_eq!(counts.get(&State::Improved), Some(&2.0));
        assert_eq!(counts.get(&State::Regressed), Some(&4.0), "a NaN count is skipped, not read as a state");
        assert_eq!(counts.len(), 4, "unchanged and too-few-calls statements are not counted: {counts:?}");
    }
}
