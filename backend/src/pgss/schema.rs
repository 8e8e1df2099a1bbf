//! A schema as found in a TSDB (which of its measures exist, detected from the metric names it
//! holds or named in the settings) and the selectors it builds for a query's filters. Pure.

use std::collections::BTreeSet;

use super::catalog::Measure::Calls;
use super::catalog::{Measure, SchemaDef, Source, WaitSource, SCHEMAS};
use crate::promql_text::quote;

/// A schema as found in a TSDB: which of its measures exist.
#[derive(Debug, Clone, PartialEq)]
pub struct Schema {
    pub def: &'static SchemaDef,
    pub present: Vec<Source>,
    pub absent: Vec<Measure>,
    /// Chosen in the settings rather than detected.
    pub overridden: bool,
    /// Where wait events per statement are, when the TSDB holds them (issue 21).
    pub waits: Option<&'static WaitSource>,
}

impl Schema {
    pub fn source(&self, measure: Measure) -> Option<&Source> {
        self.present.iter().find(|s| s.measure == measure)
    }

    pub fn has(&self, measure: Measure) -> bool {
        self.source(measure).is_some()
    }

    /// "postgres_exporter (custom queries) · 15 of 15 measures".
    pub fn describe(&self) -> String {
        let custom = self.def.id == "postgres_exporter" && self.present.iter().any(|s| !self.def.builtin.contains(&s.measure));
        let variant = match (self.def.id, custom) {
            ("postgres_exporter", true) => " (custom queries)",
            ("postgres_exporter", false) => " >= 0.13 (stat_statements collector)",
            _ => "",
        };
        let how = if self.overridden { ", set in the settings" } else { "" };
        format!("{}{variant} · {} of {} measures{how}", self.def.name, self.present.len(), Measure::ALL.len())
    }
}

/// Picks the schema whose calls metric exists and that has the most measures, or the one
/// `wanted` names (`auto`/empty detects). Err says what was looked for.
pub fn detect(names: &[String], wanted: Option<&str>) -> Result<Schema, String> {
    let waits = super::waits::detect(names);
    let names: BTreeSet<&str> = names.iter().map(String::as_str).collect();
    let found = |def: &'static SchemaDef, overridden: bool| {
        let (present, absent): (Vec<Source>, Vec<Source>) = def.sources.iter().partition(|s| names.contains(s.metric));
        let mut absent: Vec<Measure> = absent.into_iter().map(|s| s.measure).collect();
        absent.extend(Measure::ALL.into_iter().filter(|m| !def.sources.iter().any(|s| s.measure == *m)));
        absent.sort();
        Schema { def, present, absent, overridden, waits }
    };
    match wanted.map(str::trim).filter(|w| !w.is_empty() && *w != "auto") {
        Some(id) => {
            let def = SCHEMAS.iter().find(|d| d.id == id).ok_or_else(|| {
                format!("pgss schema {id:?} is not one of auto, {}", SCHEMAS.iter().map(|d| d.id).collect::<Vec<_>>().join(", "))
            })?;
            let schema = found(def, true);
            if !schema.has(Calls) {
                return Err(format!("pgss schema {}: its calls metric {} has no series", def.name, def.sources[0].metric));
            }
            Ok(schema)
        }
        None => SCHEMAS
            .iter()
            .map(|def| found(def, false))
            .filter(|s| s.has(Calls))
            .max_by_key(|s| s.present.len())
            .ok_or_else(|| {
                format!(
                    "no pg_stat_statements metrics found (looked for {})",
                    SCHEMAS.iter().map(|d| d.sources[0].metric).collect::<Vec<_>>().join(", ")
                )
            }),
    }
}

/// Filters of the pgss query types; each a regex on its label (Grafana multi-value variables
/// arrive as `(a|b)`), empty or `.*` for none.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
#[serde(default)]
pub struct Filters {
    pub database: String,
    pub user: String,
    pub instance: String,
    pub cluster: String,
}

fn is_open(value: &str) -> bool {
    let v = value.trim();
    v.is_empty() || v == ".*" || v == ".+" || v == "$__all" || v == "All"
}

impl Schema {
    /// The label matchers for `filters` (plus `extra`), skipping filters the schema cannot
    /// apply; the second value lists those.
    pub fn selector(&self, metric: &str, filters: &Filters, extra: &[(&str, &str)]) -> (String, Vec<&'static str>) {
        let mut matchers = Vec::new();
        let mut ignored = Vec::new();
        let wanted = [
            ("database", Some(self.def.database_label), &filters.database),
            ("user", self.def.user_label, &filters.user),
            ("instance", Some(self.def.instance_label), &filters.instance),
            ("cluster", self.def.cluster_label, &filters.cluster),
        ];
        for (what, label, value) in wanted {
            if is_open(value) {
                continue;
            }
            match label {
                Some(label) => matchers.push(format!("{label}=~\"{}\"", quote(value.trim()))),
                None => ignored.push(what),
            }
        }
        for (label, value) in extra {
            matchers.push(format!("{label}=\"{}\"", quote(value)));
        }
        (format!("{metric}{{{}}}", matchers.join(",")), ignored)
    }

    /// The labels a statement is keyed by in sums: database, queryid (and user when known).
    pub fn by_labels(&self) -> String {
        let mut labels = vec![self.def.database_label, "queryid"];
        labels.extend(self.def.user_label);
        labels.extend(self.def.text_label);
        labels.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;


    #[test]
    fn selectors_quote_values_and_skip_what_a_schema_lacks() {
        let schema = detect(&["pgwatch_stat_statements_calls".to_string()], None).unwrap();
        let filters = Filters { database: "shop\"x".into(), user: "app".into(), instance: ".*".into(), cluster: String::new() };
        let (selector, ignored) = schema.selector("pgwatch_stat_statements_calls", &filters, &[("queryid", "42")]);
        assert_eq!(selector, r#"pgwatch_stat_statements_calls{dbname=~"shop\"x",queryid="42"}"#);
        assert_eq!(ignored, ["user"]);
    }
}
