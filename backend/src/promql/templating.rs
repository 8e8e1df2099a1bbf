//! Dashboard variables (`$top_n`, `${cluster}`, `[[var]]`) and Grafana macros in stored
//! queries: the CLI must parse such queries and, when it rewrites one, give the variables back.
//! `protect` swaps every variable outside string literals for a placeholder that parses in its
//! position (a number, or a duration inside `[...]`); `restore` swaps them back in the printed
//! output. Variables inside strings (`{cluster="$cluster"}`) stay as they are.

use promql_parser::parser;

/// A query with its variables replaced, and how to put them back.
#[derive(Debug, Clone, PartialEq)]
pub struct Protected {
    pub text: String,
    /// (placeholder as the printer writes it, original variable text)
    swaps: Vec<(String, String)>,
}

const BASE: u64 = 987_654_000;

/// How the parser prints a duration placeholder of `ms` milliseconds.
fn printed_duration(ms: u64) -> String {
    let text = format!("x[{ms}ms]");
    match parser::parse(&text) {
        Ok(expr) => {
            let printed = expr.to_string();
            printed.trim_start_matches("x[").trim_end_matches(']').to_string()
        }
        Err(_) => format!("{ms}ms"),
    }
}

fn variable_len(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    if text.starts_with("${") {
        return text.find('}').map(|end| end + 1);
    }
    if text.starts_with("[[") {
        return text.find("]]").map(|end| end + 2);
    }
    if bytes.first() == Some(&b'$') && bytes.get(1).is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_') {
        let len = 1 + text[1..].find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(text.len() - 1);
        return Some(len);
    }
    None
}

pub fn protect(query: &str) -> Protected {
    let mut text = String::with_capacity(query.len());
    let mut swaps = Vec::new();
    let mut quote: Option<char> = None;
    let mut in_range = false;
    let mut i = 0;
    while i < query.len() {
        let rest = &query[i..];
        let c = rest.chars().next().unwrap_or_default();
        if let Some(q) = quote {
            text.push(c);
            if c == '\\' {
                if let Some(next) = rest[1..].chars().next() {
                    text.push(next);
                    i += 1 + next.len_utf8();
                    continue;
                }
            } else if c == q {
                quote = None;
            }
            i += c.len_utf8();
            continue;
        }
        if let Some(len) = variable_len(rest) {
            let n = BASE + swaps.len() as u64;
            let (placeholder, printed) =
                if in_range { (format!("{n}ms"), printed_duration(n)) } else { (n.to_string(), n.to_string()) };
            text.push_str(&placeholder);
            swaps.push((printed, rest[..len].to_string()));
            i += len;
            continue;
        }
        match c {
            '"' | '\'' | '`' => quote = Some(c),
            '[' => in_range = true,
            ']' => in_range = false,
            _ => {}
        }
        text.push(c);
        i += c.len_utf8();
    }
    Protected { text, swaps }
}

impl Protected {
    /// Puts the variables back into `printed` (a rewrite of `self.text`).
    pub fn restore(&self, printed: &str) -> String {
        let mut out = printed.to_string();
        // Longest placeholders first, so 987654010 is not hit by 98765401.
        let mut swaps = self.swaps.clone();
        swaps.sort_by_key(|swap| std::cmp::Reverse(swap.0.len()));
        for (placeholder, original) in &swaps {
            out = out.replace(placeholder.as_str(), original);
        }
        out
    }

    pub fn has_variables(&self) -> bool {
        !self.swaps.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_become_parseable_and_come_back() {
        let query = r#"topk($top_n, irate(calls{cluster="$cluster"}[$__rate_interval])) * on(queryid) group_left(displayname) ${info}"#;
        let protected = protect(query);
        assert!(!protected.text.contains("$top_n") && protected.text.contains(r#"cluster="$cluster""#), "{}", protected.text);
        assert!(protected.text.contains("[987654001ms]"), "{}", protected.text);
        let ast = parser::parse(&protected.text.replace("987654002", "info_metric")).unwrap();
        let printed = ast.to_string();
        assert!(protected.restore(&printed).contains("topk($top_n, irate(calls{cluster=\"$cluster\"}[$__rate_interval]))"), "{}", protected.restore(&printed));
    }

    #[test]
    fn text_without_variables_is_untouched() {
        for query in ["up", "sum(rate(x[5m])) by (job)", "price > 5 and $", "\"unterminated $x"] {
            let protected = protect(query);
            assert_eq!(protected.restore(&protected.text), query, "{query}");
        }
        assert!(!protect("rate(x[5m])").has_variables());
        assert_eq!(protect("[[var]] + 1").text, "987654000 + 1");
    }
}
