// The hybrid chat in the browser (the hybrid chat protocol): a visitor chats until the free
// limit, sees the sign-in prompt with their message kept, signs in (their
// chat moving into the account) and goes on; search across one's chats; regenerate with version arrows, rename and delete in the sidebar (and
// another tab following along), a refresh during a reply re-attaches, and
// Stop keeps what was written.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, openPage, openSignedIn, register, screenshot, appReady } from './harness.mjs';

let server;
let slow;
let browser;

before(async () => {
  server = await startServer(['--anon-message-limit', '2', '--chunk-delay-ms', '30']);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await slow?.stop();
});

const composer = (page) => page.locator('#chat-text');
const replies = (page) => page.getByTestId('chat-reply');

/** Types `text`, sends it with Enter and waits for its reply to finish. */
async function chat(page, text) {
  const before = await replies(page).count();
  await composer(page).fill(text);
  await composer(page).press('Enter');
  await replies(page).nth(before).waitFor();
  // Finished: the composer offers Send again (Stop while it streams).
  await page.getByRole('button', { name: 'Send', exact: true }).waitFor();
  return replies(page).nth(before);
}

test('a visitor chats up to the free limit, signs in with the message kept, and goes on', async () => {
  const { page, context, errors } = await openPage(browser, server.baseURL);
  await page.goto('/chat');
  await appReady(page);
  await page.getByTestId('chat-usage').filter({ hasText: '2 of 2 free replies left' }).waitFor();

  const first = await chat(page, 'Hello <b>there</b>');
  await page.waitForURL(/\/chat\?chat=/);
  assert.ok((await first.innerText()).length > 20);
  // What the user typed is text, never markup.
  assert.equal(await page.getByTestId('chat-user').first().locator('b').count(), 0);
  assert.match(await page.getByTestId('chat-user').first().innerText(), /Hello <b>there<\/b>/);
  // The sidebar lists the new chat, titled from the first message.
  await page.getByTestId('chat-list').getByRole('link', { name: 'Hello <b>there</b>' }).waitFor();
  await page.getByTestId('chat-usage').filter({ hasText: '1 of 2 free replies left' }).waitFor();

  await chat(page, 'Tell me more');
  await page.getByTestId('chat-usage').filter({ hasText: 'All 2 free replies used' }).waitFor();

  await composer(page).fill('Keep this message');
  await composer(page).press('Enter');
  const prompt = page.getByTestId('chat-signin');
  await prompt.waitFor();
  assert.equal(await composer(page).inputValue(), 'Keep this message');
  assert.equal(await replies(page).count(), 2, 'no reply was written');
  await screenshot(page, 'chat-anon-limit');

  await prompt.getByRole('link', { name: 'Sign in or create an account' }).click();
  await page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
  await page.getByRole('button', { name: 'Create account' }).first().click();
  await page.getByLabel('Username').fill('chat_e2e');
  await page.getByLabel('Password').fill('correct horse battery');
  await page.locator('form button[type="submit"]').click();
  await page.waitForURL('**/chat');
  // The message waited for them.
  await page.getByTestId('chat-usage').filter({ hasText: 'credits' }).waitFor();
  assert.equal(await composer(page).inputValue(), 'Keep this message');
  // The chat they had as a visitor moved into the account.
  await page.getByTestId('chat-list').getByRole('link', { name: 'Hello <b>there</b>' }).waitFor();
  const reply = await chat(page, 'Keep this message');
  assert.ok((await reply.innerText()).length > 20);
  await page.waitForURL(/\/chat\?chat=/);
  await screenshot(page, 'chat-signed-in');
  assert.deepEqual(errors, []);
  await context.close();
});

