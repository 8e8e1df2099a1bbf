// Runs a panel's queries like Grafana's PanelQueryRunner, in brief: hidden targets dropped,
// targets grouped by datasource, interval from the range and the panel width, one request per
// datasource through the plugin's own query() (DataSourceWithBackend -> POST /api/ds/query).
import { lastValueFrom, from, isObservable } from 'rxjs';
import { LoadingState, rangeUtil } from '@grafana/data';
import { dataSourceSrv, templateSrv } from './services.js';

let requestCounter = 0;

/** A target's datasource, `${datasource}` variables resolved as Grafana does. */
function refOf(target, panel) {
  const ref = target.datasource || panel.datasource || null;
  if (ref && typeof ref.uid === 'string' && ref.uid.includes('$')) return Object.assign({}, ref, { uid: templateSrv.replace(ref.uid) });
  return ref;
}

export async function runPanelQueries({ panel, range, width, dashboardUid }) {
  const targets = (panel.targets || []).filter((t) => !t.hide);
  const groups = new Map();
  for (const target of targets) {
    const ref = refOf(target, panel);
    const key = (ref && (ref.uid || ref)) || 'default';
    if (!groups.has(key)) groups.set(key, { ref, targets: [] });
    groups.get(key).targets.push(target);
  }
  const series = [];
  const errors = [];
  await Promise.all(
    [...groups.values()].map(async ({ ref, targets: groupTargets }) => {
      try {
        const ds = await dataSourceSrv.get(ref);
        const settings = dataSourceSrv.getInstanceSettings(ref);
        const maxDataPoints = panel.maxDataPoints || Math.max(100, Math.round(width || 800));
        const minInterval = panel.interval || (settings && settings.jsonData && settings.jsonData.timeInterval);
        const { interval, intervalMs } = rangeUtil.calculateInterval(range, maxDataPoints, minInterval);
        requestCounter += 1;
        const request = {
          app: 'dashboard',
          requestId: `SQR${requestCounter}`,
          timezone: 'browser',
          panelId: panel.id,
          dashboardUID: dashboardUid,
          range,
          rangeRaw: range.raw,
          interval,
          intervalMs,
          maxDataPoints,
          targets: groupTargets.map((t) => Object.assign({}, t, { datasource: ds.getRef ? ds.getRef() : t.datasource })),
          scopedVars: {
            __interval: { text: interval, value: interval },
            __interval_ms: { text: String(intervalMs), value: intervalMs },
          },
          startTime: Date.now(),
        };
        const result = ds.query(request);
        const response = await lastValueFrom(isObservable(result) ? result : from(result));
        series.push(...(response.data || []));
        if (response.errors) errors.push(...response.errors);
        else if (response.error) errors.push(response.error);
      } catch (error) {
        const data = error && error.data;
        errors.push({ message: (data && (data.message || data.error)) || (error && error.message) || String(error) });
      }
    }),
  );
  return { state: errors.length ? LoadingState.Error : LoadingState.Done, series, errors, timeRange: range };
}
