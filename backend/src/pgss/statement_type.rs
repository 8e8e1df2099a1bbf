//! A statement's type from its text: SELECT, INSERT, UPDATE, DELETE, MERGE, DDL or utility
//! (`classify`), and the same rule as RE2 label regexes (`type_matchers`), so that the TSDB can
//! rank only the statements of some types (issue 21). Pure; never panics, whatever the text.
//!
//! The rule reads what a statement starts with, past whitespace, comments and opening
//! parentheses: its first word. `WITH` is read on: the statement after the common table
//! expressions follows a `)`, so a data-modifying word right after a `)` (`WITH a AS (...)
//! INSERT INTO ...`) makes it that type, SELECT if only `SELECT`, `VALUES` or `TABLE` follows one.
//! A text it cannot tell (no text, a name that is no SQL, a `WITH` cut short by the exporter, two
//! different data-modifying words after `)`) has no type: never a guess.
//!
//! Not for: parsing SQL. Nested block comments and string literals holding `)` are read as
//! plain text; pg_stat_statements replaces literals with `$1`, which keeps the latter rare.
//!
//! The regexes give exactly the statements `classify` gives (a test holds this), so the rows
//! the TSDB ranks are the rows shown. Letters match in either ASCII case, spelled out per
//! keyword with `(?i:...)`; RE2 also folds `ſ` to `s` and `K` (Kelvin) to `k` there, and so does
//! `classify`.

use std::collections::HashMap;
use std::fmt;

/// What a statement does, as the `statement_type` column and the `statementType` filter say it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum StatementType {
    Select,
    Insert,
    Update,
    Delete,
    Merge,
    /// Definitions: CREATE, ALTER, DROP, TRUNCATE, COMMENT, GRANT, REVOKE, ...
    Ddl,
    /// Everything else PostgreSQL runs as a utility command: transactions, SET, SHOW, COPY,
    /// EXPLAIN, VACUUM, ANALYZE, CALL, DO, LOCK, PREPARE/EXECUTE, cursors, ...
    Utility,
}

use StatementType::*;

impl StatementType {
    pub const ALL: [StatementType; 7] = [Select, Insert, Update, Delete, Merge, Ddl, Utility];

    pub fn as_str(self) -> &'static str {
        match self {
            Select => "SELECT",
            Insert => "INSERT",
            Update => "UPDATE",
            Delete => "DELETE",
            Merge => "MERGE",
            Ddl => "DDL",
            Utility => "utility",
        }
    }

    /// A type by its name, any case.
    pub fn parse(name: &str) -> Option<StatementType> {
        StatementType::ALL.into_iter().find(|t| t.as_str().eq_ignore_ascii_case(name))
    }

    /// The first words that make a statement of this type (`WITH` aside).
    fn keywords(self) -> &'static [&'static str] {
        match self {
            Select => &["select", "values", "table"],
            Insert => &["insert"],
            Update => &["update"],
            Delete => &["delete"],
            Merge => &["merge"],
            Ddl => &["create", "alter", "drop", "truncate", "comment", "grant", "revoke", "security", "import"],
            Utility => &[
                "abort", "analyse", "analyze", "begin", "call", "checkpoint", "close", "cluster", "commit", "copy", "deallocate", "declare", "discard", "do",
                "end", "execute", "explain", "fetch", "listen", "load", "lock", "move", "notify", "prepare", "reassign", "refresh", "reindex", "release",
                "reset", "rollback", "savepoint", "set", "show", "start", "unlisten", "vacuum",
            ],
        }
    }

    /// May be the statement after `WITH`'s common table expressions.
    fn follows_with(self) -> bool {
        matches!(self, Select | Insert | Update | Delete | Merge)
    }

    fn modifies(self) -> bool {
        matches!(self, Insert | Update | Delete | Merge)
    }
}

impl fmt::Display for StatementType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Characters of a word: ASCII letters, digits and `_`, and the two that RE2's case folding
/// makes ASCII letters (`ſ` is `s`, the Kelvin sign `k`).
fn word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == 'ſ' || c == '\u{212A}'
}

/// Whitespace as RE2's `\s` has it.
fn space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0c')
}

