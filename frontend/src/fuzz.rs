//! Native fuzzing of what the panel reads (issue 17): generated props — frames of every kind the
//! backend sends (`pgss.top`, `pgss.sparkline`, `pgss.query`, `stackHealth`, plain series), with
//! field names the models look for, values of every JSON type, odd numbers, long and non-ASCII
//! texts, packed ranges in and out of bounds — and byte-level mutations of them, through
//! `parse_packed` and every model (table, top queries with every sort and a search, detail
//! charts, paths and hover, stack tiles, the viewport). The panel must never panic: in the browser
//! a panic aborts the wasm instance and the panel stays blank until the page is reloaded.
//!
//! Deterministic: a fixed seed (`PGSCOPE_FUZZ_SEED` to change), `PGSCOPE_FUZZ_CASES` cases
//! (default 2,000 in `make test`; `make fuzz` runs more). Native, not wasm: the models are plain
//! Rust, the same code the wasm build compiles.

use crate::compare;
use crate::detail::{Charts, DetailModel};
use crate::json::Value;
use crate::model::parse_packed;
use crate::pgss::{TopModel, TopSort};
use crate::stack::StackModel;
use crate::table::{sort_rows, Column, Sort, TableModel};
use crate::viewport;

/// xorshift64*: small, deterministic, good enough to pick among choices.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

const KINDS: &[&str] = &["pgss.top", "pgss.sparkline", "pgss.query", "stackHealth", "stackHealth.sparkline", "", "other"];
const FIELDS: &[&str] = &[
    "Time", "Value", "queryid", "name", "name_source", "text", "database", "user", "instance", "share_of_time", "calls_per_s",
    "exec_time_per_s", "exec_time_per_call", "rows_per_call", "hit_ratio", "shared_read_per_s", "status", "severity", "check",
    "component", "message", "target", "job", "since", "measure", "per", "__name__",
    // pg_stat_kcache (issue 21), the comparison (issue 20), wait events' labels.
    "cpu_user_time_per_call", "cpu_system_time_per_s", "disk_read_per_s", "disk_written_per_call", "state", "exec_time_per_call_then",
    "exec_time_per_call_change", "exec_time_per_call_change_pct", "calls_per_s_change_pct", "window", "event", "event_type", "wait_event",
];
/// Measures a frame's custom meta may name: the backend's, the derived and odd ones.
const MEASURES: &[&str] = &["exec_time", "calls", "cpu_user_time", "cpu_system_time", "block_read_time", "block_write_time", "disk_read", "disk_written", "wait", "", "x"];
const TEXTS: &[&str] = &[
    "", "app", "x\u{0}y", "ünïcødé ✓", "<script>alert(1)</script>", "1e309", "NaN", "-0", "failing", "ok", "unknown", "warning", "s", "bytes",
    "new", "gone", "regressed", "improved", "unchanged", "then", "now",
];

fn text(rng: &mut Rng) -> String {
    match rng.below(4) {
        0 => "é".repeat(rng.below(3000)),
        1 => format!("{}", rng.next()),
        _ => rng.pick(TEXTS).to_string(),
    }
}

fn number(rng: &mut Rng) -> String {
    match rng.below(9) {
        0 => "0".to_string(),
        1 => "-1".to_string(),
        2 => "1e308".to_string(),
        3 => "-1e308".to_string(),
        4 => "5e-324".to_string(),
        5 => "18446744073709551616".to_string(),
        6 => format!("{}", rng.next() as i64),
        7 => format!("{}.{}", rng.below(1_000_000), rng.below(1000)),
        _ => format!("{}", rng.below(2_000_000_000_000)),
    }
}

