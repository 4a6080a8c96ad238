// Incoming calls while the page is in the background (headless Chromium): with notification
// permission granted (the browser's permission override) and asked for from Settings, a call
// ringing while the callee's tab is not in front shows a persistent notification through the
// service worker, with Answer and Decline; its Answer, run by the service worker's own click
// handler, answers the call with media; a call the caller cancels closes its notification.
// Also: reloading during a call asks first (beforeunload), and not while idle.
import { test, before, after } from 'node:test';
import { gateway, launch, login, callState, inboundBytes, BASE, assert } from './lib.mjs';

let browser;
before(async () => { await gateway.start(); browser = await launch(); });
after(async () => { await browser?.close(); await gateway.kill(); });

/** The notifications the page's service worker shows now. */
const notifications = (page) => page.evaluate(async () => {
  const reg = await navigator.serviceWorker.ready;
  return (await reg.getNotifications()).map((n) => ({
    title: n.title, body: n.body, tag: n.tag, call: n.data?.call,
    actions: n.actions.map((a) => a.action),
  }));
});

async function waitNotifications(page, count) {
  const deadline = Date.now() + 10000;
  for (;;) {
    const list = await notifications(page);
    if (list.length === count) return list;
    if (Date.now() > deadline) {
      const probe = await page.evaluate(async () => {
        const reg = await navigator.serviceWorker.ready;
        const r = await reg.showNotification('probe', { tag: 'probe', actions: [{ action: 'a', title: 'A' }] })
          .then(() => 'ok', (e) => `${e.name}: ${e.message}`);
        return { r, permission: Notification.permission, n: (await reg.getNotifications()).length };
      });
      throw new Error(`expected ${count} notifications, have ${JSON.stringify(list)}; probe ${JSON.stringify(probe)}\n${page.dumpLog()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Puts `page` in the background: another tab of its context comes to the front. Playwright
 * makes every headless page believe it has the focus ("focus emulation"); that is turned off
 * for `page` over CDP first. Should the page still report itself visible and focused (headless
 * Chromium has no real windows), the test hides it itself: `document.visibilityState` reads
 * "hidden" and `document.hasFocus()` false, with a visibilitychange event, which is what the
 * app reads. Returns how it went. */
async function toBackground(page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Emulation.setFocusEmulationEnabled', { enabled: false }).catch(() => {});
  const other = await page.context().newPage();
  await other.goto('about:blank');
  await other.bringToFront();
  const state = () => page.evaluate(() => ({ visibility: document.visibilityState, focus: document.hasFocus() }));
  const deadline = Date.now() + 3000;
  let s = await state();
  while (s.visibility !== 'hidden' && s.focus && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    s = await state();
  }
  if (s.visibility === 'hidden' || !s.focus) return { ...s, emulated: false, other };
  await page.evaluate(() => {
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'hidden' });
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => true });
    document.hasFocus = () => false;
    document.dispatchEvent(new Event('visibilitychange'));
    window.dispatchEvent(new Event('blur'));
  });
  return { ...(await state()), emulated: true, other };
}

test('a call ringing in the background notifies with Answer and Decline', { timeout: 120000 }, async () => {
  const alice = (await login(browser, '101')).page;
  const bob = (await login(browser, '102')).page;

  // Not asked at page load: Settings says what the browser allows (headless Chromium
  // answers "denied" until permission is granted; a desktop browser "default", with the
  // button that asks).
  await bob.click('#nav-settings');
  const before = await bob.getAttribute('#notify-state', 'data-state');
  console.log(`notification permission before: ${before}`);
  assert.ok(['default', 'denied'].includes(before), before);
  assert.equal(!!(await bob.$('#notify-enable')), before === 'default', 'the button only while it can ask');
  if (before === 'denied') assert.match(await bob.textContent('#notify-state'), /blocked for this site/);

  // Granted (the browser's permission override, as the user would in the prompt or the
  // site settings): Settings, opened again, says so.
  await bob.context().grantPermissions(['notifications'], { origin: BASE });
  if (before === 'default') await bob.click('#notify-enable');
  await bob.click('#nav-phone');
  await bob.click('#nav-settings');
  await bob.waitForSelector('#notify-state[data-state="granted"]');
  assert.equal(await bob.$('#notify-enable'), null);
  await bob.evaluate(() => navigator.serviceWorker.ready);

  // In front, a call rings in the page only.
  await alice.fill('#dial-input', '102');
  await alice.click('#call-audio');
  await callState(bob, 'incoming');
  assert.deepEqual(await notifications(bob), []);
  await alice.click('#hangup');
  await callState(bob, 'idle');

  const bg = await toBackground(bob);
  console.log(`callee in the background: visibilityState=${bg.visibility}, hasFocus=${bg.focus}, emulated=${bg.emulated}`);
  assert.ok(bg.visibility === 'hidden' || !bg.focus, 'the callee page is not in front');

  await alice.fill('#dial-input', '102');
  await alice.click('#call-audio');
  await callState(bob, 'incoming');
  const [n] = await waitNotifications(bob, 1);
  assert.equal(n.title, 'Incoming call');
  assert.match(n.body, /E2E 101 \(101\)/);
  assert.deepEqual(n.actions, ['answer', 'decline']);
  assert.match(n.tag, /^centrala-call-\d+$/);
  const ringtone = await bob.getAttribute('#call-panel', 'data-tone');
  assert.equal(ringtone, 'ring', 'the page rings in the background as before');

  // Answer, through the service worker's click handler (headless Chromium has no
  // notification to click: the test runs the worker's `notificationClicked` on the shown
  // notification, as its notificationclick listener does; the worker posts to the page).
  const sw = bob.context().serviceWorkers().find((w) => w.url().endsWith('/sw.js'));
  assert.ok(sw, 'the service worker runs');
  await sw.evaluate(async () => {
    const [shown] = await self.registration.getNotifications();
    await notificationClicked(shown, 'answer');
  });
  await callState(bob, 'connected');
  await callState(alice, 'connected');
  assert.ok(await inboundBytes(bob) > 0, 'media flows to the callee');
  assert.ok(await inboundBytes(alice) > 0, 'media flows to the caller');
  await waitNotifications(bob, 0);

  // beforeunload: a reload during the call asks first (dismissed: the call goes on).
  const asked = new Promise((r) => bob.once('dialog', async (d) => { r(d.type()); await d.dismiss(); }));
  await bob.evaluate(() => setTimeout(() => location.reload(), 0));
  assert.equal(await asked, 'beforeunload');
  await callState(bob, 'connected');
  await alice.click('#hangup');
  await callState(bob, 'idle');

  // A call the caller cancels closes its notification. (Answering focused the callee's
  // page: the service worker brings it forward; it goes to the background again.)
  await toBackground(bob);
  await alice.fill('#dial-input', '102');
  await alice.click('#call-audio');
  await callState(bob, 'incoming');
  await waitNotifications(bob, 1);
  await alice.click('#hangup');
  await callState(bob, 'idle');
  await waitNotifications(bob, 0);

  // Decline from the notification: the caller hears it declined.
  await toBackground(bob);
  await alice.fill('#dial-input', '102');
  await alice.click('#call-audio');
  await callState(bob, 'incoming');
  await waitNotifications(bob, 1);
  await sw.evaluate(async () => {
    const [shown] = await self.registration.getNotifications();
    await notificationClicked(shown, 'decline');
  });
  await callState(bob, 'idle');
  await callState(alice, 'idle');
  await waitNotifications(bob, 0);

  // Idle: a reload does not ask.
  let dialogs = 0;
  bob.on('dialog', (d) => { dialogs++; d.dismiss(); });
  await bob.reload();
  await bob.waitForSelector('#reg-status[data-state="registered"]', { timeout: 15000 });
  assert.equal(dialogs, 0, 'no question when idle');
  for (const p of [alice, bob]) await p.context().close();
});
