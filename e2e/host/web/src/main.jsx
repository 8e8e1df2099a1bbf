// The stand-in page's entry point. window.grafanaBootData is set by the page before this bundle
// runs (the runtime's config reads it once). Shared modules are handed to plugins through
// SystemJS import-map entries `<name>` -> `package:<name>`, as Grafana's sharedDependencies do.
import * as React from 'react';
import * as ReactDOM from 'react-dom';
import * as ReactDOMClient from 'react-dom/client';
import * as jsxRuntime from 'react/jsx-runtime';
import * as rxjs from 'rxjs';
import * as rxjsOperators from 'rxjs/operators';
import * as grafanaData from '@grafana/data';
import * as grafanaRuntime from '@grafana/runtime';
import * as grafanaUi from '@grafana/ui';
import * as grafanaSchema from '@grafana/schema';
import * as emotionCss from '@emotion/css';
// Grafana core hands PanelRenderer to @grafana/runtime at start-up; the setter is not in the
// package's public exports, so it is imported from the module file index.mjs re-exports.
import { setPanelRenderer } from '../../../../node_modules/@grafana/runtime/dist/esm/components/PanelRenderer.mjs';
import { registerServices } from './services.js';
import { registerOptionEditors } from './optionEditors.jsx';
import { PanelRenderer } from './panel.jsx';
import { AppPage } from './appPage.jsx';
import { HomePage } from './home.jsx';
import { DashboardPage } from './dashboard.jsx';
import { DatasourcePage } from './datasourcePage.jsx';
import { ExplorePage } from './explore.jsx';

const shared = {
  react: React,
  'react-dom': ReactDOM,
  'react-dom/client': ReactDOMClient,
  'react/jsx-runtime': jsxRuntime,
  rxjs,
  'rxjs/operators': rxjsOperators,
  '@grafana/data': grafanaData,
  '@grafana/runtime': grafanaRuntime,
  '@grafana/ui': grafanaUi,
  '@grafana/schema': grafanaSchema,
  '@emotion/css': emotionCss,
};
// Before the namespaces are handed to SystemJS: System.set copies their values, so a later
// assignment to the live `PanelRenderer` binding would not reach the plugins.
setPanelRenderer(PanelRenderer);
registerOptionEditors();
const imports = {};
for (const [name, namespace] of Object.entries(shared)) {
  System.set(`package:${name}`, namespace);
  imports[name] = `package:${name}`;
}
System.addImportMap({ imports });

registerServices();

function route(path) {
  let match = path.match(/^\/d\/([^/]+)/);
  if (match) return <DashboardPage uid={decodeURIComponent(match[1])} />;
  if (path.startsWith('/explore')) return <ExplorePage uid={new URLSearchParams(window.location.search).get('ds') || 'default'} />;
  match = path.match(/^\/a\/([^/]+)/);
  if (match) return <AppPage id={decodeURIComponent(match[1])} />;
  match = path.match(/^\/connections\/datasources\/edit\/([^/]+)/);
  if (match) return <DatasourcePage uid={decodeURIComponent(match[1])} />;
  return <HomePage />;
}

function App() {
  const theme = grafanaRuntime.config.theme2;
  return (
    <grafanaUi.ThemeContext.Provider value={theme}>
      <grafanaUi.GlobalStyles />
      <div style={{ minHeight: '100vh', background: theme.colors.background.canvas, color: theme.colors.text.primary }}>
        <header style={{ display: 'flex', gap: 16, alignItems: 'center', padding: '8px 16px', borderBottom: `1px solid ${theme.colors.border.weak}` }}>
          <a href="/" style={{ fontWeight: 600 }}>pgscope · Grafana stand-in</a>
          <span style={{ color: theme.colors.text.secondary, fontSize: 12 }}>
            not Grafana: a test host honouring its plugin contract (e2e/host/README.md)
          </span>
        </header>
        {route(window.location.pathname)}
      </div>
    </grafanaUi.ThemeContext.Provider>
  );
}

ReactDOMClient.createRoot(document.getElementById('reactRoot')).render(<App />);
