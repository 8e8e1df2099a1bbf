//! What changed between two windows (issue 20), as the panel draws it: the state of a statement
//! (`state` field of the `pgssTopQueries` table when the query has `compareTo`), the change of
//! the compared measure as an arrow and a size ("▲ +112 %"), and the comparison's header (the
//! window and the counts, from the table frame's `meta.custom.compare`). The backend decides
//! the state (threshold and minimum calls in both windows); the panel only shows it.
//!
//! Part of the model: pure Rust, tested natively; odd input reads as "no comparison" or an
//! empty cell, never a panic. pgss.rs reads the rows' fields; view/pgss.rs draws them.

use crate::json::Value;
use crate::model::PanelOptions;
use crate::number::fixed;

/// A statement's state against the comparison window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// No calls then.
    New,
    /// No calls now.
    Gone,
    Regressed,
    Improved,
    Unchanged,
}

impl State {
    pub fn parse(text: &str) -> Option<State> {
        match text {
            "new" => Some(State::New),
            "gone" => Some(State::Gone),
            "regressed" => Some(State::Regressed),
            "improved" => Some(State::Improved),
            "unchanged" => Some(State::Unchanged),
            _ => None,
        }
    }

    pub fn word(self) -> &'static str {
        match self {
            State::New => "new",
            State::Gone => "gone",
            State::Regressed => "regressed",
            State::Improved => "improved",
            State::Unchanged => "unchanged",
        }
    }

    /// Whether a row carries a badge for it (unchanged is the quiet default).
    pub fn badged(self) -> bool {
        self != State::Unchanged
    }
}

/// The comparison a table frame says it made (`meta.custom.compare`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Compare {
    /// "previous 1h", "1d earlier".
    pub label: String,
    /// The measure the state is judged on, a field name of the table ("exec_time_per_call").
    pub measure: String,
    /// The backend's threshold, in percent.
    pub threshold: Option<f64>,
    /// Statements new, gone, regressed, improved.
    pub counts: [Option<f64>; 4],
}

impl Compare {
    /// The frame meta's `compare` object; None without one (no comparison asked).
    pub fn from_custom(custom: Option<&Value>) -> Option<Compare> {
        let compare = custom?.get("compare").filter(|c| matches!(c, Value::Object(_)))?;
        let text = |key: &str| compare.get(key).and_then(Value::as_str).unwrap_or_default().to_string();
        let number = |value: Option<&Value>| value.and_then(Value::as_f64).filter(|x| x.is_finite());
        let counts = compare.get("counts");
        let mut measure = text("measure");
        if measure.is_empty() {
            measure.push_str("exec_time_per_call");
        } else if !measure.contains("_per_") && measure != "hit_ratio" {
            // A per-second measure is named by its key ("exec_time"), its table fields end in
            // _per_s ("exec_time_per_s_change_pct"); per call and the hit ratio by their field.
            measure.push_str("_per_s");
        }
        Some(Compare {
            label: text("label"),
            measure,
            threshold: number(compare.get("threshold")),
            counts: ["new", "gone", "regressed", "improved"].map(|k| number(counts.and_then(|c| c.get(k)))),
        })
    }

    /// "compared with previous 1h: 2 regressed · 1 improved · 3 new · 0 gone"; counts the
    /// frame lacks are left out.
    pub fn header(&self) -> String {
        let label = if self.label.is_empty() { "the comparison window" } else { &self.label };
        let [new, gone, regressed, improved] = self.counts;
        let counts: Vec<String> = [(regressed, "regressed"), (improved, "improved"), (new, "new"), (gone, "gone")]
            .into_iter()
            .filter_map(|(n, word)| Some(format!("{} {word}", fixed(n?, 0))))
            .collect();
        if counts.is_empty() {
            format!("compared with {label}")
        } else {
            format!("compared with {label}: {}", counts.join(" · "))
        }
    }
}

/// Whether the panel shows a comparison: not when its `compareTo` option is "" (off).
pub fn shown(options: &PanelOptions) -> bool {
    options.compare_to.as_deref() != Some("")
}

/// The threshold colours start at: the one the backend decided the states with (the frame's
/// `compare.threshold`, which may come from a dashboard variable), else the backend's default,
/// 20 %. So a change is coloured exactly when its state says regressed or improved: with the
/// query at 50 %, a +30 % change is "unchanged" and must not be red. The panel has no option
/// for it: a panel cannot set its query's threshold, and a second one for colours alone would
/// colour what the states call unchanged, or leave regressions plain.
pub fn threshold(compare: &Compare) -> f64 {
    compare.threshold.unwrap_or(20.0)
}