/// `text` past whitespace, comments and, with `parens`, opening parentheses; None inside a
/// comment that does not end.
fn skip_noise(mut text: &str, parens: bool) -> Option<&str> {
    loop {
        let trimmed = text.trim_start_matches(|c| space(c) || (parens && c == '('));
        if let Some(rest) = trimmed.strip_prefix("/*") {
            text = &rest[rest.find("*/")? + 2..];
        } else if let Some(rest) = trimmed.strip_prefix("--") {
            text = &rest[rest.find('\n')? + 1..];
        } else {
            return Some(trimmed);
        }
    }
}

/// The word `text` starts with, folded to lower-case ASCII, and the rest; None when it starts
/// with no letter.
fn first_word(text: &str) -> Option<(String, &str)> {
    let end = text.find(|c| !word_char(c)).unwrap_or(text.len());
    let word = &text[..end];
    if !word.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == 'ſ' || c == '\u{212A}') {
        return None;
    }
    let folded = word.chars().map(|c| match c {
        'ſ' => 's',
        '\u{212A}' => 'k',
        c => c.to_ascii_lowercase(),
    });
    // A keyword is short: longer words are none (and are not copied whole).
    Some((folded.take(16).collect(), &text[end..]))
}

fn type_of_word(word: &str) -> Option<StatementType> {
    StatementType::ALL.into_iter().find(|t| t.keywords().contains(&word))
}

/// The types of the words after the `)`s of one text: `skip_noise` then `first_word` from many
/// places, in time linear in the text (times a log). A comment's end is looked up among the
/// ends found once, not searched for from each `)` (`)/*` repeated would be quadratic), and
/// where a run of comments leads, and the type of the word there, are kept for every place
/// already passed.
struct AfterParens<'t> {
    text: &'t str,
    block_ends: Vec<usize>,
    line_ends: Vec<usize>,
    /// Comment start -> where the noise from it ends (None: in a comment that does not end).
    runs: HashMap<usize, Option<usize>>,
    /// Word start -> its type.
    words: HashMap<usize, Option<StatementType>>,
}

impl<'t> AfterParens<'t> {
    fn new(text: &'t str) -> Self {
        let ends = |pattern: &str| text.match_indices(pattern).map(|(i, _)| i).collect();
        AfterParens { text, block_ends: ends("*/"), line_ends: ends("\n"), runs: HashMap::new(), words: HashMap::new() }
    }

    /// `skip_noise(&text[from..], false)`, as an offset into the text.
    fn skip(&mut self, from: usize) -> Option<usize> {
        let next = |ends: &[usize], from: usize| ends.get(ends.partition_point(|&e| e < from)).copied();
        let mut at = from;
        let mut passed = Vec::new();
        let end = loop {
            let rest = &self.text[at..];
            at += rest.len() - rest.trim_start_matches(space).len();
            if let Some(known) = self.runs.get(&at) {
                break *known;
            }
            let rest = &self.text[at..];
            let past = if rest.starts_with("/*") {
                next(&self.block_ends, at + 2).map(|e| e + 2)
            } else if rest.starts_with("--") {
                next(&self.line_ends, at + 2).map(|e| e + 1)
            } else {
                break Some(at);
            };
            passed.push(at);
            match past {
                Some(past) => at = past,
                None => break None,
            }
        };
        for start in passed {
            self.runs.insert(start, end);
        }
        end
    }

    /// The type of the word past the noise from `from`.
    fn type_at(&mut self, from: usize) -> Option<StatementType> {
        let start = self.skip(from)?;
        if let Some(known) = self.words.get(&start) {
            return *known;
        }
        let found = first_word(&self.text[start..]).and_then(|(word, _)| type_of_word(&word));
        self.words.insert(start, found);
        found
    }
}

/// The statement's type, or None when the text does not tell (see the module's doc).
pub fn classify(text: &str) -> Option<StatementType> {
    let (word, rest) = first_word(skip_noise(text, true)?)?;
    if word != "with" {
        return type_of_word(&word);
    }
    // Every word right after a `)` (and whitespace or comments).
    let (mut modifying, mut selects) = (None, false);
    let mut after = AfterParens::new(rest);
    for (at, _) in rest.match_indices(')') {
        match after.type_at(at + 1).filter(|t| t.follows_with()) {
            Some(Select) => selects = true,
            Some(t) => match modifying {
                None => modifying = Some(t),
                Some(other) if other != t => return None,
                Some(_) => {}
            },
            None => {}
        }
    }
    modifying.or(selects.then_some(Select))
}

