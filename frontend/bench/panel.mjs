// `make bench`, panel part (issue 6): the wasm panel's top-queries view with 1,000 statements
// (a wide table frame and a sparkline frame of 60 points each, as pgssTopQueries returns them)
// in headless Chromium (Debian's, driven by playwright-core). Measured in one run, p50 of RUNS:
//   first paint  mount(propsJson(data)) until the DOM is built and laid out (target <= 150 ms);
//   updates      a refresh with new figures, a click on a column header (sort), a scroll far
//                down, a keystroke in the search box, each until the DOM is updated and laid
//                out (target <= 10 ms). Only the rows in view are in the DOM (pgss::window).
//   baseline     the same 1,000 rows built by plain JS (innerHTML) and laid out, the floor any
//                DOM-based view pays, printed as a ratio.
// The page is served from 127.0.0.1 by this script; the wasm is the shipped build
// (target/wasm-bindgen, from `make wasm`). Prints figures; asserts nothing about time.
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { launch } from '../../e2e/specs/support.mjs';

const root = resolve(dirname(new URL(import.meta.url).pathname), '../..');
const STATEMENTS = 1000;
const RUNS = 15;
const FILES = {
  '/pgscope_panel.js': [join(root, 'target/wasm-bindgen/pgscope_panel.js'), 'text/javascript'],
  '/pgscope_panel_bg.wasm': [join(root, 'target/wasm-bindgen/pgscope_panel_bg.wasm'), 'application/wasm'],
  '/props.js': [join(root, 'frontend/js/props.js'), 'text/javascript'],
};

const PAGE = `<!doctype html><html><head><meta charset="utf-8"></head>
<body style="margin:0;background:#111217;color:#ccccdc">
<div id="panel" style="width:1400px;height:900px;overflow:hidden"></div>
<div id="baseline" style="width:1400px;height:900px;overflow:hidden"></div>
<script type="module">
import init, { mount } from '/pgscope_panel.js';
import { propsJson } from '/props.js';
await init({ module_or_path: '/pgscope_panel_bg.wasm' });

const N = ${STATEMENTS};
const MEASURES = ['share_of_time', 'calls_per_s', 'exec_time_per_s', 'exec_time_per_call', 'rows_per_call', 'hit_ratio',
  'shared_read_per_s', 'temp_written_per_s', 'wal_bytes_per_s'];
// Deterministic figures; 'seed' changes them for a refresh.
function data(seed) {
  const ids = Array.from({ length: N }, (_, i) => String(4_000_000_000 + i * 7919));
  const text = (i) => 'SELECT a, b, c FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.status = $1 AND o.region = ' + i;
  const fields = [
    { name: 'queryid', type: 'string', values: ids },
    { name: 'database', type: 'string', values: ids.map((_, i) => 'db' + (i % 3)) },
    { name: 'user', type: 'string', values: ids.map(() => 'app') },
    { name: 'name', type: 'string', values: ids.map((_, i) => text(i).slice(0, 80)) },
    { name: 'text', type: 'string', values: ids.map((_, i) => text(i)) },
    { name: 'name_source', type: 'string', values: ids.map((_, i) => (i % 10 ? 'info' : 'queryid')) },
    ...MEASURES.map((m, k) => ({ name: m, type: 'number', values: ids.map((_, i) => ((i * 37 + k * 11 + seed * 13) % 1000) / 1000) })),
  ];
  const table = { name: 'pgss top queries', refId: 'A', meta: { custom: { pgscope: 'pgss.top', schema: 'postgres_exporter (custom queries) · 15 of 15 measures', statements: N } }, fields };
  const times = Array.from({ length: 60 }, (_, t) => 1_700_000_000_000 + t * 15_000);
  const sparks = ids.map((id, i) => ({
    name: 'exec time/s', refId: 'A', meta: { custom: { pgscope: 'pgss.sparkline', measure: 'exec_time' } },
    fields: [
      { name: 'Time', type: 'time', values: times },
      { name: 'Value', type: 'number', labels: { database: 'db' + (i % 3), queryid: id }, values: times.map((_, t) => ((t * 7 + i + seed) % 23) / 23) },
    ],
  }));
  return { series: [table, ...sparks] };
}

const el = document.getElementById('panel');
// Leptos applies updates on a microtask: a macrotask after them (a MessageChannel message, not
// setTimeout, which browsers may clamp to 4 ms) finds the DOM updated.
const settle = () => new Promise((r) => { const c = new MessageChannel(); c.port1.onmessage = () => r(); c.port2.postMessage(0); });
const layout = (node) => node.getBoundingClientRect().height + node.scrollHeight;
const rows = () => el.querySelectorAll('.pgscope-top-row');

window.runBench = async (runs) => {
  const out = { first: [], refresh: [], sort: [], step: [], scroll: [], search: [], floor: [], baseline: [], rows: 0 };
  const datasets = [data(0), data(1)];
  for (let r = 0; r < runs; r++) {
    let t = performance.now();
    const handle = mount(el, propsJson(datasets[0]));
    layout(el);
    out.first.push(performance.now() - t);
    out.rows = rows().length;
    out.footer = el.querySelector('.pgscope-top-footer').textContent;
    out.tableHeight = el.querySelector('.pgscope-top-table tbody').getBoundingClientRect().height;

    const firstBefore = rows()[0].dataset.queryid;
    t = performance.now();
    handle.update(propsJson(datasets[1]));
    await settle();
    layout(el);
    out.refresh.push(performance.now() - t);

    // The measuring floor: waiting for the update's task and reading the layout, with no change.
    t = performance.now();
    await settle();
    layout(el);
    out.floor.push(performance.now() - t);

    const header = el.querySelector('.pgscope-top-header[data-column="calls_per_s"]');
    t = performance.now();
    header.click();
    await settle();
    layout(el);
    out.sort.push(performance.now() - t);
    if (rows()[0].dataset.queryid === firstBefore && r === 0) out.unsorted = true;

    const scroller = el.querySelector('.pgscope-panel');
    t = performance.now();
    scroller.scrollTop = 200; // a wheel step: a few rows come and go
    scroller.dispatchEvent(new Event('scroll'));
    await settle();
    layout(el);
    out.step.push(performance.now() - t);

    t = performance.now();
    scroller.scrollTop = 20_000; // a jump: every row in view is new
    scroller.dispatchEvent(new Event('scroll'));
    await settle();
    layout(el);
    out.scroll.push(performance.now() - t);
    out.scrolledTo = rows()[0].dataset.queryid;
    scroller.scrollTop = 0;
    scroller.dispatchEvent(new Event('scroll'));
    await settle();

    const input = el.querySelector('.pgscope-search');
    t = performance.now();
    input.value = 'region = 99';
    input.dispatchEvent(new Event('input', { bubbles: true }));
    await settle();
    layout(el);
    out.search.push(performance.now() - t);
    out.found = rows().length;

    handle.unmount();
    handle.free();

    // Baseline: the same rows as a plain HTML string, laid out.
    const base = document.getElementById('baseline');
    const d = datasets[0].series[0].fields;
    t = performance.now();
    let html = '<table><tbody>';
    for (let i = 0; i < N; i++) {
      html += '<tr><td><a href="#">' + d[3].values[i] + '</a><div>' + d[1].values[i] + ' · ' + d[0].values[i] + '</div></td>';
      for (let k = 6; k < d.length; k++) html += '<td>' + d[k].values[i].toFixed(3) + '</td>';
      html += '<td><svg width="120" height="22"><path d="M0,1 L60,11 L120,21"/></svg></td></tr>';
    }
    base.innerHTML = html + '</tbody></table>';
    layout(base);
    out.baseline.push(performance.now() - t);
    base.innerHTML = '';
  }
  return out;
};
window.benchReady = true;
</script></body></html>`;

