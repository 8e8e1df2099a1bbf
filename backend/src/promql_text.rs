//! Layer 0, PromQL text helpers: the one way to put a value into a PromQL string literal
//! (`quote`) and a literal text into a regex matcher (`regex_escape`), and to add a matcher to a
//! selector. Pure; used by every module that builds PromQL.
//!
//! May use: nothing of the crate.

/// `a"b\` as the body of a PromQL double-quoted string literal. PromQL reads Go's escapes, and a
/// literal holds no raw line break (both TSDBs answer "unterminated quoted string"): a label
/// value with one, from a hostile statement text or job name, is written `\n`, any other
/// control character `\xHH`.
pub fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            _ if c.is_ascii_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            _ => out.push(c),
        }
    }
    out
}

/// `text` matched literally by a regex, read alike by RE2 (Prometheus', VictoriaMetrics') and
/// Rust's regex crate (the unit tests'): ASCII punctuation escaped (`a.b` -> `a\.b`) but `_`,
/// `<` and `>` (no metacharacters; `\<` is a word boundary in Rust's regex), ASCII control
/// characters as `\x0A` (a PromQL string literal holds no line break), and letters, digits,
/// space and every non-ASCII character as they are (RE2 refuses `\é`). Put the result in a
/// string literal with `quote`.
pub fn regex_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            _ if c.is_ascii_control() => out.push_str(&format!("\\x{:02X}", c as u32)),
            '_' | '<' | '>' => out.push(c),
            _ if c.is_ascii_punctuation() => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// `selector` (`name{a="b"}`, `name{}`, `{...}` or a bare `name`) with one more matcher.
/// Only the selector's closing brace is taken off: a matcher's value may end in `}` too.
pub fn with_matcher(selector: &str, matcher: &str) -> String {
    match selector.strip_suffix('}') {
        Some(open) if open.ends_with('{') => format!("{open}{matcher}}}"),
        Some(open) => format!("{open},{matcher}}}"),
        None => format!("{selector}{{{matcher}}}"),
    }
}

/// Past this many series, a count over every statement's series is taken on a sample of
/// queryids and scaled (`QueryidSample`): at 100,000 statements a count or a join of them all
/// takes seconds, a tenth of them a tenth of that.
pub const SAMPLE_ABOVE: f64 = 20_000.0;

/// Which statements a count reads: all of them (`digits` 0), or those whose `digits` digits
/// before the last are 0, one in 10^digits. Queryids are hashes, so any digit is as good as a
/// random draw; the last is skipped only because generated test queryids tend to repeat it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryidSample {
    pub digits: u32,
}

impl QueryidSample {
    /// The fewest digits that leave at most `above` of `series` series; None when there are
    /// none (nothing to count).
    pub fn for_series(series: Option<f64>, above: f64) -> Option<QueryidSample> {
        let series = series.filter(|s| *s > 0.0)?;
        let mut digits = 0;
        while digits < 6 && series / 10f64.powi(digits as i32) > above {
            digits += 1;
        }
        Some(QueryidSample { digits })
    }

    /// The sample's matcher, `queryid=~".*0."`; None for every statement.
    pub fn matcher(&self) -> Option<String> {
        (self.digits > 0).then(|| format!("queryid=~\".*{}.\"", "0".repeat(self.digits as usize)))
    }

    /// `selector` with the sample's matcher, e.g. `m{queryid=~".*0."}`.
    pub fn select(&self, selector: &str) -> String {
        match self.matcher() {
            Some(matcher) => with_matcher(selector, &matcher),
            None => selector.to_string(),
        }
    }

    /// What a count on the sample is multiplied by: 10^digits.
    pub fn scale(&self) -> f64 {
        10f64.powi(self.digits as i32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_whole_up_to_the_threshold_and_on_a_sample_past_it() {
        let sample = |series| QueryidSample::for_series(series, SAMPLE_ABOVE);
        assert_eq!(sample(None), None);
        assert_eq!(sample(Some(0.0)), None, "no series: nothing to count");
        let whole = sample(Some(SAMPLE_ABOVE)).unwrap();
        assert_eq!((whole.select("m"), whole.matcher(), whole.scale()), ("m".to_string(), None, 1.0));
        let tenth = sample(Some(100_000.0)).unwrap();
        assert_eq!((tenth.digits, tenth.select("m"), tenth.scale()), (1, r#"m{queryid=~".*0."}"#.to_string(), 10.0));
        assert_eq!(tenth.select(r#"m{job="a"}"#), r#"m{job="a",queryid=~".*0."}"#);
        assert_eq!(sample(Some(1_000_000.0)).unwrap().select("m"), r#"m{queryid=~".*00."}"#);
    }

    #[test]
    fn quoting_and_regex_escaping_compose() {
        assert_eq!(quote(r#"a"b\c"#), r#"a\"b\\c"#);
        assert_eq!(regex_escape("pg:query_info.x"), r"pg\:query_info\.x");
        assert_eq!(quote(&regex_escape("a.b")), r"a\\.b");
        assert_eq!(regex_escape("plain_name1"), "plain_name1");
    }

    /// pgss's search and tag regexes escaped each their own way before they shared this; on
    /// `é` and on a line break this one made what RE2 refuses (`\é`) or what no PromQL string
    /// literal holds.
    #[test]
    fn escaped_texts_match_themselves_only_in_rust_and_re2_alike() {
        assert_eq!(regex_escape("Zürich é"), "Zürich é");
        assert_eq!(regex_escape("a\nb<c>_"), r"a\x0Ab<c>_");
        let anchored = |text: &str| regex::Regex::new(&format!("^(?:{})$", regex_escape(text))).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        let characters: Vec<String> = (0u8..128).map(char::from).chain(['é', '✓', '\u{1F600}']).map(String::from).collect();
        for c in &characters {
            let regex = anchored(c);
            let matched: Vec<&String> = characters.iter().filter(|other| regex.is_match(other)).collect();
            assert_eq!(matched, [c], "{c:?} as {}", regex_escape(c));
            assert!(!quote(&regex_escape(c)).contains(|c: char| c.is_control()), "{c:?}");
        }
        let all: String = characters.concat();
        assert!(anchored(&all).is_match(&all));
    }

    #[test]
    fn quoted_values_hold_no_raw_control_character() {
        assert_eq!(quote(r#"a"b\c"#), r#"a\"b\\c"#);
        assert_eq!(quote("line\nbreak\r\tand\u{1}é"), r"line\nbreak\r\tand\x01é");
        for c in (0u8..128).map(char::from) {
            assert!(!quote(&c.to_string()).contains(|c: char| c.is_control()), "{c:?}");
        }
    }

    #[test]
    fn matchers_are_added_to_any_selector_shape() {
        assert_eq!(with_matcher("calls{}", "queryid=\"1\""), "calls{queryid=\"1\"}");
        assert_eq!(with_matcher("calls", "queryid=\"1\""), "calls{queryid=\"1\"}");
        assert_eq!(with_matcher("calls{datname=\"a\"}", "queryid=\"1\""), "calls{datname=\"a\",queryid=\"1\"}");
        assert_eq!(with_matcher("{datname=\"a\"}", "x=\"1\""), "{datname=\"a\",x=\"1\"}");
        // A database filter such as `app}` (it made `calls{datname=~"app,x="1"}`).
        assert_eq!(with_matcher("calls{datname=~\"app}\"}", "x=\"1\""), "calls{datname=~\"app}\",x=\"1\"}");
    }
}
