//! Layer 0, PromQL text helpers: the one way to put a value into a PromQL string literal
//! (`quote`) and a literal text into a regex matcher (`regex_escape`), and to add a matcher to a
//! selector. Pure; used by every module that builds PromQL.
//!
//! May use: nothing of the crate.

/// `a"b\` as the body of a PromQL double-quoted string literal.
pub fn quote(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"")
}

/// `text` matched literally by a (RE2) regex: every character but letters, digits and `_`
/// escaped. Put the result in a string literal with `quote`.
pub fn regex_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if !(c.is_ascii_alphanumeric() || c == '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `selector` (`name{a="b"}`, `name{}` or `{...}`) with one more matcher.
pub fn with_matcher(selector: &str, matcher: &str) -> String {
    match selector.strip_suffix("{}") {
        Some(name) => format!("{name}{{{matcher}}}"),
        None => format!("{},{matcher}}}", selector.trim_end_matches('}')),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_and_regex_escaping_compose() {
        assert_eq!(quote(r#"a"b\c"#), r#"a\"b\\c"#);
        assert_eq!(regex_escape("pg:query_info.x"), r"pg\:query_info\.x");
        assert_eq!(quote(&regex_escape("a.b")), r"a\\.b");
        assert_eq!(regex_escape("plain_name1"), "plain_name1");
    }

    #[test]
    fn matchers_are_added_to_any_selector_shape() {
        assert_eq!(with_matcher("calls{}", "queryid=\"1\""), "calls{queryid=\"1\"}");
        assert_eq!(with_matcher("calls{datname=\"a\"}", "queryid=\"1\""), "calls{datname=\"a\",queryid=\"1\"}");
        assert_eq!(with_matcher("{datname=\"a\"}", "x=\"1\""), "{datname=\"a\",x=\"1\"}");
    }
}
