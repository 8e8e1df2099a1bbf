//! The single-query detail view's model, pure Rust: the `pgssQuery` frames (one per measure and
//! per second / per call; backend/src/pgss/frames.rs) turned into the statement's identity (name,
//! full text, database, users) and one chart per measure on the dashboard's time range, so every
//! chart shares the same time axis. Measures the exporter lacks have no frame and no chart.
//!
//! Uses the props' types (crate::model), the frame helpers (crate::frame) and pgss's units
//! (crate::pgss); view/detail.rs draws it, and nothing here reaches back into the view.


use crate::json::Value;

use crate::frame::kind;
use crate::model::{InputFrame, Lookup, PanelInput};
use crate::number::push_fixed;
use crate::pgss::{format_unit, Unit};

/// The statement's first frame; its other frames (`pgss.series`) are read by their measure.
const FRAME_KIND_QUERY: &str = "pgss.query";

/// Chart box in SVG user units; the SVG stretches to the panel's width.
pub const CHART_WIDTH: f64 = 1000.0;
pub const CHART_HEIGHT: f64 = 100.0;

/// Which charts the view shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Charts {
    /// What a DBA reads first: calls/s, time per call, time/s, rows per call, hit ratio, plan
    /// time per call, reads, temp and WAL per second.
    #[default]
    Overview,
    PerSecond,
    PerCall,
}

impl Charts {
    pub const ALL: [Charts; 3] = [Charts::Overview, Charts::PerSecond, Charts::PerCall];

    pub fn parse(option: Option<&str>) -> Charts {
        match option {
            Some("perSecond") => Charts::PerSecond,
            Some("perCall") => Charts::PerCall,
            _ => Charts::Overview,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Charts::Overview => "overview",
            Charts::PerSecond => "per second",
            Charts::PerCall => "per call",
        }
    }

    /// The keys of the charts shown, in order ("measure/per"; `hit_ratio` is derived from
    /// shared hit and read).
    fn wanted(self) -> Vec<String> {
        let per = match self {
            Charts::Overview => {
                return [
                    "calls/s", "exec_time/call", "exec_time/s", TIME_SPLIT, WAITS, "rows/call", "hit_ratio", "plan_time/call", "shared_read/s", "temp_written/s", "wal_bytes/s",
                ]
                    .map(String::from)
                    .to_vec()
            }
            Charts::PerSecond => "s",
            Charts::PerCall => "call",
        };
        // Calls are always per second; the hit ratio follows rows.
        let mut keys = vec!["calls/s".to_string()];
        for measure in &MEASURES[1..] {
            keys.push(format!("{measure}/{per}"));
            if *measure == "rows" {
                keys.push("hit_ratio".into());
            }
        }
        keys
    }
}

/// The measures the backend sends (backend/src/pgss/catalog.rs `Measure::key`), in its order.
const MEASURES: [&str; 19] = [
    "calls", "exec_time", "plan_time", "rows", "shared_hit", "shared_read", "shared_dirtied", "shared_written",
    "temp_read", "temp_written", "block_read_time", "block_write_time", "wal_records", "wal_fpi", "wal_bytes",
    "cpu_user_time", "cpu_system_time", "disk_read", "disk_written",
];

/// The stacked charts' layer colours, bottom first.
/// The stacked charts' layer colours, bottom first, and their names (the chart's title says
/// which layer has which: no key element, issue 19's size budget).
const PALETTE: [(&str, &str); 7] =
    [("#73bf69", "green"), ("#fade2a", "yellow"), ("#8e8e8e", "grey"), ("#5794f2", "blue"), ("#f2495c", "red"), ("#b877d9", "purple"), ("#ff9830", "orange")];

/// "time per call: CPU (green) · I/O wait (yellow) · other (grey)".
fn keyed_title(title: &str, layers: &[Layer]) -> String {
    let names: Vec<String> = layers.iter().enumerate().map(|(i, l)| format!("{} ({})", l.name, PALETTE[i % PALETTE.len()].1)).collect();
    format!("{title}: {}", names.join(" · "))
}

/// The stacked chart of execution time split into CPU, I/O wait and the rest (`time_split`).
pub const TIME_SPLIT: &str = "time_split";
/// The stacked chart of the statement's wait events (`wait_chart`).
pub const WAITS: &str = "waits";
/// The wait chart's layers: the events with the most time, the rest summed as one.
const MAX_WAIT_LAYERS: usize = 6;

/// One measure over time.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// "exec_time/call": stable, for tests and CSS.
    pub key: String,
    /// "exec time per call".
    pub title: String,
    pub unit: Unit,
    /// "/s" after per-second values.
    pub suffix: &'static str,
    /// (time ms, value); None is a gap (no calls in that step, a scrape missing). A stacked
    /// chart's total.
    pub points: Vec<(f64, Option<f64>)>,
    /// The comparison window's points on the same time axis (issue 20): drawn dashed under
    /// now; empty without a comparison.
    pub then: Vec<(f64, Option<f64>)>,
    /// A stacked chart's layers, bottom first, each on `points`' times; empty for a line.
    pub layers: Vec<Layer>,
}

/// One layer of a stacked chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Layer {
    pub name: String,
    /// On the chart's times; None counts as 0 in the stack.
    pub values: Vec<Option<f64>>,
}

/// A series' (time ms, value) points; None is a gap.
type Points = Vec<(f64, Option<f64>)>;

