//! The datasource's request handling, between gRPC (`grpc`) and the pure modules: one
//! `PromClient` per datasource instance (rebuilt when its settings change), queries of one
//! request run concurrently, each query's outcome is frames or an error with an HTTP-like status.
//! Not for: wire formats (see `grpc`, `frame`) or query semantics (see `query`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures_util::future::join_all;
use grafana_plugin_sdk::pluginv2;

use std::collections::BTreeMap;

use crate::fallback_data;
use crate::frame::{Frame, Notice, Severity, Values};
use crate::health::{self, HealthReport};
use crate::prom::client::{ClientError, PromClient};
use crate::prom::convert::{self, ConvertError};
use crate::fallback::{Reason, Rewrite};
use crate::query::{self, QueryContext};
use crate::settings::{Settings, SettingsError};
use crate::telemetry::Telemetry;

/// A query's result: frames, or an error Grafana shows on the panel.
#[derive(Debug, Clone)]
pub enum QueryOutcome {
    Frames(Vec<Frame>),
    Error { status: u16, message: String },
}

#[derive(Clone, Default)]
pub struct Datasource {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    telemetry: Telemetry,
    /// Clients by datasource uid, with the settings' last-updated time they were built from.
    clients: Mutex<HashMap<String, (i64, PromClient)>>,
}

impl Datasource {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn telemetry(&self) -> &Telemetry {
        &self.inner.telemetry
    }

    /// The client for the datasource a request names, built from its settings.
    pub fn client(&self, instance: Option<&pluginv2::DataSourceInstanceSettings>) -> Result<PromClient, SettingsError> {
        let instance = instance.ok_or(SettingsError::Missing)?;
        let key = if instance.uid.is_empty() { instance.id.to_string() } else { instance.uid.clone() };
        let mut clients = self.inner.clients.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((updated, client)) = clients.get(&key) {
            if *updated == instance.last_updated_ms {
                return Ok(client.clone());
            }
        }
        let settings = Settings::from_instance(Some(instance))?;
        let client = PromClient::new(settings, self.inner.telemetry.clone())
            .map_err(|e| SettingsError::Client(e.to_string()))?;
        clients.insert(key, (instance.last_updated_ms, client.clone()));
        Ok(client)
    }

    /// Answers every query of a request, concurrently, in request order.
    pub async fn query_data(&self, request: &pluginv2::QueryDataRequest) -> Vec<(String, QueryOutcome)> {
        let instance = request.plugin_context.as_ref().and_then(|c| c.data_source_instance_settings.as_ref());
        let client = self.client(instance);
        let answers = request.queries.iter().map(|q| {
            let client = client.clone();
            async move {
                let outcome = match client {
                    Ok(client) => self.run_query(&client, q).await,
                    Err(e) => {
                        self.telemetry().count_query(query_type_label(&q.query_type), "bad_settings");
                        QueryOutcome::Error { status: 400, message: format!("Datasource settings: {e}") }
                    }
                };
                (q.ref_id.clone(), outcome)
            }
        });
        join_all(answers).await
    }

    async fn run_query(&self, client: &PromClient, q: &pluginv2::DataQuery) -> QueryOutcome {
        let query_type = query_type_label(&q.query_type);
        let result = match q.query_type.as_str() {
            query::QUERY_TYPE_STACK_HEALTH => self.run_stack_health(client, q).await,
            crate::pgss_query::QUERY_TYPE_TOP => crate::pgss_query::top_queries(client, &q.json, pgss_span(q)).await,
            crate::pgss_query::QUERY_TYPE_ONE => crate::pgss_query::one_query(client, &q.json, pgss_span(q)).await,
            _ => self.run_promql(client, q).await,
        };
        match result {
            Ok(mut frames) => {
                for frame in &mut frames {
                    frame.ref_id = q.ref_id.clone();
                }
                self.telemetry().count_query(query_type, "ok");
                QueryOutcome::Frames(frames)
            }
            Err((outcome, status, message)) => {
                self.telemetry().count_query(query_type, outcome);
                tracing::debug!(ref_id = %q.ref_id, %status, %message, "query failed");
                QueryOutcome::Error { status, message }
            }
        }
    }

    async fn run_promql(&self, client: &PromClient, q: &pluginv2::DataQuery) -> Result<Vec<Frame>, (&'static str, u16, String)> {
        let bad_query = |e: query::QueryError| ("bad_query", 400, e.to_string());
        let model = query::parse_model(&q.query_type, &q.json).map_err(bad_query)?;
        let range = q.time_range.unwrap_or_default();
        let context = QueryContext {
            from_ms: range.from_epoch_ms,
            to_ms: range.to_epoch_ms,
            max_data_points: q.max_data_points,
        };
        let planned = query::plan(&model, &context, client.settings()).map_err(bad_query)?;
        self.telemetry().count_rewrite(rewrite_outcome(&planned.rewrite, &model, client.settings()));
        let requests = join_all(planned.requests.iter().map(|request| async move { (request, client.query_for_frames(request).await) }));
        let (answers, info_counts) =
            futures_util::join!(requests, info_counts(client, &planned.rewrite, context.to_ms as f64 / 1000.0));
        let mut frames = Vec::new();
        for (request, answer) in answers {
            let answer = answer.map_err(|e: ClientError| (e.outcome(), e.status(), e.to_string()))?;
            let mut converted = convert::convert_answer(&answer).map_err(|e| match e {
                ConvertError::Api { .. } => {
                    let status = if answer.status.is_client_error() || answer.status.is_server_error() { answer.status.as_u16() } else { 400 };
                    ("tsdb_error", status, e.to_string())
                }
                other => ("not_prometheus", 502, other.to_string()),
            })?;
            if converted.is_empty() {
                // Keep executedQueryString visible in the inspector when nothing matched.
                converted.push(Frame::default());
            }
            let series = fallback_data::strip_markers(&mut converted, &planned.rewrite.fallbacks);
            query::decorate_frames(&mut converted, &planned, request, &series.legend_labels);
            if planned.table {
                converted = vec![convert::long_table(&converted)];
            }
            let mut notices = fallback_data::notices(&series, &planned.rewrite.fallbacks, &info_counts);
            notices.extend(planned.rewrite.notes.iter().filter(|n| n.reason == Reason::PlainOrDuplicates).map(|n| Notice {
                severity: Severity::Warning,
                text: n.text.clone(),
            }));
            if !notices.is_empty() {
                self.telemetry().count_fallback_notice();
            }
            for frame in &mut converted {
                frame.meta.get_or_insert_with(Default::default).notices.extend(notices.iter().cloned());
            }
            frames.extend(converted);
        }
        Ok(frames)
    }