/// The change column's text: "▲ +112 %", "▼ −35 %", "= 0 %"; "new" and "gone" as words
/// (there is no change to size); "–" when unknown.
pub fn change_text(percent: Option<f64>, state: Option<State>) -> String {
    match (state, percent) {
        (Some(State::New), _) => "new".into(),
        (Some(State::Gone), _) => "gone".into(),
        // Under 0.05 % it would read "+0.0 %": no change to point at.
        (_, Some(p)) if p.abs() < 0.05 => "= 0 %".into(),
        (_, Some(p)) if p.is_finite() => {
            let size = fixed(p.abs(), if p.abs() < 10.0 { 1 } else { 0 });
            if p > 0.0 {
                format!("▲ +{size} %")
            } else {
                format!("▼ −{size} %")
            }
        }
        _ => "–".into(),
    }
}

/// The change's colour class: "worse" (red) for a regression, "better" (green) for an
/// improvement, of at least `threshold` percent; "" otherwise.
pub fn tone(percent: Option<f64>, state: Option<State>, threshold: f64) -> &'static str {
    let large = percent.is_some_and(|p| p.is_finite() && p.abs() >= threshold);
    match state {
        Some(State::Regressed) if large => "worse",
        Some(State::Improved) if large => "better",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::parse;

    #[test]
    fn states_read_and_unknown_words_read_as_none() {
        for word in ["new", "gone", "regressed", "improved", "unchanged"] {
            assert_eq!(State::parse(word).map(State::word), Some(word));
        }
        assert_eq!((State::parse("Regressed"), State::parse("")), (None, None));
        assert!(State::Gone.badged() && !State::Unchanged.badged());
    }

    #[test]
    fn the_header_names_the_window_and_the_counts() {
        let custom = parse(r#"{"compare":{"label":"previous 1h","from":1,"to":2,"threshold":20,"minCalls":10,"measure":"exec_time_per_call","counts":{"new":3,"gone":0,"regressed":2,"improved":1}}}"#).unwrap();
        let compare = Compare::from_custom(Some(&custom)).unwrap();
        assert_eq!(compare.header(), "compared with previous 1h: 2 regressed · 1 improved · 3 new · 0 gone");
        assert_eq!((compare.threshold, compare.measure.as_str()), (Some(20.0), "exec_time_per_call"));
        let per_second = Compare::from_custom(Some(&parse(r#"{"compare":{"measure":"exec_time"}}"#).unwrap())).unwrap();
        assert_eq!(per_second.measure, "exec_time_per_s", "a per-second measure's fields end in _per_s");
        let hit = Compare::from_custom(Some(&parse(r#"{"compare":{"measure":"hit_ratio"}}"#).unwrap())).unwrap();
        assert_eq!(hit.measure, "hit_ratio");
        let bare = Compare::from_custom(Some(&parse(r#"{"compare":{"counts":{"new":"x"}}}"#).unwrap())).unwrap();
        assert_eq!((bare.header(), bare.measure.as_str()), ("compared with the comparison window".to_string(), "exec_time_per_call"));
        for odd in [r#"{}"#, r#"{"compare":5}"#, r#"{"compare":null}"#, "[]"] {
            assert_eq!(Compare::from_custom(Some(&parse(odd).unwrap())), None, "{odd}");
        }
        assert_eq!(Compare::from_custom(None), None);
    }

    #[test]
    fn changes_read_with_direction_and_size() {
        assert_eq!(change_text(Some(112.4), Some(State::Regressed)), "▲ +112 %");
        assert_eq!(change_text(Some(-35.0), Some(State::Improved)), "▼ −35 %");
        assert_eq!(change_text(Some(4.25), None), "▲ +4.3 %");
        assert_eq!(change_text(Some(0.01), Some(State::Unchanged)), "= 0 %");
        assert_eq!(change_text(Some(-0.06), None), "▼ −0.1 %");
        assert_eq!(change_text(Some(f64::NAN), Some(State::Unchanged)), "–");
        assert_eq!(change_text(None, None), "–");
        assert_eq!(change_text(Some(50.0), Some(State::New)), "new");
        assert_eq!(change_text(None, Some(State::Gone)), "gone");
        assert_eq!(change_text(Some(1e300), None), format!("▲ +{} %", fixed(1e300, 0)));
    }

    #[test]
    fn colours_need_the_state_and_the_threshold() {
        assert_eq!(tone(Some(112.0), Some(State::Regressed), 20.0), "worse");
        assert_eq!(tone(Some(-40.0), Some(State::Improved), 20.0), "better");
        assert_eq!(tone(Some(30.0), Some(State::Regressed), 50.0), "", "under the threshold");
        assert_eq!(tone(Some(300.0), Some(State::Unchanged), 20.0), "", "too few calls: the backend said unchanged");
        assert_eq!(tone(Some(f64::NAN), Some(State::Regressed), 0.0), "");
        assert_eq!(threshold(&Compare { threshold: Some(50.0), ..Compare::default() }), 50.0, "the frame's");
        assert_eq!(threshold(&Compare::default()), 20.0, "without one, the backend's default");
        let mut options = PanelOptions::default();
        assert!(shown(&options));
        options.compare_to = Some(String::new());
        assert!(!shown(&options));
        options.compare_to = Some("1d".into());
        assert!(shown(&options));
    }
}
