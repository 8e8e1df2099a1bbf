// The datasource's config editor: names from PostgreSQL over TLS and from several servers
// (docs/configuration.md), secrets by Grafana's secureJsonFields convention. Rendered with a
// stand-in React (elements as plain objects, function components called) and @grafana/ui
// components as their names.
import test from 'node:test';
import assert from 'node:assert/strict';

import {
  CONNECTION_TOOLTIP, MAX_SERVERS, createConfigEditor, editServer, holdsPassword, removeServer, serverProblems, serverRow, unusedServerSecrets,
} from '../configEditor.js';

const React = {
  createElement: (type, props, ...children) => ({ type, props: Object.assign({}, props, { children: children.flat(Infinity) }) }),
};
const grafanaUi = new Proxy({}, { get: (_, name) => name });
const ConfigEditor = createConfigEditor(React, grafanaUi);

/** The editor's tree with every function component expanded. */
function render(options) {
  const changes = [];
  const expand = (node) => {
    if (Array.isArray(node)) return node.map(expand);
    if (!node || typeof node !== 'object') return node;
    if (typeof node.type === 'function') return expand(node.type(node.props));
    return { type: node.type, props: Object.assign({}, node.props, { children: node.props.children.map(expand) }) };
  };
  const tree = expand(React.createElement(ConfigEditor, { options, onOptionsChange: (next) => changes.push(next) }));
  return { tree, changes };
}

function findAll(node, predicate, out = []) {
  if (!node || typeof node !== 'object') return out;
  if (predicate(node)) out.push(node);
  for (const child of node.props.children || []) findAll(child, predicate, out);
  return out;
}

/** The input of the secret field `key` (SecretInput or SecretTextArea). */
function secret(tree, key) {
  const fields = findAll(tree, (n) => n.props['data-secret'] === key);
  assert.equal(fields.length, 1, `one field for ${key}`);
  return fields[0].props.children[0];
}

const textOf = (node) => (typeof node === 'string' ? node : !node || typeof node !== 'object' ? '' : (node.props.children || []).map(textOf).join(''));
const byLabel = (tree, label) => findAll(tree, (n) => n.props['aria-label'] === label);
const event = (value) => ({ currentTarget: { value } });