/// A series' points by time (ms, as whole ms), for joining series step by step.
type ByTime = Lookup<i64, Option<f64>>;

fn by_time(points: &[(f64, Option<f64>)]) -> ByTime {
    Lookup::new(points.iter().map(|&(t, v)| (t as i64, v)).collect())
}

impl Chart {
    pub fn last(&self) -> Option<f64> {
        self.points.iter().rev().find_map(|p| p.1)
    }

    pub fn max(&self) -> Option<f64> {
        self.points.iter().filter_map(|p| p.1).reduce(f64::max)
    }

    pub fn mean(&self) -> Option<f64> {
        let values: Vec<f64> = self.points.iter().filter_map(|p| p.1).collect();
        (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
    }

    /// A value as this chart's legend shows it: "12.30 ms", "3.1 kB/s", "98.0 %".
    pub fn format(&self, value: Option<f64>) -> String {
        match value {
            Some(_) => format!("{}{}", format_unit(value, self.unit), self.suffix),
            None => "–".into(),
        }
    }

    /// The top of the y axis: the maximum rounded up to 1, 2 or 5 × 10ⁿ (1 for ratios); the
    /// axis starts at 0.
    pub fn y_max(&self) -> f64 {
        if self.unit == Unit::Percent {
            return 1.0;
        }
        nice_ceiling(self.max().unwrap_or(0.0))
    }

    /// The SVG path of the line on `range` (ms): gaps break it; points outside are clipped
    /// by the SVG box.
    pub fn path(&self, range: (f64, f64)) -> String {
        self.line(&self.points, range)
    }

    /// The comparison window's line (dashed in the view); empty without one.
    pub fn then_path(&self, range: (f64, f64)) -> String {
        self.line(&self.then, range)
    }

    fn line(&self, points: &[(f64, Option<f64>)], range: (f64, f64)) -> String {
        let (from, to) = range;
        let span = (to - from).max(1.0);
        let top = self.y_max();
        let mut path = String::new();
        let mut pen_down = false;
        for &(t, v) in points {
            let Some(v) = v else {
                pen_down = false;
                continue;
            };
            let x = (t - from) / span * CHART_WIDTH;
            let y = CHART_HEIGHT - (v / top).clamp(0.0, 1.0) * CHART_HEIGHT;
            if !path.is_empty() {
                path.push(' ');
            }
            path.push(if pen_down { 'L' } else { 'M' });
            push_fixed(&mut path, x, 1);
            path.push(',');
            push_fixed(&mut path, y, 1);
            pen_down = true;
        }
        path
    }

    /// A stacked chart's areas, bottom layer first: (layer name, closed SVG path from its
    /// lower edge to its upper). Missing values count as 0; points outside are clipped by
    /// the SVG box.
    pub fn areas(&self, range: (f64, f64)) -> Vec<(String, String)> {
        let (from, to) = range;
        let span = (to - from).max(1.0);
        let top = self.y_max();
        let x = |t: f64| (t - from) / span * CHART_WIDTH;
        let y = |v: f64| CHART_HEIGHT - (v / top).clamp(0.0, 1.0) * CHART_HEIGHT;
        let mut lower = vec![0.0; self.points.len()];
        let mut out = Vec::new();
        for layer in &self.layers {
            let upper: Vec<f64> = lower.iter().enumerate().map(|(i, low)| low + layer.values.get(i).copied().flatten().filter(|v| *v > 0.0).unwrap_or(0.0)).collect();
            let mut path = String::new();
            let edge = upper.iter().zip(&self.points).chain(lower.iter().zip(&self.points).rev());
            for (k, (v, p)) in edge.enumerate() {
                path.push_str(if k == 0 { "M" } else { " L" });
                push_fixed(&mut path, x(p.0), 1);
                path.push(',');
                push_fixed(&mut path, y(*v), 1);
            }
            if !path.is_empty() {
                path.push_str(" Z");
            }
            out.push((layer.name.clone(), path));
            lower = upper;
        }
        out
    }

    /// What the view draws over the grid besides the line, as SVG text: a stacked chart's
    /// areas (each titled with its layer) and the comparison window's dashed line.
    pub fn overlay_svg(&self, range: (f64, f64)) -> String {
        let mut out = String::new();
        for (i, (_, d)) in self.areas(range).into_iter().enumerate() {
            out.push_str(&format!("<path class=\"pgscope-detail-area\" d=\"{d}\" style=\"fill: {}; fill-opacity: 0.7; stroke: none;\"></path>", PALETTE[i % PALETTE.len()].0));
        }
        let then = self.then_path(range);
        if !then.is_empty() {
            out.push_str(&format!(
                "<path class=\"pgscope-detail-then\" d=\"{then}\" style=\"fill: none; stroke: var(--pgscope-unknown, #8e8e8e); stroke-width: 1.5; stroke-dasharray: 5 4; vector-effect: non-scaling-stroke;\"></path>"
            ));
        }
        out
    }

    /// The point nearest to time `t` (ms), for the shared hover read-out.
    pub fn value_at(&self, t: f64) -> Option<(f64, Option<f64>)> {
        self.points.iter().copied().min_by(|a, b| (a.0 - t).abs().total_cmp(&(b.0 - t).abs()))
    }
}

fn nice_ceiling(max: f64) -> f64 {
    if !(max.is_finite() && max > 0.0) {
        return 1.0;
    }
    // The power of ten at or below max, by steps (no powf and log10: ~3 KB of libm in the wasm).
    let mut magnitude = 1.0;
    while magnitude * 10.0 <= max {
        magnitude *= 10.0;
    }
    while magnitude > max {
        magnitude /= 10.0;
    }
    if magnitude == 0.0 {
        return max; // below 1e-323: no power of ten between 0 and it
    }
    [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * magnitude).find(|&c| c >= max * (1.0 - 1e-9)).unwrap_or(10.0 * magnitude)
}

/// Everything the detail view draws.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DetailModel {
    pub queryid: String,
    pub database: String,
    pub users: Vec<String>,
    pub name: String,
    pub text: String,
    /// No name was found: the queryid stands in (the fallback badge).
    pub unnamed: bool,
    pub schema: String,
    /// Measures the exporter does not export (no chart rather than a flat 0).
    pub absent: Vec<String>,
    pub notices: Vec<String>,
    /// Every chart the frames allow, keyed "measure/per"; `charts()` picks and orders them.
    series: Vec<Chart>,
    /// The time axis every chart shares (ms): the dashboard's range, else the data's.
    pub range: (f64, f64),
}

