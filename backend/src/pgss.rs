//! pg_stat_statements analysis: which exporter schema a TSDB holds (postgres_exporter's
//! collector or custom queries, pgwatch v3, postgres_ai's pgwatch), mapped onto one set of
//! measures in canonical units (seconds, bytes, counts); the maths of the top-queries table
//! (per second, per call, % of total time, hit ratio) from counter increases over the range;
//! names from info metrics or labels. Pure: the requests live in `pgss_query`.

use std::collections::{BTreeMap, BTreeSet};

use crate::frame::Labels;
use crate::stack::LabelSet;

/// PostgreSQL's default block size (BLCKSZ): block counts are turned into bytes with it.
pub const BLOCK_SIZE: f64 = 8192.0;

/// One pgss column, in canonical units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Measure {
    Calls,
    ExecTime,
    PlanTime,
    Rows,
    SharedHit,
    SharedRead,
    SharedDirtied,
    SharedWritten,
    TempRead,
    TempWritten,
    BlockReadTime,
    BlockWriteTime,
    WalRecords,
    WalFpi,
    WalBytes,
}

/// How a measure is counted, for units and labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Count,
    Seconds,
    Bytes,
}

impl Measure {
    pub const ALL: [Measure; 15] = [
        Measure::Calls,
        Measure::ExecTime,
        Measure::PlanTime,
        Measure::Rows,
        Measure::SharedHit,
        Measure::SharedRead,
        Measure::SharedDirtied,
        Measure::SharedWritten,
        Measure::TempRead,
        Measure::TempWritten,
        Measure::BlockReadTime,
        Measure::BlockWriteTime,
        Measure::WalRecords,
        Measure::WalFpi,
        Measure::WalBytes,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Measure::Calls => "calls",
            Measure::ExecTime => "exec_time",
            Measure::PlanTime => "plan_time",
            Measure::Rows => "rows",
            Measure::SharedHit => "shared_hit",
            Measure::SharedRead => "shared_read",
            Measure::SharedDirtied => "shared_dirtied",
            Measure::SharedWritten => "shared_written",
            Measure::TempRead => "temp_read",
            Measure::TempWritten => "temp_written",
            Measure::BlockReadTime => "block_read_time",
            Measure::BlockWriteTime => "block_write_time",
            Measure::WalRecords => "wal_records",
            Measure::WalFpi => "wal_fpi",
            Measure::WalBytes => "wal_bytes",
        }
    }

    pub fn from_key(key: &str) -> Option<Measure> {
        Measure::ALL.into_iter().find(|m| m.key() == key)
    }

    /// A person's name for it: "exec time", "shared read".
    pub fn label(self) -> String {
        self.key().replace('_', " ")
    }

    pub fn kind(self) -> Kind {
        match self {
            Measure::ExecTime | Measure::PlanTime | Measure::BlockReadTime | Measure::BlockWriteTime => Kind::Seconds,
            Measure::SharedHit
            | Measure::SharedRead
            | Measure::SharedDirtied
            | Measure::SharedWritten
            | Measure::TempRead
            | Measure::TempWritten
            | Measure::WalBytes => Kind::Bytes,
            Measure::Calls | Measure::Rows | Measure::WalRecords | Measure::WalFpi => Kind::Count,
        }
    }

    /// Grafana unit ids for its value per second and per call.
    pub fn units(self) -> (&'static str, &'static str) {
        match self.kind() {
            // Seconds spent per second of wall time: the average number of busy backends.
            Kind::Seconds => ("s", "s"),
            Kind::Bytes => ("Bps", "bytes"),
            Kind::Count if self == Measure::Calls => ("ops", "short"),
            Kind::Count => ("cps", "short"),
        }
    }
}

/// Where a schema keeps a measure: its metric name and the factor to canonical units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Source {
    pub measure: Measure,
    pub metric: &'static str,
    pub scale: f64,
}

const fn src(measure: Measure, metric: &'static str, scale: f64) -> Source {
    Source { measure, metric, scale }
}

const MS: f64 = 0.001;