/// What a text label's matchers are for the statements of some types: `=~` the first, `!~` the
/// second when there is one (RE2, anchored as Prometheus and VictoriaMetrics anchor them; to be
/// quoted). None for no types. Every statement `classify` gives one of `types` matches; so
/// does a `WITH` with two different data-modifying words among `types` (the plugin drops it).
pub fn type_matchers(types: &[StatementType]) -> Option<(String, Option<String>)> {
    if types.is_empty() {
        return None;
    }
    let words = |types: &mut dyn Iterator<Item = StatementType>| {
        let words: Vec<&str> = types.flat_map(|t| t.keywords().iter().copied()).collect();
        format!("(?i:{})", words.join("|"))
    };
    let first = words(&mut types.iter().copied());
    let after_with: Vec<StatementType> = types.iter().copied().filter(|t| t.follows_with()).collect();
    let others: Vec<StatementType> = StatementType::ALL.into_iter().filter(|t| t.modifies() && !types.contains(t)).collect();
    let mut positive = format!("(?s){NOISE}(?:{first}");
    if !after_with.is_empty() {
        positive.push_str(&format!("|{WITH}{}", words(&mut after_with.into_iter())));
    }
    positive.push_str(&format!("){END}"));
    // A WITH whose data-modifying word is another type's is that type.
    let negative = (types.iter().any(|t| t.follows_with()) && !others.is_empty()).then(|| format!("(?s){NOISE}{WITH}{}{END}", words(&mut others.into_iter())));
    Some((positive, negative))
}

/// Whitespace, block and line comments; with `(`: the start of a statement.
const NOISE: &str = r"(?:[\t\n\f\r (]|/\*(?:[^*]|\*+[^*/])*\*+/|--[^\n]*\n)*";
/// The end of a keyword: the text ends, or the next character is no word character.
const END: &str = r"(?:[^0-9A-Z_a-z\x{17F}\x{212A}].*)?";
/// `WITH`, anything, then a `)` and whitespace or comments before the next word.
const WITH: &str = r"(?i:with)(?:[^0-9A-Z_a-z\x{17F}\x{212A}].*)?\)(?:[\t\n\f\r ]|/\*(?:[^*]|\*+[^*/])*\*+/|--[^\n]*\n)*";

#[cfg(test)]
mod tests {
    use super::*;

