// Index advice for the detail view (issue 21). The wasm view draws an "index advice" button
// (class pgscope-advice-request) and under it an empty body (class pgscope-advice-body, with
// data-queryid and data-database); clicks bubble to the panel's container, where panel.js asks
// the pgscope datasource's `advice` resource through Grafana's runtime
// (DataSourceWithBackend.getResource: GET /api/datasources/uid/<uid>/resources/advice) and
// draws the answer into the body (`adviceHtml`): the predicates pg_qualstats saw, the candidate
// `CREATE INDEX` statements hypopg tried with the planner's estimated cost before and after and
// a copy button each, or the backend's refusal in its own words. Drawn here, not in the wasm:
// the panel's wasm has a size budget (issue 19) and this part needs no model of the frames.
// Pure but for the calls it is given, so the glue tests drive it with stand-ins.

export const DATASOURCE_TYPE = 'pgscope-datasource';

/** The datasource the panel's data came from: the request's pgssQuery target's, else its first's. */
export function datasourceRef(data) {
  const targets = (data && data.request && data.request.targets) || [];
  const target = targets.find((t) => t && t.queryType === 'pgssQuery') || targets[0];
  return (target && target.datasource) || undefined;
}

/** An answer the wasm reads as the backend's refusal: `{message}` with an HTTP status. */
function refusal(status, message) {
  return { status, body: JSON.stringify({ message }) };
}

/**
 * Asks `advice?queryid=&database=` of the pgscope datasource `ref` (when the panel's data does
 * not say, the one pgscope datasource there is): `{status, body}`, the body as JSON text.
 */
export async function fetchAdvice(runtime, ref, queryid, database) {
  try {
    const srv = runtime.getDataSourceSrv();
    let target = ref;
    if (!target) {
      const list = (srv.getList({ pluginId: DATASOURCE_TYPE }) || []).filter((ds) => ds.type === DATASOURCE_TYPE);
      if (list.length !== 1) {
        return refusal(400, `index advice: the panel's data does not say which pgscope datasource it came from, and ${list.length} are configured`);
      }
      target = { type: DATASOURCE_TYPE, uid: list[0].uid };
    }
    const datasource = await srv.get(target);
    if (!datasource || typeof datasource.getResource !== 'function') return refusal(400, 'index advice needs a pgscope datasource');
    const answer = await datasource.getResource('advice', { queryid, database }, { showErrorAlert: false });
    return { status: 200, body: JSON.stringify(answer) };
  } catch (error) {
    const status = (error && Number.isInteger(error.status) && error.status) || 500;
    const data = error && error.data;
    if (data && typeof data === 'object' && typeof data.message === 'string') return { status, body: JSON.stringify(data) };
    return refusal(status, `index advice failed: ${(typeof data === 'string' && data) || (error && error.message) || String(error)}`);
  }
}

/** Grafana's @grafana/runtime from the page's SystemJS (the panel's define() is not handed it). */
export function loadRuntime(global = globalThis) {
  const system = global.System;
  if (!system || typeof system.import !== 'function') return Promise.reject(new Error('this page has no SystemJS to load @grafana/runtime from'));
  return system.import('@grafana/runtime');
}

const ESCAPES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** `text` safe inside an element and inside a double-quoted attribute. */
export function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

const finite = (x) => (typeof x === 'number' && Number.isFinite(x) ? x : undefined);
const word = (x) => (typeof x === 'string' ? x : typeof x === 'number' && Number.isFinite(x) ? String(x) : '');

/** "estimated cost 2185.3 → 295.5 (−86 %)". */
export function costText(before, after) {
  const cost = (c) => (c === undefined ? '?' : c.toFixed(1));
  let out = `estimated cost ${cost(before)} → ${cost(after)}`;
  if (before !== undefined && after !== undefined && before > 0) {
    const change = ((after - before) / before) * 100;
    out += ` (${change < 0 ? '−' : '+'}${Math.abs(change).toFixed(0)} %)`;
  }
  return out;
}

/** The advice's styles, drawn with it (Grafana's theme through the panel's CSS variables). */
const STYLE = `<style>
.pgscope-advice-refused { border-left: 3px solid var(--pgscope-warning, #ff9830); padding: 2px 6px; margin-top: 4px; }
.pgscope-advice-needs, .pgscope-advice-detail, .pgscope-advice-asking { opacity: 0.7; }
.pgscope-advice-body ul { margin: 0; padding-left: 18px; }
.pgscope-advice-cost { opacity: 0.8; }
.pgscope-advice-body .pgscope-copy { background: transparent; color: var(--pgscope-link, #6e9fff); border: 1px solid var(--pgscope-border, #2c3235); padding: 0 6px; font-size: 11px; cursor: pointer; }
</style>`;

export const ASKING_HTML = `${STYLE}<div class="pgscope-advice-asking">Asking PostgreSQL (pg_qualstats, hypopg; nothing is written)…</div>`;