/// Whether the input holds `pgssQuery` frames.
pub fn is_detail(input: &PanelInput) -> bool {
    input.series.iter().any(|f| matches!(kind(f), Some(FRAME_KIND_QUERY)))
}

fn unit_of(grafana_unit: Option<&str>) -> Unit {
    match grafana_unit {
        Some("s") => Unit::Seconds,
        Some("bytes") | Some("Bps") => Unit::Bytes,
        Some("percentunit") => Unit::Percent,
        _ => Unit::Count,
    }
}

fn custom_str(custom: Option<&Value>, key: &str) -> String {
    custom.and_then(|c| c.get(key)).and_then(Value::as_str).unwrap_or_default().to_string()
}

fn custom_strings(custom: Option<&Value>, key: &str) -> Vec<String> {
    custom.and_then(|c| c.get(key)).and_then(Value::as_array).map(|a| a.iter().filter_map(|v| v.as_str().map(String::from)).collect()).unwrap_or_default()
}

/// A frame's (time, value) points; non-numbers and non-finite values are gaps.
fn points_with_gaps(frame: &InputFrame) -> Vec<(f64, Option<f64>)> {
    let Some(values) = frame.fields.iter().find(|f| f.field_type == "number") else { return Vec::new() };
    let times = frame.fields.iter().find(|f| f.field_type == "time");
    (0..values.values.len())
        .filter_map(|i| {
            let t = times?.values.number(i)?;
            Some((t, values.values.number(i)))
        })
        .collect()
}

/// The shared buffer hit ratio from the shared hit and read series: hit / (hit + read) per step,
/// a gap where nothing was read or hit (no ratio, not 0 %).
fn hit_ratio(series: &[Chart]) -> Option<Chart> {
    let hit = series.iter().find(|c| c.key == "shared_hit/s")?;
    let reads = by_time(&series.iter().find(|c| c.key == "shared_read/s")?.points);
    let points = hit
        .points
        .iter()
        .map(|&(t, h)| {
            let ratio = match (h, reads.get(&(t as i64)).copied().flatten()) {
                (Some(h), Some(r)) if h + r > 0.0 => Some(h / (h + r)),
                _ => None, // no buffer access in that step: no ratio, not 0 %
            };
            (t, ratio)
        })
        .collect();
    Some(Chart { key: "hit_ratio".into(), title: "shared buffer hit ratio".into(), unit: Unit::Percent, suffix: "", points, then: Vec::new(), layers: Vec::new() })
}

