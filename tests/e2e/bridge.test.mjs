// Browsers and desk phones talk through the gateway's media bridge: a baresip desk phone over
// UDP (plain RTP/AVP, PCMU only, no ICE, no DTLS) and the web app in Chromium (WebRTC) cannot
// exchange media directly, so the gateway answers each side in its own terms and relays
// G.711 between them. The browser's fake microphone plays 600 Hz, the phone's source 440 Hz:
// each side must hear the other's tone. Both directions, DTMF from the in-call keypad (SIP
// INFO from the browser, RFC 4733 at the phone), and hang-up from either side.
import { test, before, after } from 'node:test';
import { existsSync, readdirSync, rmSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gateway, login, callState, inboundBytes, assert, PASSWORDS, launchWithTone, recordMetric, ARTIFACTS } from './lib.mjs';
import { Baresip, BARESIP, GW_SIP, sleep, esc, decodedAudio, tone } from './baresip-lib.mjs';

const MEDIA_TIMEOUT_S = 5;
let browser;
let phone;
before(async () => {
  // A short media timeout, so the hold test shows a held call outliving it.
  await gateway.start(['--sip-udp', GW_SIP, '--media-ports', '41200-41299', '--media-timeout', String(MEDIA_TIMEOUT_S)]);
  browser = await launchWithTone(600);
  assert.ok(existsSync(BARESIP), `${BARESIP} missing`);
  phone = new Baresip('103', { sip: '127.0.0.1:5341', rtp: [20500, 20519], tone: 440, pass: PASSWORDS[103], auto: true });
  await phone.waitFor(new RegExp(`${esc('103')}@[\\d.]+: \\{0/UDP/v4\\} 200 OK`), 'registered', 10000,
    /reg: [^\n]*\b[3-6]\d\d [^\n]*/);
});
after(async () => {
  await phone?.stop();
  await browser?.close();
  await gateway.kill();
});

/** The page's inbound audio byte count now (0 without a call). */
async function rxBytes(page) {
  return Number(await page.getAttribute('#call-stats', 'data-rx-bytes').catch(() => 0) ?? 0);
}

function fresh() {
  for (const f of readdirSync(phone.snd)) rmSync(join(phone.snd, f), { force: true });
}

test('a browser calls a desk phone: media both ways through the bridge, keys reach the phone', { timeout: 90000 }, async () => {
  fresh();
  const alice = (await login(browser, '101')).page;
  const t0 = Date.now();
  await alice.fill('#dial-input', '103');
  await alice.click('#call-audio');
  try {
    await callState(alice, 'connected', 20000);
    const first = await inboundBytes(alice, 15000);
    recordMetric('bridge_browser_to_phone_media_ms', Date.now() - t0);
    await sleep(3000);
    assert.ok(await rxBytes(alice) > first + 8000, 'the phone\'s audio keeps arriving in the browser');
    // Keys from the keypad: SIP INFO to the gateway, RFC 4733 telephone-events to the phone.
    await alice.click('#keypad-toggle');
    await alice.waitForSelector('#call-keypad');
    for (const d of ['1', '2', '#']) await alice.click(`#call-keypad [data-digit="${d}"]`);
    await alice.waitForSelector('#dtmf-sent[data-digits="12#"]', { timeout: 5000 });
    await phone.waitFor(/received event: '1'[\s\S]*received event: '2'[\s\S]*received event: '#'/, 'the keys at the phone', 10000);
  } catch (e) {
    e.message += `\n--- page ---\n${alice.dumpLog()}\n--- baresip ---\n${phone.log()}`;
    throw e;
  }
  await alice.click('#hangup');
  await callState(alice, 'idle');
  await phone.waitFor(/terminated|closed/i, 'the call ends at baresip', 10000);
  // What the phone decoded: the browser's 600 Hz tone, relayed as PCMU.
  const heard = tone(decodedAudio(phone));
  assert.ok(heard.seconds > 2, `the phone heard ${heard.seconds} s`);
  assert.ok(Math.abs(heard.hz - 600) < 40, `the phone heard ${heard.hz} Hz, not the browser's 600 Hz`);
  await alice.context().close();
});

// Chromium always offers G.711 too; this page's offers are made Opus-only (the transceivers'
// codec preferences, set before each offer), as a browser without G.711 would send.
const OPUS_ONLY = `(() => {
  const create = RTCPeerConnection.prototype.createOffer;
  RTCPeerConnection.prototype.createOffer = function (...args) {
    const opus = RTCRtpReceiver.getCapabilities('audio').codecs.filter((c) => /opus/i.test(c.mimeType));
    for (const t of this.getTransceivers()) {
      if (!t.stopped && t.receiver.track?.kind === 'audio') t.setCodecPreferences(opus);
    }
    return create.apply(this, args);
  };
})();`;

