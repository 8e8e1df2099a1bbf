//! The detail view: one statement's identity, full text and charts on a shared time axis,
//! drawn from detail.rs's `DetailModel`. Uses the model, the shared widgets and the styles
//! (`super::widgets`, `super::style`).

use leptos::prelude::*;

use super::style::BADGE_STYLE;
use super::widgets::{messages, CopyButton};
use crate::detail::{Charts, DetailModel, CHART_HEIGHT, CHART_WIDTH};
use crate::number::{fixed, shortest};

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
pub(super) fn DetailView(model: DetailModel, errors: Vec<String>, default: Charts, charts: RwSignal<Option<Charts>>, hover: RwSignal<Option<f64>>) -> impl IntoView {
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
            .into_any()
        })
        .collect_view();
    let model_for_charts = model.clone();
    let grid = move || {
        let ticks = ticks.clone();
        model_for_charts.charts(chosen()).into_iter().map(move |chart| {
            // A line, or stacked areas (time split, wait events; the title names their colours);
            // the comparison window dashed under now. Drawn once per model, as SVG text.
            let stacked = !chart.layers.is_empty();
            let path = if stacked { String::new() } else { chart.path((from, to)) };
            let overlay = chart.overlay_svg((from, to));
            let legend = {
                let chart = chart.clone();
                move || match hover.get().and_then(|t| chart.value_at(t)) {
                    Some((t, v)) => format!("{} at {}", chart.format(v), time_label(t, span)),
                    None => format!("last {} · mean {} · max {}", chart.format(chart.last()), chart.format(chart.mean()), chart.format(chart.max())),
                }
            };
            let top = chart.format(Some(chart.y_max()));
            // Coordinates as text: an f64 attribute would bring in core's float formatting.
            let grid_lines = ticks.iter().map(|(x, _)| (fixed(*x, 2), shortest(CHART_HEIGHT))).map(|(x, bottom)| view! {
                <line x1=x.clone() x2=x y1="0" y2=bottom style="stroke: var(--pgscope-border, #2c3235); stroke-width: 1; vector-effect: non-scaling-stroke;" />
            }.into_any()).collect_view();
            let tick_labels = ticks.iter().map(|(x, t)| view! {
                <span style=format!("position: absolute; left: {}%; transform: translateX(-50%); white-space: nowrap;", fixed(x / CHART_WIDTH * 100.0, 2))>{time_label(*t, span)}</span>
            }.into_any()).collect_view();
            let cursor = move || hover.get().filter(|t| *t >= from && *t <= to).map(|t| {
                let x = fixed((t - from) / span.max(1.0) * CHART_WIDTH, 2);
                view! { <line class="pgscope-detail-cursor" x1=x.clone() x2=x y1="0" y2=shortest(CHART_HEIGHT) style="stroke: var(--pgscope-text, #ccccdc); stroke-width: 1; stroke-dasharray: 3 3; vector-effect: non-scaling-stroke;" /> }
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
                            <svg width="100%" height="80" viewBox=format!("0 0 {} {}", shortest(CHART_WIDTH), shortest(CHART_HEIGHT)) preserveAspectRatio="none" role="img"
                                 aria-label=chart.title.clone() on:mousemove=on_move on:mouseleave=move |_| hover.set(None)
                                 style="display: block; border-bottom: 1px solid var(--pgscope-border, #2c3235);">
                                {grid_lines}
                                <g inner_html=overlay></g>
                                <path d=path style="fill: none; stroke: var(--pgscope-link, #6e9fff); stroke-width: 1.5; vector-effect: non-scaling-stroke;" />
                                {cursor}
                            </svg>
                            <div style="position: relative; height: 14px;">{tick_labels}</div>
                        </div>
                    </div>
                </figure>
            }
            .into_any()
        }).collect_view()
    };
    view! {
        {messages}
        <div class="pgscope-detail" style="padding: 2px 4px;">
            <div class="pgscope-detail-name" style="font-size: 15px; font-weight: 500;">{model.name.clone()}{badge}{copy_by_name}</div>
            <div class="pgscope-detail-identity" style="font-size: 12px; opacity: 0.75;">{identity}</div>
            {text}
            {index_advice(model.queryid.clone(), model.database.clone())}
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

/// Index advice for the statement (issue 21): a button, and under it the body js/advice.js
/// draws the answer into (the predicates, the candidate indexes with their estimated costs and
/// a copy button each, or the backend's refusal). The glue asks the datasource's `advice`
/// resource when the button's click bubbles to the panel's container; the wasm keeps no state
/// for it (the panel's wasm size budget, issue 19).
fn index_advice(queryid: String, database: String) -> impl IntoView {
    (!queryid.is_empty() && !database.is_empty()).then(|| {
        view! {
            <div class="pgscope-advice" style="font-size: 12px; margin: 4px 0;">
                <button type="button" class="pgscope-advice-request" data-queryid=queryid.clone() data-database=database.clone()
                        style="padding: 1px 8px; font-size: 12px; cursor: pointer; border: 1px solid var(--pgscope-border, #2c3235); color: inherit; background: transparent;">
                    "index advice"
                </button>
                <div class="pgscope-advice-body" data-queryid=queryid data-database=database></div>
            </div>
        }
    })
}
