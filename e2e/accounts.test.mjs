// Accounts in the browser: register, sign out, sign in, the anonymous meter,
// clear errors, and an expired token sending the user to sign in with their
// place kept.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, openPage, register, screenshot, appReady } from './harness.mjs';

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

const meter = (page) => page.getByTestId('usage-meter');

/** Clicks the form's submit button, checking what it says. */
async function submit(page, label) {
  const button = page.locator('form button[type="submit"]');
  await button.filter({ hasText: label }).waitFor();
  await button.click();
}

test('a visitor sees the free-replies meter and a sign-in prompt', async () => {
  const { page, context, errors } = await openPage(browser, server.baseURL);
  await page.goto('/chat');
  await appReady(page);
  await meter(page).filter({ hasText: '10 of 10 free replies left' }).waitFor();
  const signIn = page.getByRole('link', { name: 'Sign in' });
  assert.equal(await signIn.getAttribute('href'), '/login?next=%2Fchat');
  // The anonymous id is kept in localStorage and the server knows it.
  const anon = await page.evaluate(() => localStorage.getItem('chorus.anon_id'));
  assert.match(anon, /^[A-Za-z0-9_-]{8,64}$/);
  const usage = await (await fetch(`${server.baseURL}/api/usage`, { headers: { 'x-anon-id': anon } })).json();
  assert.deepEqual(usage, { used: 0, limit: 10, remaining: 10, kind: 'anonymous' });
  assert.deepEqual(errors, []);
  await context.close();
});

test('register, sign out and sign in again', async () => {
  const { page, context, errors } = await openPage(browser, server.baseURL);
  await page.goto('/personas');
  await appReady(page);
  await page.getByRole('link', { name: 'Sign in' }).click();
  await page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();

  await page.getByRole('button', { name: 'Create account' }).first().click();
  await page.getByLabel('Username').fill('e2e_user');
  await page.getByLabel('Password').fill('short');
  await submit(page, 'Create account');
  await page.getByRole('alert').filter({ hasText: 'at least 8 characters' }).waitFor();

  await page.getByLabel('Password').fill('correct horse battery');
  await submit(page, 'Create account');
  // Back where they were, signed in, with the starting credits.
  await page.waitForURL('**/personas');
  await page.getByTestId('user-name').filter({ hasText: 'e2e_user' }).waitFor();
  await meter(page).filter({ hasText: '2,000 credits' }).waitFor();
  await screenshot(page, 'signed-in');
  const token = await page.evaluate(() => localStorage.getItem('chorus.token'));
  const me = () => fetch(`${server.baseURL}/api/auth/me`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal((await me()).status, 200);

  await page.getByRole('button', { name: 'Sign out' }).click();
  await meter(page).filter({ hasText: 'free replies left' }).waitFor();
  assert.equal(await page.evaluate(() => localStorage.getItem('chorus.token')), null);
  // Signing out revoked the token on the server: a copy of it is refused.
  let revoked;
  for (let i = 0; i < 50; i++) {
    revoked = await me();
    if (revoked.status === 401) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(revoked.status, 401);
  assert.equal((await revoked.json()).code, 'INVALID_TOKEN');

  await page.getByRole('link', { name: 'Sign in' }).click();
  await page.getByLabel('Username').fill('e2e_user');
  await page.getByLabel('Password').fill('wrong password');
  await submit(page, 'Sign in');
  await page.getByRole('alert').filter({ hasText: 'Wrong username or password.' }).waitFor();
  await screenshot(page, 'login-error');

  await page.getByLabel('Password').fill('correct horse battery');
  await submit(page, 'Sign in');
  await page.waitForURL('**/personas');
  await page.getByTestId('user-name').filter({ hasText: 'e2e_user' }).waitFor();

  // A taken name is explained.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.goto('/login');
  await page.getByRole('button', { name: 'Create account' }).first().click();
  await page.getByLabel('Username').fill('E2E_USER');
  await page.getByLabel('Password').fill('another password');
  await submit(page, 'Create account');
  await page.getByRole('alert').filter({ hasText: 'That username is taken' }).waitFor();
  assert.deepEqual(errors.filter((e) => !/status of 40[19]/.test(e)), []);
  await context.close();
});

test('an expired token sends the user to sign in, then back to their page', async () => {
  const { page, context, errors } = await openPage(browser, server.baseURL);
  await page.goto('/');
  await appReady(page);
  const token = await register(server.baseURL, 'expiring');
  // A token whose signature no longer matches stands for an expired session.
  const bad = token.slice(0, -2) + 'xx';
  await page.evaluate((t) => localStorage.setItem('chorus.token', t), bad);
  await page.goto('/support?tab=history');
  await page.waitForURL(/\/login\?expired=1&next=/);
  await page.getByText('Your session has expired').waitFor();
  await page.getByLabel('Username').fill('expiring');
  await page.getByLabel('Password').fill('correct horse');
  await submit(page, 'Sign in');
  await page.waitForURL('**/support?tab=history');
  await page.getByTestId('user-name').filter({ hasText: 'expiring' }).waitFor();
  assert.deepEqual(errors.filter((e) => !/status of 401/.test(e)), []);
  await context.close();
});

test('signing out in one tab closes the sockets of the others and sends them to sign in', async () => {
  const { page, context, errors } = await openPage(browser, server.baseURL);
  const token = await register(server.baseURL, 'two_tabs');
  await page.goto('/');
  await page.evaluate((t) => localStorage.setItem('chorus.token', t), token);
  // The support page holds a socket open with the token.
  const closed = page.waitForEvent('websocket').then(
    (ws) => new Promise((resolve) => ws.on('close', () => resolve(ws.url()))),
  );
  await page.goto('/support');
  await appReady(page);
  await page.getByTestId('user-name').filter({ hasText: 'two_tabs' }).waitFor();

  // Another tab of the same browser signs out.
  const other = await context.newPage();
  await other.goto(`${server.baseURL}/`);
  await appReady(other);
  await other.getByRole('button', { name: 'Sign out' }).click();
  await meter(other).filter({ hasText: 'free replies left' }).waitFor();

  // The first tab's socket is closed by the server, and the tab goes to
  // sign in with its place kept, instead of retrying with a revoked token.
  assert.match(await closed, /\/ws\?token=/);
  await page.waitForURL(/\/login\?expired=1&next=.*support/);
  const socketErrors = /status of 401|WebSocket connection to/;
  assert.deepEqual(errors.filter((e) => !socketErrors.test(e)), []);
  await context.close();
});
