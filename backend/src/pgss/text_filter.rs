//! `pgssTopQueries`' filters on a statement's text (issue 21): `statementType` (a list of
//! `statement_type::StatementType`s) and `tag` (`key=value` in its comments, `tags::Tag`); read
//! from the query JSON (`TextFilter::parse`), kept by the plugin on the rows' texts (`matches`),
//! and said as label matchers on a text label (`label_conditions`), which `ranked` puts on the
//! TSDB's text labels as it does the search, so that `topk` ranks only statements that may
//! match. Pure.
//!
//! Texts only the PostgreSQL connection gives cannot be looked through in the TSDB: a filter
//! leaves those statements out (the table says so in a notice, as for the search).

use super::analysis::Statement;
use super::statement_type::{classify, type_matchers, StatementType};
use super::tags::Tag;

/// The text filters of one query; the default keeps every statement.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TextFilter {
    pub types: Vec<StatementType>,
    pub tag: Option<Tag>,
}

impl TextFilter {
    /// `statementType`: a list of type names, or strings of them separated by anything but
    /// letters (`"SELECT,UPDATE"`, a multi-value variable's `{SELECT,UPDATE}` or
    /// `(SELECT|UPDATE)`), any case; `tag`: `key=value`. Err says what is wrong.
    pub fn parse(statement_type: &serde_json::Value, tag: &str) -> Result<TextFilter, String> {
        let texts: Vec<&str> = match statement_type {
            serde_json::Value::Null => Vec::new(),
            serde_json::Value::String(text) => vec![text],
            serde_json::Value::Array(items) => items.iter().map(|v| v.as_str().ok_or_else(|| format!("statementType: {v} is no type name"))).collect::<Result<_, _>>()?,
            other => return Err(format!("statementType must be a list of statement types, not {other}")),
        };
        let names = texts.into_iter().flat_map(|t| t.split(|c: char| !c.is_ascii_alphabetic()));
        let mut types = Vec::new();
        for name in names.filter(|n| !n.is_empty()) {
            let t = StatementType::parse(name).ok_or_else(|| {
                format!("statementType {name:?} is not one of {}", StatementType::ALL.map(|t| t.as_str()).join(", "))
            })?;
            if !types.contains(&t) {
                types.push(t);
            }
        }
        types.sort();
        Ok(TextFilter { types, tag: Tag::parse(tag)? })
    }

    pub fn is_empty(&self) -> bool {
        self.types.is_empty() && self.tag.is_none()
    }

    /// Whether a row's text passes: its type is one asked for, its comments carry the tag.
    pub fn matches(&self, statement: &Statement) -> bool {
        (self.types.is_empty() || classify(&statement.text).is_some_and(|t| self.types.contains(&t)))
            && self.tag.as_ref().is_none_or(|tag| tag.matches(&statement.text))
    }

    /// The statements that pass, in their order.
    pub fn keep(&self, mut statements: Vec<Statement>) -> Vec<Statement> {
        if !self.is_empty() {
            statements.retain(|s| self.matches(s));
        }
        statements
    }

    /// What a text label must satisfy, one condition per filter, each a list of label
    /// matchers for a label (`=~"..."` and `!~"..."`, regexes unquoted) that a statement's
    /// text label satisfies together. Every text `matches` keeps satisfies them.
    pub fn label_conditions(&self) -> Vec<Vec<(&'static str, String)>> {
        let mut conditions = Vec::new();
        if let Some((positive, negative)) = type_matchers(&self.types) {
            let mut matchers = vec![("=~", positive)];
            matchers.extend(negative.map(|n| ("!~", n)));
            conditions.push(matchers);
        }
        if let Some(tag) = &self.tag {
            conditions.push(vec![("=~", tag.regex())]);
        }
        conditions
    }
}

/// A row's `statement_type` column: "" where the text does not tell.
pub fn type_column(statement: &Statement) -> String {
    classify(&statement.text).map(|t| t.as_str().to_string()).unwrap_or_default()
}

/// A row's `tags` column: `application=checkout route=/cart`, "" for none.
pub fn tags_column(statement: &Statement) -> String {
    super::tags::display(&super::tags::tags(&statement.text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row(text: &str) -> Statement {
        Statement {
            database: "app".into(),
            queryid: "1".into(),
            users: vec![],
            name: text.into(),
            text: text.into(),
            name_source: super::super::names::NameSource::Info,
            per_second: Default::default(),
            per_call: Default::default(),
            share_of_time: None,
            hit_ratio: None,
        }
    }

    #[test]
    fn filters_read_lists_strings_and_variables() {
        let types = |v: serde_json::Value| TextFilter::parse(&v, "").map(|f| f.types);
        assert_eq!(types(json!(["update", "SELECT", "select"])).unwrap(), [StatementType::Select, StatementType::Update]);
        assert_eq!(types(json!("{SELECT,utility}")).unwrap(), [StatementType::Select, StatementType::Utility]);
        assert_eq!(types(json!("(DELETE|MERGE)")).unwrap(), [StatementType::Delete, StatementType::Merge]);
        assert_eq!(types(json!(["{SELECT,DDL}", "merge"])).unwrap(), [StatementType::Select, StatementType::Merge, StatementType::Ddl], "a list item from a multi-value variable");
        assert_eq!(types(json!("")).unwrap(), []);
        assert_eq!(types(json!(".*")).unwrap(), [], "a variable's All as .*: no filter");
        assert!(types(json!(["SELECT", "QUERY"])).unwrap_err().contains("not one of SELECT, INSERT"));
        assert!(types(json!([1])).is_err());
        assert!(types(json!(7)).is_err());
        assert!(TextFilter::parse(&json!(null), "route").unwrap_err().contains("key=value"));
        assert!(TextFilter::parse(&json!(null), "").unwrap().is_empty());
    }

    #[test]
    fn rows_pass_on_their_type_and_tag() {
        let filter = TextFilter::parse(&json!(["SELECT", "UPDATE"]), "application=checkout").unwrap();
        let rows = [
            "/* application='checkout',route='%2Fcart' */ SELECT 1",
            "UPDATE t SET a = $1 /*application='checkout'*/",
            "INSERT INTO t VALUES ($1) /*application='checkout'*/",
            "SELECT 1 /*application='search'*/",
            "SELECT 1",
            "",
        ]
        .map(row);
        let kept: Vec<String> = filter.keep(rows.to_vec()).into_iter().map(|s| s.text).collect();
        assert_eq!(kept, [rows[0].text.clone(), rows[1].text.clone()]);
        assert_eq!(TextFilter::default().keep(rows.to_vec()).len(), rows.len());
        assert_eq!(type_column(&rows[2]), "INSERT");
        assert_eq!(type_column(&rows[5]), "", "no text: no type");
        assert_eq!(tags_column(&rows[0]), "application=checkout route=/cart");
        assert_eq!(filter.label_conditions().len(), 2);
        assert_eq!(filter.label_conditions()[0].iter().map(|m| m.0).collect::<Vec<_>>(), ["=~", "!~"]);
    }
}
