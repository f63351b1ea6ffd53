// The admin page: admins (made with `chorus users promote`) see the
// escalations, what is open and the credits granted; other users are told
// the page is not theirs.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { startServer, launchBrowser, openSignedIn, register, screenshot, appReady } from './harness.mjs';

let server;
let browser;
const bin = process.env.CHORUS_BIN ?? join(import.meta.dirname, '..', 'target', 'debug', 'chorus');
const chorus = (...args) =>
  execFileSync(bin, [...args, '--database-url', server.databaseUrl], { encoding: 'utf8' });

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('a user who is not an admin is told the page is for admins', async () => {
  const token = await register(server.baseURL, 'not_admin');
  const { page, context, errors } = await openSignedIn(browser, server.baseURL, token);
  await page.goto('/admin');
  await appReady(page);
  await page.getByRole('note').filter({ hasText: 'This page is for admins' }).waitFor();
  assert.equal(await page.getByRole('table').count(), 0);
  assert.deepEqual(errors, []);
  await context.close();
});

test('an admin sees escalations, open connections and credits granted', async () => {
  const token = await register(server.baseURL, 'the_boss');
  await register(server.baseURL, 'topped_up');
  assert.equal(chorus('users', 'promote', 'the_boss'), 'the_boss is now an admin\n');
  chorus('credits', 'grant', 'topped_up', '250');
  const { page, context, errors } = await openSignedIn(browser, server.baseURL, token);
  await page.goto('/admin');
  await appReady(page);
  await page.getByRole('heading', { level: 2, name: 'Safety escalations' }).waitFor();
  await page.getByText('250 credits in 1 grants.').waitFor();
  const live = page.getByRole('table', { name: 'Open sockets and SSE streams' });
  // The app's own server-status check keeps nothing open; every protocol is listed.
  assert.equal(await live.getByRole('row').count(), 1 + 8);
  await page.getByRole('table', { name: 'Escalations per day and level' }).waitFor();
  await screenshot(page, 'admin');
  assert.deepEqual(errors, []);
  await context.close();
});
