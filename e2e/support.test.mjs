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

test('typing without "New conversation" gets every reply, and a reload keeps their order', async () => {
  const { page, context, errors } = await signedInPage('support_first');
  await page.goto('/support');
  await appReady(page);
  await page.locator('[data-state="open"]').filter({ hasText: 'Online' }).last().waitFor();
  const box = page.getByLabel('Your message');
  const assistant = page.locator('.bubble--assistant');

  await box.fill('I had a rough day at work');
  await box.press('Enter');
  await page.waitForURL(/\/support\?session=/);
  await page.locator('.bubble--streaming').waitFor({ state: 'detached', timeout: 30_000 });
  await assistant.first().filter({ hasText: /\w{3,}.*\w{3,}/ }).waitFor();
  // The reply stays: nothing replaces the conversation once it is shown.
  await page.waitForTimeout(1500);
  assert.equal(await assistant.count(), 1, 'the first reply is still there');

  await box.fill('I want to kill myself');
  await box.press('Enter');
  await page.getByRole('alert').filter({ hasText: "You don't have to go through this alone" }).waitFor();
  await assistant.nth(1).filter({ hasText: '988' }).waitFor();
  await page.locator('.bubble--streaming').waitFor({ state: 'detached', timeout: 30_000 });

  const roles = () => page.locator('.bubble').evaluateAll((els) =>
    els.map((e) => (e.classList.contains('bubble--user') ? 'user' : 'assistant')));
  const texts = () => page.locator('.bubble').allInnerTexts();
  assert.deepEqual(await roles(), ['user', 'assistant', 'user', 'assistant']);
  const before = await texts();
  await page.reload();
  await appReady(page);
  await assistant.nth(1).waitFor();
  assert.deepEqual(await roles(), ['user', 'assistant', 'user', 'assistant']);
  assert.deepEqual(await texts(), before);
  assert.deepEqual(errors, []);
  await context.close();
});

/** Whether the element's centre is inside the viewport and not covered. */
function uncovered(locator) {
  return locator.evaluate((el) => {
    const r = el.getBoundingClientRect();
    const x = r.left + r.width / 2;
    const y = r.top + r.height / 2;
    if (r.top < 0 || r.bottom > innerHeight || r.left < 0 || r.right > innerWidth) return `outside: ${r.top}..${r.bottom}`;
    const hit = document.elementFromPoint(x, y);
    return hit === el || el.contains(hit) ? true : `covered by ${hit?.outerHTML.slice(0, 80)}`;
  });
}

test('on a phone the crisis resources stay fully visible while the conversation scrolls', async () => {
  const token = await register(server.baseURL, 'support_phone');
  const { page, context, errors } = await openSignedIn(browser, server.baseURL, token, {
    viewport: { width: 360, height: 740 },
  });
  await page.goto('/support');
  await appReady(page);
  // Help is one tap away before anything is said.
  const help = page.getByRole('button', { name: 'Get help now' });
  assert.equal(await uncovered(help), true);
  await page.locator('[data-state="open"]').filter({ hasText: 'Online' }).last().waitFor();

  const box = page.getByLabel('Your message');
  for (const text of ['I want to kill myself', 'I do not know what to do', 'Everything feels heavy']) {
    await box.fill(text);
    await box.press('Enter');
    await page.locator('.bubble--assistant').nth(['I want to kill myself', 'I do not know what to do', 'Everything feels heavy'].indexOf(text)).waitFor();
    await page.locator('.bubble--streaming').waitFor({ state: 'detached', timeout: 30_000 });
  }
  const banner = page.getByRole('alert').filter({ hasText: "You don't have to go through this alone" });
  const call = banner.getByRole('link', { name: 'Call or text 988' });
  // Scrolled to the end of the conversation (and the page, if it scrolls).
  await page.locator('.bubble').last().scrollIntoViewIfNeeded();
  await page.mouse.wheel(0, 2000);
  await page.waitForTimeout(300);
  assert.equal(await uncovered(call), true);
  assert.equal(await uncovered(help), true);
  await screenshot(page, 'support-phone-scrolled');

  // Calm, not alarm red: the banner's background is not a red hue.
  const bg = await banner.evaluate((el) => getComputedStyle(el).backgroundColor);
  const [r, g, b] = bg.match(/\d+/g).map(Number);
  assert.ok(!(r > g * 1.5 && r > b * 1.5), `banner background ${bg} reads as red`);
  assert.deepEqual(errors, []);
  await context.close();
});
