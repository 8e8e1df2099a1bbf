// The Grafana side of grafana-table.mjs, bundled by esbuild with the real packages: the
// statements drawn by @grafana/ui's TableNG, the component Grafana's Table panel renders (since
// the tableNextGen toggle; @grafana/ui/unstable), as the panel does it: the frames go through
// applyFieldOverrides (display processors, units) and TableNG draws the wide frame with the
// sparklines as a frame field (what the "Time series to table" transformation makes). Grafana's
// Table has no search box: a keystroke filters the frame's rows (as a transformation or a
// variable would) and the Table draws the result.
import { useMemo, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { applyFieldOverrides, createTheme, FieldType } from '@grafana/data';
import { ThemeContext } from '@grafana/ui';
import { TableNG } from '@grafana/ui/unstable';

const theme = createTheme({ colors: { mode: 'dark' } });
const UNITS = { share_of_time: 'percentunit', calls_per_s: 'reqps', exec_time_per_s: 's', exec_time_per_call: 's', rows_per_call: 'short',
  hit_ratio: 'percentunit', shared_read_per_s: 'Bps', temp_written_per_s: 'Bps', wal_bytes_per_s: 'Bps' };
const HIDDEN = new Set(['text', 'name_source']);

/** pgssTopQueries' frames as the one wide frame a Table panel shows, rows kept where `keep`. */
function tableFrame(data, keep) {
  const [table, ...sparks] = data.series;
  const n = table.fields[0].values.length;
  const rows = [];
  for (let i = 0; i < n; i++) if (!keep || keep(i)) rows.push(i);
  const fields = table.fields.map((f) => ({
    name: f.name,
    type: f.type === 'number' ? FieldType.number : FieldType.string,
    values: rows.map((i) => f.values[i]),
    config: { unit: UNITS[f.name], custom: HIDDEN.has(f.name) ? { hidden: true, hideFrom: { viz: true, legend: false, tooltip: false } } : {} },
  }));
  const trend = rows.map((i) => ({
    length: sparks[i].fields[0].values.length,
    fields: sparks[i].fields.map((f) => ({ name: f.name, type: f.type === 'time' ? FieldType.time : FieldType.number, values: f.values, config: {} })),
  }));
  fields.push({ name: 'trend', type: FieldType.frame, values: trend, config: { custom: { cellOptions: { type: 'sparkline' } } } });
  return { name: table.name, refId: 'A', length: rows.length, fields };
}

function processed(frame) {
  return applyFieldOverrides({ data: [frame], fieldConfig: { defaults: {}, overrides: [] }, replaceVariables: (s) => s, theme, timeZone: 'utc' })[0];
}

function Bench({ data, width, height, api }) {
  const [search, setSearch] = useState('');
  const frame = useMemo(() => {
    const needle = search.trim().toLowerCase();
    const fields = data.series[0].fields;
    const keep = needle
      ? (i) => ['name', 'text', 'queryid', 'database', 'user'].some((name) => String(fields.find((f) => f.name === name).values[i]).toLowerCase().includes(needle))
      : null;
    return processed(tableFrame(data, keep));
  }, [data, search]);
  api.rows = frame.length;
  return (
    <div style={{ width, height }}>
      <input className="bench-search" value={search} onChange={(e) => setSearch(e.target.value)} style={{ height: 24, width: 360 }} />
      <TableNG data={frame} width={width} height={height - 32} />
    </div>
  );
}

/** Mounts the Table into `el`; `update(data)` is a refresh with new figures. */
window.mountGrafanaTable = (el, data, width, height) => {
  const root = createRoot(el);
  const api = { rows: 0 };
  const render = (d) => root.render(<ThemeContext.Provider value={theme}><Bench data={d} width={width} height={height} api={api} /></ThemeContext.Provider>);
  render(data);
  return Object.assign(api, { update: render, unmount: () => root.unmount() });
};
