// The incident, replayed on the live stack: the query-info exporter dies. The pgss panel keeps
// its rows (now keyed by database and queryid) and says why the names are missing; when the
// exporter comes back, so do the names. Through pgscope the panel never goes blank.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { selectors } from '@grafana/e2e-selectors';
import { browserSession, screenshot, stack, tsdbQuery } from './support.mjs';

const PANEL_TITLE = 'Statements by calls per second';
const session = browserSession(() => stack('start-info'));

/** Clicks Refresh until `condition()` holds (checked after each answer), or fails after `seconds`. */
async function refreshUntil(page, what, condition, seconds = 60, describe = async () => '') {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const answered = page.waitForResponse((r) => r.url().includes('/api/ds/query'));
    await page.getByTestId(selectors.components.RefreshPicker.runButtonV2).click();
    await answered;
    // The wasm panel updates on a microtask after the props change: poll briefly.
    for (let i = 0; i < 20; i++) {
      if (await condition()) return;
      await page.waitForTimeout(100);
    }
    if (Date.now() > deadline) {
      await screenshot(page, `outage-timeout-${what.replace(/\W+/g, '-')}`);
      throw new Error(`timed out after ${seconds} s waiting for ${what}; the panel shows ${await describe()}`);
    }
  }
}

test('the info exporter dies: rows stay with a notice, then the names come back', async () => {
  const { page, problems } = session;
  await page.goto('/d/pgscope-pgss-top?from=now-5m&to=now&refresh=off');
  const panel = page.getByTestId(selectors.components.Panels.Panel.title(PANEL_TITLE));
  await panel.scrollIntoViewIfNeeded(); // Grafana loads panels below the fold when they scroll in
  const rows = panel.locator('.pgscope-row');
  const notice = panel.locator('.pgscope-warning');
  await rows.first().waitFor();
  const names = new Set((await tsdbQuery('pgss_query_info')).map((s) => s.metric.displayname));
  const firstCells = () => rows.locator('td:first-child').allInnerTexts();
  assert.ok((await firstCells()).some((n) => names.has(n)), 'named rows before the outage');

  stack('stop-info');
  const keyed = (cells) => cells.length >= 5 && cells.every((c) => /^(app|shop|postgres) -?\d+$/.test(c));
  const describe = async () => JSON.stringify({ rows: (await firstCells()).slice(0, 6), notices: await notice.allInnerTexts() });
  await refreshUntil(page, 'rows keyed by database and queryid, with a notice', async () => keyed(await firstCells()) && (await notice.count()) > 0, 60, describe);
  assert.match(await notice.first().innerText(), /names unavailable: pgss_query_info has no series now/);
  await screenshot(page, 'outage-names-unavailable');

  stack('start-info');
  await refreshUntil(page, 'names to come back', async () => (await notice.count()) === 0 && (await firstCells()).some((n) => names.has(n)), 60, describe);
  assert.ok((await rows.count()) >= 5);
  await screenshot(page, 'outage-recovered');
  assert.deepEqual(problems, []);
});
