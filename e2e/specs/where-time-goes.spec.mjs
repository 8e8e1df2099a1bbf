// Where a statement's time goes, on the live stack (issue 21). A statement made I/O-bound
// (e2e/stack/stack.sh io-probe: random reads by index from a table larger than shared_buffers,
// its pages dropped from the OS page cache before each call, so the kernel reads them from the
// block device) and one made lock-bound (stack.sh lock-probe: a second connection holds the row
// it updates FOR UPDATE) show, through /api/ds/query and in the single-query dashboard's detail
// view, their time split into CPU, I/O wait and the rest, and the wait event pg_wait_sampling saw
// (IO:DataFileRead, Lock:transactionid). A statement filtering on an unindexed column
// (workload/seq_scan.sql: pgbench_accounts.abalance) gets an index suggestion whose hypothetical
// index lowers its estimated cost. Waits are conditions, polled, never fixed sleeps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { browserSession, eventually, screenshot, stack, topQueries } from './support.mjs';

const session = browserSession(() => {
  stack('io-probe', 'stop');
  stack('lock-probe', 'stop');
});

const figure = (value) => (typeof value === 'number' && Number.isFinite(value) ? value : 0);

/**
 * A table row's execution time split as the detail view splits it (frontend/src/detail.rs
 * `time_split`), as shares of the execution time: CPU (pg_stat_kcache user + system), I/O wait
 * (block read + write time, only where the kernel read or wrote), the rest.
 */
function timeSplit(row) {
  const exec = figure(row.exec_time_per_s);
  const cpu = Math.min(exec, figure(row.cpu_user_time_per_s) + figure(row.cpu_system_time_per_s));
  const disk = figure(row.disk_read_per_s) + figure(row.disk_written_per_s);
  const io = disk > 0 ? Math.min(exec - cpu, figure(row.block_read_time_per_s) + figure(row.block_write_time_per_s)) : 0;
  return { cpu: cpu / exec, io: io / exec, other: (exec - cpu - io) / exec };
}

const percent = (share) => `${(share * 100).toFixed(0)} %`;
const describe = (row) => row && `${row.name}: ${Object.entries(timeSplit(row)).map(([k, v]) => `${k} ${percent(v)}`).join(', ')}; ` +
  `${(figure(row.disk_read_per_call) / 1e6).toFixed(1)} MB read from storage per call, ` +
  `${(figure(row.disk_written_per_s) / 1e6).toFixed(2)} MB/s written; top wait ${row.top_wait_event} ${percent(figure(row.top_wait_share))}`;

/** The row of the statement whose text holds `text` over the last minute, once `ready(row)`. */
function statement(what, text, ready = () => true) {
  return eventually(what, async () => {
    const { rows } = await topQueries({ orderBy: 'exec_time', search: text, limit: 5 });
    const row = rows.find((r) => (r.text || r.name).includes(text));
    return { ok: !!row && ready(row), value: row, describe: describe(row) || JSON.stringify(rows.map((r) => r.name)) };
  }, 60_000);
}

/**
 * The single-query dashboard's detail view of `queryid` over the last minute: the time split's
 * layers with their share of its area, and the wait chart's events, most waited first (as
 * their titles name them: "time per call: CPU (green) · I/O wait (yellow) · other (grey)").
 */
async function detailView(page, queryid) {
  await page.goto(`/d/pgscope-pgss-query?var-queryid=${encodeURIComponent(queryid)}&from=now-1m&to=now`);
  const detail = page.locator('.pgscope-detail');
  await detail.locator('.pgscope-detail-chart[data-chart="waits"]').waitFor();
  const charts = await detail.locator('.pgscope-detail-chart').evaluateAll((figures) => Object.fromEntries(figures.map((chart) => {
    // The area of a closed SVG path of straight segments (shoelace formula).
    const area = (d) => {
      const points = [...d.matchAll(/(-?[\d.]+),(-?[\d.]+)/g)].map((m) => [Number(m[1]), Number(m[2])]);
      let twice = 0;
      points.forEach(([x1, y1], i) => { const [x2, y2] = points[(i + 1) % points.length]; twice += x1 * y2 - x2 * y1; });
      return Math.abs(twice) / 2;
    };
    const title = chart.querySelector('figcaption span').textContent;
    return [chart.dataset.chart, { title, areas: [...chart.querySelectorAll('path.pgscope-detail-area')].map((p) => area(p.getAttribute('d'))) }];
  })));
  const layers = (chart) => chart.title.slice(chart.title.indexOf(': ') + 2).split(' · ').map((l) => l.replace(/ \(\w+\)$/, ''));
  const split = charts.time_split;
  const total = split.areas.reduce((a, b) => a + b, 0);
  return {
    split: Object.fromEntries(layers(split).map((name, i) => [name, split.areas[i] / total])),
    waits: layers(charts.waits),
  };
}

