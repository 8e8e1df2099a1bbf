// The datasource's query editor in a browser: the preview of what is sent (the fallback and its
// note) comes from the plugin's `rewrite` resource, and the query runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { selectors } from '@grafana/e2e-selectors';
import { browserSession, screenshot } from './support.mjs';

const session = browserSession();

test('the query editor previews the fallback and runs the query', async () => {
  const { page, problems } = session;
  // Grafana's Explore URL takes more state; the stand-in reads the datasource uid.
  await page.goto('/explore?ds=pgscope');
  const editor = page.getByTestId('pgscope-query-editor');
  await editor.waitFor();
  await editor.getByLabel('PromQL expression').fill(
    'sum by (datname, queryid) (rate(pg_stat_statements_calls_total[$__rate_interval])) * on(datname, queryid) group_left(displayname) pgss_query_info',
  );
  const preview = page.getByTestId('pgscope-rewrite-preview').filter({ hasText: 'Sent with a fallback' });
  await preview.waitFor();
  const text = await preview.innerText();
  assert.match(text, /or ignoring \(displayname, __info_fallback\)/);
  assert.match(text, /the join with pgss_query_info gets a fallback/);
  assert.match(text, /\$__rate_interval/, 'the preview keeps the macro as written');

  const answered = page.waitForResponse((r) => r.url().includes('/api/ds/query'));
  await page.getByTestId(selectors.components.RefreshPicker.runButtonV2).click();
  assert.equal((await answered).status(), 200);
  const count = page.getByTestId('standin-series-count').filter({ hasText: /^[1-9]\d* series/ });
  await count.waitFor();
  await screenshot(page, 'explore-query-editor');
  assert.deepEqual(problems, []);
});
