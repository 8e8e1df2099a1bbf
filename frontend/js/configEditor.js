// The datasource's config editor (jsonData and secureJsonData, docs/configuration.md), part of
// the datasource's module.js. The pure helpers below (server rows, their problems, secrets) are
// what the editor does to the settings; tested in test/configEditor.test.mjs without React.
//
// Secrets follow Grafana's secureJsonFields convention: a stored secret is never sent back, the
// editor only learns that it is configured (`secureJsonFields[key]`) and offers a reset; what it
// shows is what the user typed in this session (`secureJsonData[key]`, before Save).

/** The TLS material of names from PostgreSQL (PEM, in secureJsonData), the datasource's or, suffixed `.<name>`, a server's. */
export const PG_TLS_SECRETS = [
  ['pgssTlsCACert', 'CA certificate', '-----BEGIN CERTIFICATE-----', 'The CA that signed the server certificates (PEM), for sslmode=verify-ca and verify-full. Without it they trust the public CAs only.'],
  ['pgssTlsClientCert', 'Client certificate', '-----BEGIN CERTIFICATE-----', 'For servers that ask for one (clientcert=verify-ca in pg_hba.conf), with its key; both or neither (PEM).'],
  ['pgssTlsClientKey', 'Client key', '-----BEGIN PRIVATE KEY-----', 'The client certificate\'s key (PEM, PKCS#8, RSA or EC).'],
].map(([key, label, placeholder, tooltip]) => ({ key, label, placeholder, tooltip }));

/** The secure settings a server of pgssServers owns, suffixed with its name. */
export const SERVER_SECRET_KEYS = ['pgssPassword', ...PG_TLS_SECRETS.map((s) => s.key)];

/** The backend's limits (settings/pg_servers.rs). */
export const MAX_SERVERS = 200;
const SERVER_NAME = /^[A-Za-z0-9_-]{1,63}$/;
const SERVER_FIELDS = ['name', 'instance', 'cluster', 'connection'];

export const CONNECTION_TOOLTIP =
  'Optional, read-only: a libpq connection string (host=... port=... user=... password=... dbname=... sslmode=...) for a role with pg_read_all_stats, in a database with the pg_stat_statements extension. Statements the info metric cannot name are named from pg_stat_statements itself. ' +
  'sslmode: disable (no TLS), prefer (the default: TLS when the server offers it, its certificate not checked), require (always TLS, not checked), verify-ca (signed by the CA certificate below), verify-full (also naming the host). ' +
  'The CA certificate and a client certificate with its key are the TLS fields below (files such as sslrootcert are not read). Kept in secureJsonData.';

const text = (value) => (typeof value === 'string' ? value : value == null ? '' : JSON.stringify(value));
const isObject = (value) => value !== null && typeof value === 'object' && !Array.isArray(value);
const has = (object, key) => Object.prototype.hasOwnProperty.call(object, key);

/** jsonData.pgssServers as a list of entries (objects); anything else as none. */
export function serverEntries(jsonData) {
  const servers = jsonData && jsonData.pgssServers;
  return Array.isArray(servers) ? servers.map((entry) => (isObject(entry) ? entry : {})) : [];
}

/** One entry as the editor's row shows it: the label is cluster only when it alone is given. */
export function serverRow(entry) {
  const label = has(entry, 'cluster') && !has(entry, 'instance') ? 'cluster' : 'instance';
  return { name: text(entry.name), label, value: text(entry[label]), connection: text(entry.connection) };
}

/** The entry with `patch` ({name}, {label}, {value}, {connection}) applied; only the keys the backend reads, instance or cluster. */
export function editServer(entry, patch) {
  const row = Object.assign(serverRow(entry), patch);
  const rest = Object.assign({}, entry);
  for (const key of SERVER_FIELDS) delete rest[key];
  return Object.assign({ name: row.name, [row.label]: row.value, connection: row.connection }, rest);
}