test('regenerate keeps both versions; rename and delete reach another tab', async () => {
  const token = await register(server.baseURL, 'chat_tabs');
  const one = await openSignedIn(browser, server.baseURL, token);
  const page = one.page;
  await page.goto('/chat');
  await appReady(page);
  const first = await chat(page, 'Explain tides');
  const original = await first.locator('.md').innerText();

  await first.getByRole('button', { name: 'Regenerate' }).click();
  await first.getByText('2 / 2').waitFor();
  await page.getByRole('button', { name: 'Send', exact: true }).waitFor();
  await first.getByRole('button', { name: 'Previous version' }).click();
  await first.getByText('1 / 2').waitFor();
  assert.equal(await first.locator('.md').innerText(), original);
  await first.getByRole('button', { name: 'Next version' }).click();
  await first.getByText('2 / 2').waitFor();
  await screenshot(page, 'chat-versions');

  // A second tab of the same user follows the sidebar.
  const two = await openSignedIn(browser, server.baseURL, token);
  await two.page.goto('/chat');
  await appReady(two.page);
  const otherList = two.page.getByTestId('chat-list');
  await otherList.getByRole('link', { name: 'Explain tides' }).waitFor();

  await page.getByRole('button', { name: 'Rename Explain tides' }).click();
  await page.getByLabel('New title').fill('Tides');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByTestId('chat-list').getByRole('link', { name: 'Tides', exact: true }).waitFor();
  await otherList.getByRole('link', { name: 'Tides', exact: true }).waitFor();

  await page.getByRole('button', { name: 'Delete Tides' }).click();
  await page.getByRole('button', { name: 'Yes, delete Tides' }).click();
  await page.waitForURL('**/chat');
  await page.getByText('Your chats will show here.').waitFor();
  await two.page.getByText('Your chats will show here.').waitFor();
  assert.deepEqual(one.errors, []);
  assert.deepEqual(two.errors, []);
  await one.context.close();
  await two.context.close();
});

test('a refresh during a reply re-attaches to it and it finishes; stop keeps the text', async () => {
  // Slow chunks, so the reply is still being written after the reload.
  slow = await startServer(['--chunk-delay-ms', '400']);
  const { page, context, errors } = await openPage(browser, slow.baseURL);
  await page.goto('/chat');
  await appReady(page);
  await composer(page).fill('Write me a story');
  await composer(page).press('Enter');
  await page.waitForURL(/\/chat\?chat=/);
  await page.getByRole('button', { name: 'Stop' }).waitFor();
  await page.reload();
  await appReady(page);
  // Still streaming after the reload, then done.
  await page.getByRole('button', { name: 'Stop' }).waitFor();
  await page.getByRole('button', { name: 'Send', exact: true }).waitFor({ timeout: 30_000 });
  assert.equal(await replies(page).count(), 1);
  const text = await replies(page).first().innerText();
  assert.ok(text.length > 20, text);
  // It was saved whole: a fresh load shows the same reply.
  await page.reload();
  await appReady(page);
  await replies(page).first().waitFor();
  assert.equal(await replies(page).first().innerText(), text);

  // Stop keeps what was written, on screen and saved.
  await composer(page).fill('Another long one please');
  await composer(page).press('Enter');
  await replies(page).nth(1).locator('.md').waitFor(); // some text has arrived
  await page.getByRole('button', { name: 'Stop' }).click();
  await page.getByRole('button', { name: 'Send', exact: true }).waitFor();
  assert.equal(await replies(page).count(), 2);
  assert.ok((await replies(page).nth(1).innerText()).length > 0);
  await page.reload();
  await appReady(page);
  await replies(page).nth(1).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Stop' }).count(), 0, 'nothing runs after a stop');
  assert.deepEqual(errors, []);
  await context.close();
});

