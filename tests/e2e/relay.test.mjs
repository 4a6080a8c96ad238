// The gateway's media relay for browsers (TURN on the media address, :3478 by default):
// browsers that cannot reach each other directly fall back to it by themselves, and a
// company that asks for it (the admin's "Send all call media through the gateway") has
// every call between browsers relayed, video included. Each page records its
// RTCPeerConnections, so the test reads from getStats which candidates carry the call.
import { test, before, after } from 'node:test';
import { gateway, launch, login, callState, inboundBytes, assert } from './lib.mjs';

let browser;
before(async () => { await gateway.start(); browser = await launch(); });
after(async () => { await browser?.close(); await gateway.kill(); });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Keeps the page's peer connections in window.__pcs; with `hideHost`, the far end's host
// candidates are taken out of every description the page receives, as if the other browser
// sat behind a NAT nobody can reach directly.
const record = (hideHost) => `(() => {
  const Orig = RTCPeerConnection;
  window.__pcs = [];
  window.RTCPeerConnection = function (...args) {
    const pc = new Orig(...args);
    window.__pcs.push(pc);
    return pc;
  };
  window.RTCPeerConnection.prototype = Orig.prototype;
  window.RTCPeerConnection.generateCertificate = Orig.generateCertificate;
  if (${hideHost}) {
    const setRemote = Orig.prototype.setRemoteDescription;
    Orig.prototype.setRemoteDescription = function (desc) {
      if (desc && desc.sdp) {
        const sdp = desc.sdp.split('\\r\\n').filter((l) => !/^a=candidate:.* typ host/.test(l)).join('\\r\\n');
        desc = { type: desc.type, sdp };
      }
      return setRemote.call(this, desc);
    };
  }
})();`;

async function loginRecorded(ext, hideHost = false) {
  const { page } = await login(browser, ext);
  await page.addInitScript(record(hideHost));
  await page.reload();
  await page.waitForSelector('#reg-status[data-state="registered"]', { timeout: 15000 });
  return page;
}

/** The local and remote candidate types of the page's selected candidate pair. */
async function selectedPair(page) {
  const h = await page.waitForFunction(async () => {
    for (const pc of (window.__pcs ?? []).slice().reverse()) {
      if (pc.connectionState === 'closed') continue;
      const stats = await pc.getStats();
      let pair = null;
      stats.forEach((s) => {
        if (s.type === 'transport' && s.selectedCandidatePairId) pair = stats.get(s.selectedCandidatePairId);
      });
      if (pair && pair.state === 'succeeded') {
        return { local: stats.get(pair.localCandidateId).candidateType, remote: stats.get(pair.remoteCandidateId).candidateType };
      }
    }
    return false;
  }, null, { timeout: 15000, polling: 250 });
  return h.jsonValue();
}

async function call(alice, bob, kind = 'audio') {
  await alice.fill('#dial-input', '102');
  await alice.click(`#call-${kind}`);
  await callState(bob, 'incoming');
  await bob.click(`#answer-${kind}`);
  await callState(alice, 'connected');
  await callState(bob, 'connected');
  const a = await inboundBytes(alice);
  const b = await inboundBytes(bob);
  await sleep(2000);
  const rx = async (p) => Number(await p.getAttribute('#call-stats', 'data-rx-bytes'));
  assert.ok(await rx(alice) > a && await rx(bob) > b, 'media keeps flowing both ways');
}

async function hangup(alice, bob) {
  await alice.click('#hangup');
  await callState(alice, 'idle');
  await callState(bob, 'idle');
}

test('browsers that cannot reach each other directly talk through the relay by themselves', { timeout: 90000 }, async () => {
  const alice = await loginRecorded('101', true);
  const bob = await loginRecorded('102', true);
  try {
    await call(alice, bob);
    const pair = await selectedPair(alice);
    assert.ok(pair.local === 'relay' || pair.remote === 'relay', `relayed: ${JSON.stringify(pair)}`);
    assert.equal(pair.remote, 'relay', 'the far end is reached at its relayed address only');
  } catch (e) {
    e.message += `\n--- alice ---\n${alice.dumpLog()}\n--- bob ---\n${bob.dumpLog()}`;
    throw e;
  }
  await hangup(alice, bob);
  await alice.context().close();
  await bob.context().close();
});

test('a company that asks for it has every call relayed, video too; only its admin may ask', { timeout: 120000 }, async () => {
  const alice = await loginRecorded('101');
  const bob = await loginRecorded('102');
  // Bob is no admin: refused.
  const put = (page, relay) => page.evaluate(async (relay) => (await fetch('/api/v1/company/media', {
    method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ relay }),
  })).status, relay);
  assert.equal(await put(bob, true), 403);
  // Without the setting, the call is direct (host candidates on this machine).
  await call(alice, bob);
  const direct = await selectedPair(alice);
  assert.deepEqual(direct, { local: 'host', remote: 'host' });
  await hangup(alice, bob);
  // Alice (the admin) turns it on in the admin page.
  await alice.click('#nav-admin');
  await alice.waitForSelector('#media-relay:not([disabled])');
  assert.equal(await alice.isChecked('#media-relay'), false);
  await alice.check('#media-relay');
  await alice.waitForSelector('#media-relay-saved');
  assert.deepEqual(await alice.evaluate(async () => (await fetch('/api/v1/company/media')).json()), { relay: true });
  // New pages fetch the setting (open pages within 5 minutes): every candidate relayed.
  for (const p of [alice, bob]) await p.reload();
  for (const p of [alice, bob]) await p.waitForSelector('#reg-status[data-state="registered"]', { timeout: 15000 });
  const ice = await bob.evaluate(async () => (await fetch('/api/v1/ice')).json());
  assert.equal(ice.relay_only, true);
  assert.match(ice.ice_servers[0].urls[0], /^turn:127\.0\.0\.1:3478\?transport=udp$/);
  assert.match(ice.ice_servers[0].username, /^\d+:\d+$/);
  try {
    await call(alice, bob, 'video');
    assert.deepEqual(await selectedPair(alice), { local: 'relay', remote: 'relay' });
    assert.deepEqual(await selectedPair(bob), { local: 'relay', remote: 'relay' });
    const width = await bob.waitForFunction(() => {
      const v = document.querySelector('#remote-video');
      return v && v.videoWidth > 0 ? v.videoWidth : false;
    }, null, { timeout: 10000 });
    assert.ok((await width.jsonValue()) > 0, 'relayed video has frames');
  } catch (e) {
    e.message += `\n--- alice ---\n${alice.dumpLog()}\n--- bob ---\n${bob.dumpLog()}`;
    throw e;
  }
  await hangup(alice, bob);
  assert.equal(await put(alice, false), 200);
  // Credentials are the logged-in person's: none without a session.
  const anon = await browser.newContext();
  const p = await anon.newPage();
  await p.goto((await import('./lib.mjs')).BASE);
  assert.equal(await p.evaluate(async () => (await fetch('/api/v1/ice')).status), 401);
  await anon.close();
  await alice.context().close();
  await bob.context().close();
});
