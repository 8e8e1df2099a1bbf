//! The top-queries view's model, pure Rust: the `pgssTopQueries` frames (one wide table, one
//! sparkline frame per statement; backend/src/pgss/frames.rs) turned into rows with the columns
//! a DBA reads first, sorted and searched. Missing columns (a measure the exporter lacks) are
//! left out, not shown as 0.
//!
//! Uses the props' types (crate::model), the frame helpers (crate::frame) and the table's
//! number format (crate::table); view/pgss.rs draws it, with the rows in view chosen by
//! crate::viewport, and nothing here reaches back into the view.

use std::cmp::Ordering;
use std::sync::{Arc, OnceLock};

use crate::json::Value;

use crate::compare::{self, Compare, State};
use crate::frame::{column, kind, points, series_fields};
use crate::model::{Lookup, PanelInput, Values};
use crate::number::{fixed, shortest};
use crate::table::format_value;

const FRAME_KIND_TOP: &str = "pgss.top";
const FRAME_KIND_SPARKLINE: &str = "pgss.sparkline";

/// Numeric columns shown, in order, when the table has them: (field, header, unit).
pub const COLUMNS: &[(&str, &str, Unit)] = &[
    ("share_of_time", "% of time", Unit::Percent),
    ("exec_time_per_s", "time/s", Unit::Seconds),
    ("calls_per_s", "calls/s", Unit::Count),
    ("exec_time_per_call", "time/call", Unit::Seconds),
    ("rows_per_call", "rows/call", Unit::Count),
    ("hit_ratio", "hit ratio", Unit::Percent),
    ("shared_read_per_s", "read/s", Unit::Bytes),
    ("temp_written_per_s", "temp/s", Unit::Bytes),
    ("wal_bytes_per_s", "WAL/s", Unit::Bytes),
    // pg_stat_kcache (issue 21): CPU time the kernel charged, bytes it really read and wrote.
    ("cpu_user_time_per_call", "CPU user/call", Unit::Seconds),
    ("cpu_system_time_per_call", "CPU sys/call", Unit::Seconds),
    ("disk_read_per_s", "disk read/s", Unit::Bytes),
    ("disk_written_per_s", "disk write/s", Unit::Bytes),
    ("cpu_user_time_per_s", "CPU user/s", Unit::Seconds),
    ("cpu_system_time_per_s", "CPU sys/s", Unit::Seconds),
    ("disk_read_per_call", "disk read/call", Unit::Bytes),
    ("disk_written_per_call", "disk write/call", Unit::Bytes),
    // With a comparison (issue 20): the change of the compared measure, "▲ +112 %" (its
    // `<measure>_change_pct`); after the others unless the options place it.
    ("change", "change", Unit::Change),
];

/// Text columns shown, after the statement, when the table has them and some row a value:
/// (field, header). The type and tags come from the statement's text (issue 21, "" where it
/// does not tell); the top wait is `top_wait_event` with its `top_wait_share`, "Lock:tuple 82 %",
/// sent only where the TSDB holds wait events.
pub const TEXT_COLUMNS: [(&str, &str); 3] = [("statement_type", "type"), ("tags", "tags"), ("top_wait_event", "top wait")];

/// The change column's field name in `COLUMNS`.
const CHANGE: &str = "change";

/// Columns shown when the panel's options choose none: the first this many of `COLUMNS` (the
/// rest only when chosen: every kcache figure per second and per call would not fit).
pub const DEFAULT_COLUMNS: usize = 13;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Percent,
    Seconds,
    Count,
    Bytes,
    /// A change in percent, with its direction (compare.rs `change_text`).
    Change,
}

/// One statement.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub queryid: String,
    pub database: String,
    pub user: String,
    pub name: String,
    pub text: String,
    /// No name was found: the queryid stands in (the fallback badge).
    pub unnamed: bool,
    /// Values of the shown columns, in `TopModel::columns` order (the change column's is the
    /// compared measure's change in percent).
    pub values: Vec<Option<f64>>,
    /// Texts of the shown text columns, in `TopModel::text_columns` order.
    pub texts: Vec<String>,
    /// Against the comparison window (issue 20); None without one.
    pub state: Option<State>,
    /// What the view shows of the comparison, made with the model (the view reads rows only):
    /// the badge's word ("" when unchanged) and the change column's colour (compare.rs `tone`).
    pub badge: &'static str,
    pub tone: &'static str,
    /// The sparkline; its points are read and its path drawn only for rows in view.
    pub spark: Spark,
}

