// Personal call routing in Chromium (and baresip): one person on three browsers; forwarding
// on no answer (set in the web app's form), on busy, when offline and in do not disturb; a
// removed device; a desk phone (baresip over UDP) with a device login ringing together with
// the browser and removed from the devices page.
import { test, before, after } from 'node:test';
import { existsSync } from 'node:fs';
import { gateway, launch, login, callState, assert, recordMetric } from './lib.mjs';
import { Baresip, BARESIP, GW_SIP, sleep } from './baresip-lib.mjs';

let browser;
const phones = [];
before(async () => { await gateway.start(['--sip-udp', GW_SIP]); browser = await launch(); });
after(async () => {
  await Promise.all(phones.map((p) => p.stop()));
  await browser?.close();
  await gateway.kill();
});

/** A JSON API call from the page (its session cookie, its origin). */
async function api(page, method, path, body) {
  return page.evaluate(async ([m, p, b]) => {
    const r = await fetch(p, {
      method: m,
      headers: b === undefined ? {} : { 'content-type': 'application/json' },
      body: b === undefined ? undefined : JSON.stringify(b),
    });
    const text = await r.text();
    return { status: r.status, body: text ? JSON.parse(text) : null };
  }, [method, path, body]);
}

async function setRouting(page, routing) {
  const r = await api(page, 'PUT', '/api/v1/me/routing', routing);
  assert.equal(r.status, 200, JSON.stringify(r.body));
}

async function setStatus(page, status) {
  const r = await api(page, 'PUT', '/api/v1/me/presence', { status });
  assert.ok(r.status < 300, JSON.stringify(r.body));
}

async function text(page, sel, re, timeout = 15000) {
  try {
    await page.waitForFunction(([s, src]) => new RegExp(src, 'i').test(document.querySelector(s)?.textContent ?? ''),
      [sel, re.source], { timeout, polling: 100 });
  } catch (e) {
    const got = await page.textContent(sel).catch(() => null);
    e.message = `${sel} should match ${re}, has ${JSON.stringify(got)}: ${e.message}\n${page.dumpLog()}`;
    throw e;
  }
}

async function dial(page, number) {
  await page.fill('#dial-input', number);
  await page.click('#call-audio');
}

async function hangUp(...pages) {
  await pages[0].click('#hangup');
  for (const p of pages) await callState(p, 'idle');
}

async function openDevices(page) {
  await page.click('#nav-devices');
  await page.waitForSelector('#devices-view');
}

test('one person on three browsers: all ring, one answers, the others hear where it went; a removed browser is told why', async () => {
  const alice = await login(browser, '101');
  const bobs = [];
  for (let i = 0; i < 3; i++) bobs.push((await login(browser, '102')).page);
  await dial(alice.page, '102');
  for (const b of bobs) await callState(b, 'incoming');
  await bobs[1].click('#answer-audio');
  await callState(alice.page, 'connected');
  await callState(bobs[1], 'connected');
  for (const b of [bobs[0], bobs[2]]) {
    await callState(b, 'idle');
    await text(b, '#call-end-reason', /answered on another device/);
  }
  await hangUp(alice.page, bobs[1]);

  // The devices page lists the three browsers, this one marked.
  const me = bobs[0];
  me.on('dialog', (d) => d.accept());
  await openDevices(me);
  await me.waitForFunction(() => document.querySelectorAll('#devices .device[data-kind="browser"]').length === 3,
    null, { timeout: 10000 });
  assert.equal(await me.locator('#devices .device[data-this="true"]').count(), 1);
  // Remove another one: that browser is logged out and says why.
  const ids = await me.$$eval('#devices .device[data-this="false"]', (rows) => rows.map((r) => r.dataset.id));
  const before = await Promise.all(bobs.map((b) => b.locator('#reg-status').count()));
  assert.deepEqual(before, [1, 1, 1]);
  await me.click(`#devices .device[data-id="${ids[0]}"] .device-remove`);
  await me.waitForFunction(() => document.querySelectorAll('#devices .device').length === 2, null, { timeout: 10000 });
  let removed = null;
  for (const b of bobs.slice(1)) {
    try {
      await b.waitForSelector('#login-notice', { timeout: 10000 });
      removed = b;
      break;
    } catch { /* the other one */ }
  }
  assert.ok(removed, 'the removed browser shows the login form with a notice');
  await text(removed, '#login-notice', /removed/);
  // Calls now ring the two that are left.
  await dial(alice.page, '102');
  const left = bobs.filter((b) => b !== removed);
  for (const b of left) await callState(b, 'incoming');
  await alice.page.click('#hangup');
  for (const b of left) await callState(b, 'idle');
  await callState(alice.page, 'idle');
  for (const b of [...bobs, alice.page]) await b.context().close();
});

