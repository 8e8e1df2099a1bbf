//! The panel's Leptos components: a sortable table with one row per series (its name, labels
//! and last value), notices and errors above it. Colours come from Grafana's theme through CSS
//! variables the JS glue sets on the container (`--pgscope-*`).

use leptos::prelude::*;

use crate::model::{format_value, sort_rows, Column, PanelInput, Sort, TableModel};

/// The props signal holds the parsed input, or the message to show when it could not be read.
pub type Props = Result<PanelInput, String>;

#[component]
pub fn Panel(props: RwSignal<Props>) -> impl IntoView {
    let model = Memo::new(move |_| props.with(|p| p.as_ref().map(TableModel::from_input).map_err(Clone::clone)));
    let sort = RwSignal::new(Sort::default());
    view! {
        <div class="pgscope-panel" style=CONTAINER_STYLE>
            {move || match model.get() {
                Err(message) => view! { <PanelMessage kind="error" text=message /> }.into_any(),
                Ok(table) => view! { <SeriesTable table=table sort=sort /> }.into_any(),
            }}
        </div>
    }
}

#[component]
fn PanelMessage(kind: &'static str, text: String) -> impl IntoView {
    let colour = if kind == "error" { "var(--pgscope-error, #e02f44)" } else { "var(--pgscope-warning, #ff9830)" };
    view! {
        <div class=format!("pgscope-{kind}") role="alert"
             style=format!("border-left: 3px solid {colour}; padding: 4px 8px; margin-bottom: 6px;")>
            {text}
        </div>
    }
}

#[component]
fn SeriesTable(table: TableModel, sort: RwSignal<Sort>) -> impl IntoView {
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
                        }).collect_view()}
                        <Header title="Last".to_string() column=Column::Last sort=sort />
                    </tr>
                </thead>
                <tbody>
                    {move || {
                        let columns = columns.clone();
                        sorted.get().into_iter().map(move |row| {
                            let cells = columns.iter().map(|label| {
                                let value = row.labels.get(label).cloned().unwrap_or_default();
                                view! { <td style=LABEL_CELL_STYLE>{value}</td> }
                            }).collect_view();
                            view! {
                                <tr class="pgscope-row">
                                    <td style=CELL_STYLE>{row.name.clone()}</td>
                                    {cells}
                                    <td class="pgscope-last" style=NUMBER_CELL_STYLE>{format_value(row.last)}</td>
                                </tr>
                            }
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
    let indicator = move || {
        sort.with(|s| match (s.column == this, s.descending) {
            (true, true) => " ▼",
            (true, false) => " ▲",
            (false, _) => "",
        })
    };
    let aria = {
        let this = column.clone();
        move || {
            sort.with(|s| match (s.column == this, s.descending) {
                (true, true) => "descending",
                (true, false) => "ascending",
                (false, _) => "none",
            })
        }
    };
    view! {
        <th style=HEADER_STYLE aria-sort=aria
            on:click=move |_| sort.update(|s| *s = s.clicked(column.clone()))>
            {title}{indicator}
        </th>
    }
}

const CONTAINER_STYLE: &str = "width: 100%; height: 100%; overflow: auto; box-sizing: border-box; \
    color: var(--pgscope-text, #ccccdc); font-family: var(--pgscope-font, sans-serif); font-size: 13px;";
const TABLE_STYLE: &str = "width: 100%; border-collapse: collapse;";
const HEADER_STYLE: &str = "position: sticky; top: 0; text-align: left; cursor: pointer; user-select: none; \
    padding: 4px 8px; background: var(--pgscope-header-bg, #22252b); color: var(--pgscope-link, #6e9fff); \
    border-bottom: 1px solid var(--pgscope-border, #2c3235); white-space: nowrap;";
const CELL_STYLE: &str = "padding: 3px 8px; border-bottom: 1px solid var(--pgscope-border, #2c3235); \
    overflow-wrap: anywhere;";
const LABEL_CELL_STYLE: &str = "padding: 3px 8px; border-bottom: 1px solid var(--pgscope-border, #2c3235); \
    white-space: nowrap;";
const NUMBER_CELL_STYLE: &str = "padding: 3px 8px; border-bottom: 1px solid var(--pgscope-border, #2c3235); \
    text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap;";
