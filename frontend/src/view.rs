//! The panel's Leptos components: a sortable table with one row per series (its name, labels
//! and last value), notices and errors above it; or, for `stackHealth` frames, the stack-health
//! tiles grouped by component. Colours come from Grafana's theme through CSS
//! variables the JS glue sets on the container (`--pgscope-*`).

use std::sync::Arc;

use leptos::prelude::*;

use crate::detail::{self, Charts, DetailModel, CHART_HEIGHT, CHART_WIDTH};
use crate::model::{format_value, sort_rows, Column, PanelInput, Sort, TableModel};
use crate::pgss::{self, TopModel, TopSort, COLUMNS};
use crate::stack::{self, StackModel, Tile, SPARK_HEIGHT, SPARK_WIDTH};

/// The props signal holds the parsed input, or the message to show when it could not be read.
pub type Props = Result<PanelInput, String>;

/// `viewport`: the panel's height in px (the glue sets it; 0 until known).
#[component]
pub fn Panel(props: RwSignal<Props>, viewport: RwSignal<f64>) -> impl IntoView {
    let model = Memo::new(move |_| {
        props.with(|p| match p {
            Err(message) => View::Failed(message.clone()),
            Ok(input) if stack::is_stack_health(input) => View::Stack(StackModel::from_input(input), input.errors.clone()),
            Ok(input) if pgss::is_top_queries(input) => View::Top(Arc::new(TopModel::from_input(input)), input.errors.clone()),
            Ok(input) if detail::is_detail(input) => {
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

/// Copies `text` to the clipboard; where the browser has no clipboard API (Grafana served over
/// plain HTTP from another host) it says so instead of failing. What it says after a click
/// belongs to the text it copied: a row slot showing another statement reads "copy" again.
#[component]
fn CopyButton(#[prop(into)] text: Signal<String>) -> impl IntoView {
    let state = RwSignal::new(None::<(String, &'static str)>);
    let copy = move |_| {
        let text = text.get_untracked();
        let clipboard = web_sys::window()
            .map(|w| w.navigator())
            .filter(|n| js_sys::Reflect::get(n, &"clipboard".into()).is_ok_and(|c| !c.is_undefined() && !c.is_null()))
            .map(|n| n.clipboard());
        let said = match clipboard {
            Some(clipboard) => {
                let _ = clipboard.write_text(&text);
                "copied"
            }
            None => "no clipboard here (needs HTTPS): select the text",
        };
        state.set(Some((text, said)));
    };
    let label = move || state.with(|s| text.with(|t| s.as_ref().filter(|(copied, _)| copied == t).map_or("copy", |(_, said)| *said)));
    view! {
        <button class="pgscope-copy" type="button" on:click=copy
                style="background: transparent; color: var(--pgscope-link, #6e9fff); border: 1px solid var(--pgscope-border, #2c3235); padding: 0 6px; font-size: 11px; cursor: pointer;">
            {label}
        </button>
    }
}

/// "14:05", "14:05:30" under 5 minutes, "11-21 14:05" over 2 days; the browser's time zone
/// (as Grafana's default).
fn time_label(ms: f64, span_ms: f64) -> String {
    let date = js_sys::Date::new(&ms.into());
    let (h, m, s) = (date.get_hours(), date.get_minutes(), date.get_seconds());
    if span_ms <= 300_000.0 {
        format!("{h:02}:{m:02}:{s:02}")
    } else if span_ms > 2.0 * 86_400_000.0 {
        format!("{:02}-{:02} {h:02}:{m:02}", date.get_month() + 1, date.get_date())
    } else {
        format!("{h:02}:{m:02}")
    }
}

/// One statement in detail: name, database, users, full text (copyable), and a chart per
/// measure on the dashboard's time range; hovering one chart marks the same time on all.
#[component]
fn DetailView(model: DetailModel, errors: Vec<String>, default: Charts, charts: RwSignal<Option<Charts>>, hover: RwSignal<Option<f64>>) -> impl IntoView {
    let messages = messages(errors, &model.notices);
    let chosen = move || charts.get().unwrap_or(default);
    let (from, to) = model.range;
    let span = to - from;
    let ticks = model.ticks();
    let badge = model.unnamed.then(|| view! { <span class="pgscope-name-badge" style=BADGE_STYLE>"no name"</span> });
    let users = if model.users.is_empty() { "–".to_string() } else { model.users.join(", ") };
    let identity = format!("database {} · user {} · queryid {}", if model.database.is_empty() { "–" } else { &model.database }, users, model.queryid);
    let absent = (!model.absent.is_empty()).then(|| format!("not exported by this exporter: {}", model.absent.join(", ")));
    // The name may be the whole text (an info metric that names statements by their text):
    // then the copy button sits by the name instead of a second copy of it.
    let copy_by_name = (!model.text.is_empty() && model.text == model.name).then(|| view! { <span style="margin-left: 8px;"><CopyButton text=model.text.clone() /></span> });
    let text = (!model.text.is_empty() && model.text != model.name).then(|| {
        let full = model.text.clone();
        view! {
            <div style="display: flex; gap: 6px; align-items: flex-start; margin: 4px 0;">
                <pre class="pgscope-detail-text" style="flex: 1; margin: 0; max-height: 6em; overflow: auto; white-space: pre-wrap; user-select: all; font-size: 12px; background: var(--pgscope-header-bg, #22252b); padding: 4px 6px;">{full.clone()}</pre>
                <CopyButton text=full />
            </div>
        }
    });
    let toggles = Charts::ALL
        .into_iter()
        .map(|which| {
            let pressed = move || chosen() == which;
            view! {
                <button type="button" class="pgscope-detail-mode" data-mode=which.label() aria-pressed=move || pressed().to_string()
                        on:click=move |_| charts.set(Some(which))
                        style=move || format!("padding: 1px 8px; font-size: 12px; cursor: pointer; border: 1px solid var(--pgscope-border, #2c3235); color: inherit; background: {};",
                            if pressed() { "var(--pgscope-header-bg, #22252b)" } else { "transparent" })>
                    {which.label()}
                </button>
            }
        })
        .collect_view();
    let model_for_charts = model.clone();
    let grid = move || {
        let ticks = ticks.clone();
        model_for_charts.charts(chosen()).into_iter().map(move |chart| {
            let path = chart.path((from, to));
            let legend = {
                let chart = chart.clone();
                move || match hover.get().and_then(|t| chart.value_at(t)) {
                    Some((t, v)) => format!("{} at {}", chart.format(v), time_label(t, span)),
                    None => format!("last {} · mean {} · max {}", chart.format(chart.last()), chart.format(chart.mean()), chart.format(chart.max())),
                }
            };
            let top = chart.format(Some(chart.y_max()));
            let grid_lines = ticks.iter().map(|(x, _)| view! {
                <line x1=*x x2=*x y1=0 y2=CHART_HEIGHT style="stroke: var(--pgscope-border, #2c3235); stroke-width: 1; vector-effect: non-scaling-stroke;" />
            }).collect_view();
            let tick_labels = ticks.iter().map(|(x, t)| view! {
                <span style=format!("position: absolute; left: {:.2}%; transform: translateX(-50%); white-space: nowrap;", x / CHART_WIDTH * 100.0)>{time_label(*t, span)}</span>
            }).collect_view();
            let cursor = move || hover.get().filter(|t| *t >= from && *t <= to).map(|t| {
                let x = (t - from) / span.max(1.0) * CHART_WIDTH;
                view! { <line class="pgscope-detail-cursor" x1=x x2=x y1=0 y2=CHART_HEIGHT style="stroke: var(--pgscope-text, #ccccdc); stroke-width: 1; stroke-dasharray: 3 3; vector-effect: non-scaling-stroke;" /> }
            });
            let on_move = move |ev: leptos::ev::MouseEvent| {
                use wasm_bindgen::JsCast;
                let Some(target) = ev.current_target().and_then(|t| t.dyn_into::<web_sys::Element>().ok()) else { return };
                let rect = target.get_bounding_client_rect();
                if rect.width() > 0.0 {
                    let fraction = ((ev.client_x() as f64 - rect.left()) / rect.width()).clamp(0.0, 1.0);
                    hover.set(Some(from + fraction * span));
                }
            };
            view! {
                <figure class="pgscope-detail-chart" data-chart=chart.key.clone() style="margin: 0; min-width: 0;">
                    <figcaption style="display: flex; flex-wrap: wrap; justify-content: space-between; column-gap: 8px; font-size: 12px;">
                        <span style="font-weight: 500; white-space: nowrap;">{chart.title.clone()}</span>
                        <span class="pgscope-detail-legend" style="opacity: 0.8; white-space: nowrap; font-variant-numeric: tabular-nums;">{legend}</span>
                    </figcaption>
                    <div style="display: flex; gap: 4px; font-size: 10px; opacity: 0.7;">
                        <div style="display: flex; flex-direction: column; justify-content: space-between; text-align: right; min-width: 48px; height: 80px;">
                            <span>{top}</span><span>"0"</span>
                        </div>
                        <div style="flex: 1; min-width: 0;">
                            <svg width="100%" height="80" viewBox=format!("0 0 {CHART_WIDTH} {CHART_HEIGHT}") preserveAspectRatio="none" role="img"
                                 aria-label=chart.title.clone() on:mousemove=on_move on:mouseleave=move |_| hover.set(None)
                                 style="display: block; border-bottom: 1px solid var(--pgscope-border, #2c3235);">
                                {grid_lines}
                                <path d=path style="fill: none; stroke: var(--pgscope-link, #6e9fff); stroke-width: 1.5; vector-effect: non-scaling-stroke;" />
                                {cursor}
                            </svg>
                            <div style="position: relative; height: 14px;">{tick_labels}</div>
                        </div>
                    </div>
                </figure>
            }
        }).collect_view()
    };
    view! {
        {messages}
        <div class="pgscope-detail" style="padding: 2px 4px;">
            <div class="pgscope-detail-name" style="font-size: 15px; font-weight: 500;">{model.name.clone()}{badge}{copy_by_name}</div>
            <div class="pgscope-detail-identity" style="font-size: 12px; opacity: 0.75;">{identity}</div>
            {text}
            <div style="display: flex; gap: 8px; align-items: center; margin: 6px 0; flex-wrap: wrap;">
                <div role="group" aria-label="Charts" style="display: flex;">{toggles}</div>
                <span style="font-size: 11px; opacity: 0.7;">{model.schema.clone()}</span>
                <span class="pgscope-detail-absent" style="font-size: 11px; opacity: 0.7;">{absent}</span>
            </div>
            <div class="pgscope-detail-grid" style="display: grid; grid-template-columns: repeat(auto-fill, minmax(320px, 1fr)); gap: 10px 16px;">
                {grid}
            </div>
        </div>
    }
}

/// pgss top queries: a search box, sortable columns, % of time as a bar, a sparkline per row,
/// a badge when the name is missing (the queryid stands in), the full text in the tooltip and a
/// copy button, and each name a link to the single-query dashboard.
///
/// The view outlives refreshes: new figures change the model signal, and the rows in view
/// update their text in place. Only the rows in view exist, as a fixed set of slots (row i in
/// slot `i % slots`, `pgss::slot_row`); a scroll, sort, search or refresh rewrites the text of
/// the slots whose row changed and never builds rows anew. Each row is absolutely placed with
/// `contain: strict`, so the browser lays out what changed, not the table.
#[component]
fn TopQueriesView(model: Memo<Arc<TopModel>>, errors: Memo<Vec<String>>, sort: RwSignal<TopSort>, search: RwSignal<String>, scroll: Signal<(f64, f64)>) -> impl IntoView {
    let notices = Memo::new(move |_| (errors.get(), model.with(|m| m.notices.clone())));
    let columns = Memo::new(move |_| model.with(|m| m.columns.clone()));
    let headers = move || {
        columns
            .get()
            .into_iter()
            .enumerate()
            .map(|(i, c)| {
                let state = move || sort.with(|s| (s.column == Some(i)).then_some(s.descending));
                let toggle = move || sort.update(|s| *s = TopSort { column: Some(i), descending: s.column != Some(i) || !s.descending });
                view! {
                    <div class="pgscope-top-header pgscope-top-cell" role="columnheader" tabindex="0" aria-sort=move || sort_aria(state()) data-column=COLUMNS[c].0
                        on:click=move |_| toggle() on:keydown=move |ev| if activates(&ev) { toggle() }>
                        {COLUMNS[c].1}{move || sort_indicator(state())}
                    </div>
                }
            })
            .collect_view()
    };
    let footer = move || {
        model.with(|m| format!("{} of {} statements · {}", m.rows.len(), m.statements.map(|n| n.to_string()).unwrap_or_else(|| "?".into()), m.schema))
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
            let (start, end) = pgss::window(all.len(), top, height);
            (start, end, all.len(), pgss::capacity(height))
        })
    });
    let total = Memo::new(move |_| window.get().2);
    // A scroll keeps the slots of rows that stayed and refills the others; a sort, search or
    // refresh refills them all; no row is built anew while the viewport keeps its height.
    // Slots are listed to the For in slot order, so it never moves one; an effect then puts
    // the DOM in row order (it reads top to bottom) with the fewest moves (`pgss::reorder`): a
    // node the browser moves is laid out again, and a scroll of k rows moves only k.
    let keys = move || {
        window.with(|&(start, end, _, slots)| {
            let mut keys: Vec<usize> = (start..end).map(|row| row % slots.max(1)).collect();
            keys.sort_unstable();
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
        for (element, before) in pgss::reorder(&order) {
            let _ = body.insert_before(&elements[element], before.map(|b| elements[b].as_ref()));
        }
    });
    let slot_view = move |slot: usize| {
        let index = Memo::new(move |_| window.with(|&(start, end, _, slots)| pgss::slot_row(slot, (start, end), slots)));
        let row = Memo::new(move |_| index.get().and_then(|i| shown.with(|all| all.get(i).cloned())));
        let text = move |f: fn(&pgss::Row) -> String| move || row.with(|r| r.as_deref().map(f).unwrap_or_default());
        let unnamed = Memo::new(move |_| row.with(|r| r.as_ref().is_some_and(|r| r.unnamed)));
        let full_text = Memo::new(move |_| row.with(|r| r.as_ref().map(|r| r.text.clone()).unwrap_or_default()));
        let has_text = Memo::new(move |_| full_text.with(|t| !t.is_empty()));
        let cells = move || {
            columns
                .get()
                .into_iter()
                .enumerate()
                .map(|(k, c)| {
                    let (field, _, unit) = COLUMNS[c];
                    let value = move || row.with(|r| r.as_ref().and_then(|r| r.values.get(k).copied().flatten()));
                    let bar = (field == "share_of_time").then(|| {
                        view! { <div class="pgscope-share-bar" style:width=move || format!("{}%", (value().unwrap_or(0.0).clamp(0.0, 1.0) * 100.0).round())></div> }
                    });
                    view! { <div class="pgscope-top-cell" role="cell" data-column=field>{move || pgss::format_unit(value(), unit)}{bar}</div> }
                })
                .collect_view()
        };
        view! {
            <div class="pgscope-top-row" role="row" aria-rowindex=move || index.get().map(|i| i + 2) style:top=move || format!("{}px", index.get().unwrap_or(0) as f64 * pgss::ROW_HEIGHT)
                 data-queryid=text(|r| r.queryid.clone()) data-database=text(|r| r.database.clone())>
                <div class="pgscope-top-statement" role="cell">
                    <a class="pgscope-top-name" href=text(pgss::detail_link) title=move || full_text.get()>{text(|r| r.name.clone())}</a>
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
                    <svg class="pgscope-top-sparkline" width=SPARK_WIDTH height=SPARK_HEIGHT viewBox=SPARK_VIEWBOX.as_str() role="img" aria-label="over the time range">
                        <path d=text(|r| stack::spark_path(&r.spark)) />
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
        <style>{TOP_CSS}</style>
        <div class="pgscope-top-table" role="table" aria-rowcount=move || total.get() + 1>
            <div class="pgscope-top-head" role="row">
                <div class="pgscope-top-statement" role="columnheader">"statement"</div>
                {headers}
                <div class="pgscope-top-trend" role="columnheader">"trend"</div>
            </div>
            <div class="pgscope-top-body" node_ref=body role="rowgroup" style:height=move || format!("{}px", total.get() as f64 * pgss::ROW_HEIGHT)>
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

fn status_colour(severity: u8) -> &'static str {
    match severity {
        3 => "var(--pgscope-error, #e02f44)",
        2 => "var(--pgscope-warning, #ff9830)",
        1 => "var(--pgscope-unknown, #8e8e8e)",
        _ => "var(--pgscope-ok, #73bf69)",
    }
}

#[component]
fn StackView(model: StackModel, errors: Vec<String>) -> impl IntoView {
    let StackModel { summary, groups, counts } = model;
    let messages = messages(errors, &[]);
    let totals = format!("{} failing · {} warning · {} unknown · {} ok", counts[3], counts[2], counts[1], counts[0]);
    view! {
        {messages}
        <div class="pgscope-stack-summary" style="padding: 2px 4px 8px; font-weight: 500;">
            {summary.unwrap_or_default()}
            <span style="opacity: 0.7; font-weight: normal; margin-left: 8px;">{totals}</span>
        </div>
        {groups.into_iter().map(|group| view! {
            <section class="pgscope-stack-group" data-component=group.component.clone() style="margin-bottom: 10px;">
                <h3 style=GROUP_TITLE_STYLE>
                    <span style=format!("display: inline-block; width: 8px; height: 8px; border-radius: 50%; margin-right: 6px; background: {};", status_colour(group.worst))></span>
                    {group.component.clone()}
                </h3>
                <div style="display: flex; flex-wrap: wrap; gap: 6px; align-items: flex-start;">
                    {group.tiles.into_iter().map(|tile| view! { <StackTile tile=tile /> }).collect_view()}
                </div>
            </section>
        }).collect_view()}
    }
}

#[component]
fn StackTile(tile: Tile) -> impl IntoView {
    let colour = status_colour(tile.severity);
    let Tile { status, name, summary, reason, duration, sparklines, .. } = tile;
    let (status_attr, reason_title) = (status.clone(), reason.clone());
    view! {
        <div class="pgscope-stack-tile" data-status=status_attr title=reason_title
             style=format!("{TILE_STYLE} border-left: 4px solid {colour};")>
            <div style="display: flex; justify-content: space-between; gap: 8px;">
                <span class="pgscope-tile-name" style="font-weight: 500; overflow-wrap: anywhere;">{name}</span>
                <span class="pgscope-tile-status" style=format!("color: {colour}; text-transform: uppercase; font-size: 11px; white-space: nowrap;")>
                    {status}{duration.map(|d| format!(" {d}"))}
                </span>
            </div>
            <div class="pgscope-tile-summary" style="margin-top: 2px;">{summary}</div>
            <div class="pgscope-tile-reason" style="margin-top: 2px; opacity: 0.75; font-size: 12px; overflow-wrap: anywhere;">{reason}</div>
            {sparklines.into_iter().map(|line| view! {
                <div class="pgscope-sparkline" data-measure=line.measure.clone() style="display: flex; align-items: center; gap: 6px; margin-top: 4px; font-size: 11px; opacity: 0.85;">
                    <span style="width: 52px;">{line.measure.clone()}</span>
                    <svg width=SPARK_WIDTH height=SPARK_HEIGHT viewBox=SPARK_VIEWBOX.as_str() role="img"
                         aria-label=format!("{} over the time range", line.measure)>
                        <path d=line.path style=format!("fill: none; stroke: {colour}; stroke-width: 1.5;") />
                    </svg>
                    <span>{format_value(line.last)}</span>
                </div>
            }).collect_view()}
        </div>
    }
}

/// The query errors Grafana reported, then the frames' notices, one message each.
fn messages(errors: Vec<String>, notices: &[String]) -> impl IntoView {
    errors
        .into_iter()
        .map(|text| view! { <PanelMessage kind="error" text=text /> })
        .chain(notices.iter().cloned().map(|text| view! { <PanelMessage kind="warning" text=text /> }))
        .collect_view()
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
    let state = Memo::new(move |_| sort.with(|s| (s.column == this).then_some(s.descending)));
    view! {
        <th style=HEADER_STYLE tabindex="0" aria-sort=move || sort_aria(state.get())
            on:click={ let column = column.clone(); move |_| sort.update(|s| *s = s.clicked(column.clone())) }
            on:keydown=move |ev| if activates(&ev) { sort.update(|s| *s = s.clicked(column.clone())) }>
            {title}{move || sort_indicator(state.get())}
        </th>
    }
}

/// Whether a key pressed on a column header sorts by it, as a click does (Enter or Space; the
/// page does not scroll for the Space).
fn activates(ev: &web_sys::KeyboardEvent) -> bool {
    let sorts = matches!(ev.key().as_str(), "Enter" | " ") && !ev.repeat();
    if sorts {
        ev.prevent_default();
    }
    sorts
}

/// A column header's arrow; `state`: None when rows are not sorted by it, else Some(descending).
fn sort_indicator(state: Option<bool>) -> &'static str {
    match state {
        Some(true) => " ▼",
        Some(false) => " ▲",
        None => "",
    }
}

/// A column header's `aria-sort`, for the same state.
fn sort_aria(state: Option<bool>) -> &'static str {
    match state {
        Some(true) => "descending",
        Some(false) => "ascending",
        None => "none",
    }
}

const CONTAINER_STYLE: &str = "position: relative; width: 100%; height: 100%; overflow: auto; overflow-anchor: none; box-sizing: border-box; \
    color: var(--pgscope-text, #ccccdc); font-family: var(--pgscope-font, sans-serif); font-size: 13px;";
const BADGE_STYLE: &str = "margin-left: 6px; padding: 0 4px; border-radius: 2px; font-size: 11px; \
    background: var(--pgscope-warning, #ff9830); color: #000;";
static SPARK_VIEWBOX: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| format!("0 0 {SPARK_WIDTH} {SPARK_HEIGHT}"));
/// The top-queries table by class, not inline styles: a style attribute is parsed per element.
/// Rows are flex boxes of one height, placed absolutely in a body as tall as all of them, each
/// with `contain: strict` so a change inside one lays out that row only. A row's copy button
/// shows while the pointer is on the row or focus is in it (tab from the name): drawn in every
/// row it was a tenth of a refill's layout.
const TOP_CSS: &str = "\
.pgscope-top-table { width: 100%; min-width: 900px; }\
.pgscope-top-head { position: sticky; top: 0; z-index: 1; display: flex; background: var(--pgscope-header-bg, #22252b); color: var(--pgscope-link, #6e9fff); border-bottom: 1px solid var(--pgscope-border, #2c3235); user-select: none; }\
.pgscope-top-head > div { padding: 4px 8px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }\
.pgscope-top-header { cursor: pointer; }\
.pgscope-top-header:focus-visible { outline: 1px solid var(--pgscope-link, #6e9fff); outline-offset: -2px; }\
.pgscope-top-body { position: relative; }\
.pgscope-top-row { position: absolute; left: 0; right: 0; height: 44px; box-sizing: border-box; display: flex; contain: strict; border-bottom: 1px solid var(--pgscope-border, #2c3235); }\
.pgscope-top-row > div { padding: 3px 8px; overflow: hidden; }\
.pgscope-top-statement { flex: 0 0 36%; box-sizing: border-box; white-space: nowrap; text-overflow: ellipsis; }\
.pgscope-top-cell { flex: 1 1 0; min-width: 0; text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }\
.pgscope-top-trend { flex: 0 0 136px; box-sizing: border-box; }\
.pgscope-top-name { color: inherit; }\
.pgscope-top-identity { font-size: 11px; opacity: 0.7; overflow: hidden; text-overflow: ellipsis; }\
.pgscope-full-text { margin-left: 6px; display: none; }\
.pgscope-top-row:hover .pgscope-full-text, .pgscope-top-row:focus-within .pgscope-full-text { display: inline; }\
.pgscope-share-bar { height: 3px; background: var(--pgscope-link, #6e9fff); margin-left: auto; }\
.pgscope-top-sparkline path { fill: none; stroke: var(--pgscope-link, #6e9fff); stroke-width: 1.5; }\
.pgscope-name-badge { margin-left: 6px; padding: 0 4px; border-radius: 2px; font-size: 11px; background: var(--pgscope-warning, #ff9830); color: #000; }";
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
const GROUP_TITLE_STYLE: &str = "font-size: 13px; font-weight: 500; margin: 0 0 4px; color: var(--pgscope-text, #ccccdc);";
const TILE_STYLE: &str = "flex: 1 1 260px; max-width: 480px; padding: 6px 8px; box-sizing: border-box; \
    background: var(--pgscope-header-bg, #22252b); border-radius: 2px;";
