// Grafana's PanelProps.data -> the JSON the wasm panel reads (frontend/src/model.rs PanelInput).

function valuesOf(field) {
  const values = field.values;
  if (Array.isArray(values)) return values;
  if (values && typeof values.toArray === 'function') return values.toArray();
  return [];
}

/** Milliseconds of a Grafana DateTime (moment-like), a Date or a number; undefined otherwise. */
function millis(time) {
  const ms = time == null ? NaN : typeof time === 'number' ? time : Number(time.valueOf());
  return Number.isFinite(ms) ? ms : undefined;
}

/** The time range the charts share: the panel's, else the one the data was queried for. */
function rangeJson(timeRange, data) {
  const range = timeRange || (data && data.timeRange);
  const from = range && millis(range.from);
  const to = range && millis(range.to);
  return from !== undefined && to !== undefined ? { from, to } : undefined;
}

/** The panel props the wasm side reads (model::PanelInput), as JSON. */
export function propsJson(data, options, timeRange) {
  const series = ((data && data.series) || []).map((frame) => ({
    name: frame.name,
    refId: frame.refId,
    meta: {
      notices: ((frame.meta && frame.meta.notices) || []).map((n) => ({ severity: n.severity, text: n.text })),
      custom: frame.meta && frame.meta.custom,
    },
    fields: (frame.fields || []).map((field) => ({
      name: field.name,
      type: field.type,
      labels: field.labels,
      config: field.config && {
        displayName: field.config.displayName,
        displayNameFromDS: field.config.displayNameFromDS,
        unit: field.config.unit,
      },
      values: valuesOf(field),
    })),
  }));
  const errors = ((data && data.errors) || (data && data.error ? [data.error] : [])).map(
    (e) => (e && (e.message || (e.data && e.data.message))) || String(e),
  );
  return JSON.stringify({ series, errors, timeRange: rangeJson(timeRange, data), options: options || {} });
}
