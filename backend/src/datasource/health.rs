//! "Save & test": is the TSDB there, is it a Prometheus API, and who is it. The query path is
//! what matters (`1+1` must come back as 2); build info only names the server. The answer is a
//! status, a one-line message and details (`message`, `verboseMessage`) as Grafana's datasource
//! page shows them. Never includes secrets: URLs are shown without credentials.
//! Once the TSDB answers, the stack checks (`stack`) run and their summary joins the message;
//! their failures never turn Save & test red (the datasource works), they say what to fix.

use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::{json, Value};

use super::instance::Instance;
use crate::frame::Values;
use crate::pgss;
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
    let stack_started = Instant::now();
    let check_stack = async {
        let observations = stack::gather(client, &rules, now, now - rules.window.as_secs_f64()).await;
        stack::evaluate(&observations, &rules)
    };
    let detect_pgss = pgss::schema(client, &instance.pgss, now, rules.window.as_secs_f64());
    // The optional PostgreSQL connection for names: checked, but never failing Save & test
    // (the TSDB is what the datasource needs; names fall back without it).
    let check_names = async {
        match instance.pgss.pg_names() {
            Some(pg) => Some(pg.check().await.unwrap_or_else(|e| format!("{e} (names fall back to the info metric and the queryid)"))),
            None => None,
        }
    };
    let (kind, checks, pgss, names) = futures_util::join!(identify_server, check_stack, detect_pgss, check_names);
    let stack_ms = stack_started.elapsed().as_millis();
    let message = format!("Connected to {kind} · {}", stack::summary_line(&checks));
    let pgss = match pgss {
        Ok(schema) => format!("pg_stat_statements metrics: {}", schema.describe()),
        Err(failure) => format!("pg_stat_statements metrics: {}", failure.message),
    };
    let pgss = match names {
        Some(names) => format!("{pgss}\n{names}"),
        None => pgss,
    };
    let verbose = format!(
        "URL: {url}\nQuery API: 1+1 = 2 in {query_ms} ms ({})\nServer: {kind}\n{pgss}\nHTTP method: {}, query timeout: {}s\nStack checks ({} in {stack_ms} ms, worst first):\n{}",
        redact(&client.endpoint("api/v1/query")),
        client.settings().http_method.as_str(),
        client.settings().query_timeout.as_secs(),
        checks.len(),
        stack::verbose_lines(&checks),
    );
    let listed: Vec<Value> = checks
        .iter()
        .map(|c| json!({"component": c.component, "check": c.name, "status": c.status.as_str(), "summary": c.summary, "reason": c.reason}))
        .collect();
    HealthReport { ok: true, details: json!({ "message": pgss, "verboseMessage": verbose, "checks": listed }), message }
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
