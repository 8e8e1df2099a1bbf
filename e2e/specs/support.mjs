// Shared by the e2e specs: where Grafana (or the stand-in) is, the browser (Debian's chromium
// driven by playwright-core: browser downloads do not work here), screenshots as artifacts, and
// the stack's failure switches. Against a real Grafana set GRAFANA_URL (and GRAFANA_USER /
// GRAFANA_PASSWORD, default admin/admin); the specs select elements by Grafana's own test ids
// (@grafana/e2e-selectors), so the same specs run against both.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { after, before } from 'node:test';
import { chromium } from 'playwright-core';

const root = resolve(dirname(new URL(import.meta.url).pathname), '../..');
export const baseUrl = (process.env.GRAFANA_URL || process.env.STANDIN_URL || 'http://127.0.0.1:3000').replace(/\/$/, '');
export const tsdbUrl = process.env.PGSCOPE_TSDB_URL || 'http://127.0.0.1:8428';
export const artifacts = process.env.E2E_ARTIFACTS || join(root, 'e2e/artifacts');

export async function launch() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const context = await browser.newContext({
    viewport: { width: 1400, height: 900 },
    colorScheme: 'dark', // Grafana's "system" theme follows it; the stand-in is always dark
    baseURL: baseUrl,
    httpCredentials: process.env.GRAFANA_URL
      ? { username: process.env.GRAFANA_USER || 'admin', password: process.env.GRAFANA_PASSWORD || 'admin' }
      : undefined,
  });
  context.setDefaultTimeout(30_000);
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  return { browser, page, problems };
}

/**
 * One browser for a spec file: launched before its tests, closed after them (after `cleanup`,
 * e.g. restarting what a test stopped). Returns the session object the hooks fill in.
 */
export function browserSession(cleanup = () => {}) {
  const session = {};
  before(async () => {
    Object.assign(session, await launch());
  });
  after(async () => {
    try {
      cleanup();
    } finally {
      await session.browser.close();
    }
  });
  return session;
}

export async function screenshot(page, name) {
  mkdirSync(artifacts, { recursive: true });
  const path = join(artifacts, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/**
 * The README's screenshots (docs/img/<name>.png, also named by plugin.json's screenshots): the
 * viewport only, so every one is 1400 × 900 in the dark theme, rewritten by every run so they show
 * the panel as it is. `scrollTo` (a locator) is scrolled to the middle of the view first (as far as
 * the page scrolls). E2E_DOCS_IMG sets another folder; set empty, they are not written.
 */
export const docsImg = process.env.E2E_DOCS_IMG ?? join(root, 'docs/img');
export async function docScreenshot(page, name, scrollTo) {
  if (!docsImg) return null;
  if (scrollTo) await scrollTo.evaluate((element) => element.scrollIntoView({ block: 'center' }));
  mkdirSync(docsImg, { recursive: true });
  const path = join(docsImg, `${name}.png`);
  await page.screenshot({ path, fullPage: false });
  return path;
}

/** The stack's switches (e2e/stack/stack.sh stop-tsdb, start-info, regress slow, ...). */
export function stack(command, ...args) {
  execFileSync('bash', [join(root, 'e2e/stack/stack.sh'), command, ...args], { stdio: ['ignore', 'inherit', 'inherit'] });
}

/**
 * One query through Grafana's (or the stand-in's) /api/ds/query to the pgscope datasource, as a
 * dashboard or alerting sends it (`query`: the target's fields besides refId and datasource),
 * over `now-<range>` to now: refId A's result, which must have no error.
 */
export async function dsQuery(query, range = '5m') {
  const headers = { 'content-type': 'application/json' };
  if (process.env.GRAFANA_URL) {
    const user = process.env.GRAFANA_USER || 'admin';
    headers.authorization = `Basic ${Buffer.from(`${user}:${process.env.GRAFANA_PASSWORD || 'admin'}`).toString('base64')}`;
  }
  const response = await fetch(`${baseUrl}/api/ds/query`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ from: `now-${range}`, to: 'now', queries: [{ refId: 'A', datasource: { type: 'pgscope-datasource', uid: 'pgscope' }, ...query }] }),
  });
  const body = await response.json();
  if (response.status !== 200) throw new Error(`/api/ds/query answered ${response.status}: ${JSON.stringify(body)}`);
  const result = body.results.A;
  if (result.error) throw new Error(`/api/ds/query: ${result.error}`);
  return result;
}

/** pgssTopQueries through /api/ds/query over the last `range`: the table's meta and its rows as objects. */
export async function topQueries(query, range = '1m') {
  const result = await dsQuery({ queryType: 'pgssTopQueries', limit: 10, ...query }, range);
  const table = result.frames[0];
  const fields = table.schema.fields.map((f) => f.name);
  const columns = table.data.values;
  return { meta: table.schema.meta, rows: (columns[0] || []).map((_, i) => Object.fromEntries(fields.map((name, c) => [name, columns[c][i]]))) };
}

/** A PromQL instant query straight to the TSDB (to check what the page shows against it). */
export async function tsdbQuery(expr) {
  const response = await fetch(`${tsdbUrl}/api/v1/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ query: expr }),
  });
  const body = await response.json();
  if (body.status !== 'success') throw new Error(`${expr}: ${JSON.stringify(body)}`);
  return body.data.result;
}

/**
 * Polls `probe` (returning {ok, value, describe?}) every second until ok, then returns its
 * value; after `timeoutMs` fails with what was last seen. The specs' only way to wait.
 */
export async function eventually(what, probe, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await probe();
    if (last.ok) return last.value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last seen: ${last.describe || JSON.stringify(last.value)}`);
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}
