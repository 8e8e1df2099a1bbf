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
    /// pg_stat_kcache (issue 21): CPU time the kernel charged to the statement's execution, in
    /// user and system mode, and bytes it really read from and wrote to storage (below the
    /// page cache, unlike shared blocks read).
    CpuUserTime,
    CpuSystemTime,
    DiskRead,
    DiskWritten,
}

/// How a measure is counted, for units and labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Count,
    Seconds,
    Bytes,
}

impl Measure {
    pub const ALL: [Measure; 19] = [
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
        Measure::CpuUserTime,
        Measure::CpuSystemTime,
        Measure::DiskRead,
        Measure::DiskWritten,
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
            Measure::CpuUserTime => "cpu_user_time",
            Measure::CpuSystemTime => "cpu_system_time",
            Measure::DiskRead => "disk_read",
            Measure::DiskWritten => "disk_written",
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
            Measure::ExecTime | Measure::PlanTime | Measure::BlockReadTime | Measure::BlockWriteTime | Measure::CpuUserTime | Measure::CpuSystemTime => {
                Kind::Seconds
            }
            Measure::SharedHit
            | Measure::SharedRead
            | Measure::SharedDirtied
            | Measure::SharedWritten
            | Measure::TempRead
            | Measure::TempWritten
            | Measure::WalBytes
            | Measure::DiskRead
            | Measure::DiskWritten => Kind::Bytes,
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
        // pg_stat_kcache through custom queries (e2e/stack/queries.yaml), same labels.
        src(CpuUserTime, "pg_stat_kcache_exec_user_seconds_total", 1.0),
        src(CpuSystemTime, "pg_stat_kcache_exec_system_seconds_total", 1.0),
        src(DiskRead, "pg_stat_kcache_exec_reads_bytes_total", 1.0),
        src(DiskWritten, "pg_stat_kcache_exec_writes_bytes_total", 1.0),
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

/// How a wait-event series counts (issue 21).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum WaitCount {
    /// A counter of samples taken every `period` seconds (pg_wait_sampling's profile,
    /// `pg_wait_sampling.profile_period`, 10 ms by default): its increase times the period is the
    /// time waited, in seconds.
    Samples { period: f64 },
    /// A gauge of the sessions seen waiting at each collection (pgwatch's `wait_events` metric,
    /// from pg_stat_activity): its sum over time times the collection interval is the time
    /// waited, a coarse estimate (a wait shorter than the interval is mostly missed).
    Sessions,
}

/// Where an exporter keeps wait events per statement: one series per queryid and event.
#[derive(Debug, PartialEq)]
pub struct WaitSource {
    pub id: &'static str,
    pub metric: &'static str,
    pub queryid_label: &'static str,
    pub event_type_label: &'static str,
    pub event_label: &'static str,
    /// pg_wait_sampling keeps no database: its series are per queryid only.
    pub database_label: Option<&'static str>,
    pub count: WaitCount,
    /// The event value meaning "not waiting" (on CPU), left out of the waits.
    pub running: Option<&'static str>,
}

/// pg_wait_sampling 1.1 through postgres_exporter custom queries (e2e/stack/queries.yaml), and
/// postgres_ai's pgwatch `wait_events` (its metrics.yml: tags datname, query_id, wait_event,
/// wait_event_type, gauge `total`, 'CPU*' when active without a wait event).
pub static WAIT_SOURCES: [WaitSource; 2] = [
    WaitSource {
        id: "pg_wait_sampling",
        metric: "pg_wait_sampling_samples_total",
        queryid_label: "queryid",
        event_type_label: "event_type",
        event_label: "event",
        database_label: None,
        count: WaitCount::Samples { period: 0.01 },
        running: None,
    },
    WaitSource {
        id: "postgres_ai",
        metric: "pgwatch_wait_events_total",
        queryid_label: "query_id",
        event_type_label: "wait_event_type",
        event_label: "wait_event",
        database_label: Some("datname"),
        count: WaitCount::Sessions,
        running: Some("CPU*"),
    },
];

pub static SCHEMAS: [&SchemaDef; 3] = [&POSTGRES_EXPORTER, &PGWATCH, &POSTGRES_AI];

/// Every metric name any schema uses, as one regex alternation (for a label-values request).
pub fn names_pattern() -> String {
    SCHEMAS.iter().flat_map(|s| s.sources.iter().map(|src| src.metric)).collect::<Vec<_>>().join("|")
}


#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kcache_measures_have_their_units_and_only_the_custom_queries_schema_has_them() {
        for (m, key, units) in [
            (CpuUserTime, "cpu_user_time", ("s", "s")),
            (CpuSystemTime, "cpu_system_time", ("s", "s")),
            (DiskRead, "disk_read", ("Bps", "bytes")),
            (DiskWritten, "disk_written", ("Bps", "bytes")),
        ] {
            assert_eq!((m.key(), m.units()), (key, units));
            assert_eq!(Measure::from_key(key), Some(m));
            let sources: Vec<&str> = SCHEMAS.iter().filter(|s| s.sources.iter().any(|src| src.measure == m)).map(|s| s.id).collect();
            assert_eq!(sources, ["postgres_exporter"], "{key}: pgwatch and postgres_ai export no kcache series, so there it is absent");
            assert!(!POSTGRES_EXPORTER.builtin.contains(&m), "the collector has no kcache: custom queries");
        }
        assert_eq!(CpuUserTime.label(), "cpu user time");
        assert!(names_pattern().contains("pg_stat_kcache_exec_reads_bytes_total"));
    }

    #[test]
    fn every_metric_name_is_used_once() {
        let mut names: Vec<&str> = SCHEMAS.iter().flat_map(|s| s.sources.iter().map(|src| src.metric)).chain(WAIT_SOURCES.iter().map(|w| w.metric)).collect();
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count);
    }
}
