// Role cards in the browser: memories and a relation in, a generation with
// progress to 100, the card shown and exported; a connection cut mid-stream
// is resumed without duplicated text; the seed's own EventSource client
// works unchanged.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startServer, startProxy, launchBrowser, openPage, openSignedIn, register, screenshot, appReady } from './harness.mjs';

let server;
let browser;
let proxy;

before(async () => {
  server = await startServer(['--chunk-delay-ms', '80']);
  proxy = await startProxy(server.baseURL);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  proxy?.close();
  await server?.stop();
});

async function studio(baseURL, token) {
  const opened = await openSignedIn(browser, baseURL, token, { acceptDownloads: true });
  await opened.page.goto('/rolecard');
  await appReady(opened.page);
  return opened;
}

async function addMemories(page, memories) {
  for (const m of memories) {
    await page.getByLabel('A memory about them').fill(m);
    await page.getByRole('button', { name: 'Add memory' }).click();
    await page.getByRole('list', { name: 'Your memories' }).getByText(m).waitFor();
  }
}

const MEMORIES = [
  'Grandma Rosa baked bread every Sunday for the whole family.',
  'She taught me to play piano and always said practice makes progress.',
  'Rosa and my brother Tom used to race to the bakery every morning!',
];

test('add memories, generate with progress to 100, see and export the card', async () => {
  const token = await register(server.baseURL, 'rc_browser');
  const { page, context, errors } = await studio(server.baseURL, token);
  await addMemories(page, MEMORIES);
  await page.getByLabel('Name', { exact: true }).fill('Tom');
  await page.getByLabel('Relationship').fill('grandson');
  await page.getByRole('button', { name: 'Add person' }).click();
  await page.getByRole('list', { name: 'People' }).getByText('Tom').waitFor();

  await page.getByRole('button', { name: 'Generate role card' }).click();
  await page.getByTestId('stream-text').filter({ hasText: 'Core layer' }).waitFor();
  await page.getByTestId('stage').filter({ hasText: /^100%/ }).waitFor({ timeout: 60_000 });
  assert.equal(await page.getByTestId('progress').evaluate((p) => p.value), 100);
  const card = page.getByTestId('rolecard');
  await card.getByText('Someone who is').waitFor();
  await card.getByRole('tab', { name: 'Tom' }).click();
  await card.getByRole('tabpanel').getByText('bakery').waitFor();
  await screenshot(page, 'rolecard');

  const download = page.waitForEvent('download');
  await card.getByRole('link', { name: 'Export V2' }).click();
  const file = await (await download).path();
  const exported = JSON.parse(readFileSync(file, 'utf8'));
  assert.equal(exported.spec, 'chara_card_v2');
  assert.match(exported.data.description, /Someone who is/);
  assert.deepEqual(errors, []);
  await context.close();
});

test('a connection cut mid-stream is resumed without duplicated text', async () => {
  const token = await register(server.baseURL, 'rc_cut');
  const { page, context, errors } = await studio(proxy.baseURL, token);
  await addMemories(page, MEMORIES);
  await page.getByRole('button', { name: 'Generate role card' }).click();
  await page.getByTestId('stream-text').filter({ hasText: 'Core layer' }).waitFor();
  proxy.cut();
  await page.getByTestId('stage').filter({ hasText: /^100%/ }).waitFor({ timeout: 60_000 });
  const shown = await page.getByTestId('stream-text').innerText();

  // What the server streamed, replayed in full from its log.
  const streams = await page.evaluate(() =>
    performance.getEntriesByType('resource').map((e) => e.name).filter((n) => n.includes('/api/streams/')),
  );
  assert.ok(streams.length >= 1, 'the app re-attached through /api/streams/{id}');
  const id = new URL(streams[0]).pathname.split('/')[3];
  const replay = await fetch(`${server.baseURL}/api/streams/${id}?after=0`, {
    headers: { authorization: `Bearer ${token}` },
  });
  const text = (await replay.text())
    .split('\n')
    .filter((l) => l.startsWith('data: '))
    .map((l) => JSON.parse(l.slice(6)))
    .filter((e) => e.type === 'data')
    .map((e) => e.content)
    .join('');
  assert.equal(shown.trim(), text.trim(), 'every piece exactly once');
  // Network errors from the cut itself are expected; nothing else.
  assert.deepEqual(errors.filter((e) => !/ERR_|network|Failed to fetch|terminated/i.test(e)), []);
  await context.close();
});

