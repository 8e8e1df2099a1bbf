// Stack health on the live stack: Save & test and the "Monitoring stack health" dashboard say
// exactly what is wrong when the node exporter dies, the info exporter's scrape collapses or it
// dies, and Patroni is paused; then everything recovers. Waits are conditions (the answer says
// so), polled, never fixed sleeps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { selectors } from '@grafana/e2e-selectors';
import { browserSession, docScreenshot, eventually, screenshot, stack } from './support.mjs';

const session = browserSession(() => {
  for (const command of ['restore-info', 'start-info', 'start-node', 'patroni-resume']) {
    try {
      stack(command);
    } catch (error) {
      console.error(`cleanup: stack ${command}: ${error.message}`); // e.g. resume when not paused
    }
  }
});


/** Save & test until its message matches every pattern (and none of `absent`); returns it. */
async function healthUntil(page, patterns, what, absent = /^$/) {
  return eventually(what, async () => {
    const health = page.waitForResponse((r) => r.url().includes('/api/datasources/uid/pgscope/health'));
    await page.getByTestId(selectors.pages.DataSource.saveAndTest).click();
    const body = await (await health).json();
    const text = body.message || '';
    return { ok: patterns.every((p) => p.test(text)) && !absent.test(text), value: text };
  });
}

/** The stack-health tiles, as {name, status, summary}. */
async function tiles(page) {
  await page.locator('.pgscope-stack-tile').first().waitFor();
  return page.locator('.pgscope-stack-tile').evaluateAll((nodes) =>
    nodes.map((n) => ({
      name: n.querySelector('.pgscope-tile-name').textContent,
      status: n.dataset.status,
      summary: n.querySelector('.pgscope-tile-summary').textContent,
      upSparkline: n.querySelectorAll('.pgscope-sparkline[data-measure="up"] path').length > 0,
    })),
  );
}

/** The tiles on `path` (the dashboard, or the app's page) once `check` holds for them. */
async function dashboardUntil(page, check, what, path = '/d/pgscope-stack-health') {
  return eventually(what, async () => {
    await page.goto(path);
    const shown = await tiles(page);
    return { ok: check(shown), value: shown, describe: JSON.stringify(shown.filter((t) => t.status !== 'ok')) };
  });
}

const tile = (shown, prefix) => shown.find((t) => t.name.startsWith(prefix)) || {};

test('stack health: failures are named on Save & test and in the panel, then recover', async () => {
  const { page, problems } = session;

  // Healthy but for the deliberately dead cAdvisor target.
  await page.goto('/connections/datasources/edit/pgscope');
  // (Waited for, not assumed: a spec before this one may just have restarted the info exporter,
  // whose names return with its next scrape.)
  const healthy = await healthUntil(page, [/Connected to/, /6 of 7 targets up/, /self-cadvisor down/], 'a healthy stack', /names unavailable|collapsed|paused/);
  assert.doesNotMatch(healthy, /names unavailable|collapsed|paused/);
  // A fresh stack has no points in the range yet: wait until the up sparklines are drawn too.
  const healthyTiles = (s) => tile(s, 'query-info').status === 'ok' && tile(s, 'demo').status === 'ok' && s.filter((t) => t.upSparkline).length >= 5;
  let shown = await dashboardUntil(page, healthyTiles, 'healthy tiles with up sparklines');
  assert.equal(tile(shown, 'self-cadvisor').status, 'failing');
  assert.equal(shown[0].status, 'failing', 'worst first');
  await screenshot(page, 'stack-health-ok');

  // The node exporter dies and the info exporter's scrape collapses.
  stack('stop-node');
  stack('collapse-info');
  await page.goto('/connections/datasources/edit/pgscope');
  const broken = await healthUntil(page, [/5 of 7 targets up/, /node down/, /query-info samples collapsed to \d+%/], 'node down + collapse');
  assert.match(broken, /^Connected to /, 'the TSDB answers: Save & test stays OK');
  shown = await dashboardUntil(page, (s) => tile(s, 'node').status === 'failing' && /collapsed/.test(tile(s, 'query-info').summary), 'failing tiles');
  assert.match(tile(shown, 'pgss_query_info').summary, /% of statements named/);
  await screenshot(page, 'stack-health-node-down-collapse');
  await docScreenshot(page, 'stack-health');
  // The app's page (/a/pgscope-app) draws the same view from its own stackHealth query.
  const onPage = await dashboardUntil(page, (s) => tile(s, 'node').status === 'failing', 'the app page', '/a/pgscope-app');
  assert.deepEqual(onPage.map((t) => [t.name, t.status]), shown.map((t) => [t.name, t.status]));
  assert.ok(await page.getByRole('radio', { name: '1h' }).isChecked(), 'the page\'s range defaults to 1h');
  await screenshot(page, 'stack-health-app-page');

  // The info exporter dies; Patroni is paused.
  stack('restore-info');
  stack('stop-info');
  stack('patroni-pause');
  await page.goto('/connections/datasources/edit/pgscope');
  const names = await healthUntil(page, [/query-info down [^·]*: names unavailable/, /demo: paused/], 'info down + paused');
  assert.equal(names.match(/names unavailable/g).length, 1, names);
  shown = await dashboardUntil(page, (s) => tile(s, 'pgss_query_info').status === 'failing' && tile(s, 'demo').status === 'warning', 'info + patroni tiles');
  assert.match(tile(shown, 'query-info').summary, /names unavailable/);
  await screenshot(page, 'stack-health-info-down-paused');

  // Everything back.
  stack('start-node');
  stack('start-info');
  stack('patroni-resume');
  await page.goto('/connections/datasources/edit/pgscope');
  const recovered = await healthUntil(page, [/6 of 7 targets up/], 'recovery', /names unavailable|collapsed|paused|node down/);
  assert.match(recovered, /self-cadvisor down/);
  assert.deepEqual(problems, []);
});
