// The independent Arrow check (issue 18 item 7): data frames the plugin sent, decoded by the
// `apache-arrow` npm package (not our Rust code) and held to the rules of grafana-plugin-sdk-go's
// reader (data/arrow.go UnmarshalArrowFrame, data/frame_meta.go, data/field_config.go), which is
// what Grafana runs on every frame a backend plugin returns:
//   - the IPC *file* format (ipc.NewFileReader): "ARROW1" magic at both ends;
//   - schema metadata `name`, `refId`, and `meta` as JSON that unmarshals into FrameMeta
//     (typed members: type, typeVersion [2]uint, notices with severity info|warning|error, ...);
//   - field metadata `name`, `labels` (a JSON object of strings), `config` (JSON that
//     unmarshals into FieldConfig);
//   - only the column types it converts: Int8-64, Uint8-64, Float32/64, Utf8, Bool, Timestamp,
//     Binary; nulls only in nullable columns (it reads a null of a non-nullable column as 0);
//   - timestamps read as nanoseconds whatever the unit says (time.Unix(0, v)).
//
// Usage: node frontend/js/test/arrow-check.mjs <dir>, where <dir>/manifest.json lists
// [{shape, refId, files: [...], fromMs, toMs, status, error, errorSource}] and each file is one
// frame's Arrow bytes (backend/tests/arrow_independent.rs writes them from the real plugin).
// Exit 1 when any rule is broken. Run without a directory (as `node --test frontend/js/test/`
// does), it tests itself on frames apache-arrow builds: good ones pass, each kind of bad one fails.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

let arrow;
try {
  arrow = await import('apache-arrow');
} catch (e) {
  console.error(`arrow-check: the apache-arrow npm package is not installed (${e.message}): run \`npm ci\` at the repository root (scripts/setup.sh does)`);
  process.exit(2);
}
const { RecordBatchReader, Type, Precision } = arrow;

const MAGIC = 'ARROW1';
const SEVERITIES = new Set(['info', 'warning', 'error']);
const SCHEMA_KEYS = new Set(['name', 'refId', 'meta']);
const FIELD_KEYS = new Set(['name', 'labels', 'config']);
const DAY_MS = 86_400_000;

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const isUint = (v) => Number.isInteger(v) && v >= 0;

/** Go's json.Unmarshal into a struct: each known member must have its Go type (null leaves it unset). */
function checkMembers(where, value, types, problems) {
  if (!isObject(value)) {
    problems.push(`${where}: not a JSON object: ${JSON.stringify(value)}`);
    return;
  }
  for (const [key, check] of Object.entries(types)) {
    if (key in value && value[key] !== null && !check(value[key])) {
      problems.push(`${where}.${key}: ${JSON.stringify(value[key])} does not unmarshal into the SDK's type`);
    }
  }
}

const str = (v) => typeof v === 'string';
const num = (v) => typeof v === 'number';

function checkMeta(text, problems) {
  let meta;
  try {
    meta = JSON.parse(text);
  } catch (e) {
    problems.push(`schema metadata meta is not JSON: ${e.message}`);
    return null;
  }
  checkMembers('meta', meta, {
    type: str,
    typeVersion: (v) => Array.isArray(v) && v.length === 2 && v.every(isUint),
    path: str,
    pathSeparator: str,
    channel: str,
    preferredVisualisationType: str,
    executedQueryString: str,
    dataTopic: str,
    custom: () => true,
    stats: (v) => Array.isArray(v) && v.every((s) => isObject(s) && (s.value === undefined || s.value === null || num(s.value))),
    notices: Array.isArray,
    uniqueRowIdFields: (v) => Array.isArray(v) && v.every(Number.isInteger),
  }, problems);
  for (const [i, notice] of (Array.isArray(meta?.notices) ? meta.notices : []).entries()) {
    checkMembers(`meta.notices[${i}]`, notice, { text: str, link: str, inspect: Number.isInteger }, problems);
    // NoticeSeverity.UnmarshalJSON accepts exactly these strings (a missing one is info).
    if (isObject(notice) && 'severity' in notice && !SEVERITIES.has(notice.severity)) {
      problems.push(`meta.notices[${i}].severity ${JSON.stringify(notice.severity)} is not info, warning or error`);
    }
  }
  return meta;
}

