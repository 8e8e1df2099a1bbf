//! The series table's model, pure Rust: any frames that are not pgscope's own (a PromQL
//! query's series, for one) turned into one row per numeric field with its labels and last
//! value, sorted by the column the user picked. Uses the props' types (crate::model);
//! view/table.rs draws it, and nothing here reaches back into the view.

use std::cmp::Ordering;

use crate::model::{InputField, InputFrame, InputNotice, Labels, PanelInput};

/// One table row: a numeric field of a frame.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesRow {
    pub name: String,
    pub labels: Labels,
    /// The last finite value, if any.
    pub last: Option<f64>,
}

/// Everything the view draws.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TableModel {
    pub rows: Vec<SeriesRow>,
    /// Label names across all rows, `__name__` first, then alphabetical.
    pub label_columns: Vec<String>,
    pub notices: Vec<InputNotice>,
    pub errors: Vec<String>,
}

impl TableModel {
    pub fn from_input(input: &PanelInput) -> Self {
        let mut rows = Vec::new();
        let mut notices: Vec<InputNotice> = Vec::new();
        for frame in &input.series {
            for notice in frame.meta.iter().flat_map(|m| &m.notices) {
                if !notices.contains(notice) {
                    notices.push(notice.clone());
                }
            }
            for field in frame.fields.iter().filter(|f| f.field_type == "number") {
                rows.push(SeriesRow {
                    name: display_name(frame, field),
                    labels: field.labels.clone().unwrap_or_default(),
                    last: (0..field.values.len()).rev().find_map(|i| field.values.number(i)),
                });
            }
        }
        let mut names: Vec<&String> = rows.iter().flat_map(|r| r.labels.keys()).collect();
        crate::model::sort_by(&mut names, |a, b| a.cmp(b));
        names.dedup();
        // A label that only repeats the series name (the legend is `{{displayname}}`) would be
        // a second copy of the first column.
        let mut label_columns: Vec<String> = names
            .into_iter()
            .filter(|label| !rows.iter().all(|r| r.labels.get(label).is_none_or(|v| *v == r.name)))
            .cloned()
            .collect();
        if let Some(i) = label_columns.iter().position(|n| n == "__name__") {
            let name = label_columns.remove(i);
            label_columns.insert(0, name);
        }
        TableModel { rows, label_columns, notices, errors: input.errors.clone() }
    }
}

fn display_name(frame: &InputFrame, field: &InputField) -> String {
    let config = field.config.as_ref();
    [
        config.and_then(|c| c.display_name.clone()),
        config.and_then(|c| c.display_name_from_ds.clone()),
        frame.name.clone(),
    ]
    .into_iter()
    .flatten()
    .find(|n| !n.is_empty())
    .unwrap_or_else(|| {
        let labels = field.labels.clone().unwrap_or_default();
        if labels.is_empty() {
            field.name.clone()
        } else {
            let pairs: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
            format!("{{{}}}", pairs.join(", "))
        }
    })
}

/// A column the table can be sorted by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Column {
    Name,
    Label(String),
    Last,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sort {
    pub column: Column,
    pub descending: bool,
}

impl Default for Sort {
    /// Largest last value first: the series that matter most come first.
    fn default() -> Self {
        Sort { column: Column::Last, descending: true }
    }
}

impl Sort {
    /// The sort after a click on `column`'s header: toggles direction on the same column.
    pub fn clicked(&self, column: Column) -> Sort {
        if self.column == column {
            Sort { column, descending: !self.descending }
        } else {
            let descending = column == Column::Last;
            Sort { column, descending }
        }
    }
}

/// Sorts rows; missing values always go last, whatever the direction. Stable.
pub fn sort_rows(rows: &mut [SeriesRow], sort: &Sort) {
    crate::model::sort_by(rows, |a, b| {
        let ordering = match &sort.column {
            Column::Name => Some(compare_text(&a.name, &b.name)),
            Column::Label(label) => match (a.labels.get(label), b.labels.get(label)) {
                (Some(x), Some(y)) => Some(compare_text(x, y)),
                (Some(_), None) => return Ordering::Less,
                (None, Some(_)) => return Ordering::Greater,
                (None, None) => None,
            },
            Column::Last => match (a.last, b.last) {
                (Some(x), Some(y)) => Some(x.total_cmp(&y)),
                (Some(_), None) => return Ordering::Less,
                (None, Some(_)) => return Ordering::Greater,
                (None, None) => None,
            },
        };
        let ordering = ordering.unwrap_or(Ordering::Equal);
        if sort.descending {
            ordering.reverse()
        } else {
            ordering
        }
    });
}

/// Numbers compare as numbers (queryids exactly, ports), everything else as text.
fn compare_text(a: &str, b: &str) -> Ordering {
    if let (Ok(x), Ok(y)) = (a.parse::<i128>(), b.parse::<i128>()) {
        return x.cmp(&y);
    }
    match (crate::json::number(a), crate::json::number(b)) {
        (Some(x), Some(y)) if x.is_finite() && y.is_finite() => x.total_cmp(&y),
        _ => a.cmp(b),
    }
}

