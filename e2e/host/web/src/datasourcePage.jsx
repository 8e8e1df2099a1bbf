// The datasource settings page: the plugin's own ConfigEditor, then "Save & test" as Grafana
// does it (PUT the settings, reload the instance, call its testDatasource(), which asks
// /api/datasources/uid/<uid>/health), with the result in an Alert identified like Grafana's
// (DataSourceTestingStatus: title = message, body = details.message, verboseMessage folded).
import { useEffect, useState } from 'react';
import { selectors } from '@grafana/e2e-selectors';
import { Alert, Button } from '@grafana/ui';
import { backendSrv, dataSourceSrv, importPlugin } from './services.js';

export function DatasourcePage({ uid }) {
  const [options, setOptions] = useState(null);
  const [plugin, setPlugin] = useState(null);
  const [failure, setFailure] = useState(null);
  const [testing, setTesting] = useState(false);
  const [result, setResult] = useState(null);

  useEffect(() => {
    backendSrv
      .get(`/api/datasources/uid/${encodeURIComponent(uid)}`)
      .then((settings) => {
        setOptions(settings);
        const meta = dataSourceSrv.getInstanceSettings(uid).meta;
        return importPlugin(meta).then((module) => setPlugin(module.plugin));
      })
      .catch((e) => setFailure(String((e && e.data && e.data.message) || e.message || e)));
  }, [uid]);

  async function saveAndTest() {
    setTesting(true);
    setResult(null);
    try {
      const saved = await backendSrv.put(`/api/datasources/uid/${encodeURIComponent(uid)}`, options);
      setOptions(Object.assign({}, saved.datasource, { secureJsonData: undefined }));
      dataSourceSrv.reload();
      const ds = await dataSourceSrv.get(uid);
      const outcome = await ds.testDatasource();
      setResult({ status: outcome.status, message: outcome.message, details: outcome.details });
    } catch (error) {
      const inner = (error && error.error) || error || {};
      setResult({ status: 'error', message: inner.message || (error && error.message) || String(error), details: inner.details || (error && error.details) });
    } finally {
      setTesting(false);
    }
  }

  if (failure) return <main style={{ padding: 16 }} role="alert">{failure}</main>;
  if (!options || !plugin) return <main style={{ padding: 16 }}>Loading datasource…</main>;
  const ConfigEditor = plugin.components.ConfigEditor;
  const details = result && result.details;
  return (
    <main style={{ padding: 16, maxWidth: 900 }}>
      <h1 style={{ fontSize: 20 }}>{options.name}</h1>
      <p>Type: {options.type}</p>
      {ConfigEditor ? <ConfigEditor options={options} onOptionsChange={setOptions} /> : <p>This plugin has no settings editor.</p>}
      {result && (
        <div style={{ marginTop: 16 }}>
          <Alert severity={result.status === 'success' ? 'success' : 'error'} title={result.message} data-testid={selectors.pages.DataSource.alert}>
            {details && details.message ? <p>{details.message}</p> : null}
            {details && details.verboseMessage ? (
              <details style={{ whiteSpace: 'pre-wrap' }}>
                <summary>Details</summary>
                {details.verboseMessage}
              </details>
            ) : null}
          </Alert>
        </div>
      )}
      <div style={{ display: 'flex', gap: 8, marginTop: 16 }}>
        <Button variant="secondary" onClick={() => window.history.back()}>
          Back
        </Button>
        <Button type="submit" disabled={testing} onClick={saveAndTest} data-testid={selectors.pages.DataSource.saveAndTest}>
          {testing ? 'Testing…' : 'Save & test'}
        </Button>
      </div>
    </main>
  );
}
