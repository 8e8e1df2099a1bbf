// The provisioned alert rules (Prometheus/vmalert and Grafana-managed) use only metrics that
// really exist on the live stack: `pgscope lint --tsdb` finds nothing. pgscope's own metrics
// arrive by the stack's scrape of the plugin metrics endpoint, so this waits for that scrape.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { tsdbUrl } from './support.mjs';

const root = resolve(dirname(new URL(import.meta.url).pathname), '../..');
const files = ['provisioning/rules/pgscope-stack.rules.yml', 'provisioning/alerting/pgscope-stack.yaml'].map((f) => join(root, f));

test('every metric the alert rules use has series on the live stack', async () => {
  const deadline = Date.now() + 30_000;
  let run;
  for (;;) {
    run = spawnSync(join(root, 'target/debug/pgscope'), ['lint', '--tsdb', tsdbUrl, ...files], { encoding: 'utf8' });
    if (run.status === 0 || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 1000)); // the plugin metrics scrape comes every 5 s
  }
  assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`);
  assert.match(run.stderr, /0 finding\(s\)( and \d+ hint or info line\(s\))? in 2 file\(s\)/);
  // And lint does see a missing metric (the check can fail).
  const broken = spawnSync(join(root, 'target/debug/pgscope'), ['lint', '--tsdb', tsdbUrl, join(root, 'e2e/specs/fixtures/missing-metric.rules.yml')], { encoding: 'utf8' });
  assert.equal(broken.status, 1, broken.stderr);
  assert.match(broken.stdout, /metric pgscope_no_such_metric has no series/);
});