test('forwarding: no answer after 5 s (set in the form), busy, offline, do not disturb', { timeout: 120000 }, async () => {
  const alice = (await login(browser, '101')).page;
  const bob = (await login(browser, '102')).page;
  const carol = (await login(browser, '103')).page;

  // Bob forwards unanswered calls to Carol after 5 s, in the web app's form.
  await openDevices(bob);
  await bob.waitForSelector('#fwd-noanswer-kind');
  await bob.selectOption('#fwd-noanswer-kind', 'extension');
  await bob.selectOption('#fwd-noanswer-ext', '103');
  await bob.fill('#fwd-noanswer-secs', '5');
  await bob.click('#fwd-save');
  await bob.waitForSelector('#fwd-notice:not([hidden])', { timeout: 10000 });
  const saved = await api(bob, 'GET', '/api/v1/me/routing');
  assert.deepEqual(saved.body.no_answer, { after_secs: 5, target: { kind: 'extension', ext: '103' } });

  await dial(alice, '102');
  await callState(bob, 'incoming');
  const t0 = Date.now();
  await callState(carol, 'incoming', 20000);
  const after = Date.now() - t0;
  recordMetric('no_answer_forward_after_ms', after);
  assert.ok(after >= 4500, `forwarded after ${after} ms, not before 5 s`);
  await callState(bob, 'idle');
  await text(alice, '#call-status', /forwarded to .*103/);
  await text(carol, '#incoming-diverted', /102/);
  await carol.click('#answer-audio');
  await callState(alice, 'connected');
  await callState(carol, 'connected');
  await hangUp(alice, carol);

  // Busy: Bob declines, Carol rings.
  await setRouting(bob, { busy: { kind: 'extension', ext: '103' } });
  await dial(alice, '102');
  await callState(bob, 'incoming');
  await bob.click('#decline');
  await callState(carol, 'incoming');
  await text(carol, '#incoming-diverted', /102/);
  await text(alice, '#call-status', /forwarded to .*103/);
  await alice.click('#hangup');
  await callState(carol, 'idle');
  await callState(alice, 'idle');

  // Do not disturb: with the rule, Carol rings and Bob's browser does not; without it, busy.
  await setRouting(bob, { unavailable: { kind: 'extension', ext: '103' } });
  await setStatus(bob, 'dnd');
  await dial(alice, '102');
  await callState(carol, 'incoming');
  assert.notEqual(await bob.getAttribute('#call-panel', 'data-state'), 'incoming');
  await alice.click('#hangup');
  await callState(carol, 'idle');
  await callState(alice, 'idle');
  await setRouting(bob, {});
  await dial(alice, '102');
  await callState(alice, 'idle');
  await text(alice, '#call-end-reason', /do not disturb|busy/);
  await setStatus(bob, 'available');

  // Offline: Bob's browser is gone; Carol rings at once.
  await setRouting(bob, { offline: { kind: 'extension', ext: '103' } });
  await bob.context().close();
  await sleep(500);
  await dial(alice, '102');
  await callState(carol, 'incoming');
  await text(carol, '#incoming-diverted', /102/);
  await alice.click('#hangup');
  await callState(carol, 'idle');

  // Bob's history shows the calls that went to Carol.
  const bob2 = (await login(browser, '102')).page;
  const h = await api(bob2, 'GET', '/api/v1/history');
  const forwarded = h.body.items.filter((i) => i.direction === 'forwarded');
  assert.ok(forwarded.length >= 3, JSON.stringify(h.body.items.slice(0, 5)));
  assert.ok(forwarded.every((i) => i.forwarded_to_number === '103'));
  assert.ok(forwarded.some((i) => i.diversion === 'no_answer') && forwarded.some((i) => i.diversion === 'busy'));
  await setRouting(bob2, {});
  for (const p of [alice, carol, bob2]) await p.context().close();
});

test('a desk phone (baresip over UDP) with a device login rings with the browser and is removed from the devices page', { timeout: 90000 }, async () => {
  assert.ok(existsSync(BARESIP), `${BARESIP} missing`);
  const alice = (await login(browser, '101')).page;
  const bob = (await login(browser, '102')).page;
  bob.on('dialog', (d) => d.accept());
  await openDevices(bob);
  await bob.fill('#cred-label', 'Desk phone');
  await bob.click('#cred-create');
  await bob.waitForSelector('#cred-new');
  const user = (await bob.inputValue('#cred-username').catch(() => null)) ?? (await bob.textContent('#cred-username')).trim();
  const pass = await bob.inputValue('#cred-password');
  assert.match(user, /^d[a-z0-9]{9}$/);
  assert.equal(pass.length, 20);

  const desk = new Baresip('desk', {
    sip: '127.0.0.1:5321', rtp: [20300, 20319], tone: 550, user, pass,
  });
  phones.push(desk);
  await desk.waitFor(new RegExp(`${user}@[\\d.]+: \\{0/UDP/v4\\} 200 OK`), 'registered', 10000,
    /reg: [^\n]*\b[3-6]\d\d [^\n]*/);
  await bob.waitForFunction(() => document.querySelectorAll('#devices .device[data-kind="phone"]').length === 1,
    null, { timeout: 40000 });

  // A call rings both; the browser answers, the desk phone stops.
  await dial(alice, '102');
  await callState(bob, 'incoming');
  await desk.waitFor(/Incoming call from|incoming call/i, 'the desk phone rings', 10000);
  await bob.click('#answer-audio');
  await callState(alice, 'connected');
  await desk.waitFor(/terminated|cancel/i, 'the desk phone stops ringing', 10000);
  await hangUp(alice, bob);

  // Removed from the devices page: gone from the list, and refused when it registers again.
  const phoneId = await bob.getAttribute('#devices .device[data-kind="phone"]', 'data-id');
  await bob.click(`#devices .device[data-id="${phoneId}"] .device-remove`);
  await bob.waitForFunction(() => document.querySelectorAll('#devices .device[data-kind="phone"]').length === 0,
    null, { timeout: 10000 });
  await desk.stop();
  const again = new Baresip('desk2', {
    sip: '127.0.0.1:5321', rtp: [20300, 20319], tone: 550, user, pass,
  });
  phones.push(again);
  await again.waitFor(/403 Forbidden \(this device was removed/, 'refused as removed', 10000);
  // A call now rings only the browser.
  await dial(alice, '102');
  await callState(bob, 'incoming');
  await alice.click('#hangup');
  await callState(bob, 'idle');
});