/// One exporter's naming.
#[derive(Debug, PartialEq)]
pub struct SchemaDef {
    pub id: &'static str,
    pub name: &'static str,
    /// The label holding the database name.
    pub database_label: &'static str,
    pub user_label: Option<&'static str>,
    /// A label on the pgss series themselves holding the statement's text.
    pub text_label: Option<&'static str>,
    pub instance_label: &'static str,
    pub cluster_label: Option<&'static str>,
    pub sources: &'static [Source],
    /// Measures the exporter's own collector emits; more than these means a custom file.
    pub builtin: &'static [Measure],
}

use Measure::*;

pub static POSTGRES_EXPORTER: SchemaDef = SchemaDef {
    id: "postgres_exporter",
    name: "postgres_exporter",
    database_label: "datname",
    user_label: Some("user"),
    text_label: None,
    instance_label: "instance",
    cluster_label: None,
    sources: &[
        src(Calls, "pg_stat_statements_calls_total", 1.0),
        src(ExecTime, "pg_stat_statements_seconds_total", 1.0),
        src(PlanTime, "pg_stat_statements_plan_seconds_total", 1.0),
        src(Rows, "pg_stat_statements_rows_total", 1.0),
        src(SharedHit, "pg_stat_statements_shared_blks_hit_total", BLOCK_SIZE),
        src(SharedRead, "pg_stat_statements_shared_blks_read_total", BLOCK_SIZE),
        src(SharedDirtied, "pg_stat_statements_shared_blks_dirtied_total", BLOCK_SIZE),
        src(SharedWritten, "pg_stat_statements_shared_blks_written_total", BLOCK_SIZE),
        src(TempRead, "pg_stat_statements_temp_blks_read_total", BLOCK_SIZE),
        src(TempWritten, "pg_stat_statements_temp_blks_written_total", BLOCK_SIZE),
        src(BlockReadTime, "pg_stat_statements_block_read_seconds_total", 1.0),
        src(BlockWriteTime, "pg_stat_statements_block_write_seconds_total", 1.0),
        src(WalRecords, "pg_stat_statements_wal_records_total", 1.0),
        src(WalFpi, "pg_stat_statements_wal_fpi_total", 1.0),
        src(WalBytes, "pg_stat_statements_wal_bytes_total", 1.0),
    ],
    builtin: &[Calls, ExecTime, Rows, BlockReadTime, BlockWriteTime],
};

pub static PGWATCH: SchemaDef = SchemaDef {
    id: "pgwatch",
    name: "pgwatch v3",
    database_label: "dbname",
    user_label: None,
    text_label: Some("query"),
    instance_label: "instance",
    cluster_label: None,
    sources: &[
        src(Calls, "pgwatch_stat_statements_calls", 1.0),
        src(ExecTime, "pgwatch_stat_statements_total_time", MS),
        src(PlanTime, "pgwatch_stat_statements_total_plan_time", MS),
        src(Rows, "pgwatch_stat_statements_rows", 1.0),
        src(SharedHit, "pgwatch_stat_statements_shared_blks_hit", BLOCK_SIZE),
        src(SharedRead, "pgwatch_stat_statements_shared_blks_read", BLOCK_SIZE),
        src(SharedDirtied, "pgwatch_stat_statements_shared_blks_dirtied", BLOCK_SIZE),
        src(SharedWritten, "pgwatch_stat_statements_shared_blks_written", BLOCK_SIZE),
        src(TempRead, "pgwatch_stat_statements_temp_blks_read", BLOCK_SIZE),
        src(TempWritten, "pgwatch_stat_statements_temp_blks_written", BLOCK_SIZE),
        src(BlockReadTime, "pgwatch_stat_statements_blk_read_time", MS),
        src(BlockWriteTime, "pgwatch_stat_statements_blk_write_time", MS),
        src(WalFpi, "pgwatch_stat_statements_wal_fpi", 1.0),
        src(WalBytes, "pgwatch_stat_statements_wal_bytes", 1.0),
    ],
    builtin: &Measure::ALL,
};

