//! HTTP client for one datasource's Prometheus-compatible API. It sends a request, reads at
//! most `max_response_bytes` of the answer, and classifies what went wrong in words a Grafana
//! user can act on: unreachable, timed out, refused credentials, not a Prometheus API (HTML),
//! too large. It never interprets a successful body (see `prom::convert`); `query_for_frames`
//! only lets `prom::scan` read a large one ahead while it arrives.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use reqwest::{header, Certificate, Identity, Method, StatusCode, Url};
use tokio::sync::Semaphore;

use super::scan::{ReadAhead, ReadAheadBuilder};
use super::request::PromRequest;
use crate::failure::QueryFailure;

use crate::settings::{HttpMethod, Settings};
use crate::telemetry::Telemetry;

/// An answer that came back with a JSON body (any HTTP status: Prometheus puts its error
/// messages in JSON bodies of 400, 422 and 503 answers).
#[derive(Debug, Clone)]
pub struct JsonAnswer {
    pub status: StatusCode,
    pub body: Bytes,
    /// Parts of a large answer already read while it arrived (`query_for_frames` only;
    /// `convert::convert_answer` uses them).
    pub read_ahead: ReadAhead,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    #[error("cannot reach the TSDB at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("the TSDB at {url} did not answer within {seconds}s")]
    Timeout { url: String, seconds: u64 },
    #[error("the TSDB at {url} refused the credentials (HTTP {status}): check the datasource's authentication settings")]
    Unauthorized { url: String, status: u16 },
    #[error("{url} has no Prometheus API here (HTTP 404): the URL should be the API root, e.g. http://host:8428 for VictoriaMetrics or http://host:9090 for Prometheus")]
    NotFound { url: String },
    #[error("{url} answered with {what} (HTTP {status}), not Prometheus API JSON{hint}")]
    NotPrometheus { url: String, status: u16, what: String, hint: String },
    #[error("the answer from {url} is larger than the {limit_mb} MB limit: narrow the query (fewer series, a shorter range or a larger step) or raise the limit in the datasource settings")]
    TooLarge { url: String, limit_mb: usize },
    #[error("reading the answer from {url} failed: {reason}")]
    Body { url: String, reason: String },
    #[error("TLS settings for {url}: {reason}")]
    Tls { url: String, reason: String },
    #[error("the TSDB at {url} redirected to another server ({location}); pgscope does not follow it with the datasource's credentials")]
    Redirected { url: String, location: String },
}

impl From<ClientError> for QueryFailure {
    /// A request that got no usable answer, as the query's failure.
    fn from(e: ClientError) -> QueryFailure {
        QueryFailure::new(e.outcome(), e.status(), e.to_string())
    }
}

impl ClientError {
    /// The HTTP status Grafana should report for this query.
    pub fn status(&self) -> u16 {
        match self {
            ClientError::Unreachable { .. } | ClientError::NotPrometheus { .. } | ClientError::Body { .. } | ClientError::Redirected { .. } => 502,
            ClientError::Tls { .. } => 400,
            ClientError::Timeout { .. } => 504,
            ClientError::Unauthorized { status, .. } => *status,
            ClientError::NotFound { .. } => 404,
            ClientError::TooLarge { .. } => 413,
        }
    }

