// Firefox ESR (Debian, puppeteer-core over WebDriver BiDi) with Chromium (playwright-core):
// an audio call held and resumed from either side; upgraded to video from Firefox and from
// Chromium by renegotiation, and back, held and resumed with the video transceivers in it;
// and screen sharing in Firefox, whose headless getDisplayMedia answers NotFoundError (there
// is no screen to capture): the panel must say so in words, and the call goes on.
//
// Firefox writes `c=IN IP4 0.0.0.0` in every SDP it makes (the candidates carry the
// addresses). The first test checks that the other side does not take that for an RFC 2543
// hold: both sides must say "connected" again after each resume.
import { test, before, after } from 'node:test';
import { gateway, launch, launchFirefox, login, loginFirefox, callState, assert } from './lib.mjs';
import { grows, still, press, attr, layout, liveCameraTracks, until, stat } from './video-lib.mjs';

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

/** The call panel's state, in a page of either driver. */
async function state(page, want, timeout = 20000) {
  await until(page, (w) => document.querySelector('#call-panel')?.getAttribute('data-state') === w, want,
    `#call-panel[data-state="${want}"]`, timeout);
}

async function connect(ch, ff) {
  await ch.fill('#dial-input', '102');
  await ch.click('#call-audio');
  await state(ff, 'incoming');
  await ff.click('#answer-audio');
  await callState(ch, 'connected');
  await state(ff, 'connected');
  await grows(ch, 'audio-rx', 2000, 'Chromium hears Firefox', 20000);
  await grows(ff, 'audio-rx', 2000, 'Firefox hears Chromium', 20000);
}

test('Firefox: an audio call held and resumed from either side, both sides saying so', { timeout: 180000 }, async () => {
  const ch = (await login(chromium, '101')).page;
  const ff = (await loginFirefox(firefox, '102')).page;
  await connect(ch, ff);

  // Firefox holds and resumes.
  await press(ff, '#hold');
  await state(ff, 'held');
  await callState(ch, 'held-remote');
  await still(ch, 'audio-rx', 'Chromium, held by Firefox', 400);
  await press(ff, '#hold');
  await state(ff, 'connected');
  await callState(ch, 'connected');
  await grows(ch, 'audio-rx', 2000, 'Chromium hears Firefox after resume', 20000);
  await grows(ff, 'audio-rx', 2000, 'Firefox hears Chromium after resume', 20000);

  // Chromium holds and resumes.
  await press(ch, '#hold');
  await callState(ch, 'held');
  await state(ff, 'held-remote');
  await still(ff, 'audio-rx', 'Firefox, held by Chromium', 400);
  await press(ch, '#hold');
  await callState(ch, 'connected');
  await state(ff, 'connected');
  await grows(ff, 'audio-rx', 2000, 'Firefox hears Chromium after resume', 20000);
  await grows(ch, 'audio-rx', 2000, 'Chromium hears Firefox after resume', 20000);

  await ff.click('#hangup');
  await callState(ch, 'idle');
  await state(ff, 'idle');
  await ch.context().close();
  await ff.browserContext().close();
});

test('Firefox: video upgrade from each side and back, hold with video, sharing refused in words', { timeout: 240000 }, async () => {
  const ch = (await login(chromium, '101')).page;
  const ff = (await loginFirefox(firefox, '102')).page;
  await connect(ch, ff);

  // Firefox turns its camera on: Chromium decodes it, and its own camera stays off.
  await press(ff, '#camera');
  await attr(ff, '#camera', 'aria-pressed', 'true', 20000);
  await attr(ch, '#call-panel .media', 'data-remote-video', 'true', 20000);
  await layout(ch, true, 'Chromium shows Firefox\'s video');
  await grows(ch, 'video-in', 20, 'Chromium decodes Firefox\'s camera', 20000);
  assert.equal(await liveCameraTracks(ch), 0, 'Chromium\'s camera was not opened');
  assert.equal(await stat(ch, 'video-out'), 0, 'Chromium sends no video');

  // Chromium turns its camera on: Firefox decodes it.
  await press(ch, '#camera');
  await attr(ch, '#camera', 'aria-pressed', 'true');
  await attr(ff, '#call-panel .media', 'data-remote-video', 'true', 20000);
  await grows(ff, 'video-in', 20, 'Firefox decodes Chromium\'s camera', 20000);

  // Firefox turns its camera off: stopped, and Chromium's frames from it stop.
  await press(ff, '#camera');
  await attr(ff, '#camera', 'aria-pressed', 'false', 20000);
  await attr(ff, '#camera', 'data-busy', 'false', 20000);
  assert.equal(await liveCameraTracks(ff), 0, 'Firefox\'s camera is stopped');
  await attr(ch, '#call-panel .media', 'data-remote-video', 'false', 20000);
  await still(ch, 'video-in', 'Chromium after Firefox\'s camera went off');
  await grows(ff, 'video-in', 20, 'Firefox still decodes Chromium\'s camera', 20000);
  await grows(ch, 'audio-rx', 2000, 'Chromium hears Firefox', 20000);

  // Hold and resume from Firefox with the video transceivers in the call: Chromium's
  // camera stops reaching Firefox while held and comes back after. (Chromium's own status
  // line after Firefox's offers is the first test's subject.)
  await press(ff, '#hold');
  await state(ff, 'held');
  await still(ff, 'video-in', 'Firefox, holding');
  await press(ff, '#hold');
  await state(ff, 'connected');
  await grows(ff, 'video-in', 20, 'Firefox decodes Chromium\'s camera after resume', 20000);
  await grows(ch, 'audio-rx', 2000, 'Chromium hears Firefox after resume', 20000);

  // Sharing: headless Firefox's getDisplayMedia answers NotFoundError. The user is told, in
  // words, and nothing else changes.
  await press(ff, '#share-screen');
  await until(ff, () => document.querySelector('#video-problem')?.textContent ?? '', null,
    'the sharing problem to be shown', 20000);
  const words = await ff.evaluate(() => document.querySelector('#video-problem').textContent);
  assert.match(words, /nothing this browser can share here/i);
  await attr(ff, '#share-screen', 'aria-pressed', 'false');
  await attr(ff, '#camera', 'data-busy', 'false');
  await state(ff, 'connected');
  await grows(ff, 'video-in', 20, 'the call goes on', 20000);

  await ch.click('#hangup');
  await callState(ch, 'idle');
  await state(ff, 'idle');
});
