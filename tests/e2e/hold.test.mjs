// Several calls in Chromium: hold and resume by re-INVITE (media stops while held and flows
// again), a waiting second call answered (the first is held), switched back and forth, one
// hung up while the other goes on with media, and call waiting turned off (busy).
import { test, before, after } from 'node:test';
import { gateway, launch, login, callState, inboundBytes, assert } from './lib.mjs';

let browser;
before(async () => { await gateway.start(); browser = await launch(); });
after(async () => { await browser?.close(); await gateway.kill(); });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Inbound RTP bytes as the element `sel` reports them (`data-rx-bytes`). */
async function rx(page, sel = '#call-stats') {
  return Number(await page.getAttribute(sel, 'data-rx-bytes'));
}

/** Waits until `sel`'s inbound bytes grow by more than `by` (media flows). */
async function grows(page, sel = '#call-stats', by = 2000, timeout = 10000) {
  const start = await rx(page, sel);
  try {
    await page.waitForFunction(([s, n]) => Number(document.querySelector(s)?.getAttribute('data-rx-bytes') ?? 0) > n,
      [sel, start + by], { timeout, polling: 250 });
  } catch (e) {
    e.message = `${sel} stayed at ${await rx(page, sel).catch(() => '?')} (from ${start}): ${e.message}\n${page.dumpLog()}`;
    throw e;
  }
}

/** Asserts that `sel`'s inbound bytes stay (nearly) still for 3 s: no media flows. */
async function still(page, sel = '#call-stats', what = '') {
  await sleep(1500); // packets in flight and the last stats sample
  const a = await rx(page, sel);
  await sleep(3000);
  const b = await rx(page, sel);
  assert.ok(b - a < 400, `${what}: inbound bytes grew by ${b - a} while held`);
}

async function text(page, sel, re, timeout = 10000) {
  try {
    await page.waitForFunction(([s, src]) => new RegExp(src, 'i').test(document.querySelector(s)?.textContent ?? ''),
      [sel, re.source], { timeout, polling: 100 });
  } catch (e) {
    e.message = `${sel} should match ${re}, has ${JSON.stringify(await page.textContent(sel).catch(() => null))}: ${e.message}\n${page.dumpLog()}`;
    throw e;
  }
}

async function connect(caller, callee, ext) {
  await caller.fill('#dial-input', ext);
  await caller.click('#call-audio');
  await callState(callee, 'incoming');
  await callee.click('#answer-audio');
  await callState(caller, 'connected');
  await callState(callee, 'connected');
  assert.ok((await inboundBytes(caller)) > 0 && (await inboundBytes(callee)) > 0);
}

test('hold and resume: media stops both ways while held, both sides say so, and flows again', { timeout: 90000 }, async () => {
  const alice = (await login(browser, '101')).page;
  const bob = (await login(browser, '102')).page;
  await connect(alice, bob, '102');
  await grows(alice);

  await bob.click('#hold');
  await callState(bob, 'held');
  await callState(alice, 'held-remote');
  await text(bob, '#call-status', /on hold/);
  await text(alice, '#call-status', /held by the other side/);
  assert.equal(await bob.getAttribute('#hold', 'data-held'), 'true');
  await still(alice, '#call-stats', 'the held side');
  await still(bob, '#call-stats', 'the holder');

  await bob.click('#hold'); // the toggle resumes
  await callState(bob, 'connected');
  await callState(alice, 'connected');
  assert.equal(await bob.getAttribute('#hold', 'data-held'), 'false');
  await text(alice, '#call-status', /in call/);
  await grows(alice);
  await grows(bob);

  await alice.click('#hangup');
  await callState(alice, 'idle');
  await callState(bob, 'idle');
  for (const p of [alice, bob]) await p.context().close();
});

test('a waiting call: answered (the first is held), switched back and forth, one hung up, the other goes on', { timeout: 120000 }, async () => {
  const alice = (await login(browser, '101')).page;
  const bob = (await login(browser, '102')).page;
  const carol = (await login(browser, '103')).page;
  await connect(alice, bob, '102');

  // Carol calls Bob while he talks to Alice: it waits, with Carol's name and the waiting tone.
  await carol.fill('#dial-input', '102');
  await carol.click('#call-audio');
  await callState(carol, 'ringing');
  await bob.waitForSelector('#calls .call[data-state="incoming"]', { timeout: 10000 });
  await text(bob, '#calls .call[data-state="incoming"]', /call waiting: .*103/);
  assert.equal(await bob.getAttribute('#call-panel', 'data-state'), 'connected', 'still talking to Alice');
  assert.equal(await bob.getAttribute('#call-panel', 'data-tone'), 'waiting');
  const aliceRow = bob.locator('#calls .call', { hasText: '101' });
  const carolRow = bob.locator('#calls .call', { hasText: '103' });
  const aliceId = await aliceRow.getAttribute('data-id');
  const carolId = await carolRow.getAttribute('data-id');
  const row = (id) => `#calls .call[data-id="${id}"]`;

  // Bob answers Carol: Alice is held.
  await bob.click(`${row(carolId)} .call-answer`);
  await callState(carol, 'connected');
  await bob.waitForSelector(`${row(aliceId)}[data-state="held"]`, { timeout: 10000 });
  await bob.waitForSelector(`${row(carolId)}[data-state="connected"]`, { timeout: 10000 });
  assert.equal(await bob.getAttribute('#call-panel', 'data-tone'), 'none');
  await callState(alice, 'held-remote');
  await text(alice, '#call-status', /held by the other side/);
  assert.ok((await inboundBytes(carol)) > 0);
  await grows(carol);
  await grows(bob, row(carolId));
  await still(alice, '#call-stats', 'Alice held');

  // Back to Alice: Carol is held.
  await bob.click(`${row(aliceId)} .call-switch`);
  await bob.waitForSelector(`${row(aliceId)}[data-state="connected"]`, { timeout: 10000 });
  await bob.waitForSelector(`${row(carolId)}[data-state="held"]`, { timeout: 10000 });
  await callState(alice, 'connected');
  await callState(carol, 'held-remote');
  await grows(alice);
  await grows(bob, row(aliceId));

  // To Carol and back to Alice again.
  await bob.click(`${row(carolId)} .call-switch`);
  await bob.waitForSelector(`${row(carolId)}[data-state="connected"]`, { timeout: 10000 });
  await callState(carol, 'connected');
  await callState(alice, 'held-remote');
  await bob.click(`${row(aliceId)} .call-switch`);
  await bob.waitForSelector(`${row(aliceId)}[data-state="connected"]`, { timeout: 10000 });
  await callState(alice, 'connected');
  await callState(carol, 'held-remote');

  // Bob hangs up Carol (held): Alice's call goes on, with media both ways.
  await bob.click(`${row(carolId)} .call-hangup`);
  await callState(carol, 'idle');
  await bob.waitForFunction(() => !document.querySelector('#calls'), null, { timeout: 10000 });
  await callState(bob, 'connected');
  await callState(alice, 'connected');
  await grows(alice);
  await grows(bob);

  await alice.click('#hangup');
  await callState(alice, 'idle');
  await callState(bob, 'idle');
  for (const p of [alice, bob, carol]) await p.context().close();
});

