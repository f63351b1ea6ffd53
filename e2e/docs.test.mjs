// The /docs page: the API reference rendered from the server's OpenAPI and
// AsyncAPI documents, with nothing loaded from another site, and its
// renderer loaded by that page only.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, openPage, screenshot, appReady } from './harness.mjs';

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('the API reference renders both documents from this server alone', async () => {
  const { page, context, errors } = await openPage(browser, server.baseURL);
  const requests = [];
  page.on('request', (r) => requests.push(r.url()));
  await page.goto('/');
  await appReady(page);
  assert.ok(!requests.some((u) => u.includes('/apidocs/')), 'the renderer is not part of the first load');

  await page.goto('/docs');
  await appReady(page);
  await page.getByRole('heading', { level: 1, name: 'API reference' }).waitFor();
  await page.getByRole('heading', { level: 2, name: 'HTTP routes' }).waitFor();
  await page.getByRole('heading', { level: 3, name: 'GET /api/health' }).waitFor();
  await page.getByRole('heading', { level: 3, name: 'POST /api/v1/messages/send' }).waitFor();
  await page.getByRole('heading', { level: 2, name: 'Sockets and streams' }).waitFor();
  const ws = page.locator('#channel-ws');
  await ws.getByRole('heading', { level: 3, name: /The persona and support protocols/ }).waitFor();
  // A message opens to its schema and the protocol's own example.
  await ws.locator('summary').filter({ hasText: 'multi_chat' }).click();
  await ws.locator('pre').filter({ hasText: '"persona_ids"' }).first().waitFor();
  await page.locator('#schema-ApiError').waitFor();
  await screenshot(page, 'docs');

  // Back again: the element renders anew.
  await page.locator('a.brand').click();
  await page.getByRole('heading', { level: 1, name: 'Home' }).waitFor();
  await page.goBack();
  await page.getByRole('heading', { level: 3, name: 'GET /api/health' }).waitFor();

  const elsewhere = requests.filter((u) => !u.startsWith(server.baseURL));
  assert.deepEqual(elsewhere, []);
  assert.deepEqual(errors, []);
  await context.close();
});
