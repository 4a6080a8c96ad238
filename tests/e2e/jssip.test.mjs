// A standard SIP-over-WebSocket client (JsSIP, from npm) registers and calls a browser running
// our web app through the gateway, and our web app calls it back. Every SIP message JsSIP
// sends is saved under target/e2e/captures as a real wire capture.
import { test, before, after } from 'node:test';
import { writeFileSync, mkdirSync } from 'node:fs';
import { gateway, launch, login, newPage, addBundle, callState, inboundBytes, BASE, PASSWORDS, ARTIFACTS, assert } from './lib.mjs';

let browser;
before(async () => { await gateway.start(); browser = await launch(); });
after(async () => { await browser?.close(); await gateway.kill(); });

async function jssipPage() {
  const page = await newPage(browser, 'jssip');
  // A page of the gateway's, under its real Content-Security-Policy (no inline scripts).
  const csp = (await page.goto(`${BASE}/healthz`)).headers()['content-security-policy'] ?? '';
  assert.match(csp, /script-src 'self'/);
  assert.doesNotMatch(csp, /unsafe-inline/);
  await addBundle(page, 'jssip.js');
  await page.evaluate(async ({ password }) => {
    const cfg = await (await fetch('/api/v1/config')).json();
    window.sent = [];
    const socket = new JsSIP.WebSocketInterface(`ws://${location.host}/sip`);
    const send = socket.send.bind(socket);
    socket.send = (m) => { window.sent.push(m); return send(m); };
    const ua = new JsSIP.UA({ sockets: [socket], uri: `sip:103@${cfg.sip_domain}`, password, register: true });
    window.ua = ua;
    window.domain = cfg.sip_domain;
    window.incoming = null;
    ua.on('newRTCSession', (e) => {
      if (e.originator === 'remote') {
        window.incoming = e.session;
        navigator.mediaDevices.getUserMedia({ audio: true }).then((stream) => {
          e.session.answer({ mediaStream: stream, pcConfig: { iceServers: [] } });
        });
      }
    });
    await new Promise((resolve, reject) => {
      ua.on('registered', resolve);
      ua.on('registrationFailed', (e) => reject(new Error(`JsSIP registration failed: ${e.cause}`)));
      ua.start();
    });
  }, { password: PASSWORDS['103'] });
  return page;
}

async function jssipInboundBytes(page, which) {
  return page.evaluate(async (which) => {
    const session = which === 'incoming' ? window.incoming : window.outgoing;
    for (let i = 0; i < 60; i++) {
      const stats = await session.connection.getStats();
      let bytes = 0;
      stats.forEach((r) => { if (r.type === 'inbound-rtp') bytes += r.bytesReceived ?? 0; });
      if (bytes > 0) return bytes;
      await new Promise((r) => setTimeout(r, 250));
    }
    return 0;
  }, which);
}

test('JsSIP registers, calls the web app, and is called by it', async () => {
  const bob = await login(browser, '102');
  const jssip = await jssipPage();

  // JsSIP (103) calls the web app (102).
  const confirmed = jssip.evaluate(() => new Promise((resolve, reject) => {
    navigator.mediaDevices.getUserMedia({ audio: true }).then((stream) => {
      const s = window.ua.call(`sip:102@${window.domain}`, { mediaStream: stream, pcConfig: { iceServers: [] } });
      window.outgoing = s;
      s.on('confirmed', () => resolve('confirmed'));
      s.on('failed', (e) => reject(new Error(`JsSIP call failed: ${e.cause}`)));
    });
  }));
  await callState(bob.page, 'incoming');
  assert.match(await bob.page.textContent('#call-peer'), /103/);
  await bob.page.click('#answer-audio');
  assert.equal(await confirmed, 'confirmed');
  await callState(bob.page, 'connected');
  assert.ok((await inboundBytes(bob.page)) > 0, 'web app receives JsSIP audio');
  assert.ok((await jssipInboundBytes(jssip, 'outgoing')) > 0, 'JsSIP receives web app audio');
  await jssip.evaluate(() => window.outgoing.terminate());
  await callState(bob.page, 'idle');

  // The web app (102) calls JsSIP (103), which answers by itself.
  await bob.page.fill('#dial-input', '103');
  await bob.page.click('#call-audio');
  await callState(bob.page, 'connected');
  assert.ok((await inboundBytes(bob.page)) > 0, 'web app receives audio from JsSIP');
  assert.ok((await jssipInboundBytes(jssip, 'incoming')) > 0, 'JsSIP receives audio');
  await bob.page.click('#hangup');
  await callState(bob.page, 'idle');
  await jssip.waitForFunction(() => window.incoming.isEnded(), null, { timeout: 10000 });

  const sent = await jssip.evaluate(() => window.sent);
  mkdirSync(`${ARTIFACTS}/captures`, { recursive: true });
  sent.forEach((m, i) => {
    const method = m.split(' ')[0].replace(/[^A-Z0-9]/gi, '_');
    writeFileSync(`${ARTIFACTS}/captures/jssip-${String(i).padStart(2, '0')}-${method}.sip`, m);
  });
  assert.ok(sent.some((m) => m.startsWith('REGISTER')) && sent.some((m) => m.startsWith('INVITE')));
  // Gone, so that the next test's JsSIP is the only 103.
  await jssip.context().close();
  await bob.page.context().close();
});

