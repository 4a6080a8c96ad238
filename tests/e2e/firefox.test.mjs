// Firefox ESR (Debian) and Chromium call each other through the gateway: audio, then video,
// each way, with media checked on both ends. Firefox runs under puppeteer-core over WebDriver
// BiDi; Chromium under playwright-core. Firefox's headless getDisplayMedia answers
// NotFoundError, so screen sharing is not tried here.
import { test, before, after } from 'node:test';
import { gateway, launch, launchFirefox, login, loginFirefox, callState, inboundBytes, recordMetric, assert } from './lib.mjs';

let chromium;
let firefox;
before(async () => {
  await gateway.start();
  chromium = await launch();
  firefox = await launchFirefox();
});
after(async () => {
  await firefox?.close();
  await chromium?.close();
  await gateway.kill();
});

/** The call panel's state in a page of either driver. */
async function state(page, want, timeout = 20000) {
  try {
    await page.waitForSelector(`#call-panel[data-state="${want}"]`, { timeout });
  } catch (e) {
    console.error(page.dumpLog());
    throw e;
  }
}

async function rxBytes(page, timeout = 20000) {
  const h = await page.waitForFunction(() => {
    const n = Number(document.querySelector('#call-stats')?.getAttribute('data-rx-bytes') ?? 0);
    return n > 0 ? n : false;
  }, { timeout, polling: 250 });
  return h.jsonValue();
}

async function videoWidth(page, timeout = 20000) {
  const h = await page.waitForFunction(() => {
    const v = document.querySelector('#remote-video');
    return v && v.videoWidth > 0 ? v.videoWidth : false;
  }, { timeout, polling: 250 });
  return h.jsonValue();
}

test('Chromium and Firefox ESR call each other: audio and video, both ways', { timeout: 120000 }, async () => {
  const ch = await login(chromium, '101');
  const ff = await loginFirefox(firefox, '102');
  recordMetric('firefox_page_load_to_registered_ms', ff.registeredMs);

  // Chromium calls Firefox with audio.
  await ch.page.fill('#dial-input', '102');
  await ch.page.click('#call-audio');
  await state(ff.page, 'incoming');
  assert.match(await ff.page.$eval('#call-peer', (e) => e.textContent), /101/);
  await ff.page.click('#answer-audio');
  await callState(ch.page, 'connected');
  await state(ff.page, 'connected');
  const a = await inboundBytes(ch.page);
  const b = await rxBytes(ff.page);
  assert.ok(a > 0 && b > 0, `audio both ways: Chromium ${a} B, Firefox ${b} B`);
  await ff.page.click('#hangup');
  await callState(ch.page, 'idle');
  await state(ff.page, 'idle');

  // Firefox calls Chromium with video; both see the other's frames.
  await ff.page.focus('#dial-input');
  await ff.page.keyboard.down('Control');
  await ff.page.keyboard.press('a');
  await ff.page.keyboard.up('Control');
  await ff.page.type('#dial-input', '101');
  await ff.page.click('#call-video');
  await callState(ch.page, 'incoming');
  await ch.page.click('#answer-video');
  await callState(ch.page, 'connected');
  await state(ff.page, 'connected');
  const chWidth = await ch.page.waitForFunction(() => {
    const v = document.querySelector('#remote-video');
    return v && v.videoWidth > 0 ? v.videoWidth : false;
  }, null, { timeout: 20000 });
  assert.ok((await chWidth.jsonValue()) > 0, 'Chromium shows Firefox\'s video');
  assert.ok((await videoWidth(ff.page)) > 0, 'Firefox shows Chromium\'s video');
  assert.ok((await rxBytes(ff.page)) > 0);
  await ch.page.click('#hangup');
  await callState(ch.page, 'idle');
  await state(ff.page, 'idle');
  assert.match(await ff.page.$eval('#call-end-reason', (e) => e.textContent), /hung up/i);
});
