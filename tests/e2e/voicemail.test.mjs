// The voicemail page in Chromium: a greeting recorded with the (fake) microphone through
// MediaRecorder, converted in the page to a 16 kHz mono WAV, stored by the gateway, played
// back in the page and removed. (Messages themselves are left by callers once the gateway's
// media plane answers calls; their list, playback and deletion are covered by
// gateway/tests/api_voicemail.rs.)
import { test, before, after } from 'node:test';
import { gateway, launch, login, assert } from './lib.mjs';

let browser;
before(async () => { await gateway.start(); browser = await launch(); });
after(async () => { await browser?.close(); await gateway.kill(); });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test('a greeting is recorded in the page, kept as WAV, played back and removed', { timeout: 60000 }, async () => {
  const a = (await login(browser, '101')).page;
  await a.click('#nav-voicemail');
  await a.waitForSelector('#voicemail-view');
  await a.waitForSelector('#voicemail-empty');
  const busy = '#greetings .greeting[data-situation="busy"]';
  assert.equal(await a.getAttribute(busy, 'data-recorded'), 'false');
  await a.waitForSelector(`${busy} .greeting-builtin`);
  // The built-in greeting (espeak-ng, in the page's language) plays: its player loads it.
  const builtin = await a.evaluate(async (sel) => {
    const el = document.querySelector(`${sel} .greeting-play.builtin`);
    el.preload = 'auto';
    el.load();
    await new Promise((res, rej) => { el.onloadedmetadata = res; el.onerror = () => rej(new Error('audio error')); });
    return el.duration;
  }, busy);
  assert.ok(builtin > 3 && builtin < 15, `built-in greeting of ${builtin} s`);

  // Record about 1.5 s, then stop: the greeting is saved for "busy" only.
  await a.click(`${busy} .greeting-record`);
  await a.waitForSelector(`${busy} .greeting-stop`);
  assert.ok(await a.isDisabled('#greetings .greeting[data-situation="offline"] .greeting-record'),
    'one recording at a time');
  await sleep(1500);
  await a.click(`${busy} .greeting-stop`);
  await a.waitForSelector(`${busy}[data-recorded="true"]`, { timeout: 10000 });
  assert.equal(await a.getAttribute('#greetings .greeting[data-situation="offline"]', 'data-recorded'), 'false');
  assert.equal(await a.locator('#voicemail-error').count(), 0);

  // What the gateway keeps: a 16 kHz mono 16-bit WAV about as long as the recording, with
  // sound in it (Chromium's fake microphone beeps).
  const wav = await a.evaluate(async () => {
    const list = await (await fetch('/api/v1/me/greetings')).json();
    const r = await fetch('/api/v1/me/greetings/busy');
    const b = new DataView(await r.arrayBuffer());
    const tag = (o) => String.fromCharCode(...[0, 1, 2, 3].map((i) => b.getUint8(o + i)));
    let peak = 0;
    for (let o = 44; o + 1 < b.byteLength; o += 2) peak = Math.max(peak, Math.abs(b.getInt16(o, true)));
    return {
      type: r.headers.get('content-type'), riff: tag(0), wave: tag(8),
      channels: b.getUint16(22, true), rate: b.getUint32(24, true), bits: b.getUint16(34, true),
      duration: list.greetings[0].duration_ms, peak,
    };
  });
  assert.equal(wav.type, 'audio/wav');
  assert.deepEqual([wav.riff, wav.wave, wav.channels, wav.rate, wav.bits], ['RIFF', 'WAVE', 1, 16000, 16]);
  assert.ok(wav.duration >= 1000 && wav.duration <= 4000, `duration ${wav.duration} ms`);
  assert.ok(wav.peak > 1000, `the recording has sound (peak ${wav.peak})`);

  // Played back in the page: the player loads it and knows its length.
  const seconds = await a.evaluate(async (sel) => {
    const el = document.querySelector(`${sel} .greeting-play:not(.builtin)`);
    el.preload = 'auto';
    el.load();
    await new Promise((res, rej) => { el.onloadedmetadata = res; el.onerror = () => rej(new Error('audio error')); });
    return el.duration;
  }, busy);
  assert.ok(Math.abs(seconds * 1000 - wav.duration) < 100, `player ${seconds} s vs ${wav.duration} ms`);

  // It survives a reload; removing it brings the built-in one back.
  await a.reload();
  await a.waitForSelector('#reg-status[data-state="registered"]', { timeout: 15000 });
  await a.click('#nav-voicemail');
  await a.waitForSelector(`${busy}[data-recorded="true"]`);
  await a.click(`${busy} .greeting-remove`);
  await a.waitForSelector(`${busy}[data-recorded="false"]`);
  const left = await a.evaluate(async () => (await (await fetch('/api/v1/me/greetings')).json()).greetings.length);
  assert.equal(left, 0);
  assert.equal(await a.locator('#voicemail-badge').count(), 0, 'no new messages, no badge');
  await a.context().close();
});
