// The request the stand-in gives panels as `data.request` and the requests it sends, against
// Grafana's PanelQueryRunner.run and MixedDatasource (node --test, run by tests/web.rs).
import test from 'node:test';
import assert from 'node:assert/strict';

import { datasourceRequests, panelRequest, refKey, settingsRef } from '../src/panelRequest.js';

const range = { from: new Date(1000), to: new Date(61000), raw: { from: 'now-1m', to: 'now' } };
const pgscope = { type: 'pgscope-datasource', uid: 'pgscope' };
const pg = { type: 'pgscope-datasource', uid: 'pgscope-pg' };

function request(panel, refs) {
  return panelRequest({ panel, refs, range, interval: '15s', intervalMs: 15000, maxDataPoints: 800, dashboardUid: 'd1', requestId: 'SQR7', startTime: 5 });
}

test('the panel request carries every target with the datasource it runs on, the range and the interval', () => {
  const panel = {
    id: 3,
    datasource: { uid: '${ds}' },
    targets: [
      { refId: 'A', queryType: 'pgssTopQueries', compareTo: '1d' },
      { refId: 'B', queryType: 'pgssQuery', datasource: { uid: 'pgscope-pg' }, hide: true },
    ],
  };
  const got = request(panel, [pgscope, pg]);
  assert.deepEqual(got.targets, [
    { refId: 'A', queryType: 'pgssTopQueries', compareTo: '1d', datasource: pgscope },
    { refId: 'B', queryType: 'pgssQuery', datasource: pg, hide: true },
  ], 'hidden targets too, as Grafana clones them all');
  assert.deepEqual(
    [got.app, got.requestId, got.panelId, got.dashboardUID, got.range, got.rangeRaw, got.interval, got.intervalMs, got.maxDataPoints, got.startTime, got.timezone],
    ['dashboard', 'SQR7', 3, 'd1', range, range.raw, '15s', 15000, 800, 5, 'browser'],
  );
  assert.deepEqual(got.scopedVars, { __interval: { text: '15s', value: '15s' }, __interval_ms: { text: '15000', value: 15000 } });
  got.targets[0].datasource.uid = 'changed';
  got.targets[0].compareTo = '7d';
  assert.deepEqual([panel.targets[0].compareTo, panel.targets[0].datasource, pgscope.uid], ['1d', undefined, 'pgscope'], 'copies: the dashboard is not changed through data.request');
});

test('targets without a resolved datasource keep theirs; odd panels give an empty list', () => {
  const got = request({ targets: [{ refId: 'A', datasource: { uid: 'gone' } }, null, 'x'] }, [undefined]);
  assert.deepEqual(got.targets, [{ refId: 'A', datasource: { uid: 'gone' } }, {}, {}]);
  assert.deepEqual(request({ targets: 'x' }, []).targets, []);
  assert.deepEqual(request({}, []).targets, []);
});

test('one request per datasource of the visible targets, as MixedDatasource sends them', () => {
  const panel = { targets: [{ refId: 'A' }, { refId: 'B', hide: true }, { refId: 'C' }, { refId: 'D' }] };
  const single = datasourceRequests(request(panel, [pgscope, pgscope, pgscope, pgscope]));
  assert.equal(single.length, 1);
  assert.deepEqual([single[0].ref, single[0].request.requestId, single[0].request.targets.map((t) => t.refId)], [pgscope, 'SQR7', ['A', 'C', 'D']], 'hidden targets are not sent');
  const mixed = datasourceRequests(request(panel, [pgscope, pg, pg, pgscope]));
  assert.deepEqual(mixed.map((m) => [m.ref.uid, m.request.requestId, m.request.targets.map((t) => t.refId)]), [['pgscope', 'mixed-0-SQR7', ['A', 'D']], ['pgscope-pg', 'mixed-1-SQR7', ['C']]]);
  assert.equal(mixed[1].request.range, range);
  assert.deepEqual(datasourceRequests(request({ targets: [{ refId: 'A', hide: true }] }, [pgscope])), [], 'nothing visible, nothing sent');
  const unnamed = datasourceRequests(request({ targets: [{ refId: 'A' }] }, [undefined]));
  assert.deepEqual([unnamed.length, unnamed[0].ref], [1, undefined], 'no datasource: the default');
});

test('datasource keys and refs', () => {
  assert.deepEqual([refKey(pgscope), refKey('pgscope'), refKey(null), refKey({ uid: '' }), refKey({ type: 'x' }), refKey(5)], ['pgscope', 'pgscope', 'default', 'default', 'default', 'default']);
  assert.deepEqual(settingsRef({ uid: 'u', type: 't', name: 'n', jsonData: {} }), { type: 't', uid: 'u' });
  assert.equal(settingsRef(undefined), undefined);
  assert.equal(settingsRef({ name: 'no uid' }), undefined);
});
