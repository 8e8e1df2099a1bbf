// pgss analysis on the live stack: Save & test names the exporter schema; the "pgss — top
// queries" and "pgss — single query" dashboards return data in every panel; the top-queries
// view sorts, searches and drills down; with the info exporter stopped the rows keep their data
// and carry the "no name" badge, while the datasource with a PostgreSQL connection still names
// them; statement types and sqlcommenter tags (workload/tagged.sql) filter pgssTopQueries and
// show in the panel's type and tags columns. Waits are conditions, polled, never fixed sleeps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { selectors } from '@grafana/e2e-selectors';
import { browserSession, docScreenshot, eventually, screenshot, stack, topQueries } from './support.mjs';

const session = browserSession(() => stack('start-info'));
const PANEL = selectors.components.Panels.Panel;


/** Every panel of the open dashboard: title, error text, series count (built-in) or rows (ours). */
async function panelStates(page) {
  await page.waitForFunction(() => document.querySelectorAll('section').length > 0 && !document.body.innerText.includes('loading'));
  return page.locator('section').evaluateAll((sections) =>
    sections.map((s) => ({
      title: s.querySelector('h2') && s.querySelector('h2').textContent,
      error: [...s.querySelectorAll('[role="alert"]')].map((e) => e.textContent).join(' ') || (s.querySelector('[data-testid*="status error"]') || {}).title || '',
      series: Number(((s.querySelector('[data-testid="standin-series-count"]') || {}).textContent || '').split(' ')[0]) || 0,
      rows: s.querySelectorAll('.pgscope-top-row, .pgscope-row, .pgscope-detail-chart path[d^="M"]').length,
    })),
  );
}

async function everyPanelHasData(page, url) {
  return eventually(`data in every panel of ${url}`, async () => {
    await page.goto(url);
    const states = await panelStates(page);
    const empty = states.filter((p) => p.error || (p.series === 0 && p.rows === 0));
    return { ok: states.length > 1 && empty.length === 0, value: empty.length ? empty : states };
  });
}

const rowsShown = (page) =>
  page.locator('.pgscope-top-row').evaluateAll((rows) =>
    rows.map((r) => ({
      queryid: r.dataset.queryid,
      name: r.querySelector('.pgscope-top-name').textContent,
      badge: !!r.querySelector('.pgscope-name-badge'),
      calls: r.querySelector('[data-column="calls_per_s"]').textContent,
    })),
  );

