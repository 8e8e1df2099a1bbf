//! The stack-health view's model, pure Rust: the `stackHealth` frames (one table of checks, one
//! sparkline frame per target and measure) turned into tiles grouped by component, worst group
//! first and worst tile first within it, each with its sparklines as SVG paths. Frames come from
//! the backend (backend/src/stack/frames.rs); anything missing or odd becomes an empty cell.
//!
//! Uses the props' types (crate::model) and the frame helpers (crate::frame); view/stack.rs
//! draws it, and nothing here reaches back into the view.


use crate::json::Value;

use crate::frame::{column, kind, number_at, series_points, text_at};
use crate::model::{sort_by, Lookup, PanelInput};
use crate::number::push_fixed;

const FRAME_KIND_CHECKS: &str = "stackHealth";
const FRAME_KIND_SPARKLINE: &str = "stackHealth.sparkline";

/// One check, as a tile.
#[derive(Debug, Clone, PartialEq)]
pub struct Tile {
    pub status: String,
    /// 3 failing, 2 warning, 1 unknown, 0 ok.
    pub severity: u8,
    pub component: String,
    pub name: String,
    pub job: String,
    pub instance: String,
    pub summary: String,
    pub reason: String,
    /// "for 12 min", when the backend knows since when.
    pub duration: Option<String>,
    /// (measure, SVG path, last value) of the target's sparklines.
    pub sparklines: Vec<Sparkline>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Sparkline {
    pub measure: String,
    pub path: String,
    pub last: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub component: String,
    pub worst: u8,
    pub tiles: Vec<Tile>,
}

/// Everything the stack view draws.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StackModel {
    pub summary: Option<String>,
    pub groups: Vec<Group>,
    pub counts: [usize; 4],
}

pub const SPARK_WIDTH: f64 = 120.0;
pub const SPARK_HEIGHT: f64 = 22.0;

/// Whether the input holds `stackHealth` frames.
pub fn is_stack_health(input: &PanelInput) -> bool {
    input.series.iter().any(|f| kind(f) == Some(FRAME_KIND_CHECKS))
}

impl StackModel {
    pub fn from_input(input: &PanelInput) -> Self {
        let mut sparklines: Vec<((String, String), Sparkline)> = Vec::new();
        for frame in input.series.iter().filter(|f| kind(f) == Some(FRAME_KIND_SPARKLINE)) {
            let measure = frame
                .meta
                .as_ref()
                .and_then(|m| m.custom.as_ref())
                .and_then(|c| c.get("measure"))
                .and_then(Value::as_str)
                .unwrap_or(frame.name.as_deref().unwrap_or("value"))
                .to_string();
            let Some((field, points)) = series_points(frame) else { continue };
            let key = (field.label("job"), field.label("instance"));
            sparklines.push((key, Sparkline { path: spark_path(&points), last: points.last().map(|p| p.1), measure }));
        }
        let sparklines = Lookup::new(sparklines);
        let mut model = StackModel::default();
        let mut groups: Vec<Group> = Vec::new();
        for frame in input.series.iter().filter(|f| kind(f) == Some(FRAME_KIND_CHECKS)) {
            if model.summary.is_none() {
                model.summary = frame
                    .meta
                    .as_ref()
                    .and_then(|m| m.custom.as_ref())
                    .and_then(|c| c.get("summary"))
                    .and_then(Value::as_str)
                    .map(str::to_string);
            }
            let rows = column(frame, "status").map(|f| f.values.len()).unwrap_or(0);
            for row in 0..rows {
                let status = text_at(frame, "status", row);
                let severity = number_at(frame, "severity", row).map(|s| s.clamp(0.0, 3.0) as u8).unwrap_or_else(|| severity_of(&status));
                let (job, instance) = (text_at(frame, "job", row), text_at(frame, "instance", row));
                let mut lines: Vec<Sparkline> = sparklines.all(&(job.clone(), instance.clone())).cloned().collect();
                if instance.is_empty() {
                    lines.clear();
                }
                sort_by(&mut lines, |a, b| b.measure.cmp(&a.measure));
                let tile = Tile {
                    severity,
                    component: text_at(frame, "component", row),
                    name: text_at(frame, "check", row),
                    summary: text_at(frame, "summary", row),
                    reason: text_at(frame, "reason", row),
                    duration: number_at(frame, "for_seconds", row).map(|s| format!("for {}", human_duration(s))),
                    sparklines: lines,
                    status,
                    job,
                    instance,
                };
                model.counts[tile.severity as usize] += 1;
                match groups.iter_mut().find(|g| g.component == tile.component) {
                    Some(group) => {
                        group.worst = group.worst.max(tile.severity);
                        group.tiles.push(tile);
                    }
                    None => groups.push(Group { component: tile.component.clone(), worst: tile.severity, tiles: vec![tile] }),
                }
            }
        }
        for group in &mut groups {
            sort_by(&mut group.tiles, |a, b| b.severity.cmp(&a.severity).then_with(|| a.name.cmp(&b.name)));
        }
        sort_by(&mut groups, |a, b| b.worst.cmp(&a.worst).then_with(|| a.component.cmp(&b.component)));
        model.groups = groups;
        model
    }
}

fn severity_of(status: &str) -> u8 {
    match status {
        "failing" => 3,
        "warning" => 2,
        "unknown" => 1,
        _ => 0,
    }
}

