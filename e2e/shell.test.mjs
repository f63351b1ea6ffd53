// The app shell: every navigation link, titles, deep links, the 404 page,
// the server status, phone width, dark mode and keyboard use.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, openPage, screenshot, appReady } from './harness.mjs';

const PAGES = [
  { link: 'Role cards', path: '/rolecard', title: 'Role cards' },
  { link: 'BooksWriter', path: '/books', title: 'BooksWriter' },
  { link: 'Personas', path: '/personas', title: 'Personas' },
  { link: 'Chat', path: '/chat', title: 'Chat' },
  { link: 'Support', path: '/support', title: 'Support' },
];

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

test('every nav link opens its page with its title, with no console error', async () => {
  const { page, context, errors } = await openPage(browser, server.baseURL);
  await page.goto('/');
  await appReady(page);
  assert.equal(await page.title(), 'Home · Chorus');
  await screenshot(page, 'home');

  const nav = page.getByRole('navigation', { name: 'Main' });
  for (const p of PAGES) {
    await nav.getByRole('link', { name: p.link, exact: true }).click();
    await page.waitForURL(`**${p.path}`);
    await page.getByRole('heading', { level: 1, name: p.title }).waitFor();
    assert.equal(await page.title(), `${p.title} · Chorus`, p.path);
    const current = nav.getByRole('link', { name: p.link, exact: true });
    assert.equal(await current.getAttribute('aria-current'), 'page', `${p.link} marked current`);
    await screenshot(page, `page${p.path.replaceAll('/', '-')}`);
  }
  await page.getByRole('link', { name: 'Chorus' }).click();
  await page.getByRole('heading', { level: 1, name: 'Home' }).waitFor();
  assert.deepEqual(errors, []);
  await context.close();
});

test('a deep link loads the app on that page', async () => {
  const { page, context, errors } = await openPage(browser, server.baseURL);
  for (const p of PAGES) {
    const res = await page.goto(p.path);
    assert.equal(res.status(), 200);
    await page.getByRole('heading', { level: 1, name: p.title }).waitFor();
    assert.equal(await page.title(), `${p.title} · Chorus`);
  }
  assert.deepEqual(errors, []);
  await context.close();
});

test('an unknown path shows the not-found page', async () => {
  const { page, context, errors } = await openPage(browser, server.baseURL);
  await page.goto('/no/such/page');
  await page.getByRole('heading', { level: 1, name: 'Page not found' }).waitFor();
  assert.match(await page.locator('main').innerText(), /\/no\/such\/page/);
  assert.equal(await page.title(), 'Page not found · Chorus');
  await screenshot(page, 'not-found');
  await page.getByRole('link', { name: 'Go to the home page' }).click();
  await page.getByRole('heading', { level: 1, name: 'Home' }).waitFor();
  assert.deepEqual(errors, []);
  await context.close();
});

test('the header shows the server online', async () => {
  const { page, context, errors } = await openPage(browser, server.baseURL);
  await page.goto('/');
  const status = page.locator('.site-header [role="status"]');
  await status.and(page.locator('[data-state="open"]')).waitFor();
  assert.match(await status.innerText(), /Online/);
  assert.deepEqual(errors, []);
  await context.close();
});

test('at 360 px the layout fits with no sideways scroll', async () => {
  const { page, context, errors } = await openPage(browser, server.baseURL, {
    viewport: { width: 360, height: 740 },
  });
  for (const path of ['/', '/personas', '/support']) {
    await page.goto(path);
    await appReady(page);
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    );
    assert.equal(overflow, 0, `${path} overflows by ${overflow}px`);
  }
  await page.goto('/');
  await appReady(page);
  await screenshot(page, 'home-phone');
  assert.deepEqual(errors, []);
  await context.close();
});

test('dark mode follows the system setting', async () => {
  const light = await openPage(browser, server.baseURL, { colorScheme: 'light' });
  const dark = await openPage(browser, server.baseURL, { colorScheme: 'dark' });
  const bg = async ({ page }) => {
    await page.goto('/');
    await appReady(page);
    return page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  };
  const lightBg = await bg(light);
  const darkBg = await bg(dark);
  assert.notEqual(lightBg, darkBg);
  // Dark means dark: each channel of the background under 64.
  const channels = darkBg.match(/\d+/g).slice(0, 3).map(Number);
  assert.ok(channels.every((c) => c < 64), darkBg);
  await screenshot(dark.page, 'home-dark');
  assert.deepEqual([...light.errors, ...dark.errors], []);
  await light.context.close();
  await dark.context.close();
});

test('the keyboard reaches the skip link first and the nav by Tab', async () => {
  const { page, context, errors } = await openPage(browser, server.baseURL);
  await page.goto('/');
  await appReady(page);
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Skip to content');
  const seen = [];
  for (let i = 0; i < 8; i++) {
    await page.keyboard.press('Tab');
    seen.push(await page.evaluate(() => document.activeElement?.textContent?.trim()));
  }
  for (const p of PAGES) assert.ok(seen.includes(p.link), `${p.link} reachable by Tab: ${seen}`);
  // Enter on a focused link navigates.
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Chat', exact: true }).focus();
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { level: 1, name: 'Chat' }).waitFor();
  assert.deepEqual(errors, []);
  await context.close();
});