// Hold both ways with a standard client, our web app as the caller and as the callee (the
// ACK of the callee's re-INVITE must reach JsSIP, which waits for it).
test('the web app holds and resumes a call with JsSIP, and is held and resumed by it', { timeout: 90000 }, async () => {
  const bob = await login(browser, '102');
  const jssip = await jssipPage();
  await bob.page.fill('#dial-input', '103');
  await bob.page.click('#call-audio');
  await callState(bob.page, 'connected');
  assert.ok((await inboundBytes(bob.page)) > 0);
  await jssip.waitForFunction(() => window.incoming?.isEstablished(), null, { timeout: 10000 });

  // The web app holds (a re-INVITE with a=sendonly): JsSIP sees the far end hold it.
  await bob.page.click('#hold');
  await callState(bob.page, 'held');
  await jssip.waitForFunction(() => window.incoming.isOnHold().remote, null, { timeout: 10000 });
  await bob.page.click('#hold');
  await callState(bob.page, 'connected');
  await jssip.waitForFunction(() => !window.incoming.isOnHold().remote, null, { timeout: 10000 });

  // JsSIP holds: the web app says it is held; then resumes.
  await jssip.evaluate(() => window.incoming.hold());
  await callState(bob.page, 'held-remote');
  await jssip.evaluate(() => window.incoming.unhold());
  await callState(bob.page, 'connected');
  assert.ok((await jssipInboundBytes(jssip, 'incoming')) > 0);

  await bob.page.click('#hangup');
  await callState(bob.page, 'idle');
  await jssip.waitForFunction(() => window.incoming.isEnded(), null, { timeout: 10000 });

  // JsSIP calls the web app: the web app, now the callee, holds and resumes twice.
  const confirmed = jssip.evaluate(() => new Promise((resolve, reject) => {
    navigator.mediaDevices.getUserMedia({ audio: true }).then((stream) => {
      const s = window.ua.call(`sip:102@${window.domain}`, { mediaStream: stream, pcConfig: { iceServers: [] } });
      window.outgoing = s;
      s.on('confirmed', () => resolve('confirmed'));
      s.on('failed', (e) => reject(new Error(`JsSIP call failed: ${e.cause}`)));
    });
  }));
  await callState(bob.page, 'incoming');
  await bob.page.click('#answer-audio');
  assert.equal(await confirmed, 'confirmed');
  await callState(bob.page, 'connected');
  for (let i = 0; i < 2; i++) {
    await bob.page.click('#hold');
    await callState(bob.page, 'held');
    await jssip.waitForFunction(() => window.outgoing.isOnHold().remote, null, { timeout: 10000 });
    await bob.page.click('#hold');
    await callState(bob.page, 'connected');
    await jssip.waitForFunction(() => !window.outgoing.isOnHold().remote, null, { timeout: 10000 });
  }
  assert.ok((await jssipInboundBytes(jssip, 'outgoing')) > 0);
  await jssip.evaluate(() => window.outgoing.terminate());
  await callState(bob.page, 'idle');
  await jssip.context().close();
  await bob.page.context().close();
});

