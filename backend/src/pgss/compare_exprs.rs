//! The PromQL of a comparison (`compare`) across every statement, over a `Ranking` of each
//! window: each state's statements, a change per statement to rank by, the states counted,
//! counter resets. Pure; `top` runs them.

use super::analysis::Order;
use super::catalog::Measure;
use super::compare::{higher_is_worse, Comparison, State};
use super::ranked::Ranking;

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

    /// How many statements are new, gone, regressed and improved, each labelled
    /// `pgscope="<state>"`; a state with none has no sample.
    pub fn counts_expr(&self) -> Option<String> {
        let parts: Vec<String> = [State::New, State::Gone, State::Regressed, State::Improved]
            .iter()
            .filter_map(|s| Some(format!("label_replace(count({}), \"pgscope\", \"{}\", \"\", \"\")", self.state(*s)?, s.as_str())))
            .collect();
        (!parts.is_empty()).then(|| parts.join(" or "))
    }
}

/// Statements whose calls counter went down (a reset) inside each window, across every
/// statement the filters keep: labelled `pgscope="now"` and `pgscope="then"`.
pub fn resets_expr(now_calls: &str, then_calls: &str, by: &str) -> String {
    let part = |selector_range: &str, label: &str| format!("label_replace(count(sum by ({by}) (resets({selector_range})) > 0), \"pgscope\", \"{label}\", \"\", \"\")");
    format!("{} or {}", part(now_calls, "now"), part(then_calls, "then"))
}

