// The multi-persona panel in the browser: three personas answer at once,
// one is stopped mid-stream while the others finish; the anonymous meter
// counts the replies down; one-persona and model modes keep a conversation.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, startProxy, launchBrowser, openPage, openSignedIn, register, screenshot, appReady } from './harness.mjs';

let server;
let browser;
let proxy;

before(async () => {
  // The seeds' pacing (0.1 s a chunk), so there is time to stop one.
  server = await startServer(['--chunk-delay-ms', '100']);
  proxy = await startProxy(server.baseURL);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  proxy?.close();
  await server?.stop();
});

const column = (page, id) => page.locator(`article.column[data-persona="${id}"]`);

// Every frame the page's sockets receive, for the diagnosis below.
function recordFrames(page) {
  const frames = [];
  page.on('websocket', (ws) => {
    ws.on('framereceived', ({ payload }) => frames.push(String(payload)));
    ws.on('close', () => frames.push('(socket closed)'));
  });
  return frames;
}

// Waits until every column of the panel has ended. Twice seen in CI (a
// column never showed Done within 30 s) and never here: on a timeout, say
// what each column shows, the end of what the socket received (each
// stream's last event by type) and of the server's log, so the next one
// can be told apart (server, socket or page).
async function columnsEnd(page, server, frames, count) {
  await page
    .waitForFunction(
      (n) => [...document.querySelectorAll('[data-testid="column-status"]')].filter((s) => /Done|Failed|Stopped/.test(s.textContent)).length === n,
      count,
      { timeout: 30_000 },
    )
    .catch(async (e) => {
      const statuses = await page.getByTestId('column-status').allInnerTexts();
      const lengths = (await page.getByTestId('column-text').allInnerTexts()).map((t) => t.length);
      const last = {};
      for (const f of frames) {
        try {
          const m = JSON.parse(f);
          last[`${m.stream_id ?? '-'} ${m.type}`] = m.seq ?? null;
        } catch {
          last[f] = null;
        }
      }
      throw new Error(
        `${e.message}\ncolumn statuses: ${JSON.stringify(statuses)}, text lengths: ${JSON.stringify(lengths)}` +
          `\nframes received: ${frames.length}; last seq per stream and type: ${JSON.stringify(last)}` +
          `\nlast frames:\n${frames.slice(-6).map((f) => f.slice(0, 300)).join('\n')}` +
          `\nserver log (end):\n${server.log().slice(-4000)}`,
      );
    });
}

test('a three-persona panel streams side by side and one can be stopped', async () => {
  const { page, context, errors } = await openPage(browser, server.baseURL);
  await page.goto('/personas');
  await appReady(page);
  await page.locator('[data-state="open"]').filter({ hasText: 'Online' }).first().waitFor();
  await page.getByTestId('usage-meter').filter({ hasText: '10 of 10 free replies left' }).waitFor();
  for (const name of ['Tech Enthusiast', 'Creative Writer', 'Data Scientist']) {
    assert.equal(await page.getByRole('button', { name }).getAttribute('aria-pressed'), 'true', name);
  }
  await page.getByLabel('Your message').fill('What do you think about AI?');
  await page.getByRole('button', { name: 'Send' }).click();

  // All three are answering at the same time.
  for (const id of ['tech_enthusiast', 'creative_writer', 'data_scientist']) {
    await column(page, id).getByTestId('column-text').filter({ hasText: /\S/ }).waitFor();
  }
  const writer = column(page, 'creative_writer');
  await writer.getByRole('button', { name: 'Stop Creative Writer' }).click();
  await writer.getByTestId('column-status').filter({ hasText: 'Stopped' }).waitFor();

  for (const id of ['tech_enthusiast', 'data_scientist']) {
    await column(page, id).getByTestId('column-status').filter({ hasText: 'Done' }).waitFor({ timeout: 30_000 });
  }
  const stopped = await writer.getByTestId('column-text').innerText();
  const finished = await column(page, 'tech_enthusiast').getByTestId('column-text').innerText();
  assert.ok(stopped.length > 0 && stopped.length < finished.length, `${stopped.length} < ${finished.length}`);
  assert.match(await column(page, 'tech_enthusiast').getByTestId('column-tokens').innerText(), /≈ \d+ tokens/);
  await screenshot(page, 'personas-panel');

  // Three replies were counted against the free limit.
  await page.getByTestId('usage-meter').filter({ hasText: '7 of 10 free replies left' }).waitFor();
  assert.deepEqual(errors, []);
  await context.close();
});

test('one-persona mode keeps a conversation, and the model mode continues it', async () => {
  const { page, context, errors } = await openPage(browser, server.baseURL);
  await page.goto('/personas');
  await appReady(page);
  await page.getByRole('button', { name: 'One persona' }).click();
  await page.getByRole('button', { name: 'Chef' }).click();
  assert.equal(await page.getByRole('button', { name: 'Chef' }).getAttribute('aria-pressed'), 'true');
  const box = page.getByLabel('Your message');
  await box.fill('How do I bake bread?');
  await box.press('Enter');
  const replies = page.locator('.bubble--assistant');
  await replies.first().filter({ hasText: 'bread' }).waitFor();
  await page.locator('.bubble--streaming').waitFor({ state: 'detached', timeout: 30_000 });
  await box.fill('And sourdough?');
  await box.press('Enter');
  await replies.nth(1).waitFor();
  await page.locator('.bubble--streaming').waitFor({ state: 'detached', timeout: 30_000 });
  assert.equal(await page.locator('.bubble--user').count(), 2);
  assert.match(await replies.nth(0).innerText(), /Chef/);

  await page.getByRole('button', { name: 'Model' }).click();
  await box.fill('Name a river.');
  await box.press('Enter');
  await page.locator('.bubble--assistant').filter({ hasText: 'Model' }).last().waitFor();
  await page.locator('.bubble--streaming').waitFor({ state: 'detached', timeout: 30_000 });
  await screenshot(page, 'personas-chat');
  assert.deepEqual(errors, []);
  await context.close();
});