test('pgss: schema in Save & test, both dashboards with data, sort, search, drill-down, names fallback', async () => {
  const { page, problems } = session;

  await page.goto('/connections/datasources/edit/pgscope');
  const health = page.waitForResponse((r) => r.url().includes('/api/datasources/uid/pgscope/health'));
  await page.getByTestId(selectors.pages.DataSource.saveAndTest).click();
  const details = (await (await health).json()).details;
  const [schemaLine, extensionsLine] = details.message.split('\n');
  assert.equal(schemaLine, 'pg_stat_statements metrics: postgres_exporter (custom queries) · 19 of 19 measures');
  // No PostgreSQL connection on this datasource: the extensions seen in the TSDB's series.
  assert.match(extensionsLine, /^pgss extensions: pg_stat_statements \(TSDB series\), pg_stat_kcache \(TSDB series\), pg_wait_sampling \(TSDB series\) · not found: pg_qualstats, hypopg/);

  const states = await everyPanelHasData(page, '/d/pgscope-pgss-top?from=now-5m&to=now');
  assert.ok(states.find((p) => p.title === 'Top queries').rows >= 5, JSON.stringify(states));
  await screenshot(page, 'pgss-top-queries');
  await docScreenshot(page, 'top-queries');

  // Sort by calls/s, descending: the numbers shown go down.
  const callsHeader = page.locator('.pgscope-top-header[data-column="calls_per_s"]');
  await callsHeader.click();
  const calls = (await rowsShown(page)).map((r) => Number(r.calls));
  assert.deepEqual(calls, [...calls].sort((a, b) => b - a), 'sorted by calls/s');
  // The same header's sort button from the keyboard: Enter turns the order around.
  await callsHeader.getByRole('button').press('Enter');
  assert.equal(await callsHeader.getAttribute('aria-sort'), 'ascending');
  const up = (await rowsShown(page)).map((r) => Number(r.calls));
  assert.deepEqual(up, [...up].sort((a, b) => a - b), 'ascending after Enter');
  // Search narrows to matching statements (one that reads buffers, so its hit ratio exists:
  // for pg_sleep it is 0/0 and that panel is rightly empty).
  await page.locator('.pgscope-search').fill('no statement reads like this');
  assert.equal(await page.locator('.pgscope-top-table .pgscope-empty').innerText(), 'No statement matches the search');
  await page.locator('.pgscope-search').fill('ORDER BY abalance DESC');
  const found = await rowsShown(page);
  assert.ok(found.length >= 1 && found.every((r) => r.name.includes('ORDER BY abalance DESC')), JSON.stringify(found));

  // Drill down: the name links to the single-query dashboard for that queryid.
  const target = found[0];
  await page.locator('.pgscope-top-name').first().click();
  await page.waitForURL(/\/d\/pgscope-pgss-query\?var-queryid=/);
  assert.match(page.url(), new RegExp(`var-queryid=${encodeURIComponent(target.queryid)}`));
  await everyPanelHasData(page, page.url() + '&from=now-5m&to=now');
  await screenshot(page, 'pgss-single-query');
  // The detail view: the statement, its database, a chart per measure on one time axis.
  const detail = page.locator('.pgscope-detail');
  assert.match(await detail.locator('.pgscope-detail-name').innerText(), /ORDER BY abalance DESC/);
  assert.match(await detail.locator('.pgscope-detail-identity').innerText(), new RegExp(`database \\w+ · user postgres · queryid ${target.queryid}`));
  const charts = detail.locator('.pgscope-detail-chart');
  assert.deepEqual((await charts.evaluateAll((cs) => cs.map((c) => c.dataset.chart))).slice(0, 3), ['calls/s', 'exec_time/call', 'exec_time/s']);
  // Hovering one chart marks the same instant on every chart.
  await charts.nth(1).locator('svg').hover({ position: { x: 200, y: 20 } });
  const cursors = await detail.locator('.pgscope-detail-cursor').evaluateAll((ls) => ls.map((l) => l.getAttribute('x1')));
  assert.equal(cursors.length, await charts.count());
  assert.equal(new Set(cursors).size, 1, `one x for all: ${cursors}`);
  assert.match(await charts.first().locator('.pgscope-detail-legend').innerText(), / at \d\d:\d\d/);
  // pg_stat_kcache in the stack (issue 21): the time per call split into CPU, I/O wait and the
  // rest, stacked, its title naming each layer's colour.
  const split = detail.locator('.pgscope-detail-chart[data-chart="time_split"]');
  assert.match(await split.locator('figcaption span').first().innerText(), /^time per call: CPU \(green\) · I\/O wait \(yellow\) · other \(grey\)$/);
  assert.equal(await split.locator('path.pgscope-detail-area').count(), 3);
  // Index advice through the datasource's advice resource: the answer or the backend's refusal,
  // in words, under the button.
  await detail.locator('.pgscope-advice-request').click();
  const advice = detail.locator('.pgscope-advice-body .pgscope-advice-answer, .pgscope-advice-body .pgscope-advice-refused');
  await advice.first().waitFor();
  assert.match(await advice.first().innerText(), /\w{4,}.*\w{4,}/);
  await docScreenshot(page, 'detail-view', detail.locator('.pgscope-detail-name'));
  await detail.locator('.pgscope-detail-mode[data-mode="per call"]').click();
  const perCall = await charts.evaluateAll((cs) => cs.map((c) => c.dataset.chart));
  assert.ok(perCall.length >= 10 && perCall.slice(1).every((k) => k.endsWith('/call') || k === 'hit_ratio'), perCall.join(' '));

  // The info exporter dies: once its names leave the (short) range, rows stay, badged.
  stack('stop-info');
  await eventually('the no-name badge', async () => {
    await page.goto('/d/pgscope-pgss-top?from=now-30s&to=now');
    await page.locator('.pgscope-top-row').first().waitFor();
    const rows = await rowsShown(page);
    return { ok: rows.length >= 5 && rows.every((r) => r.badge && r.name.startsWith('queryid ')), value: rows.slice(0, 3) };
  }, 90_000);
  assert.match(await page.locator('.pgscope-panel').first().innerText(), /names unavailable/);
  await screenshot(page, 'pgss-top-queries-no-names');
  await docScreenshot(page, 'outage-notice');

  // The datasource with a PostgreSQL connection names them all the same (no badge), and its
  // Save & test says what the connection can read.
  await page.goto('/d/pgscope-pgss-top?var-datasource=pgscope-pg&from=now-30s&to=now');
  await page.locator('.pgscope-top-row').first().waitFor();
  const named = await rowsShown(page);
  assert.ok(named.length >= 5 && named.every((r) => !r.badge && !r.name.startsWith('queryid ')), JSON.stringify(named.slice(0, 3)));
  assert.match(await page.locator('.pgscope-panel').first().innerText(), /named by PostgreSQL/);
  await screenshot(page, 'pgss-top-queries-names-from-postgres');
  await page.goto('/connections/datasources/edit/pgscope-pg');
  const pgHealth = page.waitForResponse((r) => r.url().includes('/api/datasources/uid/pgscope-pg/health'));
  await page.getByTestId(selectors.pages.DataSource.saveAndTest).click();
  assert.match((await (await pgHealth).json()).details.message, /names from PostgreSQL: pgscope_reader@localhost:\d+\/postgres · \d+ statements · reads every user's statements/);
  stack('start-info');
  assert.deepEqual(problems, []);
});

// Issue 21 item 6: tagged.sql's statements lead with /* application='checkout',route='%2Fcart...' */.
test('pgss: statement types and sqlcommenter tags filter the top queries and show in the panel', async () => {
  const { page, problems } = session;
  const hasTag = (row) => row.tags.split(' ').includes('application=checkout');
  // Through /api/ds/query: the tag filter keeps only the checkout statements, typed from their text
  // (waits for the info exporter's names, restarted by the test above).
  const tagged = await eventually('the checkout statements by tag', async () => {
    const { rows } = await topQueries({ tag: 'application=checkout', limit: 50 });
    const types = rows.map((r) => r.statement_type);
    return { ok: rows.length >= 2 && rows.every(hasTag) && types.includes('SELECT') && types.includes('UPDATE'), value: rows };
  }, 90_000);
  assert.ok(tagged.every((r) => ['SELECT', 'UPDATE'].includes(r.statement_type) && /route=\/cart/.test(r.tags)), JSON.stringify(tagged));
  const updates = (await topQueries({ statementType: ['UPDATE'], limit: 50 })).rows;
  assert.ok(updates.length >= 2 && updates.every((r) => r.statement_type === 'UPDATE'), JSON.stringify(updates.map((r) => [r.statement_type, r.name])));
  const taggedUpdate = tagged.find((r) => r.statement_type === 'UPDATE');
  assert.ok(updates.some((r) => r.queryid === taggedUpdate.queryid), 'the tagged UPDATE among the UPDATEs');

  // The panel: type and tags columns, the checkout rows (found by the search) with the same values.
  await page.goto('/d/pgscope-pgss-top?from=now-1m&to=now&var-topn=100');
  await page.locator('.pgscope-top-row').first().waitFor();
  const header = (column) => page.locator(`.pgscope-top-head [role="columnheader"][data-column="${column}"]`).innerText();
  assert.deepEqual([(await header('statement_type')).trim(), (await header('tags')).trim()], ['type', 'tags']);
  await page.locator('.pgscope-search').fill('checkout');
  const shown = await eventually('the checkout rows in the panel', async () => {
    const rows = await page.locator('.pgscope-top-row').evaluateAll((rs) =>
      rs.map((r) => ({
        queryid: r.dataset.queryid,
        statement_type: r.querySelector('[data-column="statement_type"]').textContent,
        tags: r.querySelector('[data-column="tags"]').textContent,
      })),
    );
    return { ok: rows.length >= 2 && tagged.every((t) => rows.some((r) => r.queryid === t.queryid)), value: rows };
  }, 30_000);
  for (const t of tagged) {
    const row = shown.find((r) => r.queryid === t.queryid);
    assert.deepEqual([row.statement_type, row.tags], [t.statement_type, t.tags], `panel row ${t.queryid}`);
  }
  await screenshot(page, 'pgss-top-queries-tags');
  assert.deepEqual(problems, []);
});
