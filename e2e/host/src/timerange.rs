//! Time range values as Grafana's API takes them: epoch milliseconds (number or string) or
//! relative expressions (`now`, `now-1h`, `now-15m`), as pkg/services/query parses `from`/`to`.

use serde_json::Value;

pub fn parse_time(value: &Value, now_ms: i64) -> Result<i64, String> {
    let text = match value {
        Value::Number(n) => return n.as_i64().ok_or_else(|| format!("invalid time {n}")),
        Value::String(s) => s.trim(),
        other => return Err(format!("invalid time {other}")),
    };
    if let Ok(ms) = text.parse::<i64>() {
        return Ok(ms);
    }
    let Some(rest) = text.strip_prefix("now") else {
        return Err(format!("invalid time {text:?}: use epoch milliseconds or now-<duration>"));
    };
    if rest.is_empty() {
        return Ok(now_ms);
    }
    let (sign, amount) = match rest.as_bytes()[0] {
        b'-' => (-1, &rest[1..]),
        b'+' => (1, &rest[1..]),
        _ => return Err(format!("invalid time {text:?}")),
    };
    let unit_at = amount.find(|c: char| !c.is_ascii_digit()).ok_or_else(|| format!("invalid time {text:?}: no unit"))?;
    let count: i64 = amount[..unit_at].parse().map_err(|_| format!("invalid time {text:?}"))?;
    let unit_ms = match &amount[unit_at..] {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 604_800_000,
        "M" => 2_592_000_000,
        "y" => 31_536_000_000,
        _ => return Err(format!("invalid time {text:?}: unknown unit")),
    };
    Ok(now_ms + sign * count * unit_ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn absolute_and_relative_times() {
        let now = 1_700_000_000_000;
        assert_eq!(parse_time(&json!("1699999999000"), now), Ok(1_699_999_999_000));
        assert_eq!(parse_time(&json!(5), now), Ok(5));
        assert_eq!(parse_time(&json!("now"), now), Ok(now));
        assert_eq!(parse_time(&json!("now-1h"), now), Ok(now - 3_600_000));
        assert_eq!(parse_time(&json!("now-15m"), now), Ok(now - 900_000));
        assert!(parse_time(&json!("yesterday"), now).is_err());
        assert!(parse_time(&json!("now-5"), now).is_err());
        assert!(parse_time(&json!(null), now).is_err());
    }
}