test('call waiting turned off in the settings: a second caller hears busy', { timeout: 60000 }, async () => {
  const alice = (await login(browser, '101')).page;
  const bob = (await login(browser, '102')).page;
  const carol = (await login(browser, '103')).page;
  await bob.click('#nav-settings');
  await bob.waitForSelector('#call-waiting');
  assert.equal(await bob.isChecked('#call-waiting'), true, 'on by default');
  await bob.uncheck('#call-waiting');
  await connect(alice, bob, '102');
  await carol.fill('#dial-input', '102');
  await carol.click('#call-audio');
  await callState(carol, 'idle');
  await text(carol, '#call-end-reason', /busy/);
  assert.equal(await bob.locator('#calls').count(), 0, 'nothing rang at Bob');
  await callState(bob, 'connected');
  // The setting is kept in this browser.
  await bob.reload();
  await bob.waitForSelector('#reg-status[data-state="registered"]', { timeout: 15000 });
  await bob.click('#nav-settings');
  assert.equal(await bob.isChecked('#call-waiting'), false);
  await bob.check('#call-waiting');
  await alice.click('#hangup').catch(() => {});
  for (const p of [alice, bob, carol]) await p.context().close();
});

// Glare (RFC 3261 14.1): both press Hold at the same moment. Each re-INVITE meets the other's
// and gets 491; each side rolls its offer back and tries again after a random wait (2.1–4 s
// for the caller, who owns the Call-ID, 0–2 s for the callee), so both end up holding, and
// resuming afterwards brings media back both ways.
test('both sides hold at once: 491 glare, retried, both held, then resumed with media', { timeout: 150000 }, async () => {
  const alice = (await login(browser, '101')).page;
  const bob = (await login(browser, '102')).page;
  await connect(alice, bob, '102');
  // The SIP each page receives, to see the glare happen (DevTools protocol).
  const received = [];
  for (const p of [alice, bob]) {
    const cdp = await p.context().newCDPSession(p);
    await cdp.send('Network.enable');
    cdp.on('Network.webSocketFrameReceived', (e) => received.push(e.response.payloadData));
  }
  // Both press Hold in the same moment (clicks dispatched in the pages, without the driver's
  // waits). Whether the two re-INVITEs cross depends on timing: when they did not (each side
  // saw the other's first), both resume and press again, up to 6 times, until a 491 is seen.
  let glared = false;
  for (let i = 0; i < 6 && !glared; i++) {
    const from = received.length;
    await Promise.all([alice, bob].map((p) => p.evaluate(() => document.querySelector('#hold').click())));
    await callState(alice, 'held', 20000);
    await callState(bob, 'held', 20000);
    glared = received.slice(from).some((m) => m.startsWith('SIP/2.0 491'));
    if (!glared) {
      await alice.click('#hold');
      await callState(alice, 'held-remote', 15000);
      await bob.click('#hold');
      await callState(alice, 'connected');
      await callState(bob, 'connected');
    }
  }
  assert.equal(await alice.getAttribute('#hold', 'data-held'), 'true');
  assert.equal(await bob.getAttribute('#hold', 'data-held'), 'true');
  assert.ok(glared, `a 491 was seen: ${received.map((m) => m.split('\r\n')[0]).join(' | ')}`);
  await still(alice, '#call-stats', 'both held (Alice)');
  await still(bob, '#call-stats', 'both held (Bob)');
  await alice.click('#hold');
  await callState(alice, 'held-remote', 15000); // Bob still holds
  await bob.click('#hold');
  await callState(alice, 'connected');
  await callState(bob, 'connected');
  await grows(alice);
  await grows(bob);
  await alice.click('#hangup');
  await callState(bob, 'idle');
  for (const p of [alice, bob]) await p.context().close();
});
