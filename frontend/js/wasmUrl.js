// Where the panel's content-hashed .wasm lives, from what Grafana tells the panel plugin.
// Grafana sets `plugin.meta.baseUrl` for every plugin (pkg/plugins assetpath): `public/plugins/<id>`
// in older versions, `/<sub path>/public/plugins/<id>` in some, and for a plugin nested in an app
// either the app's own base (bootstrap configureAppChildPlugin: child.BaseURL = parent.BaseURL)
// or `public/plugins/<app id>/<sub dir>` (newer assetpath with a parent). Relative ones resolve
// against the page's <base href> (`<sub path>/` under serve_from_sub_path), as Grafana's own asset
// URLs do. Then SystemJS's AMD `module.uri` where a loader gives one, then a fixed path.

/** The nested panel's directory in the app, when Grafana hands it the app's base URL. */
const APP_ID = 'pgscope-app';
const PANEL_DIR = 'panel';
/** Served for the nested panel by id too (/public/plugins/:pluginId/*), relative to <base href>. */
export const FALLBACK_MODULE = 'public/plugins/pgscope-panel/module.js';

/**
 * The absolute URL of `file` (the wasm) for a panel plugin whose meta is `meta`, whose AMD module
 * object is `amdModule` (may lack `uri`), on a page whose base URI is `documentBase`.
 */
export function wasmUrl(file, meta, amdModule, documentBase) {
  const baseUrl = meta && typeof meta.baseUrl === 'string' ? meta.baseUrl.trim() : '';
  if (baseUrl) {
    let dir = baseUrl.replace(/\/+$/, '');
    if (dir.split('/').pop() === APP_ID) dir += `/${PANEL_DIR}`;
    return new URL(file, new URL(`${dir}/`, documentBase)).href;
  }
  const moduleUri = (amdModule && typeof amdModule.uri === 'string' && amdModule.uri) || FALLBACK_MODULE;
  return new URL(file, new URL(moduleUri, documentBase)).href;
}