/// A row's sparkline as sent: its series' times and values (packed numbers are shared with the
/// props, not copied). Reading the points of 5,000 sparklines on every refresh, for the ~25
/// rows in view, was a third of building the model (issue 19).
#[derive(Debug, Clone, Default)]
pub struct Spark {
    times: Option<Values>,
    values: Values,
}

impl Spark {
    /// The finite (time, value) points (frame.rs `points`).
    pub fn points(&self) -> Vec<(f64, f64)> {
        points(self.times.as_ref(), &self.values).collect()
    }
}

/// Equal when they draw the same points, as the points they replaced compared.
impl PartialEq for Spark {
    fn eq(&self, other: &Self) -> bool {
        points(self.times.as_ref(), &self.values).eq(points(other.times.as_ref(), &other.values))
    }
}

/// Everything the top-queries view draws.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TopModel {
    /// Indexes into `COLUMNS` of the columns the table has.
    pub columns: Vec<usize>,
    /// Indexes into `TEXT_COLUMNS` of the text columns shown.
    pub text_columns: Vec<usize>,
    /// Shared: sorting and searching 1,000 statements moves pointers, not strings.
    pub rows: Vec<Arc<Row>>,
    pub notices: Vec<String>,
    /// "postgres_exporter (custom queries) · 15 of 15 measures".
    pub schema: String,
    /// Statements in the range before the limit.
    pub statements: Option<f64>,
    /// `statements` was counted on one statement in this many and scaled (a fleet's count).
    pub statements_sample: Option<f64>,
    /// The comparison the table carries and the panel shows (issue 20); its change is the
    /// "change" column.
    pub compare: Option<Compare>,
    /// The change's colours start at this many percent.
    pub threshold: f64,
    /// Each row's name, text, queryid, database and user in lower case, made at the first
    /// search, so a keystroke compares instead of lowering 5,000 strings.
    haystacks: OnceLock<Vec<[String; 5]>>,
}

/// Whether the input holds `pgssTopQueries` frames.
pub fn is_top_queries(input: &PanelInput) -> bool {
    input.series.iter().any(|f| kind(f) == Some(FRAME_KIND_TOP))
}

/// Which column rows are sorted by, and which way.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TopSort {
    /// Index into `TopModel::columns`; None keeps the backend's order.
    pub column: Option<usize>,
    pub descending: bool,
}

impl Default for TopSort {
    fn default() -> Self {
        TopSort { column: None, descending: true }
    }
}

