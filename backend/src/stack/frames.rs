//! The `stackHealth` query type's frames: the checks as one table (worst first) and sparklines
//! of `up` and samples per target, in the frame kinds the panel recognises (`wire`).

use super::{Check, Observations};
use crate::frame::{Field, Frame, FrameMeta, Labels, Values};
use crate::wire::{FRAME_KIND_STACK_CHECKS, FRAME_KIND_STACK_SPARKLINE};

fn custom_meta(kind: &str, frame_type: &str, extra: &[(&str, &str)]) -> Option<FrameMeta> {
    let custom = extra.iter().map(|(k, v)| ((*k).to_string(), serde_json::Value::from(*v))).collect();
    Some(FrameMeta::pgscope(kind, frame_type, custom))
}

/// The value a sparkline ends on: the target's state now (targets API) or its last scrape's
/// sample count, so a tile never shows an OK target whose line still ends at its old 0.
fn current_value(measure: &str, obs: &Observations, job: Option<&String>, instance: Option<&String>) -> Option<f64> {
    let (job, instance) = (job?, instance?);
    match measure {
        "up" => obs.targets.iter().flatten().find(|t| &t.job == job && &t.instance == instance)?.up.map(|up| f64::from(u8::from(up))),
        _ => obs
            .samples_now
            .iter()
            .flatten()
            .find(|(labels, _)| labels.get("job") == Some(job) && labels.get("instance") == Some(instance))
            .map(|(_, v)| *v),
    }
}

/// The checks as one table frame (worst first) plus sparklines of `up` and
/// `scrape_samples_scraped` per target, each ending at the evaluation time with the value now.
pub fn frames(checks: &[Check], obs: &Observations) -> Vec<Frame> {
    let strings = |f: fn(&Check) -> String| Values::String(checks.iter().map(f).collect());
    let table = Frame {
        name: "stack health".into(),
        ref_id: String::new(),
        meta: custom_meta(FRAME_KIND_STACK_CHECKS, "table", &[]),
        fields: vec![
            Field::new("status", strings(|c| c.status.as_str().into())),
            Field::new("severity", Values::Float64(checks.iter().map(|c| c.status as u8 as f64).collect())),
            Field::new("component", strings(|c| c.component.into())),
            Field::new("check", strings(|c| c.name.clone())),
            Field::new("job", strings(|c| c.job.clone())),
            Field::new("instance", strings(|c| c.instance.clone())),
            Field::new("summary", strings(|c| c.summary.clone())),
            Field::new("reason", strings(|c| c.reason.clone())),
            Field::new("for_seconds", Values::Float64(checks.iter().map(|c| c.since.map(|t| obs.at - t).unwrap_or(f64::NAN)).collect())),
        ],
    };
    let mut frames = vec![table];
    for (measure, series) in [("up", &obs.up), ("samples", &obs.samples)] {
        for (labels, points) in series.iter().flatten() {
            let mut kept = Labels::new();
            for name in ["job", "instance"] {
                if let Some(v) = labels.get(name) {
                    kept.insert(name.into(), v.clone());
                }
            }
            let mut points = points.clone();
            let now = current_value(measure, obs, labels.get("job"), labels.get("instance"));
            if let Some(now) = now.filter(|_| points.last().is_none_or(|last| last.0 < obs.at)) {
                points.push((obs.at, now));
            }
            frames.push(Frame {
                name: measure.into(),
                ref_id: String::new(),
                meta: custom_meta(FRAME_KIND_STACK_SPARKLINE, "timeseries-multi", &[("measure", measure)]),
                fields: vec![
                    Field::new("Time", Values::Time(points.iter().map(|p| (p.0 * 1000.0).round() as i64).collect())),
                    Field::new("Value", Values::Float64(points.iter().map(|p| p.1).collect())).with_labels(kept),
                ],
            });
        }
    }
    frames
}

