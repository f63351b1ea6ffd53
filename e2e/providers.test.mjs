// Real providers in the browser: the model and settings picker (chat and
// personas) lists what the operator allows (`GET /api/models`) and the
// choice reaches the provider; a reply cut by the provider shows as
// "Failed" with what arrived and a Retry button, also one that failed
// before any text, and after a reload too. The provider is a scripted
// OpenAI-compatible server in this file.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { startServer, launchBrowser, openPage, screenshot, appReady } from './harness.mjs';

/** Every request the provider saw (parsed bodies), in order. */
const seen = [];
let provider;
let server;
let browser;

const chunk = (content) =>
  `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content }, finish_reason: null }] })}\n\n`;

/**
 * The default model `cutter` answers by turn: the 1st reply is cut without
 * `[DONE]`, the 2nd whole, the 3rd fails with 500 (twice: the server retries
 * once), then whole again. Other models always answer whole.
 */
let cutterCalls = 0;
function scriptedProvider() {
  const srv = createServer((req, res) => {
    let raw = '';
    req.on('data', (d) => (raw += d));
    req.on('end', () => {
      const body = JSON.parse(raw || '{}');
      seen.push(body);
      const whole = () => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.end(chunk('A whole ') + chunk('answer.') + 'data: [DONE]\n\n');
      };
      if (body.model !== 'cutter') return whole();
      cutterCalls += 1;
      if (cutterCalls === 1) {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.end(chunk('Half a ') + chunk('thought'));
      } else if (cutterCalls === 3 || cutterCalls === 4) {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end('{"error":{"message":"internal upstream detail"}}');
      } else {
        whole();
      }
    });
  });
  return new Promise((r) => srv.listen(0, '127.0.0.1', () => r(srv)));
}

before(async () => {
  provider = await scriptedProvider();
  server = await startServer([
    '--llm', 'openai',
    '--openai-base-url', `http://127.0.0.1:${provider.address().port}/v1`,
    '--model', 'cutter',
    '--allowed-models', 'fine-pro',
    '--model-price', 'fine-pro=3',
    '--chunk-delay-ms', '0',
  ]);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  provider?.close();
});

const composer = (page) => page.locator('#chat-text');
const replies = (page) => page.getByTestId('chat-reply');
const sendButton = (page) => page.getByRole('button', { name: 'Send', exact: true });

test('a reply cut by the provider shows as failed with Retry, also one that failed before any text', async () => {
  const { page, context, errors } = await openPage(browser, server.baseURL);
  await page.goto('/chat');
  await appReady(page);

  // Cut without `[DONE]`: what arrived stays, marked Failed.
  await composer(page).fill('Think about it');
  await composer(page).press('Enter');
  const first = replies(page).first();
  const status = first.getByTestId('reply-status');
  await status.waitFor();
  assert.equal(await status.getAttribute('data-status'), 'failed');
  assert.match(await first.innerText(), /Half a thought/);
  assert.match(await status.innerText(), /Failed/);
  assert.doesNotMatch(await page.locator('main').innerText(), /internal upstream detail/);
  assert.equal(await first.getByRole('button', { name: 'Previous version' }).count(), 0, 'one version');
  await screenshot(page, 'providers-failed-reply');

  // Retry writes it again; the failed version stays one step back.
  await status.getByRole('button', { name: 'Retry' }).click();
  await first.filter({ hasText: 'A whole answer.' }).waitFor();
  assert.equal(await first.getByTestId('reply-status').count(), 0);
  await first.getByText('2 / 2').waitFor();
  await sendButton(page).waitFor();

  // Failed before any text (the provider answers 500): still a reply to retry.
  await composer(page).fill('And again');
  await composer(page).press('Enter');
  const second = replies(page).nth(1);
  await second.getByTestId('reply-status').waitFor();
  assert.equal(await second.getByTestId('reply-status').getAttribute('data-status'), 'failed');

  // After a reload the chat still says so (the status is saved).
  await page.reload();
  await appReady(page);
  const reloaded = replies(page).nth(1);
  await reloaded.getByTestId('reply-status').waitFor();
  assert.equal(await replies(page).first().getByTestId('reply-status').count(), 0);
  await reloaded.getByTestId('reply-status').getByRole('button', { name: 'Retry' }).click();
  await reloaded.filter({ hasText: 'A whole answer.' }).waitFor();
  await page.getByTestId('chat-reply').nth(1).getByTestId('reply-status').waitFor({ state: 'detached' });
  // A failed reply does not use up a free reply: two were written whole.
  await page.getByTestId('chat-usage').filter({ hasText: '8 of 10 free replies left' }).waitFor();
  assert.deepEqual(errors, []);
  await context.close();
});

test('the model picker lists the allowed models and the choice reaches the provider', async () => {
  const { page, context, errors } = await openPage(browser, server.baseURL);
  await page.goto('/chat');
  await appReady(page);
  const settings = page.getByTestId('model-settings');
  await settings.locator('summary').click();
  const select = settings.getByTestId('model-select');
  await select.locator('option', { hasText: 'fine-pro' }).waitFor({ state: 'attached' });
  const options = await select.locator('option').allInnerTexts();
  assert.deepEqual(options, ['cutter (default)', 'fine-pro · 3× credits']);
  await select.selectOption('fine-pro');
  await settings.getByTestId('model-temperature').fill('1.2');
  await settings.getByTestId('model-temperature').dispatchEvent('change');
  await settings.getByTestId('model-max-tokens').fill('300');
  await settings.getByTestId('model-max-tokens').dispatchEvent('change');
  await settings.locator('summary').filter({ hasText: 'fine-pro · temperature 1.2 · up to 300 tokens' }).waitFor();
  const before = seen.length;
  await composer(page).fill('Use the better model');
  await composer(page).press('Enter');
  await replies(page).first().filter({ hasText: 'A whole answer.' }).waitFor();
  const asked = seen.slice(before).find((b) => b.model === 'fine-pro');
  assert.ok(asked, JSON.stringify(seen.slice(before)));
  assert.equal(asked.temperature, 1.2);
  assert.equal(asked.max_tokens, 300);

  // The personas page has the same picker.
  await page.goto('/personas');
  await appReady(page);
  const p = page.getByTestId('model-settings');
  await p.locator('summary').click();
  await p.getByTestId('model-select').locator('option', { hasText: 'fine-pro' }).waitFor({ state: 'attached' });
  await p.getByTestId('model-select').selectOption('fine-pro');
  await page.getByRole('button', { name: 'One persona' }).click();
  const n = seen.length;
  await page.locator('#composer-text').fill('Hello there');
  await page.locator('#composer-text').press('Enter');
  for (let i = 0; i < 100 && !seen.slice(n).some((b) => b.model === 'fine-pro'); i++) {
    await page.waitForTimeout(100);
  }
  assert.ok(seen.slice(n).some((b) => b.model === 'fine-pro'), 'the persona reply asked the picked model');
  await screenshot(page, 'providers-model-picker');
  assert.deepEqual(errors, []);
  await context.close();
});