test("the seed's RoleCardStreamClient works unchanged with EventSource and ?token=", async () => {
  const token = await register(server.baseURL, 'rc_eventsource');
  for (const m of MEMORIES) {
    await fetch(`${server.baseURL}/api/memories`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ content: m }),
    });
  }
  const { page, context } = await openPage(browser, server.baseURL);
  await page.goto('/');
  const result = await page.evaluate(async (t) => {
    // The role-card protocol's client, with its TypeScript types removed.
    class RoleCardStreamClient {
      constructor(token) { this.eventSource = null; this.token = token; }
      async generateRoleCard(options, callbacks) {
        return new Promise((resolve, reject) => {
          const url = `/api/rolecard/generate/stream?token=${encodeURIComponent(this.token)}`;
          this.eventSource = new EventSource(url);
          this.eventSource.onmessage = (event) => {
            const data = JSON.parse(event.data);
            switch (data.type) {
              case 'progress': callbacks.onProgress?.(data); break;
              case 'complete': callbacks.onComplete?.(data.result); this.close(); resolve(); break;
              case 'error': callbacks.onError?.(data); this.close(); reject(new Error(data.error)); break;
            }
          };
          this.eventSource.onerror = (error) => {
            callbacks.onError?.({ error: 'Connection error' });
            this.close();
            reject(error);
          };
        });
      }
      close() { this.eventSource?.close(); this.eventSource = null; }
    }
    const seen = [];
    let card = null;
    const client = new RoleCardStreamClient(t);
    await client.generateRoleCard({ includeCore: true, includeRelations: true }, {
      onProgress: (p) => seen.push(p.progress),
      onComplete: (r) => { card = r.rolecard; },
    });
    return { seen, card };
  }, token);
  assert.equal(result.seen.at(-1), 100);
  assert.ok(result.card.coreLayer.identitySummary.startsWith('Someone'));
  await context.close();
});

test('Generate waits for a memory, and memories keep their order after a reload', async () => {
  const token = await register(server.baseURL, 'rc_order');
  const { page, context, errors } = await studio(server.baseURL, token);
  const generate = page.getByRole('button', { name: 'Generate role card' });
  await generate.waitFor();
  assert.equal(await generate.isDisabled(), true, 'nothing to generate from yet');
  assert.doesNotMatch(await page.getByTestId('stage').innerText(), /%/);

  const list = page.getByRole('list', { name: 'Your memories' });
  const added = ['one: the first', 'two: the second', 'three: the third', 'four: the fourth', 'five: the fifth'];
  await addMemories(page, added);
  assert.equal(await generate.isDisabled(), false);
  assert.deepEqual((await list.getByRole('listitem').allInnerTexts()).map((t) => t.replace('✕', '').trim()), added);
  await page.reload();
  await appReady(page);
  await list.getByText(added[4]).waitFor();
  assert.deepEqual((await list.getByRole('listitem').allInnerTexts()).map((t) => t.replace('✕', '').trim()), added);
  assert.deepEqual(errors, []);
  await context.close();
});

test('a character card starts the memories; the card is named and edited before export', async () => {
  const token = await register(server.baseURL, 'rc_import');
  const { page, context, errors } = await studio(server.baseURL, token);
  const card = {
    spec: 'chara_card_v2',
    spec_version: '2.0',
    data: { name: 'Rosa', description: 'Rosa bakes bread every Sunday.\n\nShe hums while she works.', personality: 'Patient and warm.', scenario: '', first_mes: 'Hello!', mes_example: '' },
  };
  await page.getByLabel('Start from a character card (V2 or V3 JSON)').setInputFiles({
    name: 'rosa.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(card)),
  });
  const list = page.getByRole('list', { name: 'Your memories' });
  await list.getByText('Patient and warm.').waitFor();
  assert.equal(await list.getByRole('listitem').count(), 3);
  assert.equal(await page.getByLabel('Their name').inputValue(), 'Rosa');

  await page.getByRole('button', { name: 'Generate role card' }).click();
  await page.getByTestId('stage').filter({ hasText: /^100%/ }).waitFor({ timeout: 60_000 });
  const rolecard = page.getByTestId('rolecard');
  let download = page.waitForEvent('download');
  await rolecard.getByRole('link', { name: 'Export V2' }).click();
  const named = JSON.parse(readFileSync(await (await download).path(), 'utf8'));
  assert.equal(named.data.name, 'Rosa');

  await rolecard.getByRole('button', { name: 'Edit before export' }).click();
  await rolecard.getByLabel('Description').fill('Edited before export.');
  download = page.waitForEvent('download');
  await rolecard.getByRole('button', { name: 'Download V3' }).click();
  const edited = JSON.parse(readFileSync(await (await download).path(), 'utf8'));
  assert.equal(edited.spec, 'chara_card_v3');
  assert.equal(edited.data.description, 'Edited before export.');
  assert.equal(edited.data.name, 'Rosa');
  assert.deepEqual(errors, []);
  await context.close();
});
