// Voicemail answers a call, end to end through the gateway's media plane: Anna (101, Chromium
// whose fake microphone plays a 600 Hz tone file) calls Bob (102), who does not answer; his
// no-answer rule sends the call to voicemail. Anna hears the greeting (inbound audio over
// WebRTC from the gateway), then leaves about 3 s of tone and presses # (SIP INFO). Bob sees
// the message in his list, the stored file is an 8 kHz WAV of the right length whose audio is
// the 600 Hz tone, and the e-mail with the recording attached reaches the SMTP listener. Bob's
// desk phone (baresip over UDP, which rings along) lights its message-waiting lamp: a
// message-summary NOTIFY (RFC 3842) says a message waits, and another that none does once Bob
// has heard them in the web app.
import { test, before, after } from 'node:test';
import { existsSync } from 'node:fs';
import { gateway, login, callState, inboundBytes, assert, recordMetric, launch, launchWithTone, PASSWORDS } from './lib.mjs';
import { Baresip, BARESIP, GW_SIP, esc } from './baresip-lib.mjs';
import { startSmtp } from './smtp.mjs';
const TONE_HZ = 600;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Goertzel power of `hz` in 16-bit samples at `rate`. */
function power(samples, rate, hz) {
  const k = 2 * Math.cos(2 * Math.PI * hz / rate);
  let s1 = 0; let s2 = 0;
  for (const x of samples) { const s = x + k * s1 - s2; s2 = s1; s1 = s; }
  return (s1 * s1 + s2 * s2 - k * s1 * s2) / (samples.length ** 2);
}

const GATEWAY_ARGS = ['--sip-udp', GW_SIP, '--media-ports', '41000-41099'];
let smtp;
let annaBrowser;
let bobBrowser;
let desk;
before(async () => {
  smtp = await startSmtp();
  Object.assign(process.env, {
    CENTRALA_SMTP_HOST: '127.0.0.1',
    CENTRALA_SMTP_PORT: String(smtp.port),
    CENTRALA_SMTP_SECURITY: 'none',
    CENTRALA_MAIL_FROM: 'Centrala <no-reply@e2e.centrala>',
  });
  await gateway.start(GATEWAY_ARGS);
  annaBrowser = await launchWithTone(TONE_HZ);
  bobBrowser = await launch();
  assert.ok(existsSync(BARESIP), `${BARESIP} missing`);
  desk = new Baresip('102', { sip: '127.0.0.1:5351', rtp: [20600, 20619], tone: 440, pass: PASSWORDS[102], mwi: true });
  await desk.waitFor(new RegExp(`${esc('102')}@[\\d.]+: \\{0/UDP/v4\\} 200 OK`), 'registered', 10000,
    /reg: [^\n]*\b[3-6]\d\d [^\n]*/);
  // Subscribed: the first message-summary NOTIFY (whatever earlier tests left).
  await desk.waitFor(/NOTIFY sip:[\s\S]*?Messages-Waiting: (yes|no)/, 'the first message-summary NOTIFY', 10000);
});
after(async () => {
  await desk?.stop();
  for (const k of ['CENTRALA_SMTP_HOST', 'CENTRALA_SMTP_PORT', 'CENTRALA_SMTP_SECURITY', 'CENTRALA_MAIL_FROM']) delete process.env[k];
  await annaBrowser?.close();
  await bobBrowser?.close();
  await gateway.kill();
  await smtp?.close();
});

async function api(page, method, path, body) {
  return page.evaluate(async ([m, p, b]) => {
    const r = await fetch(p, {
      method: m,
      headers: b === undefined ? {} : { 'content-type': 'application/json' },
      body: b === undefined ? undefined : JSON.stringify(b),
    });
    const text = await r.text();
    let json = null;
    try { json = text ? JSON.parse(text) : null; } catch { json = text; }
    return { status: r.status, body: json };
  }, [method, path, body]);
}

/** The built-in English greeting's length in seconds (Bob's language decides the greeting;
 * its length paces the tests). */