pub static POSTGRES_AI: SchemaDef = SchemaDef {
    id: "postgres_ai",
    name: "postgres_ai (pgwatch)",
    database_label: "datname",
    user_label: None,
    text_label: None,
    instance_label: "node_name",
    cluster_label: Some("cluster"),
    sources: &[
        src(Calls, "pgwatch_pg_stat_statements_calls", 1.0),
        src(ExecTime, "pgwatch_pg_stat_statements_exec_time_total", MS),
        src(PlanTime, "pgwatch_pg_stat_statements_plan_time_total", MS),
        src(Rows, "pgwatch_pg_stat_statements_rows", 1.0),
        src(SharedHit, "pgwatch_pg_stat_statements_shared_bytes_hit_total", 1.0),
        src(SharedRead, "pgwatch_pg_stat_statements_shared_bytes_read_total", 1.0),
        src(SharedDirtied, "pgwatch_pg_stat_statements_shared_bytes_dirtied_total", 1.0),
        src(SharedWritten, "pgwatch_pg_stat_statements_shared_bytes_written_total", 1.0),
        src(TempRead, "pgwatch_pg_stat_statements_temp_bytes_read", 1.0),
        src(TempWritten, "pgwatch_pg_stat_statements_temp_bytes_written", 1.0),
        // blk_read_time / blk_write_time in milliseconds, as pgss reports them.
        src(BlockReadTime, "pgwatch_pg_stat_statements_block_read_total", MS),
        src(BlockWriteTime, "pgwatch_pg_stat_statements_block_write_total", MS),
        src(WalRecords, "pgwatch_pg_stat_statements_wal_records", 1.0),
        src(WalFpi, "pgwatch_pg_stat_statements_wal_fpi", 1.0),
        src(WalBytes, "pgwatch_pg_stat_statements_wal_bytes", 1.0),
    ],
    builtin: &Measure::ALL,
};

pub static SCHEMAS: [&SchemaDef; 3] = [&POSTGRES_EXPORTER, &PGWATCH, &POSTGRES_AI];

/// Every metric name any schema uses, as one regex alternation (for a label-values request).
pub fn names_pattern() -> String {
    SCHEMAS.iter().flat_map(|s| s.sources.iter().map(|src| src.metric)).collect::<Vec<_>>().join("|")
}

/// A schema as found in a TSDB: which of its measures exist.
#[derive(Debug, Clone, PartialEq)]
pub struct Schema {
    pub def: &'static SchemaDef,
    pub present: Vec<Source>,
    pub absent: Vec<Measure>,
    /// Chosen in the settings rather than detected.
    pub overridden: bool,
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
    let names: BTreeSet<&str> = names.iter().map(String::as_str).collect();
    let found = |def: &'static SchemaDef, overridden: bool| {
        let (present, absent): (Vec<Source>, Vec<Source>) = def.sources.iter().partition(|s| names.contains(s.metric));
        let mut absent: Vec<Measure> = absent.into_iter().map(|s| s.measure).collect();
        absent.extend(Measure::ALL.into_iter().filter(|m| !def.sources.iter().any(|s| s.measure == *m)));
        absent.sort();
        Schema { def, present, absent, overridden }
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

/// `a"b\` as a PromQL string literal body.
pub fn quote(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"")
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

/// Per statement (database, queryid): what the range added to each measure, canonical units.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Totals {
    pub database: String,
    pub queryid: String,
    pub users: BTreeSet<String>,
    pub text: Option<String>,
    pub values: BTreeMap<Measure, f64>,
}

/// Sums each measure's `increase(...)` samples by (database, queryid), in canonical units.
/// Negative increases (a TSDB's artefact after a counter reset) count as 0.
pub fn totals<L: LabelSet>(schema: &Schema, answers: &[(Measure, Vec<(L, f64)>)]) -> Vec<Totals> {
    // Statements by database, then queryid, looked up by reference: the answer has a sample
    // per statement and measure, and only a statement's first needs its key copied.
    let mut index: std::collections::HashMap<&str, std::collections::HashMap<&str, usize>> = std::collections::HashMap::new();
    let mut all: Vec<Totals> = Vec::new();
    for (measure, samples) in answers {
        let Some(source) = schema.source(*measure) else { continue };
        for (labels, value) in samples {
            let Some(queryid) = labels.label("queryid").filter(|q| !q.is_empty()) else { continue };
            let database = labels.label(schema.def.database_label).unwrap_or_default();
            let at = *index.entry(database).or_default().entry(queryid).or_insert_with(|| {
                all.push(Totals { database: database.to_string(), queryid: queryid.to_string(), ..Default::default() });
                all.len() - 1
            });
            let entry = &mut all[at];
            if let Some(user) = schema.def.user_label.and_then(|l| labels.label(l)) {
                if !entry.users.contains(user) {
                    entry.users.insert(user.to_string());
                }
            }
            if let Some(text) = schema.def.text_label.and_then(|l| labels.label(l)).filter(|t| !t.is_empty()) {
                entry.text.get_or_insert_with(|| text.to_string());
            }
            if value.is_finite() {
                *entry.values.entry(*measure).or_insert(0.0) += value.max(0.0) * source.scale;
            }
        }
    }
    all.sort_unstable_by(|a, b| (&a.database, &a.queryid).cmp(&(&b.database, &b.queryid)));
    all
}

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
const NAME_LABELS: &[&str] = &["displayname", "displayname_medium", "query_name", "name", "displayname_long", "query", "displayname_full"];
const TEXT_LABELS: &[&str] = &["displayname_full", "query", "displayname_long", "displayname"];

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

