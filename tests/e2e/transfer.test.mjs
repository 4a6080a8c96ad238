// Passing a call on, in Chromium, three employees: a blind transfer by dragging a contact
// onto the call (REFER, RFC 3515), an attended transfer (consult first, then REFER with
// Replaces, RFC 3891), and a consultation given up (back to the caller). Media is checked
// through getStats (`data-rx-bytes`) at the people who end up talking.
import { test, before, after } from 'node:test';
import { gateway, launch, login, callState, inboundBytes, assert } from './lib.mjs';

let browser;
before(async () => { await gateway.start(); browser = await launch(); });
after(async () => { await browser?.close(); await gateway.kill(); });

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

async function people() {
  const alice = (await login(browser, '101')).page;
  const bob = (await login(browser, '102')).page;
  const carol = (await login(browser, '103')).page;
  return { alice, bob, carol };
}

async function close(...pages) {
  for (const p of pages) await p.context().close();
}

test('blind transfer by drag and drop: Alice ends up talking to Carol, Bob is free', { timeout: 90000 }, async () => {
  const { alice, bob, carol } = await people();
  await connect(alice, bob, '102');
  // Bob drags Carol's row from his contact list onto the call.
  const carolRow = bob.locator('#contacts tr.contact-row[data-ext="103"]');
  await carolRow.waitFor({ timeout: 10000 });
  assert.equal(await carolRow.getAttribute('draggable'), 'true');
  await carolRow.dragTo(bob.locator('#call-panel .call-active[data-drop="call"]'));
  // Alice now rings Carol (the caller is the one who calls the target) ...
  await callState(carol, 'incoming');
  await text(carol, '#call-peer', /101/);
  // ... and Bob is free as soon as Carol rings, told that the call was transferred.
  await callState(bob, 'idle');
  await text(bob, '#call-end-reason', /transferred/);
  await text(alice, '#call-peer', /103/);
  await carol.click('#answer-audio');
  await callState(carol, 'connected');
  await callState(alice, 'connected');
  await grows(alice);
  await grows(carol);
  assert.equal(await alice.locator('#calls .call').count(), 0, 'Alice has one call, with Carol');
  await alice.click('#hangup');
  await callState(carol, 'idle');
  await close(alice, bob, carol);
});

test('blind transfer by number to someone not there fails and Bob keeps the caller', { timeout: 90000 }, async () => {
  const alice = (await login(browser, '101')).page;
  const bob = (await login(browser, '102')).page;
  await connect(alice, bob, '102');
  await bob.click('#transfer');
  await bob.fill('#transfer-target', '103'); // 103 is not logged in: 480
  await bob.click('#transfer-blind');
  await bob.waitForSelector('#transfer-status[data-progress="failed"]', { timeout: 15000 });
  await text(bob, '#transfer-status', /transfer failed/);
  assert.notEqual(await bob.getAttribute('#call-panel', 'data-state'), 'idle', 'Bob still has Alice');
  // Bob can go on talking to Alice.
  if ((await bob.getAttribute('#call-panel', 'data-state')) === 'held') await bob.click('#hold');
  await callState(bob, 'connected');
  await callState(alice, 'connected');
  await grows(alice);
  await bob.click('#hangup');
  await callState(alice, 'idle');
  await close(alice, bob);
});

test('attended transfer: Bob talks to Carol first, then connects Alice and Carol', { timeout: 90000 }, async () => {
  const { alice, bob, carol } = await people();
  await connect(alice, bob, '102');
  await bob.click('#transfer');
  await bob.fill('#transfer-target', '103');
  await bob.click('#transfer-consult');
  // Calling Carol holds Alice.
  await callState(carol, 'incoming');
  await text(carol, '#call-peer', /102/);
  await carol.click('#answer-audio');
  await callState(carol, 'connected');
  await callState(alice, 'held-remote');
  await bob.waitForSelector('#consultation #complete-transfer:not([disabled])', { timeout: 10000 });
  await text(bob, '#consultation', /101/);
  await grows(carol);
  // Complete: Alice calls Carol in place of Bob's consultation; Carol is not rung again.
  await bob.click('#complete-transfer');
  await callState(bob, 'idle', 15000);
  await text(bob, '#call-end-reason', /transferred/);
  await alice.waitForFunction(() => /103/.test(document.querySelector('#call-peer')?.textContent ?? ''), null, { timeout: 10000 });
  await callState(alice, 'connected');
  await callState(carol, 'connected');
  await text(carol, '#call-peer', /101/);
  assert.equal(await carol.locator('#calls .call').count(), 0, 'Carol has one call, with Alice');
  await grows(alice);
  await grows(carol);
  await carol.click('#hangup');
  await callState(alice, 'idle');
  await close(alice, bob, carol);
});

test('a consultation given up returns Bob to Alice', { timeout: 90000 }, async () => {
  const { alice, bob, carol } = await people();
  await connect(alice, bob, '102');
  await bob.click('#transfer');
  await bob.fill('#transfer-target', '103');
  await bob.click('#transfer-consult');
  await callState(carol, 'incoming');
  await carol.click('#answer-audio');
  await callState(carol, 'connected');
  await callState(alice, 'held-remote');
  await bob.click('#cancel-consult');
  await callState(carol, 'idle');
  // Bob is back with Alice, who is no longer held.
  await callState(bob, 'connected');
  await callState(alice, 'connected');
  await text(bob, '#call-peer', /101/);
  await grows(alice);
  await grows(bob);
  await bob.click('#hangup');
  await callState(alice, 'idle');
  await close(alice, bob, carol);
});