impl TopModel {
    pub fn from_input(input: &PanelInput) -> Self {
        let mut sparks: Vec<((&str, &str), Spark)> = Vec::new();
        for frame in input.series.iter().filter(|f| kind(f) == Some(FRAME_KIND_SPARKLINE)) {
            let Some((field, times)) = series_fields(frame) else { continue };
            let key = (field.label_str("database"), field.label_str("queryid"));
            sparks.push((key, Spark { times: times.cloned(), values: field.values.clone() }));
        }
        let sparks = Lookup::new(sparks);
        let mut model = TopModel::default();
        for frame in input.series.iter().filter(|f| kind(f) == Some(FRAME_KIND_TOP)) {
            let custom = frame.meta.as_ref().and_then(|m| m.custom.as_ref());
            model.schema = custom.and_then(|c| c.get("schema")).and_then(Value::as_str).unwrap_or_default().to_string();
            model.statements = custom.and_then(|c| c.get("statements")).and_then(Value::as_f64);
            model.statements_sample = custom.and_then(|c| c.get("statementsSample")).and_then(Value::as_f64).filter(|n| *n > 1.0);
            for notice in frame.meta.iter().flat_map(|m| m.notices.iter()) {
                if !model.notices.contains(&notice.text) {
                    model.notices.push(notice.text.clone());
                }
            }
            model.compare = Compare::from_custom(custom).filter(|_| compare::shown(&input.options));
            let measure = model.compare.as_ref().map(|c| c.measure.clone()).unwrap_or_default();
            // The field a column reads: the change column the compared measure's change.
            let change_field = format!("{measure}_change_pct");
            let field_name = |i: usize| if COLUMNS[i].0 == CHANGE { change_field.as_str() } else { COLUMNS[i].0 };
            let present = |i: &usize| (COLUMNS[*i].0 != CHANGE || model.compare.is_some()) && frame.fields.iter().any(|f| f.name == field_name(*i));
            let change = COLUMNS.len() - 1;
            model.columns = match input.options.top_columns.as_deref() {
                Some(chosen) if !chosen.is_empty() => chosen.iter().filter_map(|name| COLUMNS.iter().position(|c| c.0 == name)).chain([change]).filter(present).collect(),
                _ => (0..DEFAULT_COLUMNS).chain([change]).filter(present).collect(),
            };
            model.columns.dedup();
            // The change column chosen keeps its place; the one appended goes.
            if model.columns.iter().filter(|&&c| c == change).count() > 1 {
                model.columns.pop();
            }
            if let Some(compare) = &model.compare {
                model.threshold = compare::threshold(compare);
            }
            // Fields looked up once, not per row and value.
            let field = |name: &str| column(frame, name).map(|f| &f.values);
            let states = model.compare.as_ref().and_then(|_| field("state"));
            let text = |values: Option<&Values>, row: usize| values.and_then(|v| v.text(row)).unwrap_or_default();
            let [queryids, databases, users, names, texts, sources] = ["queryid", "database", "user", "name", "text", "name_source"].map(field);
            let measures: Vec<Option<&Values>> = model.columns.iter().map(|&c| field(field_name(c))).collect();
            let (wait_shares, text_fields) = (field("top_wait_share"), TEXT_COLUMNS.map(|c| field(c.0)));
            let text_at = |column: usize, row: usize| {
                let value = text(text_fields[column], row);
                match wait_shares.and_then(|v| v.number(row)).filter(|_| TEXT_COLUMNS[column].0 == "top_wait_event" && !value.is_empty()) {
                    Some(share) => format!("{value} {} %", fixed(share * 100.0, 0)),
                    None => value,
                }
            };
            let rows = queryids.map(Values::len).unwrap_or(0);
            model.text_columns = (0..TEXT_COLUMNS.len()).filter(|&c| (0..rows).any(|row| !text(text_fields[c], row).is_empty())).collect();
            for row in 0..rows {
                let (queryid, database) = (text(queryids, row), text(databases, row));
                let spark = sparks.get(&(database.as_str(), queryid.as_str())).cloned().unwrap_or_default();
                let mut statement = Row {
                    user: text(users, row),
                    name: text(names, row),
                    text: text(texts, row),
                    unnamed: sources.and_then(|v| v.text(row)).is_some_and(|s| s == "queryid"),
                    values: measures.iter().map(|v| v.and_then(|v| v.number(row))).collect(),
                    texts: model.text_columns.iter().map(|&c| text_at(c, row)).collect(),
                    state: states.and_then(|v| v.text(row)).and_then(|s| State::parse(&s)),
                    badge: "",
                    tone: "",
                    spark,
                    queryid,
                    database,
                };
                if model.compare.is_some() {
                    statement.badge = statement.state.filter(|s| s.badged()).map_or("", State::word);
                    statement.tone = compare::tone(model.change(&statement), statement.state, model.threshold);
                }
                model.rows.push(Arc::new(statement));
            }
        }
        model
    }

    /// The rows whose name, text, queryid, database or user contain `search` (any case),
    /// sorted; missing values always last.
    pub fn visible(&self, search: &str, sort: TopSort) -> Vec<Arc<Row>> {
        let needle = lowercase(search.trim());
        let mut rows: Vec<Arc<Row>> = if needle.is_empty() {
            self.rows.clone()
        } else {
            let haystacks = self.haystacks.get_or_init(|| self.rows.iter().map(|r| [&r.name, &r.text, &r.queryid, &r.database, &r.user].map(|f| lowercase(f))).collect());
            self.rows.iter().zip(haystacks).filter(|(_, fields)| fields.iter().any(|f| f.contains(&needle))).map(|(r, _)| r.clone()).collect()
        };
        if let Some(column) = sort.column {
            crate::model::sort_by(&mut rows, |a, b| {
                let (x, y) = (a.values.get(column).copied().flatten(), b.values.get(column).copied().flatten());
                match (x, y) {
                    (Some(x), Some(y)) => {
                        let order = x.partial_cmp(&y).unwrap_or(Ordering::Equal);
                        if sort.descending {
                            order.reverse()
                        } else {
                            order
                        }
                    }
                    (Some(_), None) => Ordering::Less,
                    (None, Some(_)) => Ordering::Greater,
                    (None, None) => Ordering::Equal,
                }
            });
        }
        rows
    }
}

