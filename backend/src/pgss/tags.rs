//! sqlcommenter-style tags in a statement's comments: `/*application='checkout',route='%2Fcart'*/`
//! (keys and values URL-encoded, values in single quotes, `\'` inside them; the sqlcommenter
//! spec), the common unquoted `/* application=checkout route=/cart */`, and the same in `--`
//! comments (`tags`); the `tag` filter (`Tag`) and a superset of it as an RE2 label regex, so the
//! TSDB ranks only statements that may carry the tag (`Tag::regex`). Pure; never panics.
//!
//! A comment gives tags only when all of it reads as `key=value` pairs separated by commas or
//! whitespace: `/* retry = 3 times */` gives none. pg_stat_statements keeps one text per
//! queryid, the first it saw, comments included: the tags are those of that execution.
//!
//! Not for: Rails' marginalia (`/*application:Shop*/`), which uses `:`.

use crate::promql_text::regex_escape;

/// At most this many tags per text, keys and values of at most these many bytes: a hostile
/// text makes a bounded column.
const MAX_TAGS: usize = 32;
const MAX_KEY: usize = 128;
const MAX_VALUE: usize = 1024;

/// Every tag of `text`'s comments, URL-decoded, in order; a key seen twice keeps its first value.
pub fn tags(text: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut rest = text;
    while out.len() < MAX_TAGS {
        let Some(start) = rest.find(['/', '-']) else { break };
        let after = &rest[start + 1..];
        let (body, next) = if rest[start..].starts_with("/*") {
            match after[1..].find("*/") {
                Some(end) => (&after[1..1 + end], &after[1 + end + 2..]),
                None => break,
            }
        } else if rest[start..].starts_with("--") {
            let end = after[1..].find('\n').map_or(after.len() - 1, |e| e);
            (&after[1..1 + end], &after[1 + end..])
        } else {
            rest = after;
            continue;
        };
        for (key, value) in pairs(body).unwrap_or_default() {
            if out.len() < MAX_TAGS && !out.iter().any(|(k, _)| *k == key) {
                out.push((key, value));
            }
        }
        rest = next;
    }
    out
}

/// A comment's `key=value` pairs, None when some of it is no pair.
fn pairs(body: &str) -> Option<Vec<(String, String)>> {
    let separator = |c: char| c == ',' || c.is_ascii_whitespace();
    let mut out = Vec::new();
    let mut rest = body.trim_start_matches(separator);
    while !rest.is_empty() {
        let equals = rest.find(|c: char| c == '=' || c == '\'' || separator(c))?;
        if equals == 0 || !rest[equals..].starts_with('=') || equals > MAX_KEY {
            return None;
        }
        let key = decode(&rest[..equals]);
        rest = &rest[equals + 1..];
        let value = if let Some(quoted) = rest.strip_prefix('\'') {
            let (value, after) = quoted_value(quoted)?;
            rest = after;
            value
        } else {
            let end = rest.find(|c: char| separator(c) || c == '\'').unwrap_or(rest.len());
            let value = &rest[..end];
            rest = &rest[end..];
            value.to_string()
        };
        if value.len() > MAX_VALUE {
            return None;
        }
        // The next pair only after a separator.
        if !rest.is_empty() && !rest.starts_with(separator) {
            return None;
        }
        rest = rest.trim_start_matches(separator);
        out.push((key, decode(&value)));
    }
    (!out.is_empty()).then_some(out)
}

/// A quoted value up to its closing `'` (`\'` and `\\` inside), and what follows it.
fn quoted_value(text: &str) -> Option<(String, &str)> {
    let mut value = String::new();
    let mut chars = text.char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '\'' => return Some((value, &text[at + 1..])),
            '\\' => value.push(chars.next()?.1),
            c => value.push(c),
        }
    }
    None
}

