// The top-queries dashboard's classic info-join panel shows pgscope-panel rows from the live
// stack: real queryids and the names the query-info exporter serves.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { selectors } from '@grafana/e2e-selectors';
import { browserSession, screenshot, tsdbQuery } from './support.mjs';

const PANEL_TITLE = 'Statements by calls per second';
const session = browserSession();

test('pgscope-panel shows live statements with their queryids and names', async () => {
  const { page, problems } = session;
  await page.goto('/d/pgscope-pgss-top?from=now-5m&to=now');
  const panel = page.getByTestId(selectors.components.Panels.Panel.title(PANEL_TITLE));
  await panel.scrollIntoViewIfNeeded(); // Grafana loads panels below the fold when they scroll in
  const rows = panel.locator('.pgscope-row');
  await rows.first().waitFor();
  const count = await rows.count();
  assert.ok(count >= 5, `expected the workload's statements, got ${count} rows`);

  // Every row is a statement the TSDB knows, by its queryid; rows are named from pgss_query_info
  // (a statement newer than the info exporter's last scrape may show by database and queryid).
  const known = await tsdbQuery('pgss_query_info');
  const names = new Set(known.map((s) => s.metric.displayname));
  const queryids = new Set((await tsdbQuery('pg_stat_statements_calls_total')).map((s) => s.metric.queryid));
  const header = await panel.locator('thead th').allInnerTexts();
  const queryidColumn = header.findIndex((h) => h.startsWith('queryid'));
  assert.ok(queryidColumn > 0, `queryid column in ${header}`);
  let named = 0;
  for (let i = 0; i < Math.min(count, 10); i++) {
    const cells = await rows.nth(i).locator('td').allInnerTexts();
    const isNamed = names.has(cells[0]);
    named += isNamed ? 1 : 0;
    assert.ok(isNamed || /^(app|shop|postgres) -?\d+$/.test(cells[0]), `row ${i}: ${cells[0]} is a name from pgss_query_info`);
    assert.match(cells[queryidColumn], /^-?\d+$/);
    assert.ok(queryids.has(cells[queryidColumn]), `row ${i}: queryid ${cells[queryidColumn]}`);
    assert.match(cells[cells.length - 1], /^\d/, 'a calls/s value');
  }
  assert.ok(named >= Math.min(count, 10) - 2, `${named} of the first rows are named`);
  assert.ok([...names].some((n) => n.startsWith('UPDATE pgbench_accounts SET filler')), 'the WAL-heavy statement is named');

  // Sorting by a header click.
  await panel.locator('thead th', { hasText: 'Series' }).click();
  await panel.locator('thead th[aria-sort="ascending"]', { hasText: 'Series' }).waitFor();
  const sorted = await rows.locator('td:first-child').allInnerTexts();
  assert.deepEqual(sorted, [...sorted].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));

  await screenshot(page, 'pgss-dashboard');
  assert.deepEqual(problems, []);
});
