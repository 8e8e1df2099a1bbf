//! Statement names: from info metrics (by database and queryid, else queryid alone), from
//! PostgreSQL's texts, and short one-line names cut from a statement's text. Pure.

use std::collections::BTreeMap;

use crate::frame::Labels;

/// Where a statement's name came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameSource {
    /// An info metric.
    Info,
    /// A text label on the pgss series (pgwatch).
    Label,
    /// PostgreSQL's pg_stat_statements, through the optional connection.
    Postgres,
    /// Nothing: the queryid stands in.
    Queryid,
}

impl NameSource {
    pub fn as_str(self) -> &'static str {
        match self {
            NameSource::Info => "info",
            NameSource::Label => "label",
            NameSource::Postgres => "postgres",
            NameSource::Queryid => "queryid",
        }
    }
}

/// Names from info metric samples: by (database, queryid) when the info metric carries the
/// database, else by queryid. Value: (short name, full text).
#[derive(Debug, Clone, Default)]
pub struct Names {
    by_db: BTreeMap<(String, String), (String, String)>,
    by_id: BTreeMap<String, (String, String)>,
}

/// Labels that hold a statement's readable name, best first; and its full text.
pub const NAME_LABELS: &[&str] = &["displayname", "displayname_medium", "query_name", "name", "displayname_long", "query", "displayname_full"];
pub const TEXT_LABELS: &[&str] = &["displayname_full", "query", "displayname_long", "displayname"];

impl Names {
    pub fn from_info(samples: &[(Labels, f64)]) -> Names {
        let mut names = Names::default();
        for (labels, _) in samples {
            let Some(queryid) = labels.get("queryid") else { continue };
            let pick = |candidates: &[&str]| candidates.iter().find_map(|l| labels.get(*l).filter(|v| !v.is_empty()).cloned());
            let Some(name) = pick(NAME_LABELS) else { continue };
            let text = pick(TEXT_LABELS).unwrap_or_else(|| name.clone());
            let database = ["datname", "dbname", "database"].iter().find_map(|l| labels.get(*l));
            if let Some(db) = database {
                names.by_db.insert((db.clone(), queryid.clone()), (name.clone(), text.clone()));
            }
            names.by_id.entry(queryid.clone()).or_insert((name, text));
        }
        names
    }

    pub fn len(&self) -> usize {
        self.by_id.len().max(self.by_db.len())
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty() && self.by_db.is_empty()
    }

    pub fn get(&self, database: &str, queryid: &str) -> Option<&(String, String)> {
        self.by_db.get(&(database.to_string(), queryid.to_string())).or_else(|| self.by_id.get(queryid))
    }

    /// Names that hold only for their own database (PostgreSQL's texts, see `pgnames`):
    /// (database, queryid, name, text).
    pub fn exact(entries: impl IntoIterator<Item = (String, String, String, String)>) -> Names {
        Names { by_db: entries.into_iter().map(|(db, id, name, text)| ((db, id), (name, text))).collect(), by_id: BTreeMap::new() }
    }

    /// Adds `other`'s names for statements this has none for (names from a comparison
    /// window fill in for statements no longer named now).
    pub fn fill_from(&mut self, other: Names) {
        for (key, name) in other.by_db {
            self.by_db.entry(key).or_insert(name);
        }
        for (key, name) in other.by_id {
            self.by_id.entry(key).or_insert(name);
        }
    }

    pub fn insert(&mut self, database: &str, queryid: &str, name: String, text: String) {
        self.by_db.insert((database.to_string(), queryid.to_string()), (name.clone(), text.clone()));
        self.by_id.entry(queryid.to_string()).or_insert((name, text));
    }
}

/// A short name from a statement's text: whitespace collapsed, at most `max` characters.
pub fn short_name(text: &str, max: usize) -> String {
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.chars().count() <= max {
        collapsed
    } else {
        let cut: String = collapsed.chars().take(max.saturating_sub(1)).collect();
        format!("{}…", cut.trim_end())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn short_names_collapse_whitespace_and_cut() {
        assert_eq!(short_name("SELECT  *\n  FROM t", 80), "SELECT * FROM t");
        assert_eq!(short_name("SELECT abcdefghij", 10), "SELECT ab…");
    }

    #[test]
    fn info_names_prefer_the_database_then_the_queryid() {
        let names = Names::from_info(&[
            (labels(&[("queryid", "1"), ("datname", "a"), ("displayname", "one in a")]), 1.0),
            (labels(&[("queryid", "1"), ("datname", "b"), ("displayname", "one in b")]), 1.0),
            (labels(&[("queryid", "2"), ("displayname", "two"), ("displayname_full", "SELECT two")]), 1.0),
        ]);
        assert_eq!(names.get("b", "1").unwrap().0, "one in b");
        assert_eq!(names.get("c", "1").unwrap().0, "one in a", "another database: by queryid");
        assert_eq!(names.get("a", "2").unwrap(), &("two".to_string(), "SELECT two".to_string()));
        assert!(names.get("a", "3").is_none());
    }
}