function checkFieldMetadata(where, arrowField, problems) {
  const md = arrowField.metadata;
  for (const key of md.keys()) {
    if (!FIELD_KEYS.has(key)) problems.push(`${where}: unexpected field metadata key ${key}`);
  }
  if (md.get('name') !== arrowField.name) {
    problems.push(`${where}: field metadata name ${JSON.stringify(md.get('name'))} differs from the Arrow field name ${JSON.stringify(arrowField.name)}`);
  }
  if (md.has('labels')) {
    try {
      const labels = JSON.parse(md.get('labels'));
      if (!isObject(labels) || !Object.values(labels).every(str)) problems.push(`${where}: labels ${md.get('labels')} is not an object of strings`);
    } catch (e) {
      problems.push(`${where}: labels is not JSON: ${e.message}`);
    }
  }
  if (md.has('config')) {
    try {
      checkMembers(`${where}.config`, JSON.parse(md.get('config')), {
        displayName: str,
        displayNameFromDS: str,
        path: str,
        description: str,
        unit: str,
        noValue: str,
        filterable: (v) => typeof v === 'boolean',
        writeable: (v) => typeof v === 'boolean',
        decimals: (v) => isUint(v) && v < 65536,
        min: num,
        max: num,
        interval: num,
        mappings: Array.isArray,
        links: Array.isArray,
        thresholds: isObject,
        color: isObject,
        custom: isObject,
        type: isObject,
      }, problems);
    } catch (e) {
      problems.push(`${where}: config is not JSON: ${e.message}`);
    }
  }
}

/** The Go reader's types (initializeFrameField); a name for the summary, or null. */
function sdkType(type) {
  switch (type.typeId) {
    case Type.Int:
      return [8, 16, 32, 64].includes(type.bitWidth) ? `${type.isSigned ? 'int' : 'uint'}${type.bitWidth}` : null;
    case Type.Float:
      return type.precision === Precision.SINGLE ? 'float32' : type.precision === Precision.DOUBLE ? 'float64' : null;
    case Type.Utf8:
      return 'string';
    case Type.Bool:
      return 'bool';
    case Type.Timestamp:
      return 'time';
    case Type.Binary:
      return 'json';
    default:
      return null;
  }
}

/** A timestamp column's raw int64 values (the unit is ignored by the Go reader). */
function rawTimes(vector) {
  const out = [];
  for (const data of vector.data) {
    const values = data.values;
    for (let i = 0; i < data.length; i++) {
      if (data.nullBitmap && data.nullCount > 0 && !data.getValid(i)) continue;
      if (values instanceof BigInt64Array) out.push(values[data.offset + i]);
      else out.push(BigInt.asIntN(64, (BigInt(values[2 * (data.offset + i) + 1]) << 32n) | BigInt(values[2 * (data.offset + i)] >>> 0)));
    }
  }
  return out;
}

/**
 * Checks one frame's Arrow bytes. `expect`: {refId, fromMs, toMs}. Returns {problems, summary}.
 */
