// Two baresip softphones (Debian's baresip, no audio hardware) register over UDP as extensions
// 101 and 102, 101 calls 102 through the gateway, and RTP flows directly between them in both
// directions. Each sends a sine tone of its own pitch (ausine) and records what it decodes
// (sndfile), so the test checks that each side hears the other's tone, not silence or its own.
// baresip needs a network interface besides lo: in-netns.sh gives the namespace a veth pair
// (192.0.2.1); SIP stays on 127.0.0.1, RTP goes 192.0.2.1 <-> 192.0.2.1 inside the namespace.
import { test, before, after } from 'node:test';
import { readFileSync, existsSync, rmSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { gateway, PASSWORDS, ARTIFACTS, assert } from './lib.mjs';
import { Baresip, BARESIP, GW_SIP, sleep, esc, decodedAudio, tone } from './baresip-lib.mjs';

// baresip binds UDP and TCP on sip_listen's port and TLS on the next one: keep them apart.
const PHONES = {
  101: { sip: '127.0.0.1:5301', rtp: [20100, 20119], tone: 440, pass: PASSWORDS[101] },
  102: { sip: '127.0.0.1:5311', rtp: [20200, 20219], tone: 660, auto: true, pass: PASSWORDS[102] },
};

const phones = [];
let failed = true;

function diagnostics() {
  const gw = existsSync(`${ARTIFACTS}/gateway.log`)
    ? readFileSync(`${ARTIFACTS}/gateway.log`, 'utf8').replace(/\x1b\[[0-9;]*m/g, '').split('\n').slice(-40).join('\n') : '';
  return phones.map((p) => `--- baresip ${p.ext} (${p.dir}) ---\n${p.log()}`).join('\n')
    + `\n--- gateway.log (tail) ---\n${gw}`;
}

/** Runs `step`; on failure, adds both baresips' output and the gateway's log to the error. */
async function step(what, f) {
  try {
    return await f();
  } catch (e) {
    e.message = `${what}: ${e.message}\n${diagnostics()}`;
    throw e;
  }
}

before(async () => {
  assert.ok(existsSync(BARESIP), `${BARESIP} missing: scripts/install-deps.sh --test installs baresip`);
  const ifaces = Object.entries(networkInterfaces())
    .filter(([, addrs]) => addrs.some((a) => a.family === 'IPv4' && !a.internal));
  assert.ok(ifaces.length > 0,
    'baresip needs an interface besides lo: run this through tests/e2e/run.sh (in-netns.sh adds a veth pair)');
  await gateway.start(['--sip-udp', GW_SIP]);
});

after(async () => {
  await Promise.all(phones.map((p) => p.stop()));
  await gateway.kill();
  if (!failed) for (const p of phones) rmSync(p.dir, { recursive: true, force: true });
});

test('two baresips register over UDP, call each other through the gateway, and RTP flows both ways', { timeout: 60000 }, async () => {
  const a = new Baresip('101', PHONES[101]);
  const b = new Baresip('102', PHONES[102]);
  phones.push(a, b);
  const regFailed = /reg: [^\n]*(?:Register: [^\n]*|\b[3-6]\d\d [^\n]*)/;

  await step('register', () => Promise.all([a, b].map((p) => p.waitFor(
    new RegExp(`\\b${p.ext}@[\\d.]+: \\{0/UDP/v4\\} 200 OK`),
    'registered (200 OK)', 10000, regFailed))));

  a.send(`/dial sip:102@${GW_SIP}`);
  await step('call', () => Promise.all([
    a.waitFor(/Call established: sip:102@/, 'call established', 10000, /Call with [^\n]* terminated[^\n]*|call: [^\n]*(?:failed|\b[4-6]\d\d [A-Z])[^\n]*/),
    b.waitFor(/Call established: sip:101@/, 'call established', 10000, /Call with [^\n]* terminated[^\n]*/),
  ]));

  // 102 got the INVITE from the gateway (baresip's SIP trace: "UDP FROM -> TO" above it).
  assert.match(b.log(), new RegExp(`UDP ${esc(GW_SIP)} -> ${esc(PHONES[102].sip)}\\nINVITE sip:102`),
    `102 gets the INVITE from the gateway\n${diagnostics()}`);

  // Each side receives RTP from the other's RTP port range, on an address of this namespace.
  await step('RTP', async () => {
    for (const [me, peer] of [[a, b], [b, a]]) {
      const m = await me.waitFor(/incoming rtp for 'audio' established, receiving from ([\d.]+):(\d+)/,
        'incoming RTP', 10000);
      const [lo, hi] = PHONES[peer.ext].rtp;
      assert.ok(/^(127\.|192\.0\.2\.)/.test(m[1]), `${me.ext} receives RTP from ${m[1]}, inside the namespace`);
      assert.ok(+m[2] >= lo && +m[2] <= hi + 1, `${me.ext} receives RTP from ${peer.ext}'s ports (${m[2]})`);
    }
    // baresip's call status line: "audio=TX/RX (bit/s)", both at G.711's 64 kbit/s.
    for (const p of [a, b]) {
      await p.waitFor(/audio=[1-9]\d*\/[1-9]\d* \(bit\/s\)/, 'RTP bit rate both ways > 0', 10000);
    }
  });
  await sleep(1000);

  a.send('/hangup');
  await step('hang up', () => Promise.all([
    a.waitFor(/Call with sip:102@[^\n]* terminated/, 'call terminated', 5000),
    b.waitFor(/Call with sip:101@[^\n]* terminated/, 'call terminated', 5000),
  ]));

  // What each side decoded is the other's tone.
  await step('audio', async () => {
    for (const [me, peer] of [[a, b], [b, a]]) {
      const heard = tone(decodedAudio(me));
      const want = PHONES[peer.ext].tone;
      assert.ok(heard.seconds >= 2, `${me.ext} heard ${heard.seconds} s of sound (want >= 2 s): ${JSON.stringify(heard)}`);
      assert.ok(heard.rms > 3000, `${me.ext} heard a loud tone: ${JSON.stringify(heard)}`);
      assert.ok(Math.abs(heard.hz - want) < want * 0.05,
        `${me.ext} heard ${heard.hz} Hz, ${peer.ext}'s tone is ${want} Hz: ${JSON.stringify(heard)}`);
    }
  });
  failed = false;
});