/// One row of the top-queries table.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub database: String,
    pub queryid: String,
    pub users: Vec<String>,
    pub name: String,
    pub text: String,
    pub name_source: NameSource,
    /// Per second of the range, canonical units; absent measures are missing, not 0.
    pub per_second: BTreeMap<Measure, f64>,
    /// Per call (needs calls > 0).
    pub per_call: BTreeMap<Measure, f64>,
    /// This statement's share of all statements' execution time in the range, 0..=1.
    pub share_of_time: Option<f64>,
    /// shared hit / (hit + read), when both exist and something was touched.
    pub hit_ratio: Option<f64>,
}

/// Turns range totals into table rows (every statement; sorting and limits are separate).
/// Names: the info metric's, else the exporter's text label, else PostgreSQL's (`from_postgres`,
/// see `pgnames`), else the queryid.
pub fn analyse(totals: Vec<Totals>, range_seconds: f64, names: &Names, from_postgres: &Names) -> Vec<Statement> {
    let range = range_seconds.max(1e-9);
    let total_time: f64 = totals.iter().filter_map(|t| t.values.get(&ExecTime)).sum();
    totals
        .into_iter()
        .map(|t| {
            let calls = t.values.get(&Calls).copied();
            let per_second = t.values.iter().map(|(m, v)| (*m, v / range)).collect();
            let per_call = match calls {
                Some(c) if c > 0.0 => t.values.iter().filter(|(m, _)| **m != Calls).map(|(m, v)| (*m, v / c)).collect(),
                _ => BTreeMap::new(),
            };
            let share_of_time = t.values.get(&ExecTime).filter(|_| total_time > 0.0).map(|v| v / total_time);
            let hit_ratio = match (t.values.get(&SharedHit), t.values.get(&SharedRead)) {
                (Some(h), Some(r)) if h + r > 0.0 => Some(h / (h + r)),
                _ => None,
            };
            let (name, text, name_source) = match (names.get(&t.database, &t.queryid), &t.text) {
                (Some((name, text)), _) => (name.clone(), text.clone(), NameSource::Info),
                (None, Some(text)) => (short_name(text, 80), text.clone(), NameSource::Label),
                (None, None) => match from_postgres.get(&t.database, &t.queryid) {
                    Some((name, text)) => (name.clone(), text.clone(), NameSource::Postgres),
                    None => (format!("queryid {}", t.queryid), String::new(), NameSource::Queryid),
                },
            };
            Statement {
                database: t.database,
                queryid: t.queryid,
                users: t.users.into_iter().collect(),
                name,
                text,
                name_source,
                per_second,
                per_call,
                share_of_time,
                hit_ratio,
            }
        })
        .collect()
}

/// What the table can be ordered by: a measure per second (`exec_time`), per call
/// (`exec_time_per_call`), `hit_ratio` (lowest first) or `share` (= exec time).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Order {
    PerSecond(Measure),
    PerCall(Measure),
    HitRatio,
}

