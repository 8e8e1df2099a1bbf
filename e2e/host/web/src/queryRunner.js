// Runs a panel's queries like Grafana's PanelQueryRunner, in brief: one request for the panel
// (panelRequest.js: every target with the datasource it runs on, the range, one interval from
// the range and the panel width), given to the panel as `data.request`; hidden targets dropped
// and the rest sent as one request per datasource through the plugin's own query()
// (DataSourceWithBackend -> POST /api/ds/query), as MixedDatasource splits a panel's request.
import { lastValueFrom, from, isObservable } from 'rxjs';
import { LoadingState, rangeUtil } from '@grafana/data';
import { dataSourceSrv, templateSrv } from './services.js';
import { datasourceRequests, panelRequest, refKey, settingsRef } from './panelRequest.js';

let requestCounter = 0;

/** A target's datasource, `${datasource}` variables resolved as Grafana does. */
function refOf(target, panel) {
  const ref = (target && target.datasource) || panel.datasource || null;
  if (ref && typeof ref.uid === 'string' && ref.uid.includes('$')) return Object.assign({}, ref, { uid: templateSrv.replace(ref.uid) });
  return ref;
}

/** A datasource instance, or the error that kept it from loading. */
async function load(ref) {
  try {
    return { ds: await dataSourceSrv.get(ref) };
  } catch (error) {
    return { error };
  }
}

function errorOf(error) {
  const data = error && error.data;
  return { message: (data && (data.message || data.error)) || (error && error.message) || String(error) };
}

export async function runPanelQueries({ panel, range, width, dashboardUid }) {
  const targets = Array.isArray(panel.targets) ? panel.targets : [];
  const written = targets.map((target) => refOf(target, panel));
  // The datasources of the visible targets are loaded (once each); a hidden target's is only named.
  const loaded = new Map();
  targets.forEach((target, i) => {
    const key = refKey(written[i]);
    if (!(target && target.hide) && !loaded.has(key)) loaded.set(key, load(written[i]));
  });
  const instances = new Map(await Promise.all([...loaded].map(async ([key, pending]) => [key, await pending])));
  const refs = written.map((ref) => {
    const { ds } = instances.get(refKey(ref)) || {};
    return (ds && ds.getRef && ds.getRef()) || settingsRef(dataSourceSrv.getInstanceSettings(ref)) || ref || undefined;
  });
  // The instances again, by the datasource the targets now name (a name or "default" resolved to a uid).
  const instanceOf = new Map();
  written.forEach((ref, i) => instances.has(refKey(ref)) && instanceOf.set(refKey(refs[i]), instances.get(refKey(ref))));

  // One interval for the panel: the panel's min interval, else its one datasource's scrape interval.
  const used = new Set(refs.filter((_, i) => !(targets[i] && targets[i].hide)).map(refKey));
  const only = used.size === 1 ? dataSourceSrv.getInstanceSettings([...used][0] === 'default' ? null : [...used][0]) : undefined;
  const minInterval = panel.interval ? templateSrv.replace(panel.interval) : only && only.jsonData && only.jsonData.timeInterval;
  const maxDataPoints = panel.maxDataPoints || Math.max(100, Math.round(width || 800));
  const { interval, intervalMs } = rangeUtil.calculateInterval(range, maxDataPoints, minInterval);
  requestCounter += 1;
  const request = panelRequest({ panel, refs, range, interval, intervalMs, maxDataPoints, dashboardUid, requestId: `SQR${requestCounter}`, startTime: Date.now() });

  const series = [];
  const errors = [];
  await Promise.all(
    datasourceRequests(request).map(async ({ ref, request: sent }) => {
      const { ds, error } = instanceOf.get(refKey(ref)) || { error: new Error(`Datasource ${JSON.stringify(ref)} was not loaded`) };
      if (error) {
        errors.push(errorOf(error));
        return;
      }
      try {
        const result = ds.query(sent);
        const response = await lastValueFrom(isObservable(result) ? result : from(result));
        series.push(...(response.data || []));
        if (response.errors) errors.push(...response.errors);
        else if (response.error) errors.push(response.error);
      } catch (failure) {
        errors.push(errorOf(failure));
      }
    }),
  );
  request.endTime = Date.now();
  return { state: errors.length ? LoadingState.Error : LoadingState.Done, series, errors, timeRange: range, request };
}
