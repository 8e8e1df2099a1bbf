// The @grafana/runtime services the stand-in page registers, as Grafana's own page does, so that
// plugins' DataSourceWithBackend runs unmodified (shared/notes/grafana-host-contract.md, §7):
// backendSrv (only fetch() is on the path; get/post/put/delete for getResource & co.),
// dataSourceSrv (instances from the plugins' module.js via SystemJS), templateSrv.
import { Observable, lastValueFrom } from 'rxjs';
import { config, setBackendSrv, setDataSourceSrv, setTemplateSrv } from '@grafana/runtime';

function withParams(url, params) {
  if (!params) return url;
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === null) continue;
    for (const v of Array.isArray(value) ? value : [value]) search.append(key, String(v));
  }
  const text = search.toString();
  return text ? `${url}${url.includes('?') ? '&' : '?'}${text}` : url;
}

export const backendSrv = {
  fetch(options) {
    return new Observable((subscriber) => {
      const controller = new AbortController();
      const headers = Object.assign({}, options.headers);
      let body;
      if (options.data !== undefined) {
        body = typeof options.data === 'string' ? options.data : JSON.stringify(options.data);
        headers['Content-Type'] = headers['Content-Type'] || 'application/json';
      }
      window
        .fetch(withParams(options.url, options.params), { method: options.method || 'GET', headers, body, signal: controller.signal })
        .then(async (res) => {
          const text = await res.text();
          let data = text;
          try {
            data = text ? JSON.parse(text) : undefined;
          } catch (_) {
            // not JSON: keep the text
          }
          if (!res.ok) {
            subscriber.error({ status: res.status, statusText: res.statusText, data, config: options });
            return;
          }
          subscriber.next({ data, status: res.status, statusText: res.statusText, ok: true, headers: res.headers,
            redirected: res.redirected, type: res.type, url: res.url, config: options });
          subscriber.complete();
        })
        .catch((error) => {
          if (error && error.name === 'AbortError') return;
          subscriber.error({ status: 0, statusText: String(error), data: { message: String(error) }, config: options });
        });
      return () => controller.abort();
    });
  },
  async request(options) {
    return (await lastValueFrom(this.fetch(options))).data;
  },
  get(url, params, requestId, options) {
    return this.request(Object.assign({ url, params, requestId, method: 'GET' }, options));
  },
  post(url, data, options) {
    return this.request(Object.assign({ url, data, method: 'POST' }, options));
  },
  put(url, data, options) {
    return this.request(Object.assign({ url, data, method: 'PUT' }, options));
  },
  delete(url, data, options) {
    return this.request(Object.assign({ url, data, method: 'DELETE' }, options));
  },
  datasourceRequest(options) {
    return lastValueFrom(this.fetch(options));
  },
};

/** Loads a plugin's module.js through SystemJS, as Grafana's importPluginModule does. */
const modules = new Map();
export function importPlugin(meta) {
  const path = meta.module.startsWith('/') ? meta.module : `/${meta.module}`;
  if (!modules.has(path)) modules.set(path, System.import(path));
  return modules.get(path);
}

const datasources = () => Object.values(config.datasources || {});
const instances = new Map();

export const dataSourceSrv = {
  getList(filters = {}) {
    return datasources().filter((ds) => !filters.pluginId || ds.type === filters.pluginId);
  },
  getInstanceSettings(ref) {
    const all = datasources();
    if (ref === undefined || ref === null || ref === 'default') return all.find((ds) => ds.isDefault) || all[0];
    let key = typeof ref === 'string' ? ref : ref.uid;
    // `${datasource}`: a datasource variable, interpolated as Grafana's DatasourceSrv does.
    if (typeof key === 'string' && key.includes('$')) key = templateSrv.replace(key);
    return all.find((ds) => ds.uid === key || ds.name === key);
  },
  async get(ref) {
    const settings = this.getInstanceSettings(ref);
    if (!settings) throw new Error(`Datasource ${JSON.stringify(ref)} was not found`);
    if (!instances.has(settings.uid)) {
      instances.set(
        settings.uid,
        importPlugin(settings.meta).then((module) => {
          const plugin = module.plugin;
          plugin.meta = settings.meta;
          const instance = new plugin.DataSourceClass(settings);
          instance.meta = settings.meta;
          instance.components = plugin.components;
          return instance;
        }),
      );
    }
    return instances.get(settings.uid);
  },
  reload() {
    instances.clear();
  },
};

/** Dashboard variables and time range, kept by the dashboard view. */
export const templateState = { variables: [], range: undefined };

function formatValue(value, format, variable) {
  // "All": the variable's allValue when it has one (else every option, which the stand-in does not keep).
  const all = (Array.isArray(value) ? value : [value]).includes('$__all');
  if (all && variable && variable.allValue) return variable.allValue;
  const values = Array.isArray(value) ? value : [value];
  if (typeof format === 'function') return format(value, variable);
  switch (format) {
    case 'regex':
      return values.length === 1 ? String(values[0]).replace(/[\\^$*+?.()|[\]{}]/g, '\\$&') : `(${values.join('|')})`;
    case 'pipe':
      return values.join('|');
    case 'csv':
      return values.join(',');
    case 'raw':
      return values.join(',');
    default:
      return values.length === 1 ? String(values[0]) : `{${values.join(',')}}`;
  }
}

const VARIABLE = /\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\${(\w+)(?:\.([^:^}]+))?(?::([^}]+))?}/g;

export const templateSrv = {
  getVariables() {
    return templateState.variables;
  },
  containsTemplate(target) {
    return typeof target === 'string' && new RegExp(VARIABLE.source).test(target);
  },
  updateTimeRange(range) {
    templateState.range = range;
  },
  getAdhocFilters() {
    return [];
  },
  replace(target, scopedVars, format) {
    if (typeof target !== 'string') return target;
    return target.replace(VARIABLE, (match, name1, name2, format2, name3, _path, format3) => {
      const name = name1 || name2 || name3;
      const fmt = format3 || format2 || format;
      if (scopedVars && scopedVars[name]) return formatValue(scopedVars[name].value, fmt);
      const range = templateState.range;
      if (name === '__from' && range) return String(range.from.valueOf());
      if (name === '__to' && range) return String(range.to.valueOf());
      const variable = templateState.variables.find((v) => v.name === name);
      if (!variable) return match;
      return formatValue(variable.current.value, fmt, variable);
    });
  },
};

export function registerServices() {
  setBackendSrv(backendSrv);
  setDataSourceSrv(dataSourceSrv);
  setTemplateSrv(templateSrv);
}
