//! The view layer: the panel's Leptos components, one file per view, named as the model file
//! it draws (view/pgss.rs draws pgss.rs, and so on): pgss top queries (`pgss`), one statement
//! in detail (`detail`), the stack-health tiles (`stack`), the series table (`table`), with the
//! pieces they share (`widgets`) and their styles (`style`). This file picks the view for the
//! props and holds the state that outlives a redraw (sort, search, scroll, hover). Colours come
//! from Grafana's theme through CSS variables the JS glue sets on the container
//! (`--pgscope-*`).
//!
//! The view may use the model (model.rs, frame.rs, table.rs, pgss.rs, compare.rs, viewport.rs,
//! detail.rs, stack.rs), the DOM and Leptos. Nothing imports the view except lib.rs, which mounts `Panel`:
//! the model never uses it, so it stays pure and tested natively (layers.rs checks).

mod detail;
mod pgss;
mod stack;
mod style;
mod table;
mod widgets;

use std::sync::Arc;

use leptos::prelude::*;

use crate::detail::{is_detail, Charts, DetailModel};
use crate::model::PanelInput;
use crate::pgss::{is_top_queries, TopModel, TopSort};
use crate::stack::{is_stack_health, StackModel};
use crate::table::{Sort, TableModel};
use detail::DetailView;
use pgss::TopQueriesView;
use stack::StackView;
use style::CONTAINER_STYLE;
use table::SeriesTable;
use widgets::PanelMessage;

/// The props signal holds the parsed input, or the message to show when it could not be read.
pub(crate) type Props = Result<PanelInput, String>;

/// `viewport`: the panel's height in px (the glue sets it; 0 until known).
#[component]
pub(crate) fn Panel(props: RwSignal<Props>, viewport: RwSignal<f64>) -> impl IntoView {
    let model = Memo::new(move |_| {
        props.with(|p| match p {
            Err(message) => View::Failed(message.clone()),
            Ok(input) if is_stack_health(input) => View::Stack(StackModel::from_input(input), input.errors.clone()),
            Ok(input) if is_top_queries(input) => View::Top(Arc::new(TopModel::from_input(input)), input.errors.clone()),
            Ok(input) if is_detail(input) => {
                View::Detail(DetailModel::from_input(input), input.errors.clone(), Charts::parse(input.options.detail_charts.as_deref()))
            }
            Ok(input) => View::Table(TableModel::from_input(input)),
        })
    });
    let sort = RwSignal::new(Sort::default());
    let top_sort = RwSignal::new(TopSort::default());
    let search = RwSignal::new(String::new());
    // The detail view's chart set: the panel option until the user picks another in the view.
    let charts = RwSignal::new(None::<Charts>);
    let hover = RwSignal::new(None::<f64>);
    // The container's scroll position: long tables draw only the rows in view.
    let scroll_top = RwSignal::new(0.0_f64);
    let on_scroll = move |ev: leptos::ev::Event| {
        use wasm_bindgen::JsCast;
        if let Some(el) = ev.target().and_then(|t| t.dyn_into::<web_sys::Element>().ok()) {
            scroll_top.set(el.scroll_top() as f64);
            let height = el.client_height() as f64;
            if height > 0.0 && viewport.get_untracked() != height {
                viewport.set(height);
            }
        }
    };
    let scroll = Signal::derive(move || (scroll_top.get(), viewport.get()));
    // The top-queries view stays mounted across refreshes (its rows update in place); the
    // other views are rebuilt when their data changes.
    let top = Memo::new(move |_| model.with(|m| matches!(m, View::Top(..))));
    let top_model = Memo::new(move |_| model.with(|m| if let View::Top(model, _) = m { model.clone() } else { Arc::default() }));
    let top_errors = Memo::new(move |_| model.with(|m| if let View::Top(_, errors) = m { errors.clone() } else { Vec::new() }));
    let other = move || match model.get() {
        View::Failed(message) => view! { <PanelMessage kind="error" text=message /> }.into_any(),
        View::Table(table) => view! { <SeriesTable table=table sort=sort /> }.into_any(),
        View::Stack(model, errors) => view! { <StackView model=model errors=errors /> }.into_any(),
        View::Detail(model, errors, default) => view! { <DetailView model=model errors=errors default=default charts=charts hover=hover /> }.into_any(),
        View::Top(..) => ().into_any(),
    };
    view! {
        <div class="pgscope-panel" style=CONTAINER_STYLE on:scroll=on_scroll>
            {move || if top.get() {
                view! { <TopQueriesView model=top_model errors=top_errors sort=top_sort search=search scroll=scroll /> }.into_any()
            } else {
                other.into_any()
            }}
        </div>
    }
}

#[derive(Debug, Clone, PartialEq)]
enum View {
    Failed(String),
    Table(TableModel),
    Stack(StackModel, Vec<String>),
    Top(Arc<TopModel>, Vec<String>),
    Detail(DetailModel, Vec<String>, Charts),
}
