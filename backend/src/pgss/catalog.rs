//! Layer 0, the pgss catalogue: the exporter schemas we know (postgres_exporter's collector or
//! custom queries, pgwatch v3, postgres_ai's pgwatch) mapped onto one set of measures in
//! canonical units (seconds, bytes, counts). Data only: `settings` reads the schema ids, the
//! rest of `pgss` reads the metric names and scales.
//!
//! May use: nothing of the crate.

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

