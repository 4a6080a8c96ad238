// Choosing devices in Settings (headless Chromium with fake devices): a non-default
// microphone is used for the next call (the outgoing audio track's deviceId), switching it
// during the call replaces the track live (no new offer) while audio keeps flowing to the far
// end; the choice survives a reload; the chosen speaker is the remote element's sinkId; a
// chosen microphone that is gone gives way to the default with a notice.
import { test, before, after } from 'node:test';
import { createRequire } from 'node:module';
import {
  gateway, launch, launchFirefox, loginFirefox, login, callState, inboundBytes, assert, CHROMIUM_ARGS, BASE, emailOf,
  PASSWORDS,
} from './lib.mjs';

const require = createRequire(new URL('../../tools/package.json', import.meta.url));

let browser;
before(async () => { await gateway.start(); browser = await launch(); });
after(async () => { await browser?.close(); await gateway.kill(); });

/** Records every RTCPeerConnection the page makes in `window.__pcs` (test instrumentation:
 * the app keeps its connections to itself). Runs before the app's script on every load. */
function instrument() {
  const Native = window.RTCPeerConnection;
  window.__pcs = [];
  window.RTCPeerConnection = function (...args) {
    const pc = new Native(...args);
    window.__pcs.push(pc);
    return pc;
  };
  window.RTCPeerConnection.prototype = Native.prototype;
  // The ringtone's AudioContext outputs: [id, "ok" or the error's name].
  window.__ringSinks = [];
  const setSinkId = AudioContext.prototype.setSinkId;
  if (setSinkId) {
    AudioContext.prototype.setSinkId = function (id) {
      const entry = [id, 'pending'];
      window.__ringSinks.push(entry);
      return setSinkId.call(this, id).then((v) => { entry[1] = 'ok'; return v; },
        (e) => { entry[1] = e.name; throw e; });
    };
  }
}

/** The device id of the audio track the newest connection sends. */
const sentMic = (page) => page.evaluate(() => {
  const pc = window.__pcs.at(-1);
  const s = pc?.getSenders().find((x) => x.track && x.track.kind === 'audio');
  return s ? s.track.getSettings().deviceId : null;
});

async function openSettings(page) {
  await page.click('#nav-settings');
  await page.waitForSelector('#mic-select');
}

/** The options of a select that name a device (not "Default"). */
const deviceOptions = (page, sel) => page.$$eval(`${sel} option`,
  (os) => os.filter((o) => o.value !== '').map((o) => ({ id: o.value, label: o.textContent.trim() })));

const rxBytes = (page) => page.evaluate(() => Number(document.querySelector('#call-stats')?.dataset.rxBytes ?? 0));

