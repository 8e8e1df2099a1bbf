//! The stack-health view: the checks as tiles grouped by component, worst first, with their
//! sparklines, drawn from stack.rs's `StackModel`. Uses the model, the shared widgets and the
//! styles (`super::widgets`, `super::style`).

use leptos::prelude::*;

use super::style::{GROUP_TITLE_STYLE, SPARK_SIZE, SPARK_VIEWBOX, TILE_STYLE};
use super::widgets::messages;
use crate::stack::{StackModel, Tile};
use crate::table::format_value;

fn status_colour(severity: u8) -> &'static str {
    match severity {
        3 => "var(--pgscope-error, #e02f44)",
        2 => "var(--pgscope-warning, #ff9830)",
        1 => "var(--pgscope-unknown, #8e8e8e)",
        _ => "var(--pgscope-ok, #73bf69)",
    }
}

#[component]
pub(super) fn StackView(model: StackModel, errors: Vec<String>) -> impl IntoView {
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
                    {group.tiles.into_iter().map(|tile| view! { <StackTile tile=tile /> }.into_any()).collect_view()}
                </div>
            </section>
        }.into_any()).collect_view()}
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
                    <svg width=SPARK_SIZE.0.as_str() height=SPARK_SIZE.1.as_str() viewBox=SPARK_VIEWBOX.as_str() role="img"
                         aria-label=format!("{} over the time range", line.measure)>
                        <path d=line.path style=format!("fill: none; stroke: {colour}; stroke-width: 1.5;") />
                    </svg>
                    <span>{format_value(line.last)}</span>
                </div>
            }.into_any()).collect_view()}
        </div>
    }
}
