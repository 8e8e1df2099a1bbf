// PromQL helpers for the datasource's frontend.

/**
 * A multi-value or include-all variable's value in PromQL, as Grafana's Prometheus datasource
 * writes it (with `prometheusSpecialCharsInLabelValues`): each value's regex metacharacters,
 * backslashes and double quotes escaped for a regex inside a PromQL string literal; several
 * values as `(a|b)`.
 */
export function interpolateValue(value) {
  const escape = (v) =>
    String(v)
      .replace(/\\/g, '\\\\\\\\')
      .replace(/"/g, '\\\\\\"')
      .replace(/[$^*{}[\]'+?.()|]/g, '\\\\$&');
  if (Array.isArray(value)) return value.length === 1 ? escape(value[0]) : `(${value.map(escape).join('|')})`;
  return typeof value === 'string' ? escape(value) : String(value);
}

/**
 * A single-value variable's value in PromQL, as Grafana writes it: backslashes and double
 * quotes escaped for a string literal, so a value cannot close the literal and add PromQL; a
 * value that is a whole matcher (`job="x"`) is left as it is, as Grafana leaves it.
 */
export function interpolateSingleValue(value) {
  const text = Array.isArray(value) ? value.join(',') : String(value);
  if (/^\w+(=|!=|=~|!~)".*"$/.test(text)) return text;
  return text.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
}

/**
 * A variable's value in a pgss filter field. The backend reads the field as a regex and puts it
 * in a string literal itself, so values are regex-escaped once (not for PromQL as well): one
 * value matches itself exactly, several as `(a|b)`.
 */
export function interpolateFilterValue(value) {
  const escape = (v) => String(v).replace(/[\\$^*{}[\]+?.()|]/g, '\\$&');
  if (Array.isArray(value)) return value.length === 1 ? escape(value[0]) : `(${value.map(escape).join('|')})`;
  return escape(value);
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