/** The resource's answer (HTTP `status`, JSON text `body`) as the HTML the detail view shows. */
export function adviceHtml(status, body) {
  let value = null;
  try {
    value = JSON.parse(body);
  } catch (error) {
    value = null;
  }
  const object = value && typeof value === 'object' && !Array.isArray(value) ? value : null;
  if (!(status >= 200 && status < 300) || !object) {
    let message = object && typeof object.message === 'string' && object.message ? object.message : '';
    if (!message) {
      message = status >= 200 && status < 300
        ? "index advice: the datasource's answer is not a JSON object"
        : `index advice failed (HTTP ${status})${String(body || '').trim() ? `: ${String(body).slice(0, 300)}` : ''}`;
    }
    const needs = object && typeof object.needs === 'string' && object.needs ? `<div class="pgscope-advice-needs">Needs: ${escapeHtml(object.needs)}</div>` : '';
    return `${STYLE}<div class="pgscope-advice-refused" role="alert">${escapeHtml(message)}${needs}</div>`;
  }
  const list = (key) => (Array.isArray(object[key]) ? object[key].filter((x) => x && typeof x === 'object') : []);
  const predicates = list('predicates').map((p) => {
    const detail = [];
    if (finite(p.executions) !== undefined) detail.push(`${p.executions.toFixed(0)} executions`);
    if (finite(p.filtered) !== undefined) detail.push(`${p.filtered.toFixed(0)} rows filtered`);
    return `<li><code>${escapeHtml(`${word(p.table)}.${word(p.column)} ${word(p.operator)}`)}</code> <span class="pgscope-advice-detail">${escapeHtml(detail.join(', '))}</span></li>`;
  });
  // Only indexes the planner used are advice (the backend sends no others, but says so).
  const candidates = list('candidates').filter((c) => c.used !== false && word(c.createIndex)).map((c) => {
    const sql = escapeHtml(word(c.createIndex));
    return `<li class="pgscope-advice-candidate"><code>${sql}</code> <button type="button" class="pgscope-copy" data-copy="${sql}">copy</button><div class="pgscope-advice-cost">${escapeHtml(costText(finite(c.costBefore), finite(c.costAfter)))}</div></li>`;
  });
  const none = candidates.length ? '' : '<div class="pgscope-advice-none">No index the planner would use lowers the estimated cost of this statement.</div>';
  return `${STYLE}<div class="pgscope-advice-answer"><div>Predicates pg_qualstats saw:</div><ul>${predicates.join('')}</ul><div>Hypothetical indexes (hypopg) the planner uses, estimated on <code>${escapeHtml(word(object.example))}</code>:</div><ul>${candidates.join('')}</ul>${none}</div>`;
}

/**
 * The panel container's advice: a click on the button asks (the body says so at once) and draws
 * the answer into the body of the statement asked for; a click on a copy button copies its
 * `CREATE INDEX`. Answers are kept by statement, and `refill(element)` draws them again into a
 * body the wasm drew anew (a refresh redraws the detail view).
 */
export function panelAdvice(currentData, runtime = loadRuntime, clipboard = () => globalThis.navigator && globalThis.navigator.clipboard) {
  const answers = new Map();
  const key = (queryid, database) => `${queryid}\u0000${database}`;
  const bodyFor = (root, queryid, database) =>
    [...root.querySelectorAll('.pgscope-advice-body')].find((b) => b.dataset.queryid === queryid && b.dataset.database === database);
  const refill = (root) => {
    for (const body of root.querySelectorAll('.pgscope-advice-body')) {
      // Compared with what was drawn into this very element (an expando), not with innerHTML:
      // the browser writes innerHTML back its own way, and a MutationObserver calls this on
      // every change, so comparing with it would redraw for ever.
      const html = answers.get(key(body.dataset.queryid, body.dataset.database));
      if (html !== undefined && body.pgscopeAdvice !== html) {
        body.pgscopeAdvice = html;
        body.innerHTML = html;
      }
    }
  };
  const onClick = (event) => {
    const target = event.target && typeof event.target.closest === 'function' ? event.target : null;
    const copy = target && target.closest('.pgscope-advice-body [data-copy]');
    if (copy) {
      const board = clipboard();
      if (board && typeof board.writeText === 'function') {
        board.writeText(copy.dataset.copy).then(() => { copy.textContent = 'copied'; }, () => { copy.textContent = 'copy failed: select the text'; });
      } else {
        copy.textContent = 'no clipboard here (needs HTTPS): select the text';
      }
      return undefined;
    }
    const button = target && target.closest('.pgscope-advice-request');
    if (!button) return undefined;
    const root = event.currentTarget;
    const { queryid = '', database = '' } = button.dataset || {};
    answers.set(key(queryid, database), ASKING_HTML);
    refill(root);
    return Promise.resolve()
      .then(() => runtime())
      .then(
        (grafanaRuntime) => fetchAdvice(grafanaRuntime, datasourceRef(currentData()), queryid, database),
        (error) => refusal(500, `index advice needs Grafana's runtime: ${(error && error.message) || error}`),
      )
      .then(({ status, body }) => {
        answers.set(key(queryid, database), adviceHtml(status, body));
        const shown = bodyFor(root, queryid, database);
        if (shown) refill(root);
      });
  };
  return { onClick, refill };
}
