// Unit tests of the pure JS glue (node --test).
import test from 'node:test';
import assert from 'node:assert/strict';

import { panelProps } from '../props.js';
import { interpolateValue } from '../promql.js';
import { FALLBACK_MODULE, wasmUrl } from '../wasmUrl.js';

/** panelProps' JSON with the packed numbers put back in place (NaN as null, as JSON had it). */
function propsJson(...args) {
  const { json, numbers } = panelProps(...args);
  assert.ok(numbers instanceof Float64Array);
  return JSON.stringify(JSON.parse(json), (key, value) => {
    if (value && Array.isArray(value.packed)) {
      const [start, len] = value.packed;
      assert.ok(start + len <= numbers.length, 'packed range inside the array');
      return [...numbers.subarray(start, start + len)].map((x) => (Number.isNaN(x) ? null : x));
    }
    return value;
  });
}

test('panelProps keeps what the wasm panel reads and tolerates odd frames', () => {
  const data = {
    series: [
      {
        name: 'up',
        refId: 'A',
        meta: { notices: [{ severity: 'warning', text: 'names unavailable', inspect: 'meta' }] },
        fields: [
          { name: 'Time', type: 'time', values: [1, 2] },
          { name: 'Value', type: 'number', labels: { job: 'node' }, config: { displayNameFromDS: 'node', unit: 's' }, values: { toArray: () => [1, NaN] } },
        ],
      },
      {},
      {
        fields: [
          { name: 'Time', type: 'time', values: new Float64Array([5, 6, 7]) },
          { name: 'odd', type: 'number', values: [Infinity, '3', null, undefined, -0.5] },
          { name: 'text', type: 'string', values: ['a', 'b'] },
        ],
      },
    ],
    errors: [{ message: 'boom', refId: 'B' }],
  };
  const parsed = JSON.parse(propsJson(data));
  assert.equal(parsed.series.length, 3);
  assert.deepEqual(parsed.series[0].fields[1], {
    name: 'Value', type: 'number', labels: { job: 'node' }, config: { displayNameFromDS: 'node', unit: 's' }, values: [1, null],
  });
  assert.deepEqual(parsed.series[0].meta.notices, [{ severity: 'warning', text: 'names unavailable' }]);
  assert.deepEqual(parsed.series[1].fields, []);
  assert.deepEqual(parsed.series[2].fields.map((f) => f.values), [[5, 6, 7], [null, null, null, null, -0.5], ['a', 'b']], 'typed arrays read; only finite numbers kept');
  const { json, numbers } = panelProps(data);
  assert.equal(numbers.length, 2 + 2 + 3 + 5, 'one array for every number and time field');
  assert.deepEqual(JSON.parse(json).series[2].fields[2].values, ['a', 'b'], 'text stays in the JSON');
  assert.deepEqual(parsed.errors, ['boom']);
  assert.deepEqual(JSON.parse(propsJson(undefined)), { series: [], errors: [], options: {} });
  assert.deepEqual(JSON.parse(propsJson({ series: [], error: { data: { message: 'old style' } } })).errors, ['old style']);
});

test('panelProps carries the time range the charts share and the panel options', () => {
  const moment = (ms) => ({ valueOf: () => ms });
  const parsed = JSON.parse(propsJson({ series: [] }, { topColumns: ['calls_per_s'] }, { from: moment(1000), to: moment(61000), raw: {} }));
  assert.deepEqual(parsed.timeRange, { from: 1000, to: 61000 });
  assert.deepEqual(parsed.options, { topColumns: ['calls_per_s'] });
  assert.deepEqual(JSON.parse(propsJson({ series: [], timeRange: { from: new Date(5), to: 9 } })).timeRange, { from: 5, to: 9 }, "the data's range stands in");
  assert.equal(JSON.parse(propsJson({ series: [] }, {}, { from: moment(NaN), to: 'x' })).timeRange, undefined);
});

