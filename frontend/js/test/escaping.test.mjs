// Template variables in queries: escaped as Grafana's Prometheus datasource escapes them, so a
// crafted value (a dashboard link's var-x=...) cannot close a string literal and add PromQL;
// pgss filters escaped once, as the regexes the backend quotes itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { interpolateFilterValue, interpolateSingleValue, interpolateValue } from '../promql.js';

test('single values are escaped for a string literal', () => {
  assert.equal(interpolateSingleValue('app'), 'app');
  assert.equal(interpolateSingleValue('a"} or vector(1) #'), 'a\\"} or vector(1) #');
  assert.equal(interpolateSingleValue('C:\\tmp'), 'C:\\\\tmp');
  assert.equal(interpolateSingleValue('job="node"'), 'job="node"', 'a whole matcher is left as Grafana leaves it');
  assert.equal(interpolateSingleValue(42), '42');
});

test('multi values are regex-escaped inside a string literal, quotes and backslashes too', () => {
  assert.equal(interpolateValue(['a"b']), 'a\\\\\\"b');
  assert.equal(interpolateValue(['a\\b']), 'a\\\\\\\\b');
  assert.equal(interpolateValue(['x.y', 'z|w']), '(x\\\\.y|z\\\\|w)');
  assert.equal(interpolateValue("it's"), "it\\\\'s");
});

test('escaped values give the PromQL Grafana would send', () => {
  // What the TSDB parses: `"` closes nothing, the value stays one matcher.
  const expr = `up{job=~"${interpolateValue(['a"} or vector(1) or up{x="'])}"}`;
  assert.equal(expr, 'up{job=~"a\\\\\\"\\\\} or vector\\\\(1\\\\) or up\\\\{x=\\\\\\""}');
});

test('pgss filter values are regex-escaped once', () => {
  assert.equal(interpolateFilterValue('shop.x'), 'shop\\.x');
  assert.equal(interpolateFilterValue(['app', 'a|b']), '(app|a\\|b)');
  assert.equal(interpolateFilterValue(['a"b\\c']), 'a"b\\\\c', 'quotes are left to the backend, which quotes the whole regex');
});
