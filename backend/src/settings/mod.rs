//! Layer 1, settings: Grafana's instance settings (URL, basic auth) plus jsonData and
//! secureJsonData, parsed into a typed, validated `Settings` with defaults. Every jsonData field
//! is optional: a datasource saved by an older version must keep working. Errors say which
//! setting is wrong and how to fix it.
//!
//! May use: the leaves (`duration`, `wire`, `fallback`'s rules, `pgss::catalog`'s schema ids).
//! No I/O and no domain logic: what a setting means for stack checks is `stack`'s business
//! (`StackRules::from(&Settings)`), connecting is `prom::client`'s and `pgss::postgres`'s.

pub mod connection;
pub mod pg_servers;
pub mod postgres;

use std::time::Duration;

use crate::pluginv2;
use reqwest::Url;
use serde::Deserialize;

use crate::duration;
use crate::fallback;
use crate::pgss::catalog::SCHEMAS;
use crate::redact;
use crate::wire::FallbackMode;
use connection::{Connection, ConnectionError, Secret};
use pg_servers::PgServers;

/// How queries are sent to `/api/v1/query*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpMethod {
    Get,
    Post,
}

impl HttpMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// The Prometheus-compatible API root, without a trailing slash.
    pub url: Url,
    /// Auth, custom headers, TLS, concurrency.
    pub connection: Connection,
    pub http_method: HttpMethod,
    /// The scrape interval (Grafana's `timeInterval`): the smallest useful step.
    pub scrape_interval: Duration,
    /// How long one TSDB request may take.
    pub query_timeout: Duration,
    /// Answers larger than this are refused instead of read into memory.
    pub max_response_bytes: usize,
    /// Whether info joins get an `or` fallback (a query's `fallback` may turn it off).
    pub fallback_enabled: bool,
    /// What counts as an info metric and how the fallback is built.
    pub fallback_rules: fallback::Rules,
    /// Scrape jobs that must exist (`requiredJobs`).
    pub required_jobs: Vec<String>,
    /// `sampleCollapsePercent` / 100: a scrape below this share of its recent maximum collapsed.
    pub collapse_fraction: f64,
    /// `stackWindow`: how far back stack checks look.
    pub stack_window: Duration,
    /// The pgss exporter schema (`pgssSchema`): None detects it.
    pub pgss_schema: Option<String>,
    /// The read-only PostgreSQL connections naming statements (`pgssConnection` in
    /// secureJsonData, `pgssServers` in jsonData).
    pub pgss_postgres: PgServers,
    /// Every secret, in the forms a server may echo (see `secrets`).
    secrets: Vec<Secret>,
}

const DEFAULT_COLLAPSE_PERCENT: f64 = 50.0;
const DEFAULT_STACK_WINDOW: Duration = Duration::from_secs(3600);