/// `%XX` sequences decoded (UTF-8, lossily); a `%` that starts none stays as it is.
fn decode(text: &str) -> String {
    if !text.contains('%') {
        return text.to_string();
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(high), Some(low)) => {
                out.push((high * 16 + low) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The tags as the `tags` column shows them: `application=checkout route=/cart`; a value with
/// whitespace, or empty, in single quotes.
pub fn display(tags: &[(String, String)]) -> String {
    let shown: Vec<String> = tags
        .iter()
        .map(|(k, v)| if v.is_empty() || v.contains(char::is_whitespace) { format!("{k}='{v}'") } else { format!("{k}={v}") })
        .collect();
    shown.join(" ")
}

/// The `tag` filter: statements whose comments carry `key=value` (as the tags column shows
/// them, decoded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

impl Tag {
    /// `key=value`; empty: no filter.
    pub fn parse(text: &str) -> Result<Option<Tag>, String> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(None);
        }
        match text.split_once('=') {
            // No statement's tag is longer (`tags` drops longer pairs): a longer filter could
            // match nothing, and would only make the PromQL it goes into megabytes long.
            Some((key, value)) if key.trim().len() > MAX_KEY || value.trim().len() > MAX_VALUE => {
                Err(format!("a tag's key is at most {MAX_KEY} bytes and its value at most {MAX_VALUE}, as in the statements' comments"))
            }
            Some((key, value)) if !key.trim().is_empty() => Ok(Some(Tag { key: key.trim().to_string(), value: value.trim().to_string() })),
            _ => Err(format!("tag must be key=value, as the tags column shows it (application=checkout), not {:?}", super::names::short_name(text, 80))),
        }
    }

    pub fn matches(&self, text: &str) -> bool {
        tags(text).iter().any(|(k, v)| *k == self.key && *v == self.value)
    }

    /// An RE2 regex (anchored, to be quoted) every text carrying the tag matches: the key
    /// after a comment's start or a separator, `=`, the value quoted or not, each character as
    /// itself or URL-encoded. A superset: the plugin keeps the texts `matches` keeps.
    pub fn regex(&self) -> String {
        format!(r"(?s).*[-*,\t\n\f\r ]{}=(?:'{value}'|{value})(?:[,\t\n\f\r *'].*)?", literal_or_url_encoded(&self.key), value = literal_or_url_encoded(&self.value))
    }
}

/// A regex matching `text` with any of its characters URL-encoded (`%2F` or `%2f`), `'` also
/// as `\'`; letters, digits and `-_.~` only as they are (URL encoders leave them: short regexes
/// keep the query inside a TSDB's length limit). Each character as itself is `regex_escape`'s.
fn literal_or_url_encoded(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        let mut bytes = [0u8; 4];
        let character = c.encode_utf8(&mut bytes);
        let literal = regex_escape(character);
        if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '~') {
            out.push_str(&literal);
            continue;
        }
        let percent: String = character.bytes().map(|b| format!("%{}{}", hex_class(b >> 4), hex_class(b & 15))).collect();
        let backslashed = if c == '\'' { format!("|{}", regex_escape("\\'")) } else { String::new() };
        out.push_str(&format!("(?:{literal}|{percent}{backslashed})"));
    }
    out
}