/** A libpq connection string (keywords or a URI) holding a password. */
export function holdsPassword(connection) {
  return /(^|\s)password\s*=/i.test(connection) || /^postgres(ql)?:\/\/[^/@?#]*:[^/@?#]*@/i.test(connection.trim()) || /[?&]password=/i.test(connection);
}

/**
 * What the backend would refuse in each row, in words ({name, value, connection, other}, each
 * absent when fine), and for the list (`list`). Checked here so that Save & test is not the
 * first to say it.
 */
export function serverProblems(entries) {
  const rows = entries.map(serverRow);
  const problems = rows.map((row, i) => {
    const entry = entries[i];
    const out = {};
    if (!SERVER_NAME.test(row.name)) out.name = '1 to 63 letters, digits, _ or - (it suffixes the server\'s secure settings, e.g. pgssPassword.db1)';
    else if (rows.findIndex((r) => r.name === row.name) !== i) out.name = 'another server has this name';
    if (row.value.trim() === '') out.value = `the ${row.label} label value of this server's series`;
    else {
      const owner = rows.findIndex((r) => r.label === row.label && r.value.trim() === row.value.trim());
      if (owner !== i) out.value = `${row.label} ${row.value.trim()} is already ${rows[owner].name || 'another server'}'s`;
    }
    if (row.connection.trim() === '') out.connection = 'a libpq connection string, e.g. host=db1.internal user=pgscope_reader dbname=postgres';
    else if (holdsPassword(row.connection)) out.connection = 'no password here: jsonData is stored unencrypted; set it in Password';
    const unknown = Object.keys(entry).filter((key) => !SERVER_FIELDS.includes(key));
    if (has(entry, 'instance') && has(entry, 'cluster')) out.other = 'both instance and cluster are set: the backend takes exactly one (editing this row keeps the one shown)';
    else if (unknown.length) out.other = `unknown field ${unknown.join(', ')}: the backend refuses it (editing this row keeps it)`;
    return out;
  });
  const list = entries.length > MAX_SERVERS ? `${entries.length} servers: at most ${MAX_SERVERS} are allowed` : undefined;
  return { rows: problems, list };
}

/** A secret as the field shows it: configured (never the value), or what was typed before Save. */
export function secretState(options, key) {
  return {
    isConfigured: !!(options.secureJsonFields && options.secureJsonFields[key] === true),
    value: text(options.secureJsonData && options.secureJsonData[key]),
  };
}

/** Options with `value` typed into the secret `key`. */
export function typeSecret(options, key, value) {
  return Object.assign({}, options, { secureJsonData: Object.assign({}, options.secureJsonData, { [key]: value }) });
}

/** Options with the secrets `keys` reset: cleared on Save (Grafana's convention: not configured, empty value). */
export function resetSecrets(options, keys) {
  const secureJsonFields = Object.assign({}, options.secureJsonFields);
  const secureJsonData = Object.assign({}, options.secureJsonData);
  for (const key of keys) {
    secureJsonFields[key] = false;
    secureJsonData[key] = '';
  }
  return Object.assign({}, options, { secureJsonFields, secureJsonData });
}

/** Options with the server list `entries`. */
export function withServers(options, entries) {
  return Object.assign({}, options, { jsonData: Object.assign({}, options.jsonData, { pgssServers: entries }) });
}

/** Options without server `index`; its secrets are reset unless another row has its name. */
export function removeServer(options, index) {
  const entries = serverEntries(options.jsonData);
  const name = serverRow(entries[index] || {}).name;
  const rest = entries.filter((_, i) => i !== index);
  const out = withServers(options, rest);
  if (!SERVER_NAME.test(name) || rest.some((entry) => serverRow(entry).name === name)) return out;
  const keys = SERVER_SECRET_KEYS.map((key) => `${key}.${name}`).filter((key) => {
    const state = secretState(options, key);
    return state.isConfigured || state.value !== '';
  });
  return keys.length ? resetSecrets(out, keys) : out;
}

/**
 * Server secrets configured or typed for a name no server has (after a rename or a hand edit):
 * listed so they can be reset, since a renamed server cannot take its stored password along.
 */
export function unusedServerSecrets(options) {
  const names = new Set(serverEntries(options.jsonData).map((entry) => serverRow(entry).name));
  const keys = new Set([...Object.keys(options.secureJsonFields || {}), ...Object.keys(options.secureJsonData || {})]);
  return [...keys]
    .filter((key) => {
      const dot = key.indexOf('.');
      if (dot < 0 || !SERVER_SECRET_KEYS.includes(key.slice(0, dot)) || names.has(key.slice(dot + 1))) return false;
      const state = secretState(options, key);
      return state.isConfigured || state.value !== '';
    })
    .sort();
}

export function createConfigEditor(React, grafanaUi) {
  const h = React.createElement;

  // A value kept in secureJsonData: shown as "configured" with a reset, never read back.
  function secretField(options, onOptionsChange, { label, key, tooltip, placeholder, multiline, labelWidth = 20, width = 40 }) {
    const state = secretState(options, key);
    const common = {
      placeholder,
      'aria-label': label,
      isConfigured: state.isConfigured,
      value: state.value,
      onChange: (event) => onOptionsChange(typeSecret(options, key, event.currentTarget.value)),
      onReset: () => onOptionsChange(resetSecrets(options, [key])),
    };
    const input = multiline
      ? h(grafanaUi.SecretTextArea, Object.assign({ cols: 60, rows: 4 }, common))
      : h(grafanaUi.SecretInput, Object.assign({ width }, common));
    return h(grafanaUi.InlineField, { key, label, labelWidth, tooltip, 'data-secret': key }, input);
  }

  function ServerRow({ options, onOptionsChange, entries, index, problems }) {
    const row = serverRow(entries[index]);
    const edit = (patch) => onOptionsChange(withServers(options, entries.map((entry, i) => (i === index ? editServer(entry, patch) : entry))));
    const value = (key) => (event) => edit({ [key]: event.currentTarget.value });
    const named = !problems.name;
    const who = row.name || `server ${index + 1}`;
    const ownTls = PG_TLS_SECRETS.some((s) => {
      const state = secretState(options, `${s.key}.${row.name}`);
      return state.isConfigured || state.value !== '';
    });
    return h(
      'div',
      { 'data-testid': 'pgscope-pg-server', style: { marginBottom: 8 } },
      h(
        grafanaUi.InlineFieldRow,
        null,
        h(
          grafanaUi.InlineField,
          { label: 'Name', labelWidth: 10, invalid: !!problems.name, error: problems.name, tooltip: 'Letters, digits, _ or -, up to 63: the server\'s secure settings are named after it (pgssPassword.<name>).' },
          h(grafanaUi.Input, { width: 16, 'aria-label': 'Server name', placeholder: 'db1', value: row.name, onChange: value('name') }),
        ),
        h(
          grafanaUi.InlineField,
          { label: 'Label', labelWidth: 10, tooltip: 'Which label of the pgss series picks this server: instance (node_name for postgres_ai) or cluster.' },
          h(grafanaUi.Select, {
            width: 14,
            'aria-label': 'Server label',
            options: [{ label: 'instance', value: 'instance' }, { label: 'cluster', value: 'cluster' }],
            value: row.label,
            onChange: (choice) => edit({ label: choice.value }),
          }),
        ),
        h(
          grafanaUi.InlineField,
          { label: 'Value', labelWidth: 10, invalid: !!problems.value, error: problems.value, tooltip: 'The label value of the statements this server names.' },
          h(grafanaUi.Input, { width: 20, 'aria-label': 'Server label value', placeholder: row.label === 'cluster' ? 'eu-main' : 'db1:9187', value: row.value, onChange: value('value') }),
        ),
        h(grafanaUi.Button, { variant: 'secondary', icon: 'trash-alt', 'aria-label': `Remove server ${who}`, tooltip: `Remove ${who} and its secure settings`, onClick: () => onOptionsChange(removeServer(options, index)) }),
      ),
      h(
        grafanaUi.InlineField,
        { label: 'Connection', labelWidth: 20, invalid: !!problems.connection, error: problems.connection, tooltip: 'A libpq connection string without the password (jsonData is stored unencrypted): host, port, user, dbname, sslmode.' },
        h(grafanaUi.Input, { width: 70, 'aria-label': 'Server connection', placeholder: 'host=db1.internal port=5432 user=pgscope_reader dbname=postgres sslmode=verify-full', value: row.connection, onChange: value('connection') }),
      ),
      problems.other ? h('div', { role: 'alert', style: { fontSize: 12 } }, problems.other) : null,
      named
        ? [
            secretField(options, onOptionsChange, { key: `pgssPassword.${row.name}`, label: 'Password', tooltip: `The password of ${row.name}'s connection, kept in secureJsonData as pgssPassword.${row.name}.` }),
            h(
              'details',
              { key: 'tls', open: ownTls },
              h('summary', null, 'TLS of its own (optional: with any set, this server uses none of the datasource\'s)'),
              PG_TLS_SECRETS.map((s) =>
                secretField(options, onOptionsChange, { key: `${s.key}.${row.name}`, label: s.label, tooltip: `${s.tooltip} Kept as ${s.key}.${row.name}.`, placeholder: s.placeholder, multiline: true }),
              ),
            ),
          ]
        : h('div', { style: { fontSize: 12 } }, 'Name the server to set its password and TLS.'),
    );
  }

  function PgServers({ options, onOptionsChange }) {
    const entries = serverEntries(options.jsonData);
    const problems = serverProblems(entries);
    const raw = options.jsonData && options.jsonData.pgssServers;
    const unused = unusedServerSecrets(options);
    return h(
      'div',
      { 'data-testid': 'pgscope-pg-servers' },
      h('h4', null, 'More than one server'),
      h('p', { style: { fontSize: 12 } }, 'Each names the statements whose series carry its instance or cluster label value; the connection above names the rest.'),
      raw != null && !Array.isArray(raw) ? h('div', { role: 'alert' }, 'pgssServers is not a list: adding a server replaces it.') : null,
      problems.list ? h('div', { role: 'alert' }, problems.list) : null,
      entries.map((_, index) => h(ServerRow, { key: index, options, onOptionsChange, entries, index, problems: problems.rows[index] })),
      h(grafanaUi.Button, {
        variant: 'secondary',
        icon: 'plus',
        onClick: () => onOptionsChange(withServers(options, [...entries, { name: '', instance: '', connection: '' }])),
      }, 'Add server'),
      unused.length
        ? h(
            'div',
            { 'data-testid': 'pgscope-pg-unused-secrets', style: { marginTop: 8 } },
            h('div', null, 'Secure settings of servers no longer listed (a renamed server cannot take its stored secrets along):'),
            unused.map((key) =>
              h('div', { key }, h('code', null, key), ' ', h(grafanaUi.Button, { variant: 'secondary', size: 'sm', onClick: () => onOptionsChange(resetSecrets(options, [key])) }, 'Remove')),
            ),
          )
        : null,
    );
  }

  return function ConfigEditor(props) {
    const { options, onOptionsChange } = props;
    const jsonData = options.jsonData || {};
    const updateJson = (patch) => onOptionsChange(Object.assign({}, options, { jsonData: Object.assign({}, jsonData, patch) }));
    const setJson = (key) => (event) => updateJson({ [key]: event.currentTarget.value });
    const choiceSetting = (label, key, choices, tooltip) =>
      h(
        grafanaUi.InlineField,
        { label, labelWidth: 20, tooltip },
        h(grafanaUi.Select, {
          width: 20,
          options: choices.map((value) => ({ label: value, value })),
          value: jsonData[key] || choices[0],
          onChange: (choice) => updateJson({ [key]: choice.value }),
        }),
      );
    const textSetting = (label, key, placeholder, tooltip, width = 20) =>
      h(
        grafanaUi.InlineField,
        { label, labelWidth: 20, tooltip },
        h(grafanaUi.Input, { width, placeholder, value: text(jsonData[key]), onChange: setJson(key) }),
      );
    const secret = (fields) => secretField(options, onOptionsChange, fields);
    return h(
      'div',
      { 'data-testid': 'pgscope-config-editor' },
      h(grafanaUi.DataSourceHttpSettings, {
        defaultUrl: 'http://localhost:8428',
        dataSourceConfig: options,
        onChange: onOptionsChange,
        showAccessOptions: false,
      }),
      h('h3', { className: 'page-heading' }, 'Prometheus API'),
      textSetting('Scrape interval', 'timeInterval', '15s', 'How often your TSDB scrapes; the smallest useful step. Default 15s.'),
      textSetting('Query timeout', 'queryTimeout', '60s', 'How long one request to the TSDB may take. Default 60s.'),
      choiceSetting('HTTP method', 'httpMethod', ['POST', 'GET'], 'POST allows longer queries; GET works behind read-only proxies.'),
      secret({ label: 'Bearer token', key: 'bearerToken', tooltip: 'Sent as Authorization: Bearer <token>; kept in secureJsonData.' }),
      h('h3', { className: 'page-heading' }, 'Stack health'),
      textSetting('Required jobs', 'requiredJobs', 'postgres, query-info', 'Scrape jobs that must exist, comma-separated: Save & test and the stack-health view report a missing one as failing.', 40),
      textSetting('Sample collapse %', 'sampleCollapsePercent', '50', 'A scrape that returns less than this share of its own recent maximum of samples is reported as collapsed. Default 50.'),
      textSetting('Check window', 'stackWindow', '1h', 'How far back the stack checks look (recent maximum, churn, timeline changes). Default 1h.'),
      h('h3', { className: 'page-heading' }, 'pg_stat_statements'),
      choiceSetting('pgss schema', 'pgssSchema', ['auto', 'postgres_exporter', 'pgwatch', 'postgres_ai'], 'Which exporter\'s metric names hold pgss data. auto: detected from the names in the TSDB (Save & test says which).'),
      secret({ label: 'Names from PostgreSQL', key: 'pgssConnection', tooltip: CONNECTION_TOOLTIP, placeholder: 'host=db port=5432 user=pgscope_reader dbname=postgres sslmode=verify-full' }),
      PG_TLS_SECRETS.map((s) => secret({ key: s.key, label: s.label, tooltip: `${s.tooltip} For the connection above and every server below without TLS of its own. Kept in secureJsonData as ${s.key}.`, placeholder: s.placeholder, multiline: true })),
      h(PgServers, { options, onOptionsChange }),
      h('h3', { className: 'page-heading' }, 'Fallback for info joins'),
      choiceSetting('Fallback', 'fallbackMode', ['auto', 'off'], 'auto: joins with an info metric get an `or` fallback, so panels keep their data when the info exporter is down.'),
      textSetting('Info metrics', 'infoMetrics', 'my_query_names', 'Besides names ending in _info, pg_stat_statements_query_id and pgwatch_query_info: more info metric names, comma-separated.', 40),
      textSetting('Sticky names', 'stickyNamesWindow', 'off', 'Join against last_over_time(info[window]) so names survive short exporter outages, e.g. 1h. Empty: off.'),
      h(
        grafanaUi.InlineField,
        { label: 'Division by info', labelWidth: 20, tooltip: 'Also rewrite `A / on(...) group_left(...) info`.' },
        h(grafanaUi.InlineSwitch, {
          value: !!jsonData.fallbackDivision,
          onChange: (event) => updateJson({ fallbackDivision: event.currentTarget.checked }),
        }),
      ),
    );
  };
}
