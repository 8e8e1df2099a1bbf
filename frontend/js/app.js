// pgscope-app's module.js glue, wrapped by scripts/build.mjs in `define(['@grafana/data'], ...)`.
// The app bundles the datasource and the panel (nested plugins) and their dashboards; it has no
// pages of its own yet.
export function createModule(grafanaData) {
  return { plugin: new grafanaData.AppPlugin() };
}
