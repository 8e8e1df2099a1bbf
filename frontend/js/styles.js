// The panel's stylesheet, by class (the wasm view draws the elements, js/panel.js puts this in
// the page once): the top-queries table, the sort buttons in every table's headers (text in the
// header's colour) and the comparison's badges and colours. Static text, kept here rather than
// in the wasm, whose size has a budget (issue 19). A style attribute is parsed per element, a
// class once: rows are flex boxes of one height (viewport.rs ROW_HEIGHT, 44 px), placed
// absolutely in a body as tall as all of them, each with `contain: strict` so a change inside
// one lays out that row only. A row's copy button shows while the pointer is on the row or
// focus is in it (tab from the name): drawn in every row it was a tenth of a refill's layout.

export const PANEL_CSS = `
.pgscope-top-table { width: 100%; min-width: 900px; }
.pgscope-top-head { position: sticky; top: 0; z-index: 1; display: flex; background: var(--pgscope-header-bg, #22252b); color: var(--pgscope-link, #6e9fff); border-bottom: 1px solid var(--pgscope-border, #2c3235); user-select: none; }
.pgscope-top-head > div { padding: 4px 8px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.pgscope-top-header { cursor: pointer; }
.pgscope-sort { display: block; width: 100%; padding: 0; border: 0; background: none; color: inherit; font: inherit; text-align: inherit; cursor: pointer; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.pgscope-sort:focus-visible { outline: 1px solid var(--pgscope-link, #6e9fff); outline-offset: 2px; }
.pgscope-top-body { position: relative; }
.pgscope-top-row { position: absolute; left: 0; right: 0; height: 44px; box-sizing: border-box; display: flex; contain: strict; border-bottom: 1px solid var(--pgscope-border, #2c3235); }
.pgscope-top-row > div { padding: 3px 8px; overflow: hidden; }
.pgscope-top-statement { flex: 0 0 36%; box-sizing: border-box; white-space: nowrap; text-overflow: ellipsis; }
.pgscope-top-cell { flex: 1 1 0; min-width: 0; text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.pgscope-top-trend { flex: 0 0 136px; box-sizing: border-box; }
.pgscope-top-text { flex: 0 1 110px; min-width: 0; white-space: nowrap; text-overflow: ellipsis; font-size: 12px; }
.pgscope-top-name { color: inherit; }
.pgscope-top-identity { font-size: 11px; opacity: 0.7; overflow: hidden; text-overflow: ellipsis; }
.pgscope-full-text { margin-left: 6px; display: none; }
.pgscope-top-row:hover .pgscope-full-text, .pgscope-top-row:focus-within .pgscope-full-text { display: inline; }
.pgscope-share-bar { height: 3px; background: var(--pgscope-link, #6e9fff); margin-left: auto; }
.pgscope-top-sparkline path { fill: none; stroke: var(--pgscope-link, #6e9fff); stroke-width: 1.5; }
.pgscope-name-badge, .pgscope-state-badge { margin-left: 6px; padding: 0 4px; border-radius: 2px; font-size: 11px; background: var(--pgscope-warning, #ff9830); color: #000; }
.pgscope-state-badge[data-state=regressed] { background: var(--pgscope-error, #e02f44); color: #fff; }
.pgscope-state-badge[data-state=improved] { background: var(--pgscope-ok, #1b855e); color: #fff; }
.pgscope-state-badge:empty { display: none; }
.pgscope-top-row[data-tone=worse] [data-column=change] { color: var(--pgscope-error, #e02f44); }
.pgscope-top-row[data-tone=better] [data-column=change] { color: var(--pgscope-ok, #1b855e); }
`;

export const STYLE_ID = 'pgscope-panel-styles';

/** Puts the stylesheet into `doc`'s head once (every pgscope panel on the page shares it). */
export function ensureStyles(doc) {
  if (!doc || !doc.head || doc.getElementById(STYLE_ID)) return false;
  const style = doc.createElement('style');
  style.id = STYLE_ID;
  style.textContent = PANEL_CSS;
  doc.head.appendChild(style);
  return true;
}