test('the chosen microphone and speaker are used, switched live, and kept', { timeout: 120000 }, async () => {
  const alice = (await login(browser, '101')).page;
  const bob = (await login(browser, '102')).page;
  await alice.addInitScript(instrument);

  await openSettings(alice);
  // Listed once Settings opens; were the devices unnamed (no permission yet), the page
  // offers to allow (this context has the microphone permission, so they are named).
  await alice.waitForFunction(() => document.querySelectorAll('#mic-select option').length >= 2
    || document.querySelector('#devices-allow'), null, { timeout: 10000 });
  if (await alice.$('#devices-allow')) await alice.click('#devices-allow');
  await alice.waitForFunction(() => document.querySelectorAll('#mic-select option').length >= 3
    && !document.querySelector('#devices-allow'), null, { timeout: 10000 });
  const mics = await deviceOptions(alice, '#mic-select');
  const speakers = await deviceOptions(alice, '#speaker-select');
  console.log(`microphones: ${JSON.stringify(mics)}\nspeakers: ${JSON.stringify(speakers)}`);
  assert.ok(mics.length >= 2, 'fake devices: several microphones');
  assert.ok(mics.every((m) => m.label && !/^Microphone \d/.test(m.label)), 'named after the permission');
  assert.ok(speakers.length >= 1, 'an output to choose');
  assert.ok(await alice.$('#camera-select') && await alice.$('#ringtone-select'));
  const [first, second] = [mics[0].id, mics.at(-1).id];
  const speaker = speakers.at(-1).id;
  await alice.selectOption('#mic-select', second);
  await alice.selectOption('#speaker-select', speaker);
  await alice.selectOption('#ringtone-select', speaker);

  // Kept across a reload (the session stays logged in).
  await alice.reload();
  await alice.waitForSelector('#reg-status[data-state="registered"]', { timeout: 15000 });
  await openSettings(alice);
  await alice.waitForFunction((id) => document.querySelector('#mic-select').value === id, second, { timeout: 10000 });
  assert.equal(await alice.inputValue('#speaker-select'), speaker);
  assert.equal(await alice.inputValue('#ringtone-select'), speaker);

  // A call sends the chosen microphone and plays on the chosen speaker.
  await alice.fill('#dial-input', '102');
  await alice.click('#call-audio');
  await callState(bob, 'incoming');
  await bob.click('#answer-audio');
  await callState(alice, 'connected');
  assert.equal(await sentMic(alice), second);
  try {
    await alice.waitForFunction((id) => document.querySelector('#remote-video').sinkId === id, speaker, { timeout: 10000 });
  } catch (e) {
    const got = await alice.evaluate(() => [document.querySelector('#remote-video').sinkId,
      document.querySelector('#device-notice')?.textContent]);
    e.message += `\nsinkId, notice: ${JSON.stringify(got)}\n${alice.dumpLog()}`;
    throw e;
  }
  const before = await inboundBytes(bob);

  // Switched during the call: the same sender gets the new track; no new offer.
  const sdpBefore = await alice.evaluate(() => window.__pcs.at(-1).localDescription.sdp);
  await openSettings(alice);
  await alice.selectOption('#mic-select', first);
  await alice.waitForFunction((id) => {
    const s = window.__pcs.at(-1).getSenders().find((x) => x.track && x.track.kind === 'audio');
    return s && s.track.getSettings().deviceId === id && s.track.readyState === 'live';
  }, first, { timeout: 10000 });
  assert.equal(await alice.evaluate(() => window.__pcs.at(-1).localDescription.sdp), sdpBefore, 'no renegotiation');
  assert.equal(await alice.evaluate(() => window.__pcs.at(-1).getSenders().length), 1);
  // Audio still flows to the far end: its received bytes keep growing after the switch.
  const atSwitch = await rxBytes(bob);
  assert.ok(atSwitch >= before);
  await bob.waitForFunction((n) => Number(document.querySelector('#call-stats').dataset.rxBytes) > n + 4000,
    atSwitch, { timeout: 10000, polling: 250 });
  assert.equal(await alice.$('#device-notice'), null, 'no device problem');
  await alice.click('#hangup');
  await callState(alice, 'idle');
  await callState(bob, 'idle');

  // A call coming in rings on the chosen ringtone output.
  await bob.fill('#dial-input', '101');
  await bob.click('#call-audio');
  await callState(alice, 'incoming');
  assert.equal(await alice.getAttribute('#call-panel', 'data-tone'), 'ring');
  await alice.waitForFunction((id) => window.__ringSinks.some(([i, r]) => i === id && r === 'ok'), speaker,
    { timeout: 10000 });
  await alice.click('#decline');
  await callState(bob, 'idle');
  await callState(alice, 'idle');

  // A chosen microphone that is gone: the call uses the default and says so.
  await alice.evaluate(() => localStorage.setItem('centrala.device.mic', 'gone-device-id'));
  await alice.fill('#dial-input', '102');
  await alice.click('#call-audio');
  await callState(bob, 'incoming');
  await bob.click('#answer-audio');
  await callState(alice, 'connected');
  const notice = await alice.textContent('#device-notice');
  assert.match(notice, /chosen microphone is not connected: the default microphone is used/);
  assert.ok(await sentMic(alice), 'a microphone is sent');
  assert.notEqual(await sentMic(alice), 'gone-device-id');
  await alice.click('#hangup');
  await callState(bob, 'idle');
  for (const p of [alice, bob]) await p.context().close();
});

test('Firefox: Settings offers the outputs it can choose and explains the others; a chosen microphone calls', { timeout: 90000 }, async () => {
  const firefox = await launchFirefox();
  try {
    const fox = (await loginFirefox(firefox, '101')).page;
    const bob = (await login(browser, '102')).page;
    await fox.click('#nav-settings');
    await fox.waitForSelector('#mic-select');
    await fox.waitForFunction(() => document.querySelectorAll('#mic-select option').length >= 2
      || document.querySelector('#devices-allow'), { timeout: 10000 });
    if (await fox.$('#devices-allow')) {
      await fox.click('#devices-allow');
      await fox.waitForFunction(() => !document.querySelector('#devices-allow'), { timeout: 10000 });
    }
    const support = await fox.evaluate(() => ({
      speaker: typeof HTMLMediaElement.prototype.setSinkId === 'function',
      ringer: typeof AudioContext.prototype.setSinkId === 'function',
    }));
    console.log(`Firefox setSinkId: media elements ${support.speaker}, AudioContext ${support.ringer}`);
    // Each output: a select where the browser can choose it, else a hint saying why not.
    assert.equal(!!(await fox.$('#speaker-select')), support.speaker);
    assert.equal(!!(await fox.$('#speaker-hint')), !support.speaker);
    assert.equal(!!(await fox.$('#ringtone-select')), support.ringer);
    assert.equal(!!(await fox.$('#ringtone-hint')), !support.ringer);
    if (!support.ringer) {
      assert.match(await fox.$eval('#ringtone-hint', (e) => e.textContent), /cannot choose the ringtone's output/);
    }
    const mics = await fox.$$eval('#mic-select option', (os) => os.filter((o) => o.value).map((o) => o.value));
    assert.ok(mics.length >= 1, 'Firefox lists its (fake) microphone');
    await fox.select('#mic-select', mics.at(-1));
    await fox.type('#dial-input', '102');
    await fox.click('#call-audio');
    await callState(bob, 'incoming');
    await bob.click('#answer-audio');
    await fox.waitForSelector('#call-panel[data-state="connected"]', { timeout: 20000 });
    assert.ok(await inboundBytes(bob, 20000) > 0, 'the chosen microphone is heard');
    assert.equal(await fox.$('#device-notice'), null);
    await bob.click('#hangup');
    await callState(bob, 'idle');
    await bob.context().close();
  } finally {
    await firefox.close();
  }
});

/** Chromium with two fake cameras (and microphones) and no automatic answer to permission
 * prompts: a context without the permissions is refused, as a user saying no would. */
function launchTwoCameras() {
  const { chromium } = require('playwright-core');
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: [...CHROMIUM_ARGS.filter((a) => !a.startsWith('--use-fake-device-for-media-stream')
      && a !== '--use-fake-ui-for-media-stream'), '--use-fake-device-for-media-stream=device-count=2'],
  });
}

