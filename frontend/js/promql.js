// PromQL helpers for the datasource's frontend.

/** Dashboard variables in PromQL: multi-values become a regex alternation, as in Grafana's Prometheus datasource. */
export function interpolateValue(value) {
  const escape = (v) => String(v).replace(/[\\^$*+?.()|[\]{}]/g, '\\\\$&');
  if (Array.isArray(value)) return value.length === 1 ? escape(value[0]) : `(${value.map(escape).join('|')})`;
  return typeof value === 'string' ? value : String(value);
}
