// pgscope-datasource's module.js glue, wrapped by scripts/build.mjs in
// `define(['react', '@grafana/data', '@grafana/runtime', '@grafana/ui'], ...)`. The queries run in
// the Rust backend (gpx_pgscope); this file only holds the editors and the DataSourceWithBackend
// subclass that sends queries through Grafana.

import { createConfigEditor } from './configEditor.js';
import { formatQueryResult, interpolateFilterValue, interpolateSingleValue, interpolateValue, parseVariableQuery } from './promql.js';

const PGSS_TYPES = ['pgssTopQueries', 'pgssQuery'];
const PGSS_FILTER_FIELDS = ['database', 'user', 'instance', 'cluster'];
const PGSS_TEXT_FIELDS = [...PGSS_FILTER_FIELDS, 'search', 'queryid', 'orderBy', 'limit', 'compareTo', 'threshold', 'tag', 'statementType'];
/** Statement types the backend classifies texts into (pgss::StatementType, issue 21). */
export const PGSS_STATEMENT_TYPES = ['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'MERGE', 'DDL', 'utility'].map((value) => ({ value, label: value }));
/** Comparison windows (issue 20): '' none, the range before, or the same range an offset earlier. */
export const PGSS_COMPARE = [
  ['', 'none'], ['previous', 'previous range'], ['1d', '1 day earlier'], ['7d', '7 days earlier'],
].map(([value, label]) => ({ value, label }));

/**
 * A pgss query with its text fields interpolated (`replace(text, key)`); a threshold that reads
 * as a number after it is sent as one (it may be a `$threshold` variable in the dashboard).
 */
export function interpolatePgss(query, replace) {
  const out = Object.assign({}, query);
  for (const key of PGSS_TEXT_FIELDS) {
    if (typeof query[key] === 'string') out[key] = replace(query[key], key);
  }
  if (typeof out.threshold === 'string') {
    const number = Number(out.threshold.trim());
    if (out.threshold.trim() === '') delete out.threshold;
    else if (Number.isFinite(number)) out.threshold = number;
  }
  if (out.compareTo === '') delete out.compareTo;
  // Statement types: a list, each may be a $variable; empty lists and tags mean unset.
  if (Array.isArray(out.statementType)) out.statementType = out.statementType.map((t) => replace(String(t), 'statementType'));
  if (out.tag === '') delete out.tag;
  if (Array.isArray(out.statementType) && out.statementType.length === 0) delete out.statementType;
  return out;
}
/** Orders the backend accepts (pgss::Order): a measure per second, per call, hit ratio. */
export const PGSS_ORDERS = [
  ['exec_time', 'Total time (% of total)'], ['calls', 'Calls/s'], ['exec_time_per_call', 'Time per call'], ['rows', 'Rows/s'],
  ['rows_per_call', 'Rows per call'], ['plan_time', 'Plan time/s'], ['shared_read', 'Shared read bytes/s'], ['hit_ratio', 'Hit ratio (lowest first)'],
  ['temp_written', 'Temp written bytes/s'], ['wal_bytes', 'WAL bytes/s'], ['block_read_time', 'Block read time/s'],
].map(([value, label]) => ({ value, label }));

export function createModule(React, grafanaData, grafanaRuntime, grafanaUi) {
  const h = React.createElement;

  class PgscopeDataSource extends grafanaRuntime.DataSourceWithBackend {
    getDefaultQuery() {
      return { queryType: 'promql', expr: '', legendFormat: '', range: true, instant: false };
    }

    /** What pgscope sends for `expr`, and why (GET resources/rewrite). */
    previewRewrite(expr, fallback) {
      return this.getResource('rewrite', { expr, fallback: fallback || '' });
    }

    /** Template variable queries (label_values, metrics, query_result) through the resources. */
    async metricFindQuery(query, options = {}) {
      const text = typeof query === 'string' ? query : (query && query.query) || '';
      const parsed = parseVariableQuery(grafanaRuntime.getTemplateSrv().replace(text, options.scopedVars));
      const range = options.range;
      const params = range ? { start: Math.floor(range.from.valueOf() / 1000), end: Math.ceil(range.to.valueOf() / 1000) } : {};
      let values;
      switch (parsed.kind) {
        case 'label_values':
          values = await this.getResource(`label/${parsed.label}/values`, Object.assign({}, params, parsed.selector ? { 'match[]': parsed.selector } : {}));
          break;
        case 'metrics': {
          const all = await this.getResource('metrics', params);
          const regex = parsed.regex ? new RegExp(parsed.regex) : null;
          values = regex ? all.filter((name) => regex.test(name)) : all;
          break;
        }
        case 'query_result': {
          const time = params.end || Math.floor(Date.now() / 1000);
          const series = await this.getResource('query', { expr: parsed.expr, time });
          values = series.map((s) => formatQueryResult(s, time * 1000));
          break;
        }
        default:
          throw new Error(parsed.error);
      }
      return values.map((value) => ({ text: String(value), value: String(value) }));
    }

    filterQuery(query) {
      if (query.hide) return false;
      if (query.queryType === 'stackHealth' || query.queryType === 'pgssTopQueries') return true;
      if (query.queryType === 'pgssQuery') return String(query.queryid || '').trim() !== '';
      return typeof query.expr === 'string' && query.expr.trim() !== '';
    }

    applyTemplateVariables(query, scopedVars) {
      const templates = grafanaRuntime.getTemplateSrv();
      // As Grafana's Prometheus datasource: regex-escaped alternatives for multi-value and
      // include-all variables, a string-literal-escaped value otherwise.
      const format = (value, variable) =>
        variable && (variable.multi || variable.includeAll) ? interpolateValue(value) : interpolateSingleValue(value);
      // pgss filters are regexes the backend quotes itself: escaped once, as a regex.
      const filter = (value) => interpolateFilterValue(value);
      if (query.queryType === 'stackHealth') return Object.assign({}, query);
      if (PGSS_TYPES.includes(query.queryType)) {
        return interpolatePgss(query, (text, key) => templates.replace(text, scopedVars, PGSS_FILTER_FIELDS.includes(key) ? filter : undefined));
      }
      return Object.assign({}, query, {
        queryType: query.queryType || 'promql',
        expr: templates.replace(query.expr || '', scopedVars, format),
        legendFormat: templates.replace(query.legendFormat || '', scopedVars),
      });
    }
  }

  /** What is sent for the expression, and the fallback engine's notes. */
  function RewritePreview({ datasource, expr, fallback }) {
    const [preview, setPreview] = React.useState(null);
    React.useEffect(() => {
      if (!expr || !expr.trim() || !datasource.previewRewrite) return undefined;
      let cancelled = false;
      const timer = setTimeout(() => {
        datasource.previewRewrite(expr, fallback).then(
          (answer) => !cancelled && setPreview(answer),
          (error) => !cancelled && setPreview({ error: (error && error.data && error.data.message) || String(error) }),
        );
      }, 300);
      return () => {
        cancelled = true;
        clearTimeout(timer);
      };
    }, [expr, fallback]);
    if (!preview) return null;
    if (preview.error) return h('div', { 'data-testid': 'pgscope-rewrite-preview' }, `Preview unavailable: ${preview.error}`);
    return h(
      'div',
      { 'data-testid': 'pgscope-rewrite-preview', style: { fontSize: 12, marginTop: 4 } },
      preview.changed
        ? h('div', null, h('strong', null, 'Sent with a fallback: '), h('code', { style: { whiteSpace: 'pre-wrap', overflowWrap: 'anywhere' } }, preview.query))
        : null,
      (preview.notes || []).map((note, i) => h('div', { key: i }, `• ${note.text}`)),
    );
  }

  /** A list from a resource (`metrics`, `labels`) for the editor's suggestions, loaded once. */
  function useResourceList(datasource, path) {
    const [names, setNames] = React.useState([]);
    React.useEffect(() => {
      let cancelled = false;
      if (datasource && datasource.getResource) {
        datasource.getResource(path).then((list) => !cancelled && setNames(list), () => {});
      }
      return () => {
        cancelled = true;
      };
    }, [datasource, path]);
    return names;
  }

  /** An input with suggestions; picking one appends it to the expression. */
  function Suggestions({ id, label, names, query, onChange }) {
    return h(
      grafanaUi.InlineField,
      { label, labelWidth: 14, tooltip: `Pick a ${label.toLowerCase()} to append it to the expression.` },
      h('span', null,
        h(grafanaUi.Input, {
          width: 40,
          list: id,
          'aria-label': label,
          placeholder: `${names.length} ${label.toLowerCase()}s`,
          onChange: (event) => {
            const name = event.currentTarget.value;
            if (names.includes(name)) {
              onChange(Object.assign({}, query, { expr: `${query.expr || ''}${name}` }));
              event.currentTarget.value = '';
            }
          },
        }),
        h('datalist', { id }, names.slice(0, 5000).map((name) => h('option', { key: name, value: name })))),
    );
  }

  const QUERY_TYPES = [
    { label: 'PromQL', value: 'promql' },
    { label: 'pgss top queries', value: 'pgssTopQueries', description: 'Statements ranked by a measure over the time range, one row each (pg_stat_statements)' },
    { label: 'pgss single query', value: 'pgssQuery', description: 'Every measure of one queryid over time, per second and per call' },
    { label: 'Stack health', value: 'stackHealth', description: 'Checks of the monitoring stack (targets, info metrics, pgss data, PostgreSQL, Patroni)' },
  ];

  /** The pgss query types' text fields (template variables allowed in each). */
  function PgssEditor({ query, onChange, onRunQuery, top }) {
    const field = (label, key, placeholder, tooltip, width = 24) =>
      h(
        grafanaUi.InlineField,
        { label, labelWidth: 14, tooltip },
        h(grafanaUi.Input, {
          width,
          'aria-label': label,
          placeholder,
          defaultValue: query[key] == null ? '' : String(query[key]),
          onBlur: (event) => {
            onChange(Object.assign({}, query, { [key]: event.currentTarget.value }));
            onRunQuery();
          },
        }),
      );
    const regex = 'A regex on the label (multi-value variables welcome); empty for all.';
    return h(
      'div',
      { 'data-testid': 'pgscope-pgss-editor' },
      h(
        grafanaUi.InlineFieldRow,
        null,
        top
          ? [
              h(
                grafanaUi.InlineField,
                { key: 'order', label: 'Order by', labelWidth: 14 },
                h(grafanaUi.Select, {
                  width: 24,
                  'aria-label': 'Order by',
                  options: PGSS_ORDERS,
                  value: query.orderBy || 'exec_time',
                  allowCustomValue: true,
                  onChange: (choice) => {
                    onChange(Object.assign({}, query, { orderBy: choice.value }));
                    onRunQuery();
                  },
                }),
              ),
              h('span', { key: 'limit' }, field('Limit', 'limit', '20', 'How many statements (1 to 5000).', 10)),
              h('span', { key: 'search' }, field('Search', 'search', 'text, name, queryid, user', 'Keeps statements whose name, text, queryid, database or user contains this.')),
            ]
          : field('queryid', 'queryid', '-4733054171989341815', 'The statement, as pg_stat_statements.queryid shows it; $queryid works.'),
      ),
      top &&
        h(
          grafanaUi.InlineFieldRow,
          null,
          h(
            grafanaUi.InlineField,
            { label: 'Statement type', labelWidth: 14, tooltip: 'Keeps statements of these types, read from their text (statements without a text have none). Empty for all.' },
            h(grafanaUi.MultiSelect, {
              width: 40,
              'aria-label': 'Statement type',
              options: PGSS_STATEMENT_TYPES,
              value: typeof query.statementType === 'string' ? query.statementType.split(',').filter(Boolean) : query.statementType || [],
              allowCustomValue: true,
              onChange: (choices) => {
                onChange(Object.assign({}, query, { statementType: (choices || []).map((c) => c.value) }));
                onRunQuery();
              },
            }),
          ),
          field('Tag', 'tag', 'application=checkout', "Keeps statements whose comments carry this sqlcommenter tag, as the tags column shows it (/* application='checkout' */).", 24),
        ),
      h(
        grafanaUi.InlineFieldRow,
        null,
        field('Database', 'database', '.*', regex, 18),
        field('User', 'user', '.*', regex, 18),
        field('Instance', 'instance', '.*', regex, 18),
        field('Cluster', 'cluster', '.*', regex, 18),
      ),
      h(
        grafanaUi.InlineFieldRow,
        null,
        h(
          grafanaUi.InlineField,
          { label: 'Compare to', labelWidth: 14, tooltip: 'Compare with the range just before, or the same range a day or a week earlier: changes, and new, gone, regressed and improved statements. $variables work.' },
          h(grafanaUi.Select, {
            width: 24,
            'aria-label': 'Compare to',
            options: PGSS_COMPARE,
            value: query.compareTo || '',
            allowCustomValue: true,
            onChange: (choice) => {
              onChange(Object.assign({}, query, { compareTo: choice.value }));
              onRunQuery();
            },
          }),
        ),
        field('Threshold %', 'threshold', '20', 'A statement regressed or improved when its time per call changed by at least this many percent (with enough calls in both windows).', 10),
      ),
    );
  }

  function QueryEditor(props) {
    const { query, onChange, onRunQuery } = props;
    const queryType = query.queryType || 'promql';
    const typeField = h(
      grafanaUi.InlineField,
      { label: 'Query type', labelWidth: 14 },
      h(grafanaUi.Select, {
        width: 20,
        'aria-label': 'Query type',
        options: QUERY_TYPES,
        value: queryType,
        onChange: (choice) => {
          onChange(Object.assign({}, query, { queryType: choice.value }));
          onRunQuery();
        },
      }),
    );
    if (queryType === 'stackHealth') {
      return h(
        'div',
        { 'data-testid': 'pgscope-query-editor' },
        typeField,
        h('p', null, 'One row per check of the monitoring stack, evaluated at the end of the time range, with sparklines of up and scrape samples per target over it. Show it with the pgscope panel.'),
      );
    }
    if (PGSS_TYPES.includes(queryType)) {
      return h('div', { 'data-testid': 'pgscope-query-editor' }, typeField, h(PgssEditor, Object.assign({}, props, { top: queryType === 'pgssTopQueries' })));
    }
    return h('div', null, typeField, h(PromQueryEditor, props));
  }

  function PromQueryEditor(props) {
    const { query, onChange, onRunQuery, datasource } = props;
    const set = (key) => (event) => onChange(Object.assign({}, query, { [key]: event.currentTarget.value }));
    const metricNames = useResourceList(datasource, 'metrics');
    const labelNames = useResourceList(datasource, 'labels');
    const refId = query.refId || 'A';
    const type = query.range !== false && query.instant ? 'both' : query.instant ? 'instant' : 'range';
    const setType = (choice) => {
      const value = choice.value;
      onChange(Object.assign({}, query, { range: value !== 'instant', instant: value !== 'range' }));
      onRunQuery();
    };
    return h(
      'div',
      { 'data-testid': 'pgscope-query-editor' },
      h(
        grafanaUi.Field,
        { label: 'PromQL', description: 'Runs against the datasource URL. Shift+Enter runs the query.' },
        h(grafanaUi.TextArea, {
          'aria-label': 'PromQL expression',
          rows: 3,
          value: query.expr || '',
          onChange: set('expr'),
          onBlur: onRunQuery,
          onKeyDown: (event) => {
            if (event.key === 'Enter' && event.shiftKey) {
              event.preventDefault();
              onRunQuery();
            }
          },
        }),
      ),
      h(
        grafanaUi.InlineField,
        { label: 'Legend', labelWidth: 14, tooltip: 'Series name, e.g. {{datname}} {{queryid}}' },
        h(grafanaUi.Input, { width: 40, value: query.legendFormat || '', placeholder: 'auto', onChange: set('legendFormat'), onBlur: onRunQuery }),
      ),
      h(Suggestions, { id: `pgscope-metrics-${refId}`, label: 'Metric', names: metricNames, query, onChange }),
      h(Suggestions, { id: `pgscope-labels-${refId}`, label: 'Label', names: labelNames, query, onChange }),
      h(
        grafanaUi.InlineField,
        { label: 'Type', labelWidth: 14, tooltip: 'Range: a series over the time range; Instant: the value at its end; Both.' },
        h(grafanaUi.Select, {
          width: 20,
          options: [{ label: 'Range', value: 'range' }, { label: 'Instant', value: 'instant' }, { label: 'Both', value: 'both' }],
          value: type,
          onChange: setType,
        }),
      ),
      h(
        grafanaUi.InlineField,
        { label: 'Format', labelWidth: 14, tooltip: 'Time series: a frame per series; Table: one table, the labels as columns.' },
        h(grafanaUi.Select, {
          width: 20,
          options: [{ label: 'Time series', value: 'time_series' }, { label: 'Table', value: 'table' }],
          value: query.format || 'time_series',
          onChange: (choice) => {
            onChange(Object.assign({}, query, { format: choice.value }));
            onRunQuery();
          },
        }),
      ),
      h(
        grafanaUi.InlineField,
        { label: 'Min step', labelWidth: 14, tooltip: 'Lower bound of the step, e.g. 15s (default: the scrape interval). Also the scrape interval of $__rate_interval.' },
        h(grafanaUi.Input, { width: 20, value: query.interval || '', placeholder: 'auto', onChange: set('interval'), onBlur: onRunQuery }),
      ),
      h(
        grafanaUi.InlineField,
        { label: 'Fallback', labelWidth: 14, tooltip: 'auto: info joins get an `or` fallback (datasource default); off: send the query as written.' },
        h(grafanaUi.Select, {
          width: 20,
          options: [{ label: 'datasource default', value: '' }, { label: 'auto', value: 'auto' }, { label: 'off', value: 'off' }],
          value: query.fallback || '',
          onChange: (choice) => {
            onChange(Object.assign({}, query, { fallback: choice.value }));
            onRunQuery();
          },
        }),
      ),
      h(RewritePreview, { datasource, expr: query.expr, fallback: query.fallback }),
    );
  }

  const plugin = new grafanaData.DataSourcePlugin(PgscopeDataSource).setConfigEditor(createConfigEditor(React, grafanaUi)).setQueryEditor(QueryEditor);
  return { plugin };
}
