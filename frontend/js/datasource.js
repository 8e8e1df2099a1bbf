// pgscope-datasource's module.js glue, wrapped by scripts/build.mjs in
// `define(['react', '@grafana/data', '@grafana/runtime', '@grafana/ui'], ...)`. The queries run in
// the Rust backend (gpx_pgscope); this file only holds the editors and the DataSourceWithBackend
// subclass that sends queries through Grafana.

import { interpolateValue } from './promql.js';

export function createModule(React, grafanaData, grafanaRuntime, grafanaUi) {
  const h = React.createElement;

  class PgscopeDataSource extends grafanaRuntime.DataSourceWithBackend {
    getDefaultQuery() {
      return { queryType: 'promql', expr: '', legendFormat: '', range: true, instant: false };
    }

    filterQuery(query) {
      return !query.hide && typeof query.expr === 'string' && query.expr.trim() !== '';
    }

    applyTemplateVariables(query, scopedVars) {
      const templates = grafanaRuntime.getTemplateSrv();
      const format = (value, variable) =>
        variable && (variable.multi || variable.includeAll) ? interpolateValue(value) : String(value);
      return Object.assign({}, query, {
        queryType: query.queryType || 'promql',
        expr: templates.replace(query.expr || '', scopedVars, format),
        legendFormat: templates.replace(query.legendFormat || '', scopedVars),
      });
    }
  }

  function ConfigEditor(props) {
    const { options, onOptionsChange } = props;
    const jsonData = options.jsonData || {};
    const setJson = (key) => (event) =>
      onOptionsChange(Object.assign({}, options, { jsonData: Object.assign({}, jsonData, { [key]: event.currentTarget.value }) }));
    return h(
      'div',
      { 'data-testid': 'pgscope-config-editor' },
      h(grafanaUi.DataSourceHttpSettings, {
        defaultUrl: 'http://localhost:8428',
        dataSourceConfig: options,
        onChange: onOptionsChange,
        showAccessOptions: false,
      }),
      h('h3', { className: 'page-heading' }, 'Prometheus API'),
      h(
        grafanaUi.InlineField,
        { label: 'Scrape interval', labelWidth: 20, tooltip: 'How often your TSDB scrapes; the smallest useful step. Default 15s.' },
        h(grafanaUi.Input, { width: 20, placeholder: '15s', value: jsonData.timeInterval || '', onChange: setJson('timeInterval') }),
      ),
      h(
        grafanaUi.InlineField,
        { label: 'Query timeout', labelWidth: 20, tooltip: 'How long one request to the TSDB may take. Default 60s.' },
        h(grafanaUi.Input, { width: 20, placeholder: '60s', value: jsonData.queryTimeout || '', onChange: setJson('queryTimeout') }),
      ),
      h(
        grafanaUi.InlineField,
        { label: 'HTTP method', labelWidth: 20, tooltip: 'POST allows longer queries; GET works behind read-only proxies.' },
        h(grafanaUi.Select, {
          width: 20,
          options: [{ label: 'POST', value: 'POST' }, { label: 'GET', value: 'GET' }],
          value: jsonData.httpMethod || 'POST',
          onChange: (choice) => onOptionsChange(Object.assign({}, options, { jsonData: Object.assign({}, jsonData, { httpMethod: choice.value }) })),
        }),
      ),
    );
  }

  function QueryEditor(props) {
    const { query, onChange, onRunQuery } = props;
    const set = (key) => (event) => onChange(Object.assign({}, query, { [key]: event.currentTarget.value }));
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
    );
  }

  const plugin = new grafanaData.DataSourcePlugin(PgscopeDataSource).setConfigEditor(ConfigEditor).setQueryEditor(QueryEditor);
  return { plugin };
}
