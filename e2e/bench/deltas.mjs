// Browser benchmark (a measurement, not a test): 10,000 deltas appended to
// one streaming message on the personas page, watched by Chromium's
// PerformanceObserver for long tasks (> 50 ms on the main thread).
//
// A tiny OpenAI-compatible server streams 10,000 deltas of 30 characters
// (the persona chunk size, so each delta is one `chunk` on the socket);
// chorus runs with `--llm openai --openai-base-url <it> --chunk-delay-ms 0`.
//
//   CHORUS_BIN=target/release/chorus CHORUS_DIST=dist node e2e/bench/deltas.mjs [--json FILE] [--deltas N]

import { createServer } from 'node:http';
import { writeFileSync } from 'node:fs';
import { startServer, launchBrowser, openPage, appReady } from '../harness.mjs';

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const DELTAS = Number(opt('--deltas', 10_000));
const JSON_OUT = opt('--json', null);
const PIECE = 'abcdefghij klmnopqrs tuvwxyz. '; // 30 characters

/** An OpenAI-compatible `/chat/completions` that streams DELTAS deltas. */
function fakeProvider() {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      let out = '';
      for (let i = 0; i < DELTAS; i++) {
        out += `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: PIECE } }] })}\n\n`;
      }
      out += `data: ${JSON.stringify({ id: 'c1', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\n`;
      out += 'data: [DONE]\n\n';
      res.end(out);
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

const provider = await fakeProvider();
const providerURL = `http://127.0.0.1:${provider.address().port}/v1`;
const server = await startServer([
  '--llm', 'openai', '--openai-base-url', providerURL, '--chunk-delay-ms', '0', '--no-limits',
]);
const browser = await launchBrowser();
let result;
let observerWorks = false;
try {
  const { page, context } = await openPage(browser, server.baseURL);
  await page.addInitScript(() => {
    window.__longTasks = [];
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) window.__longTasks.push({ start: e.startTime, duration: e.duration });
    }).observe({ type: 'longtask', buffered: true });
  });
  await page.goto('/personas');
  await appReady(page);
  await page.locator('[data-state="open"]').filter({ hasText: 'Online' }).first().waitFor();
  // One persona: unpress the other two of the default three.
  for (const name of ['Creative Writer', 'Data Scientist']) {
    const b = page.getByRole('button', { name });
    if ((await b.getAttribute('aria-pressed')) === 'true') await b.click();
  }
  // The observer must see a long task: a deliberate 120 ms one first.
  await page.evaluate(() => { const t = performance.now(); while (performance.now() - t < 120) {} });
  // Entries are delivered when the browser gets round to it: wait a while.
  observerWorks = false;
  for (let i = 0; i < 30 && !observerWorks; i++) {
    await page.waitForTimeout(100);
    observerWorks = (await page.evaluate(() => window.__longTasks.length)) > 0;
  }
  // Seen to miss its first entry now and then when run after the server
  // benchmarks: say so in the result rather than lose the run.
  if (!observerWorks) console.warn('browser-deltas: the longtask observer did not report the 120 ms check task');
  await page.evaluate(() => { window.__longTasks = []; });
  await page.getByLabel('Your message').fill('Stream me ten thousand deltas.');
  const t0 = Date.now();
  // Only tasks from here on count (not the deliberate one above).
  const sentAt = await page.evaluate(() => performance.now());
  await page.getByRole('button', { name: 'Send' }).click();
  const col = page.locator('article.column[data-persona="tech_enthusiast"]');
  await col.getByTestId('column-status').filter({ hasText: 'Done' }).waitFor({ timeout: 300_000 });
  const wall = Date.now() - t0;
  const chars = (await col.getByTestId('column-text').innerText()).length;
  const tasks = (await page.evaluate(() => window.__longTasks)).filter((t) => t.start >= sentAt);
  const durations = tasks.map((t) => t.duration);
  result = {
    scenario: 'browser-deltas',
    deltas: DELTAS,
    chars_shown: chars,
    wall_ms: wall,
    long_tasks: tasks.length,
    longest_task_ms: durations.length ? Math.max(...durations) : 0,
    long_task_total_ms: durations.reduce((a, b) => a + b, 0),
    target: 'no long task over 50 ms',
    observer_checked: observerWorks,
  };
  await context.close();
} finally {
  await browser.close();
  await server.stop();
  provider.close();
}
console.log(
  `browser-deltas  ${result.deltas} deltas in ${result.wall_ms} ms; ${result.chars_shown} chars shown; ` +
  `${result.long_tasks} long tasks, longest ${result.longest_task_ms.toFixed(0)} ms, total ${result.long_task_total_ms.toFixed(0)} ms`,
);
if (JSON_OUT) writeFileSync(JSON_OUT, JSON.stringify(result, null, 2) + '\n');
