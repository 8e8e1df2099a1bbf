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
                return ["calls/s", "exec_time/call", "exec_time/s", "rows/call", "hit_ratio", "plan_time/call", "shared_read/s", "temp_written/s", "wal_bytes/s"]
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
const MEASURES: [&str; 15] = [
    "calls", "exec_time", "plan_time", "rows", "shared_hit", "shared_read", "shared_dirtied", "shared_written",
    "temp_read", "temp_written", "block_read_time", "block_write_time", "wal_records", "wal_fpi", "wal_bytes",
];

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
    /// (time ms, value); None is a gap (no calls in that step, a scrape missing).
    pub points: Vec<(f64, Option<f64>)>,
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
        let (from, to) = range;
        let span = (to - from).max(1.0);
        let top = self.y_max();
        let mut path = String::new();
        let mut pen_down = false;
        for &(t, v) in &self.points {
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

    /// The point nearest to time `t` (ms), for the shared hover read-out.
    pub fn value_at(&self, t: f64) -> Option<(f64, Option<f64>)> {
        self.points.iter().copied().min_by(|a, b| (a.0 - t).abs().total_cmp(&(b.0 - t).abs()))
    }
}

fn nice_ceiling(max: f64) -> f64 {
    if !(max.is_finite() && max > 0.0) {
        return 1.0;
    }
    let magnitude = 10f64.powf(max.log10().floor());
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

impl DetailModel {
    pub fn from_input(input: &PanelInput) -> Self {
        let mut model = DetailModel::default();
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
            let key = format!("{measure}/{per}");
            let suffix = if per_second { "/s" } else { "" };
            model.series.retain(|c| c.key != key); // one chart per key: the last frame's
            model.series.push(Chart { key, title, unit, suffix, points: points_with_gaps(frame) });
        }
        if let (Some(hit), Some(read)) = (model.chart("shared_hit/s"), model.chart("shared_read/s")) {
            let reads = Lookup::new(read.points.iter().map(|&(t, v)| (t as i64, v)).collect());
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
            model.series.retain(|c| c.key != "hit_ratio");
            model.series.push(Chart { key: "hit_ratio".into(), title: "shared buffer hit ratio".into(), unit: Unit::Percent, suffix: "", points });
        }
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
        if !(span > 0.0) {
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
    }

    #[test]
    fn every_measure_the_backend_sends_has_a_chart() {
        // backend/src/pgss/catalog.rs Measure::key(), in its order, written out here once more so a
        // misspelt key in MEASURES fails.
        const KEYS: [&str; 15] = [
            "calls", "exec_time", "plan_time", "rows", "shared_hit", "shared_read", "shared_dirtied", "shared_written",
            "temp_read", "temp_written", "block_read_time", "block_write_time", "wal_records", "wal_fpi", "wal_bytes",
        ];
        for (which, per) in [(Charts::PerSecond, "s"), (Charts::PerCall, "call")] {
            let wanted = which.wanted();
            for key in KEYS {
                let expected = if key == "calls" { "calls/s".to_string() } else { format!("{key}/{per}") };
                assert!(wanted.contains(&expected), "{which:?} lacks {expected}");
            }
        }
        let overview = Charts::Overview.wanted();
        assert!(overview.iter().all(|k| k == "hit_ratio" || KEYS.contains(&k.split('/').next().unwrap())), "{overview:?}");
    }

    #[test]
    fn nice_ceilings() {
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(nice_ceiling(3.0), 5.0);
        assert_eq!(nice_ceiling(0.012), 0.02);
        assert_eq!(nice_ceiling(100.0), 100.0);
        assert_eq!(nice_ceiling(f64::NAN), 1.0);
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
