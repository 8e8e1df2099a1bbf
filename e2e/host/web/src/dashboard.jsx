// The dashboard view: template variables, a time range picker and refresh, and the panels laid
// out by gridPos on a 24-column grid, each in a section carrying Grafana's panel test id.
import { useEffect, useMemo, useState } from 'react';
import { rangeUtil } from '@grafana/data';
import { selectors } from '@grafana/e2e-selectors';
import { Button, Input, Select } from '@grafana/ui';
import { dataSourceSrv, templateState, templateSrv } from './services.js';
import { PanelView } from './panel.jsx';

const PRESETS = ['now-5m', 'now-15m', 'now-1h', 'now-6h', 'now-24h'];
const ROW_HEIGHT = 30;
const GAP = 8;

function urlParams() {
  return new URLSearchParams(window.location.search);
}

function setUrlParam(key, value) {
  const params = urlParams();
  params.set(key, value);
  window.history.replaceState(null, '', `${window.location.pathname}?${params}`);
}

function durationMs(text) {
  const match = /^(\d+)(ms|s|m|h)$/.exec(text || '');
  if (!match) return 0;
  return Number(match[1]) * { ms: 1, s: 1000, m: 60000, h: 3600000 }[match[2]];
}

function initialVariables(list) {
  const params = urlParams();
  return (list || []).map((variable) => {
    const fromUrl = params.getAll(`var-${variable.name}`);
    let value = fromUrl.length ? (variable.multi ? fromUrl : fromUrl[0]) : variable.current && variable.current.value;
    if (value === undefined && variable.type === 'custom') value = String(variable.query || '').split(',')[0].trim();
    if (value === undefined && (variable.type === 'constant' || variable.type === 'textbox')) value = variable.query || '';
    if (variable.type === 'datasource' && !dataSourceSrv.getInstanceSettings(value)) {
      const first = dataSourceSrv.getList({ pluginId: variable.query })[0];
      value = first && first.uid;
    }
    return Object.assign({}, variable, { current: { text: value, value } });
  });
}

/** A query variable's `regex` as Grafana applies it: values that match, by their first capture
 * group when there is one, without repeats. `/pattern/flags` or a bare pattern. */
function applyRegex(regex, values) {
  if (!regex) return values;
  const slashed = /^\/(.*)\/([gimsuy]*)$/.exec(regex);
  const re = slashed ? new RegExp(slashed[1], slashed[2]) : new RegExp(regex);
  const out = [];
  for (const value of values) {
    const match = re.exec(value);
    if (!match) continue;
    const picked = match.length > 1 && match[1] !== undefined ? match[1] : match[0];
    if (!out.includes(picked)) out.push(picked);
  }
  return out;
}

function VariableControl({ variable, range, onChange }) {
  const [options, setOptions] = useState([]);
  const [problem, setProblem] = useState(null);
  useEffect(() => {
    if (variable.type === 'datasource') {
      setOptions(dataSourceSrv.getList({ pluginId: variable.query }).map((ds) => ds.uid));
    } else if (variable.type === 'custom') {
      setOptions(String(variable.query || '').split(',').map((v) => v.trim()).filter(Boolean));
    } else if (variable.type === 'query') {
      dataSourceSrv
        .get(variable.datasource)
        .then((ds) => {
          if (!ds.metricFindQuery) throw new Error('this datasource has no variable queries');
          const query = typeof variable.query === 'string' ? variable.query : variable.query && variable.query.query;
          return ds.metricFindQuery(templateSrv.replace(query), { range, variable });
        })
        .then((values) => setOptions([...(variable.includeAll ? ['$__all'] : []), ...applyRegex(variable.regex, values.map((v) => String(v.value !== undefined ? v.value : v.text)))]), (e) => setProblem(String(e.message || e)));
    }
  }, [variable.name, variable.type, variable.query, range]);
  if (variable.type === 'constant' || variable.hide === 2) return null;
  const label = <label style={{ marginRight: 6 }}>{variable.label || variable.name}</label>;
  if (variable.type === 'textbox') {
    return (
      <span>
        {label}
        <Input width={20} defaultValue={variable.current.value} onBlur={(e) => onChange(e.currentTarget.value)} />
      </span>
    );
  }
  return (
    <span title={problem || ''}>
      {label}
      <Select
        width={24}
        isMulti={!!variable.multi}
        options={options.map((o) => ({ label: o, value: o }))}
        value={variable.current.value}
        onChange={(choice) => onChange(Array.isArray(choice) ? choice.map((c) => c.value) : choice.value)}
      />
      {problem && <span style={{ color: 'var(--pgscope-standin-error, #e02f44)', marginLeft: 6 }}>{problem}</span>}
    </span>
  );
}

