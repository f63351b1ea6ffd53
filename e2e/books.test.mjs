// BooksWriter in the browser: a request streams in from the agents, a
// reload mid-stream restores the whole conversation with nothing twice, and
// messages typed while the connection is down are queued, shown, and sent
// in order once it is back.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startServer, launchBrowser, openPage, startProxy, screenshot, appReady } from './harness.mjs';

let server;
let browser;

before(async () => {
  server = await startServer(['--chunk-delay-ms', '120']);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function online(page) {
  await page.locator('.books__status [data-state="open"]').waitFor({ timeout: 20_000 });
}

async function texts(locator) {
  return (await locator.allTextContents()).map((t) => t.trim());
}

test('a reload mid-stream restores the whole conversation, nothing twice', async () => {
  const { page, context, errors } = await openPage(browser, server.baseURL);
  await page.goto('/books');
  await appReady(page);
  await online(page);
  const sessionBefore = await page.evaluate(() => localStorage.getItem('chorus.books.session.anon'));
  assert.match(sessionBefore, /^book-[A-Za-z0-9]+$/);

  await page.getByLabel('Your request').fill('Create a fantasy novel with dragons');
  await page.getByLabel('Your request').press('Enter');
  // The plot agent is streaming: reload in the middle of it.
  const streaming = page.locator('[data-kind="agent"].bubble--streaming');
  await streaming.waitFor();
  await page.waitForFunction(
    () => (document.querySelector('[data-kind="agent"] .books__text')?.textContent ?? '').length > 40,
  );
  await page.reload();
  await appReady(page);
  await page.locator('[data-kind="completion"]').waitFor({ timeout: 30_000 });

  assert.equal(await page.evaluate(() => localStorage.getItem('chorus.books.session.anon')), sessionBefore);
  assert.deepEqual(await texts(page.locator('[data-kind="user"] .books__text')), ['Create a fantasy novel with dragons']);
  assert.equal(await page.locator('[data-kind="switch"]').count(), 1);
  assert.equal(await page.locator('[data-kind="agent"]').count(), 1);
  assert.equal(await page.locator('[data-kind="tool"][data-status="completed"]').count(), 1);
  assert.equal(await page.locator('[data-kind="completion"]').count(), 1);
  assert.equal(await page.locator('.bubble--streaming').count(), 0, 'the cursor is gone once done');
  assert.equal((await page.getByTestId('current-agent').textContent()).trim(), 'Plot writer');

  // The streamed text on the page is exactly what the tool saved.
  const saved = await page.evaluate(async (sid) => {
    const anon = localStorage.getItem('chorus.anon_id');
    const res = await fetch(`/api/books/${sid}/artifacts`, { headers: { 'x-anon-id': anon } });
    return res.json();
  }, sessionBefore);
  assert.equal(saved.artifacts.length, 1);
  const shown = await page.locator('[data-kind="agent"] .books__text').textContent();
  assert.equal(shown, saved.artifacts[0].content);
  await page.getByTestId('books-artifacts').getByText(saved.artifacts[0].title).waitFor();
  await screenshot(page, 'books-restored');
  assert.deepEqual(errors, []);
  await context.close();
});

test('messages typed while disconnected are queued and go out in order on reconnect', async () => {
  const proxy = await startProxy(server.baseURL);
  const { page, context, errors } = await openPage(browser, proxy.baseURL);
  try {
    await page.goto('/books');
    await appReady(page);
    await online(page);

    proxy.refuse(true);
    proxy.cut();
    const banner = page.getByTestId('books-reconnect');
    await banner.getByText('The connection dropped').waitFor();
    await page.locator('.books__status [data-state="reconnecting"]').filter({ hasText: /Reconnecting in \d+ s/ }).waitFor();

    for (const text of ['Build a world of ice', 'Create a villain for my story']) {
      await page.getByLabel('Your request').fill(text);
      await page.getByLabel('Your request').press('Enter');
    }
    assert.deepEqual(await texts(page.getByTestId('books-pending').locator('.books__text')), [
      'Build a world of ice',
      'Create a villain for my story',
    ]);
    await page.getByTestId('books-pending').first().getByText('queued until reconnected').waitFor();

    proxy.refuse(false);
    await banner.getByRole('button', { name: 'Retry now' }).click();
    await online(page);
    await page.locator('[data-kind="completion"]').nth(1).waitFor({ timeout: 30_000 });
    assert.deepEqual(await texts(page.locator('[data-kind="user"] .books__text')), [
      'Build a world of ice',
      'Create a villain for my story',
    ]);
    assert.equal(await page.getByTestId('books-pending').count(), 0);
    assert.deepEqual(
      await page.locator('[data-kind="agent"]').evaluateAll((els) => els.map((e) => e.dataset.agent)),
      ['WorldBuilderAgent', 'CharacterCreatorAgent'],
    );
    // The villain lives in the world made just before.
    const villain = page.getByTestId('books-artifacts').locator('[data-kind="character"]');
    await villain.locator('summary').click();
    const world = (await page.getByTestId('books-artifacts').locator('[data-kind="world"] summary').textContent()).trim();
    await villain.getByText(world).first().waitFor();
    await screenshot(page, 'books-queued');
    // Chromium reports on the console what the outage this test makes does
    // to the browser: refused reconnects, and requests in flight when the
    // connections were cut. Anything else is the app's error.
    const outage = /WebSocket connection to|Failed to load resource: net::ERR_/;
    assert.deepEqual(errors.filter((e) => !outage.test(e)), []);
  } finally {
    await context.close();
    proxy.close();
  }
});

test("the seed's BooksWriterWebSocket and RobustWebSocket classes work unchanged", async () => {
  const { page, context, errors } = await openPage(browser, server.baseURL);
  await page.goto('/');
  const result = await page.evaluate(async () => {
    // The BooksWriter protocol's client classes, as written, but for the host: the seed
    // connects to ws://localhost:8000.
    class BooksWriterWebSocket {
      constructor(sessionId) {
        this.sessionId = sessionId;
        this.ws = null;
        this.reconnectAttempts = 0;
        this.maxReconnectAttempts = 5;
        this.reconnectDelay = 1000;
      }
      connect() {
        const wsUrl = `ws://${location.host}/ws/${this.sessionId}`;
        this.ws = new WebSocket(wsUrl);
        this.ws.onopen = (event) => { this.reconnectAttempts = 0; this.onConnected(event); };
        this.ws.onmessage = (event) => { const data = JSON.parse(event.data); this.handleMessage(data); };
        this.ws.onclose = (event) => { this.handleReconnection(); };
        this.ws.onerror = (error) => { this.onError(error); };
      }
      sendMessage(content, userId = null) {
        if (this.ws && this.ws.readyState === WebSocket.OPEN) {
          const message = { type: 'message', content: content, user_id: userId || 'anonymous', timestamp: new Date().toISOString() };
          this.ws.send(JSON.stringify(message));
        } else {
          console.warn('WebSocket is not connected');
        }
      }
      handleMessage(data) {
        switch (data.type) {
          case 'stream_chunk': this.onStreamChunk(data); break;
          case 'agent_switch': this.onAgentSwitch(data); break;
          case 'tool_execution': this.onToolExecution(data); break;
          case 'error': this.onError(data); break;
          case 'completion': this.onCompletion(data); break;
          default: console.log('Unknown message type:', data.type);
        }
      }
      handleReconnection() {
        if (this.reconnectAttempts < this.maxReconnectAttempts) {
          this.reconnectAttempts++;
          setTimeout(() => { this.connect(); }, this.reconnectDelay * this.reconnectAttempts);
        }
      }
      onConnected(event) {}
      onStreamChunk(data) {}
      onAgentSwitch(data) {}
      onToolExecution(data) {}
      onError(error) {}
      onCompletion(data) {}
    }
    class RobustWebSocket extends BooksWriterWebSocket {
      constructor(sessionId, options = {}) {
        super(sessionId);
        this.maxReconnectAttempts = options.maxReconnectAttempts || 10;
        this.reconnectDelay = options.reconnectDelay || 1000;
        this.maxReconnectDelay = options.maxReconnectDelay || 30000;
        this.backoffMultiplier = options.backoffMultiplier || 2;
        this.messageQueue = [];
        this.isReconnecting = false;
      }
      sendMessage(content, userId = null) {
        const message = { type: 'message', content: content, user_id: userId || 'anonymous', timestamp: new Date().toISOString() };
        if (this.ws && this.ws.readyState === WebSocket.OPEN) {
          this.ws.send(JSON.stringify(message));
        } else {
          this.messageQueue.push(message);
          if (!this.isReconnecting) { this.handleReconnection(); }
        }
      }
      handleReconnection() {
        if (this.reconnectAttempts >= this.maxReconnectAttempts) { this.onMaxReconnectAttemptsReached(); return; }
        this.isReconnecting = true;
        const delay = Math.min(this.reconnectDelay * Math.pow(this.backoffMultiplier, this.reconnectAttempts), this.maxReconnectDelay);
        setTimeout(() => { this.reconnectAttempts++; this.connect(); }, delay);
      }
      onConnected(event) {
        super.onConnected(event);
        this.isReconnecting = false;
        while (this.messageQueue.length > 0) { const message = this.messageQueue.shift(); this.ws.send(JSON.stringify(message)); }
      }
      onMaxReconnectAttemptsReached() { this.onError({ message: 'Failed to reconnect after maximum attempts' }); }
    }

    const run = (client, send) => new Promise((resolve) => {
      const seen = { chunks: '', switches: [], tools: [], errors: [] };
      client.onStreamChunk = (d) => { seen.chunks += d.content; };
      client.onAgentSwitch = (d) => seen.switches.push(d.to_agent);
      client.onToolExecution = (d) => seen.tools.push(`${d.tool_name}:${d.status}`);
      client.onError = (e) => seen.errors.push(e.message ?? 'socket error');
      client.onCompletion = (d) => { seen.results = d.results; client.ws.onclose = null; client.ws.close(); resolve(seen); };
      send();
    });
    const sessionId = 'session-' + Math.random().toString(36).substr(2, 9);
    const basic = new BooksWriterWebSocket(sessionId);
    const plain = await run(basic, () => {
      basic.onConnected = () => basic.sendMessage('Create a fantasy novel with dragons and magic');
      basic.connect();
    });
    // RobustWebSocket queues a message sent before it is connected and
    // sends it once it is.
    const robust = new RobustWebSocket(sessionId + '-r');
    const queued = await run(robust, () => robust.sendMessage('Build a world of glass'));
    return { plain, queued };
  });
  assert.deepEqual(result.plain.switches, ['PlotGeneratorAgent']);
  assert.deepEqual(result.plain.tools, ['save_plot:executing', 'save_plot:completed']);
  assert.ok(result.plain.chunks.startsWith('Title: '), result.plain.chunks);
  assert.ok(result.plain.results.plot_id);
  assert.deepEqual(result.plain.results.agents_used, ['OrchestratorAgent', 'PlotGeneratorAgent']);
  assert.deepEqual(result.plain.errors, []);
  assert.deepEqual(result.queued.switches, ['WorldBuilderAgent']);
  assert.ok(result.queued.results.world_id);
  assert.deepEqual(errors, []);
  await context.close();
});

test('people-facing names, clickable examples, proper act numbers and a Markdown export', async () => {
  const { page, context, errors } = await openPage(browser, server.baseURL, { acceptDownloads: true });
  await page.goto('/books');
  await appReady(page);
  await online(page);
  // An example prompt is a button that asks it.
  await page.getByRole('button', { name: 'Create a fantasy novel with dragons' }).click();
  await page.locator('[data-kind="user"]').filter({ hasText: 'Create a fantasy novel with dragons' }).waitFor();
  await page.locator('[data-kind="completion"]').waitFor({ timeout: 30_000 });
  const main = await page.locator('main').innerText();
  for (const internal of ['PlotGeneratorAgent', 'OrchestratorAgent', 'save_plot', 'Orchestrator']) {
    assert.ok(!main.includes(internal), `"${internal}" is shown to the user`);
  }
  assert.equal((await page.getByTestId('current-agent').innerText()).trim(), 'Plot writer');
  await page.getByText('Saved the plot').first().waitFor();

  const plot = page.getByTestId('books-artifacts').locator('[data-kind="plot"]').first();
  await plot.locator('summary').click();
  const labels = await plot.locator('dt').allInnerTexts();
  assert.ok(labels.length > 0);
  for (const l of labels) assert.doesNotMatch(l, /\b(Ii|Iii|Iv)\b/, `label "${l}"`);

  const title = (await plot.locator('summary').innerText()).trim();
  const download = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Export as Markdown' }).click();
  const file = await (await download).path();
  const markdown = readFileSync(file, 'utf8');
  assert.match(markdown, /^# My book/);
  assert.ok(markdown.includes(`### ${title}`), markdown.slice(0, 200));
  assert.deepEqual(errors, []);
  await context.close();
});

test("a visitor's book moves into the account they create, and opens there", async () => {
  const { page, context, errors } = await openPage(browser, server.baseURL);
  await page.goto('/books');
  await appReady(page);
  await online(page);
  await page.getByLabel('Your request').fill('Create a mystery set in a lighthouse');
  await page.getByLabel('Your request').press('Enter');
  await page.locator('[data-kind="completion"]').waitFor({ timeout: 30_000 });

  await page.goto('/login?next=%2Fbooks');
  await page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
  await page.getByRole('button', { name: 'Create account' }).first().click();
  await page.getByLabel('Username').fill('books_visitor');
  await page.getByLabel('Password').fill('correct horse battery');
  await page.locator('form button[type="submit"]').click();
  await page.waitForURL('**/books');
  await online(page);
  await page.locator('[data-kind="user"] .books__text').filter({ hasText: 'Create a mystery set in a lighthouse' }).waitFor();
  assert.equal(await page.evaluate(() => localStorage.getItem('chorus.books.session.anon')), null);
  assert.deepEqual(errors, []);
  await context.close();
});

test('your books: an earlier book is listed and reopens with its conversation and what it saved', async () => {
  const { page, context, errors } = await openPage(browser, server.baseURL);
  await page.goto('/books');
  await appReady(page);
  await online(page);
  const request = async (text) => {
    const completions = await page.locator('[data-kind="completion"]').count();
    await page.getByLabel('Your request').fill(text);
    await page.getByLabel('Your request').press('Enter');
    await page.locator('[data-kind="completion"]').nth(completions).waitFor({ timeout: 30_000 });
  };
  await request('Build a world of floating islands');
  const saved = page.getByTestId('books-artifacts').locator('[data-kind="world"] summary');
  await saved.waitFor();
  const world = (await saved.textContent()).trim();
  const library = page.getByTestId('books-library');
  await library.locator('summary').filter({ hasText: 'Your books (1)' }).waitFor();

  await page.getByRole('button', { name: 'New book' }).click();
  await page.getByText('Write a book with a team of writers').waitFor();
  await online(page);
  await request('Invent an author for this plot');
  await library.locator('summary').filter({ hasText: 'Your books (2)' }).click();
  // The book open now is marked; the earlier one is a button to reopen.
  const open = library.locator('[aria-current="true"]');
  assert.match(await open.innerText(), /Open now/);
  const earlier = library.getByRole('button').filter({ hasText: world });
  await earlier.focus();
  await page.keyboard.press('Enter');
  await page.locator('[data-kind="user"] .books__text').filter({ hasText: 'Build a world of floating islands' }).waitFor();
  await page.getByTestId('books-artifacts').locator('[data-kind="world"] summary').filter({ hasText: world }).waitFor();
  assert.deepEqual(await texts(page.locator('[data-kind="user"] .books__text')), ['Build a world of floating islands']);
  await library.locator('[aria-current="true"]').filter({ hasText: world }).waitFor();
  // It stays the open book after a reload.
  await page.reload();
  await appReady(page);
  await page.locator('[data-kind="user"] .books__text').filter({ hasText: 'Build a world of floating islands' }).waitFor();
  assert.deepEqual(errors, []);
  await context.close();
});
