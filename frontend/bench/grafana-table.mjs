// `make bench`, the panel against Grafana's own Table (issue 19): the same statements (1,000 and
// 5,000, with sparklines; statements.js) drawn in one headless Chromium page, same size
// (1,400 x 900 px), same run, by
//   pgscope   the wasm panel (target/wasm-bindgen, from `make wasm`), fed by js/props.js;
//   Grafana   @grafana/ui's TableNG, what Grafana's Table panel renders, after
//             applyFieldOverrides as the panel gets its data (grafana-table.jsx, bundled here
//             with esbuild from the real packages);
//   floor     plain JS: the rows in view built as one HTML string and set with innerHTML (the
//             same markup weight: name, identity, nine figures, a sparkline path), after the
//             same sort/filter over all rows: what no view of these rows can beat.
// Each does: first paint (mount with the data), a refresh with new figures, a sort (a click on
// the calls/s header), a scroll of 20,000 px, a search keystroke. Each is timed from the start of
// a frame until its DOM changes are done and laid out: a MutationObserver notes every task that
// changes the panel's DOM, a layout is forced once after each (so its style and layout count),
// and the step ends after 80 ms without a change (the last change's time counts, not the wait).
// The same clock for all three, so React's scheduled renders and later effects (TableNG
// measuring its columns) count as Leptos's microtasks do. p50 of RUNS; prints ratios, asserts
// nothing about time. Targets: pgscope <= 1.0x Grafana's Table and <= 1.3x the floor.
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { build } from 'esbuild';
import { openBenchPage } from './page.mjs';

const root = resolve(dirname(new URL(import.meta.url).pathname), '../..');
const SIZES = (process.env.PGSCOPE_BENCH_STATEMENTS || '1000,5000').split(',').map(Number);
const RUNS = Number(process.env.PGSCOPE_BENCH_RUNS || 9);
const WIDTH = 1400;
const HEIGHT = 900;
const out = join(root, 'target/bench');
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [join(root, 'frontend/bench/grafana-table.jsx')],
  bundle: true,
  minify: true,
  format: 'iife',
  target: 'es2020',
  jsx: 'automatic',
  outfile: join(out, 'grafana-table.js'),
  define: { define: 'undefined', 'process.env.NODE_ENV': '"production"', global: 'window' },
  loader: { '.woff': 'file', '.woff2': 'file', '.ttf': 'file', '.svg': 'file', '.png': 'file', '.gif': 'file' },
  logLevel: 'warning',
  logOverride: { 'empty-import-meta': 'silent' },
});

const FILES = {
  '/pgscope_panel.js': [join(root, 'target/wasm-bindgen/pgscope_panel.js'), 'text/javascript'],
  '/pgscope_panel_bg.wasm': [join(root, 'target/wasm-bindgen/pgscope_panel_bg.wasm'), 'application/wasm'],
  '/props.js': [join(root, 'frontend/js/props.js'), 'text/javascript'],
  '/statements.js': [join(root, 'frontend/bench/statements.js'), 'text/javascript'],
  '/grafana-table.js': [join(out, 'grafana-table.js'), 'text/javascript'],
  // react-data-grid's stylesheet, which TableNG imports (esbuild writes it beside the bundle).
  '/grafana-table.css': [join(out, 'grafana-table.css'), 'text/css'],
};

