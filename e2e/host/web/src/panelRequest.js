// The DataQueryRequest behind a panel's data, as Grafana builds it: PanelQueryRunner.run makes
// one request for the panel (every target, hidden ones too, each given the datasource it runs
// on, the range and its raw form, one interval) and hands it to the panel as `data.request`;
// MixedDatasource splits it into one request per datasource. Pure (no @grafana imports): the
// runner (queryRunner.js) resolves the datasources; tested by web/test/ under node.

/** What two targets share when they run on the same datasource: its uid (or name), else the default. */
export function refKey(ref) {
  const key = ref && (typeof ref === 'string' ? ref : ref.uid);
  return typeof key === 'string' && key !== '' ? key : 'default';
}

/** A datasource's instance settings as a DataSourceRef {type, uid}; undefined without them. */
export function settingsRef(settings) {
  return settings && typeof settings.uid === 'string' ? { type: settings.type, uid: settings.uid } : undefined;
}

/**
 * The panel's request. `refs[i]` is the datasource target i runs on (DataSourceApi.getRef());
 * a target without one keeps what it has. Targets are copies: a plugin that changes its
 * `data.request` does not change the dashboard.
 */
export function panelRequest({ panel, refs, range, interval, intervalMs, maxDataPoints, dashboardUid, requestId, startTime }) {
  const targets = (Array.isArray(panel.targets) ? panel.targets : []).map((target, i) => {
    const copy = structuredClone(target && typeof target === 'object' ? target : {});
    if (refs[i]) copy.datasource = structuredClone(refs[i]);
    return copy;
  });
  return {
    app: 'dashboard',
    requestId,
    timezone: 'browser',
    panelId: panel.id,
    dashboardUID: dashboardUid,
    range,
    rangeRaw: range && range.raw,
    interval,
    intervalMs,
    maxDataPoints,
    targets,
    scopedVars: {
      __interval: { text: interval, value: interval },
      __interval_ms: { text: String(intervalMs), value: intervalMs },
    },
    startTime,
  };
}

/**
 * What is sent: one request per datasource of the visible targets, in the order they first
 * appear (MixedDatasource's batches, `mixed-<i>-<requestId>`); with one datasource, the panel's
 * request without its hidden targets.
 */
export function datasourceRequests(request) {
  const groups = new Map();
  for (const target of request.targets) {
    if (target.hide) continue;
    const key = refKey(target.datasource);
    if (!groups.has(key)) groups.set(key, { ref: target.datasource, targets: [] });
    groups.get(key).targets.push(target);
  }
  const mixed = groups.size > 1;
  return [...groups.values()].map((group, i) => ({
    ref: group.ref,
    request: Object.assign({}, request, { requestId: mixed ? `mixed-${i}-${request.requestId}` : request.requestId, targets: group.targets }),
  }));
}