export function checkFrameBytes(bytes, expect = {}) {
  const problems = [];
  const buf = Buffer.from(bytes);
  if (buf.subarray(0, 6).toString('latin1') !== MAGIC || buf.subarray(buf.length - 6).toString('latin1') !== MAGIC) {
    problems.push('not the Arrow IPC file format: no ARROW1 magic at both ends (the SDK reads with ipc.NewFileReader)');
    return { problems, summary: 'unreadable' };
  }
  let reader;
  let schema;
  let batches;
  try {
    reader = RecordBatchReader.from(new Uint8Array(bytes));
    reader.open();
    if (!reader.isFile()) problems.push('apache-arrow does not read it as an IPC file');
    schema = reader.schema;
    batches = [...reader];
  } catch (e) {
    problems.push(`apache-arrow cannot decode it: ${e.message}`);
    return { problems, summary: 'unreadable' };
  }
  for (const key of schema.metadata.keys()) {
    if (!SCHEMA_KEYS.has(key)) problems.push(`unexpected schema metadata key ${key}`);
  }
  for (const key of ['name', 'refId']) {
    if (!schema.metadata.has(key)) problems.push(`schema metadata has no ${key} (the SDK's writer always sets it)`);
  }
  if (expect.refId !== undefined && schema.metadata.get('refId') !== expect.refId) {
    problems.push(`schema metadata refId ${JSON.stringify(schema.metadata.get('refId'))}, the query's is ${JSON.stringify(expect.refId)}`);
  }
  const meta = schema.metadata.has('meta') ? checkMeta(schema.metadata.get('meta'), problems) : null;
  const types = [];
  let rows = 0;
  for (const batch of batches) rows += batch.numRows;
  schema.fields.forEach((field, i) => {
    const where = `field ${i} ${JSON.stringify(field.name)}`;
    checkFieldMetadata(where, field, problems);
    const type = sdkType(field.type);
    if (type === null) {
      problems.push(`${where}: Arrow type ${field.type} is not one the SDK reader converts`);
      return;
    }
    types.push(type);
    for (const batch of batches) {
      const vector = batch.getChildAt(i);
      if (vector.length !== batch.numRows) problems.push(`${where}: ${vector.length} values in a batch of ${batch.numRows} rows`);
      if (vector.nullCount > 0 && !field.nullable) {
        problems.push(`${where}: ${vector.nullCount} nulls in a non-nullable column (the SDK would read them as zero)`);
      }
      if (type === 'time' && expect.fromMs !== undefined) {
        for (const ns of rawTimes(vector)) {
          const ms = Number(ns / 1_000_000n);
          if (ms < expect.fromMs - DAY_MS || ms > expect.toMs + DAY_MS) {
            problems.push(`${where}: time ${ns} read as nanoseconds is ${new Date(ms).toISOString()}, outside the query's range`);
            break;
          }
        }
      }
    }
  });
  const notices = (meta?.notices ?? []).map((n) => n.severity ?? 'info');
  const summary = `${meta?.type ?? 'no type'}${meta?.custom?.pgscope ? ` (${meta.custom.pgscope})` : ''}, ${rows} rows, [${types.join(', ')}]${notices.length ? `, notices ${notices.join('/')}` : ''}`;
  return { problems, summary };
}

/** Checks every frame a manifest lists; prints one line a shape; returns the number of problems. */
export function checkDir(dir) {
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  let broken = 0;
  for (const entry of manifest) {
    const problems = [];
    const summaries = [];
    if (entry.error) {
      if (!['plugin', 'downstream'].includes(entry.errorSource)) problems.push(`error without an errorSource of plugin or downstream: ${JSON.stringify(entry.errorSource)}`);
      if (!(entry.status >= 400)) problems.push(`error with status ${entry.status}`);
    } else if (entry.files.length === 0) {
      problems.push('no frames and no error');
    }
    for (const file of entry.files) {
      const result = checkFrameBytes(readFileSync(join(dir, file)), entry);
      summaries.push(result.summary);
      problems.push(...result.problems.map((p) => `${file}: ${p}`));
    }
    const what = entry.error ? `error (${entry.status}, ${entry.errorSource})` : `${entry.files.length} frames: ${[...new Set(summaries)].join('; ')}`;
    if (problems.length === 0) {
      console.log(`ok ${entry.shape}: ${what}`);
    } else {
      broken += problems.length;
      console.log(`FAIL ${entry.shape}: ${what}`);
      for (const p of problems) console.log(`  ${p}`);
    }
  }
  return broken;
}