const PAGE = `<!doctype html><html><head><meta charset="utf-8"><link rel="stylesheet" href="/grafana-table.css"></head>
<body style="margin:0;background:#111217;color:#ccccdc;font-family:sans-serif">
<div id="panel" style="position:absolute;top:0;left:0;width:${WIDTH}px;height:${HEIGHT}px;overflow:hidden"></div>
<script src="/grafana-table.js"></script>
<script type="module">
import init, { mount } from '/pgscope_panel.js';
import { panelProps } from '/props.js';
import { statements, MEASURES } from '/statements.js';
await init({ module_or_path: '/pgscope_panel_bg.wasm' });
const el = document.getElementById('panel');
const frame = () => new Promise((r) => requestAnimationFrame(() => r()));
const layout = () => el.getBoundingClientRect().height + el.scrollHeight + el.offsetWidth;

// One step: see the header comment.
async function timed(change) {
  await frame();
  await frame();
  return new Promise((resolve) => requestAnimationFrame(() => {
    let last = null;
    let pending = false;
    const settle = new MessageChannel();
    settle.port1.onmessage = () => {
      pending = false;
      layout();
      last = performance.now();
    };
    const observer = new MutationObserver(() => {
      if (!pending) {
        pending = true;
        settle.port2.postMessage(0);
      }
    });
    observer.observe(el, { subtree: true, childList: true, characterData: true, attributes: true });
    const t = performance.now();
    change();
    let seen = -1;
    const poll = () => {
      if (last === seen && !pending) {
        observer.disconnect();
        settle.port1.close();
        return resolve(last === null ? null : last - t);
      }
      seen = last;
      setTimeout(poll, 80);
    };
    setTimeout(poll, 80);
  }));
}

function typeInto(input, text) {
  Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set.call(input, text);
  input.dispatchEvent(new Event('input', { bubbles: true }));
}
function scroll(scroller, top) {
  scroller.scrollTop = top;
  scroller.dispatchEvent(new Event('scroll'));
}

// The three ways of drawing the statements, each: mount(data), update(data), header() (the
// calls/s header to click), scroller(), search(), firstRow() (text of the top row in view),
// unmount().
const views = {
  pgscope: () => {
    let handle;
    return {
      mount: (d) => { const p = panelProps(d); handle = mount(el, p.json, p.numbers); },
      update: (d) => { const p = panelProps(d); handle.update(p.json, p.numbers); },
      header: () => el.querySelector('.pgscope-top-header[data-column="calls_per_s"]'),
      scroller: () => el.querySelector('.pgscope-panel'),
      search: () => el.querySelector('.pgscope-search'),
      firstRow: () => [...el.querySelectorAll('.pgscope-top-row')].sort((a, b) => a.getAttribute('aria-rowindex') - b.getAttribute('aria-rowindex'))[0]?.dataset.queryid,
      unmount: () => { handle.unmount(); handle.free(); },
    };
  },
  grafana: () => {
    let api;
    return {
      mount: (d) => { api = window.mountGrafanaTable(el, d, ${WIDTH}, ${HEIGHT}); },
      update: (d) => api.update(d),
      header: () => [...el.querySelectorAll('[role=columnheader]')].find((h) => h.textContent.trim().startsWith('calls_per_s'))?.querySelector('button, span, div') ?? null,
      scroller: () => el.querySelector('[role=grid]'),
      search: () => el.querySelector('.bench-search'),
      firstRow: () => [...el.querySelectorAll('[role=row][aria-rowindex]')].filter((r) => r.getAttribute('aria-rowindex') > 1)
        .sort((a, b) => a.getAttribute('aria-rowindex') - b.getAttribute('aria-rowindex'))[0]?.textContent,
      unmount: () => api.unmount(),
    };
  },
  floor: () => {
    const ROW = 44;
    let data, order, top = 0, needle = '', sortBy = null, version = 0;
    let body, scroller, input, header;
    const col = (name) => data.series[0].fields.find((f) => f.name === name).values;
    const spark = (i) => {
      const v = data.series[i + 1].fields[1].values;
      let d = '';
      for (let t = 0; t < v.length; t++) d += (t ? 'L' : 'M') + (t * 2).toFixed(1) + ',' + (22 - v[t] * 22).toFixed(1);
      return '<svg width="120" height="22" viewBox="0 0 120 22"><path d="' + d + '" fill="none" stroke="currentColor"/></svg>';
    };
    const rows = () => {
      const ids = col('queryid'), db = col('database'), user = col('user'), name = col('name'), text = col('text');
      const q = needle.trim().toLowerCase();
      order = [];
      for (let i = 0; i < ids.length; i++) {
        if (!q || [name[i], text[i], ids[i], db[i], user[i]].some((s) => s.toLowerCase().includes(q))) order.push(i);
      }
      if (sortBy) { const v = col(sortBy); order.sort((a, b) => v[b] - v[a]); }
      body.style.height = order.length * ROW + 'px';
      version++;
    };
    let drawn = '';
    const draw = () => {
      // A scroll that shows the same rows draws nothing (the browser's own scroll event after
      // the bench's).
      const key = version + ':' + Math.floor(top / ROW);
      if (key === drawn) return;
      drawn = key;
      const ids = col('queryid'), db = col('database'), user = col('user'), name = col('name');
      const measures = MEASURES.map(col);
      const first = Math.floor(top / ROW), last = Math.min(order.length, first + Math.ceil(${HEIGHT} / ROW) + 1);
      let html = '';
      for (let k = first; k < last; k++) {
        const i = order[k];
        html += '<div class="floor-row" data-queryid="' + ids[i] + '" style="position:absolute;top:' + k * ROW + 'px;height:' + ROW + 'px;display:flex;gap:8px">'
          + '<div style="width:360px;overflow:hidden"><a href="#">' + name[i] + '</a><div>' + db[i] + ' · ' + user[i] + ' · queryid ' + ids[i] + '</div></div>';
        for (const m of measures) html += '<div style="width:80px;text-align:right">' + (m[i] * 100).toFixed(1) + '</div>';
        html += spark(i) + '</div>';
      }
      body.innerHTML = html;
    };
    return {
      mount: (d) => {
        data = d; top = 0; needle = ''; sortBy = null;
        el.innerHTML = '<input class="floor-search"><div class="floor-header" style="display:flex">' + MEASURES.map((m) => '<div data-column="' + m + '">' + m + '</div>').join('') + '</div>'
          + '<div class="floor-scroller" style="height:' + (${HEIGHT} - 60) + 'px;overflow:auto"><div class="floor-body" style="position:relative"></div></div>';
        body = el.querySelector('.floor-body');
        scroller = el.querySelector('.floor-scroller');
        input = el.querySelector('.floor-search');
        header = el.querySelector('.floor-header [data-column="calls_per_s"]');
        header.onclick = () => { sortBy = 'calls_per_s'; rows(); draw(); };
        scroller.onscroll = () => { top = scroller.scrollTop; draw(); };
        input.oninput = () => { needle = input.value; rows(); draw(); };
        rows();
        draw();
      },
      update: (d) => { data = d; rows(); draw(); },
      header: () => header,
      scroller: () => scroller,
      search: () => input,
      firstRow: () => body.querySelector('.floor-row')?.dataset.queryid,
      unmount: () => { el.innerHTML = ''; },
    };
  },
};

window.runBench = async (n, runs) => {
  const datasets = [statements(n, 0), statements(n, 1)];
  const result = {};
  for (let r = 0; r < runs; r++) {
    for (const [name, make] of Object.entries(views)) {
      const view = make();
      const out = (result[name] ??= { first: [], refresh: [], sort: [], scroll: [], search: [], problems: [] });
      const step = async (key, change) => {
        const ms = await timed(change);
        if (ms === null) out.problems.push(key + ': the DOM did not change');
        else out[key].push(ms);
      };
      await step('first', () => view.mount(datasets[0]));
      await step('refresh', () => view.update(datasets[1]));
      const before = view.firstRow();
      const header = view.header();
      if (!header) out.problems.push('no calls_per_s header');
      else await step('sort', () => header.click());
      if (view.firstRow() === before) out.problems.push('the sort did not change the top row (' + before + ')');
      await step('scroll', () => scroll(view.scroller(), 20_000));
      if (view.firstRow() === undefined) out.problems.push('no rows after the scroll');
      await timed(() => scroll(view.scroller(), 0));
      await step('search', () => typeInto(view.search(), 'region = 99'));
      out.shown = view.firstRow();
      await timed(() => view.unmount());
    }
  }
  return result;
};
window.benchReady = true;
</script></body></html>`;

