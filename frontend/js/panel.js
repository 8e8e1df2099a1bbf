// pgscope-panel's module.js glue. Grafana loads module.js with SystemJS (AMD); scripts/build.mjs
// wraps this file in `define(['react', '@grafana/data', '@grafana/ui', 'module'], ...)` and calls
// createModule with those modules. React owns an empty div; the Leptos/wasm panel draws into it
// (shared/notes/wasm-panel.md): one wasm instance per page, mount/update/unmount per panel.
import init, { mount } from 'pgscope-wasm';
import { panelProps } from './props.js';
import { panelOptions } from './panelOptions.js';
import { wasmUrl } from './wasmUrl.js';
import { panelAdvice } from './advice.js';
import { ensureStyles } from './styles.js';

// Content-hashed file name, injected at build time: Grafana caches plugin files for an hour and
// versions only module.js (`?_cache=<plugin version>`; scripts/build.mjs puts the build's hash in
// that version, so a rebuild never reuses a cached module.js that names a wasm no longer there).
const WASM_FILE = __PGSCOPE_WASM_FILE__;

let wasmReady = null;

/** The document a panel's element lives in (the page's, unless it is in an iframe). */
function documentOf(element) {
  return (element && element.ownerDocument) || (typeof document !== 'undefined' ? document : null);
}

function loadWasm(url) {
  if (!wasmReady) {
    wasmReady = init({ module_or_path: url }).catch((error) => {
      wasmReady = null; // let the next panel try again
      throw error;
    });
  }
  return wasmReady;
}

/** Theme colours handed to the wasm view as CSS variables. */
function themeVariables(theme) {
  const c = theme.colors;
  return {
    '--pgscope-text': c.text.primary,
    '--pgscope-link': c.text.link,
    '--pgscope-border': c.border.weak,
    '--pgscope-header-bg': c.background.secondary,
    '--pgscope-error': c.error.text,
    '--pgscope-warning': c.warning.text,
    '--pgscope-ok': c.success.text,
    '--pgscope-unknown': c.text.secondary,
    '--pgscope-font': theme.typography.fontFamily,
  };
}

export function createModule(React, grafanaData, grafanaUi, amdModule) {
  // Grafana sets plugin.meta after the import (importPanelPlugin), before any panel mounts.
  let plugin = null;

  function PgscopePanel(props) {
    const container = React.useRef(null);
    const handle = React.useRef(null);
    const latest = React.useRef(null);
    const latestData = React.useRef(null);
    const [failure, setFailure] = React.useState(null);
    const theme = grafanaUi.useTheme2();
    const packed = React.useMemo(() => panelProps(props.data, props.options, props.timeRange), [props.data, props.options, props.timeRange]);
    latest.current = packed;
    latestData.current = props.data;

    // The detail view's index advice (js/advice.js): asked and drawn here, into the body the
    // wasm leaves under its button; drawn again when a refresh redraws the view.
    React.useEffect(() => {
      const element = container.current;
      if (!element) return undefined;
      const advice = panelAdvice(() => latestData.current);
      element.addEventListener('click', advice.onClick);
      const observer = new MutationObserver(() => advice.refill(element));
      observer.observe(element, { childList: true, subtree: true });
      return () => {
        element.removeEventListener('click', advice.onClick);
        observer.disconnect();
      };
    }, []);

    React.useEffect(() => {
      ensureStyles(documentOf(container.current));
      let cancelled = false; // StrictMode mounts twice; an unmounted panel must not mount wasm
      loadWasm(wasmUrl(WASM_FILE, plugin && plugin.meta, amdModule, document.baseURI))
        .then(() => {
          if (!cancelled && container.current) handle.current = mount(container.current, latest.current.json, latest.current.numbers);
        })
        .catch((error) => !cancelled && setFailure(`pgscope panel could not load its WebAssembly: ${error}`));
      return () => {
        cancelled = true;
        if (handle.current) {
          handle.current.unmount();
          handle.current.free();
          handle.current = null;
        }
      };
    }, []);

    React.useEffect(() => {
      if (handle.current) handle.current.update(packed.json, packed.numbers);
    }, [packed]);

    React.useEffect(() => {
      if (handle.current) handle.current.resize(props.height);
    }, [props.height]);

    const style = Object.assign({ width: props.width, height: props.height, overflow: 'hidden' }, themeVariables(theme));
    if (failure) return React.createElement('div', { role: 'alert', style }, failure);
    return React.createElement('div', { ref: container, style, 'data-testid': 'pgscope-panel' });
  }

  plugin = new grafanaData.PanelPlugin(PgscopePanel).setPanelOptions(panelOptions);
  return { plugin };
}
