// One dashboard panel: runs its queries, then draws it. Plugin panels (pgscope-panel) are drawn
// by their own module.js, loaded through SystemJS, with real PanelProps. Grafana's built-in
// panels (timeseries, table, stat, ...) live in Grafana, not in npm: the stand-in draws them
// simply, but still runs their queries and shows series, errors and notices.
import { useEffect, useMemo, useRef, useState } from 'react';
import { EventBusSrv, LoadingState, getFieldDisplayName } from '@grafana/data';
import { config } from '@grafana/runtime';
import { selectors } from '@grafana/e2e-selectors';
import { useTheme2 } from '@grafana/ui';
import { importPlugin, templateSrv } from './services.js';
import { runPanelQueries } from './queryRunner.js';

const PANEL = selectors.components.Panels.Panel;

function useSize(ref) {
  const [size, setSize] = useState({ width: 0, height: 0 });
  useEffect(() => {
    if (!ref.current) return undefined;
    const observer = new ResizeObserver(([entry]) => {
      const { width, height } = entry.contentRect;
      setSize({ width: Math.floor(width), height: Math.floor(height) });
    });
    observer.observe(ref.current);
    return () => observer.disconnect();
  }, []);
  return size;
}

function usePanelPlugin(type) {
  const [state, setState] = useState({ plugin: null, error: null });
  useEffect(() => {
    const meta = config.panels[type];
    if (!meta) return;
    importPlugin(meta).then(
      (module) => {
        const plugin = module.plugin;
        plugin.meta = meta;
        setState({ plugin, error: null });
      },
      (error) => setState({ plugin: null, error: `panel plugin ${type} failed to load: ${error}` }),
    );
  }, [type]);
  return state;
}

/** A plugin panel drawn with real PanelProps (what Grafana's PanelStateWrapper hands it). */
function PluginPanel({ plugin, id, data, range, width, height, renderCounter, title, eventBus, options, fieldConfig, onOptionsChange, onFieldConfigChange, onChangeTimeRange }) {
  const Panel = plugin.panel;
  return (
    <Panel
      id={id}
      data={data}
      timeRange={range}
      timeZone="browser"
      options={Object.assign({}, plugin.defaults || {}, options || {})}
      fieldConfig={fieldConfig || { defaults: {}, overrides: [] }}
      transparent={false}
      width={width}
      height={height}
      renderCounter={renderCounter}
      title={title}
      eventBus={eventBus}
      onOptionsChange={onOptionsChange || (() => {})}
      onFieldConfigChange={onFieldConfigChange || (() => {})}
      replaceVariables={(text) => templateSrv.replace(text)}
      onChangeTimeRange={onChangeTimeRange || (() => {})}
    />
  );
}

/**
 * @grafana/runtime's PanelRenderer as Grafana core provides it (setPanelRenderer at start-up):
 * draws a panel plugin by id from PanelData the caller ran itself, as app pages do.
 */
export function PanelRenderer({ pluginId, data, title, options, fieldConfig, width, height, onOptionsChange, onFieldConfigChange, onChangeTimeRange }) {
  const { plugin, error } = usePanelPlugin(pluginId);
  const eventBus = useMemo(() => new EventBusSrv(), []);
  const counter = useRef(0);
  const seen = useRef(undefined);
  if (seen.current !== data) {
    seen.current = data;
    counter.current += 1;
  }
  if (!config.panels[pluginId]) return <div role="alert">Panel plugin {pluginId} not found</div>;
  if (error) return <div role="alert">{error}</div>;
  if (!plugin || !plugin.panel || !data) return <div>loading…</div>;
  return (
    <div data-testid="standin-panel-renderer" style={{ width, height, position: 'relative' }}>
      <PluginPanel plugin={plugin} id={1} data={data} range={data.timeRange} width={width} height={height} renderCounter={counter.current}
        title={title} eventBus={eventBus} options={options} fieldConfig={fieldConfig}
        onOptionsChange={onOptionsChange} onFieldConfigChange={onFieldConfigChange} onChangeTimeRange={onChangeTimeRange} />
    </div>
  );
}