/// Execution time per call (per second when the frames have no per-call series) split into
/// CPU, I/O wait and the rest, stacked (issue 21). Per step:
///
/// - CPU = pg_stat_kcache's user + system CPU time (what the kernel charged the backend);
/// - I/O wait = block read + write time (track_io_timing: time inside the read and write
///   calls). A read served from the OS page cache is timed there too, but costs CPU (system
///   time), not waiting: where pg_stat_kcache says the kernel read and wrote no bytes from
///   storage in the step (disk read + written = 0), the step has no I/O wait;
/// - other = exec time − CPU − I/O wait: locks, waits, network, the rest.
///
/// The kernel's and PostgreSQL's clocks overlap (system time inside a timed read counts in
/// both), so the parts are capped in that order to add up to the exec time: CPU at most exec
/// time, I/O wait at most what CPU left. Without pg_stat_kcache there is no CPU layer (the rest
/// says it holds CPU); without block times no I/O layer; with neither, no chart. A step
/// without exec time, or without any of the figures a layer needs, is a gap.
fn time_split(series: &[Chart]) -> Option<Chart> {
    let per = if series.iter().any(|c| c.key == "exec_time/call") { "call" } else { "s" };
    let find = |measure: &str| series.iter().find(|c| c.key.strip_prefix(measure).and_then(|rest| rest.strip_prefix('/')) == Some(per));
    let exec = find("exec_time")?;
    let lookup = |measure: &str| find(measure).map(|c| by_time(&c.points));
    let (user, system, read_time, write_time) = (lookup("cpu_user_time"), lookup("cpu_system_time"), lookup("block_read_time"), lookup("block_write_time"));
    let (disk_read, disk_written) = (lookup("disk_read"), lookup("disk_written"));
    let (has_cpu, has_io, has_disk) = (user.is_some() || system.is_some(), read_time.is_some() || write_time.is_some(), disk_read.is_some() || disk_written.is_some());
    if !has_cpu && !has_io {
        return None;
    }
    // The sum of the figures present at `t`; None when none has a value there.
    let sum = |lookups: [&Option<ByTime>; 2], t: i64| {
        let mut total = None;
        for value in lookups.iter().filter_map(|l| l.as_ref()?.get(&t).copied().flatten()) {
            total = Some(total.unwrap_or(0.0) + value.max(0.0));
        }
        total
    };
    let mut layers = Vec::new();
    if has_cpu {
        layers.push(Layer { name: "CPU".into(), values: Vec::new() });
    }
    if has_io {
        layers.push(Layer { name: "I/O wait".into(), values: Vec::new() });
    }
    let other = match (has_cpu, has_io) {
        (true, true) => "other",
        (true, false) => "other (I/O, locks, …)",
        _ => "other (CPU, locks, …)",
    };
    layers.push(Layer { name: other.into(), values: Vec::new() });
    let mut points = Vec::new();
    for &(t, exec) in &exec.points {
        let key = t as i64;
        let cpu = if has_cpu { sum([&user, &system], key) } else { Some(0.0) };
        let io = if has_io { sum([&read_time, &write_time], key) } else { Some(0.0) };
        let parts = match (exec.filter(|e| *e >= 0.0), cpu, io) {
            (Some(exec), Some(cpu), Some(io)) => {
                let io = if has_disk && sum([&disk_read, &disk_written], key) == Some(0.0) { 0.0 } else { io };
                let cpu = cpu.min(exec);
                let io = io.min(exec - cpu);
                Some([cpu, io, exec - cpu - io])
            }
            _ => None,
        };
        points.push((t, exec.filter(|_| parts.is_some())));
        let shown = [has_cpu, has_io, true];
        let values = (0..3).filter(|&i| shown[i]).map(|i| parts.map(|p| p[i]));
        for (layer, value) in layers.iter_mut().zip(values) {
            layer.values.push(value);
        }
    }
    let title = keyed_title(if per == "call" { "time per call" } else { "time per second" }, &layers);
    Some(Chart { key: TIME_SPLIT.into(), title, unit: Unit::Seconds, suffix: if per == "s" { "/s" } else { "" }, points, then: Vec::new(), layers })
}

/// A wait frame's event: its value field's labels `event_type` and `event` as
/// "Lock:transactionid" (the event alone without a type), else the frame's name.
fn wait_name(frame: &InputFrame) -> String {
    let field = frame.fields.iter().find(|f| f.field_type == "number");
    let (event_type, event) = field.map(|f| (f.label("event_type"), f.label("event"))).unwrap_or_default();
    match (event_type.is_empty(), event.is_empty()) {
        (_, true) => frame.name.clone().unwrap_or_default(),
        (true, false) => event,
        (false, false) => format!("{event_type}:{event}"),
    }
}

/// The sum of `values` (one loop for every sum here: each `Iterator::sum` is its own copy in
/// the wasm).
fn add(values: &mut dyn Iterator<Item = f64>) -> f64 {
    let mut total = 0.0;
    for value in values {
        total += value;
    }
    total
}

/// The statement's wait events stacked (issue 21): sessions waiting on each event over time
/// (seconds waited per second), from `pgssQuery` frames whose custom meta says `measure:
/// "wait"` — one frame per event, its value field labelled with the event (`wait_name`). The
/// events with the most time first, at most `MAX_WAIT_LAYERS`, the rest as "other events".
/// None without wait frames (the stack has no pg_wait_sampling or wait_events series).
fn wait_chart(waits: Vec<(String, Points)>) -> Option<Chart> {
    if waits.is_empty() {
        return None;
    }
    // Every event's times, sorted once (by the Lookup every series join here uses).
    let all: Vec<(f64, Option<f64>)> = waits.iter().flat_map(|(_, points)| points.iter().copied()).collect();
    let mut times: Vec<i64> = by_time(&all).keys().copied().collect();
    times.dedup();
    let events: Vec<(f64, ByTime)> = waits.iter().map(|(_, points)| (add(&mut points.iter().filter_map(|p| p.1).filter(|v| *v > 0.0)), by_time(points))).collect();
    let order = crate::model::sorted_indices(events.len(), &mut |a, b| events[b].0.total_cmp(&events[a].0));
    let value = |event: usize, t: &i64| events[event].1.get(t).copied().flatten().filter(|v| *v > 0.0);
    let mut layers = Vec::new();
    for (rank, &event) in order.iter().enumerate() {
        if rank == MAX_WAIT_LAYERS {
            let rest = &order[MAX_WAIT_LAYERS..];
            layers.push(Layer { name: "other events".into(), values: times.iter().map(|t| Some(add(&mut rest.iter().filter_map(|&e| value(e, t))))).collect() });
            break;
        }
        layers.push(Layer { name: waits[event].0.clone(), values: times.iter().map(|t| value(event, t)).collect() });
    }
    let points = (0..times.len()).map(|i| (times[i] as f64, Some(add(&mut layers.iter().filter_map(|l| l.values[i]))))).collect();
    Some(Chart { key: WAITS.into(), title: keyed_title("wait events, sessions waiting", &layers), unit: Unit::Count, suffix: "", points, then: Vec::new(), layers })
}

