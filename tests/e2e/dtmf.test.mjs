// DTMF from the in-call keypad: a baresip softphone in WebRTC mode (DTLS-SRTP, ICE, Opus) over
// UDP calls the web app (Chromium), which answers; its offer is WebRTC media already, so the
// gateway leaves the media peer to peer (no bridge). Digits pressed on the keypad and typed on
// the keyboard go out as RFC 4733 telephone-events through the browser's RTCDTMFSender, and
// baresip reports each event it receives. The test asserts baresip got exactly those digits, in
// order. When the media cannot carry them (no telephone-event), the keys go as SIP INFO and the
// far end's web app shows them. (Keys from a browser to a plain RTP desk phone cross the
// gateway's media bridge: bridge.test.mjs.)
import { test, before, after } from 'node:test';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { gateway, login, callState, inboundBytes, PASSWORDS, assert, CHROMIUM_ARGS } from './lib.mjs';
import { Baresip, BARESIP, GW_SIP, esc } from './baresip-lib.mjs';

const require = createRequire(new URL('../../tools/package.json', import.meta.url));

/** Chromium without loopback ICE candidates: it then offers only the veth address
 * (192.0.2.1), as baresip does. With two candidate pairs baresip (1.0.0) takes the first that
 * checks while Chromium nominates the other, and their DTLS handshakes never meet. */
function launchWithoutLoopback() {
  const { chromium } = require('playwright-core');
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS.filter((a) => a !== '--allow-loopback-in-peer-connection'),
  });
}

let browser;
let phone;
before(async () => { await gateway.start(['--sip-udp', GW_SIP]); browser = await launchWithoutLoopback(); });
after(async () => {
  await phone?.stop();
  await browser?.close();
  await gateway.kill();
});

/** The telephone-events baresip received, in order: one per key press (its "end" reports
 * are left out). */
function receivedDigits(p) {
  return [...p.log().matchAll(/received event: '(.)' \(end=0\)/g)].map((m) => m[1]).join('');
}

test('digits pressed on the in-call keypad reach a WebRTC SIP softphone as RFC 4733 events, peer to peer', { timeout: 90000 }, async () => {
  assert.ok(existsSync(BARESIP), `${BARESIP} missing`);
  phone = new Baresip('103', {
    sip: '127.0.0.1:5331', rtp: [20400, 20419], tone: 440, pass: PASSWORDS[103], auto: true, webrtc: true,
  });
  await phone.waitFor(new RegExp(`${esc('103')}@[\\d.]+: \\{0/UDP/v4\\} 200 OK`), 'registered', 10000,
    /reg: [^\n]*\b[3-6]\d\d [^\n]*/);

  const alice = (await login(browser, '101')).page;
  phone.send(`/dial sip:101@${GW_SIP}`);
  try {
    await callState(alice, 'incoming', 15000);
    await alice.click('#answer-audio');
    await callState(alice, 'connected', 20000);
    // Media flows from baresip (its sine tone, Opus over DTLS-SRTP).
    assert.ok(await inboundBytes(alice, 20000) > 0);
  } catch (e) {
    e.message += `\n--- baresip ---\n${phone.log()}`;
    throw e;
  }

  // No keypad until asked for.
  assert.equal(await alice.$('#call-keypad'), null);
  await alice.click('#keypad-toggle');
  await alice.waitForSelector('#call-keypad');
  assert.equal(await alice.getAttribute('#keypad-toggle', 'aria-expanded'), 'true');
  const keys = await alice.$$eval('#call-keypad [data-digit]', (b) => b.map((x) => x.dataset.digit).join(''));
  assert.equal(keys, '123456789*0#');

  // Buttons, then the keyboard, then a button again.
  let expected = '';
  for (const d of ['1', '2', '3']) { await alice.click(`#call-keypad [data-digit="${d}"]`); expected += d; }
  for (const d of ['4', '#', '*', '0', '9']) { await alice.keyboard.press(d); expected += d; }
  await alice.click('#call-keypad [data-digit="5"]');
  expected += '5';
  // Keys that are not digits send nothing (Enter would press the focused keypad button).
  for (const k of ['x', 'E', 'Shift', 'F2']) await alice.keyboard.press(k);

  try {
    await alice.waitForSelector(`#dtmf-sent[data-digits="${expected}"]`, { timeout: 5000 });
  } catch (e) {
    const shown = await alice.getAttribute('#dtmf-sent', 'data-digits').catch(() => null);
    const error = await alice.textContent('#dtmf-error').catch(() => null);
    e.message += `\nshown: ${shown}, error: ${error}\n--- page ---\n${alice.dumpLog()}\n--- baresip ---\n${phone.log()}`;
    throw e;
  }
  assert.equal((await alice.textContent('#dtmf-sent')).trim(), expected);
  assert.equal(await alice.$('#dtmf-error'), null, 'the sender could insert DTMF');
  // Each tone lasts 100 ms with 70 ms between: wait until baresip has them all.
  try {
    await phone.waitFor(new RegExp(`(?:received event: '.' \\(end=0\\)[\\s\\S]*?){${expected.length}}`),
      `${expected.length} DTMF events`, 15000);
  } catch (e) {
    e.message += `\n--- baresip ---\n${phone.log()}\n--- page ---\n${alice.dumpLog()}`;
    throw e;
  }
  assert.equal(receivedDigits(phone), expected, phone.log());

  // The keypad closes and the call goes on; hanging up ends it on both sides.
  await alice.click('#keypad-toggle');
  await alice.waitForSelector('#call-keypad', { state: 'detached' });
  await alice.click('#hangup');
  await callState(alice, 'idle');
  await phone.waitFor(/terminated|closed/i, 'the call ends at baresip', 10000);
  await alice.context().close();
});

test('a call whose media cannot carry DTMF sends the keys as SIP INFO, shown at the far end', { timeout: 60000 }, async () => {
  const alice = (await login(browser, '101')).page;
  const bob = (await login(browser, '102')).page;
  // As when the far end offered no telephone-event: the browser's RTCDTMFSender reports
  // canInsertDTMF false (test instrumentation, before the app loads again).
  await alice.addInitScript(() => {
    Object.defineProperty(RTCDTMFSender.prototype, 'canInsertDTMF', { configurable: true, get: () => false });
  });
  await alice.reload();
  await alice.waitForSelector('#reg-status[data-state="registered"]', { timeout: 15000 });
  await alice.fill('#dial-input', '102');
  await alice.click('#call-audio');
  await callState(bob, 'incoming');
  await bob.click('#answer-audio');
  await callState(alice, 'connected');
  await alice.click('#keypad-toggle');
  for (const d of ['1', '5', '#']) await alice.click(`#call-keypad [data-digit="${d}"]`);
  await alice.waitForSelector('#dtmf-sent[data-digits="15#"]', { timeout: 10000 });
  assert.equal(await alice.locator('#dtmf-error').count(), 0, 'no error: INFO carried them');
  // Bob's app shows the keys its user agent got as SIP INFO.
  await bob.waitForSelector('#dtmf-received[data-digits="15#"]', { timeout: 10000 });
  await alice.click('#hangup');
  await callState(bob, 'idle');
  for (const p of [alice, bob]) await p.context().close();
});
