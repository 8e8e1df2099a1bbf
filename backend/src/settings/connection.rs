//! How to reach the TSDB, from Grafana's standard datasource HTTP settings: basic auth, a bearer
//! token, custom headers (`jsonData.httpHeaderNameN` + `secureJsonData.httpHeaderValueN`, e.g.
//! `X-Scope-OrgID` for Mimir or VictoriaMetrics cluster tenants), TLS (skip verify, a custom CA,
//! a client certificate) and a bound on concurrent requests. Secret values live in
//! secureJsonData and never reach a `Debug` print, a log line or an error message.

use std::collections::HashMap;

use reqwest::header::{HeaderName, HeaderValue};
use serde_json::{Map, Value};

/// A secret value; prints as `<redacted>`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BasicAuth {
    pub user: String,
    pub password: Secret,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    pub basic_auth: Option<BasicAuth>,
    pub bearer_token: Option<Secret>,
    /// Sent with every request, after the auth headers (so they may override them).
    pub headers: Vec<(HeaderName, Secret)>,
    pub tls_skip_verify: bool,
    /// PEM.
    pub tls_ca_cert: Option<Secret>,
    /// PEM certificate and PEM private key.
    pub tls_client: Option<(Secret, Secret)>,
    pub max_concurrent_requests: usize,
}

const DEFAULT_MAX_CONCURRENT_REQUESTS: usize = 10;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectionError {
    #[error("basic auth is on but the user is empty: enter the user or turn basic auth off")]
    BasicAuthWithoutUser,
    #[error("custom header {index}: {reason}")]
    BadHeader { index: usize, reason: String },
    #[error("{0} is on but its certificate is missing: paste it in PEM form")]
    MissingPem(&'static str),
    #[error("maximum concurrent requests must be between 1 and 100, not {0}")]
    BadConcurrency(i64),
}

impl Connection {
    pub fn from_settings(
        basic_auth_enabled: bool,
        basic_auth_user: &str,
        json: &Map<String, Value>,
        secure: &HashMap<String, String>,
    ) -> Result<Self, ConnectionError> {
        let secret = |key: &str| secure.get(key).filter(|v| !v.is_empty()).map(|v| Secret(v.clone()));
        let flag = |key: &str| json.get(key).and_then(Value::as_bool).unwrap_or(false);
        let basic_auth = if basic_auth_enabled {
            if basic_auth_user.trim().is_empty() {
                return Err(ConnectionError::BasicAuthWithoutUser);
            }
            Some(BasicAuth { user: basic_auth_user.to_string(), password: secret("basicAuthPassword").unwrap_or(Secret(String::new())) })
        } else {
            None
        };
        let mut headers = Vec::new();
        for index in 1.. {
            let Some(name) = json.get(&format!("httpHeaderName{index}")).and_then(Value::as_str) else { break };
            if name.trim().is_empty() {
                continue;
            }
            let header = HeaderName::from_bytes(name.trim().as_bytes())
                .map_err(|_| ConnectionError::BadHeader { index, reason: format!("{name:?} is not a header name") })?;
            if matches!(header.as_str(), "host" | "content-length" | "content-type" | "transfer-encoding") {
                return Err(ConnectionError::BadHeader { index, reason: format!("{name} is set by pgscope itself") });
            }
            let value = secret(&format!("httpHeaderValue{index}")).unwrap_or(Secret(String::new()));
            // Checked here so a bad value is a settings error, not a failed request later.
            HeaderValue::from_str(&value.0)
                .map_err(|_| ConnectionError::BadHeader { index, reason: format!("the value of {name} has characters a header cannot carry") })?;
            headers.push((header, value));
        }
        let tls_ca_cert = if flag("tlsAuthWithCACert") { Some(secret("tlsCACert").ok_or(ConnectionError::MissingPem("TLS with CA certificate"))?) } else { None };
        let tls_client = if flag("tlsAuth") {
            let cert = secret("tlsClientCert").ok_or(ConnectionError::MissingPem("TLS client auth"))?;
            let key = secret("tlsClientKey").ok_or(ConnectionError::MissingPem("TLS client auth (key)"))?;
            Some((cert, key))
        } else {
            None
        };
        let max_concurrent_requests = match json.get("maxConcurrentRequests").and_then(Value::as_i64) {
            None => DEFAULT_MAX_CONCURRENT_REQUESTS,
            Some(n @ 1..=100) => n as usize,
            Some(n) => return Err(ConnectionError::BadConcurrency(n)),
        };
        Ok(Connection {
            basic_auth,
            bearer_token: secret("bearerToken"),
            headers,
            tls_skip_verify: flag("tlsSkipVerify"),
            tls_ca_cert,
            tls_client,
            max_concurrent_requests,
        })
    }

    /// Every secret value, to check that none leaks into a message.
    pub fn secrets(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        out.extend(self.basic_auth.as_ref().map(|a| a.password.0.as_str()));
        out.extend(self.bearer_token.as_ref().map(|t| t.0.as_str()));
        out.extend(self.headers.iter().map(|(_, v)| v.0.as_str()));
        out.retain(|s| !s.is_empty());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn connection(json: Value, secure: &[(&str, &str)]) -> Result<Connection, ConnectionError> {
        let secure = secure.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Connection::from_settings(false, "", json.as_object().unwrap(), &secure)
    }

    #[test]
    fn headers_bearer_and_tls_flags() {
        let c = connection(
            json!({"httpHeaderName1": "X-Scope-OrgID", "httpHeaderName2": "X-Other", "tlsSkipVerify": true, "maxConcurrentRequests": 4}),
            &[("httpHeaderValue1", "tenant-42"), ("httpHeaderValue2", "x"), ("bearerToken", "tok3n")],
        )
        .unwrap();
        assert_eq!(c.headers[0].0.as_str(), "x-scope-orgid");
        assert_eq!(c.headers[0].1 .0, "tenant-42");
        assert_eq!(c.bearer_token, Some(Secret("tok3n".into())));
        assert!(c.tls_skip_verify);
        assert_eq!(c.max_concurrent_requests, 4);
        let printed = format!("{c:?}");
        assert!(!printed.contains("tenant-42") && !printed.contains("tok3n"), "{printed}");
        assert_eq!(c.secrets(), ["tok3n", "tenant-42", "x"]);
    }

    #[test]
    fn bad_settings_say_which() {
        let cases = [
            (json!({"httpHeaderName1": "bad header"}), vec![], "custom header 1"),
            (json!({"httpHeaderName1": "Host"}), vec![], "set by pgscope"),
            (json!({"httpHeaderName1": "X-A"}), vec![("httpHeaderValue1", "a\nb")], "cannot carry"),
            (json!({"tlsAuthWithCACert": true}), vec![], "TLS with CA certificate is on but its certificate is missing"),
            (json!({"tlsAuth": true}), vec![("tlsClientCert", "x")], "client auth (key)"),
            (json!({"maxConcurrentRequests": 0}), vec![], "between 1 and 100"),
        ];
        for (json, secure, expected) in cases {
            let message = connection(json, &secure).unwrap_err().to_string();
            assert!(message.contains(expected), "{message}");
        }
    }
}
