//! The plugin's own metrics (served through CollectMetrics), kept in a `prometheus` registry.
//! Counters and histograms are updated where the events happen and never reset or refilled at
//! scrape time (the pgwatch exporter-cache race came from doing exactly that), so a scrape
//! always sees every family. Known label values are created up front so a family exists before
//! its first event. Not for: metrics about the monitored stack (see `health`).

use std::time::Duration;

use prometheus::{Encoder, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder};

/// Outcomes a query can end with (label `outcome` of `pgscope_queries_total`).
const QUERY_OUTCOMES: &[&str] =
    &["ok", "bad_query", "bad_settings", "tsdb_error", "unreachable", "timeout", "unauthorized", "not_prometheus", "too_large", "body_error", "redirected"];

#[derive(Clone)]
pub struct Telemetry {
    registry: Registry,
    queries: IntCounterVec,
    upstream_seconds: HistogramVec,
    health_checks: IntCounterVec,
    fallback_notices: prometheus::IntCounter,
    rewrites: IntCounterVec,
}

/// Outcomes of the fallback rewrite per query (label `outcome` of `pgscope_rewrites_total`).
const REWRITE_OUTCOMES: &[&str] = &["rewritten", "unchanged", "skipped", "not_analysed", "off"];

/// Query types (label `query_type` of `pgscope_queries_total`).
const QUERY_TYPES: &[&str] = &["promql", "stackHealth", "pgssTopQueries", "pgssQuery"];

/// API paths whose latency is recorded from the start (others appear when first used).
const UPSTREAM_PATHS: &[&str] = &["api/v1/query", "api/v1/query_range"];

/// Every value the `path` label of request durations may take besides `other`: the TSDB API
/// paths pgscope calls, a caller-chosen label name folded into `:name`.
const KNOWN_UPSTREAM_PATHS: &[&str] =
    &["api/v1/query", "api/v1/query_range", "api/v1/labels", "api/v1/series", "api/v1/targets", "api/v1/status/buildinfo"];

impl Default for Telemetry {
    fn default() -> Self {
        Self::new()
    }
}

impl Telemetry {
    pub fn new() -> Self {
        let registry = Registry::new();
        let queries = IntCounterVec::new(
            Opts::new("pgscope_queries_total", "Queries answered by the datasource, by query type and outcome."),
            &["query_type", "outcome"],
        )
        .expect("static metric definition");
        let upstream_seconds = HistogramVec::new(
            HistogramOpts::new(
                "pgscope_upstream_request_duration_seconds",
                "Time of requests to the TSDB, by API path and HTTP status (or transport outcome).",
            )
            .buckets(vec![0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0]),
            &["path", "status"],
        )
        .expect("static metric definition");
        let health_checks = IntCounterVec::new(
            Opts::new("pgscope_health_checks_total", "Save & test health checks, by result."),
            &["status"],
        )
        .expect("static metric definition");
        let fallback_notices = prometheus::IntCounter::new(
            "pgscope_fallback_activations_total",
            "Query answers in which names were missing and the fallback showed series by their join key.",
        )
        .expect("static metric definition");
        let rewrites = IntCounterVec::new(
            Opts::new("pgscope_rewrites_total", "Queries seen by the fallback engine, by outcome."),
            &["outcome"],
        )
        .expect("static metric definition");
        for metric in [
            Box::new(queries.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(upstream_seconds.clone()),
            Box::new(health_checks.clone()),
            Box::new(fallback_notices.clone()),
            Box::new(rewrites.clone()),
        ] {
            registry.register(metric).expect("metric names are unique");
        }
        for query_type in QUERY_TYPES {
            for outcome in QUERY_OUTCOMES {
                queries.with_label_values(&[query_type, outcome]);
            }
        }
        for status in ["ok", "error"] {
            health_checks.with_label_values(&[status]);
        }
        for outcome in REWRITE_OUTCOMES {
            rewrites.with_label_values(&[outcome]);
        }
        for path in UPSTREAM_PATHS {
            upstream_seconds.with_label_values(&[path, "200"]);
        }
        Telemetry { registry, queries, upstream_seconds, health_checks, fallback_notices, rewrites }
    }

    pub fn count_query(&self, query_type: &str, outcome: &str) {
        self.queries.with_label_values(&[query_type, outcome]).inc();
    }

    /// One TSDB request. The `path` label is bounded: a label name in
    /// `api/v1/label/<name>/values` comes from the caller, so it is recorded as `:name`.
    pub fn observe_upstream(&self, path: &str, status: &str, elapsed: Duration) {
        let path = match path.strip_prefix("api/v1/label/").and_then(|rest| rest.strip_suffix("/values")) {
            Some("__name__") => "api/v1/label/__name__/values",
            Some(_) => "api/v1/label/:name/values",
            None if KNOWN_UPSTREAM_PATHS.contains(&path) => path,
            None => "other",
        };
        self.upstream_seconds.with_label_values(&[path, status]).observe(elapsed.as_secs_f64());
    }

    pub fn count_rewrite(&self, outcome: &str) {
        self.rewrites.with_label_values(&[outcome]).inc();
    }

    pub fn count_fallback_notice(&self) {
        self.fallback_notices.inc();
    }

    pub fn count_health_check(&self, ok: bool) {
        self.health_checks.with_label_values(&[if ok { "ok" } else { "error" }]).inc();
    }

    /// The Prometheus text exposition of every metric.
    pub fn encode(&self) -> Vec<u8> {
        let mut buffer = Vec::new();
        // Encoding into a Vec cannot fail for well-formed families.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buffer);
        buffer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_is_present_before_any_event() {
        let text = String::from_utf8(Telemetry::new().encode()).unwrap();
        for family in ["pgscope_queries_total", "pgscope_health_checks_total", "pgscope_rewrites_total", "pgscope_fallback_activations_total"] {
            assert!(text.contains(&format!("# TYPE {family} counter")), "{family} missing:\n{text}");
        }
        assert!(text.contains(r#"pgscope_queries_total{outcome="timeout",query_type="promql"} 0"#));
        assert!(text.contains("# TYPE pgscope_upstream_request_duration_seconds histogram"), "{text}");
    }

    #[test]
    fn events_are_counted() {
        let telemetry = Telemetry::new();
        telemetry.count_query("promql", "ok");
        telemetry.count_query("promql", "ok");
        telemetry.observe_upstream("api/v1/query", "200", Duration::from_millis(20));
        let text = String::from_utf8(telemetry.encode()).unwrap();
        assert!(text.contains(r#"pgscope_queries_total{outcome="ok",query_type="promql"} 2"#), "{text}");
        assert!(text.contains(r#"pgscope_upstream_request_duration_seconds_count{path="api/v1/query",status="200"} 1"#), "{text}");
        // A caller-chosen label name never becomes a label value of our own metrics.
        for name in ["a", "b", "c\"d"] {
            telemetry.observe_upstream(&format!("api/v1/label/{name}/values"), "200", Duration::from_millis(1));
        }
        telemetry.observe_upstream("api/v1/whatever/../x", "200", Duration::from_millis(1));
        let text = String::from_utf8(telemetry.encode()).unwrap();
        assert!(text.contains(r#"path="api/v1/label/:name/values",status="200"} 3"#), "{text}");
        assert!(text.contains(r#"path="other""#) && !text.contains("whatever"), "{text}");
    }
}
