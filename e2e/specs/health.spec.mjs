// "Save & test" names the TSDB when it answers, names the cause when it is down, and recovers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { selectors } from '@grafana/e2e-selectors';
import { browserSession, docScreenshot, screenshot, stack } from './support.mjs';

const session = browserSession(() => stack('start-tsdb'));

/** Clicks "Save & test" and waits for the alert whose text matches `expected`. */
async function saveAndTest(page, expected) {
  const health = page.waitForResponse((r) => r.url().includes('/api/datasources/uid/pgscope/health'));
  await page.getByTestId(selectors.pages.DataSource.saveAndTest).click();
  await health;
  const alert = page.getByTestId(selectors.pages.DataSource.alert).filter({ hasText: expected });
  await alert.waitFor();
  return alert.innerText();
}

test('Save & test: success, then the TSDB down, then recovered', async () => {
  const { page, problems } = session;
  await page.goto('/connections/datasources/edit/pgscope');

  await saveAndTest(page, /Connected to (VictoriaMetrics|Prometheus v\d)/);
  await screenshot(page, 'save-and-test-ok');
  await docScreenshot(page, 'save-and-test', page.getByTestId(selectors.pages.DataSource.alert).first());

  stack('stop-tsdb');
  const down = await saveAndTest(page, /Cannot reach the TSDB/);
  assert.match(down, /Cannot reach the TSDB at http:\/\/127\.0\.0\.1:\d+\/.*Connection refused/s);
  await screenshot(page, 'save-and-test-tsdb-down');

  stack('start-tsdb');
  await saveAndTest(page, /Connected to/);
  assert.deepEqual(problems, []);
});
