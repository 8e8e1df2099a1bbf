//! The top-queries view: pgss statements as a searchable, sortable table that draws only the
//! rows in view, drawn from pgss.rs's `TopModel` with the rows chosen by viewport.rs. Uses the
//! model, the shared widgets and the styles (`super::widgets`, `super::style`).

use std::sync::Arc;

use leptos::prelude::*;

use super::style::{SPARK_SIZE, SPARK_VIEWBOX};
use super::widgets::{messages, sort_aria, sort_indicator, CopyButton};
use crate::pgss::{self, TopModel, TopSort, COLUMNS, TEXT_COLUMNS};
use crate::number::shortest;
use crate::stack::spark_path;
use crate::viewport;

/// pgss top queries: a search box, sortable columns, % of time as a bar, a sparkline per row,
/// a badge when the name is missing (the queryid stands in), the full text in the tooltip and a
/// copy button, and each name a link to the single-query dashboard.
///
/// The view outlives refreshes: new figures change the model signal, and the rows in view
/// update their text in place. Only the rows in view exist, as a fixed set of slots (row i in
/// slot `i % slots`, `viewport::slot_row`); a scroll, sort, search or refresh rewrites the
/// text of the slots whose row changed and never builds rows anew. Each row is absolutely
/// placed with `contain: strict`, so the browser lays out what changed, not the table.
#[component]
pub(super) fn TopQueriesView(model: Memo<Arc<TopModel>>, errors: Memo<Vec<String>>, sort: RwSignal<TopSort>, search: RwSignal<String>, scroll: Signal<(f64, f64)>) -> impl IntoView {
    let notices = Memo::new(move |_| (errors.get(), model.with(|m| m.notices.clone())));
    // The statement's type, tags and top wait (issue 21; `Err`: an index into TEXT_COLUMNS),
    // then the figures (`Ok`: the column's place in the model's, and its index into COLUMNS).
    // One header and one cell view serve both kinds: each view costs the wasm kilobytes.
    let columns = Memo::new(move |_| model.with(|m| m.text_columns.iter().map(|&t| Err(t)).chain(m.columns.iter().copied().enumerate().map(Ok)).collect::<Vec<Result<(usize, usize), usize>>>()));
    let headers = move || {
        columns
            .get()
            .into_iter()
            .map(|column| {
                let (field, title) = match column {
                    Ok((_, c)) => (COLUMNS[c].0, COLUMNS[c].1),
                    Err(t) => TEXT_COLUMNS[t],
                };
                let place = column.ok().map(|(i, _)| i);
                let state = move || sort.with(|s| (place.is_some() && s.column == place).then_some(s.descending));
                let toggle = move || if let Some(i) = place { sort.update(|s| *s = TopSort { column: Some(i), descending: s.column != Some(i) || !s.descending }) };
                // A figure's header holds a button and takes its click (the padding sorts too, and
                // the button's Enter and Space arrive as a click). Text columns do not sort: no
                // button, no aria-sort (their state is None), and their click does nothing.
                view! {
                    <div class=if place.is_some() { "pgscope-top-header pgscope-top-cell" } else { "pgscope-top-text" } role="columnheader" aria-sort=move || sort_aria(state()) data-column=field
                        on:click=move |_| toggle()>
                        {place.is_none().then_some(title)}
                        {place.map(|_| view! { <button type="button" class="pgscope-sort">{title}<span aria-hidden="true">{move || sort_indicator(state())}</span></button> })}
                    </div>
                }
            })
            .collect_view()
    };
    let footer = move || {
        // With a comparison (issue 20): the window and its counts, after the schema.
        model.with(|m| {
            let compared = m.compare.as_ref().map(|c| format!(" · {}", c.header())).unwrap_or_default();
            format!("{} of {} statements · {}{compared}", m.rows.len(), m.statements_text(), m.schema)
        })
    };
    // Search and sort touch every statement; the DOM only the rows in view.
    let shown = Memo::new(move |_| search.with(|needle| model.with(|m| m.visible(needle, sort.get()))));
    // Where the rows start in the scrolled content (below the messages, search box and
    // header), measured when the messages change.
    let offset = RwSignal::new(0.0_f64);
    // The rows in view, [start, end), of `total`, and the number of slots the viewport has.
    let window = Memo::new(move |_| {
        let (top, height) = scroll.get();
        let top = top - offset.get();
        shown.with(|all| {
            let (start, end) = viewport::window(all.len(), top, height);
            (start, end, all.len(), viewport::capacity(height))
        })
    });
    let total = Memo::new(move |_| window.get().2);
    // A scroll keeps the slots of rows that stayed and refills the others; a sort, search or
    // refresh refills them all; no row is built anew while the viewport keeps its height.
    // Slots are listed to the For in slot order, so it never moves one; an effect then puts
    // the DOM in row order (it reads top to bottom) with the fewest moves
    // (`viewport::reorder`): a node the browser moves is laid out again, and a scroll of k rows
    // moves only k.
    let keys = move || {
        window.with(|&(start, end, _, slots)| {
            let mut keys: Vec<usize> = (start..end).map(|row| row % slots.max(1)).collect();
            crate::model::sort_by(&mut keys, |a, b| a.cmp(b));
            keys
        })
    };
    let body = NodeRef::<leptos::html::Div>::new();
    // The rows' offset moves only when messages come or go; reading it forces a layout, so
    // not on every scroll.
    Effect::new(move |_| {
        notices.track();
        if let Some(body) = body.get() {
            let top = body.offset_top() as f64;
            if top != offset.get_untracked() {
                offset.set(top);
            }
        }
    });
    Effect::new(move |_| {
        window.track();
        let Some(body) = body.get() else { return };
        let children = body.children();
        let elements: Vec<web_sys::Element> = (0..children.length()).filter_map(|i| children.item(i)).collect();
        let order: Vec<usize> = elements.iter().map(|e| e.get_attribute("aria-rowindex").and_then(|v| v.parse().ok()).unwrap_or(usize::MAX)).collect();
        for (element, before) in viewport::reorder(&order) {
            let _ = body.insert_before(&elements[element], before.map(|b| elements[b].as_ref()));
        }
    });
    let slot_view = move |slot: usize| {
        let index = Memo::new(move |_| window.with(|&(start, end, _, slots)| viewport::slot_row(slot, (start, end), slots)));
        let row = Memo::new(move |_| index.get().and_then(|i| shown.with(|all| all.get(i).cloned())));
        let text = move |f: fn(&pgss::Row) -> String| move || row.with(|r| r.as_deref().map(f).unwrap_or_default());
        let unnamed = Memo::new(move |_| row.with(|r| r.as_ref().is_some_and(|r| r.unnamed)));
        let full_text = Memo::new(move |_| row.with(|r| r.as_ref().map(|r| r.text.clone()).unwrap_or_default()));
        let has_text = Memo::new(move |_| full_text.with(|t| !t.is_empty()));
        let cells = move || {
            columns
                .get()
                .into_iter()
                .map(|column| {
                    let (field, unit) = match column {
                        Ok((_, c)) => (COLUMNS[c].0, Some(COLUMNS[c].2)),
                        Err(t) => (TEXT_COLUMNS[t].0, None),
                    };
                    let value = move || row.with(|r| r.as_ref().and_then(|r| r.values.get(column.ok()?.0).copied().flatten()));
                    let shown = move || match (column, unit) {
                        (Ok(_), Some(unit)) => pgss::format_unit(value(), unit),
                        _ => row.with(|r| r.as_ref().and_then(|r| r.texts.get(column.err()?).cloned()).unwrap_or_default()),
                    };
                    let bar = (field == "share_of_time").then(|| {
                        view! { <div class="pgscope-share-bar" style:width=move || format!("{}%", shortest((value().unwrap_or(0.0).clamp(0.0, 1.0) * 100.0).round()))></div> }
                    });
                    view! { <div class=if unit.is_some() { "pgscope-top-cell" } else { "pgscope-top-text" } role="cell" data-column=field>{shown}{bar}</div> }
                })
                .collect_view()
        };
        view! {
            <div class="pgscope-top-row" role="row" aria-rowindex=move || index.get().map(|i| i + 2) style:top=move || format!("{}px", shortest(index.get().unwrap_or(0) as f64 * viewport::ROW_HEIGHT))
                 data-queryid=text(|r| r.queryid.clone()) data-database=text(|r| r.database.clone()) data-tone=text(|r| r.tone.to_string())>
                <div class="pgscope-top-statement" role="cell">
                    <a class="pgscope-top-name" href=text(pgss::detail_link) title=move || full_text.get()>{text(|r| r.name.clone())}</a>
                    // Against the comparison window: the state; the change column's colour is the
                    // row's data-tone (style.rs).
                    <span class="pgscope-state-badge" data-state=text(|r| r.badge.to_string())>{text(|r| r.badge.to_string())}</span>
                    {move || unnamed.get().then(|| view! {
                        <span class="pgscope-name-badge" title="No name in the info metric for this queryid: names fall back to the queryid (the data is complete)">"no name"</span>
                    })}
                    <div class="pgscope-top-identity">
                        {text(|r| format!("{} · {} · queryid {}", r.database, if r.user.is_empty() { "–" } else { &r.user }, r.queryid))}
                        {move || has_text.get().then(|| view! { <span class="pgscope-full-text"><CopyButton text={ let s: Signal<String> = full_text.into(); s } /></span> })}
                    </div>
                </div>
                {cells}
                <div class="pgscope-top-trend" role="cell">
                    <svg class="pgscope-top-sparkline" width=SPARK_SIZE.0.as_str() height=SPARK_SIZE.1.as_str() viewBox=SPARK_VIEWBOX.as_str() role="img" aria-label="over the time range">
                        <path d=text(|r| spark_path(&r.spark.points())) />
                    </svg>
                </div>
            </div>
        }
    };
    view! {
        {move || notices.with(|(errors, notices)| messages(errors.clone(), notices))}
        <div style="display: flex; gap: 8px; align-items: center; padding: 2px 0 6px;">
            <input class="pgscope-search" type="search" placeholder="Search name, text, queryid, database, user" aria-label="Search statements"
                   style="flex: 1; max-width: 360px; background: transparent; color: inherit; border: 1px solid var(--pgscope-border, #2c3235); padding: 3px 6px;"
                   prop:value=move || search.get() on:input=move |ev| search.set(event_target_value(&ev)) />
            <span class="pgscope-top-footer" style="opacity: 0.7; font-size: 12px;">{footer}</span>
        </div>
        <div class="pgscope-top-table" role="table" aria-rowcount=move || total.get() + 1>
            <div class="pgscope-top-head" role="row">
                <div class="pgscope-top-statement" role="columnheader">"statement"</div>
                {headers}
                <div class="pgscope-top-trend" role="columnheader">"trend"</div>
            </div>
            <div class="pgscope-top-body" node_ref=body role="rowgroup" style:height=move || format!("{}px", shortest(total.get() as f64 * viewport::ROW_HEIGHT))>
                <For each=keys key=|slot| *slot children=slot_view />
            </div>
            {move || (total.get() == 0).then(|| view! {
                <div class="pgscope-empty" style="opacity: 0.7; padding: 8px;">
                    {if search.with(|s| s.trim().is_empty()) { "No statements in this time range (and these filters)" } else { "No statement matches the search" }}
                </div>
            })}
        </div>
    }
}