impl DetailModel {
    pub fn from_input(input: &PanelInput) -> Self {
        let mut model = DetailModel::default();
        // The comparison window's series (issue 20), joined to now's charts by key below.
        let mut then_series: Vec<Chart> = Vec::new();
        let mut waits: Vec<(String, Points)> = Vec::new();
        for frame in &input.series {
            let custom = frame.meta.as_ref().and_then(|m| m.custom.as_ref());
            for notice in frame.meta.iter().flat_map(|m| m.notices.iter()) {
                if !model.notices.contains(&notice.text) {
                    model.notices.push(notice.text.clone());
                }
            }
            if kind(frame) == Some(FRAME_KIND_QUERY) {
                model.queryid = custom_str(custom, "queryid");
                model.database = custom_str(custom, "database");
                model.users = custom_strings(custom, "users");
                model.name = custom_str(custom, "name");
                model.text = custom_str(custom, "text");
                model.unnamed = custom_str(custom, "nameSource") == "queryid";
                model.schema = custom_str(custom, "schema");
                model.absent = custom_strings(custom, "absent");
            }
            // The first frame carries both kinds: its meta says pgss.query, its custom the measure.
            let (measure, per) = (custom_str(custom, "measure"), custom_str(custom, "per"));
            if measure.is_empty() || !matches!(per.as_str(), "s" | "call") {
                continue;
            }
            let field = frame.fields.iter().find(|f| f.field_type == "number");
            let unit = unit_of(field.and_then(|f| f.config.as_ref()).and_then(|c| c.unit.as_deref()));
            let per_second = per == "s";
            let title = format!("{} {}", measure.replace('_', " "), if per_second { "per second" } else { "per call" });
            let suffix = if per_second { "/s" } else { "" };
            // The comparison window's frames (issue 20): their value field labelled window="then".
            let then = field.is_some_and(|f| f.label("window") == "then");
            if measure == "wait" {
                // One frame per event (backend contract, see wait_chart); now only.
                if !then {
                    waits.push((wait_name(frame), points_with_gaps(frame)));
                }
                continue;
            }
            let key = format!("{measure}/{per}");
            let list = if then { &mut then_series } else { &mut model.series };
            list.retain(|c| c.key != key); // one chart per key: the last frame's
            list.push(Chart { key, title, unit, suffix, points: points_with_gaps(frame), then: Vec::new(), layers: Vec::new() });
        }
        // The hit ratio is derived for now only (no dashed then under a ratio).
        model.series.extend(hit_ratio(&model.series));
        for chart in &mut model.series {
            if let Some(then) = then_series.iter_mut().find(|c| c.key == chart.key) {
                chart.then = std::mem::take(&mut then.points);
                chart.title.push_str(" · dashed: then");
            }
        }
        let derived = [time_split(&model.series), wait_chart(waits)];
        model.series.extend(derived.into_iter().flatten());
        let data_range = model.series.iter().flat_map(|c| c.points.iter().map(|p| p.0)).fold(None, |acc: Option<(f64, f64)>, t| {
            Some(acc.map_or((t, t), |(lo, hi)| (lo.min(t), hi.max(t))))
        });
        model.range = match (input.time_range, data_range) {
            (Some(r), _) if r.from.is_finite() && r.to.is_finite() && r.to > r.from => (r.from, r.to),
            (_, Some(r)) => r,
            _ => (0.0, 1.0),
        };
        model
    }

    /// The charts to draw, in order.
    pub fn charts(&self, which: Charts) -> Vec<Chart> {
        which.wanted().iter().filter_map(|key| self.chart(key).cloned()).collect()
    }

    /// The chart for `key` ("measure/per"): a handful, looked through.
    fn chart(&self, key: &str) -> Option<&Chart> {
        self.series.iter().find(|c| c.key == key)
    }