export function PanelView({ panel, range, refreshKey, variablesKey, dashboardUid }) {
  const theme = useTheme2();
  const body = useRef(null);
  const { width, height } = useSize(body);
  const [data, setData] = useState({ state: LoadingState.Loading, series: [], errors: [], timeRange: range });
  const eventBus = useMemo(() => new EventBusSrv(), []);
  const { plugin, error: pluginError } = usePanelPlugin(panel.type);
  const isPluginPanel = !!config.panels[panel.type];
  const [renderCounter, setRenderCounter] = useState(0);

  useEffect(() => {
    if (!width) return undefined;
    let cancelled = false;
    setData((d) => Object.assign({}, d, { state: LoadingState.Loading }));
    runPanelQueries({ panel, range, width, dashboardUid }).then((result) => {
      if (!cancelled) {
        setData(result);
        setRenderCounter((c) => c + 1);
      }
    });
    return () => {
      cancelled = true;
    };
  }, [range, refreshKey, variablesKey, width > 0]);

  const gridPos = panel.gridPos || { x: 0, y: 0, w: 12, h: 8 };
  const errors = data.errors || [];
  let content;
  if (pluginError) content = <div role="alert">{pluginError}</div>;
  else if (isPluginPanel && plugin && plugin.panel && width > 0) {
    content = (
      <PluginPanel plugin={plugin} id={panel.id} data={data} range={range} width={width} height={height}
        renderCounter={renderCounter} title={panel.title} eventBus={eventBus} options={panel.options} fieldConfig={panel.fieldConfig} />
    );
  } else if (!isPluginPanel) content = <BuiltinPanel type={panel.type} data={data} width={width} height={height} />;

  return (
    <section
      data-testid={PANEL.title(panel.title)}
      style={{
        gridColumn: `${gridPos.x + 1} / span ${gridPos.w}`,
        gridRow: `${gridPos.y + 1} / span ${gridPos.h}`,
        display: 'flex',
        flexDirection: 'column',
        minWidth: 0,
        background: theme.colors.background.primary,
        border: `1px solid ${theme.colors.border.weak}`,
        borderRadius: 2,
      }}
    >
      <div data-testid={PANEL.headerContainer} style={{ display: 'flex', alignItems: 'center', gap: 8, padding: '4px 8px', minHeight: 28 }}>
        <h2 style={{ margin: 0, fontSize: 14, fontWeight: 500 }}>{panel.title}</h2>
        {data.state === LoadingState.Loading && <span style={{ fontSize: 11, color: theme.colors.text.secondary }}>loading…</span>}
        {errors.length > 0 && (
          <span data-testid={PANEL.status('error')} title={errors.map((e) => e.message).join('\n')} style={{ color: theme.colors.error.text }}>
            ⚠
          </span>
        )}
      </div>
      <div data-testid={PANEL.content} ref={body} style={{ flex: 1, minHeight: 0, position: 'relative', padding: '0 8px 8px' }}>
        {content}
      </div>
    </section>
  );
}

function notices(series) {
  const seen = new Map();
  for (const frame of series) {
    for (const notice of (frame.meta && frame.meta.notices) || []) seen.set(notice.text, notice);
  }
  return [...seen.values()];
}

function numberFields(series) {
  const out = [];
  for (const frame of series) {
    const time = frame.fields.find((f) => f.type === 'time');
    for (const field of frame.fields) {
      if (field.type === 'number') out.push({ name: getFieldDisplayName(field, frame, series), field, time });
    }
  }
  return out;
}

/** Grafana's built-in panels, drawn simply: errors, notices, series count, a line per series. */
function BuiltinPanel({ type, data, width, height }) {
  const theme = useTheme2();
  const fields = numberFields(data.series || []);
  const palette = theme.visualization.palette.map((c) => theme.visualization.getColorByName(c));
  return (
    <div data-testid="standin-builtin-panel" data-panel-type={type} style={{ fontSize: 12, height: '100%', overflow: 'auto' }}>
      {(data.errors || []).map((e, i) => (
        <div key={`e${i}`} role="alert" data-testid={PANEL.PanelDataErrorMessage} style={{ color: theme.colors.error.text }}>
          {e.message}
        </div>
      ))}
      {notices(data.series || []).map((n) => (
        <div key={n.text} data-testid="standin-notice" style={{ color: n.severity === 'error' ? theme.colors.error.text : theme.colors.warning.text }}>
          {n.text}
        </div>
      ))}
      <div data-testid="standin-series-count" style={{ color: theme.colors.text.secondary }}>
        {data.state === LoadingState.Loading ? 'loading' : `${fields.length} series`} · {type} (drawn by the stand-in)
      </div>
      {type === 'timeseries' && fields.length > 0 && <LineChart fields={fields} range={data.timeRange} width={width - 16} height={Math.max(40, height - 60)} palette={palette} />}
      {type !== 'timeseries' && (
        <table style={{ width: '100%' }}>
          <tbody>
            {fields.map(({ name, field }, i) => (
              <tr key={i}>
                <td>{name}</td>
                <td style={{ textAlign: 'right' }}>{String(field.values[field.values.length - 1])}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {type === 'timeseries' && (
        <ul style={{ margin: 0, paddingLeft: 16, columns: 2 }}>
          {fields.map(({ name }, i) => (
            <li key={i} style={{ color: palette[i % palette.length] }}>
              {name}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

function LineChart({ fields, range, width, height, palette }) {
  if (width <= 0) return null;
  const from = range.from.valueOf();
  const to = range.to.valueOf();
  let max = 0;
  for (const { field } of fields) for (const v of field.values) if (Number.isFinite(v) && v > max) max = v;
  max = max || 1;
  const x = (t) => ((t - from) / Math.max(1, to - from)) * width;
  const y = (v) => height - (v / max) * height;
  return (
    <svg width={width} height={height} role="img" aria-label="time series chart">
      {fields.map(({ field, time }, i) => {
        if (!time) return null;
        const points = [];
        for (let j = 0; j < field.values.length; j++) {
          const v = field.values[j];
          if (Number.isFinite(v)) points.push(`${x(time.values[j]).toFixed(1)},${y(v).toFixed(1)}`);
        }
        return <polyline key={i} fill="none" strokeWidth="1.5" stroke={palette[i % palette.length]} points={points.join(' ')} />;
      })}
    </svg>
  );
}