const server = createServer(async (req, res) => {
  const path = new URL(req.url, 'http://x').pathname;
  if (path === '/') {
    res.writeHead(200, { 'content-type': 'text/html' });
    return res.end(PAGE);
  }
  const file = FILES[path];
  if (!file) {
    res.writeHead(404);
    return res.end();
  }
  res.writeHead(200, { 'content-type': file[1] });
  res.end(await readFile(file[0]));
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const { browser, page, problems } = await launch();
try {
  await page.goto(`http://127.0.0.1:${server.address().port}/`);
  await page.waitForFunction(() => window.benchReady === true, null, { timeout: 60_000 });
  await page.evaluate(() => window.runBench(2)); // warm-up: JIT, wasm tiers, fonts
  const out = await page.evaluate((runs) => window.runBench(runs), RUNS);
  if (problems.length) throw new Error(problems.join('\n'));
  // Only the rows in view exist in the DOM; the table is as tall as all of them.
  if (!out.footer.startsWith(`${STATEMENTS} of ${STATEMENTS} statements`)) throw new Error(`the panel holds: ${out.footer}`);
  if (out.tableHeight < STATEMENTS * 44 * 0.99) throw new Error(`the table is ${out.tableHeight}px tall, not ${STATEMENTS} rows`);
  if (!out.scrolledTo || out.rows === 0) throw new Error('no rows after scrolling');
  if (out.unsorted) throw new Error('the sort click did not reorder the rows');
  const p50 = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const f = (x) => x.toFixed(1).padStart(7);
  const verdict = (x, target) => (x <= target ? 'met' : 'NOT met');
  const [first, refresh, sort, step, scroll, search, floor, baseline] = [out.first, out.refresh, out.sort, out.step, out.scroll, out.search, out.floor, out.baseline].map(p50);
  console.log(`panel, top-queries view, ${STATEMENTS} statements with sparklines (headless Chromium, p50 of ${RUNS}):`);
  console.log(`  first paint (props JSON, mount, layout) ${f(first)} ms  (target <= 150 ms: ${verdict(first, 150)}; ${(first / baseline).toFixed(1)}x the plain-JS baseline)`);
  console.log(`  update: refresh with new figures        ${f(refresh)} ms  (target <= 10 ms: ${verdict(refresh, 10)})`);
  console.log(`  update: sort by a column                ${f(sort)} ms  (target <= 10 ms: ${verdict(sort, 10)})`);
  console.log(`  update: scroll 200 px                    ${f(step)} ms  (target <= 10 ms: ${verdict(step, 10)})`);
  console.log(`  update: scroll 20,000 px (rows drawn: ${out.rows})  ${f(scroll)} ms  (target <= 10 ms: ${verdict(scroll, 10)})`);
  console.log(`  update: search keystroke (${String(out.found).padStart(2)} rows left)  ${f(search)} ms  (target <= 10 ms: ${verdict(search, 10)})`);
  console.log(`  floor: an update that changes nothing      ${f(floor)} ms  (the wait for the update's task, included above)`);
  console.log(`  baseline: same rows as plain JS innerHTML ${f(baseline)} ms`);
} finally {
  await browser.close();
  server.close();
}
