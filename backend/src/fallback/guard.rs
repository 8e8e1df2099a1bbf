//! What keeps one crafted query from taking the plugin down for every user: a complexity bound
//! checked on the text before anything parses it (length, nesting, binary operators), and a
//! thread with a known stack for the recursive parse, walk and print of what passes the bound.
//! `(` × 20,000 or `up` followed by 20,000 × ` + up` made the recursion overflow the stack,
//! which aborts the process (not a panic: nothing can catch it). Above the bound a query is
//! sent as written, with a note saying why it was not analysed.

use promql_parser::parser::{self, Expr};

/// The longest query text analysed (Grafana's own editor queries are a few KB).
pub const MAX_QUERY_BYTES: usize = 128 * 1024;
/// The deepest nesting of `(`, `[` and `{` analysed.
pub const MAX_NESTING: usize = 64;
/// The most binary operators (`+`, `*`, `and`, `or`, ...) analysed: a chain of them is a tree as
/// deep as it is long.
pub const MAX_OPERATORS: usize = 500;
/// The stack of the thread that parses, walks and prints: measured to hold the bounds above many
/// times over (tests/hostile_queries.rs runs them on a 2 MB thread too).
const STACK_BYTES: usize = 32 << 20;

/// How deep and long a query is, read from its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Complexity {
    pub nesting: usize,
    pub operators: usize,
}

impl Complexity {
    /// Shallow enough for any thread's stack (a tokio worker has 2 MB): no thread is started.
    pub fn is_shallow(self) -> bool {
        self.nesting + self.operators <= 24
    }
}

/// Why `query` is too complex to analyse, or None.
pub fn too_complex(query: &str) -> Option<String> {
    complexity(query).err()
}

/// The query's complexity, or why it is beyond the bounds. Reads the text once, skipping string
/// literals and comments; counts operators generously (every operator character and keyword
/// outside selectors' braces), which only lowers the bound.
pub fn complexity(query: &str) -> Result<Complexity, String> {
    if query.len() > MAX_QUERY_BYTES {
        return Err(format!("the query is {} KB long (limit {} KB)", query.len().div_ceil(1024), MAX_QUERY_BYTES / 1024));
    }
    let bytes = query.as_bytes();
    let (mut depth, mut deepest, mut operators, mut braces) = (0usize, 0usize, 0usize, 0usize);
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'"' | b'\'' | b'`' => {
                // Skip the literal (backslash escapes in the first two kinds).
                i += 1;
                while i < bytes.len() && bytes[i] != c {
                    i += if bytes[i] == b'\\' && c != b'`' { 2 } else { 1 };
                }
            }
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'(' | b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
                braces += usize::from(c == b'{');
            }
            b')' | b']' | b'}' => {
                depth = depth.saturating_sub(1);
                braces = braces.saturating_sub(usize::from(c == b'}'));
            }
            b'+' | b'-' | b'*' | b'/' | b'%' | b'^' | b'<' | b'>' | b'!' | b'=' if braces == 0 => operators += 1,
            b'a' | b'o' | b'u' if braces == 0 && (i == 0 || !is_word(bytes[i - 1])) => {
                let word_end = bytes[i..].iter().position(|b| !is_word(*b)).map_or(bytes.len(), |n| i + n);
                if matches!(&query[i..word_end], "and" | "or" | "unless" | "atan2") {
                    operators += 1;
                }
                i = word_end.max(i + 1);
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    if deepest > MAX_NESTING {
        return Err(format!("the query nests {deepest} levels of brackets (limit {MAX_NESTING})"));
    }
    if operators > MAX_OPERATORS {
        return Err(format!("the query has about {operators} operators (limit {MAX_OPERATORS})"));
    }
    Ok(Complexity { nesting: deepest, operators })
}

/// Runs `work` on this thread when the query is shallow, else on the big stack.
pub fn within_stack<T: Send>(complexity: Complexity, work: impl FnOnce() -> T + Send) -> Option<T> {
    if complexity.is_shallow() {
        Some(work())
    } else {
        on_big_stack(work)
    }
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b':'
}

/// Runs `work` on a thread with a known, large stack and waits for it; None when the thread
/// could not start or `work` panicked (the caller then leaves the query as written).
pub fn on_big_stack<T: Send>(work: impl FnOnce() -> T + Send) -> Option<T> {
    std::thread::scope(|scope| {
        let handle = std::thread::Builder::new().name("pgscope-promql".into()).stack_size(STACK_BYTES).spawn_scoped(scope, work).ok()?;
        handle.join().ok()
    })
}

/// Parses `query` within the bounds, on the big stack: the syntax tree, or why not (the
/// parser's first line, or the bound it exceeds). Trees within the bounds are shallow enough to
/// be read and dropped on any thread.
pub fn parse(query: &str) -> Result<Expr, String> {
    let complexity = complexity(query)?;
    within_stack(complexity, || parser::parse(query).map_err(|e| e.lines().next().unwrap_or_default().to_string()))
        .unwrap_or_else(|| Err("the PromQL parser failed on this query".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_queries_pass_and_hostile_ones_say_why() {
        for fine in [
            "sum by (datname, queryid) (rate(pg_stat_statements_calls_total{datname=~\"a|b\", x!=\"(((\"}[5m])) * on(datname, queryid) group_left(displayname) pgss_query_info",
            "up # a comment with ((((((( and + + + + +",
            "a and b or c unless d",
            "label_replace(up, \"x\", \"$1\", \"instance\", \"(.*):\\\\d+\")",
        ] {
            assert_eq!(too_complex(fine), None, "{fine}");
        }
        let nested = format!("{}up{}", "(".repeat(20_000), ")".repeat(20_000));
        assert!(too_complex(&nested).unwrap().contains("nests"), "{:?}", too_complex(&nested));
        let chain = format!("up{}", " + up".repeat(20_000));
        assert!(too_complex(&chain).unwrap().contains("operators"));
        let words = format!("up{}", " or up".repeat(MAX_OPERATORS + 1));
        assert!(too_complex(&words).unwrap().contains("operators"));
        let long = format!("up{{x=\"{}\"}}", "a".repeat(MAX_QUERY_BYTES));
        assert!(too_complex(&long).unwrap().contains("KB long"));
        // Strings hide brackets and operators; unbalanced closers do not underflow.
        assert_eq!(too_complex(&format!("up{{x=\"{}\"}}", "(+".repeat(1000))), None);
        assert_eq!(too_complex(")))]]]}}} up"), None);
    }

    #[test]
    fn parse_within_the_bounds_and_refuse_beyond() {
        let at_bound = format!("{}up{}", "(".repeat(MAX_NESTING), ")".repeat(MAX_NESTING));
        assert!(parse(&at_bound).is_ok());
        assert!(parse(&format!("({at_bound})")).unwrap_err().contains("nests"));
        assert!(parse("sum(").is_err());
    }
}
