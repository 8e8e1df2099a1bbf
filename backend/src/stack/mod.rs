//! Stack health: can the monitoring stack that feeds the dashboards be trusted? Checks scrape
//! targets (up, down since when, last error, scrape duration against its timeout, sample
//! collapse, series churn), required jobs, the info metrics the fallback relies on (present,
//! age, share of pgss statements named), freshness of the pgss data, PostgreSQL exporters
//! (pg_up, scrape errors), Patroni clusters (one primary, timeline, paused, pending restart,
//! DCS contact) and, where Citus metrics exist, Citus nodes (inactive, inactive shard
//! placements, metadata not synced). Each check ends ok / warning / failing / unknown with a
//! reason a user can act on.
//!
//! Layer 3, a domain. Read top-down: this file holds the types (rules, checks, observations);
//! `gather` asks the TSDB (concurrently, each request with a short timeout) and records what
//! came back as `Observations`; `checks` (targets, jobs, info metrics) and `database_checks`
//! (pgss freshness, PostgreSQL exporters, Patroni), `coverage_checks` (pgss evictions, exporter
//! limits) and `citus_checks` (Citus nodes) are pure and turn observations into checks, so
//! recorded TSDB answers test every check (tests/stack_checks.rs), `evaluate` runs them all;
//! `text` words them for Save & test; `frames` draws them for the panel.
//!
//! May use: the leaves, `settings` and `prom`. Not for: whether the TSDB itself answers (see
//! `datasource::health`).

mod checks;
mod citus_checks;
mod coverage_checks;
mod database_checks;
mod evaluate;
mod frames;
mod gather;
mod text;

use std::time::Duration;

use crate::fallback;
pub use crate::prom::read::{Sample, Series};
use crate::settings::Settings;

pub use evaluate::evaluate;
pub use frames::frames;
pub use gather::{gather, gather_within, parse_targets, Ask, Detail, Recorder, Recording, SharedNames, Source, Span};
pub use text::{human_duration, more_checks_line, summary_line, verbose_lines, DETAILED_CHECKS};

/// How long one stack request may take: a slow answer is reported as unknown, not waited for.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// How long one whole gathering may take (two rounds of requests: the names, then per metric).
/// An ask still waiting at the deadline is answered "unknown", so Save & test and the
/// `stackHealth` query end within it whatever the TSDB does.
pub const GATHER_DEADLINE: Duration = Duration::from_secs(8);

/// Calls counters of the pgss schemas we know (postgres_exporter >= 0.13 and our custom
/// queries, older custom files, pgwatch v3, postgres_ai's pgwatch).
pub const PGSS_CALLS_METRICS: &[&str] = &[
    "pg_stat_statements_calls_total",
    "pg_stat_statements_calls",
    "pgwatch_stat_statements_calls",
    "pgwatch_pg_stat_statements_calls",
];

/// Metrics of postgres_exporter and pgwatch saying whether PostgreSQL answers them.
const POSTGRES_METRICS: &[&str] = &["pg_up", "pg_exporter_last_scrape_error", "pgwatch_instance_up"];

const PATRONI_METRICS: &[&str] = &[
    "patroni_primary",
    "patroni_master",
    "patroni_postgres_running",
    "patroni_postgres_timeline",
    "patroni_is_paused",
    "patroni_pending_restart",
    "patroni_dcs_last_seen",
];

/// What the checks need from the settings.
#[derive(Debug, Clone, PartialEq)]
pub struct StackRules {
    /// Jobs that must have at least one target.
    pub required_jobs: Vec<String>,
    /// A target's sample count below this share of its recent maximum is a collapse.
    pub collapse_fraction: f64,
    /// How far back "recent" goes (sample maximum, churn, timeline changes, down since).
    pub window: Duration,
    /// The info metrics configured in the settings (reported even when they never existed).
    pub info_metrics: Vec<String>,
    /// The scrape interval: pgss data older than 3 of them (and at least a minute) is stale.
    pub scrape_interval: Duration,
    /// Patroni's DCS TTL: a member that has not reached the DCS for longer loses the leader lock.
    pub patroni_ttl: Duration,
}

impl From<&Settings> for StackRules {
    /// The settings' stack options; the info metrics the settings add beyond the built-in ones.
    fn from(settings: &Settings) -> StackRules {
        StackRules {
            required_jobs: settings.required_jobs.clone(),
            collapse_fraction: settings.collapse_fraction,
            window: settings.stack_window,
            info_metrics: settings.fallback_rules.info_metrics.iter().filter(|m| !fallback::DEFAULT_INFO_METRICS.contains(&m.as_str())).cloned().collect(),
            scrape_interval: settings.scrape_interval,
            ..Default::default()
        }
    }
}

impl Default for StackRules {
    fn default() -> Self {
        StackRules {
            required_jobs: Vec::new(),
            collapse_fraction: 0.5,
            window: Duration::from_secs(3600),
            info_metrics: Vec::new(),
            scrape_interval: Duration::from_secs(15),
            patroni_ttl: Duration::from_secs(30),
        }
    }
}

