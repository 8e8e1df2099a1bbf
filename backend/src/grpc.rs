//! The gRPC face of the plugin: Grafana's pluginv2 Data, Diagnostics and Resource services
//! implemented on the server traits generated from proto/backend.proto (`crate::pluginv2`), so
//! that frames are encoded by `frame` (with the frame meta type Grafana's Prometheus datasource
//! sets) and every failed data response carries its `errorSource`. Only translation happens here.

use std::collections::HashMap;
use std::pin::Pin;

use crate::pluginv2::{
    self, check_health_response::HealthStatus, collect_metrics_response, data_server::Data,
    diagnostics_server::Diagnostics, resource_server::Resource,
};
use tonic::{Request, Response, Status};

use crate::datasource::{Datasource, QueryOutcome};
use crate::failure::ErrorSource;
use crate::frame::{Frame, FrameError};

/// The plugin's gRPC services. Cheap to clone; state lives in `Datasource`.
#[derive(Clone, Default)]
pub struct PluginServices {
    pub datasource: Datasource,
}

#[tonic::async_trait]
impl Data for PluginServices {
    async fn query_data(&self, request: Request<pluginv2::QueryDataRequest>) -> Result<Response<pluginv2::QueryDataResponse>, Status> {
        let request = request.into_inner();
        let outcomes = self.datasource.query_data(&request).await;
        let responses = outcomes.into_iter().map(|(ref_id, outcome)| (ref_id, data_response(outcome))).collect();
        Ok(Response::new(pluginv2::QueryDataResponse { responses }))
    }
}

fn data_response(outcome: QueryOutcome) -> pluginv2::DataResponse {
    let error = |status: u16, message: String, source: ErrorSource| pluginv2::DataResponse {
        error: message,
        status: i32::from(status),
        error_source: source.as_str().to_string(),
        ..Default::default()
    };
    match outcome {
        QueryOutcome::Frames(frames) => match encode(&frames) {
            Ok(encoded) => pluginv2::DataResponse { frames: encoded, status: 200, ..Default::default() },
            Err(e) => error(500, format!("pgscope could not encode the result: {e}"), ErrorSource::Plugin),
        },
        QueryOutcome::Error { status, message, source } => error(status, message, source),
    }
}

/// Frames to Arrow IPC, on up to 4 threads when there are many points (a large range query's
/// encoding was a third of the time it spent in the plugin; `make bench`).
fn encode(frames: &[Frame]) -> Result<Vec<Vec<u8>>, FrameError> {
    const POINTS_PER_THREAD: usize = 100_000;
    let points: usize = frames.iter().map(|f| f.fields.iter().map(|field| field.values.len()).sum::<usize>()).sum();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(4).min(points / POINTS_PER_THREAD).min(frames.len());
    if threads < 2 {
        return frames.iter().map(Frame::to_arrow).collect();
    }
    std::thread::scope(|scope| {
        let parts: Vec<_> = frames
            .chunks(frames.len().div_ceil(threads))
            .map(|part| scope.spawn(|| part.iter().map(Frame::to_arrow).collect::<Result<Vec<_>, _>>()))
            .collect();
        let mut encoded = Vec::with_capacity(frames.len());
        for part in parts {
            encoded.extend(part.join().map_err(|_| FrameError::Arrow("an encoding thread panicked".into()))??);
        }
        Ok(encoded)
    })
}

#[tonic::async_trait]
impl Diagnostics for PluginServices {
    async fn check_health(&self, request: Request<pluginv2::CheckHealthRequest>) -> Result<Response<pluginv2::CheckHealthResponse>, Status> {
        let request = request.into_inner();
        let report = self.datasource.check_health(request.plugin_context.as_ref()).await;
        Ok(Response::new(pluginv2::CheckHealthResponse {
            status: if report.ok { HealthStatus::Ok } else { HealthStatus::Error } as i32,
            message: report.message,
            // Grafana unmarshals the details into a map and answers 500 for anything else
            // (pkg/api/datasources.go): only an object is sent; no details is fine.
            json_details: if report.details.is_object() { serde_json::to_vec(&report.details).unwrap_or_default() } else { Vec::new() },
        }))
    }

    async fn collect_metrics(&self, _request: Request<pluginv2::CollectMetricsRequest>) -> Result<Response<pluginv2::CollectMetricsResponse>, Status> {
        Ok(Response::new(pluginv2::CollectMetricsResponse {
            metrics: Some(collect_metrics_response::Payload { prometheus: self.datasource.telemetry().encode() }),
        }))
    }
}

type ResourceStream = Pin<Box<dyn tokio_stream::Stream<Item = Result<pluginv2::CallResourceResponse, Status>> + Send>>;

#[tonic::async_trait]
impl Resource for PluginServices {
    type CallResourceStream = ResourceStream;

    async fn call_resource(&self, request: Request<pluginv2::CallResourceRequest>) -> Result<Response<ResourceStream>, Status> {
        let request = request.into_inner();
        let (code, body) = self.datasource.call_resource(request.plugin_context.as_ref(), &request.path, &request.url).await;
        let mut headers = HashMap::new();
        headers.insert("content-type".to_string(), pluginv2::StringList { values: vec!["application/json".into()] });
        let response = pluginv2::CallResourceResponse {
            code: i32::from(code),
            headers,
            body: serde_json::to_vec(&body).unwrap_or_default().into(),
        };
        Ok(Response::new(Box::pin(tokio_stream::iter([Ok(response)]))))
    }
}

#[cfg(test)]
mod tests {
    use super::encode;
    use crate::frame::{Field, Frame, Values};

    #[test]
    fn encoding_on_several_threads_keeps_every_frame_in_order() {
        let frames: Vec<Frame> = (0..3_000)
            .map(|i| Frame {
                name: format!("series {i}"),
                fields: vec![
                    Field::new("Time", Values::Time((0..60).map(|t| t * 15_000).collect())),
                    Field::new("Value", Values::Float64((0..60).map(|v| f64::from(v * i)).collect())),
                ],
                ..Default::default()
            })
            .collect();
        let one_by_one: Vec<Vec<u8>> = frames.iter().map(|f| f.to_arrow().unwrap()).collect();
        assert_eq!(encode(&frames).unwrap(), one_by_one);
        // A ragged frame in the second half is still an error, not a lost frame.
        let mut ragged = frames;
        ragged[2_500].fields[1].values = Values::Float64(vec![1.0]);
        assert!(encode(&ragged).is_err());
    }
}
