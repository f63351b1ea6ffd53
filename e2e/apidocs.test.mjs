// The API documents, checked by validators nobody here wrote: the OpenAPI
// 3.1 document by @apidevtools/swagger-parser, the AsyncAPI 3 document by
// @asyncapi/parser, and every example message of the protocols (the
// fixtures in shared/tests/fixtures/) against its message's schema (ajv).
// (That every route is documented: server/tests/api/apidocs.rs.)

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import SwaggerParser from '@apidevtools/swagger-parser';
import { Parser } from '@asyncapi/parser';
import Ajv from 'ajv';
import { startServer } from './harness.mjs';

let server;
const fetchJson = async (path) => (await fetch(`${server.baseURL}${path}`)).json();

before(async () => {
  server = await startServer();
});

after(async () => {
  await server?.stop();
});

test('the OpenAPI document is valid OpenAPI 3.1', async () => {
  const doc = await fetchJson('/api/openapi.json');
  const api = await SwaggerParser.validate(structuredClone(doc));
  assert.equal(api.openapi, '3.1.0');
  assert.ok(Object.keys(api.paths).length >= 30);
});

test('the AsyncAPI document is valid AsyncAPI 3', async () => {
  const doc = await fetchJson('/api/asyncapi.json');
  const { document, diagnostics } = await new Parser().parse(doc);
  const errors = diagnostics.filter((d) => d.severity === 0);
  assert.deepEqual(errors.map((e) => `${e.path.join('.')}: ${e.message}`), []);
  assert.ok(document, 'parsed');
  assert.equal(document.version(), '3.0.0');
  assert.equal(document.channels().length, 7);
});

// Which channel and direction each fixture's examples belong to.
const WHERE = {
  'personas.json': { client: ['ws', 'client'], server: ['ws', 'server'] },
  'support.json': { client: ['ws', 'client'], server: ['ws', 'server'] },
  'books.json': { client: ['books', 'client'], server: ['books', 'server'] },
  'chat.json': { client: ['chatManage', 'client'], server: ['chatManage', 'server'], event: ['chatReply', 'server'] },
  'rolecard.json': { server: ['rolecard', 'server'] },
};

test("every protocol example validates against its message's schema", async () => {
  const doc = await fetchJson('/api/asyncapi.json');
  const ajv = new Ajv({ strict: false, validateFormats: false, allErrors: true });
  const fixtures = join(import.meta.dirname, '..', 'shared', 'tests', 'fixtures');
  let checked = 0;
  for (const [file, where] of Object.entries(WHERE)) {
    for (const example of JSON.parse(readFileSync(join(fixtures, file), 'utf8')).examples) {
      if (!where[example.from]) continue; // the POST body: the OpenAPI document's
      const message = { ...example.message, ...(example.server_adds ?? {}) };
      const [channel, side] = where[example.from];
      const key = `${channel}_${side}_${message.type}`;
      const schema = doc.components.messages[key]?.payload;
      assert.ok(schema, `${file}: no message ${key} for ${JSON.stringify(message)}`);
      const validate = ajv.compile({ ...schema, components: { schemas: doc.components.schemas } });
      assert.ok(validate(message), `${file} ${key}: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(message)}`);
      checked += 1;
    }
  }
  assert.ok(checked >= 40, `only ${checked} examples checked`);
  // The validation is not vacuous: a wrong type is refused.
  const delta = doc.components.messages.chatReply_server_assistant_delta.payload;
  const validate = ajv.compile({ ...delta, components: { schemas: doc.components.schemas } });
  assert.equal(validate({ type: 'assistant_delta', delta: 42 }), false);
});

test("the README's Node client streams a reply and a panel", async () => {
  const root = join(import.meta.dirname, '..');
  const code = readFileSync(join(root, 'examples', 'client.mjs'), 'utf8');
  assert.ok(readFileSync(join(root, 'README.md'), 'utf8').includes(code.trim()), 'README shows examples/client.mjs as it is');
  const { execFile } = await import('node:child_process');
  const out = await new Promise((resolve, reject) =>
    execFile('node', [join(root, 'examples', 'client.mjs'), server.baseURL], { timeout: 60_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${err.message}\n${stdout}\n${stderr}`)) : resolve(stdout)));
  const lines = out.trim().split('\n');
  assert.equal(lines.length, 3, out);
  assert.ok(lines[0].length > 10, out);
  // The two personas answer at once: either may finish first.
  const panel = lines.slice(1).sort();
  assert.match(panel[0], /^chef: .{10,}/);
  assert.match(panel[1], /^historian: .{10,}/);
});
