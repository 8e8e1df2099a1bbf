//! Alert annotation and label templates, checked as Go's text/template parses them: actions
//! `{{ }}` with trim markers, comments, pipelines, variables (declared before use, scoped by
//! blocks), fields, if/range/with/else/end, define/template/block, break/continue, and
//! functions: Go's builtins plus those Prometheus and vmalert define. Grafana-managed rules are
//! checked the way Grafana expands them: `$values.<refId>` must name one of the rule's queries
//! and `$value` is a string there (the evaluation text), so using it as a number is a mistake.
//! Pure; a problem is `(line within the template, message)`.

/// Which expander renders the template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Flavour {
    /// Prometheus or vmalert: `$labels`, `$externalLabels`, `$externalURL`, `$value` (a number),
    /// and vmalert's `$expr`, `$for`, `$alertID`, `$groupID`, `$activeAt`.
    Prometheus,
    /// Grafana-managed alerting: `$labels`, `$values`, `$value` (a string); the rule's refIds.
    Grafana { ref_ids: Vec<String> },
}

const GO_BUILTINS: &[&str] =
    &["and", "call", "html", "index", "slice", "js", "len", "not", "or", "print", "printf", "println", "urlquery", "eq", "ge", "gt", "le", "lt", "ne"];

/// Prometheus's template functions (template/template.go), vmalert's additions and Grafana's.
const TEMPLATE_FUNCS: &[&str] = &[
    "query", "first", "label", "value", "strvalue", "sortByLabel", "humanize", "humanize1024", "humanizeDuration",
    "humanizePercentage", "humanizeTimestamp", "toTime", "toDuration", "now", "title", "toUpper", "toLower", "match",
    "reReplaceAll", "graphLink", "tableLink", "args", "safeHtml", "externalURL", "pathPrefix", "parseDuration", "stripPort",
    "stripDomain", "pathEscape", "queryEscape", "quotesEscape", "jsonEscape", "htmlEscape", "crlfEscape", "parseDurationTime",
    "humanizeBytes", "formatTime", "trimSpace", "join",
];

const NUMBER_FUNCS: &[&str] = &["humanize", "humanize1024", "humanizeDuration", "humanizePercentage", "humanizeTimestamp", "toTime"];

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Field,
    Var(String, Vec<String>),
    Literal,
    Pipe,
    Open,
    Close,
    Declare,
    Assign,
    Comma,
}

/// Every problem of `text` as `flavour` renders it.
pub fn check(text: &str, flavour: &Flavour) -> Vec<(usize, String)> {
    let mut checker = Checker { flavour, problems: Vec::new(), scopes: vec![predeclared(flavour)], blocks: Vec::new() };
    let mut rest = text;
    let mut line = 1;
    while let Some(start) = rest.find("{{") {
        line += rest[..start].matches('\n').count();
        let action_start = &rest[start + 2..];
        let Some(end) = action_end(action_start) else {
            checker.problems.push((line, "unclosed action: `{{` without `}}`".into()));
            return checker.problems;
        };
        let inner = &action_start[..end];
        checker.action(inner, line);
        line += inner.matches('\n').count();
        rest = &action_start[end + 2..];
    }
    for (kind, opened) in checker.blocks.iter().rev() {
        checker.problems.push((*opened, format!("unclosed {{{{{kind}}}}}: no {{{{end}}}} for it")));
    }
    checker.problems
}

fn predeclared(flavour: &Flavour) -> Vec<String> {
    let names: &[&str] = match flavour {
        // Prometheus's, and vmalert's additions ($expr, $for, $alertID, $groupID, $activeAt).
        Flavour::Prometheus => &["$", "$labels", "$externalLabels", "$externalURL", "$value", "$expr", "$for", "$alertID", "$groupID", "$activeAt"],
        Flavour::Grafana { .. } => &["$", "$labels", "$values", "$value"],
    };
    names.iter().map(|n| n.to_string()).collect()
}