impl TopModel {
    /// A row's change of the compared measure in percent (the change column's value).
    pub fn change(&self, row: &Row) -> Option<f64> {
        let at = self.columns.iter().position(|&c| COLUMNS[c].0 == CHANGE)?;
        row.values.get(at).copied().flatten()
    }

    /// The footer's statement count: "1,234", "about 99,870" when the datasource counted a
    /// sample of the fleet's statements and scaled it, "?" when it did not say.
    pub fn statements_text(&self) -> String {
        match (self.statements, self.statements_sample) {
            (Some(n), Some(_)) => format!("about {}", shortest(n)),
            (Some(n), None) => shortest(n),
            (None, _) => "?".into(),
        }
    }
}

/// A value in its unit: "42.1 %", "12.3 ms", "1.2 MB", "0.56".
pub fn format_unit(value: Option<f64>, unit: Unit) -> String {
    let Some(v) = value else { return "–".into() };
    match unit {
        Unit::Percent => format!("{} %", fixed(v * 100.0, 1)),
        Unit::Seconds if v.abs() >= 1.0 => format!("{} s", fixed(v, 2)),
        Unit::Seconds if v.abs() >= 0.001 => format!("{} ms", fixed(v * 1e3, 2)),
        Unit::Seconds => format!("{} µs", fixed(v * 1e6, 0)),
        Unit::Bytes => {
            let (scaled, suffix) = [(1e9, "GB"), (1e6, "MB"), (1e3, "kB")].iter().find(|(d, _)| v.abs() >= *d).map(|(d, s)| (v / d, *s)).unwrap_or((v, "B"));
            format!("{} {suffix}", fixed(scaled, 1))
        }
        Unit::Count => format_value(Some(v)),
        Unit::Change => compare::change_text(Some(v), None),
    }
}

