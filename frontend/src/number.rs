//! Numbers as text for the views: a fixed number of decimals (`fixed`, `push_fixed`: figures,
//! SVG paths) and the shortest text that reads back as the same number (`shortest`: counts,
//! CSS lengths, a number cell's text). The panel's own instead of core's float formatting
//! (`{:.1}`, `f64::to_string`), whose two algorithms and tables were ~20 KB of the wasm (issue
//! 19, the wasm diet). Part of the model: pure Rust, tested natively, never a panic.

/// `x` with `decimals` digits after the point (at most 20), as `format!("{x:.decimals$}")`
/// writes it, but rounded on x·10^decimals as computed in f64: a value whose exact binary
/// expansion lies just below a tie (0.15 is 0.1499999…) may round up here where core rounds
/// down, a difference in the last digit shown and only there.
pub fn fixed(x: f64, decimals: u32) -> String {
    let mut out = String::new();
    push_fixed(&mut out, x, decimals);
    out
}

/// `fixed`, appended to `out` (SVG paths are built point by point).
pub fn push_fixed(out: &mut String, x: f64, decimals: u32) {
    if x.is_nan() {
        return out.push_str("NaN");
    }
    if x.is_sign_negative() {
        out.push('-');
    }
    if x.is_infinite() {
        return out.push_str("inf");
    }
    let decimals = decimals.min(20) as i32;
    // The whole part exactly (every f64 integer below 3e38 is a u128), the fraction (exact
    // too: x - trunc(x)) scaled and rounded.
    let (mut whole, fraction) = (x.abs().trunc(), x.abs().fract());
    let unit = 10f64.powi(decimals);
    let mut scaled = (fraction * unit).round();
    if scaled >= unit {
        whole += 1.0;
        scaled = 0.0;
    }
    // Past u128 (3e38): the leading digits and zeros after them.
    let mut zeros = 0;
    while whole >= 3.0e38 {
        whole = (whole / 10.0).trunc();
        zeros += 1;
    }
    out.push_str(&(whole as u128).to_string());
    out.extend(std::iter::repeat_n('0', zeros));
    if decimals > 0 {
        out.push('.');
        let digits = (scaled as u128).to_string();
        out.extend(std::iter::repeat_n('0', decimals as usize - digits.len().min(decimals as usize)));
        out.push_str(&digits);
    }
}

/// The shortest text with up to 17 decimals that reads back as `x` (whole numbers without a
/// point: "44", not "44.0"), as `x.to_string()` writes it for the numbers the panel shows;
/// one that needs more decimals (below 1e-5 or so) is cut at 17 and its trailing zeros
/// dropped ("0" for anything below 1e-17).
pub fn shortest(x: f64) -> String {
    if !x.is_finite() || x.fract() == 0.0 {
        return fixed(x, 0);
    }
    (1..=17).map(|decimals| fixed(x, decimals)).find(|text| crate::json::number(text) == Some(x)).unwrap_or_else(|| {
        let text = fixed(x, 17);
        let text = text.trim_end_matches('0').trim_end_matches('.');
        if text == "-0" { "0" } else { text }.to_string()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_writes_what_core_writes_but_at_ties() {
        let values = [0.0, -0.0, 1.0, -1.0, 0.04, -0.04, 1.25e-7, 3.25159, 42.0, 99.95, 123456.789, -7.5e-4, 0.1, 1e15, 9.87654321e17, 1e20, 4.2e30];
        for x in values {
            for decimals in [0u32, 1, 2, 3] {
                let core = format!("{x:.prec$}", prec = decimals as usize);
                let ours = fixed(x, decimals);
                // The same text, or a tie rounded the other way in the last digit.
                let close = (core.parse::<f64>().unwrap() - ours.parse::<f64>().unwrap()).abs() <= 10f64.powi(-(decimals as i32)) * 1.0001;
                assert!(core == ours || (close && x.abs() < 1e15), "{x} .{decimals}: {ours} vs {core}");
            }
        }
        assert_eq!([fixed(f64::NAN, 1), fixed(f64::INFINITY, 2), fixed(f64::NEG_INFINITY, 0)], ["NaN", "inf", "-inf"]);
        assert_eq!([fixed(0.05, 3), fixed(-0.5, 0), fixed(1e300, 0).len().to_string()], ["0.050", "-1", "301"]);
        let mut path = String::from("M");
        push_fixed(&mut path, 12.345, 1);
        assert_eq!(path, "M12.3");
    }

    #[test]
    fn shortest_writes_what_to_string_writes() {
        for x in [0.0, 44.0, 1000.0, 0.1, 0.3, 1.5, 2.0 / 3.0, 123.456, 1e-7, 1234567.125, 9007199254740993.0, 1e17, -0.25, f64::INFINITY, f64::NAN] {
            assert_eq!(shortest(x), x.to_string(), "{x:e}");
        }
        assert_eq!([shortest(5e-324), shortest(-1e-20), shortest(1.5e-17)], ["0", "0", "0.00000000000000002"]);
    }
}
