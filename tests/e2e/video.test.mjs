// An audio call upgraded to video and back, by renegotiation (re-INVITE), from either side
// (issue 12): the far end shows the video that arrives without turning its own camera on;
// turning the camera off stops it (track stopped) and the far end's view goes back to the
// audio layout; audio flows throughout; hold and resume still work with the video
// transceivers. Media is checked through getStats as the call panel reports it
// (`#call-stats` data-video-in / data-video-out / data-audio-rx).
import { test, before, after } from 'node:test';
import { gateway, launch, login, callState, assert } from './lib.mjs';
import { grows, still, press, attr, layout, liveCameraTracks, stat, until } from './video-lib.mjs';

let browser;
before(async () => { await gateway.start(); browser = await launch(); });
after(async () => { await browser?.close(); await gateway.kill(); });

/** Audio flows both ways (bytes grow on each side). */
async function audioFlows(alice, bob) {
  await grows(alice, 'audio-rx', 2000, 'Alice hears Bob');
  await grows(bob, 'audio-rx', 2000, 'Bob hears Alice');
}

test('audio call upgraded to video and back from either side; hold and resume after it', { timeout: 240000 }, async () => {
  const alice = (await login(browser, '101')).page;
  const bob = (await login(browser, '102')).page;
  await alice.fill('#dial-input', '102');
  await alice.click('#call-audio');
  await callState(bob, 'incoming');
  await bob.click('#answer-audio');
  await callState(alice, 'connected');
  await callState(bob, 'connected');
  await audioFlows(alice, bob);
  await layout(alice, false, 'Alice, audio call');
  await layout(bob, false, 'Bob, audio call');
  assert.equal(await liveCameraTracks(alice), 0, 'an audio call opens no camera');

  // Alice turns her camera on: Bob gets her frames and shows them, his own camera stays off.
  await press(alice, '#camera');
  await attr(alice, '#camera', 'aria-pressed', 'true');
  await attr(alice, '#camera', 'data-busy', 'false');
  await attr(bob, '#call-panel .media', 'data-remote-video', 'true');
  await layout(bob, true, 'Bob sees Alice');
  await grows(bob, 'video-in', 20, 'Bob decodes Alice\'s camera');
  await grows(alice, 'video-out', 20, 'Alice sends her camera');
  assert.equal(await liveCameraTracks(alice), 1);
  assert.equal(await bob.getAttribute('#camera', 'aria-pressed'), 'false', 'Bob\'s camera button: off');
  assert.equal(await liveCameraTracks(bob), 0, 'Bob\'s camera was not opened');
  assert.equal(await stat(bob, 'video-out'), 0, 'Bob sends no video');
  await still(bob, 'video-out', 'Bob (camera off)', 0);
  await audioFlows(alice, bob);

  // Bob turns his camera on the same way: Alice gets his frames.
  await press(bob, '#camera');
  await attr(bob, '#camera', 'aria-pressed', 'true');
  await attr(alice, '#call-panel .media', 'data-remote-video', 'true');
  await grows(alice, 'video-in', 20, 'Alice decodes Bob\'s camera');
  await grows(bob, 'video-in', 20, 'Bob still decodes Alice\'s camera');

  // Alice turns her camera off: it is stopped, Bob's frames from her stop, his go on.
  await press(alice, '#camera');
  await attr(alice, '#camera', 'aria-pressed', 'false');
  await attr(alice, '#camera', 'data-busy', 'false');
  assert.equal(await liveCameraTracks(alice), 0, 'Alice\'s camera is stopped (its light off)');
  await attr(bob, '#call-panel .media', 'data-remote-video', 'false');
  await still(bob, 'video-in', 'Bob after Alice\'s camera went off');
  await grows(alice, 'video-in', 20, 'Alice still decodes Bob\'s camera');
  await audioFlows(alice, bob);

  // Bob turns his off too: both panels are back to the audio layout.
  await press(bob, '#camera');
  await attr(bob, '#camera', 'aria-pressed', 'false');
  await layout(alice, false, 'Alice, no video either way');
  await layout(bob, false, 'Bob, no video either way');
  assert.equal(await liveCameraTracks(bob), 0);
  await still(alice, 'video-in', 'Alice after Bob\'s camera went off');
  await audioFlows(alice, bob);

  // Upgraded again, then held and resumed: nothing flows while held, all again after.
  await press(alice, '#camera');
  await attr(alice, '#camera', 'aria-pressed', 'true');
  await grows(bob, 'video-in', 20, 'Bob decodes Alice\'s camera again');
  await press(alice, '#hold');
  await callState(alice, 'held');
  await callState(bob, 'held-remote');
  await still(bob, 'video-in', 'Bob, held');
  await still(bob, 'audio-rx', 'Bob, held', 400);
  await press(alice, '#hold');
  await callState(alice, 'connected');
  await callState(bob, 'connected');
  await grows(bob, 'video-in', 20, 'Bob decodes Alice\'s camera after resume');
  await audioFlows(alice, bob);
  // The camera can still be turned off after a hold.
  await press(alice, '#camera');
  await attr(alice, '#camera', 'aria-pressed', 'false');
  await attr(bob, '#call-panel .media', 'data-remote-video', 'false');
  assert.equal(await liveCameraTracks(alice), 0);

  await alice.click('#hangup');
  await callState(alice, 'idle');
  await callState(bob, 'idle');
  for (const p of [alice, bob]) await p.context().close();
});

