// A small Explore: the datasource's own QueryEditor (with its props as Grafana passes them),
// and the query's result drawn like a built-in panel. Grafana's Explore is far richer; this is
// what it takes to run a plugin's query editor in a browser.
import { useEffect, useMemo, useState } from 'react';
import { rangeUtil } from '@grafana/data';
import { selectors } from '@grafana/e2e-selectors';
import { Button } from '@grafana/ui';
import { dataSourceSrv } from './services.js';
import { PanelView } from './panel.jsx';

export function ExplorePage({ uid }) {
  const [datasource, setDatasource] = useState(null);
  const [failure, setFailure] = useState(null);
  const [query, setQuery] = useState(null);
  const [ran, setRan] = useState({ key: 0, query: null });
  const range = useMemo(() => rangeUtil.convertRawToRange({ from: 'now-15m', to: 'now' }), [ran.key]);

  useEffect(() => {
    dataSourceSrv.get(uid).then(
      (ds) => {
        setDatasource(ds);
        setQuery(Object.assign({ refId: 'A' }, ds.getDefaultQuery ? ds.getDefaultQuery() : {}, { datasource: ds.getRef() }));
      },
      (e) => setFailure(String(e.message || e)),
    );
  }, [uid]);

  if (failure) return <main style={{ padding: 16 }} role="alert">{failure}</main>;
  if (!datasource || !query) return <main style={{ padding: 16 }}>Loading datasource…</main>;
  const QueryEditor = datasource.components.QueryEditor;
  const run = () => setRan({ key: ran.key + 1, query });
  return (
    <main style={{ padding: 16 }} data-testid="standin-explore">
      <h1 style={{ fontSize: 20 }}>Explore · {datasource.name}</h1>
      <QueryEditor datasource={datasource} query={query} onChange={setQuery} onRunQuery={run} range={range} app="explore" />
      <Button data-testid={selectors.components.RefreshPicker.runButtonV2} onClick={run} style={{ margin: '8px 0' }}>
        Run query
      </Button>
      {ran.query && (
        <div style={{ display: 'grid', gridTemplateColumns: 'repeat(24, 1fr)', gridTemplateRows: 'repeat(10, 30px)', gap: 8 }}>
          <PanelView
            panel={{ id: 1, type: 'table', title: 'Explore result', gridPos: { x: 0, y: 0, w: 24, h: 10 }, targets: [ran.query] }}
            range={range}
            refreshKey={ran.key}
            variablesKey=""
            dashboardUid="explore"
          />
        </div>
      )}
    </main>
  );
}
