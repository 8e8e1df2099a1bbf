//! "Save & test": is the TSDB there, is it a Prometheus API, and who is it. The query path is
//! what matters (`1+1` must come back as 2); build info only names the server. The answer is a
//! status, a one-line message and details (`message`, `verboseMessage`) as Grafana's datasource
//! page shows them. Never includes secrets: URLs are shown without credentials.
//! Once the TSDB answers, the stack checks (`stack`) run and their summary joins the message;
//! their failures never turn Save & test red (the datasource works), they say what to fix.
//! So do the PostgreSQL servers that name statements (each one's reach or error) and the pgss
//! extensions found, in PostgreSQL (`pg_extension`) and in the TSDB's series.

use std::time::{Duration, Instant};

use futures_util::FutureExt;
use serde::Deserialize;
use serde_json::{json, Value};

use super::instance::Instance;
use crate::frame::Values;
use crate::pgss;
use crate::pgss::postgres::{Reach, EXTENSIONS};
use crate::prom::read::parse_names;
use crate::prom::client::redact;
use crate::prom::convert::{self, ConvertError};
use crate::stack::{self, StackRules};

const QUERY_TIMEOUT: Duration = Duration::from_secs(10);
const IDENTIFY_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, PartialEq)]
pub struct HealthReport {
    pub ok: bool,
    pub message: String,
    /// `{"message": .., "verboseMessage": ..}`.
    pub details: Value,
}

impl HealthReport {
    /// A failed check: `message` says what is wrong, `hint` what to do, `verbose` what was tried.
    pub fn error(message: String, hint: &str, verbose: String) -> Self {
        HealthReport { ok: false, details: json!({ "message": hint, "verboseMessage": verbose }), message }
    }
}

/// Which server answers, as far as it tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TsdbKind {
    Prometheus { version: String },
    VictoriaMetrics { version: Option<String> },
    Named { application: String, version: String },
    Unknown,
}

impl std::fmt::Display for TsdbKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TsdbKind::Prometheus { version } => write!(f, "Prometheus v{}", version.trim_start_matches('v')),
            TsdbKind::VictoriaMetrics { version: Some(version) } => write!(f, "VictoriaMetrics {version}"),
            TsdbKind::VictoriaMetrics { version: None } => write!(f, "VictoriaMetrics (this build does not report its version)"),
            TsdbKind::Named { application, version } => write!(f, "{application} v{}", version.trim_start_matches('v')),
            TsdbKind::Unknown => write!(f, "a Prometheus-compatible TSDB (it does not say which)"),
        }
    }
}