fn quoted(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Any JSON value, nested up to `depth`.
fn value(rng: &mut Rng, depth: usize) -> String {
    match rng.below(if depth == 0 { 4 } else { 7 }) {
        0 => "null".into(),
        1 => number(rng),
        2 => quoted(&text(rng)),
        3 => if rng.chance(50) { "true" } else { "false" }.into(),
        4 => format!("[{}]", (0..rng.below(4)).map(|_| value(rng, depth - 1)).collect::<Vec<_>>().join(",")),
        5 => format!("{{\"packed\":[{},{}]}}", number(rng), number(rng)),
        _ => format!("{{{}}}", (0..rng.below(3)).map(|_| format!("{}:{}", quoted(rng.pick(FIELDS)), value(rng, depth - 1))).collect::<Vec<_>>().join(",")),
    }
}

/// A field's values: mostly of one type (as the backend sends them), sometimes mixed, sometimes
/// packed into the numbers array.
fn values(rng: &mut Rng, rows: usize, numbers: usize) -> String {
    match rng.below(5) {
        0 => format!("{{\"packed\":[{},{}]}}", rng.below(numbers + 2), rng.below(rows + 2)),
        1 => format!("[{}]", (0..rows).map(|_| value(rng, 2)).collect::<Vec<_>>().join(",")),
        2 => format!("[{}]", (0..rows).map(|_| quoted(&text(rng))).collect::<Vec<_>>().join(",")),
        _ => format!("[{}]", (0..rows).map(|_| if rng.chance(10) { "null".into() } else { number(rng) }).collect::<Vec<_>>().join(",")),
    }
}

fn frame(rng: &mut Rng, numbers: usize) -> String {
    let rows = rng.below(40);
    let fields: Vec<String> = (0..rng.below(12))
        .map(|_| {
            let labels = if rng.chance(30) { format!(",\"labels\":{{{}:{}}}", quoted(rng.pick(FIELDS)), quoted(&text(rng))) } else { String::new() };
            let config = if rng.chance(30) { format!(",\"config\":{{\"unit\":{},\"displayName\":{}}}", quoted(rng.pick(TEXTS)), value(rng, 1)) } else { String::new() };
            format!(
                "{{\"name\":{},\"type\":{},\"values\":{}{labels}{config}}}",
                quoted(rng.pick(FIELDS)),
                quoted(rng.pick(&["number", "string", "time", "boolean", "other"])),
                values(rng, rows, numbers)
            )
        })
        .collect();
    let compare = if rng.chance(40) {
        format!(
            ",\"compare\":{{\"label\":{},\"from\":{},\"to\":{},\"threshold\":{},\"minCalls\":{},\"measure\":{},\"counts\":{{\"new\":{},\"gone\":{},\"regressed\":{},\"improved\":{}}}}}",
            quoted(&text(rng)),
            number(rng),
            number(rng),
            value(rng, 0),
            number(rng),
            quoted(rng.pick(FIELDS)),
            value(rng, 0),
            number(rng),
            number(rng),
            value(rng, 1)
        )
    } else if rng.chance(10) {
        format!(",\"compare\":{}", value(rng, 2))
    } else {
        String::new()
    };
    let custom = format!(
        "{{\"pgscope\":{},\"measure\":{},\"per\":{},\"statements\":{},\"schema\":{},\"window\":{}{compare}}}",
        quoted(rng.pick(KINDS)),
        quoted(if rng.chance(50) { rng.pick(MEASURES) } else { rng.pick(FIELDS) }),
        quoted(rng.pick(&["s", "call", "", "x"])),
        number(rng),
        value(rng, 1),
        quoted(rng.pick(&["then", "now", ""]))
    );
    let notices = if rng.chance(30) { format!(",\"notices\":[{{\"severity\":{},\"text\":{}}}]", value(rng, 0), quoted(&text(rng))) } else { String::new() };
    format!("{{\"name\":{},\"refId\":\"A\",\"meta\":{{\"custom\":{custom}{notices}}},\"fields\":[{}]}}", quoted(&text(rng)), fields.join(","))
}

fn props(rng: &mut Rng, numbers: usize) -> String {
    let series: Vec<String> = (0..rng.below(6)).map(|_| frame(rng, numbers)).collect();
    // "threshold": the panel option removed, still in dashboards saved with it.
    let options = if rng.chance(50) {
        format!("{{\"compareTo\":{},\"threshold\":{},\"topColumns\":[{}]}}", quoted(rng.pick(&["", "previous", "1d", "7d", "x"])), value(rng, 0), quoted(rng.pick(FIELDS)))
    } else {
        value(rng, 2)
    };
    format!("{{\"series\":[{}],\"options\":{options},\"width\":{},\"height\":{}}}", series.join(","), number(rng), number(rng))
}

/// Byte-level damage: a cut, a flipped byte, a duplicated run, deep nesting.
fn mutate(rng: &mut Rng, json: String) -> String {
    let mut bytes = json.into_bytes();
    match rng.below(5) {
        0 => bytes.truncate(rng.below(bytes.len() + 1)),
        1 if !bytes.is_empty() => {
            let at = rng.below(bytes.len());
            bytes[at] = rng.next() as u8;
        }
        2 if !bytes.is_empty() => {
            let at = rng.below(bytes.len());
            let end = (at + rng.below(64)).min(bytes.len());
            let run = bytes[at..end].to_vec();
            bytes.splice(at..at, run);
        }
        3 => {
            let depth = rng.below(5000);
            bytes = format!("{{\"series\":[{}{}]}}", "[".repeat(depth), "]".repeat(depth)).into_bytes();
        }
        _ => {}
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

fn exercise(rng: &mut Rng, json: &str, numbers: Vec<f64>) {
    let Ok(input) = parse_packed(json, numbers) else { return };
    let mut table = TableModel::from_input(&input);
    for column in [Column::Name, Column::Last, Column::Label(rng.pick(FIELDS).to_string())] {
        sort_rows(&mut table.rows, &Sort { column, descending: rng.chance(50) });
    }
    let top = TopModel::from_input(&input);
    let search = rng.pick(&["", "a", "ü", "SELECT", "1"]).to_string();
    for column in [None, Some(0), Some(1), Some(top.columns.len().saturating_sub(1)), Some(rng.below(40))] {
        let visible = top.visible(&search, TopSort { column, descending: rng.chance(50) });
        let _ = top.compare.as_ref().map(|c| c.header());
        for row in visible.iter().take(8) {
            let percent = top.change(row);
            let _ = (compare::change_text(percent, row.state), compare::tone(percent, row.state, top.threshold));
        }
        let (start, end) = viewport::window(visible.len(), f64::from(rng.below(100_000) as u32) - 500.0, f64::from(rng.below(2000) as u32));
        let slots = viewport::capacity(f64::from(rng.below(2000) as u32));
        for slot in 0..slots.min(64) {
            let _ = viewport::slot_row(slot, (start, end), slots);
        }
    }
    let detail = DetailModel::from_input(&input);
    let _ = detail.ticks();
    for which in Charts::ALL {
        for chart in detail.charts(which) {
            let _ = (chart.last(), chart.max(), chart.mean(), chart.y_max());
            let _ = chart.format(Some(f64::MAX));
            let _ = chart.path((f64::from(rng.below(1000) as u32), f64::from(rng.below(100_000) as u32)));
            let _ = chart.value_at(rng.next() as f64);
            let range = (f64::from(rng.below(1000) as u32), f64::from(rng.below(100_000) as u32));
            let _ = (chart.then_path(range), chart.areas(range), chart.overlay_svg(range));
        }
    }
    let _ = StackModel::from_input(&input);
}

/// The props read member by member (json.rs `Pull`) as the whole text parsed into a `Value`
/// reads: text that is not JSON is the same error; read, the same frames, fields (the first of
/// a repeated key), names and values.
fn same_as_the_whole_text(json: &str, read: &Result<crate::model::PanelInput, String>) {
    let whole = match crate::json::parse(json) {
        Err(e) => return assert_eq!(read.as_ref().err(), Some(&format!("pgscope panel received data it cannot read: {e}")), "{json}"),
        Ok(whole) => whole,
    };
    let Ok(input) = read else { return };
    let list = |v: Option<&Value>| v.and_then(Value::as_array).cloned().unwrap_or_default();
    let frames = list(whole.get("series"));
    assert_eq!(input.series.len(), frames.len(), "{json}");
    for (frame, value) in input.series.iter().zip(&frames) {
        assert_eq!(frame.name.as_deref(), value.get("name").and_then(Value::as_str), "{json}");
        let fields = list(value.get("fields"));
        assert_eq!(frame.fields.len(), fields.len(), "{json}");
        for (field, value) in frame.fields.iter().zip(&fields) {
            assert_eq!(field.name, value.get("name").and_then(Value::as_str).unwrap_or_default(), "{json}");
            if let Some(Value::Array(items)) = value.get("values") {
                assert_eq!(field.values, crate::model::Values::Json(items.clone()), "{json}");
            }
        }
    }
}

#[test]
fn generated_and_damaged_props_never_panic_any_model() {
    let cases: usize = std::env::var("PGSCOPE_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(2_000);
    let seed: u64 = std::env::var("PGSCOPE_FUZZ_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(0x9E37_79B9_7F4A_7C15);
    let mut rng = Rng(seed | 1);
    let (mut parsed, mut refused) = (0usize, 0usize);
    for case in 0..cases {
        let count = rng.below(64);
        let numbers: Vec<f64> = (0..count)
            .map(|_| match rng.below(6) {
                0 => f64::NAN,
                1 => f64::INFINITY,
                2 => -0.0,
                3 => f64::MAX,
                _ => rng.next() as f64 / 1e6,
            })
            .collect();
        let mut json = props(&mut rng, numbers.len());
        if case % 2 == 1 {
            json = mutate(&mut rng, json);
        }
        let read = parse_packed(&json, numbers.clone());
        same_as_the_whole_text(&json, &read);
        match read {
            Ok(_) => parsed += 1,
            Err(_) => refused += 1,
        }
        exercise(&mut rng, &json, numbers);
    }
    println!("panel fuzz: {cases} cases from seed {seed}: {parsed} read, {refused} refused with an error, no panic");
    assert!(parsed > cases / 10 && refused > 0, "the generator must reach both the models and the errors: {parsed} read, {refused} refused");
}
