//! Layer 4, the application: a request from Grafana routed to what answers it. One `Instance`
//! per datasource (org and uid; rebuilt when its settings change), the queries of one request
//! run concurrently, each query's outcome frames or an error with an HTTP-like status. Read
//! top-down: this file (routing by query type), `instance` (per-datasource state), `promql`
//! (the `promql` runner), `health` (Save & test) and `resources` (editor and variable routes).
//!
//! May use: every layer below (`wire`, `settings`, `prom`, `promql`, `pgss`, `stack`, `lint`,
//! `stored`). Not for: wire formats (see `grpc`, `frame`) or query semantics (see the domains).

pub mod health;
mod instance;
mod promql;
pub mod resources;

use std::sync::Arc;

use futures_util::future::join_all;

use crate::failure::{ErrorSource, QueryFailure};
use crate::frame::Frame;
use crate::pgss;
use crate::pluginv2;
use crate::promql::model::QueryError;
use crate::settings::SettingsError;
use crate::stack::{self, StackRules};
use crate::telemetry::Telemetry;
use crate::wire::QueryType;
use health::HealthReport;
pub use instance::Instance;
use instance::Instances;

/// A query's result: frames, or an error Grafana shows on the panel, with who failed (the
/// data response's `errorSource`).
#[derive(Debug, Clone)]
pub enum QueryOutcome {
    Frames(Vec<Frame>),
    Error { status: u16, message: String, source: ErrorSource },
}

/// The per-request config key (PluginContext.grafanaConfig, pkg/services/pluginsintegration/
/// pluginconfig/request.go) with grafana.ini's `[datasources] concurrent_query_count`: how many queries
/// of one request a datasource may run at once. The only grafanaConfig key pgscope reads.
pub const CONCURRENT_QUERY_COUNT: &str = "GF_CONCURRENT_QUERY_COUNT";

/// How many queries of a request run at once: Grafana's `concurrent_query_count` when the
/// request carries a usable one, else all of them.
fn concurrency(context: Option<&pluginv2::PluginContext>, queries: usize) -> usize {
    context
        .and_then(|c| c.grafana_config.get(CONCURRENT_QUERY_COUNT))
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(queries)
        .max(1)
}

#[derive(Clone, Default)]
pub struct Datasource {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    telemetry: Telemetry,
    instances: Instances,
}

impl Datasource {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn telemetry(&self) -> &Telemetry {
        &self.inner.telemetry
    }

    /// The state of the datasource a request's plugin context names, built from its settings.
    pub fn instance(&self, context: Option<&pluginv2::PluginContext>) -> Result<Arc<Instance>, SettingsError> {
        self.inner.instances.get(context, &self.inner.telemetry)
    }

    /// Answers every query of a request, concurrently (at most Grafana's concurrent query count
    /// at once, when the request says it), in request order.
    pub async fn query_data(&self, request: &pluginv2::QueryDataRequest) -> Vec<(String, QueryOutcome)> {
        let instance = self.instance(request.plugin_context.as_ref());
        let budget = promql::RequestBudget::new();
        let slots = tokio::sync::Semaphore::new(concurrency(request.plugin_context.as_ref(), request.queries.len()));
        let answers = request.queries.iter().map(|q| {
            let (instance, budget, slots) = (instance.clone(), &budget, &slots);
            async move {
                // Never closed, so acquiring fails never; a failure would only lift the bound.
                let _slot = slots.acquire().await.ok();
                let outcome = match instance {
                    Ok(instance) => self.run_query(&instance, budget, q).await,
                    Err(e) => {
                        self.telemetry().count_query(query_type_label(&q.query_type), "bad_settings");
                        QueryOutcome::Error { status: 400, message: format!("Datasource settings: {e}"), source: ErrorSource::Plugin }
                    }
                };
                (q.ref_id.clone(), outcome)
            }
        });
        join_all(answers).await
    }

