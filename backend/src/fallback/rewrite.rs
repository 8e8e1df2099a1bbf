//! The entry point: parse, walk, print, with the safety caps (rewrites per query, output
//! length, the output must parse again); anything else is sent exactly as written.

use promql_parser::parser::{self, Expr, ParenExpr};

use super::guard::{complexity, within_stack};
use super::walk::Walker;
use super::{Note, Reason, Rewrite, Rules};

/// Rewrites every fragile info join of `query` per `rules`. Pure; never panics, and a query
/// beyond `guard`'s bounds is sent as written, with a note saying why.
pub fn rewrite(query: &str, rules: &Rules) -> Rewrite {
    let not_analysed = |why: &str| Rewrite {
        query: query.to_string(),
        changed: false,
        fallbacks: vec![],
        notes: vec![Note { reason: Reason::NotAnalysed, text: format!("not analysed ({why}): sent as written, without a fallback") }],
    };
    match complexity(query) {
        Err(why) => not_analysed(&why),
        Ok(complexity) => within_stack(complexity, || rewrite_within_bounds(query, rules)).unwrap_or_else(|| not_analysed("the rewrite failed on this query")),
    }
}

fn rewrite_within_bounds(query: &str, rules: &Rules) -> Rewrite {
    let unchanged = |notes: Vec<Note>| Rewrite { query: query.to_string(), changed: false, fallbacks: vec![], notes };
    let ast = match parser::parse(query) {
        Ok(ast) => ast,
        Err(error) => {
            return unchanged(vec![Note {
                reason: Reason::NotAnalysed,
                text: format!(
                    "not analysed ({}): sent as written, without a fallback",
                    first_line(&error)
                ),
            }])
        }
    };
    let mut walker = Walker { rules, notes: vec![], fallbacks: vec![] };
    let rewritten = walker.walk(&ast, &[]);
    if walker.fallbacks.is_empty() {
        return unchanged(walker.notes);
    }
    // Our own parentheses around a rewritten root are not needed.
    let root = match (&ast, rewritten) {
        (Expr::Paren(_), rewritten) => rewritten,
        (_, Expr::Paren(ParenExpr { expr })) => *expr,
        (_, rewritten) => rewritten,
    };
    let text = root.to_string();
    let abandon = |walker: Walker, why: String| {
        let mut notes: Vec<Note> = walker.notes.into_iter().filter(|n| n.reason != Reason::Rewritten).collect();
        notes.push(Note { reason: Reason::Abandoned, text: why });
        unchanged(notes)
    };
    if text.len() > rules.max_output_len {
        let why = format!("rewrite abandoned: the result would be {} characters (limit {}); sent as written", text.len(), rules.max_output_len);
        return abandon(walker, why);
    }
    if let Err(error) = parser::parse(&text) {
        let why = format!("rewrite abandoned: the result did not parse ({}); sent as written", first_line(&error));
        return abandon(walker, why);
    }
    Rewrite { query: text, changed: true, fallbacks: walker.fallbacks, notes: walker.notes }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn rules() -> Rules {
        Rules::default()
    }

    #[test]
    fn the_incident_query_gets_topk_outside_the_or() {
        let query = "topk(5, irate(pgwatch_pg_stat_statements_calls{cluster=\"prod\"}[1m])) * on(queryid) group_left(displayname, query) pgwatch_query_info";
        let out = rewrite(query, &rules());
        assert!(out.changed);
        assert_eq!(
            out.query,
            "topk(5, (irate(pgwatch_pg_stat_statements_calls{cluster=\"prod\"}[1m]) * on (queryid) group_left (displayname, query) pgwatch_query_info) \
             or ignoring (displayname, query, __info_fallback) label_replace(irate(pgwatch_pg_stat_statements_calls{cluster=\"prod\"}[1m]), \
             \"__info_fallback\", \"$1,pgwatch_query_info\", \"__info_fallback\", \"(.*)\"))"
        );
        assert_eq!(out.fallbacks[0].join_keys, ["queryid"]);
        assert_eq!(out.notes[0].reason, Reason::Rewritten);
    }

    #[test]
    fn a_second_pass_changes_nothing() {
        let once = rewrite("rate(x[5m]) * on(queryid) group_left(displayname) pgss_query_info", &rules());
        let twice = rewrite(&once.query, &rules());
        assert!(!twice.changed, "{}", twice.query);
        assert_eq!(twice.notes[0].reason, Reason::AlreadyHasFallback);
    }

    #[test]
    fn unparseable_queries_pass_through() {
        let out = rewrite("sum(rate(x[5m])", &rules());
        assert_eq!((out.query.as_str(), out.changed), ("sum(rate(x[5m])", false));
        assert_eq!(out.notes[0].reason, Reason::NotAnalysed);
    }

    #[test]
    fn sticky_names_join_against_last_over_time() {
        let rules = Rules { sticky_window: Some(Duration::from_secs(3600)), ..rules() };
        let out = rewrite("rate(x[5m]) * on(queryid) group_left(displayname) pgss_query_info", &rules);
        assert!(out.query.contains("group_left (displayname) last_over_time(pgss_query_info[1h])"), "{}", out.query);
    }

    #[test]
    fn caps_abandon_the_rewrite() {
        let query = "rate(x[5m]) * on(queryid) group_left(displayname) pgss_query_info";
        let out = rewrite(query, &Rules { max_output_len: 20, ..rules() });
        assert_eq!((out.query.as_str(), out.changed), (query, false));
        assert_eq!(out.notes.last().unwrap().reason, Reason::Abandoned);
        let out = rewrite(query, &Rules { max_rewrites: 0, ..rules() });
        assert!(!out.changed);
        assert_eq!(out.notes[0].reason, Reason::Abandoned);
    }

    #[test]
    fn a_hoisted_topk_keeps_its_binary_data_side_grouped() {
        // Found by the property test: without parentheses the printed join regrouped.
        let query = "pgss_query_info * on(queryid) group_right(displayname) topk(1, a + on() group_right() b)";
        let out = rewrite(query, &rules());
        assert!(out.query.contains("group_right (displayname) (a + on () group_right () b)"), "{}", out.query);
        assert!(!rewrite(&out.query, &rules()).changed);
    }

    #[test]
    fn unchanged_queries_keep_their_exact_text() {
        let query = "sum(rate(pg_stat_statements_calls_total[1m0s])) by (job)   # a comment";
        assert_eq!(rewrite(query, &rules()).query, query);
    }
}