/// The single-query dashboard's URL for a row (a data link with its queryid and database).
pub fn detail_link(row: &Row) -> String {
    let encode = |s: &str| s.bytes().map(|b| if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") }).collect::<String>();
    format!("/d/pgscope-pgss-query?var-queryid={}&var-database={}", encode(&row.queryid), encode(&row.database))
}

/// `text` in lower case for the search, as `str::to_lowercase` writes it for the scripts
/// statements and names are written in here: ASCII, Latin-1, Latin Extended-A, basic Greek and
/// Cyrillic (İ becomes a plain i); letters of other scripts are kept as they are, so their
/// case matters in a search. Unicode's whole table was ~15 KB of the wasm (issue 19).
pub fn lowercase(text: &str) -> String {
    if text.is_ascii() {
        return text.to_ascii_lowercase();
    }
    text.chars().map(lower_char).collect()
}

fn lower_char(c: char) -> char {
    let code = c as u32;
    let pair = |even_upper: bool| if code.is_multiple_of(2) == even_upper { code + 1 } else { code };
    let lower = match code {
        0x41..=0x5A | 0xC0..=0xD6 | 0xD8..=0xDE | 0x391..=0x3A1 | 0x3A3..=0x3AB | 0x410..=0x42F => code + 32,
        0x130 => 0x69,
        0x178 => 0xFF,
        0x100..=0x12F | 0x132..=0x137 | 0x14A..=0x177 | 0x460..=0x481 | 0x48A..=0x4BF | 0x4D0..=0x52F => pair(true),
        0x139..=0x148 | 0x179..=0x17E | 0x4C1..=0x4CE => pair(false),
        0x386 => 0x3AC,
        0x388..=0x38A => code + 37,
        0x38C => 0x3CC,
        0x38E | 0x38F => code + 63,
        0x400..=0x40F => code + 80,
        0x4C0 => 0x4CF,
        _ => code,
    };
    char::from_u32(lower).unwrap_or(c)
}

#[cfg(test)]
mod tests {
    #[test]
    fn lowercase_is_unicode_s_for_the_scripts_it_covers() {
        use super::{lower_char, lowercase};
        let ranges = [0x00..0x180u32, 0x386..0x3CF, 0x400..0x530];
        for c in ranges.into_iter().flatten().filter_map(char::from_u32).filter(|&c| c != 'İ') {
            let expected: String = c.to_lowercase().collect();
            assert_eq!(lower_char(c).to_string(), expected, "U+{:04X}", c as u32);
        }
        assert_eq!(lowercase("SELECT Ünïcode ΣΊΣΥΦΟΣ Привет İ 漢字 ǅ"), "select ünïcode σίσυφοσ привет i 漢字 ǅ");
    }

    use super::*;
    use crate::model::{parse_input, PanelOptions};

    fn input() -> PanelInput {
        parse_input(
            r#"{"series":[
              {"name":"pgss top queries","meta":{"custom":{"pgscope":"pgss.top","schema":"pgwatch v3 · 14 of 15 measures","statements":3},
                 "notices":[{"severity":"warning","text":"1 of 3 statement(s) have no name"}]},"fields":[
                {"name":"queryid","type":"string","values":["1","2","3"]},
                {"name":"database","type":"string","values":["app","app","shop"]},
                {"name":"user","type":"string","values":["alice","",""]},
                {"name":"name","type":"string","values":["hot path","nightly report","queryid 3"]},
                {"name":"text","type":"string","values":["SELECT hot","SELECT report",""]},
                {"name":"name_source","type":"string","values":["info","info","queryid"]},
                {"name":"share_of_time","type":"number","values":[0.75,0.25,null]},
                {"name":"calls_per_s","type":"number","values":[2,0.5,0]}]},
              {"name":"exec time/s","meta":{"custom":{"pgscope":"pgss.sparkline"}},"fields":[
                {"name":"Time","type":"time","values":[0,1000]},
                {"name":"Value","type":"number","labels":{"database":"app","queryid":"1"},"values":[0.1,0.2]}]}]}"#,
        )
        .unwrap()
    }

    #[test]
    fn rows_carry_the_columns_present_the_badge_and_sparklines() {
        let input = input();
        assert!(is_top_queries(&input));
        let model = TopModel::from_input(&input);
        assert_eq!(model.columns.iter().map(|&c| COLUMNS[c].0).collect::<Vec<_>>(), ["share_of_time", "calls_per_s"]);
        assert_eq!(model.rows.len(), 3);
        assert!(model.rows[2].unnamed && !model.rows[0].unnamed);
        assert!(model.rows[0].spark.points().len() == 2 && model.rows[1].spark.points().is_empty());
        assert_eq!(model.notices, ["1 of 3 statement(s) have no name"]);
        assert_eq!(model.statements, Some(3.0));
        assert_eq!(model.statements_text(), "3");
    }

    #[test]
    fn a_count_taken_on_a_sample_says_about() {
        let mut model = TopModel { statements: Some(99_870.0), statements_sample: Some(10.0), ..TopModel::default() };
        assert_eq!(model.statements_text(), format!("about {}", shortest(99_870.0)));
        model.statements = None;
        assert_eq!(model.statements_text(), "?");
    }

    #[test]
    fn search_and_sort_keep_missing_values_last() {
        let model = TopModel::from_input(&input());
        let ids = |rows: Vec<Arc<Row>>| rows.into_iter().map(|r| r.queryid.clone()).collect::<Vec<_>>();
        assert_eq!(ids(model.visible("", TopSort::default())), ["1", "2", "3"], "the backend's order");
        assert_eq!(ids(model.visible("", TopSort { column: Some(0), descending: false })), ["2", "1", "3"]);
        assert_eq!(ids(model.visible("", TopSort { column: Some(1), descending: true })), ["1", "2", "3"]);
        assert_eq!(ids(model.visible("REPORT", TopSort::default())), ["2"]);
        assert_eq!(ids(model.visible("alice", TopSort::default())), ["1"]);
        assert_eq!(ids(model.visible("shop", TopSort::default())), ["3"]);
        assert_eq!(ids(model.visible(" Queryid 3 ", TopSort::default())), ["3"], "trimmed, any case, the name");
        assert_eq!(ids(model.visible("select", TopSort { column: Some(0), descending: true })), ["1", "2"], "the text, sorted");
        assert!(model.visible("hot path\nselect", TopSort::default()).is_empty(), "no match across two fields");
        assert!(model.visible("postgres", TopSort::default()).is_empty());
    }

    #[test]
    fn columns_follow_the_panel_options() {
        let mut input = input();
        let names = |m: TopModel| m.columns.iter().map(|&c| COLUMNS[c].0).collect::<Vec<_>>();
        input.options.top_columns = Some(vec!["calls_per_s".into(), "wal_bytes_per_s".into(), "nonsense".into(), "share_of_time".into()]);
        assert_eq!(names(TopModel::from_input(&input)), ["calls_per_s", "share_of_time"], "chosen order; absent and unknown left out");
        input.options.top_columns = Some(vec![]);
        assert_eq!(names(TopModel::from_input(&input)), ["share_of_time", "calls_per_s"], "none chosen: all the data has");
        let odd = parse_input(r#"{"options":{"topColumns":"calls_per_s","detailCharts":7,"compareTo":1},"series":[]}"#).unwrap();
        assert_eq!((odd.options.top_columns, odd.options.detail_charts, odd.options.compare_to), (None, None, None), "wrong types mean unset");
        // Dashboards saved with the removed "Change threshold %" option still carry it.
        let set = parse_input(r#"{"options":{"compareTo":"1d","threshold":35},"series":[]}"#).unwrap();
        assert_eq!(set.options, PanelOptions { compare_to: Some("1d".into()), ..PanelOptions::default() });
    }

    #[test]
    fn type_tags_and_top_wait_columns_show_when_rows_have_them() {
        let waited = parse_input(
            r#"{"series":[{"meta":{"custom":{"pgscope":"pgss.top"}},"fields":[
                {"name":"queryid","type":"string","values":["1","2","3"]},
                {"name":"statement_type","type":"string","values":["SELECT","","UPDATE"]},
                {"name":"tags","type":"string","values":["","",""]},
                {"name":"top_wait_event","type":"string","values":["Timeout:PgSleep","",""]},
                {"name":"top_wait_share","type":"number","values":[0.996,null,null]},
                {"name":"calls_per_s","type":"number","values":[1,2,3]}]}]}"#,
        )
        .unwrap();
        let model = TopModel::from_input(&waited);
        assert_eq!(model.text_columns.iter().map(|&c| TEXT_COLUMNS[c].0).collect::<Vec<_>>(), ["statement_type", "top_wait_event"], "no row has tags: no tags column");
        assert_eq!(model.rows[0].texts, ["SELECT", "Timeout:PgSleep 100 %"]);
        assert_eq!(model.rows[1].texts, ["", ""], "no type, never waited: empty, not a guess");
        assert_eq!(model.rows[2].texts, ["UPDATE", ""]);
        let tagged = parse_input(
            r#"{"series":[{"meta":{"custom":{"pgscope":"pgss.top"}},"fields":[
                {"name":"queryid","type":"string","values":["1"]},
                {"name":"tags","type":"string","values":["application=checkout route=/cart"]}]}]}"#,
        )
        .unwrap();
        let model = TopModel::from_input(&tagged);
        assert_eq!(model.text_columns.iter().map(|&c| TEXT_COLUMNS[c].0).collect::<Vec<_>>(), ["tags"], "no wait fields: no top wait column");
        assert_eq!(model.rows[0].texts, ["application=checkout route=/cart"]);
        assert!(TopModel::from_input(&input()).text_columns.is_empty(), "frames without the fields");
    }

    const COMPARED: &str = r#"{"series":[{"meta":{"custom":{"pgscope":"pgss.top","compare":{"label":"1d earlier","from":1,"to":2,"threshold":20,"minCalls":10,
                 "measure":"exec_time_per_call","counts":{"new":1,"gone":1,"regressed":1,"improved":0}}}},"fields":[
                {"name":"queryid","type":"string","values":["1","2","3","4"]},
                {"name":"state","type":"string","values":["regressed","new","gone","unchanged"]},
                {"name":"exec_time_per_call","type":"number","values":[0.0212,0.001,null,0.002]},
                {"name":"exec_time_per_call_then","type":"number","values":[0.01,null,0.004,0.0019]},
                {"name":"exec_time_per_call_change","type":"number","values":[0.0112,null,null,0.0001]},
                {"name":"exec_time_per_call_change_pct","type":"number","values":[112,null,null,5.26]},
                {"name":"cpu_user_time_per_call","type":"number","values":[0.01,0.0005,null,0.001]},
                {"name":"disk_read_per_s","type":"number","values":[0,4096,null,0]},
                {"name":"disk_read_per_call","type":"number","values":[0,1,null,0]}]}]}"#;

    fn compared() -> PanelInput {
        parse_input(COMPARED).unwrap()
    }

    #[test]
    fn a_per_second_measure_is_compared_on_its_per_second_fields() {
        let input = parse_input(
            r#"{"series":[{"meta":{"custom":{"pgscope":"pgss.top","compare":{"label":"previous 1h","measure":"exec_time"}}},"fields":[
                {"name":"queryid","type":"string","values":["1"]},
                {"name":"exec_time_per_s","type":"number","values":[0.5]},
                {"name":"exec_time_per_s_then","type":"number","values":[0.25]},
                {"name":"exec_time_per_s_change_pct","type":"number","values":[100]}]}]}"#,
        )
        .unwrap();
        let model = TopModel::from_input(&input);
        assert_eq!(model.rows.iter().map(|r| model.change(r)).collect::<Vec<_>>(), [Some(100.0)]);

    }

    #[test]
    fn kcache_columns_show_when_present_and_the_per_call_bytes_only_when_chosen() {
        let mut input = compared();
        let names = |m: &TopModel| m.columns.iter().map(|&c| COLUMNS[c].0).collect::<Vec<_>>();
        let model = TopModel::from_input(&input);
        assert_eq!(names(&model), ["exec_time_per_call", "cpu_user_time_per_call", "disk_read_per_s", "change"]);
        assert_eq!(model.rows[1].values[1..3], [Some(0.0005), Some(4096.0)]);
        assert_eq!(model.rows[2].values[1], None, "missing, not 0");
        assert!(TopModel::from_input(&input_without_compare()).columns.iter().all(|&c| !COLUMNS[c].0.starts_with("cpu_")), "absent fields, no column");
        input.options.top_columns = Some(vec!["disk_read_per_call".into()]);
        assert_eq!(names(&TopModel::from_input(&input)), ["disk_read_per_call", "change"], "the change after the chosen columns");
        input.options.top_columns = Some(vec!["change".into(), "disk_read_per_call".into()]);
        assert_eq!(names(&TopModel::from_input(&input)), ["change", "disk_read_per_call"], "where chosen, once");
        assert!(DEFAULT_COLUMNS <= COLUMNS.len() && COLUMNS[DEFAULT_COLUMNS - 1].0 == "disk_written_per_s");
    }

    #[test]
    fn the_frames_threshold_decides_the_colours() {
        // The query decides the states with its threshold (a $threshold variable, say), and
        // the frame says it.
        let at = |frame_threshold: &str| TopModel::from_input(&parse_input(&COMPARED.replace(r#""threshold":20"#, frame_threshold)).unwrap());
        let tones = |model: &TopModel| model.rows.iter().map(|r| r.tone).collect::<Vec<_>>();
        let low = at(r#""threshold":10"#);
        assert_eq!(low.threshold, 10.0);
        assert_eq!(tones(&low), ["worse", "", "", ""], "row 4 changed +5.26 %: unchanged, plain");
        // Row 4 regressed +15 % at the query's 10 %: red, although under the default 20 %.
        let json = COMPARED.replace(r#""threshold":20"#, r#""threshold":10"#).replace(r#""unchanged"]"#, r#""regressed"]"#).replace("5.26]", "15]");
        assert_eq!(tones(&TopModel::from_input(&parse_input(&json).unwrap())), ["worse", "", "", "worse"]);
        let high = at(r#""threshold":150"#);
        assert_eq!(high.threshold, 150.0);
        assert_eq!(tones(&high), ["", "", "", ""], "+112 % is under the frame's 150 %");
        for odd in [r#""threshold":null"#, r#""threshold":"x""#] {
            let model = at(odd);
            assert_eq!((model.threshold, tones(&model)), (20.0, vec!["worse", "", "", ""]), "{odd}: the backend's default, 20 %");
        }
        // A dashboard saved with the removed "Change threshold %" option changes nothing.
        let mut stale = compared();
        stale.options = parse_input(r#"{"options":{"threshold":150}}"#).unwrap().options;
        assert_eq!(tones(&TopModel::from_input(&stale)), ["worse", "", "", ""]);
    }

    fn input_without_compare() -> PanelInput {
        input()
    }

    #[test]
    fn comparison_gives_states_a_sortable_change_and_a_header() {
        let model = TopModel::from_input(&compared());
        let compare = model.compare.as_ref().unwrap();
        assert_eq!(compare.header(), "compared with 1d earlier: 1 regressed · 0 improved · 1 new · 1 gone");
        assert_eq!(model.threshold, 20.0);
        assert_eq!(model.rows.iter().map(|r| r.state.map(State::word)).collect::<Vec<_>>(), [Some("regressed"), Some("new"), Some("gone"), Some("unchanged")]);
        let change = model.columns.iter().position(|&c| COLUMNS[c].0 == "change").unwrap();
        assert_eq!(model.rows.iter().map(|r| model.change(r)).collect::<Vec<_>>(), [Some(112.0), None, None, Some(5.26)]);
        assert_eq!(format_unit(model.rows[0].values[change], COLUMNS[model.columns[change]].2), "▲ +112 %");
        let ids = |rows: Vec<Arc<Row>>| rows.into_iter().map(|r| r.queryid.clone()).collect::<Vec<_>>();
        assert_eq!(ids(model.visible("", TopSort { column: Some(change), descending: true })), ["1", "4", "2", "3"], "largest change first, none last");
        assert_eq!(model.rows.iter().map(|r| (r.badge, r.tone)).collect::<Vec<_>>(), [("regressed", "worse"), ("new", ""), ("gone", ""), ("", "")]);

        // The panel's compareTo "" hides the comparison the query made.
        let mut options_set = compared();
        options_set.options.compare_to = Some(String::new());
        let off = TopModel::from_input(&options_set);
        assert!(off.compare.is_none() && off.columns.iter().all(|&c| COLUMNS[c].0 != "change"));
        // Without a comparison nothing changes.
        let plain = TopModel::from_input(&input());
        assert!(plain.compare.is_none() && plain.rows.iter().all(|r| r.state.is_none() && plain.change(r).is_none()));
    }

    #[test]
    fn units_and_links_read_well() {
        assert_eq!(format_unit(Some(0.4031), Unit::Percent), "40.3 %");
        assert_eq!(format_unit(Some(0.0123), Unit::Seconds), "12.30 ms");
        assert_eq!(format_unit(Some(0.00002), Unit::Seconds), "20 µs");
        assert_eq!(format_unit(Some(2_500_000.0), Unit::Bytes), "2.5 MB");
        assert_eq!(format_unit(None, Unit::Bytes), "–");
        let row = TopModel::from_input(&input()).rows[0].clone();
        assert_eq!(detail_link(&row), "/d/pgscope-pgss-query?var-queryid=1&var-database=app");
    }

    #[test]
    fn odd_frames_never_panic() {
        for json in [
            r#"{"series":[{"meta":{"custom":{"pgscope":"pgss.top"}},"fields":[{"name":"queryid","type":"string","values":["1",2,null]}]}]}"#,
            r#"{"series":[{"meta":{"custom":{"pgscope":"pgss.top"}},"fields":[{"name":"queryid","type":"string","values":["1"]},{"name":"share_of_time","type":"number","values":[]}]}]}"#,
            r#"{"series":[{"meta":{"custom":{"pgscope":"pgss.sparkline"}},"fields":[{"name":"Value","type":"number","values":["x"]}]}]}"#,
        ] {
            let model = TopModel::from_input(&parse_input(json).unwrap());
            let _ = model.visible("x", TopSort { column: Some(5), descending: true });
        }
    }
}
