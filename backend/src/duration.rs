//! Durations as Grafana users write them (`15s`, `1m30s`, `500ms`, `2h`, `1d`, a bare number of
//! seconds) and as Grafana prints them for Prometheus (Go style: `1m0s`, `1m15s`, `500ms`).
//! Not for: time ranges or timestamps.

use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not a duration: use a number with a unit, like 15s, 1m or 500ms")]
pub struct DurationError {
    pub text: String,
}

/// Parses `1h30m`, `15s`, `500ms`, `1.5s`, `2d`, `1w`, `1y` or a bare number of seconds.
pub fn parse(text: &str) -> Result<Duration, DurationError> {
    let error = || DurationError { text: text.to_string() };
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(error());
    }
    if let Ok(seconds) = trimmed.parse::<f64>() {
        return seconds_to_duration(seconds).ok_or_else(error);
    }
    let mut total = 0f64;
    let mut rest = trimmed;
    while !rest.is_empty() {
        let number_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).ok_or_else(error)?;
        if number_end == 0 {
            return Err(error());
        }
        let number: f64 = rest[..number_end].parse().map_err(|_| error())?;
        rest = &rest[number_end..];
        let unit_end = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let seconds_per_unit = match &rest[..unit_end] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "d" => 86_400.0,
            "w" => 604_800.0,
            "y" => 31_536_000.0,
            _ => return Err(error()),
        };
        total += number * seconds_per_unit;
        rest = &rest[unit_end..];
    }
    seconds_to_duration(total).ok_or_else(error)
}

fn seconds_to_duration(seconds: f64) -> Option<Duration> {
    (0.0..1e12).contains(&seconds).then(|| Duration::from_secs_f64(seconds))
}

/// Prints like Go's `time.Duration.String()` for whole milliseconds: `1m0s`, `1h2m3s`, `500ms`,
/// `1.5s`. This is the form Grafana's Prometheus datasource sends; both TSDBs accept it.
pub fn format_go(duration: Duration) -> String {
    let ms = duration.as_millis();
    if ms == 0 {
        return "0s".into();
    }
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let hours = ms / 3_600_000;
    let minutes = (ms / 60_000) % 60;
    let seconds_ms = ms % 60_000;
    let seconds = if seconds_ms.is_multiple_of(1000) {
        format!("{}s", seconds_ms / 1000)
    } else {
        let text = format!("{}.{:03}", seconds_ms / 1000, seconds_ms % 1000);
        format!("{}s", text.trim_end_matches('0'))
    };
    match (hours, minutes) {
        (0, 0) => seconds,
        (0, m) => format!("{m}m{seconds}"),
        (h, m) => format!("{h}h{m}m{seconds}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_users_write() {
        let cases = [
            ("15s", 15_000),
            ("1m", 60_000),
            ("1m30s", 90_000),
            ("500ms", 500),
            ("1.5s", 1_500),
            ("2h", 7_200_000),
            ("1d", 86_400_000),
            ("30", 30_000),
            (" 10s ", 10_000),
        ];
        for (text, ms) in cases {
            assert_eq!(parse(text).unwrap().as_millis(), ms, "{text}");
        }
    }

    #[test]
    fn rejects_what_is_not_a_duration() {
        for text in ["", "s", "10x", "-5s", "1e400", "ten seconds", "5m5", "NaN"] {
            assert!(parse(text).is_err(), "{text}");
        }
    }

    #[test]
    fn prints_like_go() {
        let cases = [(0, "0s"), (500, "500ms"), (1_500, "1.5s"), (15_000, "15s"), (60_000, "1m0s"),
            (75_000, "1m15s"), (3_600_000, "1h0m0s"), (3_723_000, "1h2m3s")];
        for (ms, text) in cases {
            assert_eq!(format_go(Duration::from_millis(ms)), text);
        }
    }
}
