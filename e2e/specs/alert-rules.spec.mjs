// The provisioned alert rules (Prometheus/vmalert and Grafana-managed) use only metrics that
// really exist on the live stack: `pgscope lint --tsdb` finds nothing (the Citus rules' metrics,
// optional in lint's catalogue, are info lines). pgscope's own metrics
// arrive by the stack's scrape of the plugin metrics endpoint, so this waits for that scrape.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { readFileSync } from 'node:fs';
import { dsQuery, eventually, stack, tsdbUrl } from './support.mjs';

const root = resolve(dirname(new URL(import.meta.url).pathname), '../..');
const files = [
  'provisioning/rules/pgscope-stack.rules.yml', 'provisioning/alerting/pgscope-stack.yaml',
  'provisioning/rules/pgscope-regressions.rules.yml', 'provisioning/alerting/pgscope-regressions.yaml',
].map((f) => join(root, f));

test('every metric the alert rules use has series on the live stack', async () => {
  const deadline = Date.now() + 30_000;
  let run;
  for (;;) {
    run = spawnSync(join(root, 'target/debug/pgscope'), ['lint', '--tsdb', tsdbUrl, ...files], { encoding: 'utf8' });
    if (run.status === 0 || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 1000)); // the plugin metrics scrape comes every 5 s
  }
  assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`);
  assert.match(run.stderr, new RegExp(`0 finding\\(s\\)( and \\d+ hint or info line\\(s\\))? in ${files.length} file\\(s\\)`));
  // The Citus rules read custom-query metrics this stack does not export (Citus is not installed):
  // lint's catalogue marks them optional, so each is an info line, not a finding.
  assert.match(run.stdout, /optional-no-series: pg_citus_node_is_active has no series: Citus is not installed or not exported here/);
  // And lint does see a missing metric (the check can fail).
  const broken = spawnSync(join(root, 'target/debug/pgscope'), ['lint', '--tsdb', tsdbUrl, join(root, 'e2e/specs/fixtures/missing-metric.rules.yml')], { encoding: 'utf8' });
  assert.equal(broken.status, 1, broken.stderr);
  assert.match(broken.stdout, /metric pgscope_no_such_metric has no series/);
});

/** A Grafana-managed rule's query A (the `expr: |-` block after its title). */
function grafanaRuleExpr(file, title) {
  const lines = readFileSync(join(root, file), 'utf8').split('\n');
  const start = lines.findIndex((l, i) => l.trim() === 'expr: |-' && lines.slice(0, i).some((t) => t.trim() === `title: ${title}`));
  assert.ok(start > 0, `${title}: no expr block in ${file}`);
  const indent = lines[start + 1].length - lines[start + 1].trimStart().length;
  const block = [];
  for (const line of lines.slice(start + 1)) {
    if (line.length - line.trimStart().length < indent) break;
    block.push(line.slice(indent));
  }
  return block.join('\n');
}

/** One instant query through /api/ds/query and pgscope: each series' labels. */
async function pgscopeSeries(expr) {
  const result = await dsQuery({ queryType: 'promql', expr, instant: true, range: false, fallback: 'auto' });
  return (result.frames || []).flatMap((f) => f.schema.fields.filter((field) => field.name !== 'Time').map((field) => field.labels || {}));
}

test('the Grafana regression rule runs through pgscope on the live stack and keeps its statements when the info exporter dies', async () => {
  // The stack has minutes of history, not a day: the rule's windows and offset scaled to 30 s,
  // its thresholds to 0, so that every statement with calls in both windows comes back.
  const rule = grafanaRuleExpr('provisioning/alerting/pgscope-regressions.yaml', 'PgssStatementRegressed');
  const scaled = rule.replaceAll('[1h]', '[30s]').replaceAll('offset 1d', 'offset 30s').replaceAll('>= 100', '>= 0').replace(/\) > 2\n/g, ') > 0\n');
  assert.equal(scaled.match(/\) > 0\n/g)?.length, 2, scaled);
  const key = (l) => `${l.instance} ${l.datname} ${l.user} ${l.queryid}`;
  const named = await eventually('the scaled rule to return named statements', async () => {
    const series = await pgscopeSeries(scaled);
    return { ok: series.length >= 3 && series.some((l) => l.displayname), value: series };
  }, 90_000);
  assert.equal(new Set(named.map(key)).size, named.length, `each statement once: ${JSON.stringify(named)}`);
  stack('stop-info');
  try {
    const unnamed = await eventually('the statements to come back named by queryid', async () => {
      const series = await pgscopeSeries(scaled);
      return { ok: series.length >= 3 && series.every((l) => !l.displayname && l.queryid), value: series };
    }, 60_000);
    assert.equal(new Set(unnamed.map(key)).size, unnamed.length, JSON.stringify(unnamed));
    assert.ok(unnamed.every((l) => !Object.keys(l).some((k) => k.startsWith('__'))), JSON.stringify(unnamed));
  } finally {
    stack('start-info');
  }
});