const DEFAULT_SCRAPE_INTERVAL: Duration = Duration::from_secs(15);
const DEFAULT_QUERY_TIMEOUT: Duration = Duration::from_secs(60);
const DEFAULT_MAX_RESPONSE_MB: u64 = 64;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    #[error("no datasource settings came with the request (is this a pgscope datasource?)")]
    Missing,
    #[error("the datasource URL is empty: enter the URL of your Prometheus or VictoriaMetrics server, e.g. http://localhost:8428")]
    EmptyUrl,
    #[error("the datasource URL {url:?} is not valid ({reason}): use a full URL such as http://localhost:9090")]
    BadUrl { url: String, reason: String },
    #[error("the datasource URL {url:?} must start with http:// or https://")]
    BadScheme { url: String },
    #[error("the datasource's JSON settings are not valid: {0}")]
    BadJson(String),
    #[error("setting {setting}: {reason}")]
    BadValue { setting: &'static str, reason: String },
    #[error("{0}")]
    Connection(#[from] ConnectionError),
    #[error("{0}")]
    Client(String),
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct JsonData {
    #[serde(default)]
    http_method: Option<String>,
    #[serde(default)]
    time_interval: Option<String>,
    #[serde(default)]
    query_timeout: Option<String>,
    /// Grafana's HTTP settings "Timeout", in seconds (a number or a numeric string).
    #[serde(default)]
    timeout: Option<serde_json::Value>,
    #[serde(default)]
    max_response_mb: Option<u64>,
    /// "auto" (default) or "off".
    #[serde(default)]
    fallback_mode: Option<String>,
    /// Extra info metric names, as a list or a comma-separated string.
    #[serde(default)]
    info_metrics: Option<StringOrList>,
    #[serde(default)]
    fallback_division: Option<bool>,
    /// "" (off) or a window such as "1h".
    #[serde(default)]
    sticky_names_window: Option<String>,
    /// Jobs that must be scraped, as a list or a comma-separated string.
    #[serde(default)]
    required_jobs: Option<StringOrList>,
    #[serde(default)]
    sample_collapse_percent: Option<f64>,
    #[serde(default)]
    stack_window: Option<String>,
    /// "auto" (default), "postgres_exporter", "pgwatch" or "postgres_ai".
    #[serde(default)]
    pgss_schema: Option<String>,
    /// PostgreSQL servers per instance or cluster label value (`settings::pg_servers`).
    #[serde(default)]
    pgss_servers: Option<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum StringOrList {
    Text(String),
    List(Vec<String>),
}

impl StringOrList {
    fn names(self) -> Vec<String> {
        let names = match self {
            StringOrList::Text(text) => text.split(',').map(str::to_string).collect(),
            StringOrList::List(list) => list,
        };
        names.into_iter().map(|n| n.trim().to_string()).filter(|n| !n.is_empty()).collect()
    }
}

impl Settings {
    pub fn from_instance(instance: Option<&pluginv2::DataSourceInstanceSettings>) -> Result<Self, SettingsError> {
        let instance = instance.ok_or(SettingsError::Missing)?;
        let raw: serde_json::Map<String, serde_json::Value> = if instance.json_data.iter().all(u8::is_ascii_whitespace) {
            serde_json::Map::new()
        } else {
            serde_json::from_slice(&instance.json_data).map_err(|e| SettingsError::BadJson(e.to_string()))?
        };
        let json: JsonData =
            serde_json::from_value(serde_json::Value::Object(raw.clone())).map_err(|e| SettingsError::BadJson(e.to_string()))?;
        let url = parse_url(&instance.url)?;
        let connection = Connection::from_settings(
            instance.basic_auth_enabled,
            &instance.basic_auth_user,
            &raw,
            &instance.decrypted_secure_json_data,
        )?;
        let http_method = match json.http_method.as_deref().map(str::trim) {
            None | Some("") => HttpMethod::Post,
            Some(m) if m.eq_ignore_ascii_case("post") => HttpMethod::Post,
            Some(m) if m.eq_ignore_ascii_case("get") => HttpMethod::Get,
            Some(other) => {
                return Err(SettingsError::BadValue {
                    setting: "HTTP method",
                    reason: format!("{other:?} is neither GET nor POST"),
                })
            }
        };
        let scrape_interval = optional_duration("scrape interval", json.time_interval, DEFAULT_SCRAPE_INTERVAL)?;
        // `queryTimeout` wins; else Grafana's HTTP settings "Timeout" (seconds); else 60s.
        let http_timeout = match &json.timeout {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(t)) if t.trim().is_empty() => None,
            Some(serde_json::Value::Number(n)) => Some(format!("{n}s")),
            Some(serde_json::Value::String(t)) => Some(format!("{}s", t.trim())),
            Some(other) => return Err(SettingsError::BadValue { setting: "timeout", reason: format!("{other} is not a number of seconds") }),
        };
        let query_timeout = optional_duration("query timeout", json.query_timeout.or(http_timeout), DEFAULT_QUERY_TIMEOUT)?;
        if scrape_interval.is_zero() || query_timeout.is_zero() {
            return Err(SettingsError::BadValue {
                setting: "scrape interval / query timeout",
                reason: "must be greater than zero".into(),
            });
        }
        let max_mb = json.max_response_mb.unwrap_or(DEFAULT_MAX_RESPONSE_MB);
        if !(1..=4096).contains(&max_mb) {
            return Err(SettingsError::BadValue {
                setting: "maximum response size",
                reason: format!("{max_mb} MB is outside 1..4096 MB"),
            });
        }
        let fallback_enabled = match FallbackMode::parse(json.fallback_mode.as_deref().unwrap_or_default()) {
            Ok(mode) => mode != Some(FallbackMode::Off),
            Err(reason) => return Err(SettingsError::BadValue { setting: "fallback mode", reason }),
        };
        let mut fallback_rules = fallback::Rules::default();
        for name in json.info_metrics.map(StringOrList::names).unwrap_or_default() {
            if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':') || name.starts_with(|c: char| c.is_ascii_digit()) {
                return Err(SettingsError::BadValue { setting: "info metrics", reason: format!("{name:?} is not a metric name") });
            }
            if !fallback_rules.info_metrics.contains(&name) {
                fallback_rules.info_metrics.push(name);
            }
        }
        fallback_rules.allow_division = json.fallback_division.unwrap_or(false);
        fallback_rules.sticky_window = match json.sticky_names_window.as_deref().map(str::trim) {
            None | Some("") | Some("off") => None,
            Some(text) => {
                let window = duration::parse(text).map_err(|e| SettingsError::BadValue { setting: "sticky names window", reason: e.to_string() })?;
                if window < Duration::from_secs(1) {
                    return Err(SettingsError::BadValue { setting: "sticky names window", reason: "must be at least 1s".into() });
                }
                Some(window)
            }
        };
        let required_jobs = json.required_jobs.map(StringOrList::names).unwrap_or_default();
        let collapse_percent = json.sample_collapse_percent.unwrap_or(DEFAULT_COLLAPSE_PERCENT);
        if !(collapse_percent > 0.0 && collapse_percent < 100.0) {
            return Err(SettingsError::BadValue {
                setting: "sample collapse threshold",
                reason: format!("{collapse_percent} % is outside 0..100 % (exclusive)"),
            });
        }
        let stack_window = optional_duration("stack check window", json.stack_window, DEFAULT_STACK_WINDOW)?;
        if stack_window < Duration::from_secs(60) || stack_window > Duration::from_secs(7 * 86400) {
            return Err(SettingsError::BadValue { setting: "stack check window", reason: "must be between 1m and 7d".into() });
        }
        let pgss_schema = match json.pgss_schema.as_deref().map(str::trim) {
            None | Some("") | Some("auto") => None,
            Some(id) if SCHEMAS.iter().any(|d| d.id == id) => Some(id.to_string()),
            Some(other) => {
                let known: Vec<&str> = SCHEMAS.iter().map(|d| d.id).collect();
                return Err(SettingsError::BadValue { setting: "pgss schema", reason: format!("{other:?} is not one of auto, {}", known.join(", ")) });
            }
        };
        let pgss_postgres = PgServers::from_settings(json.pgss_servers.as_ref(), &instance.decrypted_secure_json_data)
            .map_err(|reason| SettingsError::BadValue { setting: "PostgreSQL connection for names", reason })?;
        let secrets = all_secrets(instance, &connection, &pgss_postgres);
        Ok(Settings {
            secrets,
            pgss_schema,
            pgss_postgres,
            required_jobs,
            collapse_fraction: collapse_percent / 100.0,
            stack_window,
            url,
            connection,
            http_method,
            scrape_interval,
            query_timeout,
            max_response_bytes: (max_mb as usize) << 20,
            fallback_enabled,
            fallback_rules,
        })
    }
}

impl Settings {
    /// Every secret of this datasource, in the forms a server may echo.
    pub fn secrets(&self) -> Vec<String> {
        self.secrets.iter().map(|s| s.0.clone()).collect()
    }

    /// `text` without any of this datasource's secrets or any URL's credentials: every text
    /// that leaves the plugin (errors, notices, health details, resource answers, logs) goes
    /// through this.
    pub fn scrub(&self, text: &str) -> String {
        redact::secrets(&redact::url_credentials(text), self.secrets.iter().map(|s| s.0.as_str()))
    }
}

/// Every value of secureJsonData, whether a setting uses it or not (Grafana sends them all
/// decrypted); the base64 of the basic-auth header; each line of a PEM key; the PostgreSQL
/// passwords.
fn all_secrets(instance: &pluginv2::DataSourceInstanceSettings, connection: &Connection, pg: &PgServers) -> Vec<Secret> {
    let mut out: Vec<String> = instance.decrypted_secure_json_data.values().cloned().collect();
    out.extend(connection.secrets().into_iter().map(String::from));
    if let Some(password) = instance.decrypted_secure_json_data.get("basicAuthPassword") {
        out.push(redact::base64(format!("{}:{password}", instance.basic_auth_user).as_bytes()));
    }
    for pem in instance.decrypted_secure_json_data.values().filter(|v| v.contains("-----BEGIN")) {
        out.extend(pem.lines().map(str::trim).filter(|l| !l.starts_with("-----")).map(String::from));
    }
    out.extend(pg.passwords());
    out.retain(|s| !s.trim().is_empty());
    out.sort();
    out.dedup();
    out.into_iter().map(Secret).collect()
}

fn optional_duration(setting: &'static str, text: Option<String>, default: Duration) -> Result<Duration, SettingsError> {
    match text.as_deref().map(str::trim) {
        None | Some("") => Ok(default),
        Some(text) => duration::parse(text).map_err(|e| SettingsError::BadValue { setting, reason: e.to_string() }),
    }
}

fn parse_url(text: &str) -> Result<Url, SettingsError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(SettingsError::EmptyUrl);
    }
    // The URL as it may be shown: a password in it (`http://user:pass@host`) never is.
    let shown = redact::url_credentials(trimmed);
    let url = Url::parse(trimmed.trim_end_matches('/')).map_err(|e| SettingsError::BadUrl { url: shown.clone(), reason: e.to_string() })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(SettingsError::BadScheme { url: shown });
    }
    if url.host_str().is_none() {
        return Err(SettingsError::BadUrl { url: shown, reason: "no host".into() });
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instance(url: &str, json: &str) -> pluginv2::DataSourceInstanceSettings {
        pluginv2::DataSourceInstanceSettings {
            url: url.into(),
            json_data: json.as_bytes().to_vec(),
            ..Default::default()
        }
    }

    #[test]
    fn defaults_apply_when_json_is_empty() {
        for json in ["", "{}", "  "] {
            let s = Settings::from_instance(Some(&instance("http://127.0.0.1:8428/", json))).unwrap();
            assert_eq!(s.url.as_str(), "http://127.0.0.1:8428/");
            assert_eq!(s.http_method, HttpMethod::Post);
            assert_eq!(s.scrape_interval, DEFAULT_SCRAPE_INTERVAL);
            assert_eq!(s.query_timeout, DEFAULT_QUERY_TIMEOUT);
            assert!(s.connection.basic_auth.is_none());
        }
    }

    #[test]
    fn json_values_are_read() {
        let s = Settings::from_instance(Some(&instance(
            "https://vm.example/select/0/prometheus",
            r#"{"httpMethod":"GET","timeInterval":"5s","queryTimeout":"30s","maxResponseMb":8,"unknown":1}"#,
        )))
        .unwrap();
        assert_eq!(s.http_method, HttpMethod::Get);
        assert_eq!(s.scrape_interval, Duration::from_secs(5));
        assert_eq!(s.query_timeout, Duration::from_secs(30));
        assert_eq!(s.max_response_bytes, 8 << 20);
        assert_eq!(s.url.path(), "/select/0/prometheus");
    }

    #[test]
    fn bad_settings_say_what_is_wrong() {
        let cases = [
            (instance("", "{}"), "URL is empty"),
            (instance("localhost:9090", "{}"), "must start with http"),
            (instance("http://", "{}"), "not valid"),
            (instance("http://x", "{"), "JSON settings are not valid"),
            (instance("http://x", r#"{"httpMethod":"PUT"}"#), "neither GET nor POST"),
            (instance("http://x", r#"{"timeInterval":"soon"}"#), "scrape interval"),
            (instance("http://x", r#"{"queryTimeout":"0s"}"#), "greater than zero"),
            (instance("http://x", r#"{"maxResponseMb":0}"#), "outside"),
            (instance("http://x", r#"{"timeInterval":5}"#), "JSON settings are not valid"),
        ];
        for (settings, expected) in cases {
            let message = Settings::from_instance(Some(&settings)).unwrap_err().to_string();
            assert!(message.contains(expected), "{message:?} should contain {expected:?}");
        }
        assert_eq!(Settings::from_instance(None), Err(SettingsError::Missing));
        let message = Settings::from_instance(Some(&instance("http://user:p4ssw0rd@[::1", "{}"))).unwrap_err().to_string();
        assert!(message.contains("not valid") && !message.contains("p4ssw0rd"), "{message}");
    }

    #[test]
    fn grafanas_http_timeout_is_the_query_timeout_unless_set() {
        let timeout = |json: &str| Settings::from_instance(Some(&instance("http://x", json))).map(|s| s.query_timeout);
        assert_eq!(timeout(r#"{"timeout":"45"}"#), Ok(Duration::from_secs(45)));
        assert_eq!(timeout(r#"{"timeout":20}"#), Ok(Duration::from_secs(20)));
        assert_eq!(timeout(r#"{"timeout":"20","queryTimeout":"5s"}"#), Ok(Duration::from_secs(5)));
        assert_eq!(timeout(r#"{"timeout":""}"#), Ok(DEFAULT_QUERY_TIMEOUT));
        assert!(timeout(r#"{"timeout":"soon"}"#).is_err());
        assert!(timeout(r#"{"timeout":true}"#).is_err());
    }

    #[test]
    fn fallback_settings() {
        let s = Settings::from_instance(Some(&instance("http://x", "{}"))).unwrap();
        assert!(s.fallback_enabled);
        assert!(s.fallback_rules.is_info_metric("pgwatch_query_info") && s.fallback_rules.is_info_metric("anything_info"));
        assert!(!s.fallback_rules.allow_division && s.fallback_rules.sticky_window.is_none());
        let s = Settings::from_instance(Some(&instance(
            "http://x",
            r#"{"fallbackMode":"off","infoMetrics":"my_names, other_names","fallbackDivision":true,"stickyNamesWindow":"1h"}"#,
        )))
        .unwrap();
        assert!(!s.fallback_enabled && s.fallback_rules.allow_division);
        assert!(s.fallback_rules.is_info_metric("my_names") && s.fallback_rules.is_info_metric("other_names"));
        assert_eq!(s.fallback_rules.sticky_window, Some(Duration::from_secs(3600)));
        let s = Settings::from_instance(Some(&instance("http://x", r#"{"requiredJobs":"postgres, query-info","sampleCollapsePercent":20,"stackWindow":"6h"}"#))).unwrap();
        assert_eq!(s.required_jobs, ["postgres", "query-info"]);
        assert_eq!((s.collapse_fraction, s.stack_window), (0.2, Duration::from_secs(6 * 3600)));
        let s = Settings::from_instance(Some(&instance("http://x", r#"{"infoMetrics":["a_names"]}"#))).unwrap();
        assert!(s.fallback_rules.is_info_metric("a_names"));
        for (json, expected) in [
            (r#"{"fallbackMode":"sometimes"}"#, "fallback mode"),
            (r#"{"infoMetrics":"bad name"}"#, "not a metric name"),
            (r#"{"stickyNamesWindow":"forever"}"#, "sticky names window"),
            (r#"{"sampleCollapsePercent":100}"#, "sample collapse threshold"),
            (r#"{"stackWindow":"10s"}"#, "stack check window"),
        ] {
            let message = Settings::from_instance(Some(&instance("http://x", json))).unwrap_err().to_string();
            assert!(message.contains(expected), "{message}");
        }
    }

    #[test]
    fn basic_auth_password_comes_from_secure_json_and_is_never_printed() {
        let mut settings = instance("http://x", "{}");
        settings.basic_auth_enabled = true;
        settings.basic_auth_user = "grafana".into();
        settings.decrypted_secure_json_data.insert("basicAuthPassword".into(), "s3cret".into());
        let s = Settings::from_instance(Some(&settings)).unwrap();
        assert_eq!(s.connection.basic_auth.as_ref().unwrap().password.0, "s3cret");
        assert!(!format!("{s:?}").contains("s3cret"));

        assert!(s.secrets().contains(&"Z3JhZmFuYTpzM2NyZXQ=".to_string()), "the basic-auth header's form too");
        assert_eq!(s.scrub("echo: Basic Z3JhZmFuYTpzM2NyZXQ= s3cret"), "echo: Basic <redacted> <redacted>");

        settings.basic_auth_user = " ".into();
        assert_eq!(Settings::from_instance(Some(&settings)), Err(SettingsError::Connection(ConnectionError::BasicAuthWithoutUser)));
    }
}
