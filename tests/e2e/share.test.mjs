// Meet & Share (issue 12): the screen goes as a second video stream beside the camera (the
// second video m-line), the far end shows it large (#remote-screen) with the camera still
// shown, and stopping it — by the button or by the browser's own "Stop sharing" — stops it
// in the call. Headless Chromium's --use-fake-ui-for-media-stream makes getDisplayMedia
// answer with a synthetic screen at once.
import { test, before, after } from 'node:test';
import { gateway, launch, login, callState, assert } from './lib.mjs';
import { grows, still, press, attr, layout, showsPicture, hidden, until } from './video-lib.mjs';

let browser;
before(async () => { await gateway.start(); browser = await launch(); });
after(async () => { await browser?.close(); await gateway.kill(); });

async function call(alice, bob, kind) {
  await alice.fill('#dial-input', '102');
  await alice.click(`#call-${kind}`);
  await callState(bob, 'incoming');
  await bob.click(`#answer-${kind}`);
  await callState(alice, 'connected');
  await callState(bob, 'connected');
}

/** The browser's "Stop sharing" control ends the screen track. Headless Chromium shows no
 * such bar, so the page does what the browser does: the shared track (the one the app shows
 * in its own #local-screen preview) gets its `ended` event. */
async function browserStopsSharing(page) {
  const ok = await page.evaluate(() => {
    const track = document.querySelector('#local-screen')?.srcObject?.getVideoTracks()[0];
    if (!track) return false;
    track.stop();
    track.dispatchEvent(new Event('ended'));
    return true;
  });
  assert.ok(ok, 'a screen track is being shared');
}

test('a video call: the screen is shared beside the camera and stopped by the browser\'s control', { timeout: 180000 }, async () => {
  const alice = (await login(browser, '101')).page;
  const bob = (await login(browser, '102')).page;
  await call(alice, bob, 'video');
  await grows(bob, 'video-in', 20, 'Bob decodes Alice\'s camera');
  assert.ok(await hidden(bob, '#remote-screen'), 'no screen view before sharing');

  await press(alice, '#share-screen');
  await attr(alice, '#share-screen', 'aria-pressed', 'true');
  await attr(bob, '#call-panel .media', 'data-remote-screen', 'true');
  await grows(bob, 'screen-in', 10, 'Bob decodes Alice\'s screen');
  await grows(bob, 'video-in', 20, 'Bob still decodes Alice\'s camera');
  await until(bob, () => {
    const v = document.querySelector('#remote-screen');
    return getComputedStyle(v).display !== 'none' && v.videoWidth > 0;
  }, null, 'Bob shows #remote-screen');
  assert.ok(await showsPicture(bob, '#remote-video'), 'Bob still shows Alice\'s camera beside the screen');
  // Two different pictures: the screen is not the camera again.
  const [screenW, cameraW] = await bob.evaluate(() => [document.querySelector('#remote-screen').videoWidth,
    document.querySelector('#remote-video').videoWidth]);
  assert.ok(screenW > 0 && cameraW > 0, `screen ${screenW} px, camera ${cameraW} px`);
  assert.ok(await showsPicture(alice, '#local-screen'), 'Alice sees what she shares');

  await browserStopsSharing(alice);
  await attr(alice, '#share-screen', 'aria-pressed', 'false');
  await attr(bob, '#call-panel .media', 'data-remote-screen', 'false');
  await until(bob, () => getComputedStyle(document.querySelector('#remote-screen')).display === 'none', null,
    'Bob\'s screen view to go');
  await still(bob, 'screen-in', 'Bob after the sharing stopped');
  await grows(bob, 'video-in', 20, 'the camera goes on');
  assert.ok(await hidden(alice, '#local-screen'));

  // Shared again and stopped by the button.
  await press(alice, '#share-screen');
  await attr(bob, '#call-panel .media', 'data-remote-screen', 'true');
  await grows(bob, 'screen-in', 10, 'Bob decodes the screen again');
  await press(alice, '#share-screen');
  await attr(alice, '#share-screen', 'aria-pressed', 'false');
  await attr(bob, '#call-panel .media', 'data-remote-screen', 'false');
  await still(bob, 'screen-in', 'Bob after the button stopped the sharing');
  const live = await alice.evaluate(() => document.querySelector('#local-screen').srcObject?.getTracks()
    .filter((t) => t.readyState === 'live').length ?? 0);
  assert.equal(live, 0, 'the screen capture is stopped');

  await alice.click('#hangup');
  await callState(bob, 'idle');
  for (const p of [alice, bob]) await p.context().close();
});

