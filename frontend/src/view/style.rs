//! The views' styles: the container's and the inline styles the views repeat. The stylesheet
//! of the top-queries table and of the headers' sort buttons (their classes) is the JS glue's
//! (js/styles.js): static text, kept out of the wasm's size budget (issue 19). Colours are
//! Grafana's theme through the CSS variables the JS glue sets on the container (`--pgscope-*`),
//! each with a dark-theme fallback. Uses the model only for the sparkline box's size (stack.rs).

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
