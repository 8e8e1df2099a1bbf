// pgscope-app's module.js glue, wrapped by scripts/build.mjs in
// `define(['react', '@grafana/data', '@grafana/runtime', '@grafana/ui'], ...)`. The app bundles
// the datasource and the panel (nested plugins) and their dashboards; its one page (/a/pgscope-app)
// shows the monitoring stack's health: a `stackHealth` query through a pgscope datasource, drawn
// by the pgscope panel through Grafana's PanelRenderer, so page and dashboard show the same view.

export const DATASOURCE_TYPE = 'pgscope-datasource';
export const PANEL_ID = 'pgscope-panel';
export const RANGES = [
  { label: '15m', value: '15m', ms: 15 * 60_000 },
  { label: '1h', value: '1h', ms: 3_600_000 },
  { label: '6h', value: '6h', ms: 6 * 3_600_000 },
  { label: '24h', value: '24h', ms: 24 * 3_600_000 },
];
export const AUTO_REFRESH_MS = 30_000;

/** The datasource the page queries: the one named in the URL, else the default, else the first. */
export function pickDatasource(list, wanted) {
  if (!list || list.length === 0) return undefined;
  return (wanted && list.find((ds) => ds.uid === wanted || ds.name === wanted)) || list.find((ds) => ds.isDefault) || list[0];
}

/** The range preset for a URL value, 1h when it is missing or unknown. */
export function rangePreset(value) {
  return RANGES.find((r) => r.value === value) || RANGES[1];
}

/** The DataQueryRequest the page sends: one stackHealth query over [now - preset, now]. */
export function stackRequest(ds, preset, now, dateTime, requestId) {
  const range = { from: dateTime(now - preset.ms), to: dateTime(now), raw: { from: `now-${preset.value}`, to: 'now' } };
  const ref = { type: ds.type, uid: ds.uid };
  return {
    app: 'pgscope-app',
    requestId,
    timezone: 'browser',
    range,
    rangeRaw: range.raw,
    interval: '30s',
    intervalMs: 30_000,
    maxDataPoints: 120,
    targets: [{ refId: 'A', queryType: 'stackHealth', datasource: ref }],
    scopedVars: {},
    startTime: now,
  };
}

export function createModule(React, grafanaData, grafanaRuntime, grafanaUi) {
  const h = React.createElement;
  const { useEffect, useRef, useState } = React;

  function useWidth(ref) {
    const [width, setWidth] = useState(0);
    useEffect(() => {
      if (!ref.current) return undefined;
      const observer = new ResizeObserver(([entry]) => setWidth(Math.floor(entry.contentRect.width)));
      observer.observe(ref.current);
      return () => observer.disconnect();
    }, []);
    return width;
  }

  function setSearch(key, value) {
    const url = new URL(window.location.href);
    url.searchParams.set(key, value);
    window.history.replaceState(window.history.state, '', url.toString());
  }

  let requests = 0;

  function StackHealthPage({ query }) {
    const params = query || {};
    const datasources = grafanaRuntime.getDataSourceSrv().getList({ pluginId: DATASOURCE_TYPE });
    const [uid, setUid] = useState(() => (pickDatasource(datasources, params.ds) || {}).uid);
    const [preset, setPreset] = useState(() => rangePreset(params.range));
    const [tick, setTick] = useState(0);
    const [data, setData] = useState(undefined);
    const body = useRef(null);
    const width = useWidth(body);
    const ds = datasources.find((d) => d.uid === uid);

    useEffect(() => {
      const timer = setInterval(() => {
        if (!document.hidden) setTick((t) => t + 1);
      }, AUTO_REFRESH_MS);
      return () => clearInterval(timer);
    }, []);

    useEffect(() => {
      if (!ds) return undefined;
      requests += 1;
      const request = stackRequest(ds, preset, Date.now(), grafanaData.dateTime, `pgscope-app-${requests}`);
      setData((previous) => ({
        state: grafanaData.LoadingState.Loading,
        series: previous ? previous.series : [],
        timeRange: request.range,
      }));
      let subscription;
      let cancelled = false;
      grafanaRuntime
        .getDataSourceSrv()
        .get(request.targets[0].datasource)
        .then((instance) => {
          if (cancelled) return;
          subscription = instance.query(request).subscribe({
            next: (response) => {
              const errors = response.errors || (response.error ? [response.error] : []);
              setData({
                state: errors.length ? grafanaData.LoadingState.Error : grafanaData.LoadingState.Done,
                series: response.data || [],
                errors,
                timeRange: request.range,
              });
            },
            error: (error) => setData({ state: grafanaData.LoadingState.Error, series: [], errors: [toQueryError(error)], timeRange: request.range }),
          });
        })
        .catch((error) => {
          if (!cancelled) setData({ state: grafanaData.LoadingState.Error, series: [], errors: [toQueryError(error)], timeRange: request.range });
        });
      return () => {
        cancelled = true;
        if (subscription) subscription.unsubscribe();
      };
    }, [uid, preset, tick]);

    if (datasources.length === 0) {
      return h(
        'div',
        { 'data-testid': 'pgscope-app-empty' },
        h(grafanaUi.Alert, { title: 'No pgscope datasource', severity: 'info' },
          'Add a pgscope datasource pointing at your Prometheus or VictoriaMetrics ',
          h('a', { href: '/connections/datasources/new', className: 'external-link' }, '(Connections → Data sources)'),
          ', then come back: this page checks the monitoring stack behind it.'),
      );
    }

    const toolbar = h(
      'div',
      { style: { display: 'flex', gap: 8, alignItems: 'center', flexWrap: 'wrap', marginBottom: 8 } },
      datasources.length > 1 &&
        h(grafanaUi.Select, {
          'aria-label': 'Datasource',
          width: 30,
          value: uid,
          options: datasources.map((d) => ({ label: d.name, value: d.uid })),
          onChange: (option) => {
            setUid(option.value);
            setSearch('ds', option.value);
          },
        }),
      h(grafanaUi.RadioButtonGroup, {
        options: RANGES.map(({ label, value }) => ({ label, value })),
        value: preset.value,
        onChange: (value) => {
          setPreset(rangePreset(value));
          setSearch('range', value);
        },
      }),
      h(grafanaUi.Button, { variant: 'secondary', icon: 'sync', onClick: () => setTick((t) => t + 1) }, 'Refresh'),
      h('a', { href: '/d/pgscope-stack-health', className: 'external-link', style: { marginLeft: 'auto' } }, 'Dashboard with time series'),
    );

    const height = Math.max(320, (typeof window === 'undefined' ? 800 : window.innerHeight) - 200);
    return h(
      'div',
      { 'data-testid': 'pgscope-app-stack-health' },
      toolbar,
      h(
        'div',
        { ref: body, style: { height, minWidth: 0 } },
        data && width > 0 &&
          h(grafanaRuntime.PanelRenderer, {
            pluginId: PANEL_ID,
            title: `Stack health · ${ds ? ds.name : ''}`,
            data,
            width,
            height,
            timeZone: 'browser',
            options: {},
            onOptionsChange: () => {},
          }),
      ),
    );
  }

  function Root(props) {
    return h(
      grafanaRuntime.PluginPage,
      { subTitle: 'Can the monitoring stack behind your pgss dashboards be trusted? Targets, info metrics, pgss freshness, PostgreSQL and Patroni.' },
      h(StackHealthPage, props),
    );
  }

  return { plugin: new grafanaData.AppPlugin().setRootPage(Root) };
}

function toQueryError(error) {
  const data = error && error.data;
  return { message: (data && (data.message || data.error)) || (error && error.message) || String(error) };
}
