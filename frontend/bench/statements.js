// The statements the panel benchmarks draw (panel.mjs, grafana-table.mjs): `n` pgss statements
// as pgssTopQueries returns them, a wide table frame and one 60-point sparkline frame per
// statement. Deterministic figures; `seed` changes them for a refresh. Runs in the page.
export const MEASURES = ['share_of_time', 'calls_per_s', 'exec_time_per_s', 'exec_time_per_call', 'rows_per_call', 'hit_ratio',
  'shared_read_per_s', 'temp_written_per_s', 'wal_bytes_per_s'];

export function statements(n, seed) {
  const ids = Array.from({ length: n }, (_, i) => String(4_000_000_000 + i * 7919));
  const text = (i) => 'SELECT a, b, c FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.status = $1 AND o.region = ' + i;
  const fields = [
    { name: 'queryid', type: 'string', values: ids },
    { name: 'database', type: 'string', values: ids.map((_, i) => 'db' + (i % 3)) },
    { name: 'user', type: 'string', values: ids.map(() => 'app') },
    { name: 'name', type: 'string', values: ids.map((_, i) => text(i).slice(0, 80)) },
    { name: 'text', type: 'string', values: ids.map((_, i) => text(i)) },
    { name: 'name_source', type: 'string', values: ids.map((_, i) => (i % 10 ? 'info' : 'queryid')) },
    ...MEASURES.map((m, k) => ({ name: m, type: 'number', values: ids.map((_, i) => ((i * 37 + k * 11 + seed * 13) % 1000) / 1000) })),
  ];
  const table = { name: 'pgss top queries', refId: 'A', meta: { custom: { pgscope: 'pgss.top', schema: 'postgres_exporter (custom queries) · 15 of 15 measures', statements: n } }, fields };
  const times = Array.from({ length: 60 }, (_, t) => 1_700_000_000_000 + t * 15_000);
  const sparks = ids.map((id, i) => ({
    name: 'exec time/s', refId: 'A', meta: { custom: { pgscope: 'pgss.sparkline', measure: 'exec_time' } },
    fields: [
      { name: 'Time', type: 'time', values: times },
      { name: 'Value', type: 'number', labels: { database: 'db' + (i % 3), queryid: id }, values: times.map((_, t) => ((t * 7 + i + seed) % 23) / 23) },
    ],
  }));
  return { series: [table, ...sparks] };
}