/// A check's verdict, ordered from best to worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    Ok,
    Unknown,
    Warning,
    Failing,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Unknown => "unknown",
            Status::Warning => "warning",
            Status::Failing => "failing",
        }
    }
}

/// One check's outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// The group it belongs to: "Scrape targets", "Query names", "pgss data", "PostgreSQL",
    /// "pgss coverage", "Patroni", "Citus".
    pub component: &'static str,
    /// What was checked, e.g. "query-info 127.0.0.1:19188".
    pub name: String,
    pub job: String,
    pub instance: String,
    pub status: Status,
    /// A few words for a one-line summary ("query-info down 12 min: names unavailable").
    pub summary: String,
    /// What is wrong and what to do, or the figures when all is well.
    pub reason: String,
    /// Since when (unix seconds) the check is in this state, when known.
    pub since: Option<f64>,
}


/// One scrape target as the TSDB's `/api/v1/targets` describes it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Target {
    pub job: String,
    pub instance: String,
    /// None until its first scrape.
    pub up: Option<bool>,
    pub last_error: String,
    /// Seconds.
    pub last_duration: Option<f64>,
    /// Seconds.
    pub timeout: Option<f64>,
}

/// One info metric: current count, its count over the window (by job), and how many pgss
/// statements it names.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct InfoObservation {
    pub metric: String,
    pub count_now: Option<f64>,
    /// Past `SAMPLE_ABOVE` series of the calls metric: `count_now` is the count of the
    /// queryids whose `count_sampled` digits before the last are 0, times 10^count_sampled.
    pub count_sampled: Option<u32>,
    /// `count by (job) (INFO)` over the window.
    pub history: Vec<Series>,
    /// Statements (queryids) of the pgss calls metric that have a name in this metric (of the
    /// sampled ones past `SAMPLE_ABOVE` series, see `PgssObservation::sampled`).
    pub named: Option<f64>,
}

/// One pgss calls metric: its series count now, age of its newest sample, history of the count.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PgssObservation {
    pub metric: String,
    pub count_now: Option<f64>,
    /// Seconds since its newest sample.
    pub age: Option<f64>,
    /// `count by (job) (M)` over the window.
    pub history: Vec<Series>,
    /// Distinct queryids now; past `SAMPLE_ABOVE` series, of the sampled queryids only.
    pub statements: Option<f64>,
    /// Past `SAMPLE_ABOVE` series: `statements` (and the info metrics' `named`) count only the
    /// queryids whose `sampled` digits before the last are 0, one statement in 10^sampled.
    pub sampled: Option<u32>,
}

/// Everything the checks look at. `None` means the request failed (the check is unknown).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Observations {
    /// Evaluation time, unix seconds.
    pub at: f64,
    /// The history range's step, seconds.
    pub step: f64,
    pub targets: Option<Vec<Target>>,
    pub up: Option<Vec<Series>>,
    pub samples: Option<Vec<Series>>,
    pub samples_now: Option<Vec<Sample>>,
    pub samples_max: Option<Vec<Sample>>,
    pub durations: Option<Vec<Sample>>,
    pub timeouts: Option<Vec<Sample>>,
    /// Series added over the window, less the largest single scrape (a target's first scrape
    /// adds every series at once). Checked for the jobs that export pgss metrics.
    pub churn: Option<Vec<Sample>>,
    pub info: Vec<InfoObservation>,
    pub pgss: Vec<PgssObservation>,
    pub postgres: Option<Vec<Sample>>,
    pub patroni: Option<Vec<Sample>>,
    pub patroni_timeline_min: Option<Vec<Sample>>,
    /// pg_stat_statements evictions in the window, statements held, its max and statements
    /// exported, per exporter target, each sample named by `__name__` (`coverage_checks`).
    pub pgss_coverage: Option<Vec<Sample>>,
    /// Citus's pg_dist_node and pg_dist_placement gauges, each sample named by `__name__`
    /// (`citus_checks`); empty where Citus is not exported.
    pub citus: Option<Vec<Sample>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_come_from_the_settings() {
        let instance = crate::pluginv2::DataSourceInstanceSettings {
            url: "http://x".into(),
            json_data: br#"{"requiredJobs":"postgres, query-info","sampleCollapsePercent":20,"stackWindow":"6h","infoMetrics":"my_names"}"#.to_vec(),
            ..Default::default()
        };
        let rules = StackRules::from(&Settings::from_instance(Some(&instance)).unwrap());
        assert_eq!(rules.required_jobs, ["postgres", "query-info"]);
        assert_eq!((rules.collapse_fraction, rules.window), (0.2, Duration::from_secs(6 * 3600)));
        assert_eq!(rules.info_metrics, ["my_names"], "built-in info metrics are not repeated");
    }
}