    async fn run_query(&self, instance: &Instance, budget: &promql::RequestBudget, q: &pluginv2::DataQuery) -> QueryOutcome {
        let (client, telemetry) = (&instance.client, self.telemetry());
        let result = match QueryType::parse(&q.query_type) {
            Ok(QueryType::StackHealth) => run_stack_health(instance, q).await,
            Ok(QueryType::PgssTopQueries) => pgss::top_queries(client, &instance.pgss, &q.json, pgss_span(q)).await,
            Ok(QueryType::PgssQuery) => pgss::one_query(client, &instance.pgss, &q.json, pgss_span(q)).await,
            Ok(QueryType::Promql) => promql::run(client, telemetry, budget, q).await,
            Err(_) => Err(QueryError::UnsupportedType(q.query_type.clone()).into()),
        };
        let query_type = query_type_label(&q.query_type);
        let settings = client.settings();
        match result {
            Ok(mut frames) => {
                for frame in &mut frames {
                    frame.ref_id = q.ref_id.clone();
                    // Notices quote TSDB and PostgreSQL errors, which may echo a secret.
                    for notice in frame.meta.iter_mut().flat_map(|m| m.notices.iter_mut()) {
                        notice.text = settings.scrub(&notice.text);
                    }
                }
                telemetry.count_query(query_type, "ok");
                QueryOutcome::Frames(frames)
            }
            Err(failure) => {
                let source = failure.source();
                let QueryFailure { outcome, status, message } = failure;
                let message = settings.scrub(&message);
                telemetry.count_query(query_type, outcome);
                tracing::debug!(ref_id = %q.ref_id, %status, source = source.as_str(), %message, "query failed");
                QueryOutcome::Error { status, message, source }
            }
        }
    }

    /// Save & test.
    pub async fn check_health(&self, context: Option<&pluginv2::PluginContext>) -> HealthReport {
        let report = match self.instance(context) {
            Ok(instance) => {
                let settings = instance.client.settings();
                let mut report = health::check(&instance).await;
                report.message = settings.scrub(&report.message);
                scrub_json(&mut report.details, &|text| settings.scrub(text));
                report
            }
            Err(e) => HealthReport::error(
                format!("Datasource settings: {e}"),
                "Fix the setting on this page, then Save & test again.",
                "The settings were checked before contacting the TSDB; nothing was sent.".into(),
            ),
        };
        self.telemetry().count_health_check(report.ok);
        report
    }

    /// A resource request (`/api/datasources/uid/<uid>/resources/<path>`): (HTTP status, JSON body).
    pub async fn call_resource(&self, context: Option<&pluginv2::PluginContext>, path: &str, url: &str) -> (u16, serde_json::Value) {
        match self.instance(context) {
            Ok(instance) => {
                let (code, mut body) = match path.trim_matches('/') {
                    "advice" => resources::advice(url, instance.pgss.pg_names()).await,
                    _ => resources::handle(path, url, &instance.client).await,
                };
                let settings = instance.client.settings();
                scrub_json(&mut body, &|text| settings.scrub(text));
                (code, body)
            }
            Err(e) => (400, serde_json::json!({ "message": format!("Datasource settings: {e}") })),
        }
    }
}

/// Every string in `value` through `scrub`.
fn scrub_json(value: &mut serde_json::Value, scrub: &dyn Fn(&str) -> String) {
    match value {
        serde_json::Value::String(text) => *text = scrub(text),
        serde_json::Value::Array(items) => items.iter_mut().for_each(|v| scrub_json(v, scrub)),
        serde_json::Value::Object(members) => members.values_mut().for_each(|v| scrub_json(v, scrub)),
        _ => {}
    }
}

/// `stackHealth`: the stack checks at the end of the time range, with sparklines over it.
async fn run_stack_health(instance: &Instance, q: &pluginv2::DataQuery) -> Result<Vec<Frame>, QueryFailure> {
    let client = &instance.client;
    let range = q.time_range.unwrap_or_default();
    if range.to_epoch_ms < range.from_epoch_ms {
        return Err(QueryError::BadTimeRange { from_ms: range.from_epoch_ms, to_ms: range.to_epoch_ms }.into());
    }
    let (from, to) = (range.from_epoch_ms as f64 / 1000.0, range.to_epoch_ms as f64 / 1000.0);
    // The TSDB itself first: when it does not answer, that is the one thing to say.
    client.query_instant("vector(1)", to, Some(stack::REQUEST_TIMEOUT)).await?;
    let rules = StackRules::from(client.settings());
    let observations = stack::gather(client, &rules, to, from).await;
    let checks = stack::evaluate(&observations, &rules);
    let mut frames = stack::frames(&checks, &observations);
    if let Some(meta) = frames[0].meta.as_mut() {
        let summary = stack::summary_line(&checks);
        meta.custom.get_or_insert_with(Default::default).insert("summary".into(), summary.into());
    }
    Ok(frames)
}

fn pgss_span(q: &pluginv2::DataQuery) -> pgss::Span {
    let range = q.time_range.unwrap_or_default();
    pgss::Span { from: range.from_epoch_ms as f64 / 1000.0, to: range.to_epoch_ms as f64 / 1000.0, interval_ms: q.interval_ms, max_points: q.max_data_points }
}

/// The `query_type` label of own metrics: a known type's name, else `unknown` (bounded).
fn query_type_label(query_type: &str) -> &'static str {
    QueryType::parse(query_type).map_or("unknown", QueryType::as_str)
}
