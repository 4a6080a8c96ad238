// Shared helpers for the browser end-to-end tests (node:test + playwright-core + Debian Chromium).
import { createRequire } from 'node:module';
// The npm tools live in tools/ (pinned by its package-lock.json).
// playwright-core is loaded on first use, so tests without a browser (baresip.test.mjs) need
// nothing from there.
const require = createRequire(new URL('../../tools/package.json', import.meta.url));
import { writeFileSync, readFileSync, existsSync } from 'node:fs';
import assert from 'node:assert/strict';

export const BASE = process.env.CENTRALA_URL ?? 'http://127.0.0.1:8080';
export const PASSWORDS = JSON.parse(process.env.CENTRALA_PASSWORDS ?? '{}');
export const ARTIFACTS = process.env.E2E_ARTIFACTS ?? '/tmp';

/** The gateway under test, started by each test file (so one can restart it). `extraArgs` go
 * to `centrala serve` (e.g. `['--sip-udp', '127.0.0.1:5060']`). */
export const gateway = {
  proc: null,
  async start(extraArgs = []) {
    const { spawn } = await import('node:child_process');
    const { openSync } = await import('node:fs');
    const log = openSync(`${ARTIFACTS}/gateway.log`, 'a');
    this.proc = spawn(process.env.CENTRALA_BIN, [
      'serve', '--listen', '127.0.0.1:8080', '--data', process.env.CENTRALA_DATA_DIR,
      '--web-root', `${process.env.ROOT}/dist`, ...extraArgs,
    ], { stdio: ['ignore', log, log], env: { ...process.env, RUST_LOG: process.env.GATEWAY_LOG ?? 'info' } });
    for (let i = 0; i < 100; i++) {
      try {
        if ((await fetch(`${BASE}/healthz`)).ok) return;
      } catch { /* not up yet */ }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('gateway did not start');
  },
  /** Kills the gateway as a crash would (SIGKILL) and waits for it to be gone. */
  async kill() {
    if (!this.proc) return;
    const exited = new Promise((r) => this.proc.once('exit', r));
    this.proc.kill('SIGKILL');
    await exited;
    this.proc = null;
  },
};

export const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
  '--allow-loopback-in-peer-connection',
];

export async function launch() {
  const { chromium } = require('playwright-core');
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
  });
}

/** A 48 kHz mono 16-bit WAV of a sine tone. */
export function toneWav(path, hz, secs) {
  const rate = 48000;
  const n = rate * secs;
  const b = Buffer.alloc(44 + n * 2);
  b.write('RIFF', 0); b.writeUInt32LE(36 + n * 2, 4); b.write('WAVE', 8);
  b.write('fmt ', 12); b.writeUInt32LE(16, 16); b.writeUInt16LE(1, 20); b.writeUInt16LE(1, 22);
  b.writeUInt32LE(rate, 24); b.writeUInt32LE(rate * 2, 28); b.writeUInt16LE(2, 32); b.writeUInt16LE(16, 34);
  b.write('data', 36); b.writeUInt32LE(n * 2, 40);
  for (let i = 0; i < n; i++) b.writeInt16LE(Math.round(12000 * Math.sin(2 * Math.PI * hz * i / rate)), 44 + i * 2);
  writeFileSync(path, b);
}

/** Chromium whose fake microphone plays a `hz` sine tone (a 10 s file, looped). */
export async function launchWithTone(hz) {
  const { chromium } = require('playwright-core');
  const file = `${ARTIFACTS}/tone-${hz}.wav`;
  toneWav(file, hz, 10);
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: [...CHROMIUM_ARGS, `--use-file-for-fake-audio-capture=${file}`],
  });
}