test('a browser offering Opus alone calls a desk phone (G.711 only): the bridge transcodes both ways', { timeout: 90000 }, async () => {
  fresh();
  const alice = (await login(browser, '101')).page;
  await alice.addInitScript(OPUS_ONLY);
  await alice.reload();
  await alice.waitForSelector('#reg-status[data-state="registered"]', { timeout: 15000 });
  const logAt = readFileSync(`${ARTIFACTS}/gateway.log`, 'utf8').length;
  await alice.fill('#dial-input', '103');
  await alice.click('#call-audio');
  try {
    await callState(alice, 'connected', 20000);
    const first = await inboundBytes(alice, 15000);
    await sleep(3000);
    assert.ok(await rxBytes(alice) > first + 4000, 'the phone\'s audio arrives in the browser, as Opus');
    const log = readFileSync(`${ARTIFACTS}/gateway.log`, 'utf8').slice(logAt).replace(/\x1b\[[0-9;]*m/g, '');
    assert.match(log, /bridged call answered[^\n]*transcodes=true/, 'the gateway transcodes this call');
    assert.match(phone.log(), /m=audio \d+ RTP\/AVP 0 8 101/, 'the phone is offered G.711');
  } catch (e) {
    e.message += `\n--- page ---\n${alice.dumpLog()}\n--- baresip ---\n${phone.log()}`;
    throw e;
  }
  await alice.click('#hangup');
  await callState(alice, 'idle');
  await phone.waitFor(/terminated|closed/i, 'the call ends at baresip', 10000);
  // What the phone decoded: the browser's 600 Hz tone, Opus decoded and sent as PCMU.
  const heard = tone(decodedAudio(phone));
  assert.ok(heard.seconds > 2, `the phone heard ${heard.seconds} s`);
  assert.ok(Math.abs(heard.hz - 600) < 40, `the phone heard ${heard.hz} Hz, not the browser's 600 Hz`);
  await alice.context().close();
});

test('hold through the bridge: either side holds for longer than the media timeout, the other side is held too, and media flows again', { timeout: 120000 }, async () => {
  fresh();
  const alice = (await login(browser, '101')).page;
  await alice.fill('#dial-input', '103');
  await alice.click('#call-audio');
  try {
    await callState(alice, 'connected', 20000);
    await inboundBytes(alice, 15000);
    // The browser holds: the gateway answers it and holds the phone with its own re-INVITE.
    let mark = phone.mark();
    await alice.click('#hold');
    await callState(alice, 'held', 10000);
    await phone.waitFor(/a=sendonly/, 'the gateway holds the phone (a=sendonly)', 10000, null, mark);
    // Neither sends media now; the call outlives the media timeout.
    await sleep((MEDIA_TIMEOUT_S + 3) * 1000);
    await callState(alice, 'held', 1000);
    mark = phone.mark();
    await alice.click('#hold'); // the toggle resumes
    await callState(alice, 'connected', 10000);
    await phone.waitFor(/a=sendrecv/, 'the gateway resumes the phone', 10000, null, mark);
    let before = await rxBytes(alice);
    await sleep(3000);
    assert.ok(await rxBytes(alice) > before + 8000, 'after resuming, the phone\'s audio arrives again');

    // The phone holds: the browser is held by the gateway and says so; then it resumes.
    phone.send('/hold');
    await callState(alice, 'held-remote', 10000);
    await sleep((MEDIA_TIMEOUT_S + 2) * 1000);
    await callState(alice, 'held-remote', 1000);
    phone.send('/resume');
    await callState(alice, 'connected', 10000);
    before = await rxBytes(alice);
    await sleep(3000);
    assert.ok(await rxBytes(alice) > before + 8000, 'after the phone resumes, its audio arrives again');
  } catch (e) {
    e.message += `\n--- page ---\n${alice.dumpLog()}\n--- baresip ---\n${phone.log()}`;
    throw e;
  }
  await alice.click('#hangup');
  await callState(alice, 'idle');
  await phone.waitFor(/terminated|closed/i, 'the call ends at baresip', 10000);
  await alice.context().close();
});

test('a desk phone calls a browser: it rings, is answered, media flows both ways; the phone hangs up', { timeout: 90000 }, async () => {
  fresh();
  const alice = (await login(browser, '101')).page;
  phone.send(`/dial sip:101@${GW_SIP}`);
  try {
    await callState(alice, 'incoming', 15000);
    await alice.click('#answer-audio');
    await callState(alice, 'connected', 15000);
    const first = await inboundBytes(alice, 15000);
    await sleep(3000);
    assert.ok(await rxBytes(alice) > first + 8000, 'the phone\'s audio keeps arriving in the browser');
  } catch (e) {
    e.message += `\n--- page ---\n${alice.dumpLog()}\n--- baresip ---\n${phone.log()}`;
    throw e;
  }
  phone.send('/hangup');
  await callState(alice, 'idle', 10000);
  const heard = tone(decodedAudio(phone));
  assert.ok(heard.seconds > 2, `the phone heard ${heard.seconds} s`);
  assert.ok(Math.abs(heard.hz - 600) < 40, `the phone heard ${heard.hz} Hz`);
  await alice.context().close();
});