    /// `stackHealth`: the stack checks at the end of the time range, with sparklines over it.
    async fn run_stack_health(&self, client: &PromClient, q: &pluginv2::DataQuery) -> Result<Vec<Frame>, (&'static str, u16, String)> {
        let range = q.time_range.unwrap_or_default();
        if range.to_epoch_ms < range.from_epoch_ms {
            return Err(("bad_query", 400, query::QueryError::BadTimeRange { from_ms: range.from_epoch_ms, to_ms: range.to_epoch_ms }.to_string()));
        }
        let (from, to) = (range.from_epoch_ms as f64 / 1000.0, range.to_epoch_ms as f64 / 1000.0);
        // The TSDB itself first: when it does not answer, that is the one thing to say.
        let probe = client.query_instant("vector(1)", to, Some(crate::stack::REQUEST_TIMEOUT)).await;
        if let Err(e) = probe {
            return Err((e.outcome(), e.status(), e.to_string()));
        }
        let rules = client.settings().stack_rules();
        let observations = crate::stack::gather(client, &rules, to, from).await;
        let checks = crate::stack::evaluate(&observations, &rules);
        let mut frames = crate::stack::frames(&checks, &observations);
        if let Some(meta) = frames[0].meta.as_mut() {
            let summary = crate::stack::summary_line(&checks);
            meta.custom.get_or_insert_with(Default::default).insert("summary".into(), summary.into());
        }
        Ok(frames)
    }

    /// Save & test.
    pub async fn check_health(&self, instance: Option<&pluginv2::DataSourceInstanceSettings>) -> HealthReport {
        let report = match self.client(instance) {
            Ok(client) => health::check(&client).await,
            Err(e) => HealthReport::error(
                format!("Datasource settings: {e}"),
                "Fix the setting on this page, then Save & test again.",
                "The settings were checked before contacting the TSDB; nothing was sent.".into(),
            ),
        };
        self.telemetry().count_health_check(report.ok);
        report
    }
}

fn rewrite_outcome(rewrite: &Rewrite, model: &query::PromQueryModel, settings: &crate::settings::Settings) -> &'static str {
    let off = match model.fallback.trim() {
        "off" => true,
        "auto" => false,
        _ => !settings.fallback_enabled,
    };
    if off {
        "off"
    } else if rewrite.changed {
        "rewritten"
    } else if rewrite.notes.iter().any(|n| n.reason == Reason::NotAnalysed) {
        "not_analysed"
    } else if rewrite.notes.is_empty() {
        "unchanged"
    } else {
        "skipped"
    }
}

/// `count(INFO)` at `time` for every info metric the rewrite relies on: Some(n), None when it
/// has no series. A failed count is left out (the notice then rests on the markers alone).
async fn info_counts(client: &PromClient, rewrite: &Rewrite, time: f64) -> BTreeMap<String, Option<f64>> {
    let mut metrics: Vec<&str> = rewrite.fallbacks.iter().map(|f| f.info_metric.as_str()).collect();
    metrics.sort();
    metrics.dedup();
    let window = client.settings().fallback_rules.sticky_window;
    let counts = join_all(metrics.into_iter().map(|metric| async move {
        let expr = match window {
            Some(window) => format!("count(last_over_time({metric}[{}]))", crate::duration::format_go(window)),
            None => format!("count({metric})"),
        };
        let answer = client.query_instant(&expr, time, Some(std::time::Duration::from_secs(5))).await.ok()?;
        let frames = convert::convert(&answer.body).ok()?;
        let count = frames.first().and_then(|f| match f.fields.get(1).map(|v| &v.values) {
            Some(Values::Float64(values)) => values.first().copied(),
            _ => None,
        });
        Some((metric.to_string(), count))
    }))
    .await;
    counts.into_iter().flatten().collect()
}

fn pgss_span(q: &pluginv2::DataQuery) -> crate::pgss_query::Span {
    let range = q.time_range.unwrap_or_default();
    crate::pgss_query::Span {
        from: range.from_epoch_ms as f64 / 1000.0,
        to: range.to_epoch_ms as f64 / 1000.0,
        interval_ms: q.interval_ms,
        max_points: q.max_data_points,
    }
}

fn query_type_label(query_type: &str) -> &'static str {
    match query_type {
        "" | query::QUERY_TYPE_PROMQL => "promql",
        query::QUERY_TYPE_STACK_HEALTH => "stackHealth",
        crate::pgss_query::QUERY_TYPE_TOP => "pgssTopQueries",
        crate::pgss_query::QUERY_TYPE_ONE => "pgssQuery",
        _ => "unknown",
    }
}
