//! Sample values as Prometheus prints them, shared by every reader of answers (`scan`,
//! `convert`, `read`). Pure.

/// Parses a sample value as Prometheus prints it (`"1.5"`, `"NaN"`, `"+Inf"`, `"-Inf"`).
pub fn parse_sample_value(text: &str) -> Option<f64> {
    match text {
        "NaN" => Some(f64::NAN),
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        _ => text.parse::<f64>().ok().filter(|v| v.is_finite()),
    }
}
