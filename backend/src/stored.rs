//! Queries stored in files: dashboard JSON (every panel target's `expr`, rows and nested panels
//! included) and Prometheus/vmalert rule files (`groups[].rules[].expr`); and `fix`, which
//! rewrites the `expr` values of a dashboard while leaving every other byte of the file as it
//! was. Not for: judging the queries (see `lint`, `fallback`).

use serde_json::Value;

use crate::fallback::{self, Rules};
use crate::promql::templating;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredQuery {
    /// Where it is, for messages: `panel 3 "Calls/s" target A`, `group pgss rule HighCalls`.
    pub location: String,
    pub expr: String,
}

/// Every target expression of a dashboard (the file's JSON, or `{"dashboard": ...}`).
pub fn dashboard_queries(json: &Value) -> Vec<StoredQuery> {
    let dashboard = if json.get("dashboard").is_some() { &json["dashboard"] } else { json };
    let mut out = Vec::new();
    let mut panels: Vec<&Value> = dashboard["panels"].as_array().into_iter().flatten().collect();
    // Legacy rows: {"rows": [{"panels": [...]}]}.
    for row in dashboard["rows"].as_array().into_iter().flatten() {
        panels.extend(row["panels"].as_array().into_iter().flatten());
    }
    while let Some(panel) = panels.pop() {
        panels.extend(panel["panels"].as_array().into_iter().flatten());
        for target in panel["targets"].as_array().into_iter().flatten() {
            if let Some(expr) = target["expr"].as_str() {
                out.push(StoredQuery {
                    location: format!(
                        "panel {} {:?} target {}",
                        panel["id"].as_i64().unwrap_or_default(),
                        panel["title"].as_str().unwrap_or_default(),
                        target["refId"].as_str().unwrap_or("?")
                    ),
                    expr: expr.to_string(),
                });
            }
        }
    }
    out.sort_by(|a, b| a.location.cmp(&b.location));
    out
}

/// Every rule expression of a Prometheus/vmalert rule file.
pub fn rule_queries(yaml: &str) -> Result<Vec<StoredQuery>, String> {
    let doc: serde_yaml::Value = serde_yaml::from_str(yaml).map_err(|e| format!("not a rule file: {e}"))?;
    let groups = doc.get("groups").and_then(|g| g.as_sequence()).ok_or("not a rule file: no `groups:` list")?;
    let mut out = Vec::new();
    for group in groups {
        let group_name = group.get("name").and_then(|n| n.as_str()).unwrap_or("?");
        for rule in group.get("rules").and_then(|r| r.as_sequence()).into_iter().flatten() {
            let name = rule.get("alert").or_else(|| rule.get("record")).or_else(|| rule.get("title")).and_then(|n| n.as_str()).unwrap_or("?");
            if let Some(expr) = rule.get("expr").and_then(|e| e.as_str()) {
                out.push(StoredQuery { location: format!("group {group_name} rule {name}"), expr: expr.to_string() });
            }
            // Grafana-managed rules (provisioning/alerting): the queries are `data[].model.expr`;
            // server-side expressions (`__expr__`) are not PromQL.
            for query in rule.get("data").and_then(|d| d.as_sequence()).into_iter().flatten() {
                if query.get("datasourceUid").and_then(|u| u.as_str()) == Some("__expr__") {
                    continue;
                }
                if let Some(expr) = query.get("model").and_then(|m| m.get("expr")).and_then(|e| e.as_str()) {
                    let ref_id = query.get("refId").and_then(|r| r.as_str()).unwrap_or("?");
                    out.push(StoredQuery { location: format!("group {group_name} rule {name} query {ref_id}"), expr: expr.to_string() });
                }
            }
        }
    }
    Ok(out)
}

/// Rewrites one stored query, keeping its dashboard variables and macros. None: unchanged.
pub fn fix_query(expr: &str, rules: &Rules) -> Option<String> {
    let protected = templating::protect(expr);
    let out = fallback::rewrite(&protected.text, rules);
    out.changed.then(|| protected.restore(&out.query))
}

/// A change `fix` made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fixed {
    pub before: String,
    pub after: String,
}

