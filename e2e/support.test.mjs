// Support sessions in the browser: a high-risk message shows the crisis
// banner before the reply, the conversation goes on, and the banner is
// still there after a reload.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, openPage, openSignedIn, register, screenshot, appReady } from './harness.mjs';

let server;
let browser;

before(async () => {
  server = await startServer(['--chunk-delay-ms', '60']);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function signedInPage(username) {
  return openSignedIn(browser, server.baseURL, await register(server.baseURL, username));
}

test('visitors are asked to sign in, with the crisis line still in reach', async () => {
  const { page, context, errors } = await openPage(browser, server.baseURL);
  await page.goto('/support');
  await appReady(page);
  await page.getByRole('heading', { name: 'Sign in to start a conversation' }).waitFor();
  assert.equal(await page.getByRole('link', { name: '988' }).getAttribute('href'), 'tel:988');
  assert.deepEqual(errors, []);
  await context.close();
});

test('a high-risk message raises the banner before the reply, and it stays after a reload', async () => {
  const { page, context, errors } = await signedInPage('support_e2e');
  await page.goto('/support');
  await appReady(page);
  await page.getByRole('button', { name: 'New conversation' }).click();
  await page.waitForURL(/\/support\?session=/);
  await page.locator('[data-state="open"]').filter({ hasText: 'Online' }).last().waitFor();

  // Record when the banner and the reply's first text appear.
  await page.evaluate(() => {
    window.__seen = {};
    new MutationObserver(() => {
      const now = performance.now();
      if (!window.__seen.banner && document.querySelector('.crisis')) window.__seen.banner = now;
      const reply = document.querySelector('.bubble--assistant');
      if (!window.__seen.reply && reply && reply.textContent.replace('Listener', '').trim()) {
        window.__seen.reply = now;
      }
    }).observe(document.body, { childList: true, subtree: true, characterData: true });
  });
  await page.getByLabel('Your message').fill('I want to kill myself');
  await page.getByLabel('Your message').press('Enter');

  const banner = page.getByRole('alert').filter({ hasText: "You don't have to go through this alone" });
  await banner.waitFor();
  await page.locator('.bubble--assistant').filter({ hasText: '988' }).waitFor();
  await page.locator('.bubble--streaming').waitFor({ state: 'detached', timeout: 30_000 });
  const seen = await page.evaluate(() => window.__seen);
  assert.ok(seen.banner && seen.reply && seen.banner <= seen.reply, JSON.stringify(seen));

  assert.equal(await banner.getByRole('link', { name: 'Call or text 988' }).getAttribute('href'), 'tel:988');
  assert.match(await banner.getByRole('link', { name: 'Text HOME to 741741' }).getAttribute('href'), /^sms:741741/);
  assert.equal(await banner.getByRole('link', { name: 'findahelpline.com' }).getAttribute('href'), 'https://findahelpline.com');
  assert.match(await banner.innerText(), /immediate danger, call your local emergency number/);
  await screenshot(page, 'support-escalation');

  // It collapses but cannot be dismissed.
  await banner.getByRole('button', { name: 'Collapse' }).click();
  await banner.getByRole('button', { name: 'Show help' }).waitFor();
  assert.equal(await banner.isVisible(), true);

  // The conversation goes on.
  await page.getByLabel('Your message').fill('Thank you. I will call them.');
  await page.getByLabel('Your message').press('Enter');
  await page.locator('.bubble--user').nth(1).waitFor();
  await page.locator('.bubble--assistant').nth(1).waitFor();

  await page.reload();
  await appReady(page);
  await page.getByRole('alert').filter({ hasText: "You don't have to go through this alone" }).waitFor();
  assert.equal(await page.locator('.bubble--user').count(), 2);
  assert.deepEqual(errors, []);
  await context.close();
});