test('the camera turned on while the call is held goes out only when resumed', { timeout: 120000 }, async () => {
  const alice = (await login(browser, '101')).page;
  const bob = (await login(browser, '102')).page;
  await alice.fill('#dial-input', '102');
  await alice.click('#call-audio');
  await callState(bob, 'incoming');
  await bob.click('#answer-audio');
  await callState(bob, 'connected');
  await press(bob, '#hold');
  await callState(bob, 'held');
  await callState(alice, 'held-remote');
  await press(bob, '#camera');
  await attr(bob, '#camera', 'aria-pressed', 'true');
  await attr(bob, '#camera', 'data-busy', 'false');
  await callState(bob, 'held');
  await still(alice, 'video-in', 'Alice while Bob holds');
  await press(bob, '#hold');
  await callState(bob, 'connected');
  await callState(alice, 'connected');
  await attr(alice, '#call-panel .media', 'data-remote-video', 'true');
  await grows(alice, 'video-in', 20, 'Alice decodes Bob\'s camera after resume');
  await grows(alice, 'audio-rx', 2000, 'Alice hears Bob');
  await alice.click('#hangup');
  await callState(bob, 'idle');
  for (const p of [alice, bob]) await p.context().close();
});

test('no click is lost: both cameras turned on at once (glare), a camera change right after a hold', { timeout: 180000 }, async () => {
  const alice = (await login(browser, '101')).page;
  const bob = (await login(browser, '102')).page;
  await alice.fill('#dial-input', '102');
  await alice.click('#call-audio');
  await callState(bob, 'incoming');
  await bob.click('#answer-audio');
  await callState(alice, 'connected');
  await callState(bob, 'connected');

  // Both offer at once: one re-INVITE meets the other (491), and each change still goes out.
  await Promise.all([press(alice, '#camera'), press(bob, '#camera')]);
  await attr(alice, '#camera', 'aria-pressed', 'true');
  await attr(bob, '#camera', 'aria-pressed', 'true');
  await attr(alice, '#call-panel .media', 'data-remote-video', 'true', 20000);
  await attr(bob, '#call-panel .media', 'data-remote-video', 'true', 20000);
  await attr(alice, '#camera', 'data-busy', 'false', 20000);
  await attr(bob, '#camera', 'data-busy', 'false', 20000);
  await grows(alice, 'video-in', 20, 'Alice decodes Bob\'s camera');
  await grows(bob, 'video-in', 20, 'Bob decodes Alice\'s camera');

  // Hold, and at once the camera off: the camera change waits for the hold's offer.
  await alice.click('#hold');
  await alice.click('#camera');
  await callState(alice, 'held');
  await callState(bob, 'held-remote');
  await attr(alice, '#camera', 'aria-pressed', 'false');
  await attr(alice, '#camera', 'data-busy', 'false', 20000);
  assert.equal(await liveCameraTracks(alice), 0);
  await attr(bob, '#call-panel .media', 'data-remote-video', 'false', 20000);
  await press(alice, '#hold');
  await callState(alice, 'connected');
  await callState(bob, 'connected');
  await grows(alice, 'video-in', 20, 'Alice decodes Bob\'s camera after resume');
  await still(bob, 'video-in', 'Bob: Alice\'s camera stays off after resume');
  await grows(bob, 'audio-rx', 2000, 'Bob hears Alice');

  await alice.click('#hangup');
  await callState(bob, 'idle');
  for (const p of [alice, bob]) await p.context().close();
});

test('the camera refused: said in words, the call goes on, a later try works', { timeout: 120000 }, async () => {
  const alice = (await login(browser, '101')).page;
  const bob = (await login(browser, '102')).page;
  await alice.fill('#dial-input', '102');
  await alice.click('#call-audio');
  await callState(bob, 'incoming');
  await bob.click('#answer-audio');
  await callState(alice, 'connected');
  // Headless Chromium grants the fake camera without a prompt; the page refuses it the way
  // the browser does when the person answers "Block" (NotAllowedError), while asked to.
  await alice.evaluate(() => {
    const md = navigator.mediaDevices;
    const real = md.getUserMedia.bind(md);
    window.refuseCamera = true;
    md.getUserMedia = (c) => (window.refuseCamera && c?.video && !c?.audio
      ? Promise.reject(new DOMException('Permission denied', 'NotAllowedError'))
      : real(c));
  });
  await press(alice, '#camera');
  await until(alice, () => document.querySelector('#video-problem')?.textContent, null, 'the camera problem');
  assert.equal(await alice.textContent('#video-problem'), 'Access to the camera was denied');
  await attr(alice, '#camera', 'aria-pressed', 'false');
  await attr(alice, '#camera', 'data-busy', 'false');
  await callState(alice, 'connected');
  assert.equal(await bob.getAttribute('#call-panel .media', 'data-remote-video'), 'false');
  await grows(bob, 'audio-rx', 2000, 'Bob still hears Alice');

  await alice.evaluate(() => { window.refuseCamera = false; });
  await press(alice, '#camera');
  await attr(alice, '#camera', 'aria-pressed', 'true');
  await until(alice, () => !document.querySelector('#video-problem'), null, 'the problem to go');
  await grows(bob, 'video-in', 20, 'Bob decodes Alice\'s camera');
  await alice.click('#hangup');
  await callState(bob, 'idle');
  for (const p of [alice, bob]) await p.context().close();
});