/// Rewrites the value of every `"expr"` member in a dashboard's JSON text; all other bytes stay.
pub fn fix_dashboard(text: &str, rules: &Rules) -> Result<(String, Vec<Fixed>), String> {
    serde_json::from_str::<Value>(text).map_err(|e| format!("not JSON: {e}"))?;
    let mut out = String::with_capacity(text.len());
    let mut fixed = Vec::new();
    let mut copied_to = 0;
    let mut last_key_is_expr = false;
    let mut expect_value = false;
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                let end = string_end(bytes, i).ok_or("unterminated string")?;
                let token = &text[i..end];
                let value: String = serde_json::from_str(token).map_err(|e| format!("bad string at byte {i}: {e}"))?;
                let next = text[end..].trim_start().as_bytes().first().copied();
                if next == Some(b':') && !expect_value {
                    last_key_is_expr = value == "expr";
                } else if expect_value && last_key_is_expr {
                    if let Some(after) = fix_query(&value, rules) {
                        out.push_str(&text[copied_to..i]);
                        out.push_str(&serde_json::to_string(&after).map_err(|e| e.to_string())?);
                        copied_to = end;
                        fixed.push(Fixed { before: value, after });
                    }
                }
                expect_value = false;
                i = end;
            }
            b':' => {
                expect_value = true;
                i += 1;
            }
            b',' | b'{' | b'[' => {
                expect_value = false;
                i += 1;
            }
            _ => i += 1,
        }
    }
    out.push_str(&text[copied_to..]);
    Ok((out, fixed))
}

/// The index just past the JSON string starting at `start` (a `"`).
fn string_end(bytes: &[u8], start: usize) -> Option<usize> {
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const DASHBOARD: &str = r#"{
  "title": "pgss",
  "panels": [
    {"id": 1, "title": "Calls/s", "type": "timeseries",
     "targets": [{"refId": "A", "expr": "topk($top_n, irate(calls[$__rate_interval])) * on(queryid) group_left(displayname) pgwatch_query_info", "legendFormat": "{{displayname}}"}]},
    {"id": 2, "type": "row", "title": "More", "panels": [
      {"id": 3, "title": "Plain", "targets": [{"refId": "B", "expr": "sum(rate(x[5m]))"}]}
    ]},
    {"id": 4, "title": "Escapes \"quoted\"", "targets": [{"expr":"rate(y{a=\"\\u0041\"}[1m]) * on (queryid) group_left (query) pg_stat_statements_query_id", "refId":"C"}]}
  ]
}"#;

    #[test]
    fn finds_every_target_including_nested_panels() {
        let queries = dashboard_queries(&serde_json::from_str(DASHBOARD).unwrap());
        let locations: Vec<&str> = queries.iter().map(|q| q.location.as_str()).collect();
        assert_eq!(locations, ["panel 1 \"Calls/s\" target A", "panel 3 \"Plain\" target B", "panel 4 \"Escapes \\\"quoted\\\"\" target C"]);
    }

    #[test]
    fn fix_rewrites_exprs_and_leaves_every_other_byte() {
        let (out, fixed) = fix_dashboard(DASHBOARD, &Rules::default()).unwrap();
        assert_eq!(fixed.len(), 2);
        assert!(fixed[0].after.starts_with("topk($top_n, (irate(calls[$__rate_interval]) * on (queryid)"), "{}", fixed[0].after);
        // Outside the two rewritten strings, the text is unchanged.
        let mut rest = out.clone();
        for f in &fixed {
            rest = rest.replacen(&serde_json::to_string(&f.after).unwrap(), "@", 1);
        }
        let mut original = DASHBOARD.to_string();
        original = original.replacen(r#""topk($top_n, irate(calls[$__rate_interval])) * on(queryid) group_left(displayname) pgwatch_query_info""#, "@", 1);
        original = original.replacen(r#""rate(y{a=\"\\u0041\"}[1m]) * on (queryid) group_left (query) pg_stat_statements_query_id""#, "@", 1);
        assert_eq!(rest, original);
        // And the result is valid JSON whose fixed queries are fixed points.
        let again = fix_dashboard(&out, &Rules::default()).unwrap();
        assert!(again.1.is_empty());
        assert_eq!(again.0, out);
    }

    #[test]
    fn rule_files() {
        let yaml = "groups:\n  - name: pgss\n    rules:\n      - alert: Calls\n        expr: rate(a[5m]) * on(queryid) group_left(displayname) pgss_query_info > 1\n      - record: x:y\n        expr: sum(z)\n";
        let queries = rule_queries(yaml).unwrap();
        assert_eq!(queries[0].location, "group pgss rule Calls");
        assert_eq!(queries[1].expr, "sum(z)");
        assert!(rule_queries("a: 1").unwrap_err().contains("no `groups:`"));
        assert!(rule_queries(": : :").is_err());
    }

    #[test]
    fn fix_refuses_what_is_not_json() {
        assert!(fix_dashboard("{", &Rules::default()).is_err());
    }
}