impl Order {
    pub fn parse(text: &str) -> Result<Order, String> {
        let text = text.trim();
        if text.is_empty() || text == "share" || text == "pct_time" {
            return Ok(Order::PerSecond(ExecTime));
        }
        if text == "hit_ratio" {
            return Ok(Order::HitRatio);
        }
        let (key, per_call) = match text.strip_suffix("_per_call") {
            Some(key) => (key, true),
            None => (text.strip_suffix("_per_s").unwrap_or(text), false),
        };
        let measure = Measure::from_key(key).ok_or_else(|| {
            format!("orderBy {text:?} is not a measure ({}), a measure with _per_call, or hit_ratio", Measure::ALL.map(|m| m.key()).join(", "))
        })?;
        Ok(if per_call { Order::PerCall(measure) } else { Order::PerSecond(measure) })
    }

    pub fn measure(self) -> Measure {
        match self {
            Order::PerSecond(m) | Order::PerCall(m) => m,
            Order::HitRatio => SharedHit,
        }
    }

    fn value(self, s: &Statement) -> Option<f64> {
        match self {
            Order::PerSecond(m) => s.per_second.get(&m).copied(),
            Order::PerCall(m) => s.per_call.get(&m).copied(),
            // Worst (lowest) hit ratio first.
            Order::HitRatio => s.hit_ratio.map(|r| -r),
        }
    }
}

/// Keeps the statements whose name, text, queryid, database or user contain `search`
/// (case-insensitive), orders them (missing values last, then by queryid) and keeps `limit`.
pub fn rank(mut statements: Vec<Statement>, order: Order, search: &str, limit: usize) -> Vec<Statement> {
    let needle = search.trim().to_lowercase();
    if !needle.is_empty() {
        statements.retain(|s| {
            [&s.name, &s.text, &s.queryid, &s.database].iter().any(|f| f.to_lowercase().contains(&needle))
                || s.users.iter().any(|u| u.to_lowercase().contains(&needle))
        });
    }
    statements.sort_by(|a, b| match (order.value(a), order.value(b)) {
        (Some(x), Some(y)) => y.total_cmp(&x).then_with(|| a.queryid.cmp(&b.queryid)),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.queryid.cmp(&b.queryid),
    });
    statements.truncate(limit);
    statements
}

/// Per-call series from aligned per-second series: value / calls at the same timestamps
/// (NaN where calls is 0 or missing).
pub fn per_call_series(values: &[(f64, f64)], calls: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let calls: BTreeMap<i64, f64> = calls.iter().map(|(t, v)| ((t * 1000.0).round() as i64, *v)).collect();
    values
        .iter()
        .map(|(t, v)| {
            let c = calls.get(&((t * 1000.0).round() as i64)).copied().unwrap_or(0.0);
            (*t, if c > 0.0 { v / c } else { f64::NAN })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn orders_parse_and_explain_themselves() {
        assert_eq!(Order::parse("").unwrap(), Order::PerSecond(ExecTime));
        assert_eq!(Order::parse("calls").unwrap(), Order::PerSecond(Calls));
        assert_eq!(Order::parse("rows_per_call").unwrap(), Order::PerCall(Rows));
        assert_eq!(Order::parse("temp_written_per_s").unwrap(), Order::PerSecond(TempWritten));
        assert_eq!(Order::parse("hit_ratio").unwrap(), Order::HitRatio);
        assert!(Order::parse("bogus").unwrap_err().contains("exec_time"));
    }

    #[test]
    fn selectors_quote_values_and_skip_what_a_schema_lacks() {
        let schema = detect(&["pgwatch_stat_statements_calls".to_string()], None).unwrap();
        let filters = Filters { database: "shop\"x".into(), user: "app".into(), instance: ".*".into(), cluster: String::new() };
        let (selector, ignored) = schema.selector("pgwatch_stat_statements_calls", &filters, &[("queryid", "42")]);
        assert_eq!(selector, r#"pgwatch_stat_statements_calls{dbname=~"shop\"x",queryid="42"}"#);
        assert_eq!(ignored, ["user"]);
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

    #[test]
    fn per_call_series_divide_at_equal_timestamps() {
        let v = per_call_series(&[(0.0, 2.0), (30.0, 3.0), (60.0, 1.0)], &[(0.0, 4.0), (30.0, 0.0)]);
        assert_eq!(v[0], (0.0, 0.5));
        assert!(v[1].1.is_nan() && v[2].1.is_nan());
    }
}