test('an I/O-bound and a lock-bound statement: time split and wait event; index advice for an unindexed filter', async () => {
  const { page, problems } = session;
  const started = Date.now();
  const elapsed = () => `[${((Date.now() - started) / 1000).toFixed(0)} s]`;
  stack('io-probe', 'start');
  stack('lock-probe', 'start');

  // I/O-bound: most of its time waiting for reads the kernel did from storage.
  const io = await statement('the I/O probe spending its time in reads from storage', 'io_probe(', (row) =>
    timeSplit(row).io >= 0.4 && figure(row.disk_read_per_call) > 1e6 && row.top_wait_event === 'IO:DataFileRead');
  console.log(`${elapsed()} I/O-bound: ${describe(io)}`);
  assert.ok(timeSplit(io).io > timeSplit(io).cpu, describe(io));
  // A statement shared buffers and the page cache serve (workload/top_n.sql): next to nothing
  // read from storage, its time CPU and, being a parallel query, waiting for its workers. Its
  // sequential scan can still have to write out pages pgbench's updates dirtied (it recycles a
  // small ring of buffers), and that is I/O wait: 3 % in one run here, 0 in others. So the
  // check is that it is not taken for I/O-bound, not that its I/O share is nil.
  const cached = await statement('a statement served from shared buffers', 'ORDER BY abalance DESC');
  console.log(`${elapsed()} served from memory: ${describe(cached)}`);
  const cachedSplit = timeSplit(cached);
  assert.ok(cachedSplit.io < 0.2 && cachedSplit.io < cachedSplit.cpu, describe(cached));
  assert.ok(figure(cached.disk_read_per_call) < 0.1e6, describe(cached));

  // Lock-bound: its time waiting for the holder's transaction, hardly any CPU.
  const lock = await statement('the lock probe waiting on the holder', 'UPDATE lock_probe', (row) =>
    row.top_wait_event === 'Lock:transactionid' && figure(row.top_wait_share) >= 0.8 && timeSplit(row).other >= 0.8);
  console.log(`${elapsed()} lock-bound: ${describe(lock)}`);

  // The same in the detail view: the stacked time split's layers and the wait chart's events.
  const ioView = await detailView(page, io.queryid);
  await screenshot(page, 'detail-io-bound');
  console.log(`${elapsed()} detail view, I/O-bound: ${JSON.stringify(ioView)}`);
  assert.deepEqual(Object.keys(ioView.split), ['CPU', 'I/O wait', 'other']);
  // The view's range holds more calls than the row checked above, some of them with their pages
  // still cached: its I/O share was 49-79 % over four runs here, CPU the rest. The row asserted
  // I/O wait above CPU; the view is held to the same 40 % the row had to reach.
  assert.ok(ioView.split['I/O wait'] >= 0.4, JSON.stringify(ioView));
  assert.equal(ioView.waits[0], 'IO:DataFileRead', JSON.stringify(ioView));
  const lockView = await detailView(page, lock.queryid);
  await screenshot(page, 'detail-lock-bound');
  console.log(`${elapsed()} detail view, lock-bound: ${JSON.stringify(lockView)}`);
  assert.ok(lockView.split.other >= 0.8, JSON.stringify(lockView));
  assert.equal(lockView.waits[0], 'Lock:transactionid', JSON.stringify(lockView));

  // Index advice through the datasource with the PostgreSQL connection: pg_qualstats saw the
  // filter on pgbench_accounts.abalance (no index), hypopg's index on it lowers the estimate.
  const scan = await statement('the statement filtering on abalance', 'WHERE abalance >');
  const asked = await page.request.get(`/api/datasources/uid/pgscope-pg/resources/advice?queryid=${scan.queryid}&database=app`);
  const advice = await asked.json();
  assert.equal(asked.status(), 200, JSON.stringify(advice));
  const best = advice.candidates[0];
  assert.equal(best && best.createIndex, 'CREATE INDEX ON public.pgbench_accounts (abalance)', JSON.stringify(advice));
  assert.ok(best.used && best.costAfter < best.costBefore, JSON.stringify(best));
  console.log(`${elapsed()} index advice: ${best.createIndex}, estimated cost ${best.costBefore} -> ${best.costAfter}`);
  await page.goto(`/d/pgscope-pgss-query?var-datasource=pgscope-pg&var-queryid=${scan.queryid}&from=now-1m&to=now`);
  await page.locator('.pgscope-detail .pgscope-advice-request').click();
  const candidate = page.locator('.pgscope-advice-body .pgscope-advice-candidate').first();
  await candidate.waitFor();
  assert.equal(await candidate.locator('code').innerText(), 'CREATE INDEX ON public.pgbench_accounts (abalance)');
  const [before, after] = (await candidate.locator('.pgscope-advice-cost').innerText()).match(/estimated cost ([\d.]+) → ([\d.]+)/).slice(1).map(Number);
  assert.ok(after < before, `estimated cost ${before} -> ${after}`);
  assert.deepEqual(problems, []);
});
