//! Reading one data frame, shared by the views' models (stack.rs, pgss.rs, detail.rs): which
//! kind of pgscope frame it is, a field by name, a cell as text or number, a series' points.
//! Part of the model: uses only the props' types (crate::model), never the view; a missing
//! field or an odd cell reads as None or empty, never a panic.

use crate::model::{InputField, InputFrame, Values};

/// The pgscope kind in the frame's custom meta (`{"pgscope": "stackHealth"}`), if any.
pub(crate) fn kind(frame: &InputFrame) -> Option<&str> {
    frame.meta.as_ref()?.custom.as_ref()?.get("pgscope")?.as_str()
}

pub(crate) fn column<'a>(frame: &'a InputFrame, name: &str) -> Option<&'a InputField> {
    frame.fields.iter().find(|f| f.name == name)
}

pub(crate) fn text_at(frame: &InputFrame, name: &str, row: usize) -> String {
    column(frame, name).and_then(|f| f.values.text(row)).unwrap_or_default()
}

pub(crate) fn number_at(frame: &InputFrame, name: &str, row: usize) -> Option<f64> {
    column(frame, name)?.values.number(row)
}

/// A sparkline frame's number field (its labels name the series) and finite (time, value)
/// points (the row index stands in for a missing time); None when it has no number field.
pub(crate) fn series_points(frame: &InputFrame) -> Option<(&InputField, Vec<(f64, f64)>)> {
    let (values, times) = series_fields(frame)?;
    Some((values, points(times, &values.values).collect()))
}

/// A sparkline frame's number field and its time field's values, if any; None when it has no
/// number field. The points are read from them later (`points`), for what is drawn.
pub(crate) fn series_fields(frame: &InputFrame) -> Option<(&InputField, Option<&Values>)> {
    let values = frame.fields.iter().find(|f| f.field_type == "number")?;
    Some((values, frame.fields.iter().find(|f| f.field_type == "time").map(|t| &t.values)))
}

/// The finite (time, value) points of a series (the row index stands in for a missing time).
pub(crate) fn points<'a>(times: Option<&'a Values>, values: &'a Values) -> impl Iterator<Item = (f64, f64)> + 'a {
    (0..values.len()).filter_map(move |i| {
        let t = times.and_then(|t| t.number(i)).unwrap_or(i as f64);
        Some((t, values.number(i)?))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::parse_input;

    #[test]
    fn cells_read_by_field_name_and_odd_ones_read_empty() {
        let input = parse_input(
            r#"{"series":[{"meta":{"custom":{"pgscope":"pgss.top"}},"fields":[
                {"name":"queryid","type":"string","values":["7",8,null]},
                {"name":"calls","type":"number","values":[1.5,"x",null]}]},
              {"meta":{"custom":{"pgscope":5}},"fields":[]}]}"#,
        )
        .unwrap();
        let (frame, odd) = (&input.series[0], &input.series[1]);
        assert_eq!((kind(frame), kind(odd)), (Some("pgss.top"), None));
        assert_eq!([0, 1, 2, 3].map(|row| text_at(frame, "queryid", row)), ["7", "8", "", ""]);
        assert_eq!([0, 1, 2].map(|row| number_at(frame, "calls", row)), [Some(1.5), None, None]);
        assert_eq!((text_at(frame, "user", 0), number_at(frame, "user", 0)), (String::new(), None));
        assert!(column(frame, "queryid").is_some() && column(odd, "queryid").is_none());
    }

    #[test]
    fn series_points_skip_gaps_and_stand_the_row_in_for_a_missing_time() {
        let input = parse_input(
            r#"{"series":[
              {"fields":[{"name":"Time","type":"time","values":[1000,2000,3000]},{"name":"Value","type":"number","labels":{"job":"node"},"values":[1,null,3]}]},
              {"fields":[{"name":"Value","type":"number","values":[5,6]}]},
              {"fields":[{"name":"Time","type":"time","values":[1]}]}]}"#,
        )
        .unwrap();
        let (field, points) = series_points(&input.series[0]).unwrap();
        assert_eq!((field.label("job"), points), ("node".to_string(), vec![(1000.0, 1.0), (3000.0, 3.0)]));
        assert_eq!(series_points(&input.series[1]).unwrap().1, [(0.0, 5.0), (1.0, 6.0)]);
        assert!(series_points(&input.series[2]).is_none(), "no number field");
    }
}
