// Helpers for the video and Meet & Share tests (video.test.mjs, share.test.mjs,
// firefox-video.test.mjs). They work with pages of either driver (playwright-core for
// Chromium, puppeteer-core for Firefox): only `evaluate(fn, arg)` and `click(sel)` are used,
// and waits are polls with a timeout.
import { assert } from './lib.mjs';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn(arg)` in the page until it returns something truthy; returns it. */
export async function until(page, fn, arg, what, timeout = 15000) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    last = await page.evaluate(fn, arg);
    if (last) return last;
    if (Date.now() > end) {
      throw new Error(`timed out after ${timeout} ms waiting for ${what}\n${page.dumpLog?.() ?? ''}`);
    }
    await sleep(200);
  }
}

/** A number the call panel reports on `#call-stats` (`data-<name>`): `video-in` (frames
 * decoded from the far end's camera), `screen-in` (from its shared screen), `video-out`
 * (frames we encoded), `audio-rx` (audio bytes received). Sampled once a second. */
export async function stat(page, name) {
  return page.evaluate((n) => Number(document.querySelector('#call-stats')?.getAttribute(`data-${n}`) ?? 0), name);
}

/** Waits until stat `name` grows by more than `by` (frames or bytes arrive). */
export async function grows(page, name, by, who, timeout = 15000) {
  const start = await stat(page, name);
  await until(page, ([n, v]) => Number(document.querySelector('#call-stats')?.getAttribute(`data-${n}`) ?? 0) > v,
    [name, start + by], `${who}: ${name} to grow past ${start + by} (from ${start})`, timeout);
}

/** Asserts that stat `name` stays (nearly) still over 3 s (after 2 s for the last packets
 * and stats sample): nothing arrives any more. */
export async function still(page, name, who, slack = 2) {
  await sleep(2000);
  const a = await stat(page, name);
  await sleep(3000);
  const b = await stat(page, name);
  assert.ok(b - a <= slack, `${who}: ${name} grew by ${b - a} in 3 s, expected it to stop`);
}

/** Clicks `sel` once it is there and enabled (a video change under way disables it). */
export async function press(page, sel) {
  await until(page, (s) => { const e = document.querySelector(s); return !!e && !e.disabled; }, sel, `${sel} enabled`);
  await page.click(sel);
}

/** Waits until `sel` has attribute `name` equal to `value`. */
export async function attr(page, sel, name, value, timeout = 15000) {
  await until(page, ([s, n, v]) => document.querySelector(s)?.getAttribute(n) === v, [sel, name, value],
    `${sel}[${name}="${value}"]`, timeout);
}

/** Whether the call panel shows video at all (not the audio-only layout). */
export async function videoLayout(page) {
  return page.evaluate(() => !document.querySelector('#call-panel .media').classList.contains('audio-only'));
}

/** Waits for the audio-only layout (`false`) or a video one (`true`). */
export async function layout(page, video, who) {
  await until(page, (v) => document.querySelector('#call-panel .media').classList.contains('audio-only') !== v, video,
    `${who}: the ${video ? 'video' : 'audio-only'} layout`);
}

/** Live camera tracks this page holds for the call (`#local-video`'s stream): 0 once the
 * camera is off and stopped (its light off). */
export async function liveCameraTracks(page) {
  return page.evaluate(() => (document.querySelector('#local-video')?.srcObject?.getVideoTracks() ?? [])
    .filter((t) => t.readyState === 'live').length);
}

/** Whether element `sel` is displayed and has a picture (`videoWidth` > 0). */
export async function showsPicture(page, sel) {
  return page.evaluate((s) => {
    const v = document.querySelector(s);
    return !!v && getComputedStyle(v).display !== 'none' && v.getBoundingClientRect().width > 0 && v.videoWidth > 0;
  }, sel);
}

/** Whether element `sel` is hidden (`display: none`). */
export async function hidden(page, sel) {
  return page.evaluate((s) => getComputedStyle(document.querySelector(s)).display === 'none', sel);
}