/// A hex digit in either case: `[Ff]`, or the digit.
fn hex_class(nibble: u8) -> String {
    let digit = char::from_digit(nibble as u32, 16).unwrap_or('0');
    if digit.is_ascii_digit() {
        digit.to_string()
    } else {
        format!("[{}{}]", digit.to_ascii_uppercase(), digit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag_list(text: &str) -> Vec<String> {
        tags(text).into_iter().map(|(k, v)| format!("{k}={v}")).collect()
    }

    #[test]
    fn comments_give_their_tags_decoded() {
        let cases: &[(&str, &[&str])] = &[
            ("/* application='checkout',route='%2Fcart' */ SELECT abalance FROM pgbench_accounts WHERE aid = $1", &["application=checkout", "route=/cart"]),
            ("UPDATE t SET a = $1 /*application='checkout',route='%2Fcart%2Fpay'*/", &["application=checkout", "route=/cart/pay"]),
            ("SELECT 1 /*action='index',controller='users',db_driver='django.db.backends.postgresql',framework='django%3A4.2'*/", &["action=index", "controller=users", "db_driver=django.db.backends.postgresql", "framework=django:4.2"]),
            ("WITH t AS (SELECT $1 AS x) SELECT x FROM t /* application=reports */", &["application=reports"]),
            ("SELECT 1 /* application=checkout route=/cart */", &["application=checkout", "route=/cart"]),
            ("-- application=search, team=core\nSELECT 1", &["application=search", "team=core"]),
            ("SELECT 1 -- application=search", &["application=search"]),
            ("SELECT 1 /* a='it\\'s',b='%E2%9C%93',c='%zz' */", &["a=it's", "b=✓", "c=%zz"]),
            ("/* app='one' */ SELECT 1 /* app='two',x='' */", &["app=one", "x="]),
            ("/* a%3Db='c' */ SELECT 1", &["a=b=c"]),
            // Comments that are no tags.
            ("SELECT 1 /* retry = 3 times */", &[]),
            ("SELECT 1 /* just words */", &[]),
            ("SELECT 1 /* a='unterminated */", &[]),
            ("SELECT 1 /* a='x'b='y' */", &[]),
            ("SELECT 1 /* =x */", &[]),
            ("SELECT a - b, c / d FROM t WHERE x = $1", &[]),
            ("SELECT 1 /* application='x' ", &[]),
            ("", &[]),
        ];
        for (text, expected) in cases {
            assert_eq!(tag_list(text), *expected, "{text:?}");
        }
        assert_eq!(display(&tags("/* application='checkout',route='%2Fcart',note='two%20words' */")), "application=checkout route=/cart note='two words'");
    }

    #[test]
    fn the_filter_is_key_equals_value() {
        assert_eq!(Tag::parse(" route=/cart ").unwrap(), Some(Tag { key: "route".into(), value: "/cart".into() }));
        assert_eq!(Tag::parse("").unwrap(), None);
        assert!(Tag::parse("route").unwrap_err().contains("key=value"));
        assert!(Tag::parse("=x").is_err());
        let at_the_limits = format!("{}={}", "k".repeat(MAX_KEY), "v".repeat(MAX_VALUE));
        assert!(Tag::parse(&at_the_limits).unwrap().is_some());
        assert!(Tag::parse(&format!("{}=v", "k".repeat(MAX_KEY + 1))).unwrap_err().contains("at most 128 bytes"));
        assert!(Tag::parse(&format!("k={}", "v".repeat(MAX_VALUE + 1))).unwrap_err().contains("at most 1024"));
        assert!(Tag::parse(&"x".repeat(1 << 20)).unwrap_err().len() < 200, "the refused text is not echoed whole");
        let tag = Tag::parse("route=/cart").unwrap().unwrap();
        assert!(tag.matches("/* application='checkout',route='%2Fcart' */ SELECT 1"));
        assert!(!tag.matches("/* route='%2Fcart%2Fpay' */ SELECT 1"));
        assert!(!tag.matches("SELECT '/* route=/cart' */"), "a quote after the value: no pair, no tags");
    }

    #[test]
    fn hostile_texts_never_panic_and_stay_bounded() {
        let many: String = (0..1000).map(|i| format!("/* k{i}='v' */")).collect();
        assert_eq!(tags(&many).len(), MAX_TAGS);
        let long_value = format!("/* k='{}' */", "v".repeat(MAX_VALUE + 1));
        assert!(tags(&long_value).is_empty());
        let started = std::time::Instant::now();
        let _ = tags(&"/*".repeat(100_000));
        let _ = tags(&"--".repeat(100_000));
        let _ = tags(&"/* a=b ".repeat(100_000));
        let _ = tags(&format!("/* {} */", "a='\\".repeat(50_000)));
        assert!(started.elapsed() < std::time::Duration::from_secs(2), "{:?}", started.elapsed());
        for text in ["/", "-", "/*", "*/", "--", "/**/", "/*'*/", "/*a=*/", "/*a='*/", "/*a='\\*/", "/*%*/", "/*a=%E2%9C*/", "/*é=ü*/", "\u{0}/*\u{0}=\u{0}*/"] {
            let _ = tags(text);
        }
        assert_eq!(tag_list("/*é=%C3%BC*/"), ["é=ü"]);
    }
}

/// The tag regex against `tags`, with Rust's regex crate (RE2's syntax for what it uses),
/// anchored as Prometheus anchors label regexes.
#[cfg(test)]
mod regex_tests {
    use super::*;

    const TEXTS: &[&str] = &[
        "/* application='checkout',route='%2Fcart' */ SELECT abalance FROM pgbench_accounts WHERE aid = $1",
        "UPDATE t SET a = $1 /*application='checkout',route='%2fcart%2Fpay'*/",
        "SELECT 1 /*action='index',framework='django%3A4.2',q='it\\'s',w='%E2%9C%93'*/",
        "SELECT 1 /* application=checkout route=/cart */",
        "-- application=search,\tteam=core\nSELECT 1",
        "SELECT 1 -- application=search",
        "/*é=%C3%BC,<a>='[x]',dot='a.b',star='*',plus='+'*/ SELECT 1",
        "SELECT 1 /* app='two',x='' */",
    ];

    #[test]
    fn every_tag_a_text_carries_matches_its_regex() {
        let mut checked = 0;
        for text in TEXTS {
            for (key, value) in tags(text) {
                let tag = Tag { key, value };
                let regex = regex::Regex::new(&format!("^(?:{})$", tag.regex())).unwrap();
                assert!(regex.is_match(text), "{tag:?} in {text:?}: {}", tag.regex());
                checked += 1;
            }
        }
        assert!(checked >= 20, "{checked}");
    }

    #[test]
    fn other_values_do_not_match() {
        let matches = |tag: &str, text: &str| regex::Regex::new(&format!("^(?:{})$", Tag::parse(tag).unwrap().unwrap().regex())).unwrap().is_match(text);
        assert!(!matches("route=/cart", TEXTS[1]), "route is /cart/pay there");
        assert!(!matches("application=check", TEXTS[0]));
        assert!(!matches("plication=checkout", TEXTS[0]));
        assert!(!matches("route=/cart", "SELECT route FROM t WHERE x = $1"));
        assert!(matches("route=/cart", TEXTS[0]));
    }
}