    /// What the user can do about it, for the health check's details.
    pub fn hint(&self) -> &'static str {
        match self {
            ClientError::Unreachable { .. } => {
                "Check that the TSDB is running and that Grafana's server (not your browser) can reach this address."
            }
            ClientError::Timeout { .. } => {
                "The TSDB answers too slowly or a firewall drops the packets: check the URL, and raise the query timeout if the TSDB is busy."
            }
            ClientError::Unauthorized { .. } => "Check the user and password (or the token) in the datasource's Auth settings.",
            ClientError::NotFound { .. } | ClientError::NotPrometheus { .. } => {
                "Use the root of the Prometheus HTTP API: http://host:9090 for Prometheus, http://host:8428 for VictoriaMetrics, http://vmselect:8481/select/<tenant>/prometheus for a VictoriaMetrics cluster."
            }
            ClientError::TooLarge { .. } => "Raise the maximum response size in the datasource settings.",
            ClientError::Body { .. } => "The connection broke while reading the answer: try again, and check any proxy between Grafana and the TSDB.",
            ClientError::Tls { .. } => "Paste the certificates in PEM form (-----BEGIN CERTIFICATE----- ...), or turn the TLS option off.",
            ClientError::Redirected { .. } => "Enter the URL the TSDB redirects to as the datasource URL (redirects within the same server are followed).",
        }
    }

    /// A short label for metrics.
    pub fn outcome(&self) -> &'static str {
        match self {
            ClientError::Unreachable { .. } => "unreachable",
            ClientError::Timeout { .. } => "timeout",
            ClientError::Unauthorized { .. } => "unauthorized",
            ClientError::NotFound { .. } | ClientError::NotPrometheus { .. } => "not_prometheus",
            ClientError::TooLarge { .. } => "too_large",
            ClientError::Body { .. } => "body_error",
            ClientError::Tls { .. } => "bad_settings",
            ClientError::Redirected { .. } => "redirected",
        }
    }
}

/// A client bound to one datasource's settings. Cheap to clone; clones share the bound on
/// concurrent requests.
#[derive(Clone)]
pub struct PromClient {
    http: reqwest::Client,
    settings: Settings,
    telemetry: Telemetry,
    in_flight: Arc<Semaphore>,
}

impl PromClient {
    pub fn new(settings: Settings, telemetry: Telemetry) -> Result<Self, ClientError> {
        let shown = redact(&settings.url);
        let tls = |what: &str, e: reqwest::Error| ClientError::Tls { url: shown.clone(), reason: format!("{what}: {}", root_cause(&e)) };
        let connection = &settings.connection;
        let mut builder = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(settings.query_timeout)
            .user_agent(concat!("pgscope/", env!("CARGO_PKG_VERSION")))
            .danger_accept_invalid_certs(connection.tls_skip_verify)
            .redirect(same_origin_redirects());
        if let Some(ca) = &connection.tls_ca_cert {
            builder = builder.add_root_certificate(Certificate::from_pem(ca.0.as_bytes()).map_err(|e| tls("the CA certificate is not a PEM certificate", e))?);
        }
        if let Some((cert, key)) = &connection.tls_client {
            let pem = format!("{}\n{}", cert.0, key.0);
            builder = builder.identity(Identity::from_pem(pem.as_bytes()).map_err(|e| tls("the client certificate or key is not valid PEM", e))?);
        }
        let http = builder.build().map_err(|e| tls("the TLS settings are not usable", e))?;
        let in_flight = Arc::new(Semaphore::new(connection.max_concurrent_requests));
        Ok(PromClient { http, settings, telemetry, in_flight })
    }

