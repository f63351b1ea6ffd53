// Every page fits a 360 px phone, signed in, with no sideways scroll.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, openSignedIn, register, screenshot, appReady } from './harness.mjs';

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

test('signed in, every page fits 360 px', async () => {
  const token = await register(server.baseURL, 'phone_user');
  const { page, context, errors } = await openSignedIn(browser, server.baseURL, token, {
    viewport: { width: 360, height: 740 },
  });
  for (const path of ['/', '/rolecard', '/books', '/personas', '/chat', '/support', '/login']) {
    await page.goto(path);
    await appReady(page);
    await page.getByTestId('user-name').waitFor({ state: 'attached' });
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    );
    assert.equal(overflow, 0, `${path} overflows by ${overflow}px`);
  }
  await page.goto('/rolecard');
  await page.getByRole('button', { name: 'Generate role card' }).waitFor();
  await screenshot(page, 'rolecard-phone');
  assert.deepEqual(errors, []);
  await context.close();
});