/// A value as the table shows it: up to 3 decimals, thousands as k/M/G beyond a million.
pub fn format_value(value: Option<f64>) -> String {
    let Some(v) = value else { return "–".into() };
    let abs = v.abs();
    let (scaled, suffix) = if abs >= 1e12 {
        (v / 1e12, "T")
    } else if abs >= 1e9 {
        (v / 1e9, "G")
    } else if abs >= 1e6 {
        (v / 1e6, "M")
    } else {
        (v, "")
    };
    let text = crate::number::fixed(scaled, 3);
    let text = text.trim_end_matches('0').trim_end_matches('.');
    let text = if text == "-0" { "0" } else { text };
    format!("{text}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::parse_input;

    const TWO_SERIES: &str = r#"{"series":[
        {"name":"101 in app","refId":"A","fields":[
            {"name":"Time","type":"time","values":[1,2,3]},
            {"name":"Value","type":"number","labels":{"queryid":"101","datname":"app"},"values":[1.5,2.5,null],
             "config":{"displayNameFromDS":"101 in app"}}],
         "meta":{"notices":[{"severity":"warning","text":"names unavailable"}]}},
        {"refId":"A","fields":[
            {"name":"Time","type":"time","values":[1,2]},
            {"name":"Value","type":"number","labels":{"queryid":"9","__name__":"calls"},"values":[7,8]}],
         "meta":{"notices":[{"severity":"warning","text":"names unavailable"}]}}
    ]}"#;

    #[test]
    fn one_row_per_numeric_field_with_its_last_finite_value() {
        let model = TableModel::from_input(&parse_input(TWO_SERIES).unwrap());
        assert_eq!(model.rows.len(), 2);
        assert_eq!(model.rows[0].name, "101 in app");
        assert_eq!(model.rows[0].last, Some(2.5));
        assert_eq!(model.rows[1].name, "{__name__=\"calls\", queryid=\"9\"}");
        assert_eq!(model.rows[1].last, Some(8.0));
        assert_eq!(model.label_columns, ["__name__", "datname", "queryid"]);
        assert_eq!(model.notices.len(), 1, "the same notice on two frames is shown once");
    }

    #[test]
    fn a_label_that_only_repeats_the_name_gets_no_column() {
        let json = r#"{"series":[
            {"fields":[{"type":"number","labels":{"displayname":"SELECT 1","queryid":"7"},"config":{"displayNameFromDS":"SELECT 1"},"values":[1]}]},
            {"fields":[{"type":"number","labels":{"queryid":"8"},"config":{"displayNameFromDS":"8"},"values":[2]}]}
        ]}"#;
        let model = TableModel::from_input(&parse_input(json).unwrap());
        assert_eq!(model.label_columns, ["queryid"]);
    }

    fn row(name: &str, queryid: Option<&str>, last: Option<f64>) -> SeriesRow {
        let labels = queryid.map(|q| [("queryid".to_string(), q.to_string())].into()).unwrap_or_default();
        SeriesRow { name: name.into(), labels, last }
    }

    #[test]
    fn sorting_by_value_name_and_label() {
        let mut rows = vec![row("b", Some("10"), Some(1.0)), row("a", Some("9"), None), row("c", None, Some(5.0))];
        sort_rows(&mut rows, &Sort::default());
        assert_eq!(rows.iter().map(|r| r.name.as_str()).collect::<String>(), "cba");
        sort_rows(&mut rows, &Sort { column: Column::Last, descending: false });
        assert_eq!(rows.iter().map(|r| r.name.as_str()).collect::<String>(), "bca", "missing values stay last");
        sort_rows(&mut rows, &Sort { column: Column::Name, descending: false });
        assert_eq!(rows.iter().map(|r| r.name.as_str()).collect::<String>(), "abc");
        sort_rows(&mut rows, &Sort { column: Column::Label("queryid".into()), descending: false });
        assert_eq!(rows.iter().map(|r| r.name.as_str()).collect::<String>(), "abc", "9 < 10 as numbers");
        sort_rows(&mut rows, &Sort { column: Column::Label("queryid".into()), descending: true });
        assert_eq!(rows.iter().map(|r| r.name.as_str()).collect::<String>(), "bac");
    }

    #[test]
    fn header_clicks_toggle_direction() {
        let sort = Sort::default().clicked(Column::Name);
        assert_eq!(sort, Sort { column: Column::Name, descending: false });
        assert!(sort.clicked(Column::Name).descending);
        assert!(sort.clicked(Column::Last).descending);
    }

    #[test]
    fn values_are_formatted_for_reading() {
        assert_eq!(format_value(None), "–");
        assert_eq!(format_value(Some(2.0)), "2");
        assert_eq!(format_value(Some(0.12345)), "0.123");
        assert_eq!(format_value(Some(-0.0001)), "0");
        assert_eq!(format_value(Some(1_234_567.0)), "1.235M");
        assert_eq!(format_value(Some(117_000.0)), "117000");
    }
}
