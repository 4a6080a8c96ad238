// Call set-up time in the browser (issue 12's benchmark), headless Chromium on loopback:
//   click-to-ringing: the caller clicks "call" -> the callee's page shows the incoming call;
//   answer-to-media:  the callee clicks "answer" -> the caller's RTCPeerConnection has
//                     received its first RTP bytes (inbound-rtp bytesReceived > 0).
// Both ends stamp times in the page (performance.timeOrigin + now(), one clock on one
// machine); the caller's peer connections are captured by an init script and polled with
// getStats every 5 ms. Runs inside the e2e network namespace:
//   E2E_FILES=bench/call-setup.bench.mjs tests/e2e/run.sh        (CALLS=20 by default)
// A benchmark, not a test: it asserts only that each call worked, and prints the figures.
import { test, before, after } from 'node:test';
import { gateway, launch, login, callState, recordMetric } from '../tests/e2e/lib.mjs';

const CALLS = Number(process.env.CALLS ?? 20);
let browser;
before(async () => { await gateway.start(); browser = await launch(); });
after(async () => { await browser?.close(); await gateway.kill(); });

const median = (v) => { const s = [...v].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const pct = (v, p) => { const s = [...v].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(s.length * p))]; };

test(`call set-up: click to ringing and answer to media, ${CALLS} calls`, { timeout: 60000 + CALLS * 15000 }, async () => {
  const alice = await login(browser, '101');
  const bob = await login(browser, '102');
  // Capture the caller's peer connections (the app keeps its own; this only watches them).
  await alice.page.evaluate(() => {
    const Orig = window.RTCPeerConnection;
    window.__pcs = [];
    window.RTCPeerConnection = function (...a) { const pc = new Orig(...a); window.__pcs.push(pc); return pc; };
    window.RTCPeerConnection.prototype = Orig.prototype;
  });
  // The callee stamps the moment its panel turns to "incoming".
  await bob.page.evaluate(() => {
    window.__incoming = 0;
    const panel = () => document.querySelector('#call-panel');
    new MutationObserver(() => {
      if (panel()?.getAttribute('data-state') === 'incoming' && !window.__incoming) {
        window.__incoming = performance.timeOrigin + performance.now();
      }
    }).observe(document.body, { subtree: true, attributes: true, attributeFilter: ['data-state'], childList: true });
  });
  await alice.page.fill('#dial-input', '102');
  const ring = [];
  const media = [];
  for (let i = 0; i < CALLS; i++) {
    await bob.page.evaluate(() => { window.__incoming = 0; });
    await alice.page.evaluate(() => { window.__pcs = []; });
    const clicked = await alice.page.evaluate(() => {
      const t = performance.timeOrigin + performance.now();
      document.querySelector('#call-audio').click();
      return t;
    });
    await callState(bob.page, 'incoming');
    const rang = await bob.page.evaluate(() => window.__incoming);
    ring.push(rang - clicked);
    const answered = await bob.page.evaluate(() => {
      const t = performance.timeOrigin + performance.now();
      document.querySelector('#answer-audio').click();
      return t;
    });
    const flowing = await alice.page.evaluate(async () => {
      for (;;) {
        for (const pc of window.__pcs) {
          const stats = await pc.getStats();
          for (const s of stats.values()) {
            if (s.type === 'inbound-rtp' && s.bytesReceived > 0) return performance.timeOrigin + performance.now();
          }
        }
        await new Promise((r) => setTimeout(r, 5));
      }
    });
    media.push(flowing - answered);
    await callState(alice.page, 'connected');
    await alice.page.click('#hangup');
    await callState(alice.page, 'idle');
    await callState(bob.page, 'idle');
    await new Promise((r) => setTimeout(r, 300));
  }
  const summary = (v) => ({
    median_ms: Math.round(median(v)), p90_ms: Math.round(pct(v, 0.9)),
    min_ms: Math.round(Math.min(...v)), max_ms: Math.round(Math.max(...v)), n: v.length,
  });
  recordMetric('click_to_ringing', summary(ring));
  recordMetric('answer_to_media', summary(media));
});
