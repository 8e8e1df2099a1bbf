//! Running `promql` queries: planned by `promql::model`, sent concurrently, answers converted to
//! frames shaped like Grafana's Prometheus datasource, the fallback's markers stripped and its
//! notices added (with `count(INFO)` for each info metric the rewrite relies on).

use std::collections::BTreeMap;

use futures_util::future::join_all;
use crate::pluginv2;

use crate::duration::format_go;
use crate::failure::QueryFailure;
use crate::fallback::{Reason, Rewrite};
use crate::frame::{Frame, Notice, Severity, Values};
use crate::prom::client::PromClient;
use crate::prom::convert::{self, ConvertError};
use crate::promql::model::{self, PromQueryModel, QueryContext};
use crate::promql::fallback_answers;
use crate::promql::frames::decorate_frames;
use crate::settings::Settings;
use crate::telemetry::Telemetry;
use crate::wire::FallbackMode;

/// `format: table` repeats every label value on every row: a bound on the cells it builds.
const MAX_TABLE_CELLS: usize = 5_000_000;

/// The bytes the TSDB's answers to one QueryData request may take together: each answer is
/// bounded by `maxResponseMb`, and a request of many queries by twice that.
pub(super) struct RequestBudget(std::sync::atomic::AtomicUsize);

impl RequestBudget {
    pub fn new() -> RequestBudget {
        RequestBudget(std::sync::atomic::AtomicUsize::new(0))
    }

    fn spend(&self, bytes: usize, settings: &Settings) -> Result<(), QueryFailure> {
        let limit = settings.max_response_bytes.saturating_mul(2);
        let used = self.0.fetch_add(bytes, std::sync::atomic::Ordering::Relaxed) + bytes;
        if used > limit {
            return Err(QueryFailure::new(
                "too_large",
                413,
                format!("the answers to this request's queries together exceed {} MB: fewer or narrower queries, or raise the maximum response size", limit >> 20),
            ));
        }
        Ok(())
    }
}

pub(super) async fn run(client: &PromClient, telemetry: &Telemetry, budget: &RequestBudget, q: &pluginv2::DataQuery) -> Result<Vec<Frame>, QueryFailure> {
    let model = model::parse_model(&q.query_type, &q.json)?;
    let range = q.time_range.unwrap_or_default();
    let context = QueryContext {
        from_ms: range.from_epoch_ms,
        to_ms: range.to_epoch_ms,
        max_data_points: q.max_data_points,
    };
    let planned = model::plan(&model, &context, client.settings())?;
    telemetry.count_rewrite(rewrite_outcome(&planned.rewrite, &model, client.settings()));
    let requests = join_all(planned.requests.iter().map(|request| async move { (request, client.query_for_frames(request).await) }));
    let (answers, info_counts) =
        futures_util::join!(requests, info_counts(client, &planned.rewrite, context.to_ms as f64 / 1000.0));
    let mut frames = Vec::new();
    for (request, answer) in answers {
        let answer = answer?;
        budget.spend(answer.body.len(), client.settings())?;
        let mut converted = convert::convert_answer(&answer).map_err(|e| match e {
            ConvertError::Api { .. } => {
                let status = if answer.status.is_client_error() || answer.status.is_server_error() { answer.status.as_u16() } else { 400 };
                QueryFailure::tsdb(status, e.to_string())
            }
            other => QueryFailure::new("not_prometheus", 502, other.to_string()),
        })?;
        if converted.is_empty() {
            // Keep executedQueryString visible in the inspector when nothing matched.
            converted.push(Frame::default());
        }
        let series = fallback_answers::strip_markers(&mut converted, &planned.rewrite.fallbacks);
        decorate_frames(&mut converted, &planned, request, &series.legend_labels);
        if planned.table {
            let cells = convert::long_table_cells(&converted);
            if cells > MAX_TABLE_CELLS {
                return Err(QueryFailure::new(
                    "too_large",
                    413,
                    format!("format table would build {cells} cells (limit {MAX_TABLE_CELLS}): narrow the query (fewer series or labels, a shorter range or a larger step) or use time series format"),
                ));
            }
            converted = vec![convert::long_table(&converted)];
        }
        let mut notices = fallback_answers::notices(&series, &planned.rewrite.fallbacks, &info_counts);
        notices.extend(planned.rewrite.notes.iter().filter(|n| n.reason == Reason::PlainOrDuplicates).map(|n| Notice {
            severity: Severity::Warning,
            text: n.text.clone(),
        }));
        if !notices.is_empty() {
            telemetry.count_fallback_notice();
        }
        for frame in &mut converted {
            frame.meta.get_or_insert_with(Default::default).notices.extend(notices.iter().cloned());
        }
        frames.extend(converted);
    }
    Ok(frames)
}

fn rewrite_outcome(rewrite: &Rewrite, model: &PromQueryModel, settings: &Settings) -> &'static str {
    let off = match model.fallback_mode() {
        Ok(Some(mode)) => mode == FallbackMode::Off,
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
            Some(window) => format!("count(last_over_time({metric}[{}]))", format_go(window)),
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
