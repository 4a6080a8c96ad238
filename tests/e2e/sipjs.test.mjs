// SIP.js (from npm), another standard SIP-over-WebSocket client, registers and calls a
// browser running our web app through the gateway. Its wire messages are saved as captures.
import { test, before, after } from 'node:test';
import { writeFileSync, mkdirSync } from 'node:fs';
import { gateway, launch, login, newPage, addBundle, callState, inboundBytes, BASE, PASSWORDS, ARTIFACTS, assert } from './lib.mjs';

let browser;
before(async () => { await gateway.start(); browser = await launch(); });
after(async () => { await browser?.close(); await gateway.kill(); });

test('SIP.js registers and calls the web app', async () => {
  const bob = await login(browser, '102');
  const page = await newPage(browser, 'sipjs');
  // A page of the gateway's, under its real Content-Security-Policy (no inline scripts).
  const csp = (await page.goto(`${BASE}/healthz`)).headers()['content-security-policy'] ?? '';
  assert.match(csp, /script-src 'self'/);
  assert.doesNotMatch(csp, /unsafe-inline/);
  await addBundle(page, 'sipjs.js');
  await page.evaluate(async ({ password }) => {
    const cfg = await (await fetch('/api/v1/config')).json();
    window.sent = [];
    const send = WebSocket.prototype.send;
    WebSocket.prototype.send = function (m) { window.sent.push(String(m)); return send.call(this, m); };
    const audio = document.createElement('audio');
    document.body.appendChild(audio);
    const user = new SIP.Web.SimpleUser(`ws://${location.host}/sip`, {
      aor: `sip:101@${cfg.sip_domain}`,
      media: { constraints: { audio: true, video: false }, remote: { audio } },
      userAgentOptions: {
        authorizationUsername: '101',
        authorizationPassword: password,
        sessionDescriptionHandlerFactoryOptions: { peerConnectionConfiguration: { iceServers: [] }, iceGatheringTimeout: 2000 },
      },
    });
    window.user = user;
    window.domain = cfg.sip_domain;
    await user.connect();
    await user.register();
  }, { password: PASSWORDS['101'] });

  const answered = page.evaluate(() => new Promise((resolve, reject) => {
    window.user.delegate = { onCallAnswered: () => resolve('answered'), onCallHangup: () => {} };
    window.user.call(`sip:102@${window.domain}`).catch(reject);
  }));
  await callState(bob.page, 'incoming');
  assert.match(await bob.page.textContent('#call-peer'), /101/);
  await bob.page.click('#answer-audio');
  assert.equal(await answered, 'answered');
  await callState(bob.page, 'connected');
  assert.ok((await inboundBytes(bob.page)) > 0, 'web app receives SIP.js audio');
  const sipjsRx = await page.evaluate(async () => {
    const pc = window.user.session.sessionDescriptionHandler.peerConnection;
    for (let i = 0; i < 60; i++) {
      let bytes = 0;
      (await pc.getStats()).forEach((r) => { if (r.type === 'inbound-rtp') bytes += r.bytesReceived ?? 0; });
      if (bytes > 0) return bytes;
      await new Promise((r) => setTimeout(r, 250));
    }
    return 0;
  });
  assert.ok(sipjsRx > 0, 'SIP.js receives web app audio');
  await page.evaluate(() => window.user.hangup());
  await callState(bob.page, 'idle');
  await page.evaluate(() => window.user.unregister());

  const sent = await page.evaluate(() => window.sent);
  mkdirSync(`${ARTIFACTS}/captures`, { recursive: true });
  sent.forEach((m, i) => {
    const method = m.split(' ')[0].replace(/[^A-Z0-9]/gi, '_');
    writeFileSync(`${ARTIFACTS}/captures/sipjs-${String(i).padStart(2, '0')}-${method}.sip`, m);
  });
  assert.ok(sent.some((m) => m.startsWith('REGISTER')) && sent.some((m) => m.startsWith('INVITE')));
});
