//! The series table: one row per series with its labels and last value, sortable by any
//! column from the mouse or the keyboard, drawn from table.rs's `TableModel`. Uses the model,
//! the shared widgets and the styles (`super::widgets`, `super::style`).

use leptos::prelude::*;

use super::style::{CELL_STYLE, HEADER_STYLE, LABEL_CELL_STYLE, NUMBER_CELL_STYLE, TABLE_STYLE};
use super::widgets::{sort_aria, sort_indicator, PanelMessage};
use crate::table::{format_value, sort_rows, Column, Sort, TableModel};

#[component]
pub(super) fn SeriesTable(table: TableModel, sort: RwSignal<Sort>) -> impl IntoView {
    let TableModel { rows, label_columns, notices, errors } = table;
    let row_count = rows.len();
    let sorted = {
        let rows = rows.clone();
        Memo::new(move |_| {
            let mut rows = rows.clone();
            sort.with(|s| sort_rows(&mut rows, s));
            rows
        })
    };
    let columns = label_columns.clone();
    let messages = errors
        .into_iter()
        .map(|text| view! { <PanelMessage kind="error" text=text /> }.into_any())
        .chain(notices.into_iter().map(|n| {
            let kind = if n.severity == "error" { "error" } else { "warning" };
            view! { <PanelMessage kind=kind text=n.text /> }.into_any()
        }))
        .collect_view();
    view! {
        {messages}
        {(row_count == 0).then(|| view! { <div class="pgscope-empty" style="opacity: 0.7; padding: 8px;">"No data"</div> })}
        {(row_count > 0).then(move || view! {
            <table class="pgscope-table" style=TABLE_STYLE>
                <thead>
                    <tr>
                        <Header title="Series".to_string() column=Column::Name sort=sort />
                        {label_columns.iter().map(|label| view! {
                            <Header title=label.clone() column=Column::Label(label.clone()) sort=sort />
                        }.into_any()).collect_view()}
                        <Header title="Last".to_string() column=Column::Last sort=sort />
                    </tr>
                </thead>
                <tbody>
                    {move || {
                        let columns = columns.clone();
                        sorted.get().into_iter().map(move |row| {
                            let cells = columns.iter().map(|label| {
                                let value = row.labels.get(label).cloned().unwrap_or_default();
                                view! { <td style=LABEL_CELL_STYLE>{value}</td> }.into_any()
                            }).collect_view();
                            view! {
                                <tr class="pgscope-row">
                                    <td style=CELL_STYLE>{row.name.clone()}</td>
                                    {cells}
                                    <td class="pgscope-last" style=NUMBER_CELL_STYLE>{format_value(row.last)}</td>
                                </tr>
                            }
                            .into_any()
                        }).collect_view()
                    }}
                </tbody>
            </table>
        })}
    }
}

#[component]
fn Header(title: String, column: Column, sort: RwSignal<Sort>) -> impl IntoView {
    let this = column.clone();
    let state = Memo::new(move |_| sort.with(|s| (s.column == this).then_some(s.descending)));
    // The header takes the click: its padding sorts too, and the button's Enter and Space
    // reach it as a click.
    view! {
        <th style=HEADER_STYLE aria-sort=move || sort_aria(state.get()) on:click=move |_| sort.update(|s| *s = s.clicked(column.clone()))>
            <button type="button" class="pgscope-sort">{title}<span aria-hidden="true">{move || sort_indicator(state.get())}</span></button>
        </th>
    }
}