/// The offset of the `}}` closing an action (outside strings and comments).
fn action_end(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' | b'\'' => {
                let (start, quote) = (i, bytes[i]);
                i += 1;
                while i < bytes.len() && bytes[i] != quote && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                if i >= bytes.len() || bytes[i] != quote {
                    // Unterminated: the action ends at the next `}}`; the tokenizer says why.
                    return text[start..].find("}}").map(|at| start + at);
                }
                i += 1;
            }
            b'`' => i += 1 + text[i + 1..].find('`')? + 1,
            b'/' if bytes.get(i + 1) == Some(&b'*') => i += 2 + text[i + 2..].find("*/")? + 2,
            b'}' if bytes.get(i + 1) == Some(&b'}') => return Some(i),
            _ => i += 1,
        }
    }
    None
}

struct Checker<'a> {
    flavour: &'a Flavour,
    problems: Vec<(usize, String)>,
    scopes: Vec<Vec<String>>,
    /// Open blocks: (keyword, line).
    blocks: Vec<(&'static str, usize)>,
}

impl Checker<'_> {
    fn action(&mut self, inner: &str, line: usize) {
        let mut body = inner;
        if let Some(stripped) = body.strip_prefix('-') {
            if stripped.starts_with(char::is_whitespace) {
                body = stripped;
            }
        }
        if let Some(stripped) = body.strip_suffix('-') {
            if stripped.ends_with(char::is_whitespace) {
                body = stripped;
            }
        }
        let trimmed = body.trim();
        if trimmed.starts_with("/*") {
            if !trimmed.ends_with("*/") {
                self.problems.push((line, "a comment must end the action: `{{/* ... */}}`".into()));
            }
            return;
        }
        let tokens = match tokenize(trimmed) {
            Ok(tokens) => tokens,
            Err(message) => {
                self.problems.push((line, message));
                return;
            }
        };
        if tokens.is_empty() {
            self.problems.push((line, "missing value for command: empty action `{{ }}`".into()));
            return;
        }
        let keyword = match &tokens[0] {
            Token::Word(w) => w.as_str(),
            _ => "",
        };
        match keyword {
            "if" | "range" | "with" => {
                let kind = match keyword {
                    "if" => "if",
                    "range" => "range",
                    _ => "with",
                };
                self.blocks.push((kind, line));
                self.scopes.push(Vec::new());
                self.pipeline(&tokens[1..], line, keyword == "range");
            }
            "else" => match self.blocks.last() {
                Some((kind, _)) if *kind != "define" && *kind != "block" => {
                    self.scopes.pop();
                    self.scopes.push(Vec::new());
                    match tokens.get(1) {
                        Some(Token::Word(w)) if w == "if" || w == "with" => self.pipeline(&tokens[2..], line, false),
                        Some(_) => self.problems.push((line, "unexpected words after {{else}}".into())),
                        None => {}
                    }
                }
                _ => self.problems.push((line, "unexpected {{else}}: no {{if}}, {{range}} or {{with}} is open".into())),
            },
            "end" => {
                if tokens.len() > 1 {
                    self.problems.push((line, "unexpected words after {{end}}".into()));
                }
                if self.blocks.pop().is_none() {
                    self.problems.push((line, "unexpected {{end}}: nothing is open".into()));
                } else {
                    self.scopes.pop();
                }
            }
            "define" | "block" => {
                if !matches!(tokens.get(1), Some(Token::Literal)) {
                    self.problems.push((line, format!("{{{{{keyword}}}}} needs a quoted template name")));
                }
                if keyword == "block" {
                    self.pipeline(&tokens[2..], line, false);
                }
                self.blocks.push((if keyword == "define" { "define" } else { "block" }, line));
                self.scopes.push(vec!["$".into()]);
            }
            "template" => {
                if !matches!(tokens.get(1), Some(Token::Literal)) {
                    self.problems.push((line, "{{template}} needs a quoted template name".into()));
                }
                if tokens.len() > 2 {
                    self.pipeline(&tokens[2..], line, false);
                }
            }
            "break" | "continue" => {
                if !self.blocks.iter().any(|(kind, _)| *kind == "range") {
                    self.problems.push((line, format!("{{{{{keyword}}}}} outside {{{{range}}}}")));
                }
            }
            _ => self.pipeline(&tokens, line, false),
        }
    }

    fn declared(&self, name: &str) -> bool {
        self.scopes.iter().any(|scope| scope.iter().any(|n| n == name))
    }

    /// A pipeline, with its optional `$x :=` / `$x =` / `$i, $e :=` head.
    fn pipeline(&mut self, tokens: &[Token], line: usize, range: bool) {
        let mut tokens = tokens;
        let declare_at = tokens.iter().position(|t| matches!(t, Token::Declare | Token::Assign));
        if let Some(at) = declare_at {
            let head = &tokens[..at];
            let names: Vec<&String> = head.iter().filter_map(|t| if let Token::Var(n, f) = t { f.is_empty().then_some(n) } else { None }).collect();
            let commas = head.iter().filter(|t| **t == Token::Comma).count();
            let well_formed = !names.is_empty() && names.len() == commas + 1 && names.len() + commas == head.len();
            if !well_formed || (names.len() == 2 && !range) || names.len() > 2 {
                self.problems.push((line, "bad variable declaration".into()));
            } else if tokens[at] == Token::Assign {
                for name in &names {
                    if !self.declared(name) {
                        self.problems.push((line, format!("undefined variable {name}")));
                    }
                }
            } else if let Some(scope) = self.scopes.last_mut() {
                scope.extend(names.into_iter().cloned());
            }
            tokens = &tokens[at + 1..];
        }
        if tokens.is_empty() {
            self.problems.push((line, "missing value for command".into()));
            return;
        }
        let mut depth = 0i32;
        for token in tokens {
            match token {
                Token::Open => depth += 1,
                Token::Close => {
                    depth -= 1;
                    if depth < 0 {
                        self.problems.push((line, "unexpected `)`".into()));
                        return;
                    }
                }
                _ => {}
            }
        }
        if depth != 0 {
            self.problems.push((line, "unclosed `(`".into()));
            return;
        }
        let mut previous_command: Vec<&Token> = Vec::new();
        for command in split_commands(tokens) {
            if command.is_empty() {
                self.problems.push((line, "missing command in pipeline (`|` with nothing on one side)".into()));
                continue;
            }
            self.command(&command, &previous_command, line);
            previous_command = command;
        }
    }

    fn command(&mut self, command: &[&Token], previous: &[&Token], line: usize) {
        for token in command {
            match token {
                Token::Word(word) if matches!(word.as_str(), "true" | "false" | "nil") => {}
                Token::Word(word) if !GO_BUILTINS.contains(&word.as_str()) && !TEMPLATE_FUNCS.contains(&word.as_str()) => {
                    let hint = if word.contains('_') { " (a metric name? templates cannot read metrics: use `query`)" } else { "" };
                    self.problems.push((line, format!("function \"{word}\" not defined{hint}")));
                }
                Token::Var(name, fields) => {
                    if !self.declared(name) {
                        self.problems.push((line, format!("undefined variable {name}")));
                    }
                    if let Flavour::Grafana { ref_ids } = self.flavour {
                        if name == "$values" {
                            if let Some(ref_id) = fields.first() {
                                if !ref_ids.contains(ref_id) {
                                    self.problems.push((
                                        line,
                                        format!("$values.{ref_id}: the rule has no query or expression {ref_id} (it has {})", ref_ids.join(", ")),
                                    ));
                                }
                            }
                        }
                    }
                }
                Token::Declare | Token::Assign | Token::Comma => self.problems.push((line, "unexpected `:=`, `=` or `,` in a command".into())),
                _ => {}
            }
        }
        if matches!(self.flavour, Flavour::Grafana { .. }) {
            let is_value = |t: &&Token| matches!(t, Token::Var(n, f) if n == "$value" && f.is_empty());
            let function = match command.first() {
                Some(Token::Word(w)) => w.as_str(),
                _ => "",
            };
            let numeric = NUMBER_FUNCS.contains(&function)
                || (function == "printf" && command.iter().any(|t| matches!(t, Token::Literal)) && command.iter().skip(2).any(is_value));
            let piped_value = previous.len() == 1 && is_value(&previous[0]);
            if numeric && (command.iter().skip(1).any(is_value) || piped_value) {
                self.problems.push((
                    line,
                    format!(
                        "{function} of $value: in a Grafana-managed rule $value is the evaluation string \
                         (\"[ var='A' labels={{...}} value=... ]\"), not a number; use $values.<refId>.Value"
                    ),
                ));
            }
        }
    }
}

