// Accessibility: axe-core scans every page, at desktop and phone sizes, in
// light and dark, empty and with a conversation on screen (a chat message
// being edited, the list of one's books open). No serious or
// critical violation is allowed.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { startServer, launchBrowser, openPage, openSignedIn, register, appReady } from './harness.mjs';

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

const SIZES = {
  desktop: { width: 1280, height: 800 },
  phone: { width: 360, height: 740 },
};
const PAGES = ['/', '/rolecard', '/books', '/personas', '/chat', '/support', '/admin', '/docs'];
/** Pages scanned again with a conversation: (path, composer, message, what shows it settled). */
const CONVERSATIONS = [
  ['/personas', 'Your message', 'What is a good book?', '[data-testid="column-status"]'],
  ['/books', 'Your request', 'Create a fantasy novel with dragons', '[data-kind="completion"]'],
  ['/chat', 'Your message', 'Show me a table of planets', '[data-testid="chat-reply"]'],
  ['/support', 'Your message', 'I want to kill myself', '.crisis'],
];

let server;
let browser;

before(async () => {
  server = await startServer(['--chunk-delay-ms', '0']);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** The serious and critical violations on the page as it is now. */
async function scan(page) {
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  });
  return violations;
}

/** Sends `text` from the page's composer and waits for the page to settle. */
async function converse(page, label, text) {
  await page.locator('main [data-state="open"]').first().waitFor({ timeout: 20_000 });
  await page.getByLabel(label).fill(text);
  await page.getByLabel(label).press('Enter');
  await page.locator('.bubble--streaming, .stream-text--live').first().waitFor({ state: 'detached', timeout: 30_000 }).catch(() => {});
  await page.waitForTimeout(1500);
}

for (const scheme of ['light', 'dark']) {
  for (const [size, viewport] of Object.entries(SIZES)) {
    test(`every page passes axe at ${size} size, ${scheme}`, async () => {
      const token = await register(server.baseURL, `axe_${size}_${scheme}`);
      const { page, context, errors } = await openSignedIn(browser, server.baseURL, token, { viewport, colorScheme: scheme });
      const found = {};
      for (const path of PAGES) {
        await page.goto(path);
        await appReady(page);
        await page.getByTestId('user-name').waitFor({ state: 'attached' });
        await page.waitForTimeout(300);
        found[path] = await scan(page);
      }
      // With a conversation on screen.
      for (const [path, label, text, settled] of CONVERSATIONS) {
        await page.goto(path);
        await appReady(page);
        await converse(page, label, text);
        await page.locator(settled).first().waitFor({ timeout: 30_000 });
        found[`${path} (answered)`] = await scan(page);
        if (path === '/chat') {
          // A message being edited.
          await page.getByRole('button', { name: 'Edit message' }).first().click();
          await page.getByLabel('Edit your message').waitFor();
          found['/chat (editing a message)'] = await scan(page);
        }
        if (path === '/books') {
          // The list of one's books, open.
          const library = page.getByTestId('books-library');
          if (!(await library.isVisible())) await page.locator('.app__side-button').click();
          await library.locator('summary').click();
          await library.getByRole('button').first().waitFor();
          found['/books (your books open)'] = await scan(page);
        }
      }

      // A generated role card, with its export editor open.
      await page.goto('/rolecard');
      await appReady(page);
      await page.getByLabel('A memory about them').fill('She baked bread every Sunday.');
      await page.getByRole('button', { name: 'Add memory' }).click();
      await page.getByRole('button', { name: 'Generate role card' }).click();
      await page.getByTestId('stage').filter({ hasText: /^100%/ }).waitFor({ timeout: 60_000 });
      await page.getByRole('button', { name: 'Edit before export' }).click();
      await page.getByLabel('Description').waitFor();
      found['/rolecard (card, editor open)'] = await scan(page);

      const visitor = await openPage(browser, server.baseURL, { viewport, colorScheme: scheme });
      for (const path of ['/login', '/support', '/rolecard', '/no/such/page']) {
        await visitor.page.goto(path);
        await appReady(visitor.page);
        found[`${path} (visitor)`] = await scan(visitor.page);
      }
      const failing = Object.fromEntries(Object.entries(found).filter(([, v]) => v.length > 0));
      assert.deepEqual(failing, {});
      assert.deepEqual([...errors, ...visitor.errors], []);
      await visitor.context.close();
      await context.close();
    });
  }
}