test('rename keeps keyboard focus, and delete asks first', async () => {
  const token = await register(server.baseURL, 'chat_focus');
  const { page, context, errors } = await openSignedIn(browser, server.baseURL, token);
  await page.goto('/chat');
  await appReady(page);
  await page.getByTestId('chat-cost').filter({ hasText: 'A reply costs 1 credit per token it writes' }).waitFor();
  await chat(page, 'Explain rainbows');
  // What that reply cost, the balance after it, and what it still buys.
  await page.getByTestId('chat-cost').filter({ hasText: /The last reply cost [\d,]+ credits; [\d,]+ left, about [\d,]+ more like it/ }).waitFor();
  const list = page.getByTestId('chat-list');
  await list.getByRole('link', { name: 'Explain rainbows' }).waitFor();

  await page.getByRole('button', { name: 'Rename Explain rainbows' }).click();
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'chat-rename', 'focus moves to the title');
  await page.keyboard.press('Control+A');
  await page.keyboard.type('Rainbows');
  await page.keyboard.press('Enter');
  await list.getByRole('link', { name: 'Rainbows', exact: true }).waitFor();
  await page.waitForFunction(() => document.activeElement?.getAttribute('aria-label') === 'Rename Rainbows');
  // Escape cancels and gives focus back too.
  await page.keyboard.press('Enter');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'chat-rename');
  await page.keyboard.press('Escape');
  await page.waitForFunction(() => document.activeElement?.getAttribute('aria-label') === 'Rename Rainbows');

  // Delete asks before it deletes; Cancel keeps the chat.
  await page.getByRole('button', { name: 'Delete Rainbows' }).click();
  const confirm = page.getByRole('button', { name: 'Yes, delete Rainbows' });
  await confirm.waitFor();
  await page.getByRole('button', { name: 'Keep Rainbows' }).click();
  await page.waitForTimeout(500);
  assert.equal(await list.getByRole('link', { name: 'Rainbows', exact: true }).count(), 1);
  await page.getByRole('button', { name: 'Delete Rainbows' }).click();
  await confirm.click();
  await list.getByRole('link', { name: 'Rainbows', exact: true }).waitFor({ state: 'detached' });
  assert.deepEqual(errors, []);
  await context.close();
});

test('edit and resend: the message gets a new version and its reply is written again, by keyboard too', async () => {
  const token = await register(server.baseURL, 'chat_edit');
  const { page, context, errors } = await openSignedIn(browser, server.baseURL, token);
  await page.goto('/chat');
  await appReady(page);
  const first = await chat(page, 'Explain tides');
  const original = await first.locator('.md').innerText();
  const question = page.getByTestId('chat-user').first();
  const edit = question.getByRole('button', { name: 'Edit message' });
  await edit.waitFor();

  // Escape cancels: the text stays, and the focus goes back to Edit.
  await edit.click();
  const box = page.getByLabel('Edit your message');
  await box.waitFor();
  assert.equal(await box.inputValue(), 'Explain tides');
  assert.ok(await box.evaluate((el) => el === document.activeElement), 'the editor has the focus');
  await box.fill('Something else');
  await box.press('Escape');
  await box.waitFor({ state: 'detached' });
  await page.waitForFunction(() => document.activeElement?.getAttribute('aria-label') === 'Edit message');
  assert.match(await question.innerText(), /Explain tides/);

  // By keyboard: Enter on Edit, the new text, Save & resend.
  await edit.press('Enter');
  await box.fill('Explain volcanoes');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Save & resend');
  await page.keyboard.press('Enter');
  await question.getByText('2 / 2').waitFor();
  await page.getByRole('button', { name: 'Send', exact: true }).waitFor();
  const reply = replies(page).first();
  await reply.getByText('2 / 2').waitFor();
  const rewritten = await reply.locator('.md').innerText();
  assert.notEqual(rewritten, original);
  assert.match(rewritten.toLowerCase(), /volcano/, 'written from the new text');
  assert.equal(await replies(page).count(), 1, 'a new version, not a new message');
  assert.match(await question.innerText(), /Explain volcanoes/);
  // The first text is kept, one arrow away.
  await question.getByRole('button', { name: 'Previous edit' }).click();
  await question.getByText('1 / 2').waitFor();
  assert.match(await question.innerText(), /Explain tides/);
  await screenshot(page, 'chat-edited');
  // And after a reload.
  await page.reload();
  await appReady(page);
  await page.getByTestId('chat-user').first().getByText('2 / 2').waitFor();
  await replies(page).first().getByText('2 / 2').waitFor();
  assert.deepEqual(errors, []);
  await context.close();
});

