// PromQL helpers for the datasource's frontend.

/** Dashboard variables in PromQL: multi-values become a regex alternation, as in Grafana's Prometheus datasource. */
export function interpolateValue(value) {
  const escape = (v) => String(v).replace(/[\\^$*+?.()|[\]{}]/g, '\\\\$&');
  if (Array.isArray(value)) return value.length === 1 ? escape(value[0]) : `(${value.map(escape).join('|')})`;
  return typeof value === 'string' ? value : String(value);
}

/**
 * Variable queries as Grafana's Prometheus datasource takes them: `label_values(label)`,
 * `label_values(metric_or_selector, label)`, `metrics(regex)`, `query_result(expr)`.
 */
export function parseVariableQuery(text) {
  const query = String(text || '').trim();
  let match = /^label_values\(\s*(?:(.+)\s*,\s*)?([a-zA-Z_][a-zA-Z0-9_]*)\s*\)$/.exec(query);
  if (match) return { kind: 'label_values', selector: match[1] ? match[1].trim() : undefined, label: match[2] };
  match = /^metrics\(\s*(.*?)\s*\)$/.exec(query);
  if (match) return { kind: 'metrics', regex: match[1] };
  match = /^query_result\(\s*(.+)\s*\)$/.exec(query);
  if (match) return { kind: 'query_result', expr: match[1].trim() };
  return { kind: 'invalid', error: `"${query}" is not a variable query: use label_values(label), label_values(metric, label), metrics(regex) or query_result(expr)` };
}

/** One `query_result` series as Grafana's Prometheus datasource prints it. */
export function formatQueryResult(series, timeMs) {
  const labels = Object.assign({}, series.metric);
  const name = labels.__name__ || '';
  delete labels.__name__;
  const pairs = Object.keys(labels).sort().map((k) => `${k}="${labels[k]}"`);
  return `${name}{${pairs.join(', ')}} ${series.value} ${timeMs}`;
}
