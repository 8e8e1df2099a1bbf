//! Grafana's interval and range macros, which reach the backend uninterpolated (the browser
//! replaces only dashboard variables, and alert queries never pass through a browser):
//! `$__interval`, `$__interval_ms`, `$__range`, `$__range_s`, `$__range_ms`,
//! `$__rate_interval`, `$__rate_interval_ms`, each also as `${...}`. Values follow Grafana's
//! Prometheus datasource (pkg/promlib): `$__interval` is the query's step and
//! `$__rate_interval = max($__interval + scrape, 4 * scrape)`, where scrape is the query's min
//! step if set, else the datasource's scrape interval. Durations print Go-style (`1m0s`), which
//! Prometheus and VictoriaMetrics both accept. Alert queries get exactly the same treatment,
//! with the step Grafana's alerting asks for (its interval and max data points).

use std::time::Duration;

use crate::duration::format_go;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MacroContext {
    /// The query's step.
    pub interval: Duration,
    /// The query's time range.
    pub range: Duration,
    /// The min step, or the datasource's scrape interval.
    pub scrape_interval: Duration,
}

impl MacroContext {
    pub fn rate_interval(&self) -> Duration {
        (self.interval + self.scrape_interval).max(self.scrape_interval * 4)
    }
}

/// Longest names first, so `$__interval_ms` is not read as `$__interval` + `_ms`.
const NAMES: &[&str] = &["__rate_interval_ms", "__rate_interval", "__interval_ms", "__interval", "__range_ms", "__range_s", "__range"];

fn value(name: &str, context: &MacroContext) -> String {
    let range_s = context.range.as_secs_f64().round() as u64;
    match name {
        "__rate_interval_ms" => context.rate_interval().as_millis().to_string(),
        "__rate_interval" => format_go(context.rate_interval()),
        "__interval_ms" => context.interval.as_millis().to_string(),
        "__interval" => format_go(context.interval),
        "__range_ms" => context.range.as_millis().to_string(),
        "__range_s" => range_s.to_string(),
        "__range" => format!("{range_s}s"),
        other => unreachable!("macro {other} is not in NAMES"),
    }
}

fn is_identifier(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Replaces every macro in `expr`. Anything else, `$var` and unknown `$__x` included, is kept.
pub fn interpolate(expr: &str, context: &MacroContext) -> String {
    let bytes = expr.as_bytes();
    let mut out = String::with_capacity(expr.len());
    let mut copied_to = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'$' {
            i += 1;
            continue;
        }
        let braced = bytes.get(i + 1) == Some(&b'{');
        let start = if braced { i + 2 } else { i + 1 };
        let found = NAMES.iter().find(|name| {
            let end = start + name.len();
            expr.get(start..end) == Some(**name)
                && if braced { bytes.get(end) == Some(&b'}') } else { bytes.get(end).is_none_or(|c| !is_identifier(*c)) }
        });
        match found {
            Some(name) => {
                out.push_str(&expr[copied_to..i]);
                out.push_str(&value(name, context));
                i = start + name.len() + usize::from(braced);
                copied_to = i;
            }
            None => i += 1,
        }
    }
    out.push_str(&expr[copied_to..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context() -> MacroContext {
        MacroContext { interval: Duration::from_secs(15), range: Duration::from_secs(3600), scrape_interval: Duration::from_secs(5) }
    }

    #[test]
    fn every_macro_in_both_forms() {
        let c = context();
        let cases = [
            ("rate(x[$__rate_interval])", "rate(x[20s])"),
            ("rate(x[${__rate_interval}])", "rate(x[20s])"),
            ("$__rate_interval_ms", "20000"),
            ("avg_over_time(x[$__interval])", "avg_over_time(x[15s])"),
            ("${__interval_ms}", "15000"),
            ("increase(x[$__range])", "increase(x[3600s])"),
            ("$__range_s/$__range_ms", "3600/3600000"),
            ("${__range}", "3600s"),
        ];
        for (input, want) in cases {
            assert_eq!(interpolate(input, &c), want, "{input}");
        }
    }

    #[test]
    fn rate_interval_follows_grafanas_rule() {
        // max(interval + scrape, 4 * scrape)
        assert_eq!(context().rate_interval(), Duration::from_secs(20));
        let slow = MacroContext { interval: Duration::from_secs(120), ..context() };
        assert_eq!(interpolate("$__rate_interval", &slow), "2m5s");
    }

    #[test]
    fn other_dollars_are_kept() {
        let c = context();
        for text in ["$top_n", "${datname:regex}", "$__intervalx", "${__interval", "$", "price $5", "$__from", "ünï$__interval"] {
            let want = if text == "ünï$__interval" { "ünï15s".to_string() } else { text.to_string() };
            assert_eq!(interpolate(text, &c), want, "{text}");
        }
    }
}