test('only the conversation scrolls; it follows the reply unless scrolled up, then "Jump to latest"', async () => {
  const paced = await startServer(['--chunk-delay-ms', '120']);
  const { page, context, errors } = await openPage(browser, paced.baseURL, { viewport: { width: 900, height: 520 } });
  try {
    await page.goto('/chat');
    await appReady(page);
    const log = page.getByTestId('chat-log');
    const gap = () => log.evaluate((el) => el.scrollHeight - el.scrollTop - el.clientHeight);
    await chat(page, 'Explain how tides work');
    await composer(page).fill('And why are there two a day?');
    await composer(page).press('Enter');
    await replies(page).nth(1).locator('.md').waitFor();
    // The page itself never scrolls; the composer stays in view.
    assert.ok(await page.evaluate(() => document.scrollingElement.scrollHeight <= innerHeight));
    assert.ok(await composer(page).isVisible());
    // The reply grows between a scroll to the end and that scroll's event
    // (as under load): that is not the reader scrolling up.
    await log.evaluate((el) => {
      el.firstElementChild.style.paddingBottom = '400px';
      el.scrollTop = el.scrollHeight;
      el.firstElementChild.style.paddingBottom = '800px';
    });
    // Following the reply as it grows.
    await page.waitForTimeout(600);
    assert.equal(await page.getByRole('button', { name: /Jump to latest/ }).count(), 0, 'still following');
    assert.ok((await gap()) < 48, 'at the end while it streams');
    await log.evaluate((el) => { el.firstElementChild.style.paddingBottom = ''; });
    // Scrolled up: left alone, and offered a way back.
    await log.evaluate((el) => el.scrollTo(0, 0));
    const jump = page.getByRole('button', { name: /Jump to latest/ });
    await jump.waitFor();
    await page.waitForTimeout(600);
    assert.equal(await log.evaluate((el) => el.scrollTop), 0, 'not pulled down while reading');
    await jump.click();
    await jump.waitFor({ state: 'detached' });
    assert.ok((await gap()) < 48);
    await page.getByRole('button', { name: 'Send', exact: true }).waitFor({ timeout: 30_000 });
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
    await paced.stop();
  }
});

test('search finds a chat by a word in its messages, on the server, and opens it', async () => {
  const token = await register(server.baseURL, 'chat_search');
  const { page, context, errors } = await openSignedIn(browser, server.baseURL, token);
  await page.goto('/chat');
  await appReady(page);
  await chat(page, 'Plan a trip with zebras');
  await page.getByRole('button', { name: 'New chat' }).click();
  await page.waitForURL('**/chat');
  await chat(page, 'Explain tides');
  await page.getByTestId('chat-list').getByRole('link', { name: 'Explain tides' }).waitFor();

  const search = page.getByRole('searchbox', { name: 'Search your chats' });
  await search.fill('ZEBRA');
  const results = page.getByTestId('chat-search-results');
  const hit = results.getByRole('link', { name: /Plan a trip with zebras/ });
  await hit.waitFor();
  assert.equal(await results.getByRole('link').count(), 1, 'only the chat that says it');
  await screenshot(page, 'chat-search');
  await hit.click();
  await page.waitForURL(/chat=/);
  await page.getByTestId('chat-user').filter({ hasText: 'Plan a trip with zebras' }).waitFor();
  assert.equal(await search.inputValue(), '', 'the search is cleared once a result is opened');

  await search.fill('no such words');
  await page.getByText('No chat matches.').waitFor();
  assert.deepEqual(errors, []);
  await context.close();
});
