// Two browsers log in as 101 and 102; 101 calls 102 with audio, then video; media flows.
import { test, before, after } from 'node:test';
import { gateway, launch, login, callState, inboundBytes, recordMetric, assert } from './lib.mjs';

let browser;
before(async () => { await gateway.start(); browser = await launch(); });
after(async () => { await browser?.close(); await gateway.kill(); });

test('a browser calls a browser through the gateway, audio then video', async () => {
  const alice = await login(browser, '101');
  const bob = await login(browser, '102');
  recordMetric('page_load_to_registered_ms', Math.max(alice.registeredMs, bob.registeredMs));

  for (const kind of ['audio', 'video']) {
    await alice.page.fill('#dial-input', '102');
    await alice.page.click(`#call-${kind}`);
    await callState(bob.page, 'incoming');
    assert.match(await bob.page.textContent('#call-peer'), /101/);
    await bob.page.click(`#answer-${kind}`);
    await callState(alice.page, 'connected');
    await callState(bob.page, 'connected');
    const aRx = await inboundBytes(alice.page);
    const bRx = await inboundBytes(bob.page);
    assert.ok(aRx > 0 && bRx > 0, `inbound RTP bytes: 101=${aRx} 102=${bRx}`);
    if (kind === 'video') {
      const width = await bob.page.waitForFunction(() => {
        const v = document.querySelector('#remote-video');
        return v && v.videoWidth > 0 ? v.videoWidth : false;
      }, null, { timeout: 10000 });
      assert.ok((await width.jsonValue()) > 0, 'remote video has frames');
    }
    await alice.page.click('#hangup');
    await callState(alice.page, 'idle');
    await callState(bob.page, 'idle');
    assert.match(await bob.page.textContent('#call-end-reason'), /hung up/i);
  }
});

test('wrong password is refused with a clear message', async () => {
  const { newPage, emailOf, BASE } = await import('./lib.mjs');
  const page = await newPage(browser, 'bad');
  await page.goto(BASE);
  await page.fill('#login-email', emailOf('103'));
  await page.fill('#login-password', 'definitely-wrong');
  await page.click('#login-submit');
  await page.waitForSelector('#login-error:not([hidden])', { timeout: 15000 });
  assert.match(await page.textContent('#login-error'), /wrong e-mail or password/i);
  // Still on the login form, and the password field was cleared.
  assert.equal(await page.inputValue('#login-password'), '');
});

test('calling an unknown extension says so; a number outside the company and an emergency number say why they cannot go out', async () => {
  const alice = await login(browser, '101');
  for (const [dialled, said] of [
    ['199', /no such extension/i],
    ['+48 601 234 567', /no line to the phone network/i],
    ['112', /emergency numbers cannot be called from here yet/i],
  ]) {
    await alice.page.fill('#dial-input', dialled);
    await alice.page.click('#call-audio');
    try {
      await alice.page.waitForFunction((re) => new RegExp(re, 'i').test(document.querySelector('#call-end-reason')?.textContent ?? ''), said.source, { timeout: 15000 });
    } catch (e) {
      e.message += `\n${dialled}: the page said ${JSON.stringify(await alice.page.textContent('#call-end-reason').catch(() => null))}\n${alice.page.dumpLog()}`;
      throw e;
    }
    await callState(alice.page, 'idle');
  }
});
