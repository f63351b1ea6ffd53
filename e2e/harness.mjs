// The browser-test harness every page's tests use: starts the real `chorus`
// server on a free port with the release app, launches Debian's Chromium
// through playwright-core, and gives each test a page that records console
// errors and saves screenshots.
//
//   CHORUS_BIN   the server binary (default target/debug/chorus)
//   CHORUS_DIST  the built app (default dist)

import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const screenshotDir = join(root, 'e2e', 'screenshots');

/** Starts `chorus` with a fresh SQLite database; resolves once it listens. */
export async function startServer(extraArgs = [], env = {}) {
  const bin = process.env.CHORUS_BIN ?? join(root, 'target', 'debug', 'chorus');
  const dist = process.env.CHORUS_DIST ?? join(root, 'dist');
  if (!existsSync(bin)) throw new Error(`no server binary at ${bin}: run cargo build first`);
  if (!existsSync(join(dist, 'index.html'))) throw new Error(`no built app in ${dist}`);
  const dataDir = mkdtempSync(join(tmpdir(), 'chorus-e2e-'));
  const child = spawn(
    bin,
    [
      '--bind', '127.0.0.1:0',
      '--dist', dist,
      '--database-url', `sqlite://${dataDir}/e2e.db`,
      '--data-dir', dataDir,
      ...extraArgs,
    ],
    { env: { ...process.env, RUST_LOG: 'info', NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  const baseURL = await new Promise((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${log}`)), 30_000);
    const onData = (buf) => {
      log += buf.toString();
      const m = log.match(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
      if (m) {
        clearTimeout(timer);
        resolveUrl(m[1]);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => reject(new Error(`server exited with ${code}:\n${log}`)));
  });
  return {
    baseURL,
    /** The server's database, for `chorus users …` and `chorus credits …`. */
    databaseUrl: `sqlite://${dataDir}/e2e.db`,
    log: () => log,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Launches headless Chromium from Debian's package; never downloads one. */
export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/**
 * A fresh page (own context) that records console errors and page errors.
 * `errors` lists them; a test ends with `assert.deepEqual(errors, [])`.
 */
export async function openPage(browser, baseURL, options = {}) {
  const context = await browser.newContext({ baseURL, ...options });
  const page = await context.newPage();
  const errors = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(`console: ${msg.text()}`);
  });
  page.on('pageerror', (err) => errors.push(`page error: ${err.message}`));
  return { page, context, errors };
}

/** Saves a full-page screenshot as e2e/screenshots/<name>.png. */
export async function screenshot(page, name) {
  mkdirSync(screenshotDir, { recursive: true });
  await page.screenshot({ path: join(screenshotDir, `${name}.png`), fullPage: true });
}

/** Waits until the wasm app has mounted (the page's h1 is rendered). */
export async function appReady(page) {
  await page.locator('main h1').first().waitFor({ state: 'visible', timeout: 20_000 });
}

/**
 * A TCP proxy in front of the server, so a test can cut every open
 * connection mid-stream (`cut()`) and see the app recover through it.
 */
export async function startProxy(targetURL) {
  const { createServer, connect } = await import('node:net');
  const target = new URL(targetURL);
  const sockets = new Set();
  let refusing = false;
  const server = createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    const upstream = connect(Number(target.port), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {});
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    baseURL: `http://127.0.0.1:${server.address().port}`,
    /** Destroys every connection open now; new ones still go through. */
    cut() {
      for (const s of sockets) s.destroy();
    },
    /** While set, new connections are dropped at once (the server is "down"). */
    refuse(on) {
      refusing = on;
    },
    close() {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

/** Registers `username` on the server; returns its token. */
export async function register(baseURL, username, password = 'correct horse') {
  const res = await fetch(`${baseURL}/api/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  if (res.status !== 201) throw new Error(`register ${username}: ${res.status} ${await res.text()}`);
  return (await res.json()).token;
}

/** A page (own context) whose app starts signed in with `token`. */
export async function openSignedIn(browser, baseURL, token, options = {}) {
  const opened = await openPage(browser, baseURL, options);
  await opened.page.addInitScript((t) => localStorage.setItem('chorus.token', t), token);
  return opened;
}
