// The pgscope panel's options (frontend/src/model.rs PanelOptions reads them). Pure, so the glue
// tests check them against the wasm side's column list.

/** The top-queries view's optional columns: field name -> header (frontend/src/pgss.rs COLUMNS). */
export const TOP_COLUMNS = [
  ['share_of_time', '% of time'],
  ['exec_time_per_s', 'time/s'],
  ['calls_per_s', 'calls/s'],
  ['exec_time_per_call', 'time/call'],
  ['rows_per_call', 'rows/call'],
  ['hit_ratio', 'hit ratio'],
  ['shared_read_per_s', 'read/s'],
  ['temp_written_per_s', 'temp/s'],
  ['wal_bytes_per_s', 'WAL/s'],
  ['cpu_user_time_per_call', 'CPU user/call'],
  ['cpu_system_time_per_call', 'CPU sys/call'],
  ['disk_read_per_s', 'disk read/s'],
  ['disk_written_per_s', 'disk write/s'],
  ['cpu_user_time_per_s', 'CPU user/s'],
  ['cpu_system_time_per_s', 'CPU sys/s'],
  ['disk_read_per_call', 'disk read/call'],
  ['disk_written_per_call', 'disk write/call'],
  ['change', 'change'],
];

/** The comparison shown (frontend/src/compare.rs `shown`): '' hides it. */
export const COMPARE_TO = [
  ['', 'Off', 'no comparison, even when the query makes one'],
  ['previous', 'Previous range', 'the range just before'],
  ['1d', '1 day earlier', 'the same range a day before'],
  ['7d', '7 days earlier', 'the same range a week before'],
];

/** The detail view's chart sets (frontend/src/detail.rs Charts). */
export const DETAIL_CHARTS = [
  ['overview', 'Overview', 'calls/s, time per call, time/s, rows per call, hit ratio, planning, reads, temp, WAL'],
  ['perSecond', 'Per second', 'every measure per second'],
  ['perCall', 'Per call', 'every measure per call'],
];

/** Declares the options on Grafana's PanelOptionsEditorBuilder. */
export function panelOptions(builder) {
  return builder
    .addMultiSelect({
      path: 'topColumns',
      name: 'Top queries: columns',
      description: 'Columns of the top-queries table, in this order. Empty: every column the exporter can fill.',
      category: ['pg_stat_statements'],
      defaultValue: [],
      settings: { options: TOP_COLUMNS.map(([value, label]) => ({ value, label })) },
    })
    .addRadio({
      path: 'detailCharts',
      name: 'Single query: charts',
      description: 'Which charts the single-query view opens with (it can switch in the panel).',
      category: ['pg_stat_statements'],
      defaultValue: 'overview',
      settings: { options: DETAIL_CHARTS.map(([value, label, description]) => ({ value, label, description })) },
    })
    .addRadio({
      path: 'compareTo',
      name: 'Compare to',
      description:
        "The comparison the panel shows: a change column, badges, the window in the header, then dashed under now. The window is the query's own Compare to (a panel cannot change its query): set the same there. Off hides it.",
      category: ['pg_stat_statements'],
      defaultValue: 'previous',
      settings: { options: COMPARE_TO.map(([value, label, description]) => ({ value, label, description })) },
    });
}