/// Commands of a pipeline, split at top-level `|`.
fn split_commands(tokens: &[Token]) -> Vec<Vec<&Token>> {
    let mut out = vec![Vec::new()];
    let mut depth = 0;
    for token in tokens {
        match token {
            Token::Open => depth += 1,
            Token::Close => depth -= 1,
            Token::Pipe if depth == 0 => {
                out.push(Vec::new());
                continue;
            }
            _ => {}
        }
        if let Some(last) = out.last_mut() {
            last.push(token);
        }
    }
    out
}

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    let word_char = |c: char| c.is_alphanumeric() || c == '_';
    while i < chars.len() {
        let c = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '|' => {
                tokens.push(Token::Pipe);
                i += 1;
            }
            '(' => {
                tokens.push(Token::Open);
                i += 1;
            }
            ')' => {
                tokens.push(Token::Close);
                i += 1;
                // A field of a parenthesised value: `(index $x 0).Name`.
                while i < chars.len() && chars[i] == '.' {
                    i += 1;
                    while i < chars.len() && word_char(chars[i]) {
                        i += 1;
                    }
                }
            }
            ',' => {
                tokens.push(Token::Comma);
                i += 1;
            }
            ':' if chars.get(i + 1) == Some(&'=') => {
                tokens.push(Token::Declare);
                i += 2;
            }
            '=' => {
                tokens.push(Token::Assign);
                i += 1;
            }
            '"' | '\'' => {
                let quote = c;
                i += 1;
                loop {
                    match chars.get(i) {
                        None | Some('\n') => return Err(format!("unterminated {} literal", if quote == '"' { "string" } else { "character" })),
                        Some('\\') => i += 2,
                        Some(ch) if *ch == quote => break,
                        Some(_) => i += 1,
                    }
                }
                i += 1;
                tokens.push(Token::Literal);
            }
            '`' => {
                let Some(end) = chars[i + 1..].iter().position(|ch| *ch == '`') else { return Err("unterminated raw string".into()) };
                i += end + 2;
                tokens.push(Token::Literal);
            }
            '.' => {
                i += 1;
                while i < chars.len() && (word_char(chars[i]) || chars[i] == '.') {
                    i += 1;
                }
                tokens.push(Token::Field);
            }
            '$' => {
                let start = i;
                i += 1;
                while i < chars.len() && word_char(chars[i]) {
                    i += 1;
                }
                let name: String = chars[start..i].iter().collect();
                let mut fields = Vec::new();
                while i < chars.len() && chars[i] == '.' {
                    let field_start = i + 1;
                    i += 1;
                    while i < chars.len() && word_char(chars[i]) {
                        i += 1;
                    }
                    fields.push(chars[field_start..i].iter().collect());
                }
                tokens.push(Token::Var(name, fields));
            }
            c if c.is_ascii_digit() || ((c == '-' || c == '+') && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit())) => {
                i += 1;
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || matches!(chars[i], '.' | '_' | '+' | '-')) {
                    i += 1;
                }
                tokens.push(Token::Literal);
            }
            c if c.is_alphabetic() || c == '_' => {
                let start = i;
                while i < chars.len() && word_char(chars[i]) {
                    i += 1;
                }
                tokens.push(Token::Word(chars[start..i].iter().collect()));
                // `foo.Bar` (a method chain on a function's result) is not in these templates.
            }
            other => return Err(format!("unexpected {other:?} in action")),
        }
    }
    Ok(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prom(text: &str) -> Vec<(usize, String)> {
        check(text, &Flavour::Prometheus)
    }

    fn grafana(text: &str) -> Vec<(usize, String)> {
        check(text, &Flavour::Grafana { ref_ids: vec!["A".into(), "B".into()] })
    }

    #[test]
    fn valid_templates_pass() {
        for text in [
            "{{ $labels.job }} target {{ $labels.instance }} is down",
            "{{ $value | humanizePercentage }} of {{ humanize $value }}",
            "{{- if gt $value 1.0 -}} high {{- else if eq $value 0.0 }} zero {{ else }} low {{ end -}}",
            "{{ range $i, $e := query \"up\" }}{{ $e.Labels.job }}: {{ .Value | humanize }}{{ end }}",
            "{{ with query \"up\" }}{{ . | first | value | humanize }}{{ end }}",
            "{{/* a comment */}}{{ define \"x\" }}{{ . }}{{ end }}{{ template \"x\" $labels }}",
            "{{ $x := 1 }}{{ $x = 2 }}{{ printf \"%.2f\" $value }} {{ `raw` }} {{ (index $labels \"job\") }}",
            "{{ reReplaceAll \"(.*):.*\" \"$1\" $labels.instance | toUpper }} {{ externalURL }}",
            "no actions at all",
        ] {
            assert!(prom(text).is_empty(), "{text}: {:?}", prom(text));
        }
        assert!(grafana("{{ $values.A.Value | humanizePercentage }} on {{ $labels.instance }}").is_empty());
    }

    #[test]
    fn broken_templates_are_found_with_their_line() {
        let cases: &[(&str, usize, &str)] = &[
            ("{{ patroni_postgres_timeline }}", 1, "function \"patroni_postgres_timeline\" not defined (a metric name?"),
            ("line one\n{{ $labels.job ", 2, "unclosed action"),
            ("a\nb\n{{ end }}", 3, "unexpected {{end}}"),
            ("{{ if $value }}\nx", 1, "unclosed {{if}}"),
            ("{{ $nope }}", 1, "undefined variable $nope"),
            ("{{ humanize (($value) }}", 1, "unclosed `(`"),
            ("{{ \"abc }}", 1, "unterminated string"),
            ("{{ else }}", 1, "unexpected {{else}}"),
            ("{{ $value | | humanize }}", 1, "missing command in pipeline"),
            ("{{ break }}", 1, "outside {{range}}"),
            ("{{ }}", 1, "empty action"),
        ];
        for (text, line, message) in cases {
            let problems = prom(text);
            assert!(problems.iter().any(|(l, m)| l == line && m.contains(message)), "{text}: {problems:?}");
        }
    }

    #[test]
    fn no_input_panics_the_checker() {
        let pieces = ["{{", "}}", "{{-", "-}}", "\"", "'", "`", "/*", "*/", "$", "$x", ".", "|", "(", ")", ":=", "=", ",", "if", "end", "else", "range", "é", "\\", "\n", " ", "1", "-"];
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..20_000 {
            let mut text = String::new();
            for _ in 0..(state % 12) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                text.push_str(pieces[(state % pieces.len() as u64) as usize]);
            }
            let _ = check(&text, &Flavour::Prometheus);
            let _ = check(&text, &Flavour::Grafana { ref_ids: vec![] });
        }
    }

    #[test]
    fn grafana_rules_expand_differently() {
        assert!(grafana("{{ $values.C.Value }}")[0].1.contains("the rule has no query or expression C (it has A, B)"));
        assert!(grafana("{{ humanize $value }}")[0].1.contains("$value is the evaluation string"));
        assert!(grafana("{{ $value | humanizePercentage }}")[0].1.contains("not a number"));
        assert!(grafana("{{ printf \"%.1f\" $value }}")[0].1.contains("not a number"));
        assert!(grafana("{{ $value }}").is_empty(), "printing the string is fine");
        assert!(grafana("{{ $externalURL }}")[0].1.contains("undefined variable"));
        assert!(prom("{{ $values.A.Value }}")[0].1.contains("undefined variable $values"));
    }
}
