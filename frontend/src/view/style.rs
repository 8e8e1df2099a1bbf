//! The views' styles: the container's, the stylesheet of the top-queries table, and the inline
//! styles the other views repeat. Colours are Grafana's theme through the CSS variables the JS
//! glue sets on the container (`--pgscope-*`), each with a dark-theme fallback. Uses the model
//! only for the sparkline box's size (stack.rs).

use crate::number::shortest;
use crate::stack::{SPARK_HEIGHT, SPARK_WIDTH};

pub(super) const CONTAINER_STYLE: &str = "position: relative; width: 100%; height: 100%; overflow: auto; overflow-anchor: none; box-sizing: border-box; \
    color: var(--pgscope-text, #ccccdc); font-family: var(--pgscope-font, sans-serif); font-size: 13px;";
pub(super) const BADGE_STYLE: &str = "margin-left: 6px; padding: 0 4px; border-radius: 2px; font-size: 11px; \
    background: var(--pgscope-warning, #ff9830); color: #000;";
pub(super) static SPARK_VIEWBOX: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| format!("0 0 {} {}", shortest(SPARK_WIDTH), shortest(SPARK_HEIGHT)));
/// The sparkline box's width and height as attribute text (an f64 attribute would bring in
/// core's float formatting, issue 19).
pub(super) static SPARK_SIZE: std::sync::LazyLock<(String, String)> = std::sync::LazyLock::new(|| (shortest(SPARK_WIDTH), shortest(SPARK_HEIGHT)));
/// The top-queries table by class, not inline styles: a style attribute is parsed per element.
/// Rows are flex boxes of one height, placed absolutely in a body as tall as all of them, each
/// with `contain: strict` so a change inside one lays out that row only. A row's copy button
/// shows while the pointer is on the row or focus is in it (tab from the name): drawn in every
/// row it was a tenth of a refill's layout.
pub(super) const TOP_CSS: &str = "\
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
.pgscope-name-badge, .pgscope-state-badge { margin-left: 6px; padding: 0 4px; border-radius: 2px; font-size: 11px; background: var(--pgscope-warning, #ff9830); color: #000; }\
.pgscope-state-badge[data-state=regressed] { background: var(--pgscope-error, #e02f44); color: #fff; }\
.pgscope-state-badge[data-state=improved] { background: var(--pgscope-ok, #1b855e); color: #fff; }\
.pgscope-state-badge:empty { display: none; }\
.pgscope-top-row[data-tone=worse] [data-column=change] { color: var(--pgscope-error, #e02f44); }\
.pgscope-top-row[data-tone=better] [data-column=change] { color: var(--pgscope-ok, #1b855e); }";
pub(super) const TABLE_STYLE: &str = "width: 100%; border-collapse: collapse;";
pub(super) const HEADER_STYLE: &str = "position: sticky; top: 0; text-align: left; cursor: pointer; user-select: none; \
    padding: 4px 8px; background: var(--pgscope-header-bg, #22252b); color: var(--pgscope-link, #6e9fff); \
    border-bottom: 1px solid var(--pgscope-border, #2c3235); white-space: nowrap;";
pub(super) const CELL_STYLE: &str = "padding: 3px 8px; border-bottom: 1px solid var(--pgscope-border, #2c3235); \
    overflow-wrap: anywhere;";
pub(super) const LABEL_CELL_STYLE: &str = "padding: 3px 8px; border-bottom: 1px solid var(--pgscope-border, #2c3235); \
    white-space: nowrap;";
pub(super) const NUMBER_CELL_STYLE: &str = "padding: 3px 8px; border-bottom: 1px solid var(--pgscope-border, #2c3235); \
    text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap;";
pub(super) const GROUP_TITLE_STYLE: &str = "font-size: 13px; font-weight: 500; margin: 0 0 4px; color: var(--pgscope-text, #ccccdc);";
pub(super) const TILE_STYLE: &str = "flex: 1 1 260px; max-width: 480px; padding: 6px 8px; box-sizing: border-box; \
    background: var(--pgscope-header-bg, #22252b); border-radius: 2px;";