#[derive(Deserialize)]
struct BuildInfoAnswer {
    #[serde(default)]
    data: BuildInfo,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct BuildInfo {
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    go_version: Option<String>,
    #[serde(default)]
    revision: Option<String>,
    #[serde(default)]
    application: Option<String>,
}

/// Names the server from its build info (`/api/v1/status/buildinfo`) and, when that says
/// nothing, its `/metrics` page (VictoriaMetrics exposes `vm_app_version`).
fn identify(build_info: Option<&[u8]>, metrics_page: Option<&str>) -> TsdbKind {
    let info = build_info
        .and_then(|body| serde_json::from_slice::<BuildInfoAnswer>(body).ok())
        .map(|answer| answer.data)
        .unwrap_or_default();
    if let (Some(application), Some(version)) = (&info.application, &info.version) {
        return TsdbKind::Named { application: application.clone(), version: version.clone() };
    }
    if let Some(page) = metrics_page {
        if let Some(line) = page.lines().find(|l| l.starts_with("vm_app_version{")) {
            let version = label_value(line, "short_version")
                .or_else(|| label_value(line, "version").and_then(|v| v.rfind("-v").map(|i| v[i + 1..].to_string())))
                .map(|v| v.split('-').next().unwrap_or_default().to_string())
                .filter(|v| !v.is_empty());
            return TsdbKind::VictoriaMetrics { version };
        }
    }
    match (&info.version, info.go_version.is_some() || info.revision.is_some()) {
        (Some(version), true) => TsdbKind::Prometheus { version: version.clone() },
        _ => TsdbKind::Unknown,
    }
}

fn label_value(line: &str, name: &str) -> Option<String> {
    let start = line.find(&format!("{name}=\""))? + name.len() + 2;
    let end = start + line[start..].find('"')?;
    let value = &line[start..end];
    (!value.is_empty()).then(|| value.to_string())
}

/// Runs the health check against the datasource's TSDB.
pub async fn check(instance: &Instance) -> HealthReport {
    let client = &instance.client;
    let url = redact(&client.settings().url);
    let started = Instant::now();
    let now = chrono::Utc::now().timestamp() as f64;
    let answer = match client.query_instant("1+1", now, Some(QUERY_TIMEOUT)).await {
        Ok(answer) => answer,
        Err(e) => {
            return HealthReport::error(
                capitalise(&e.to_string()),
                e.hint(),
                format!("URL: {url}\nStep failed: instant query `1+1` at {}\n{e}", redact(&client.endpoint("api/v1/query"))),
            )
        }
    };
    let query_ms = started.elapsed().as_millis();
    let value = match convert::convert(&answer.body) {
        Ok(frames) => frames.first().and_then(|frame| match frame.fields.get(1).map(|f| &f.values) {
            Some(Values::Float64(values)) => values.first().copied(),
            _ => None,
        }),
        Err(ConvertError::Api { error_type, message }) => {
            return HealthReport::error(
                format!("The TSDB at {url} refused the test query: {error_type}: {message}"),
                "The server answers like a Prometheus API but cannot evaluate 1+1: check its logs.",
                format!("URL: {url}\nInstant query `1+1` answered HTTP {} with an error.", answer.status.as_u16()),
            )
        }
        Err(e) => {
            return HealthReport::error(
                format!("{url} is not a Prometheus API: {e}"),
                "Use the root of the Prometheus HTTP API: http://host:9090 for Prometheus, http://host:8428 for VictoriaMetrics.",
                format!("URL: {url}\nInstant query `1+1` answered HTTP {} with JSON that is not a Prometheus API answer.", answer.status.as_u16()),
            )
        }
    };
    if value != Some(2.0) {
        return HealthReport::error(
            format!("The TSDB at {url} answered the test query 1+1 with {value:?} instead of 2"),
            "The server answers, but not like a PromQL engine: check the URL.",
            format!("URL: {url}\nThe server answers, but not like a PromQL engine."),
        );
    }

    let identify_server = async {
        let build_info = client.get_json("api/v1/status/buildinfo", &[], Some(IDENTIFY_TIMEOUT)).await.ok();
        let build_info_body = build_info.as_ref().filter(|a| a.status.is_success()).map(|a| a.body.clone());
        let kind = identify(build_info_body.as_deref(), None);
        if !matches!(kind, TsdbKind::Unknown) {
            return kind;
        }
        let page = client.get_text(client.server_metrics_url(), IDENTIFY_TIMEOUT).await.ok();
        identify(build_info_body.as_deref(), page.as_deref().map(String::from_utf8_lossy).as_deref())
    };
    let rules = StackRules::from(client.settings());
    let window = rules.window.as_secs_f64();
    // Every metric name in the window, asked once: the stack checks find the pgss and info
    // metrics in it, the pgss schema its measures, and the extensions' series their prefixes.
    let names = client.metric_names(now, window, Some(stack::REQUEST_TIMEOUT)).shared();
    let stack_started = Instant::now();
    let check_stack = async {
        // The checks alone: sparklines are the panel's (the `stackHealth` query).
        let source = stack::SharedNames { inner: client, names: names.clone() };
        let observations = stack::gather_within(&source, &rules, now, now - window, stack::GATHER_DEADLINE, stack::Detail::Checks).await;
        stack::evaluate(&observations, &rules)
    };
    let detect_pgss = pgss::schema_from(client, &instance.pgss, names.clone());
    // The optional PostgreSQL connections for names: checked, but never failing Save & test
    // (the TSDB is what the datasource needs; names fall back without them).
    let check_names = instance.pgss.pg_fleet().check();
    // Series of the extensions other than pg_stat_statements, by metric name: one index lookup
    // of every name, filtered here by prefix (a `match[]` makes the TSDB find every series of
    // the names it matches, and these are per statement: seconds at fleet scale).
    let extension_series = async {
        let answer = names.clone().await.ok()?;
        answer.status.is_success().then(|| parse_names(&answer.body)).flatten()
    };
    let (kind, checks, pgss, names, series) = futures_util::join!(identify_server, check_stack, detect_pgss, check_names, extension_series);
    let stack_ms = stack_started.elapsed().as_millis();
    let message = format!("Connected to {kind} · {}", stack::summary_line(&checks));
    let mut in_tsdb: Vec<&str> = series.iter().flatten().filter_map(|name| EXTENSION_SERIES.iter().find(|(prefix, _)| name.starts_with(prefix)).map(|(_, e)| *e)).collect();
    let pgss = match pgss {
        Ok(schema) => {
            in_tsdb.push("pg_stat_statements");
            format!("pg_stat_statements metrics: {}", schema.describe())
        }
        Err(failure) => format!("pg_stat_statements metrics: {}", failure.message),
    };
    let mut lines = vec![pgss];
    lines.extend(names.iter().map(|reach| match reach {
        Ok(reach) => reach.line.clone(),
        Err(e) => format!("{e} (names fall back to the info metric and the queryid)"),
    }));
    lines.push(extensions_line(&names, &in_tsdb));
    let pgss = lines.join("\n");
    let more = stack::more_checks_line(&checks, stack::DETAILED_CHECKS);
    let verbose = format!(
        "URL: {url}\nQuery API: 1+1 = 2 in {query_ms} ms ({})\nServer: {kind}\n{pgss}\nHTTP method: {}, query timeout: {}s\nStack checks ({} in {stack_ms} ms, worst first):\n{}",
        redact(&client.endpoint("api/v1/query")),
        client.settings().http_method.as_str(),
        client.settings().query_timeout.as_secs(),
        checks.len(),
        // Worst first, so the problems are all there unless there are more of them than this.
        stack::verbose_lines(&checks[..checks.len().min(stack::DETAILED_CHECKS)]) + &more.as_ref().map(|more| format!("\n{more}")).unwrap_or_default(),
    );
    let listed: Vec<Value> = checks
        .iter()
        .take(stack::DETAILED_CHECKS)
        .map(|c| json!({"component": c.component, "check": c.name, "status": c.status.as_str(), "summary": c.summary, "reason": c.reason}))
        .collect();
    let mut details = json!({ "message": pgss, "verboseMessage": verbose, "checks": listed });
    if let Some(more) = more {
        details["moreChecks"] = more.into();
    }
    HealthReport { ok: true, details, message }
}

/// Metric name prefixes that show an extension's data in the TSDB (postgres_exporter custom
/// queries, e2e/stack/queries.yaml). pg_stat_statements is the detected pgss schema.
const EXTENSION_SERIES: [(&str, &str); 3] = [("pg_stat_kcache_", "pg_stat_kcache"), ("pg_wait_sampling_", "pg_wait_sampling"), ("pg_qualstats_", "pg_qualstats")];

/// "pgss extensions: pg_stat_statements 1.10 (PostgreSQL, TSDB series), pg_stat_kcache 2.2.3
/// (PostgreSQL 1 of 2 servers) · not found: hypopg": where each of `EXTENSIONS` was seen, in the
/// databases of the servers that answered (`pg_extension`) and in the TSDB's series.
fn extensions_line(servers: &[Result<Reach, String>], in_tsdb: &[&str]) -> String {
    let reached: Vec<&Reach> = servers.iter().filter_map(|r| r.as_ref().ok()).collect();
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for extension in EXTENSIONS {
        let mut versions: Vec<&str> = reached.iter().flat_map(|r| r.extensions.iter()).filter(|(name, _)| name == extension).map(|(_, v)| v.as_str()).collect();
        let with = versions.len();
        versions.sort_unstable();
        versions.dedup();
        let mut seen = Vec::new();
        match with {
            0 => {}
            n if n == reached.len() => seen.push("PostgreSQL".to_string()),
            n => seen.push(format!("PostgreSQL {n} of {} servers", reached.len())),
        }
        if in_tsdb.contains(&extension) {
            seen.push("TSDB series".into());
        }
        if seen.is_empty() {
            missing.push(extension);
            continue;
        }
        let version = match versions.as_slice() {
            [one] => format!(" {one}"),
            _ => String::new(),
        };
        found.push(format!("{extension}{version} ({})", seen.join(", ")));
    }
    let mut line = format!("pgss extensions: {}", if found.is_empty() { "none found".to_string() } else { found.join(", ") });
    if !missing.is_empty() {
        line.push_str(&format!(" · not found: {}", missing.join(", ")));
    }
    if reached.is_empty() {
        let why = if servers.is_empty() { "no PostgreSQL connection is set" } else { "no PostgreSQL server answered" };
        line.push_str(&format!(" (from the TSDB's series only: {why})"));
    }
    line
}

fn capitalise(text: &str) -> String {
    if text.starts_with("http://") || text.starts_with("https://") {
        return text.to_string();
    }
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_extensions_line_says_where_each_was_seen() {
        let reach = |extensions: &[(&str, &str)]| Ok(Reach { line: String::new(), extensions: extensions.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect() });
        let servers = [reach(&[("pg_stat_statements", "1.10"), ("pg_stat_kcache", "2.2.3"), ("hypopg", "1.4.0")]), reach(&[("pg_stat_statements", "1.10"), ("hypopg", "1.3.1")]), Err("down".into())];
        assert_eq!(
            extensions_line(&servers, &["pg_stat_statements", "pg_wait_sampling"]),
            "pgss extensions: pg_stat_statements 1.10 (PostgreSQL, TSDB series), pg_stat_kcache 2.2.3 (PostgreSQL 1 of 2 servers), \
             pg_wait_sampling (TSDB series), hypopg (PostgreSQL) · not found: pg_qualstats"
        );
        assert_eq!(
            extensions_line(&[], &["pg_stat_statements"]),
            "pgss extensions: pg_stat_statements (TSDB series) · not found: pg_stat_kcache, pg_wait_sampling, pg_qualstats, hypopg (from the TSDB's series only: no PostgreSQL connection is set)"
        );
        assert_eq!(
            extensions_line(&[Err("down".into())], &[]),
            "pgss extensions: none found · not found: pg_stat_statements, pg_stat_kcache, pg_wait_sampling, pg_qualstats, hypopg (from the TSDB's series only: no PostgreSQL server answered)"
        );
    }

    #[test]
    fn identifies_prometheus_from_build_info() {
        let body = br#"{"status":"success","data":{"version":"2.42.0","revision":"abc","branch":"debian/sid","goVersion":"go1.19"}}"#;
        let kind = identify(Some(body), None);
        assert_eq!(kind.to_string(), "Prometheus v2.42.0");
    }

    #[test]
    fn identifies_victoriametrics_from_its_metrics_page() {
        let debian = "vm_app_version{version=\"\", short_version=\"\"} 1\n";
        assert_eq!(identify(Some(br#"{"status":"success","data":{}}"#), Some(debian)), TsdbKind::VictoriaMetrics { version: None });
        let release = "vm_app_version{version=\"victoria-metrics-20220802-125516-tags-v1.79.5-0-g2ee5fa4b7\", short_version=\"v1.79.5\"} 1\n";
        assert_eq!(identify(None, Some(release)).to_string(), "VictoriaMetrics v1.79.5");
        let no_short = "vm_app_version{version=\"victoria-metrics-20220802-125516-tags-v1.79.5-0-g2ee5fa4b7\"} 1\n";
        assert_eq!(identify(None, Some(no_short)).to_string(), "VictoriaMetrics v1.79.5");
    }

    #[test]
    fn identifies_named_applications_and_unknowns() {
        let mimir = br#"{"status":"success","data":{"application":"Grafana Mimir","version":"2.10.0"}}"#;
        assert_eq!(identify(Some(mimir), None).to_string(), "Grafana Mimir v2.10.0");
        assert_eq!(identify(Some(b"<html>"), Some("up 1")), TsdbKind::Unknown);
        assert_eq!(identify(None, None), TsdbKind::Unknown);
    }
}