    /// Removes any secret of ours that an answer quoted (a proxy echoing a header, say).
    fn scrub(&self, error: ClientError) -> ClientError {
        match error {
            ClientError::NotPrometheus { url, status, what, hint } => ClientError::NotPrometheus { url, status, what, hint: self.settings.scrub(&hint) },
            other => other,
        }
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The URL of `path` (e.g. `api/v1/query`) under the datasource URL.
    pub fn endpoint(&self, path: &str) -> Url {
        let mut url = self.settings.url.clone();
        let joined = format!("{}/{}", url.path().trim_end_matches('/'), path.trim_start_matches('/'));
        url.set_path(&joined);
        url
    }

    /// An instant query at `time` (unix seconds).
    pub async fn query_instant(&self, expr: &str, time: f64, timeout: Option<Duration>) -> Result<JsonAnswer, ClientError> {
        self.query("api/v1/query", &instant_params(expr, time), timeout, false).await
    }

    /// A range query from `start` to `end` (unix seconds) every `step`.
    pub async fn query_range(&self, expr: &str, start: f64, end: f64, step: Duration) -> Result<JsonAnswer, ClientError> {
        self.query("api/v1/query_range", &range_params(expr, start, end, step), None, false).await
    }

    /// A query whose answer becomes Grafana frames (`convert::convert_answer`): a large answer
    /// is partly read while it arrives. Other callers read the body their own way, so they do
    /// not pay for that.
    pub async fn query_for_frames(&self, request: &PromRequest) -> Result<JsonAnswer, ClientError> {
        match request {
            PromRequest::Range { expr, start, end, step } => {
                self.query("api/v1/query_range", &range_params(expr, *start, *end, *step), None, true).await
            }
            PromRequest::Instant { expr, time } => self.query("api/v1/query", &instant_params(expr, *time), None, true).await,
        }
    }

    async fn query(&self, path: &str, params: &[(&str, String)], timeout: Option<Duration>, read_ahead: bool) -> Result<JsonAnswer, ClientError> {
        let method = match self.settings.http_method {
            HttpMethod::Get => Method::GET,
            HttpMethod::Post => Method::POST,
        };
        self.request(method, path, params, timeout, read_ahead).await
    }

    /// GET `path` with `params` and expect JSON back.
    pub async fn get_json(&self, path: &str, params: &[(&str, String)], timeout: Option<Duration>) -> Result<JsonAnswer, ClientError> {
        self.request(Method::GET, path, params, timeout, false).await
    }

    /// Every metric name seen in the `window` seconds before `at` (`/api/v1/label/__name__/values`
    /// without a `match[]`): an index lookup however many series there are. With a `match[]` the
    /// TSDB finds every series of the names it matches: seconds at 100,000 statements, and past
    /// VictoriaMetrics' series limit. Callers filter the names themselves.
    pub async fn metric_names(&self, at: f64, window: f64, timeout: Option<Duration>) -> Result<JsonAnswer, ClientError> {
        let params = [("start", format!("{}", (at - window).floor())), ("end", format!("{}", at.ceil()))];
        self.get_json("api/v1/label/__name__/values", &params, timeout).await
    }

    /// The server's own `/metrics` page: at the root of the datasource URL, less a
    /// VictoriaMetrics cluster's `/select/<tenant>/prometheus` or a `/prometheus` prefix.
    pub fn server_metrics_url(&self) -> Url {
        let mut url = self.settings.url.clone();
        let path = url.path().trim_end_matches('/').to_string();
        let root = match path.find("/select/") {
            Some(i) => &path[..i],
            None => path.strip_suffix("/prometheus").unwrap_or(&path),
        };
        url.set_path(&format!("{root}/metrics"));
        url
    }

    /// GET `url` (under the datasource's server) and return the body whatever its type, if the
    /// status is 2xx.
    pub async fn get_text(&self, url: Url, timeout: Duration) -> Result<Bytes, ClientError> {
        let _permit = self.in_flight.acquire().await.map_err(|e| ClientError::Body { url: redact(&url), reason: e.to_string() })?;
        let response = self.send(Method::GET, url.clone(), &[], Some(timeout)).await?;
        if !response.status().is_success() {
            return Err(ClientError::NotFound { url: redact(&url) });
        }
        self.read_body(&redact(&url), response).await
    }

    async fn request(&self, method: Method, path: &str, params: &[(&str, String)], timeout: Option<Duration>, read_ahead: bool) -> Result<JsonAnswer, ClientError> {
        let url = self.endpoint(path);
        // At most `max_concurrent_requests` in flight per datasource; the rest wait their turn.
        let _permit = self.in_flight.acquire().await.map_err(|e| ClientError::Body { url: redact(&url), reason: e.to_string() })?;
        let started = Instant::now();
        let result = self.request_inner(method, url, params, timeout, read_ahead).await;
        let status = match &result {
            Ok(answer) => answer.status.as_str().to_string(),
            Err(e) => e.outcome().to_string(),
        };
        self.telemetry.observe_upstream(path, &status, started.elapsed());
        result
    }

    async fn request_inner(&self, method: Method, url: Url, params: &[(&str, String)], timeout: Option<Duration>, read_ahead: bool) -> Result<JsonAnswer, ClientError> {
        let response = self.send(method, url.clone(), params, timeout).await?;
        let shown = redact(&url);
        let status = response.status();
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            return Err(ClientError::Unauthorized { url: shown, status: status.as_u16() });
        }
        if status.is_redirection() {
            let location = response.headers().get(header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("no Location");
            let location = location.parse::<Url>().map_or_else(|_| self.settings.scrub(location), |u| redact(&u));
            return Err(ClientError::Redirected { url: shown, location });
        }
        let mut ahead = read_ahead.then(ReadAheadBuilder::default);
        let body = self.read_body_with(&shown, response, |body| ahead.iter_mut().for_each(|a| a.feed(body))).await?;
        let read_ahead = match ahead {
            Some(ahead) => ahead.finish().await,
            None => ReadAhead::default(),
        };
        let looks_like_json = content_type.contains("json")
            || (content_type.is_empty() && body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{'));
        if !looks_like_json {
            if status == StatusCode::NOT_FOUND {
                return Err(ClientError::NotFound { url: shown });
            }
            let error = not_prometheus(&shown, status, &content_type, &body);
            return Err(self.scrub(error));
        }
        Ok(JsonAnswer { status, body, read_ahead })
    }

    async fn send(&self, method: Method, url: Url, params: &[(&str, String)], timeout: Option<Duration>) -> Result<reqwest::Response, ClientError> {
        let mut request = if method == Method::POST {
            self.http.post(url.clone()).form(params)
        } else {
            self.http.request(method, url.clone()).query(params)
        };
        let connection = &self.settings.connection;
        if let Some(auth) = &connection.basic_auth {
            request = request.basic_auth(&auth.user, Some(&auth.password.0));
        }
        if let Some(token) = &connection.bearer_token {
            request = request.bearer_auth(&token.0);
        }
        for (name, value) in &connection.headers {
            // Checked when the settings were read; a value that still fails is skipped, not sent garbled.
            if let Ok(value) = header::HeaderValue::from_str(&value.0) {
                request = request.header(name.clone(), value);
            }
        }
        let timeout = timeout.unwrap_or(self.settings.query_timeout);
        request = request.timeout(timeout);
        request.send().await.map_err(|e| transport_error(&redact(&url), &e, timeout))
    }

    async fn read_body(&self, url: &str, response: reqwest::Response) -> Result<Bytes, ClientError> {
        self.read_body_with(url, response, |_| ()).await
    }

    /// The body up to the size limit; `arrived` sees it after every chunk.
    async fn read_body_with(&self, url: &str, mut response: reqwest::Response, mut arrived: impl FnMut(&[u8])) -> Result<Bytes, ClientError> {
        let limit = self.settings.max_response_bytes;
        let too_large = || ClientError::TooLarge { url: url.to_string(), limit_mb: limit >> 20 };
        if response.content_length().is_some_and(|n| n > limit as u64) {
            return Err(too_large());
        }
        let mut body = BytesMut::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > limit {
                        return Err(too_large());
                    }
                    body.extend_from_slice(&chunk);
                    arrived(&body);
                }
                Ok(None) => return Ok(body.freeze()),
                Err(e) if e.is_timeout() => {
                    return Err(ClientError::Timeout {
                        url: url.to_string(),
                        seconds: self.settings.query_timeout.as_secs(),
                    })
                }
                Err(e) => return Err(ClientError::Body { url: url.to_string(), reason: root_cause(&e) }),
            }
        }
    }
}