const main = process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1];
if (main && process.argv[2]) {
  const broken = checkDir(process.argv[2]);
  if (broken > 0) {
    console.log(`${broken} problems`);
    process.exit(1);
  }
} else if (main) {
  // Under `node --test`: the checker itself, on frames apache-arrow writes.
  const { test } = await import('node:test');
  const assert = await import('node:assert/strict');
  const { Field, Schema, Float64, TimestampNanosecond, LargeUtf8, makeData, RecordBatch, Table, tableToIPC, Struct } = arrow;

  const frame = ({ schemaMeta, fields }) => {
    const arrowFields = fields.map((f) => new Field(f.name, f.type, f.nullable ?? false, new Map(Object.entries(f.metadata ?? { name: f.name }))));
    const schema = new Schema(arrowFields, new Map(Object.entries(schemaMeta)));
    const children = fields.map((f) =>
      makeData({ type: f.type, length: f.length ?? f.values.length, data: f.values, valueOffsets: f.valueOffsets, nullBitmap: f.nullBitmap, nullCount: f.nullCount ?? 0 }),
    );
    const data = makeData({ type: new Struct(arrowFields), length: fields[0]?.values.length ?? 0, children });
    return new Table(schema, [new RecordBatch(schema, data)]);
  };
  const now = 1_700_000_000_000;
  const good = () => ({
    schemaMeta: { name: 'up', refId: 'A', meta: JSON.stringify({ type: 'timeseries-multi', typeVersion: [0, 1], notices: [{ severity: 'warning', text: 'w' }] }) },
    fields: [
      { name: 'Time', type: new TimestampNanosecond(), values: BigInt64Array.from([BigInt(now) * 1_000_000n]) },
      { name: 'Value', type: new Float64(), values: Float64Array.from([1.5]), metadata: { name: 'Value', labels: '{"job":"a"}', config: '{"unit":"s","interval":15000}' } },
    ],
  });
  const expect = { refId: 'A', fromMs: now - 3_600_000, toMs: now };
  const problems = (f, format = 'file') => checkFrameBytes(tableToIPC(frame(f), format), expect).problems;

  test('a frame written like the SDK writes one passes', () => {
    assert.deepEqual(problems(good()), []);
  });
  test('the stream format is refused', () => {
    assert.match(problems(good(), 'stream').join('\n'), /ARROW1/);
  });
  test('schema metadata: refId, unknown keys, meta member types, notice severities', () => {
    const f = good();
    f.schemaMeta.refId = 'B';
    assert.match(problems(f).join('\n'), /refId "B"/);
    const g = good();
    g.schemaMeta.extra = 'x';
    g.schemaMeta.meta = JSON.stringify({ typeVersion: '0.1', notices: [{ severity: 'warn', text: 't' }] });
    const found = problems(g).join('\n');
    assert.match(found, /unexpected schema metadata key extra/);
    assert.match(found, /meta.typeVersion/);
    assert.match(found, /severity "warn"/);
  });
  test('field metadata: name, labels of strings, config member types', () => {
    const f = good();
    f.fields[1].metadata = { name: 'Other', labels: '{"job":1}', config: '{"unit":5}' };
    const found = problems(f).join('\n');
    assert.match(found, /differs from the Arrow field name/);
    assert.match(found, /not an object of strings/);
    assert.match(found, /config.unit/);
  });
  test('types the SDK does not read, nulls in a non-nullable column, times not in nanoseconds', () => {
    const f = good();
    f.fields.push({ name: 'big', type: new LargeUtf8(), length: 1, values: Uint8Array.from([97]), valueOffsets: BigInt64Array.from([0n, 1n]) });
    assert.match(problems(f).join('\n'), /not one the SDK reader converts/);
    const g = good();
    g.fields[1].nullBitmap = Uint8Array.from([0]);
    g.fields[1].nullCount = 1;
    assert.match(problems(g).join('\n'), /non-nullable/);
    g.fields[1].nullable = true;
    assert.deepEqual(problems(g), []);
    const h = good();
    h.fields[0].values = BigInt64Array.from([BigInt(now)]);
    assert.match(problems(h).join('\n'), /outside the query's range/);
  });
  test('a frame without fields (an empty answer) passes', () => {
    assert.deepEqual(problems({ schemaMeta: { name: '', refId: 'A', meta: '{"executedQueryString":"Expr: x"}' }, fields: [] }), []);
  });
}