test('the datasource TLS fields are multi-line secrets: configured ones shown as such, never read back, reset clears them', () => {
  const options = {
    jsonData: {},
    secureJsonFields: { pgssTlsCACert: true, pgssConnection: true },
    secureJsonData: { pgssTlsClientCert: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----' },
  };
  const { tree, changes } = render(options);
  const ca = secret(tree, 'pgssTlsCACert');
  assert.deepEqual([ca.type, ca.props.isConfigured, ca.props.value], ['SecretTextArea', true, '']);
  const cert = secret(tree, 'pgssTlsClientCert');
  assert.deepEqual([cert.type, cert.props.isConfigured, cert.props.value], ['SecretTextArea', false, options.secureJsonData.pgssTlsClientCert], 'what was typed before Save');
  assert.equal(secret(tree, 'pgssTlsClientKey').props.isConfigured, false);
  assert.deepEqual([secret(tree, 'pgssConnection').type, secret(tree, 'pgssConnection').props.value], ['SecretInput', '']);

  ca.props.onReset();
  assert.deepEqual([changes[0].secureJsonFields.pgssTlsCACert, changes[0].secureJsonData.pgssTlsCACert], [false, '']);
  assert.equal(changes[0].secureJsonFields.pgssConnection, true, 'other secrets kept');
  secret(tree, 'pgssTlsClientKey').props.onChange(event('-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----'));
  assert.equal(changes[1].secureJsonData.pgssTlsClientKey, '-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----');
  assert.equal(changes[1].secureJsonData.pgssTlsClientCert, options.secureJsonData.pgssTlsClientCert);
  assert.deepEqual(options.secureJsonFields, { pgssTlsCACert: true, pgssConnection: true }, 'the options given are not changed in place');
});

test('the connection tooltip names every sslmode and the TLS fields', () => {
  for (const word of ['sslmode', 'disable', 'prefer', 'require', 'verify-ca', 'verify-full', 'CA certificate', 'client certificate']) {
    assert.ok(CONNECTION_TOOLTIP.includes(word), word);
  }
  const { tree } = render({ jsonData: {} });
  assert.equal(findAll(tree, (n) => n.props['data-secret'] === 'pgssConnection')[0].props.tooltip, CONNECTION_TOOLTIP);
});

test('servers: a row each with name, label, value and connection; edits write only what the backend reads', () => {
  const servers = [
    { name: 'db1', instance: 'db1:9187', connection: 'host=db1.internal user=r dbname=postgres sslmode=verify-full' },
    { name: 'eu', cluster: 'eu-main', connection: 'host=eu.internal user=r' },
  ];
  const options = { jsonData: { timeInterval: '15s', pgssServers: servers }, secureJsonFields: { 'pgssPassword.db1': true, 'pgssTlsCACert.eu': true } };
  const { tree, changes } = render(options);
  assert.equal(findAll(tree, (n) => n.props['data-testid'] === 'pgscope-pg-server').length, 2);
  assert.deepEqual(byLabel(tree, 'Server name').map((n) => n.props.value), ['db1', 'eu']);
  assert.deepEqual(byLabel(tree, 'Server label').map((n) => n.props.value), ['instance', 'cluster']);
  assert.deepEqual(byLabel(tree, 'Server label value').map((n) => n.props.value), ['db1:9187', 'eu-main']);
  assert.deepEqual(byLabel(tree, 'Server connection').map((n) => n.props.value), servers.map((s) => s.connection));

  // Each server's secrets under its name; its own TLS folded away unless set.
  assert.deepEqual([secret(tree, 'pgssPassword.db1').type, secret(tree, 'pgssPassword.db1').props.isConfigured, secret(tree, 'pgssPassword.db1').props.value], ['SecretInput', true, '']);
  assert.equal(secret(tree, 'pgssPassword.eu').props.isConfigured, false);
  assert.deepEqual(['pgssTlsCACert.eu', 'pgssTlsClientCert.eu', 'pgssTlsClientKey.eu'].map((k) => secret(tree, k).type), ['SecretTextArea', 'SecretTextArea', 'SecretTextArea']);
  assert.deepEqual(findAll(tree, (n) => n.type === 'details').map((n) => n.props.open), [false, true]);

  byLabel(tree, 'Server label')[0].props.onChange({ value: 'cluster' });
  assert.deepEqual(changes[0].jsonData.pgssServers[0], { name: 'db1', cluster: 'db1:9187', connection: servers[0].connection }, 'instance gone: the backend takes exactly one');
  assert.equal(changes[0].jsonData.pgssServers[1], servers[1], 'the other rows as they were');
  assert.equal(changes[0].jsonData.timeInterval, '15s');
  byLabel(tree, 'Server label value')[1].props.onChange(event('eu-west'));
  assert.deepEqual(changes[1].jsonData.pgssServers[1], { name: 'eu', cluster: 'eu-west', connection: servers[1].connection });
  byLabel(tree, 'Server connection')[0].props.onChange(event('host=other user=r'));
  assert.equal(changes[2].jsonData.pgssServers[0].connection, 'host=other user=r');
  secret(tree, 'pgssPassword.eu').props.onChange(event('s3cret'));
  assert.equal(changes[3].secureJsonData['pgssPassword.eu'], 's3cret');
  assert.equal(changes[3].jsonData.pgssServers, servers, 'a password never goes to jsonData');

  const add = findAll(tree, (n) => n.type === 'Button' && textOf(n) === 'Add server')[0];
  add.props.onClick();
  assert.deepEqual(changes[4].jsonData.pgssServers, [...servers, { name: '', instance: '', connection: '' }]);
  const empty = render({ jsonData: {} });
  assert.equal(findAll(empty.tree, (n) => n.props['data-testid'] === 'pgscope-pg-server').length, 0);
  findAll(empty.tree, (n) => n.type === 'Button' && textOf(n) === 'Add server')[0].props.onClick();
  assert.deepEqual(empty.changes[0].jsonData.pgssServers, [{ name: '', instance: '', connection: '' }]);
});

test('removing a server resets its secrets; a renamed one leaves them listed for removal', () => {
  const servers = [
    { name: 'db1', instance: 'a:1', connection: 'host=a user=r' },
    { name: 'db2', instance: 'b:1', connection: 'host=b user=r' },
  ];
  const options = {
    jsonData: { pgssServers: servers },
    secureJsonFields: { 'pgssPassword.db1': true, 'pgssTlsCACert.db1': true, 'pgssPassword.db2': true, pgssTlsCACert: true },
    secureJsonData: { 'pgssTlsClientKey.db1': 'typed' },
  };
  const { tree, changes } = render(options);
  const remove = byLabel(tree, 'Remove server db1')[0];
  remove.props.onClick();
  const [removed] = changes;
  assert.deepEqual(removed.jsonData.pgssServers, [servers[1]]);
  assert.deepEqual(
    ['pgssPassword.db1', 'pgssTlsCACert.db1', 'pgssTlsClientKey.db1'].map((k) => [removed.secureJsonFields[k], removed.secureJsonData[k]]),
    [[false, ''], [false, ''], [false, '']],
  );
  assert.deepEqual([removed.secureJsonFields['pgssPassword.db2'], removed.secureJsonFields.pgssTlsCACert], [true, true], 'the others kept');
  assert.ok(!('pgssTlsClientCert.db1' in removed.secureJsonData), 'nothing written for a secret never set');
  assert.deepEqual(unusedServerSecrets(removed), []);

  // A duplicate name: the secrets are the other row's too, so they stay.
  const twin = removeServer({ jsonData: { pgssServers: [servers[0], servers[0]] }, secureJsonFields: { 'pgssPassword.db1': true } }, 0);
  assert.deepEqual([twin.jsonData.pgssServers.length, twin.secureJsonFields['pgssPassword.db1']], [1, true]);

  // Renamed db1 -> db3: its stored secrets cannot follow; listed with a Remove each.
  byLabel(tree, 'Server name')[0].props.onChange(event('db3'));
  const renamed = changes[1];
  assert.deepEqual(renamed.jsonData.pgssServers[0], { name: 'db3', instance: 'a:1', connection: 'host=a user=r' });
  assert.deepEqual(unusedServerSecrets(renamed), ['pgssPassword.db1', 'pgssTlsCACert.db1', 'pgssTlsClientKey.db1']);
  const after = render(renamed);
  assert.equal(secret(after.tree, 'pgssPassword.db3').props.isConfigured, false);
  const list = findAll(after.tree, (n) => n.props['data-testid'] === 'pgscope-pg-unused-secrets')[0];
  assert.ok(!textOf(list).includes('typed'), 'keys listed, never values');
  findAll(list, (n) => n.type === 'Button')[0].props.onClick();
  assert.deepEqual(unusedServerSecrets(after.changes[0]), ['pgssTlsCACert.db1', 'pgssTlsClientKey.db1']);
  assert.equal(findAll(render(options).tree, (n) => n.props['data-testid'] === 'pgscope-pg-unused-secrets').length, 0, 'none while every name is listed');
});

test('server problems are said in the row before Save & test', () => {
  const rows = serverProblems([
    { name: 'db 1', instance: 'x:1', connection: 'host=x user=r' },
    { name: 'ok', instance: 'x:1', connection: 'host=y user=r password=pw' },
    { name: 'ok', cluster: '', connection: '' },
    { name: 'a'.repeat(64), instance: 'z', cluster: 'c', connection: 'postgresql://r:pw@z/db', instace: 'typo' },
    { name: 'b', instance: 'y', connection: 'postgresql://r@z/db?sslmode=require', instace: 'typo' },
    { name: 'Db_2-x', cluster: 'x:1', connection: 'host=z user=r' },
  ]).rows;
  assert.match(rows[0].name, /1 to 63 letters/);
  assert.equal(rows[0].value, undefined);
  assert.match(rows[1].value, /instance x:1 is already db 1's/);
  assert.match(rows[1].connection, /no password here/);
  assert.deepEqual([rows[2].name, rows[2].value, rows[2].connection].map((p) => typeof p), ['string', 'string', 'string']);
  assert.match(rows[2].name, /another server/);
  assert.match(rows[3].name, /1 to 63/);
  assert.match(rows[3].other, /both instance and cluster/);
  assert.match(rows[3].connection, /no password/);
  assert.match(rows[4].other, /unknown field instace/);
  assert.equal(rows[4].connection, undefined);
  assert.deepEqual(rows[5], {}, 'a cluster value may equal an instance value');
  assert.match(serverProblems(Array.from({ length: MAX_SERVERS + 1 }, (_, i) => ({ name: `s${i}`, instance: `${i}`, connection: 'host=x user=r' }))).list, /at most 200/);
  assert.equal(serverProblems([]).list, undefined);
  for (const [connection, held] of [['password=x', true], ['host=a  PASSWORD = x', true], ['postgres://u:p@h/d', true], ['host=a user=password', false], ['postgresql://u@h/d?password=x', true], ['postgresql://u@h:5432/d', false]]) {
    assert.equal(holdsPassword(connection), held, connection);
  }

  // The invalid row shows its problems and no secret fields (no key to keep them under).
  const { tree } = render({ jsonData: { pgssServers: [{ name: 'db 1', instance: 'x', connection: 'host=x user=r' }] } });
  assert.equal(findAll(tree, (n) => n.props.label === 'Name')[0].props.invalid, true);
  assert.equal(findAll(tree, (n) => String(n.props['data-secret']).startsWith('pgssPassword.')).length, 0);
  // Unknown keys are kept when the row is edited; both labels become the one shown.
  assert.deepEqual(editServer({ name: 'a', instance: 'i', cluster: 'c', connection: 'x', extra: 1 }, { value: 'j' }), { name: 'a', instance: 'j', connection: 'x', extra: 1 });
});

test('odd settings render without throwing', () => {
  for (const pgssServers of ['x', 5, null, { name: 'a' }, [null, 5, 'x', [], { name: 7, instance: { a: 1 }, connection: null }]]) {
    const { tree } = render({ jsonData: { pgssServers }, secureJsonFields: null, secureJsonData: undefined });
    assert.ok(findAll(tree, (n) => n.props['data-testid'] === 'pgscope-pg-servers').length === 1, JSON.stringify(pgssServers));
  }
  assert.match(textOf(render({ jsonData: { pgssServers: { name: 'a' } } }).tree), /pgssServers is not a list/);
  assert.deepEqual(serverRow({ name: 7, instance: { a: 1 } }), { name: '7', label: 'instance', value: '{"a":1}', connection: '' });
  assert.ok(render({}).tree, 'no jsonData at all');
  assert.deepEqual(unusedServerSecrets({ secureJsonFields: { 'pgssPassword.x': false, 'other.x': true, pgssPassword: true } }), []);
});