    /// (text, type): what a DBA would call each.
    pub(super) const CASES: &[(&str, Option<StatementType>)] = &[
        ("SELECT 1", Some(Select)),
        ("select * from t where id = $1", Some(Select)),
        ("  \n\tSeLeCt 1", Some(Select)),
        ("SELECT * FROM t WHERE id = $1 FOR UPDATE", Some(Select)),
        ("SELECT * FROM t FOR UPDATE SKIP LOCKED", Some(Select)),
        ("(SELECT 1) UNION (SELECT 2)", Some(Select)),
        ("VALUES ($1), ($2)", Some(Select)),
        ("TABLE pgbench_accounts", Some(Select)),
        ("/* application='checkout',route='%2Fcart' */ SELECT abalance FROM pgbench_accounts WHERE aid = $1", Some(Select)),
        ("-- a comment\nUPDATE t SET a = $1", Some(Update)),
        ("/* one */ /* two */ -- three\n DELETE FROM t", Some(Delete)),
        ("UPDATE pgbench_tellers SET tbalance = tbalance + $1 WHERE tid = $2 /*application='checkout'*/", Some(Update)),
        ("INSERT INTO t (a, b) SELECT a, b FROM u", Some(Insert)),
        ("INSERT INTO t VALUES ($1) ON CONFLICT (id) DO UPDATE SET a = excluded.a", Some(Insert)),
        ("MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET a = s.a", Some(Merge)),
        ("WITH t AS (SELECT $1 AS x) SELECT x FROM t /* application=reports */", Some(Select)),
        ("WITH RECURSIVE t(n) AS (VALUES ($1) UNION ALL SELECT n + $2 FROM t WHERE n < $3) SELECT sum(n) FROM t", Some(Select)),
        ("WITH a AS (SELECT 1) INSERT INTO t (x) SELECT * FROM a", Some(Insert)),
        ("with moved as (delete from a where x < $1 returning *) insert into b select * from moved", Some(Insert)),
        ("WITH d AS (DELETE FROM a RETURNING *) SELECT count(*) FROM d", Some(Select)),
        ("WITH a AS MATERIALIZED (SELECT 1) UPDATE t SET x = (SELECT 1) WHERE y IN (SELECT 2)", Some(Update)),
        ("WITH a AS (SELECT 1) /* why */ DELETE FROM t", Some(Delete)),
        ("WITH a AS (SELECT 1) MERGE INTO t USING a ON true WHEN MATCHED THEN DELETE", Some(Merge)),
        ("CREATE INDEX CONCURRENTLY i ON t (a)", Some(Ddl)),
        ("alter table t add column c int", Some(Ddl)),
        ("DROP TABLE IF EXISTS t", Some(Ddl)),
        ("TRUNCATE t", Some(Ddl)),
        ("GRANT SELECT ON t TO r", Some(Ddl)),
        ("EXPLAIN ANALYZE SELECT 1", Some(Utility)),
        ("EXPLAIN (ANALYZE, BUFFERS) UPDATE t SET a = 1", Some(Utility)),
        ("COPY t FROM STDIN", Some(Utility)),
        ("copy pgbench_accounts from stdin with (freeze on)", Some(Utility)),
        ("BEGIN", Some(Utility)),
        ("COMMIT", Some(Utility)),
        ("START TRANSACTION ISOLATION LEVEL SERIALIZABLE", Some(Utility)),
        ("SET search_path = public", Some(Utility)),
        ("SHOW work_mem", Some(Utility)),
        ("VACUUM ANALYZE pgbench_accounts", Some(Utility)),
        ("vacuum analyze pgbench_branches", Some(Utility)),
        ("CALL p($1)", Some(Utility)),
        ("DO $$ BEGIN END $$", Some(Utility)),
        // Never a guess.
        ("", None),
        ("   ", None),
        ("queryid -4733054171989341815", None),
        ("hot path", None),
        ("SELECTED 1", None),
        ("select_all()", None),
        ("/* a comment that does not end SELECT 1", None),
        ("-- a line comment and nothing else SELECT 1", None),
        ("WITH t AS (SELECT 1 FROM big WHERE a = $1 AND b = …", None),
        ("WITH a AS (INSERT INTO t (x) VALUES (1) RETURNING *) UPDATE u SET y = 1 FROM (SELECT 1) s) DELETE FROM v", None),
        ("1 SELECT", None),
        ("$1", None),
        ("(((", None),
        ("ſelect 1", Some(Select)),
        ("ſelectſ 1", None),
    ];

    #[test]
    fn statements_have_the_type_their_text_says() {
        for (text, expected) in CASES {
            assert_eq!(classify(text), *expected, "{text:?}");
        }
    }

    #[test]
    fn types_parse_any_case_and_print_as_the_column_has_them() {
        assert_eq!(StatementType::parse("select"), Some(Select));
        assert_eq!(StatementType::parse("UTILITY"), Some(Utility));
        assert_eq!(StatementType::parse("ddl").map(|t| t.to_string()), Some("DDL".into()));
        assert_eq!(StatementType::parse("query"), None);
    }

    #[test]
    fn hostile_texts_never_panic_and_take_linear_time() {
        let long = "/*".repeat(200_000);
        assert_eq!(classify(&long), None);
        let parens = format!("WITH {}", ")".repeat(200_000));
        let started = std::time::Instant::now();
        assert_eq!(classify(&parens), None);
        let mut nested = String::from("WITH a AS (SELECT 1) ");
        nested.push_str(&") SELECT ".repeat(50_000));
        assert_eq!(classify(&nested), Some(Select));
        // A comment opened after every `)`: each used to search the rest of the text for its end.
        assert_eq!(classify(&format!("WITH {}", ")/*".repeat(100_000))), None);
        assert_eq!(classify(&format!("WITH {} */ INSERT", ")/*".repeat(100_000))), Some(Insert));
        assert_eq!(classify(&format!("WITH {}", ")--".repeat(100_000))), None);
        // Comments chained after every `)`, each `)` inside the one before.
        assert_eq!(classify(&format!("WITH a AS (SELECT 1) {}UPDATE", "/*)/* */ ".repeat(50_000))), Some(Update));
        // Linear: under a second idle, 3.5 s in a debug build beside benchmarks on 2 cores. The
        // quadratic scan this guards against took 16 s for one of these texts in a release build.
        assert!(started.elapsed() < std::time::Duration::from_secs(15), "{:?}", started.elapsed());
        for text in ["\u{0}", "/*/", "--", "-", "/", "WITH", "WITH)", "WITH)INSERT", "é", "ΣELECT", "\u{FEFF}SELECT 1", "SELECT\u{0}", "🦀 SELECT"] {
            let _ = classify(text);
        }
        assert_eq!(classify("WITH)INSERT"), Some(Insert));
    }
}