test("a dropped socket reconnects and the panel's streams resume to the end", async () => {
  const { page, context, errors } = await openPage(browser, proxy.baseURL);
  await page.goto('/personas');
  await appReady(page);
  const live = page.locator('main [data-state]').first();
  await live.and(page.locator('[data-state="open"]')).waitFor();
  await page.getByLabel('Your message').fill('Tell me about rivers');
  await page.getByRole('button', { name: 'Send' }).click();
  await column(page, 'tech_enthusiast').getByTestId('column-text').filter({ hasText: /\S/ }).waitFor();
  const before = await column(page, 'tech_enthusiast').getByTestId('column-text').innerText();
  proxy.cut();
  await live.and(page.locator('[data-state="reconnecting"]')).waitFor();
  await live.and(page.locator('[data-state="open"]')).waitFor({ timeout: 30_000 });
  for (const id of ['tech_enthusiast', 'creative_writer', 'data_scientist']) {
    await column(page, id).getByTestId('column-status').filter({ hasText: 'Done' }).waitFor({ timeout: 30_000 });
  }
  const after = await column(page, 'tech_enthusiast').getByTestId('column-text').innerText();
  assert.ok(after.startsWith(before.trim().slice(0, 20)) && after.length > before.length);
  assert.deepEqual(errors.filter((e) => !/WebSocket|ERR_/.test(e)), []);
  await context.close();
});

test("each column's Stop stays put while its answer grows", async () => {
  const { page, context, errors } = await openPage(browser, server.baseURL);
  await page.goto('/personas');
  await appReady(page);
  await page.locator('[data-state="open"]').filter({ hasText: 'Online' }).first().waitFor();
  await page.getByLabel('Your message').fill('Tell me a long story about rivers');
  await page.getByRole('button', { name: 'Send' }).click();
  const writer = column(page, 'creative_writer');
  const text = writer.getByTestId('column-text');
  await text.filter({ hasText: /\S/ }).waitFor();
  const stop = writer.getByRole('button', { name: 'Stop Creative Writer' });
  const first = await stop.boundingBox();
  const length = (await text.innerText()).length;
  await page.waitForFunction(
    ([id, n]) => (document.querySelector(`article.column[data-persona="${id}"] [data-testid="column-text"]`)?.textContent.length ?? 0) > n + 40,
    ['creative_writer', length],
  );
  const second = await stop.boundingBox();
  assert.deepEqual(second, first, 'Stop did not move');
  await stop.click();
  await writer.getByTestId('column-status').filter({ hasText: 'Stopped' }).waitFor();
  assert.deepEqual(errors, []);
  await context.close();
});

test('at the free limit the earlier answers and the typed question stay', async () => {
  const limited = await startServer(['--chunk-delay-ms', '0', '--anon-message-limit', '3']);
  const { page, context, errors } = await openPage(browser, limited.baseURL);
  const frames = recordFrames(page);
  try {
    await page.goto('/personas');
    await appReady(page);
    await page.locator('[data-state="open"]').filter({ hasText: 'Online' }).first().waitFor();
    const box = page.getByLabel('Your message');
    await box.fill('What is a river?');
    await box.press('Enter');
    await columnsEnd(page, limited, frames, 3);
    assert.deepEqual(await page.getByTestId('column-status').allInnerTexts(), ['Done', 'Done', 'Done']);
    const answers = await page.getByTestId('column-text').allInnerTexts();
    await box.fill('And what is a lake?');
    await box.press('Enter');
    await page.getByRole('link', { name: 'Sign in or create an account' }).waitFor();
    assert.equal(await box.inputValue(), 'And what is a lake?', 'the question is kept');
    assert.deepEqual(await page.getByTestId('column-text').allInnerTexts(), answers, 'the answers are kept');
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
    await limited.stop();
  }
});

for (const count of [3, 6]) {
  // Needs the server half of issue 18.2 (reservations within what a panel
  // can cost): fails until it is merged.
  test(`a new account asks ${count} personas, sees the cost first, and gets every answer`, async () => {
    const fast = await startServer(['--chunk-delay-ms', '0']);
    const token = await register(fast.baseURL, `panel_${count}`);
    const { page, context, errors } = await openSignedIn(browser, fast.baseURL, token);
    const frames = recordFrames(page);
    try {
      await page.goto('/personas');
      await appReady(page);
      await page.getByTestId('usage-meter').filter({ hasText: '2,000 credits' }).waitFor();
      const extra = ['Philosopher', 'Chef', 'Historian'].slice(0, count - 3);
      for (const name of extra) await page.getByRole('button', { name }).click();
      const cost = page.getByTestId('panel-cost');
      await cost.filter({ hasText: `${count} personas` }).waitFor();
      assert.match(await cost.innerText(), /credits/);
      await page.getByLabel('Your message').fill('What makes a good day?');
      await page.getByRole('button', { name: 'Send' }).click();
      const columns = page.locator('article.column');
      await columnsEnd(page, fast, frames, count);
      assert.equal(await columns.count(), count);
      assert.deepEqual(
        await page.getByTestId('column-status').allInnerTexts(),
        Array(count).fill('Done'),
      );
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
      await fast.stop();
    }
  });
}