// Transfers with a standard client, both ways, and DTMF it sends as SIP INFO. JsSIP (103)
// transfers the web app (101) to a colleague (102): the web app calls 102 and reports the
// progress to JsSIP (NOTIFY), whose REFER is accepted; then the web app (101) transfers
// JsSIP to 102, and JsSIP's own REFER handling calls 102.
test('JsSIP transfers a call with the web app and is transferred by it; its INFO DTMF is shown', { timeout: 120000 }, async () => {
  const alice = (await login(browser, '101')).page;
  const bob = (await login(browser, '102')).page;
  const jssip = await jssipPage();

  // JsSIP calls Alice, sends keys as INFO, then transfers her to Bob.
  const confirmed = jssip.evaluate(() => new Promise((resolve, reject) => {
    navigator.mediaDevices.getUserMedia({ audio: true }).then((stream) => {
      const s = window.ua.call(`sip:101@${window.domain}`, { mediaStream: stream, pcConfig: { iceServers: [] } });
      window.outgoing = s;
      s.on('confirmed', () => resolve('confirmed'));
      s.on('failed', (e) => reject(new Error(`JsSIP call failed: ${e.cause}`)));
    });
  }));
  await callState(alice, 'incoming');
  await alice.click('#answer-audio');
  assert.equal(await confirmed, 'confirmed');
  await callState(alice, 'connected');
  await jssip.evaluate(() => window.outgoing.sendDTMF('42#', { transportType: 'INFO', interToneGap: 100 }));
  await alice.waitForSelector('#dtmf-received[data-digits="42#"]', { timeout: 10000 });

  const referred = jssip.evaluate(() => new Promise((resolve, reject) => {
    const sub = window.outgoing.refer(`sip:102@${window.domain}`);
    sub.on('accepted', () => resolve('accepted'));
    sub.on('failed', (e) => reject(new Error(`refer failed: ${e.status_line?.status_code ?? e}`)));
    sub.on('requestFailed', (e) => reject(new Error(`REFER refused: ${e.response?.status_code}`)));
  }));
  await callState(bob, 'incoming');
  assert.match(await bob.textContent('#call-peer'), /101/);
  await bob.click('#answer-audio');
  assert.equal(await referred, 'accepted', 'JsSIP hears that the transfer worked (NOTIFY 200)');
  await callState(bob, 'connected');
  assert.ok((await inboundBytes(bob)) > 0, 'Bob hears Alice');
  // Alice's call with JsSIP ends (she hangs it up once Bob answered); she talks to Bob.
  await jssip.waitForFunction(() => window.outgoing.isEnded(), null, { timeout: 10000 });
  await callState(alice, 'connected');
  assert.match(await alice.textContent('#call-peer'), /102/);
  await bob.click('#hangup');
  await callState(alice, 'idle');

  // Alice calls JsSIP and transfers it to Bob; JsSIP accepts the REFER and calls Bob.
  await jssip.evaluate(() => {
    window.referred = null;
    window.transferCall = null;
    window.ua.on('newRTCSession', (e) => {
      e.session.on('refer', (r) => {
        window.referred = r.request.getHeader('Refer-To');
        navigator.mediaDevices.getUserMedia({ audio: true }).then((stream) => {
          r.accept((s) => { window.transferCall = s; }, { mediaStream: stream, pcConfig: { iceServers: [] } });
        });
      });
    });
  });
  await alice.fill('#dial-input', '103');
  await alice.click('#call-audio');
  await callState(alice, 'connected');
  await alice.click('#transfer');
  await alice.fill('#transfer-target', '102');
  await alice.click('#transfer-blind');
  await callState(bob, 'incoming');
  assert.match(await bob.textContent('#call-peer'), /103/);
  await callState(alice, 'idle'); // free once Bob rings
  assert.match(await jssip.evaluate(() => window.referred), /sip:102@/);
  await bob.click('#answer-audio');
  await callState(bob, 'connected');
  assert.ok((await inboundBytes(bob)) > 0, 'Bob hears JsSIP');
  await bob.click('#hangup');
  await jssip.waitForFunction(() => window.transferCall?.isEnded(), null, { timeout: 10000 });
  await jssip.context().close();
  await alice.context().close();
  await bob.context().close();
});