/// The regexes against `classify`, with Rust's regex crate (RE2's syntax and semantics for
/// what they use), anchored as Prometheus anchors label regexes.
#[cfg(test)]
mod regex_tests {
    use super::*;

    fn anchored(re: &str) -> regex::Regex {
        regex::Regex::new(&format!("^(?:{re})$")).unwrap()
    }

    /// Every set of types: a text matches the set's matchers exactly when `classify` gives one
    /// of its types, except a WITH with two data-modifying words both in the set (no type).
    fn check(texts: &[String]) {
        for bits in 1u32..(1 << StatementType::ALL.len()) {
            let types: Vec<StatementType> = StatementType::ALL.into_iter().enumerate().filter(|(i, _)| bits & (1 << i) != 0).map(|(_, t)| t).collect();
            let (positive, negative) = type_matchers(&types).unwrap();
            let (positive, negative) = (anchored(&positive), negative.map(|n| anchored(&n)));
            for text in texts {
                let matched = positive.is_match(text) && !negative.as_ref().is_some_and(|n| n.is_match(text));
                let kept = classify(text).is_some_and(|t| types.contains(&t));
                if matched && !kept {
                    // A WITH followed by two data-modifying words of the set.
                    let after_with = |t: &StatementType| types.contains(t) && t.modifies() && anchored(&type_matchers(&[*t]).unwrap().0).is_match(text);
                    let modifying = StatementType::ALL.iter().filter(|t| after_with(t)).count();
                    assert!(classify(text).is_none() && modifying >= 2, "{types:?} {text:?}: the regexes keep more than a WITH of two types");
                } else {
                    assert_eq!(matched, kept, "{types:?} {text:?}");
                }
            }
        }
    }

    #[test]
    fn regexes_select_what_classify_gives_for_the_cases() {
        let texts: Vec<String> = super::tests::CASES.iter().map(|(t, _)| t.to_string()).collect();
        check(&texts);
    }

    /// Texts made of pieces that matter to the rule, in every order a seeded generator gives.
    #[test]
    fn regexes_select_what_classify_gives_for_generated_texts() {
        const PIECES: &[&str] = &[
            " ", "\n", "\t", "(", ")", "/*", "*/", "*", "/", "-", "--", "x", "_", "1", "$1", ",", "'", "é", "ſ", "\u{212A}", "K", "ı", "\u{0}",
            "select", "SELECT", "insert", "Update", "delete", "merge", "with", "WITH", "values", "table", "create", "explain", "set", "vacuum", "as", "from",
        ];
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        // Half start with WITH and hold more `)` and statement words.
        const AFTER_WITH: &[&str] = &[")", ") ", ")\n", " ", "/*", "*/", "--", "\n", "(", "x", "ſ", "\u{212A}", "select", "insert", "update", "delete", "merge", "values", "table", "withx"];
        let texts: Vec<String> = (0..3000)
            .map(|i| {
                let (start, pieces) = if i % 2 == 0 { ("", PIECES) } else { (["with ", "WITH a AS (", " (with", "/* c */with"][i % 4], AFTER_WITH) };
                let len = 1 + next() % 9;
                let mut text = start.to_string();
                text.extend((0..len).map(|_| pieces[(next() % pieces.len() as u64) as usize]));
                text
            })
            .collect();
        // The generator reaches the rule's cases: WITH read on to a type, and texts of no type.
        let with_typed = texts.iter().filter(|t| classify(t).is_some() && skip_noise(t, true).and_then(first_word).is_some_and(|(w, _)| w == "with")).count();
        let untyped = texts.iter().filter(|t| classify(t).is_none()).count();
        assert!(with_typed >= 20 && untyped >= 300, "{with_typed} WITH with a type, {untyped} of no type");
        check(&texts);
    }
}

