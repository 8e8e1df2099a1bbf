// Grafana's PanelProps.data -> what the wasm panel reads (frontend/src/model.rs PanelInput).

function valuesOf(field) {
  const values = field.values;
  if (Array.isArray(values)) return values;
  if (ArrayBuffer.isView(values)) return Array.from(values);
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

const PACKED_TYPES = new Set(['number', 'time']);

/** `values` into `numbers` from `at`: finite numbers as they are, anything else NaN. */
function pack(numbers, at, values) {
  const n = values.length;
  for (let k = 0; k < n; k++) {
    const v = values[k];
    // v - v is 0 for finite numbers only (NaN for NaN and the infinities).
    numbers[at + k] = typeof v === 'number' && v - v === 0 ? v : NaN;
  }
}

/**
 * The panel props the wasm side reads (model::PanelInput): `json`, and `numbers`, one
 * Float64Array holding the values of every number and time field (the JSON gives each such
 * field `{"packed": [start, len]}`). Printing and parsing 100,000 numbers as JSON was most of a
 * refresh; a Float64Array crosses into wasm as one copy. A value that is null, not finite or
 * not a number is NaN there, as it was null in JSON.
 */
export function panelProps(data, options, timeRange) {
  const frames = (data && data.series) || [];
  const columns = frames.map((frame) => (frame.fields || []).map(valuesOf));
  let total = 0;
  frames.forEach((frame, i) => (frame.fields || []).forEach((field, j) => {
    if (PACKED_TYPES.has(field.type)) total += columns[i][j].length;
  }));
  const numbers = new Float64Array(total);
  let at = 0;
  const series = frames.map((frame, i) => ({
    name: frame.name,
    refId: frame.refId,
    meta: {
      // Left out when there are none (the wasm reads no notices as none): one sparkline frame
      // per statement, 5,000 empty lists to print and parse.
      notices: frame.meta && frame.meta.notices && frame.meta.notices.length ? frame.meta.notices.map((n) => ({ severity: n.severity, text: n.text })) : undefined,
      custom: frame.meta && frame.meta.custom,
    },
    fields: (frame.fields || []).map((field, j) => {
      const values = columns[i][j];
      let packed;
      if (PACKED_TYPES.has(field.type)) {
        packed = { packed: [at, values.length] };
        pack(numbers, at, values);
        at += values.length;
      }
      return {
        name: field.name,
        type: field.type,
        labels: field.labels,
        config: field.config && {
          displayName: field.config.displayName,
          displayNameFromDS: field.config.displayNameFromDS,
          unit: field.config.unit,
        },
        values: packed || values,
      };
    }),
  }));
  const errors = ((data && data.errors) || (data && data.error ? [data.error] : [])).map(
    (e) => (e && (e.message || (e.data && e.data.message))) || String(e),
  );
  const json = JSON.stringify({ series, errors, timeRange: rangeJson(timeRange, data), options: options || {} });
  return { json, numbers };
}