test('panel options: the column list is the wasm view\'s, and the builder gets the three options', async () => {
  const { readFile } = await import('node:fs/promises');
  const { TOP_COLUMNS, DETAIL_CHARTS, panelOptions } = await import('../panelOptions.js');
  const rust = await readFile(new URL('../../src/pgss.rs', import.meta.url), 'utf8');
  const block = rust.slice(rust.indexOf('pub const COLUMNS'), rust.indexOf('];', rust.indexOf('pub const COLUMNS')));
  const fromRust = [...block.matchAll(/\("([a-z_]+)", "([^"]+)"/g)].map((m) => [m[1], m[2]]);
  assert.deepEqual(TOP_COLUMNS, fromRust);
  const detail = await readFile(new URL('../../src/detail.rs', import.meta.url), 'utf8');
  for (const [value] of DETAIL_CHARTS.slice(1)) assert.ok(detail.includes(`Some("${value}")`), value);
  const items = [];
  const builder = { addMultiSelect(c) { items.push(c); return this; }, addRadio(c) { items.push(c); return this; } };
  panelOptions(builder);
  assert.deepEqual(items.map((i) => [i.path, i.defaultValue]), [['topColumns', []], ['detailCharts', 'overview'], ['compareTo', 'previous']]);
  const compare = await readFile(new URL('../../src/compare.rs', import.meta.url), 'utf8');
  assert.ok(compare.includes('options.compare_to.as_deref() != Some("")'), "'' is the wasm side's off");
  assert.deepEqual(items[2].settings.options.map((o) => o.value), ['', 'previous', '1d', '7d']);
  assert.equal(items[0].settings.options.length, TOP_COLUMNS.length);
});

test('multi-value variables become an escaped regex alternation', () => {
  assert.equal(interpolateValue('app'), 'app');
  assert.equal(interpolateValue(['a.b']), 'a\\\\.b');
  assert.equal(interpolateValue(['app', 'shop']), '(app|shop)');
  assert.equal(interpolateValue(5), '5');
});

test('variable queries are parsed like Grafana\'s Prometheus datasource', async () => {
  const { parseVariableQuery, formatQueryResult } = await import('../promql.js');
  assert.deepEqual(parseVariableQuery('label_values(datname)'), { kind: 'label_values', selector: undefined, label: 'datname' });
  assert.deepEqual(parseVariableQuery(' label_values(pg_stat_statements_calls_total{job="postgres"}, datname) '), {
    kind: 'label_values', selector: 'pg_stat_statements_calls_total{job="postgres"}', label: 'datname',
  });
  assert.deepEqual(parseVariableQuery('metrics(pg_stat_.*)'), { kind: 'metrics', regex: 'pg_stat_.*' });
  assert.deepEqual(parseVariableQuery('query_result(topk(5, up))'), { kind: 'query_result', expr: 'topk(5, up)' });
  assert.equal(parseVariableQuery('up').kind, 'invalid');
  assert.match(parseVariableQuery('label_values(a b)').error, /not a variable query/);
  assert.equal(formatQueryResult({ metric: { __name__: 'up', job: 'node', instance: 'a' }, value: 1 }, 5000), 'up{instance="a", job="node"} 1 5000');
});

test('the app page picks its datasource and range, and sends one stackHealth query', async () => {
  const { pickDatasource, rangePreset, stackRequest } = await import('../app.js');
  const list = [
    { uid: 'a', name: 'one', type: 'pgscope-datasource' },
    { uid: 'b', name: 'two', type: 'pgscope-datasource', isDefault: true },
  ];
  assert.equal(pickDatasource(list, 'a').uid, 'a');
  assert.equal(pickDatasource(list, 'one').uid, 'a', 'by name too');
  assert.equal(pickDatasource(list, 'gone').uid, 'b', 'unknown -> the default');
  assert.equal(pickDatasource([list[0]], undefined).uid, 'a', 'no default -> the first');
  assert.equal(pickDatasource([], 'a'), undefined);
  assert.equal(rangePreset('6h').ms, 6 * 3_600_000);
  assert.equal(rangePreset('2y').value, '1h');
  const request = stackRequest(list[1], rangePreset('15m'), 1_000_000_000, (ms) => ({ valueOf: () => ms }), 'r1');
  assert.equal(request.range.to.valueOf() - request.range.from.valueOf(), 15 * 60_000);
  assert.deepEqual(request.range.raw, { from: 'now-15m', to: 'now' });
  assert.deepEqual(request.targets, [{ refId: 'A', queryType: 'stackHealth', datasource: { type: 'pgscope-datasource', uid: 'b' } }]);
});

test('the wasm URL comes from meta.baseUrl, nested and under a sub-path, with the fallbacks kept', () => {
  const wasm = 'pgscope_panel_bg.0123456789abcdef.wasm';
  const root = 'http://grafana.local:3000/';
  const sub = 'https://example.org/grafana/'; // <base href> under serve_from_sub_path
  const cases = [
    // Grafana hands a nested plugin the app's base (configureAppChildPlugin): the panel is in panel/.
    [{ baseUrl: 'public/plugins/pgscope-app' }, root, `${root}public/plugins/pgscope-app/panel/${wasm}`],
    [{ baseUrl: 'public/plugins/pgscope-app' }, sub, `${sub}public/plugins/pgscope-app/panel/${wasm}`],
    [{ baseUrl: '/grafana/public/plugins/pgscope-app/' }, sub, `${sub}public/plugins/pgscope-app/panel/${wasm}`],
    // Newer Grafana: the nested plugin's own directory.
    [{ baseUrl: 'public/plugins/pgscope-app/panel' }, sub, `${sub}public/plugins/pgscope-app/panel/${wasm}`],
    // The panel installed on its own.
    [{ baseUrl: 'public/plugins/pgscope-panel' }, root, `${root}public/plugins/pgscope-panel/${wasm}`],
    // A CDN base.
    [{ baseUrl: 'https://cdn.example/pgscope-app/0.1.0/public/plugins/pgscope-app' }, root, `https://cdn.example/pgscope-app/0.1.0/public/plugins/pgscope-app/panel/${wasm}`],
  ];
  for (const [meta, base, want] of cases) {
    // A module object without uri, as in Grafana: baseUrl decides.
    assert.equal(wasmUrl(wasm, meta, {}, base), want, JSON.stringify([meta, base]));
  }
  // No baseUrl (meta not set yet, or an empty one): SystemJS's module.uri, else the fixed path,
  // both relative to <base href> so the sub-path is kept.
  const uri = 'http://grafana.local:3000/public/plugins/pgscope-panel/module.js?_cache=0.1.0';
  assert.equal(wasmUrl(wasm, {}, { uri }, root), `${root}public/plugins/pgscope-panel/${wasm}`);
  assert.equal(wasmUrl(wasm, { baseUrl: '' }, {}, sub), `${sub}public/plugins/pgscope-panel/${wasm}`);
  assert.equal(wasmUrl(wasm, undefined, undefined, sub), new URL(wasm, new URL(FALLBACK_MODULE, sub)).href);
  assert.equal(FALLBACK_MODULE, 'public/plugins/pgscope-panel/module.js');
});

test('pgss queries: compareTo and threshold interpolated, a numeric threshold sent as a number', async () => {
  const { interpolatePgss } = await import('../datasource.js');
  const vars = { $compare: '1d', $threshold: '35' };
  const replace = (text) => text.replace(/\$\w+/g, (name) => (name in vars ? vars[name] : name));
  assert.deepEqual(interpolatePgss({ queryType: 'pgssTopQueries', compareTo: '$compare', threshold: '$threshold', limit: 20 }, replace), { queryType: 'pgssTopQueries', compareTo: '1d', threshold: 35, limit: 20 });
  assert.deepEqual(interpolatePgss({ compareTo: '', threshold: ' ' }, replace), {}, 'empty means unset');
  assert.deepEqual(interpolatePgss({ threshold: 15 }, replace), { threshold: 15 });
  const types = (text) => text.replace('$types', '{SELECT,UPDATE}').replace('$app', 'checkout');
  assert.deepEqual(interpolatePgss({ statementType: ['$types', 'DDL'], tag: 'application=$app' }, types), { statementType: ['{SELECT,UPDATE}', 'DDL'], tag: 'application=checkout' }, 'types and tag interpolated (the backend splits a multi-value)');
  assert.deepEqual(interpolatePgss({ statementType: [], tag: '' }, types), {}, 'no types, no tag: unset');
  assert.deepEqual(interpolatePgss({ threshold: '$unknown' }, replace), { threshold: '$unknown' }, 'the backend says what is wrong with it');
});

test('index advice: the request names the datasource the data came from and answers in the backend\'s words', async () => {
  const { datasourceRef, fetchAdvice, loadRuntime } = await import('../advice.js');
  const ref = { type: 'pgscope-datasource', uid: 'pgscope-pg' };
  assert.deepEqual(datasourceRef({ request: { targets: [{ queryType: 'promql', datasource: { uid: 'x' } }, { queryType: 'pgssQuery', datasource: ref }] } }), ref);
  assert.equal(datasourceRef({ series: [] }), undefined);
  const asked = [];
  const runtime = (resource, list = [ref]) => ({
    getDataSourceSrv: () => ({
      getList: () => list,
      get: async (target) => ({ getResource: async (path, params) => { asked.push([target.uid, path, params]); return resource(); } }),
    }),
  });
  const answer = { example: 'SELECT 1', predicates: [], candidates: [] };
  assert.deepEqual(await fetchAdvice(runtime(() => answer), ref, '42', 'shop'), { status: 200, body: JSON.stringify(answer) });
  assert.deepEqual(asked.pop(), ['pgscope-pg', 'advice', { queryid: '42', database: 'shop' }]);
  const refused = await fetchAdvice(runtime(() => { throw { status: 422, data: { message: 'needs pg_qualstats and hypopg', needs: 'a role' } }; }), ref, '42', 'shop');
  assert.deepEqual(refused, { status: 422, body: JSON.stringify({ message: 'needs pg_qualstats and hypopg', needs: 'a role' }) });
  const broken = await fetchAdvice(runtime(() => { throw new Error('network down'); }), undefined, '1', 'app');
  assert.deepEqual([broken.status, JSON.parse(broken.body).message], [500, 'index advice failed: network down']);
  assert.deepEqual(asked.pop()[0], 'pgscope-pg', 'without a request: the one pgscope datasource');
  const two = await fetchAdvice(runtime(() => answer, [ref, { type: 'pgscope-datasource', uid: 'b' }]), undefined, '1', 'app');
  assert.match(JSON.parse(two.body).message, /2 are configured/);
  await assert.rejects(loadRuntime({}), /no SystemJS/);

  // A click on the button asks, says so at once, and draws the answer for that statement;
  // a redrawn body gets it again; a copy button copies; other clicks do nothing.
  const { panelAdvice, adviceHtml, ASKING_HTML } = await import('../advice.js');
  const body = { dataset: { queryid: '7', database: 'app' }, innerHTML: '' };
  const root = { querySelectorAll: () => [body] };
  const button = { dataset: { queryid: '7', database: 'app' } };
  const copied = [];
  const advice = panelAdvice(() => ({ request: { targets: [{ queryType: 'pgssQuery', datasource: ref }] } }), async () => runtime(() => answer), () => ({ writeText: async (t) => copied.push(t) }));
  const asking = advice.onClick({ currentTarget: root, target: { closest: (selector) => (selector === '.pgscope-advice-request' ? button : null) } });
  assert.equal(body.innerHTML, ASKING_HTML);
  await asking;
  assert.equal(body.innerHTML, adviceHtml(200, JSON.stringify(answer)));
  // The browser writes innerHTML back its own way: no redraw while it is this element's answer.
  body.innerHTML = 'as the browser writes it';
  advice.refill(root);
  assert.equal(body.innerHTML, 'as the browser writes it', 'drawn once: a MutationObserver calls refill on every change');
  const redrawn = { dataset: { queryid: '7', database: 'app' }, innerHTML: '' };
  advice.refill({ querySelectorAll: () => [redrawn] });
  assert.equal(redrawn.innerHTML, adviceHtml(200, JSON.stringify(answer)), 'drawn again into the body a refresh drew anew');
  const copyButton = { dataset: { copy: 'CREATE INDEX ON t (a)' }, textContent: 'copy' };
  advice.onClick({ currentTarget: root, target: { closest: (selector) => (selector.endsWith('[data-copy]') ? copyButton : null) } });
  await Promise.resolve();
  await Promise.resolve();
  assert.deepEqual([copied, copyButton.textContent], [['CREATE INDEX ON t (a)'], 'copied']);
  assert.equal(advice.onClick({ currentTarget: root, target: { closest: () => null } }), undefined);
  const other = { dataset: { queryid: '8', database: 'app' }, innerHTML: '' };
  const noRuntime = panelAdvice(() => ({}), () => Promise.reject(new Error('no SystemJS')));
  await noRuntime.onClick({ currentTarget: { querySelectorAll: () => [other] }, target: { closest: (s) => (s === '.pgscope-advice-request' ? other : null) } });
  assert.match(other.innerHTML, /pgscope-advice-refused.*needs Grafana&#39;s runtime: no SystemJS/);
});

test('index advice reads the answer into predicates, candidates and costs, escaped; refusals in the backend\'s words', async () => {
  const { adviceHtml, costText, escapeHtml } = await import('../advice.js');
  const body = JSON.stringify({
    queryid: '42', database: 'shop', example: 'SELECT count(*) FROM orders WHERE customer = 7',
    predicates: [{ table: 'public.orders', column: 'customer', operator: '=', executions: 12, filtered: 99000 }],
    candidates: [
      { createIndex: 'CREATE INDEX ON public.orders (customer)', costBefore: 2185.3, costAfter: 295.5, used: true },
      { createIndex: 'CREATE INDEX ON public.orders (note)', costBefore: 2185.3, costAfter: 2185.3, used: false },
    ],
  });
  const html = adviceHtml(200, body);
  assert.ok(html.includes('<code>CREATE INDEX ON public.orders (customer)</code> <button type="button" class="pgscope-copy" data-copy="CREATE INDEX ON public.orders (customer)">copy</button><div class="pgscope-advice-cost">estimated cost 2185.3 → 295.5 (−86 %)</div>'), html);
  assert.ok(html.includes('<li><code>public.orders.customer =</code> <span class="pgscope-advice-detail">12 executions, 99000 rows filtered</span></li>'), html);
  assert.ok(!html.includes('(note)') && !html.includes('pgscope-advice-none'), 'an index the planner did not use is no advice');
  assert.ok(adviceHtml(200, '{}').includes('pgscope-advice-none'));
  assert.equal(
    adviceHtml(422, JSON.stringify({ message: 'index advice needs the extensions pg_qualstats and hypopg', needs: 'a role with pg_read_all_stats' })),
    adviceHtml(200, '{}').split('<div')[0] + '<div class="pgscope-advice-refused" role="alert">index advice needs the extensions pg_qualstats and hypopg<div class="pgscope-advice-needs">Needs: a role with pg_read_all_stats</div></div>',
  );
  assert.match(adviceHtml(502, ''), /index advice failed \(HTTP 502\)<\/div>$/);
  assert.match(adviceHtml(500, 'gateway <down>'), /failed \(HTTP 500\): gateway &lt;down&gt;/);
  assert.match(adviceHtml(200, '[1]'), /not a JSON object/);
  const hostile = adviceHtml(200, JSON.stringify({ example: '<img src=x onerror=alert(1)>', candidates: [{ createIndex: 'CREATE INDEX ON "t" (a)"><b>', costBefore: 1, costAfter: 1 }] }));
  assert.ok(!hostile.includes('<img') && !hostile.includes('"><b>') && hostile.includes('data-copy="CREATE INDEX ON &quot;t&quot; (a)&quot;&gt;&lt;b&gt;"'), hostile);
  for (const odd of ['{"predicates":5,"candidates":[null,{"createIndex":7}]}', '{', 'null', '{"candidates":[{"createIndex":"x","costBefore":"y","costAfter":1e308}]}', '{"predicates":[{}]}']) {
    assert.equal(typeof adviceHtml(200, odd), 'string');
    assert.equal(typeof adviceHtml(NaN, odd), 'string');
  }
  assert.equal(costText(0, undefined), 'estimated cost 0.0 → ?');
  assert.equal(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
});

test('the panel stylesheet: once per page, a rule for every class the top-queries view draws, rows as tall as the viewport counts', async () => {
  const { readFile } = await import('node:fs/promises');
  const { PANEL_CSS, STYLE_ID, ensureStyles } = await import('../styles.js');
  const view = await readFile(new URL('../../src/view/pgss.rs', import.meta.url), 'utf8');
  // Every "pgscope-..." literal in the view is a class, written as `class="..."` or chosen by an
  // expression (`class=if numeric { "pgscope-top-cell" } else { "pgscope-top-text" }`).
  const classes = new Set([...view.matchAll(/"(pgscope-[^"]+)"/g)].flatMap((m) => m[1].split(/\s+/)).filter((c) => c.startsWith('pgscope-')));
  for (const name of ['pgscope-top-row', 'pgscope-top-cell', 'pgscope-state-badge', 'pgscope-name-badge', 'pgscope-top-sparkline']) assert.ok(classes.has(name), name);
  for (const name of classes) {
    if (['pgscope-search', 'pgscope-top-footer', 'pgscope-empty', 'pgscope-top-name', 'pgscope-full-text'].includes(name) && !PANEL_CSS.includes(`.${name}`)) continue;
    assert.ok(PANEL_CSS.includes(`.${name}`), `a rule for .${name}`);
  }
  const viewport = await readFile(new URL('../../src/viewport.rs', import.meta.url), 'utf8');
  const rowHeight = viewport.match(/ROW_HEIGHT: f64 = ([\d.]+)/)[1];
  assert.match(PANEL_CSS, new RegExp(`\\.pgscope-top-row \\{[^}]*height: ${Number(rowHeight)}px`));
  assert.match(PANEL_CSS, /\[data-tone=worse\] \[data-column=change\] \{ color: var\(--pgscope-error/);
  const added = [];
  const doc = { head: { appendChild: (e) => added.push(e) }, getElementById: (id) => added.find((e) => e.id === id) || null, createElement: () => ({}) };
  assert.equal(ensureStyles(doc), true);
  assert.equal(ensureStyles(doc), false, 'once per page');
  assert.deepEqual([added.length, added[0].id, added[0].textContent], [1, STYLE_ID, PANEL_CSS]);
  assert.equal(ensureStyles(null), false);
});