/// An SVG path through the points, scaled into the sparkline box (flat in the middle when all
/// values are equal).
pub fn spark_path(points: &[(f64, f64)]) -> String {
    if points.is_empty() {
        return String::new();
    }
    let (t0, t1) = (points[0].0, points[points.len() - 1].0);
    let (lo, hi) = points.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| (lo.min(p.1), hi.max(p.1)));
    let x = |t: f64| if t1 > t0 { (t - t0) / (t1 - t0) * SPARK_WIDTH } else { SPARK_WIDTH / 2.0 };
    let y = |v: f64| if hi > lo { SPARK_HEIGHT - 1.0 - (v - lo) / (hi - lo) * (SPARK_HEIGHT - 2.0) } else { SPARK_HEIGHT / 2.0 };
    let mut path = String::new();
    for (i, &(t, v)) in points.iter().enumerate() {
        path.push_str(if i == 0 { "M" } else { " L" });
        push_fixed(&mut path, x(t), 1);
        path.push(',');
        push_fixed(&mut path, y(v), 1);
    }
    path
}

/// "45 s", "12 min", "3 h", "2 d".
fn human_duration(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    match s {
        0..=89 => format!("{s} s"),
        90..=5399 => format!("{} min", (s + 30) / 60),
        5400..=172_799 => format!("{} h", (s + 1800) / 3600),
        // Saturating: an odd timestamp (or infinity) in a frame must not overflow.
        _ => format!("{} d", s.saturating_add(43_200) / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::parse_input;

    fn input() -> PanelInput {
        parse_input(
            r#"{"series":[
              {"name":"stack health","meta":{"custom":{"pgscope":"stackHealth","summary":"1 of 2 targets up"}},"fields":[
                {"name":"status","type":"string","values":["failing","ok","warning"]},
                {"name":"severity","type":"number","values":[3,0,2]},
                {"name":"component","type":"string","values":["Scrape targets","Scrape targets","Patroni"]},
                {"name":"check","type":"string","values":["query-info 127.0.0.1:19188","node 127.0.0.1:19100","demo"]},
                {"name":"job","type":"string","values":["query-info","node",""]},
                {"name":"instance","type":"string","values":["127.0.0.1:19188","127.0.0.1:19100",""]},
                {"name":"summary","type":"string","values":["query-info down 12 min: names unavailable","node up","demo: paused"]},
                {"name":"reason","type":"string","values":["Target is down","up, 501 samples","paused"]},
                {"name":"for_seconds","type":"number","values":[720,null,null]}]},
              {"name":"up","meta":{"custom":{"pgscope":"stackHealth.sparkline","measure":"up"}},"fields":[
                {"name":"Time","type":"time","values":[0,30000,60000]},
                {"name":"Value","type":"number","labels":{"job":"query-info","instance":"127.0.0.1:19188"},"values":[1,1,0]}]}
            ],"errors":[]}"#,
        )
        .unwrap()
    }

    #[test]
    fn tiles_are_grouped_worst_first_with_their_sparklines() {
        let input = input();
        assert!(is_stack_health(&input));
        let model = StackModel::from_input(&input);
        assert_eq!(model.summary.as_deref(), Some("1 of 2 targets up"));
        assert_eq!(model.groups.iter().map(|g| g.component.as_str()).collect::<Vec<_>>(), ["Scrape targets", "Patroni"]);
        let targets = &model.groups[0].tiles;
        assert_eq!(targets[0].name, "query-info 127.0.0.1:19188");
        assert_eq!(targets[0].duration.as_deref(), Some("for 12 min"));
        assert_eq!(targets[0].sparklines.len(), 1);
        assert_eq!(targets[0].sparklines[0].path, "M0.0,1.0 L60.0,1.0 L120.0,21.0");
        assert_eq!(targets[0].sparklines[0].last, Some(0.0));
        assert!(targets[1].sparklines.is_empty() && targets[1].duration.is_none());
        assert_eq!(model.counts, [1, 0, 1, 1]);
    }

    #[test]
    fn odd_stack_frames_never_panic() {
        for json in [
            r#"{"series":[{"meta":{"custom":{"pgscope":"stackHealth"}},"fields":[{"name":"status","type":"string","values":["failing",1,null]}]}]}"#,
            r#"{"series":[{"meta":{"custom":{"pgscope":"stackHealth"}},"fields":[{"name":"status","type":"string","values":["x"]},{"name":"severity","type":"number","values":[99]}]}]}"#,
            r#"{"series":[{"meta":{"custom":{"pgscope":"stackHealth.sparkline"}},"fields":[{"name":"Value","type":"number","values":[1,"a",null]}]}]}"#,
            r#"{"series":[{"meta":{"custom":{"pgscope":5}},"fields":[]}]}"#,
        ] {
            let input = parse_input(json).unwrap();
            let _ = StackModel::from_input(&input);
        }
        assert_eq!(spark_path(&[]), "");
        assert_eq!(spark_path(&[(5.0, 2.0)]), "M60.0,11.0");
    }

    #[test]
    fn durations_never_overflow() {
        assert_eq!(human_duration(f64::INFINITY), format!("{} d", u64::MAX / 86_400));
        assert_eq!(human_duration(f64::NAN), "0 s");
        assert_eq!(human_duration(-5.0), "0 s");
    }
}
