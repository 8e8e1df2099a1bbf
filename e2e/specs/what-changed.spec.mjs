// "What changed" on the live stack (issue 20): a probe statement runs at 1 ms per call, then is
// made 20x slower mid-run (e2e/stack/stack.sh regress fast|slow); pgssTopQueries comparing the
// last minute with the one before ranks it first as regressed within a few scrapes (the stack
// scrapes every 5 s), and the "what changed" dashboard's panel shows it first with its badge.
// Waits are conditions, polled, never fixed sleeps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { browserSession, eventually, screenshot, stack, topQueries, tsdbQuery } from './support.mjs';

const session = browserSession(() => stack('regress', 'stop'));

test('a statement made slower mid-run ranks first as regressed', async () => {
  stack('regress', 'fast');
  const probe = await eventually('the probe statement in the TSDB with its name', async () => {
    const { rows } = await topQueries({ orderBy: 'calls', search: 'regress_probe' });
    const row = rows.find((r) => r.name.startsWith('SELECT regress_probe('));
    return { ok: !!row, value: row, describe: JSON.stringify(rows.map((r) => r.name)) };
  }, 90_000);
  // A full minute of the fast probe, so that "the minute before" holds it only.
  await eventually('a minute of the fast probe', async () => {
    const [sample] = await tsdbQuery(`sum(increase(pg_stat_statements_calls_total{queryid="${probe.queryid}"}[1m] offset 5s))`);
    return { ok: sample && Number(sample.value[1]) >= 450, value: sample };
  }, 120_000);

  stack('regress', 'slow');
  const slowed = Date.now();
  const query = { compareTo: 'previous', orderBy: 'exec_time_per_call_change_pct' };
  const first = await eventually('the probe ranked first as regressed', async () => {
    const { rows, meta } = await topQueries(query);
    return { ok: rows[0] && rows[0].queryid === probe.queryid && rows[0].state === 'regressed', value: { first: rows[0], compare: meta.custom.compare } };
  }, 90_000);
  const seconds = (Date.now() - slowed) / 1000;
  console.log(`what changed: the probe ranked first as regressed ${seconds.toFixed(0)} s after it was slowed (scrapes every 5 s): ` +
    `${(first.first.exec_time_per_call * 1000).toFixed(2)} ms per call now, ${(first.first.exec_time_per_call_then * 1000).toFixed(2)} ms then`);
  assert.ok(first.first.exec_time_per_call > 2 * first.first.exec_time_per_call_then, JSON.stringify(first));
  assert.equal(first.compare.label, 'previous 1m0s');
  assert.ok(first.compare.counts.regressed >= 1, JSON.stringify(first.compare));
  // Only the regressed ones, as the dashboard's state filter asks.
  const { rows } = await topQueries({ ...query, state: ['regressed'] });
  assert.ok(rows.some((r) => r.queryid === probe.queryid) && rows.every((r) => r.state === 'regressed'), JSON.stringify(rows));

  // The "what changed" dashboard over the last minute: its panel shows the probe first, with
  // the regressed badge, and names the comparison window in its header.
  const { page } = session;
  const url = '/d/pgscope-pgss-changed?from=now-1m&to=now&var-compare_to=previous&var-threshold=20';
  const queried = [];
  page.on('request', (r) => { if (r.url().includes('/api/ds/query')) queried.push(r.postData()); });
  const shown = await eventually('the probe first in the panel, badged regressed', async () => {
    await page.goto(url);
    const panel = page.locator('section').filter({ hasText: 'What changed: time per call' }).first();
    // The panel says "loading…" until its data is drawn.
    await page.waitForFunction(() => {
      const section = [...document.querySelectorAll('section')].find((s) => s.innerText.includes('What changed: time per call'));
      return section && !section.innerText.includes('loading') && section.querySelector('.pgscope-top-row, [role="alert"]');
    }, null, { timeout: 30_000 });
    const rows = await panel.locator('.pgscope-top-row').evaluateAll((els) =>
      els
        .map((r) => ({ top: parseFloat(r.style.top) || 0, queryid: r.dataset.queryid, badge: (r.querySelector('.pgscope-state-badge') || {}).textContent || '' }))
        .sort((a, b) => a.top - b.top),
    );
    const header = await panel.innerText();
    return { ok: rows[0] && rows[0].queryid === probe.queryid && rows[0].badge === 'regressed', value: { rows: rows.slice(0, 3), header, queried: queried.slice(-1) } };
  }, 60_000).catch(async (error) => {
    await screenshot(page, 'what-changed-failure');
    throw error;
  });
  assert.match(shown.header, /compared with previous 1m0s: \d+ regressed/);
});