    /// Time ticks for the shared axis: (x in chart units, ms), 4–8 of them at round steps.
    pub fn ticks(&self) -> Vec<(f64, f64)> {
        let (from, to) = self.range;
        let span = to - from;
        // A NaN span (no range to read) draws no ticks either.
        if span.is_nan() || span <= 0.0 {
            return Vec::new();
        }
        const STEPS_MS: [f64; 12] = [1e3, 5e3, 15e3, 30e3, 60e3, 300e3, 900e3, 1800e3, 3600e3, 10800e3, 21600e3, 86400e3];
        let step = STEPS_MS.iter().copied().find(|s| span / s <= 8.0).unwrap_or_else(|| (span / 8.0 / 86400e3).ceil() * 86400e3);
        let mut t = (from / step).ceil() * step;
        let mut ticks = Vec::new();
        while t <= to && ticks.len() < 16 {
            ticks.push(((t - from) / span * CHART_WIDTH, t));
            t += step;
        }
        ticks
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::parse_input;

    fn input() -> PanelInput {
        parse_input(
            r#"{"timeRange":{"from":0,"to":60000},"series":[
              {"name":"calls/s","meta":{"custom":{"pgscope":"pgss.query","measure":"calls","per":"s","queryid":"42","database":"app",
                 "users":["alice","bob"],"name":"hot path","text":"SELECT 1","nameSource":"info","schema":"pgwatch v3 · 14 of 15 measures","absent":["wal_records"]},
                 "notices":[{"severity":"warning","text":"a notice"}]},"fields":[
                {"name":"Time","type":"time","values":[0,15000,30000,45000]},
                {"name":"Value","type":"number","config":{"unit":"ops"},"values":[2,null,4,3]}]},
              {"name":"exec time/call","meta":{"custom":{"pgscope":"pgss.series","measure":"exec_time","per":"call"}},"fields":[
                {"name":"Time","type":"time","values":[0,15000,30000,45000]},
                {"name":"Value","type":"number","config":{"unit":"s"},"values":[0.01,null,0.03,0.02]}]},
              {"name":"shared hit/s","meta":{"custom":{"pgscope":"pgss.series","measure":"shared_hit","per":"s"}},"fields":[
                {"name":"Time","type":"time","values":[0,15000,30000]},
                {"name":"Value","type":"number","config":{"unit":"Bps"},"values":[900,0,100]}]},
              {"name":"shared read/s","meta":{"custom":{"pgscope":"pgss.series","measure":"shared_read","per":"s"}},"fields":[
                {"name":"Time","type":"time","values":[0,15000,30000]},
                {"name":"Value","type":"number","config":{"unit":"Bps"},"values":[100,0,300]}]}]}"#,
        )
        .unwrap()
    }

    #[test]
    fn identity_and_charts_come_from_the_frames() {
        let input = input();
        assert!(is_detail(&input));
        let model = DetailModel::from_input(&input);
        assert_eq!((model.queryid.as_str(), model.database.as_str(), model.name.as_str(), model.text.as_str()), ("42", "app", "hot path", "SELECT 1"));
        assert_eq!(model.users, ["alice", "bob"]);
        assert!(!model.unnamed);
        assert_eq!(model.absent, ["wal_records"]);
        assert_eq!(model.notices, ["a notice"]);
        assert_eq!(model.range, (0.0, 60000.0));
        let keys = |c: Vec<Chart>| c.into_iter().map(|c| c.key).collect::<Vec<_>>();
        assert_eq!(keys(model.charts(Charts::Overview)), ["calls/s", "exec_time/call", "hit_ratio", "shared_read/s"]);
        assert_eq!(keys(model.charts(Charts::PerSecond)), ["calls/s", "hit_ratio", "shared_hit/s", "shared_read/s"]);
        assert_eq!(keys(model.charts(Charts::PerCall)), ["calls/s", "exec_time/call", "hit_ratio"]);
    }

    #[test]
    fn hit_ratio_has_gaps_where_nothing_was_read() {
        let model = DetailModel::from_input(&input());
        let ratio = model.charts(Charts::Overview).into_iter().find(|c| c.key == "hit_ratio").unwrap();
        assert_eq!(ratio.points, [(0.0, Some(0.9)), (15000.0, None), (30000.0, Some(0.25))]);
        assert_eq!(ratio.format(ratio.last()), "25.0 %");
        assert_eq!(ratio.y_max(), 1.0);
    }

    #[test]
    fn paths_share_the_time_axis_and_break_at_gaps() {
        let model = DetailModel::from_input(&input());
        let calls = model.charts(Charts::Overview).remove(0);
        assert_eq!(calls.y_max(), 5.0);
        // 0 s -> x 0, 30 s -> x 500 of 1000 (the range is 60 s, not the data's 45 s); the gap
        // at 15 s starts a new segment.
        assert_eq!(calls.path(model.range), "M0.0,60.0 M500.0,20.0 L750.0,40.0");
        assert_eq!(calls.format(calls.last()), "3/s");
        assert_eq!(calls.value_at(29_000.0), Some((30000.0, Some(4.0))));
        let per_call = &model.charts(Charts::Overview)[1];
        assert_eq!(per_call.format(per_call.max()), "30.00 ms");
        assert_eq!(per_call.mean(), Some(0.02));
    }

    #[test]
    fn axis_ticks_fall_on_round_times() {
        let mut model = DetailModel::from_input(&input());
        assert_eq!(model.ticks().iter().map(|t| t.1).collect::<Vec<_>>(), [0.0, 15000.0, 30000.0, 45000.0, 60000.0]);
        model.range = (1_000.0, 3_601_000.0);
        let ticks = model.ticks();
        assert!((4..=8).contains(&ticks.len()), "{ticks:?}");
        assert!(ticks.iter().all(|t| t.1 % 600_000.0 == 0.0 || t.1 % 900_000.0 == 0.0), "{ticks:?}");
        for range in [(5.0, 5.0), (10.0, 0.0), (f64::NAN, 1.0)] {
            model.range = range;
            assert!(model.ticks().is_empty(), "an empty, reversed or NaN range: {range:?}");
        }
    }

    #[test]
    fn every_measure_the_backend_sends_has_a_chart() {
        // backend/src/pgss/catalog.rs Measure::key(), in its order, written out here once more so a
        // misspelt key in MEASURES fails.
        const KEYS: [&str; 19] = [
            "calls", "exec_time", "plan_time", "rows", "shared_hit", "shared_read", "shared_dirtied", "shared_written",
            "temp_read", "temp_written", "block_read_time", "block_write_time", "wal_records", "wal_fpi", "wal_bytes",
            "cpu_user_time", "cpu_system_time", "disk_read", "disk_written",
        ];
        for (which, per) in [(Charts::PerSecond, "s"), (Charts::PerCall, "call")] {
            let wanted = which.wanted();
            for key in KEYS {
                let expected = if key == "calls" { "calls/s".to_string() } else { format!("{key}/{per}") };
                assert!(wanted.contains(&expected), "{which:?} lacks {expected}");
            }
        }
        let overview = Charts::Overview.wanted();
        assert!(overview.iter().all(|k| [TIME_SPLIT, WAITS, "hit_ratio"].contains(&k.as_str()) || KEYS.contains(&k.split('/').next().unwrap())), "{overview:?}");
    }

    /// A pgssQuery answer with the kcache, block time and disk series per call, a comparison
    /// window and wait events (issues 20 and 21).
    fn split_input(disk_read: &str) -> PanelInput {
        let series = |measure: &str, per: &str, values: &str, extra: &str| {
            format!(
                r#"{{"meta":{{"custom":{{"pgscope":"pgss.series","measure":"{measure}","per":"{per}"{extra}}}}},"fields":[
                {{"name":"Time","type":"time","values":[0,15000,30000]}},
                {{"name":"Value","type":"number","config":{{"unit":"s"}},"values":{values}}}]}}"#
            )
        };
        let wait = |labels: &str, values: &str| {
            format!(
                r#"{{"name":"x","meta":{{"custom":{{"pgscope":"pgss.series","measure":"wait","per":"s"}}}},"fields":[
                {{"name":"Time","type":"time","values":[0,15000,30000]}},
                {{"name":"Value","type":"number","labels":{labels},"values":{values}}}]}}"#
            )
        };
        let frames = [
            series("exec_time", "call", "[0.010, 0.020, null]", r#","queryid":"42""#).replace("pgss.series", "pgss.query"),
            series("cpu_user_time", "call", "[0.004, 0.015, 0.001]", ""),
            series("cpu_system_time", "call", "[0.001, 0.010, 0.001]", ""),
            series("block_read_time", "call", "[0.003, 0.002, 0.001]", ""),
            series("disk_read", "call", disk_read, ""),
            series("exec_time", "call", "[0.005, 0.005, 0.005]", r#","window":"then""#).replace(r#""config""#, r#""labels":{"window":"then"},"config""#),
            wait(r#"{"event_type":"Lock","event":"transactionid"}"#, "[0.5, 0, 1]"),
            wait(r#"{"event_type":"IO","event":"DataFileRead"}"#, "[0.1, 0.2, null]"),
        ];
        parse_input(&format!(r#"{{"timeRange":{{"from":0,"to":30000}},"series":[{}]}}"#, frames.join(","))).unwrap()
    }

    #[test]
    fn time_splits_into_cpu_io_and_other_capped_to_exec_time() {
        let model = DetailModel::from_input(&split_input("[100, 8192, 0]"));
        let split = model.chart(TIME_SPLIT).unwrap();
        assert_eq!(split.layers.iter().map(|l| l.name.as_str()).collect::<Vec<_>>(), ["CPU", "I/O wait", "other"]);
        let at = |i: usize| split.layers.iter().map(|l| l.values[i].map(|v| (v * 1e6).round() / 1e3)).collect::<Vec<_>>();
        // 10 ms: CPU 4 + 1, I/O 3, other 2 (ms).
        assert_eq!(at(0), [Some(5.0), Some(3.0), Some(2.0)]);
        // 20 ms: CPU 25 is more than the exec time (the clocks overlap): CPU 20, nothing else.
        assert_eq!(at(1), [Some(20.0), Some(0.0), Some(0.0)]);
        // No exec time: a gap in every layer.
        assert_eq!((at(2), split.points[2]), (vec![None, None, None], (30000.0, None)));
        assert_eq!(split.points[0], (0.0, Some(0.01)));
        let areas = split.areas(model.range);
        assert_eq!(areas.len(), 3);
        assert!(areas.iter().all(|(_, path)| path.starts_with('M') && path.ends_with(" Z")), "{areas:?}");
        assert_eq!(areas[0].1, "M0.0,75.0 L500.0,0.0 L1000.0,100.0 L1000.0,100.0 L500.0,100.0 L0.0,100.0 Z", "CPU over 0, y max 0.02 s");
        let overlay = split.overlay_svg(model.range);
        assert_eq!(overlay.matches("<path class=\"pgscope-detail-area\"").count(), 3);
        assert!(overlay.contains(&format!("d=\"{}\"", areas[0].1)) && !overlay.contains("pgscope-detail-then"));
        assert_eq!(split.title, "time per call: CPU (green) · I/O wait (yellow) · other (grey)", "the title names each layer's colour");

        // No bytes read from storage in a step: its block read time was the page cache's, CPU.
        let cached = DetailModel::from_input(&split_input("[0, 0, 0]"));
        let split = cached.chart(TIME_SPLIT).unwrap();
        assert_eq!(split.layers[1].values[0], Some(0.0));
        assert!((split.layers[2].values[0].unwrap() - 0.005).abs() < 1e-12);
    }

    #[test]
    fn the_split_names_what_it_lacks_and_needs_cpu_or_io() {
        let mut input = split_input("[1, 1, 1]");
        input.series.retain(|f| !f.meta.as_ref().and_then(|m| m.custom.as_ref()).and_then(|c| c.get("measure")).and_then(Value::as_str).is_some_and(|m| m.starts_with("cpu_")));
        let split = DetailModel::from_input(&input).chart(TIME_SPLIT).cloned().unwrap();
        assert_eq!(split.layers.iter().map(|l| l.name.as_str()).collect::<Vec<_>>(), ["I/O wait", "other (CPU, locks, …)"]);
        input.series.retain(|f| f.meta.as_ref().and_then(|m| m.custom.as_ref()).and_then(|c| c.get("measure")).and_then(Value::as_str) != Some("block_read_time"));
        assert!(DetailModel::from_input(&input).chart(TIME_SPLIT).is_none(), "exec time alone is no split");
        assert!(DetailModel::from_input(&super::tests::input()).chart(TIME_SPLIT).is_none());
    }

    #[test]
    fn then_is_drawn_under_now_and_waits_stack_top_event_first() {
        let model = DetailModel::from_input(&split_input("[1, 1, 1]"));
        let exec = model.chart("exec_time/call").unwrap();
        assert_eq!(exec.points[0], (0.0, Some(0.01)), "now stays now");
        assert_eq!(exec.then, [(0.0, Some(0.005)), (15000.0, Some(0.005)), (30000.0, Some(0.005))]);
        assert_eq!(exec.then_path(model.range), "M0.0,75.0 L500.0,75.0 L1000.0,75.0");
        assert!(exec.overlay_svg(model.range).contains("class=\"pgscope-detail-then\" d=\"M0.0,75.0 L500.0,75.0 L1000.0,75.0\""));
        assert_eq!(exec.title, "exec time per call · dashed: then");
        let plain = model.chart("cpu_user_time/call").unwrap();
        assert_eq!((plain.overlay_svg(model.range), plain.title.as_str()), (String::new(), "cpu user time per call"), "a plain line: nothing more");
        assert!(model.chart("cpu_user_time/call").unwrap().then.is_empty());
        let waits = model.chart(WAITS).unwrap();
        assert_eq!(waits.layers.iter().map(|l| l.name.as_str()).collect::<Vec<_>>(), ["Lock:transactionid", "IO:DataFileRead"]);
        assert_eq!(waits.layers[0].values, [Some(0.5), None, Some(1.0)], "0 is no wait");
        assert_eq!(waits.points, [(0.0, Some(0.6)), (15000.0, Some(0.2)), (30000.0, Some(1.0))]);
        let keys: Vec<String> = model.charts(Charts::Overview).into_iter().map(|c| c.key).collect();
        assert_eq!(keys, ["exec_time/call", TIME_SPLIT, WAITS], "after time per call, before rows");
        assert!(model.charts(Charts::PerCall).iter().all(|c| c.layers.is_empty()), "the stacked charts are the overview's");
    }

    #[test]
    fn many_wait_events_keep_the_top_ones_and_sum_the_rest() {
        let frames: Vec<String> = (0..9)
            .map(|i| format!(r#"{{"meta":{{"custom":{{"pgscope":"pgss.series","measure":"wait","per":"s"}}}},"fields":[{{"name":"Time","type":"time","values":[0]}},{{"name":"Value","type":"number","labels":{{"event":"e{i}"}},"values":[{i}]}}]}}"#))
            .collect();
        let model = DetailModel::from_input(&parse_input(&format!(r#"{{"series":[{}]}}"#, frames.join(","))).unwrap());
        let waits = model.chart(WAITS).unwrap();
        assert_eq!(waits.layers.iter().map(|l| l.name.as_str()).collect::<Vec<_>>(), ["e8", "e7", "e6", "e5", "e4", "e3", "other events"]);
        assert!(waits.title.starts_with("wait events, sessions waiting: e8 (green) · e7 (yellow)") && waits.title.ends_with("other events (orange)"), "{}", waits.title);
        assert_eq!(waits.layers[6].values, [Some(3.0)], "e2 + e1 + e0");
        assert_eq!(waits.points, [(0.0, Some(36.0))]);
    }

    #[test]
    fn nice_ceilings() {
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(nice_ceiling(3.0), 5.0);
        assert_eq!(nice_ceiling(0.012), 0.02);
        assert_eq!(nice_ceiling(100.0), 100.0);
        assert_eq!(nice_ceiling(f64::NAN), 1.0);
        assert_eq!((nice_ceiling(1000.0), nice_ceiling(1001.0), nice_ceiling(5e-324)), (1000.0, 2000.0, 5e-324));
        for max in [0.0007, 0.3, 7.0, 42.0, 99.0, 1e9 + 1.0, 123456.0, 1e308, f64::MAX, 1e-300] {
            let top = nice_ceiling(max);
            assert!(top >= max * (1.0 - 1e-9) && top <= max * 10.0, "{max} -> {top}");
        }
    }

    #[test]
    fn odd_frames_never_panic_and_the_data_range_stands_in() {
        for json in [
            r#"{"series":[{"meta":{"custom":{"pgscope":"pgss.query","users":"x","measure":"calls","per":"s"}},"fields":[{"name":"Value","type":"number","values":[1]}]}]}"#,
            r#"{"series":[{"meta":{"custom":{"pgscope":"pgss.query","measure":"calls","per":"s"}},"fields":[{"name":"Time","type":"time","values":[5,"x",null]},{"name":"Value","type":"number","values":[1e308,2]}]}]}"#,
            r#"{"timeRange":{"from":10,"to":5},"series":[{"meta":{"custom":{"pgscope":"pgss.query"}},"fields":[]}]}"#,
        ] {
            let model = DetailModel::from_input(&parse_input(json).unwrap());
            for which in Charts::ALL {
                for chart in model.charts(which) {
                    let _ = (chart.path(model.range), chart.format(chart.max()), chart.value_at(0.0));
                }
            }
            let _ = model.ticks();
        }
        let model = DetailModel::from_input(&parse_input(r#"{"series":[{"meta":{"custom":{"pgscope":"pgss.query","measure":"calls","per":"s"}},"fields":[{"name":"Time","type":"time","values":[1000,9000]},{"name":"Value","type":"number","values":[1,2]}]}]}"#).unwrap());
        assert_eq!(model.range, (1000.0, 9000.0));
    }
}