/** Logs `ext` in, in a new context of `b` with these permissions. */
async function loginWith(b, ext, permissions) {
  const context = await b.newContext({ permissions });
  const page = await context.newPage();
  const log = [];
  page.on('console', (m) => log.push(`[${ext}] ${m.type()}: ${m.text()}`));
  page.dumpLog = () => log.join('\n');
  await page.goto(BASE);
  await page.fill('#login-email', emailOf(ext));
  await page.fill('#login-password', PASSWORDS[ext]);
  await page.click('#login-submit');
  await page.waitForSelector('#reg-status[data-state="registered"]', { timeout: 15000 });
  return page;
}

test('the camera switches live in a video call; refused devices are explained', { timeout: 120000 }, async () => {
  const b = await launchTwoCameras();
  try {
    const alice = await loginWith(b, '101', ['microphone', 'camera']);
    const bob = await loginWith(b, '102', ['microphone', 'camera']);
    await alice.addInitScript(instrument);
    await alice.reload();
    await alice.waitForSelector('#reg-status[data-state="registered"]', { timeout: 15000 });
    await openSettings(alice);
    await alice.waitForFunction(() => document.querySelectorAll('#camera-select option').length >= 3, null, { timeout: 10000 });
    const cams = await deviceOptions(alice, '#camera-select');
    assert.equal(cams.length, 2, JSON.stringify(cams));
    await alice.selectOption('#camera-select', cams[1].id);

    const sentCamera = () => alice.evaluate(() => {
      const s = window.__pcs.at(-1).getSenders().find((x) => x.track && x.track.kind === 'video');
      return s && s.track.readyState === 'live' ? s.track.getSettings().deviceId : null;
    });
    await alice.fill('#dial-input', '102');
    await alice.click('#call-video');
    await callState(bob, 'incoming');
    await bob.click('#answer-video');
    await callState(alice, 'connected');
    assert.equal(await sentCamera(), cams[1].id);
    await inboundBytes(bob);
    const sdpBefore = await alice.evaluate(() => window.__pcs.at(-1).localDescription.sdp);
    await alice.selectOption('#camera-select', cams[0].id);
    await alice.waitForFunction((id) => {
      const s = window.__pcs.at(-1).getSenders().find((x) => x.track && x.track.kind === 'video');
      return s && s.track.getSettings().deviceId === id;
    }, cams[0].id, { timeout: 10000 });
    assert.equal(await alice.evaluate(() => window.__pcs.at(-1).localDescription.sdp), sdpBefore, 'no renegotiation');
    // The preview shows the new camera.
    assert.equal(await alice.evaluate(() => document.querySelector('#local-video').srcObject.getVideoTracks()[0].getSettings().deviceId),
      cams[0].id);
    const atSwitch = await rxBytes(bob);
    await bob.waitForFunction((n) => Number(document.querySelector('#call-stats').dataset.rxBytes) > n + 20000,
      atSwitch, { timeout: 10000, polling: 250 });
    await alice.click('#hangup');
    await callState(bob, 'idle');

    // Without permission the browser names nothing: the page offers to allow, and says so
    // when refused.
    const carol = await loginWith(b, '103', []);
    await openSettings(carol);
    await carol.waitForSelector('#devices-allow', { timeout: 10000 });
    await carol.click('#devices-allow');
    await carol.waitForSelector('#devices-notice');
    assert.match(await carol.textContent('#devices-notice'), /Access to the microphone and camera was denied/);
    assert.ok(await carol.$('#devices-allow'), 'still offered, to try again');
  } finally {
    await b.close();
  }
});
