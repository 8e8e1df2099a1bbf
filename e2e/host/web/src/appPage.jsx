// An app plugin's page, as Grafana's AppRootPage draws /a/<id>: the plugin's settings from
// /api/plugins/<id>/settings (an app that is not enabled gets an error, not its page), its
// module.js through SystemJS, then `plugin.root` with AppRootProps.
import { useEffect, useState } from 'react';
import { Alert } from '@grafana/ui';
import { importPlugin } from './services.js';

export function AppPage({ id }) {
  const [state, setState] = useState({ plugin: null, error: null });
  useEffect(() => {
    let cancelled = false;
    fetch(`/api/plugins/${encodeURIComponent(id)}/settings`)
      .then(async (res) => {
        const meta = await res.json();
        if (!res.ok) throw new Error(meta.message || res.statusText);
        if (meta.type !== 'app') throw new Error(`${id} is not an app plugin`);
        if (!meta.enabled) throw new Error(`App not enabled: ${id}`);
        const module = await importPlugin(meta);
        const plugin = module.plugin;
        plugin.meta = meta;
        if (!plugin.root) throw new Error(`App ${id} has no root page`);
        if (!cancelled) setState({ plugin, error: null });
      })
      .catch((error) => {
        if (!cancelled) setState({ plugin: null, error: String(error.message || error) });
      });
    return () => {
      cancelled = true;
    };
  }, [id]);

  if (state.error) return <main style={{ padding: 16 }}><Alert title="App page failed" severity="error">{state.error}</Alert></main>;
  if (!state.plugin) return <main style={{ padding: 16 }}>loading…</main>;
  const Root = state.plugin.root;
  const query = Object.fromEntries(new URLSearchParams(window.location.search));
  return (
    <main data-testid="standin-app-page" style={{ padding: 16 }}>
      <h1 style={{ fontSize: 20 }}>{state.plugin.meta.name}</h1>
      <Root meta={state.plugin.meta} basename={`/a/${id}`} path={window.location.pathname} query={query} onNavChanged={() => {}} />
    </main>
  );
}