function builtinGreetingSeconds(page) {
  return page.evaluate(async () => {
    const b = new DataView(await (await fetch('/api/v1/greetings/builtin/en')).arrayBuffer());
    return (b.byteLength - 44) / (b.getUint32(28, true));
  });
}

test('an unanswered call goes to voicemail: greeting heard, message recorded, listed, mailed', { timeout: 120000 }, async () => {
  const bob = (await login(bobBrowser, '102')).page;
  const before = await api(bob, 'GET', '/api/v1/me/voicemail');
  assert.equal(before.status, 200);
  const known = new Set(before.body.items.map((m) => m.id));
  const routing = await api(bob, 'GET', '/api/v1/me/routing');
  const r = await api(bob, 'PUT', '/api/v1/me/routing', {
    ...routing.body, no_answer: { after_secs: 5, target: { kind: 'voicemail' } },
  });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const builtin = await builtinGreetingSeconds(bob);
  try {
    const anna = (await login(annaBrowser, '101')).page;
    const deskMark = desk.mark();
    const t0 = Date.now();
    await anna.fill('#dial-input', '102');
    await anna.click('#call-audio');
    await callState(bob, 'incoming');
    // Nobody answers: after 5 s the voicemail takes the call.
    await callState(anna, 'connected', 20000);
    const answeredMs = Date.now() - t0;
    await callState(bob, 'idle');
    // The greeting arrives as audio over WebRTC from the gateway.
    assert.ok(await inboundBytes(anna, 10000) > 0, 'the greeting is heard');
    // Greeting, pause and tone, then 3 s of message, then #.
    await sleep(builtin * 1000 + 600 + 3000);
    await anna.click('#keypad-toggle');
    await anna.waitForSelector('#call-keypad');
    await anna.click('#call-keypad [data-digit="#"]');
    // The voicemail hangs up once the message is over.
    await callState(anna, 'idle', 10000);

    // Bob's list has the new message from Anna.
    let msg;
    for (let i = 0; i < 50 && !msg; i++) {
      const list = await api(bob, 'GET', '/api/v1/me/voicemail');
      msg = list.body.items.find((m) => !known.has(m.id));
      if (!msg) await sleep(200);
    }
    assert.ok(msg, 'a new message');
    assert.equal(msg.caller, '101');
    assert.equal(msg.heard, false);
    assert.equal(msg.situation, 'no_answer');
    assert.ok(msg.duration_ms > 2000 && msg.duration_ms < 5000, `message of ${msg.duration_ms} ms`);

    // The file: 8 kHz mono 16-bit WAV, its audio Anna's 600 Hz tone.
    const wav = await bob.evaluate(async (id) => {
      const r = await fetch(`/api/v1/me/voicemail/${id}/audio`);
      return { type: r.headers.get('content-type'), bytes: Array.from(new Uint8Array(await r.arrayBuffer())) };
    }, msg.id);
    assert.equal(wav.type, 'audio/wav');
    const buf = Buffer.from(wav.bytes);
    assert.equal(buf.toString('ascii', 0, 4), 'RIFF');
    assert.deepEqual([buf.readUInt16LE(22), buf.readUInt32LE(24), buf.readUInt16LE(34)], [1, 8000, 16]);
    const samples = [];
    for (let o = 44; o + 1 < buf.length; o += 2) samples.push(buf.readInt16LE(o));
    assert.ok(Math.abs(samples.length / 8000 - msg.duration_ms / 1000) < 0.05);
    const mid = samples.slice(samples.length / 4, (3 * samples.length) / 4);
    const at = power(mid, 8000, TONE_HZ);
    for (const other of [400, 1000, 1500]) {
      assert.ok(at > 50 * power(mid, 8000, other), `${TONE_HZ} Hz dominates (${at} vs ${other} Hz)`);
    }

    // Both histories show the call as gone to voicemail (the record is written when the
    // call ends, moments after).
    for (const [page, peer] of [[bob, '101'], [anna, '102']]) {
      let item;
      let h;
      for (let i = 0; i < 50 && !item; i++) {
        h = await api(page, 'GET', '/api/v1/history?limit=5');
        item = h.body.items.find((x) => x.peer.number === peer && x.started_ms >= t0 - 1000);
        if (!item) await sleep(200);
      }
      assert.equal(item?.outcome, 'voicemail', JSON.stringify(h.body));
    }
    await bob.click('#nav-history');
    await bob.waitForSelector('#history [data-outcome="voicemail"]', { timeout: 10000 });

    // The list in the page, with the badge.
    await bob.click('#nav-voicemail');
    await bob.waitForSelector(`#voicemail .vm[data-id="${msg.id}"][data-heard="false"]`, { timeout: 10000 });

    // The e-mail with the recording attached (the file, byte for byte). Other mails of the
    // run may come first: the one for this message is looked for. The attachment is read
    // from the mail as received (a base64 part ending in '=' padding would otherwise be
    // joined to the boundary by the quoted-printable undoing).
    const seen = [];
    let mail;
    for (let i = 0; i < 5 && !mail; i++) {
      const m = await smtp.raw(i).catch(() => null);
      if (!m) break;
      const b64 = m.split(/Content-Type: audio\/wav\r?\nContent-Transfer-Encoding: base64\r?\n\r?\n/i)[1]
        ?.split(/\r?\n--/)[0].replace(/\s+/g, '');
      const attached = b64 ? Buffer.from(b64, 'base64') : Buffer.alloc(0);
      if (attached.equals(buf)) mail = m;
      else seen.push(`${m.match(/^Subject: .*$/m)?.[0]} (${attached.length} bytes attached)`);
    }
    assert.ok(mail, `a mail with the recording attached (${buf.length} bytes); seen: ${seen.join('; ')}`);
    assert.match(mail, /New voicemail from/);
    assert.match(mail, /filename(\*0)?="?voicemail-101-/);
    recordMetric('voicemail_answer_ms', answeredMs);

    // The desk phone rang along (through the media bridge) and now hears that a message waits.
    try {
      await desk.waitFor(/Messages-Waiting: yes\r?\nMessage-Account: sip:102@[^\r\n]+\r?\nVoice-Message: [1-9]\d*\/\d+/,
        'message waiting', 10000, null, deskMark);
      // Bob hears his new messages in the web app: the lamp goes out.
      const all = await api(bob, 'GET', '/api/v1/me/voicemail');
      const heardMark = desk.mark();
      for (const m of all.body.items.filter((x) => !x.heard)) {
        assert.equal((await api(bob, 'PATCH', `/api/v1/me/voicemail/${m.id}`, { heard: true })).status, 200);
      }
      await desk.waitFor(/Messages-Waiting: no\r?\n[\s\S]*?Voice-Message: 0\/[1-9]/, 'no message waiting', 10000, null, heardMark);
    } catch (e) {
      e.message += `\n--- baresip ---\n${desk.log()}`;
      throw e;
    }
  } finally {
    await api(bob, 'PUT', '/api/v1/me/routing', routing.body);
  }
});

test('the gateway killed during a recording loses no earlier message, and answers again after', { timeout: 120000 }, async () => {
  const bob = (await login(bobBrowser, '102')).page;
  const before = (await api(bob, 'GET', '/api/v1/me/voicemail')).body.items;
  assert.ok(before.length >= 1, 'the test before left a message');
  const audioSize = (page, id) => page.evaluate(async (i) => {
    const r = await fetch(`/api/v1/me/voicemail/${i}/audio`);
    return r.ok ? (await r.arrayBuffer()).byteLength : -r.status;
  }, id);
  const sizes = {};
  for (const m of before) sizes[m.id] = await audioSize(bob, m.id);
  const routing = await api(bob, 'GET', '/api/v1/me/routing');
  const r = await api(bob, 'PUT', '/api/v1/me/routing', { ...routing.body, always: { kind: 'voicemail' } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const builtin = await builtinGreetingSeconds(bob);
  const anna = (await login(annaBrowser, '101')).page;
  try {
    await anna.fill('#dial-input', '102');
    await anna.click('#call-audio');
    await callState(anna, 'connected', 20000);
    // Into the recording, then the gateway dies as in a crash and comes back.
    await sleep(builtin * 1000 + 600 + 1500);
    await gateway.kill();
    await gateway.start(GATEWAY_ARGS);
    await callState(anna, 'idle', 20000);
    // Every earlier message is there, whole.
    const after = (await api(bob, 'GET', '/api/v1/me/voicemail')).body.items;
    for (const m of before) {
      const same = after.find((x) => x.id === m.id);
      assert.ok(same, `message ${m.id} survived`);
      assert.equal(same.duration_ms, m.duration_ms);
      assert.equal(await audioSize(bob, m.id), sizes[m.id], `message ${m.id}'s file is whole`);
    }
    // The recording cut by the crash was in memory only: no half message, no broken file.
    assert.equal(after.length, before.length);
    for (const m of after) assert.ok(await audioSize(bob, m.id) > 44, `message ${m.id} plays`);
    // The restarted gateway answers for voicemail again.
    await anna.waitForSelector('#reg-status[data-state="registered"]', { timeout: 20000 });
    await anna.fill('#dial-input', '102');
    await anna.click('#call-audio');
    await callState(anna, 'connected', 20000);
    assert.ok(await inboundBytes(anna, 10000) > 0, 'the greeting is heard again');
    await anna.click('#hangup');
    await callState(anna, 'idle');
  } finally {
    await api(bob, 'PUT', '/api/v1/me/routing', routing.body);
    await anna.context().close();
  }
});

test('from a colleague\'s phone: *97, the box number and its PIN open the box; wrong PINs do not, and the PIN is set in the web app', { timeout: 150000 }, async () => {
  const bob = (await login(bobBrowser, '102')).page;
  // Bob sets a PIN on his voicemail page; a bad one is refused with the reason.
  await bob.click('#nav-voicemail');
  await bob.waitForSelector('#vm-pin-form[data-set="false"]');
  for (const [pin, why] of [['12', /4 to 10 digits/], ['1234', /too easy to guess/]]) {
    await bob.fill('#vm-pin', pin);
    await bob.click('#vm-pin-save');
    await bob.waitForSelector('#vm-pin-error');
    assert.match(await bob.textContent('#vm-pin-error'), why);
  }
  assert.equal((await api(bob, 'PUT', '/api/v1/me/voicemail-pin', { pin: '102' })).status, 400, 'the extension itself');
  await bob.fill('#vm-pin', '4826');
  await bob.click('#vm-pin-save');
  await bob.waitForSelector('#vm-pin-form[data-set="true"] #vm-pin-saved');
  const state = await api(bob, 'GET', '/api/v1/me/voicemail-pin');
  assert.deepEqual(state.body, { set: true }, 'the PIN itself is never shown');
  // One new message in Bob's box.
  const list = (await api(bob, 'GET', '/api/v1/me/voicemail')).body.items;
  assert.ok(list.length >= 1, 'a message from the tests before');
  const [msg, ...rest] = list;
  assert.equal((await api(bob, 'PATCH', `/api/v1/me/voicemail/${msg.id}`, { heard: false })).status, 200);
  for (const m of rest) await api(bob, 'PATCH', `/api/v1/me/voicemail/${m.id}`, { heard: true });

  const anna = (await login(annaBrowser, '101')).page;
  const keys = async (digits) => {
    for (const d of digits) await anna.click(`#call-keypad [data-digit="${d}"]`);
  };
  const dial = async () => {
    await anna.fill('#dial-input', '*97');
    await anna.click('#call-audio');
    await callState(anna, 'connected', 20000);
    assert.ok(await inboundBytes(anna, 10000) > 0, 'the box asks for the mailbox number');
    await anna.click('#keypad-toggle');
    await anna.waitForSelector('#call-keypad');
  };
  try {
    // Three wrong PINs: the box says goodbye and hangs up; nothing was opened.
    await dial();
    for (const pin of ['1111', '0000', '4827']) {
      await keys(`102#${pin}#`);
      await sleep(1500); // the check, then "wrong" (keys during a check do not count)
    }
    await callState(anna, 'idle', 20000);
    let now = (await api(bob, 'GET', '/api/v1/me/voicemail')).body.items.find((m) => m.id === msg.id);
    assert.equal(now.heard, false, 'wrong PINs open nothing');
    // A wrong box number, then the right box and PIN: Bob's new message plays; # marks it
    // heard and goes on; no more messages, goodbye.
    await dial();
    await keys('109#4826#');
    await sleep(1500);
    await keys('102#4826#');
    await sleep(1500);
    await keys('#'); // skips the words: the message plays
    await sleep(1500);
    await keys('#'); // heard, next: none left
    await callState(anna, 'idle', 20000);
    now = (await api(bob, 'GET', '/api/v1/me/voicemail')).body.items.find((m) => m.id === msg.id);
    assert.equal(now.heard, true, 'the message was played to Anna, from Bob\'s box');
  } catch (e) {
    e.message += `\n--- page ---\n${anna.dumpLog()}`;
    throw e;
  }
  // Without a PIN, the box does not open from another phone at all: the old PIN is wrong.
  await bob.click('#vm-pin-remove');
  await bob.waitForSelector('#vm-pin-form[data-set="false"] #vm-pin-saved');
  assert.deepEqual((await api(bob, 'GET', '/api/v1/me/voicemail-pin')).body, { set: false });
  await api(bob, 'PATCH', `/api/v1/me/voicemail/${msg.id}`, { heard: false });
  await dial();
  await keys('102#4826#');
  await sleep(1500);
  await keys('#');
  await sleep(1500);
  await keys('#');
  await sleep(1000);
  await anna.click('#hangup');
  await callState(anna, 'idle', 10000);
  const still = (await api(bob, 'GET', '/api/v1/me/voicemail')).body.items.find((m) => m.id === msg.id);
  assert.equal(still.heard, false, 'a removed PIN opens nothing');
  await anna.context().close();
});

test('the owner dials *98 and hears the new message; 7 deletes it and the box says goodbye', { timeout: 90000 }, async () => {
  const bob = (await login(bobBrowser, '102')).page;
  const list = (await api(bob, 'GET', '/api/v1/me/voicemail')).body.items;
  assert.ok(list.length >= 1, 'a message from the tests before');
  // One new message: the newest; the others heard.
  const [msg, ...rest] = list;
  assert.equal((await api(bob, 'PATCH', `/api/v1/me/voicemail/${msg.id}`, { heard: false })).status, 200);
  for (const m of rest) await api(bob, 'PATCH', `/api/v1/me/voicemail/${m.id}`, { heard: true });
  await bob.fill('#dial-input', '*98');
  await bob.click('#call-audio');
  try {
    await callState(bob, 'connected', 20000);
    assert.ok(await inboundBytes(bob, 10000) > 0, 'the box speaks');
    await bob.click('#keypad-toggle');
    await bob.waitForSelector('#call-keypad');
    // # skips the words; the message plays (its length), then 7 deletes it.
    await bob.click('#call-keypad [data-digit="#"]');
    await sleep(1500);
    await bob.click('#call-keypad [data-digit="7"]');
    // "Message deleted. No more new messages. Goodbye." and the box hangs up.
    await callState(bob, 'idle', 20000);
  } catch (e) {
    e.message += `\n--- page ---\n${bob.dumpLog()}`;
    throw e;
  }
  const after = (await api(bob, 'GET', '/api/v1/me/voicemail')).body.items;
  assert.equal(after.find((m) => m.id === msg.id), undefined, 'deleted');
  assert.equal(after.length, list.length - 1);
  assert.equal(await bob.evaluate(async (id) => (await fetch(`/api/v1/me/voicemail/${id}/audio`)).status, msg.id), 404);
});