const { page, problems, close } = await openBenchPage(PAGE, FILES, { width: WIDTH + 20, height: HEIGHT + 20 });
try {
  await page.evaluate(() => window.runBench(200, 2)); // warm-up: JIT, wasm tiers, fonts
  const p50 = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const f = (x) => `${x.toFixed(1)} ms`.padStart(10);
  const r = (x, target) => `${x.toFixed(2)}x${x <= target ? ' ' : '!'}`.padStart(8);
  const STEPS = [['first', 'first paint (props, mount, layout)'], ['refresh', 'refresh with new figures'], ['sort', 'sort by calls/s'],
    ['scroll', 'scroll 20,000 px'], ['search', 'search keystroke']];
  console.log(`panel vs Grafana's Table (@grafana/ui TableNG 13.2.2, React 19) vs plain innerHTML, headless Chromium,`);
  console.log(`${WIDTH}x${HEIGHT} px, p50 of ${RUNS}, each step until its DOM changes are laid out; targets: pgscope <= 1.0x Grafana, <= 1.3x floor ('!' = not met)`);
  for (const n of SIZES) {
    const result = await page.evaluate(([size, runs]) => window.runBench(size, runs), [n, RUNS]);
    for (const [name, out] of Object.entries(result)) {
      if (out.problems.length) throw new Error(`${name}, ${n} statements: ${[...new Set(out.problems)].join('; ')}`);
    }
    console.log(`  ${n} statements${' '.repeat(24)}    pgscope    Grafana      floor  vs Grafana vs floor`);
    for (const [key, label] of STEPS) {
      const [p, g, fl] = ['pgscope', 'grafana', 'floor'].map((v) => p50(result[v][key]));
      console.log(`  ${label.padEnd(38)}${f(p)} ${f(g)} ${f(fl)} ${r(p / g, 1.0)}  ${r(p / fl, 1.3)}`);
    }
  }
  if (problems.length) throw new Error(problems.join('\n'));
} finally {
  await close();
}