export function DashboardPage({ uid }) {
  const [dashboard, setDashboard] = useState(null);
  const [failure, setFailure] = useState(null);
  const [rawRange, setRawRange] = useState(null);
  const [variables, setVariables] = useState([]);
  const [refreshKey, setRefreshKey] = useState(0);

  useEffect(() => {
    fetch(`/api/dashboards/uid/${encodeURIComponent(uid)}`)
      .then((r) => (r.ok ? r.json() : Promise.reject(new Error(`dashboard ${uid}: HTTP ${r.status}`))))
      .then(({ dashboard: d }) => {
        const params = urlParams();
        setRawRange({ from: params.get('from') || (d.time && d.time.from) || 'now-1h', to: params.get('to') || (d.time && d.time.to) || 'now' });
        setVariables(initialVariables(d.templating && d.templating.list));
        setDashboard(d);
      }, (e) => setFailure(String(e.message || e)));
  }, [uid]);

  const range = useMemo(() => rawRange && rangeUtil.convertRawToRange(rawRange), [rawRange, refreshKey]);
  templateState.variables = variables;
  if (range) templateSrv.updateTimeRange(range);

  useEffect(() => {
    const every = durationMs(urlParams().get('refresh') || (dashboard && dashboard.refresh));
    if (!every) return undefined;
    const timer = setInterval(() => setRefreshKey((k) => k + 1), every);
    return () => clearInterval(timer);
  }, [dashboard]);

  if (failure) return <main style={{ padding: 16 }} role="alert">{failure}</main>;
  if (!dashboard || !range) return <main style={{ padding: 16 }}>Loading dashboard…</main>;

  const rows = Math.max(...(dashboard.panels || []).map((p) => (p.gridPos ? p.gridPos.y + p.gridPos.h : 8)), 8);
  return (
    <main style={{ padding: 16 }}>
      <div style={{ display: 'flex', alignItems: 'center', gap: 12, marginBottom: 12, flexWrap: 'wrap' }}>
        <h1 style={{ margin: 0, fontSize: 20 }} data-testid="standin-dashboard-title">{dashboard.title}</h1>
        {variables.map((variable, i) => (
          <VariableControl
            key={variable.name}
            variable={variable}
            range={range}
            onChange={(value) => {
              const next = variables.slice();
              next[i] = Object.assign({}, variable, { current: { text: value, value } });
              setUrlParam(`var-${variable.name}`, Array.isArray(value) ? value.join(',') : value);
              setVariables(next);
            }}
          />
        ))}
        <span style={{ flex: 1 }} />
        <Select
          width={18}
          aria-label="Time range"
          options={PRESETS.map((p) => ({ label: `Last ${p.slice(4)}`, value: p }))}
          value={rawRange.from}
          onChange={(choice) => {
            setUrlParam('from', choice.value);
            setUrlParam('to', 'now');
            setRawRange({ from: choice.value, to: 'now' });
          }}
        />
        <Button data-testid={selectors.components.RefreshPicker.runButtonV2} icon="sync" variant="secondary" onClick={() => setRefreshKey((k) => k + 1)}>
          Refresh
        </Button>
      </div>
      <div style={{ display: 'grid', gridTemplateColumns: 'repeat(24, 1fr)', gridTemplateRows: `repeat(${rows}, ${ROW_HEIGHT}px)`, gap: GAP }}>
        {(dashboard.panels || []).map((panel) => (
          <PanelView
            key={panel.id}
            panel={panel}
            range={range}
            refreshKey={refreshKey}
            variablesKey={JSON.stringify(variables.map((v) => v.current.value))}
            dashboardUid={dashboard.uid}
          />
        ))}
      </div>
    </main>
  );
}
