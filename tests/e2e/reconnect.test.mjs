// The web app reconnects with back-off and registers again after the gateway restarts;
// the users and their passwords are still there (SQLite), and calls work again.
import { test, before, after } from 'node:test';
import { gateway, launch, login, callState, inboundBytes, recordMetric, assert } from './lib.mjs';

let browser;
before(async () => { await gateway.start(); browser = await launch(); });
after(async () => { await browser?.close(); await gateway.kill(); });

test('after a gateway restart both browsers register again and can call', async () => {
  const alice = await login(browser, '101');
  const bob = await login(browser, '102');
  await gateway.kill();
  for (const p of [alice.page, bob.page]) {
    await p.waitForSelector('#reg-status[data-state="reconnecting"]', { timeout: 10000 });
  }
  const t0 = Date.now();
  await gateway.start();
  for (const p of [alice.page, bob.page]) {
    await p.waitForSelector('#reg-status[data-state="registered"]', { timeout: 40000 });
  }
  recordMetric('reregistered_after_restart_ms', Date.now() - t0);
  await alice.page.fill('#dial-input', '102');
  await alice.page.click('#call-audio');
  await callState(bob.page, 'incoming');
  await bob.page.click('#answer-audio');
  await callState(alice.page, 'connected');
  assert.ok((await inboundBytes(alice.page)) > 0);
  await bob.page.click('#hangup');
  await callState(alice.page, 'idle');
});