test('an audio call: the screen alone, then the far end\'s camera on the camera m-line', { timeout: 180000 }, async () => {
  const alice = (await login(browser, '101')).page;
  const bob = (await login(browser, '102')).page;
  await call(alice, bob, 'audio');
  await layout(bob, false, 'Bob, audio call');

  await press(alice, '#share-screen');
  await attr(bob, '#call-panel .media', 'data-remote-screen', 'true');
  await layout(bob, true, 'Bob shows the screen');
  await grows(bob, 'screen-in', 10, 'Bob decodes Alice\'s screen');
  assert.equal(await bob.getAttribute('#call-panel .media', 'data-remote-video'), 'false', 'no camera from Alice');
  assert.equal(await bob.getAttribute('#camera', 'aria-pressed'), 'false');
  assert.equal(await alice.getAttribute('#camera', 'aria-pressed'), 'false');

  // Bob's camera goes on the first video m-line (the one Alice made receive-only), so it
  // arrives at Alice as a camera, and Alice's screen still arrives at Bob as a screen.
  await press(bob, '#camera');
  await attr(alice, '#call-panel .media', 'data-remote-video', 'true');
  await grows(alice, 'video-in', 20, 'Alice decodes Bob\'s camera');
  assert.equal(await alice.getAttribute('#call-panel .media', 'data-remote-screen'), 'false');
  await grows(bob, 'screen-in', 10, 'Bob still decodes Alice\'s screen');
  assert.equal(await bob.getAttribute('#call-panel .media', 'data-remote-screen'), 'true');

  // Bob shares too, on the same screen m-line the other way.
  await press(bob, '#share-screen');
  await attr(alice, '#call-panel .media', 'data-remote-screen', 'true');
  await grows(alice, 'screen-in', 10, 'Alice decodes Bob\'s screen');
  await grows(bob, 'screen-in', 10, 'Bob still decodes Alice\'s screen');

  await alice.click('#hangup');
  await callState(bob, 'idle');
  for (const p of [alice, bob]) await p.context().close();
});

test('sharing refused in the browser\'s picker: said in words, the call goes on', { timeout: 120000 }, async () => {
  const alice = (await login(browser, '101')).page;
  const bob = (await login(browser, '102')).page;
  await call(alice, bob, 'audio');
  // Headless Chromium's fake picker always shares; the page answers as the browser does
  // when the person cancels its picker (NotAllowedError).
  await alice.evaluate(() => {
    navigator.mediaDevices.getDisplayMedia = () =>
      Promise.reject(new DOMException('Permission denied by user', 'NotAllowedError'));
  });
  await press(alice, '#share-screen');
  await until(alice, () => document.querySelector('#video-problem')?.textContent, null, 'the sharing problem');
  assert.equal(await alice.textContent('#video-problem'), 'Screen sharing was refused');
  await attr(alice, '#share-screen', 'aria-pressed', 'false');
  await attr(alice, '#camera', 'data-busy', 'false');
  await callState(alice, 'connected');
  assert.equal(await bob.getAttribute('#call-panel .media', 'data-remote-screen'), 'false');
  await grows(bob, 'audio-rx', 2000, 'Bob still hears Alice');
  await alice.click('#hangup');
  await callState(bob, 'idle');
  for (const p of [alice, bob]) await p.context().close();
});