/// Redirects are followed only within the datasource's own server (scheme, host and port), at
/// most five: the credentials and custom headers never travel to a host a TSDB (or whoever
/// answers in its place) names. Any other redirect is returned, and reported as `Redirected`.
fn same_origin_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let same_origin = attempt.previous().first().is_some_and(|first| first.origin() == attempt.url().origin());
        if same_origin && attempt.previous().len() <= 5 {
            attempt.follow()
        } else {
            attempt.stop()
        }
    })
}

fn instant_params(expr: &str, time: f64) -> [(&'static str, String); 2] {
    [("query", expr.to_string()), ("time", format_seconds(time))]
}

fn range_params(expr: &str, start: f64, end: f64, step: Duration) -> [(&'static str, String); 4] {
    [
        ("query", expr.to_string()),
        ("start", format_seconds(start)),
        ("end", format_seconds(end)),
        ("step", format_seconds(step.as_secs_f64())),
    ]
}

/// A URL as it may be shown to users and logs: without user info (which may hold a password)
/// and without a query string.
pub fn redact(url: &Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.set_query(None);
    shown.to_string()
}

fn transport_error(url: &str, error: &reqwest::Error, timeout: Duration) -> ClientError {
    if error.is_timeout() {
        ClientError::Timeout { url: url.to_string(), seconds: timeout.as_secs().max(1) }
    } else {
        ClientError::Unreachable { url: url.to_string(), reason: root_cause(error) }
    }
}

/// The innermost error text ("Connection refused (os error 111)"), which is the useful part.
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = error;
    while let Some(source) = current.source() {
        current = source;
    }
    let text = current.to_string();
    if text.is_empty() {
        error.to_string()
    } else {
        text
    }
}

fn not_prometheus(url: &str, status: StatusCode, content_type: &str, body: &[u8]) -> ClientError {
    let text = String::from_utf8_lossy(&body[..body.len().min(4096)]);
    let is_html = content_type.contains("html") || text.trim_start().starts_with('<');
    let what = if is_html {
        match html_title(&text) {
            Some(title) => format!("an HTML page titled {title:?}"),
            None => "an HTML page".to_string(),
        }
    } else if content_type.is_empty() {
        "a body without a content type".to_string()
    } else {
        content_type.to_string()
    };
    let hint = if is_html {
        ": is the URL the API root of Prometheus or VictoriaMetrics, and not a login page or a proxy?".to_string()
    } else {
        let excerpt: String = text.chars().take(120).collect();
        if excerpt.trim().is_empty() { String::new() } else { format!(": {:?}", excerpt.trim()) }
    };
    ClientError::NotPrometheus { url: url.to_string(), status: status.as_u16(), what, hint }
}

fn html_title(html: &str) -> Option<String> {
    let lower = html.to_ascii_lowercase();
    let start = lower.find("<title>")? + "<title>".len();
    let end = start + lower[start..].find("</title>")?;
    let title: String = html[start..end].trim().chars().take(80).collect();
    (!title.is_empty()).then_some(title)
}

/// Unix seconds with millisecond precision, as the Prometheus API accepts them.
fn format_seconds(seconds: f64) -> String {
    let text = format!("{seconds:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_are_printed_with_at_most_millisecond_precision() {
        assert_eq!(format_seconds(1_700_000_000.0), "1700000000");
        assert_eq!(format_seconds(1_700_000_000.5), "1700000000.5");
        assert_eq!(format_seconds(15.0), "15");
        assert_eq!(format_seconds(0.25), "0.25");
    }

    #[test]
    fn html_answers_name_their_title() {
        let err = not_prometheus("http://x/api/v1/query", StatusCode::OK, "text/html", b"<html><head><title>Sign in</title></head></html>");
        let message = err.to_string();
        assert!(message.contains("HTML page titled \"Sign in\""), "{message}");
        assert!(message.contains("API root"), "{message}");
    }

    #[test]
    fn urls_in_messages_carry_no_credentials() {
        let url = Url::parse("http://admin:s3cret@vm:8428/api/v1/query?query=up").unwrap();
        assert_eq!(redact(&url), "http://vm:8428/api/v1/query");
    }

    #[test]
    fn endpoint_keeps_the_datasource_path() {
        let settings = crate::settings::Settings::from_instance(Some(&crate::pluginv2::DataSourceInstanceSettings {
            url: "http://vmselect:8481/select/0/prometheus/".into(),
            ..Default::default()
        }))
        .unwrap();
        let client = PromClient::new(settings, Telemetry::new()).unwrap();
        assert_eq!(client.endpoint("api/v1/query").as_str(), "http://vmselect:8481/select/0/prometheus/api/v1/query");
        assert_eq!(client.server_metrics_url().as_str(), "http://vmselect:8481/metrics");
    }
}