/** A fresh browser context (its own storage), with a page that logs its console on failure. */
export async function newPage(browser, name) {
  const context = await browser.newContext({ permissions: ['microphone', 'camera'] });
  const page = await context.newPage();
  const log = [];
  page.on('console', (m) => log.push(`[${name}] ${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => log.push(`[${name}] pageerror: ${e.message}`));
  page.dumpLog = () => log.join('\n');
  return page;
}

/** Loads a client bundled by run.sh (`target/e2e/<file>`, e.g. `jssip.js`) into `page` the way
 * a real deployment would: as a script from the page's own origin, served by a route at
 * `/e2e-bundle/<file>`, so it runs under the gateway's real Content-Security-Policy
 * (script-src 'self', no inline scripts) rather than around it. */
export async function addBundle(page, file) {
  const body = readFileSync(`${ARTIFACTS}/${file}`, 'utf8');
  await page.route(`**/e2e-bundle/${file}`, (route) =>
    route.fulfill({ status: 200, contentType: 'application/javascript', body }));
  await page.addScriptTag({ url: `/e2e-bundle/${file}` });
}

/** The web login e-mail of extension `ext` (see in-netns.sh). */
export const emailOf = (ext) => `e2e${ext}@example.com`;

/** Opens the web app and logs in by e-mail; returns the page and the time from navigation to
 * "registered". */
export async function login(browser, ext, password = PASSWORDS[ext]) {
  const page = await newPage(browser, ext);
  const t0 = Date.now();
  await page.goto(BASE);
  await page.fill('#login-email', emailOf(ext));
  await page.fill('#login-password', password);
  await page.click('#login-submit');
  try {
    await page.waitForSelector('#reg-status[data-state="registered"]', { timeout: 15000 });
  } catch (e) {
    console.error(page.dumpLog());
    throw e;
  }
  return { page, registeredMs: Date.now() - t0 };
}

export async function callState(page, state, timeout = 15000) {
  try {
    await page.waitForSelector(`#call-panel[data-state="${state}"]`, { timeout });
  } catch (e) {
    console.error(page.dumpLog());
    throw e;
  }
}

/** Waits until the call panel reports inbound RTP bytes > 0 and returns the count. */
export async function inboundBytes(page, timeout = 15000) {
  const handle = await page.waitForFunction(() => {
    const el = document.querySelector('#call-stats');
    const n = el ? Number(el.getAttribute('data-rx-bytes') ?? 0) : 0;
    return n > 0 ? n : false;
  }, null, { timeout, polling: 250 });
  return handle.jsonValue();
}

/** Appends figures to target/e2e/metrics.json. */
export function recordMetric(name, value) {
  const file = `${ARTIFACTS}/metrics.json`;
  const all = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : {};
  all[name] = value;
  writeFileSync(file, JSON.stringify(all, null, 2));
  console.log(`metric ${name} = ${JSON.stringify(value)}`);
}

export { assert };

/** Debian's Firefox ESR under puppeteer-core over WebDriver BiDi (no geckodriver), with fake
 * media devices and no permission prompts. Its ICE needs an interface besides lo: in-netns.sh
 * adds one. */
export async function launchFirefox() {
  const puppeteer = require('puppeteer-core');
  return puppeteer.launch({
    browser: 'firefox',
    executablePath: process.env.FIREFOX ?? '/usr/bin/firefox-esr',
    headless: true,
    extraPrefsFirefox: {
      'media.navigator.streams.fake': true,
      'media.navigator.permission.disabled': true,
      'media.autoplay.default': 0,
    },
  });
}

/** Logs `ext` in to the web app in Firefox (a new window with its own storage). */
export async function loginFirefox(browser, ext, password = PASSWORDS[ext]) {
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  // The desktop layout (as playwright's default window), where the dial pad is beside the list.
  await page.setViewport({ width: 1280, height: 720 });
  const log = [];
  page.on('console', (m) => log.push(`[ff ${ext}] ${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => log.push(`[ff ${ext}] pageerror: ${e.message}`));
  page.dumpLog = () => log.join('\n');
  const t0 = Date.now();
  await page.goto(BASE);
  await page.waitForSelector('#login-email');
  await page.type('#login-email', emailOf(ext));
  await page.type('#login-password', password);
  await page.click('#login-submit');
  try {
    await page.waitForSelector('#reg-status[data-state="registered"]', { timeout: 20000 });
  } catch (e) {
    console.error(page.dumpLog());
    throw e;
  }
  return { page, registeredMs: Date.now() - t0 };
}
