// Two baresip softphones (Debian's baresip, no audio hardware) register over UDP as extensions
// 101 and 102, 101 calls 102 through the gateway, and RTP flows directly between them in both
// directions. Each sends a sine tone of its own pitch (ausine) and records what it decodes
// (sndfile), so the test checks that each side hears the other's tone, not silence or its own.
// baresip needs a network interface besides lo: in-netns.sh gives the namespace a veth pair
// (192.0.2.1); SIP stays on 127.0.0.1, RTP goes 192.0.2.1 <-> 192.0.2.1 inside the namespace.
import { test, before, after } from 'node:test';
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, readdirSync, existsSync, rmSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { gateway, PASSWORDS, ARTIFACTS, assert } from './lib.mjs';

const BARESIP = process.env.BARESIP ?? '/usr/bin/baresip';
const GW_SIP = '127.0.0.1:5060';
// baresip binds UDP and TCP on sip_listen's port and TLS on the next one: keep them apart.
const PHONES = {
  101: { sip: '127.0.0.1:5301', rtp: [20100, 20119], tone: 440 },
  102: { sip: '127.0.0.1:5311', rtp: [20200, 20219], tone: 660, auto: true },
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const esc = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A baresip process with its own config folder; its stdout and stderr are kept in `out`. */
class Baresip {
  constructor(ext) {
    this.ext = ext;
    const p = PHONES[ext];
    this.dir = mkdtempSync(join(tmpdir(), `baresip-${ext}-`));
    this.snd = join(this.dir, 'snd');
    mkdirSync(this.snd);
    // No audio hardware: the source is a sine tone, the player aubridge (a device nobody
    // reads), and the sndfile filter writes what is sent and received to WAV files.
    // ausine only works at 48 kHz stereo; baresip resamples to and from G.711's 8 kHz mono.
    writeFileSync(join(this.dir, 'config'), [
      'poll_method epoll',
      `sip_listen ${p.sip}`,
      `rtp_ports ${p.rtp[0]}-${p.rtp[1]}`,
      'rtp_timeout 0',
      'dns_server 127.0.0.1:53',
      `audio_source ausine,${p.tone}`,
      `audio_player aubridge,sink${ext}`,
      `audio_alert aubridge,sink${ext}`,
      'ausrc_srate 48000',
      'ausrc_channels 2',
      'auplay_srate 48000',
      'auplay_channels 1',
      `snd_path ${this.snd}`,
      'module_path /usr/lib/baresip/modules',
      'module stdio.so',
      'module g711.so',
      'module ausine.so',
      'module aubridge.so',
      'module sndfile.so',
      'module_app account.so',
      'module_app menu.so',
      '',
    ].join('\n'));
    const params = [`auth_pass=${PASSWORDS[ext]}`, 'regint=300', 'audio_codecs=PCMU'];
    if (p.auto) params.push('answermode=auto');
    writeFileSync(join(this.dir, 'accounts'),
      `<sip:${ext}@${GW_SIP};transport=udp>;${params.join(';')}\n`);
    this.out = '';
    // -s: SIP trace, for the failure messages.
    this.proc = spawn(BARESIP, ['-s', '-f', this.dir], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.done = false;
    this.exited = new Promise((r) => {
      this.proc.once('exit', (code, sig) => {
        this.out += `\n[baresip ${ext} exited: ${sig ?? code}]\n`;
        this.done = true;
        r();
      });
      this.proc.once('error', (e) => {
        this.out += `\n[baresip ${ext}: ${e.message}]\n`;
        this.done = true;
        r();
      });
    });
    for (const s of [this.proc.stdout, this.proc.stderr]) s.on('data', (d) => { this.out += d; });
    this.proc.stdin.on('error', () => {}); // writes after it exited
  }

  /** baresip's output, without its colours, the stdio module's redraws of a command line at
   * each keystroke ("/", "/d", "/di", ... separated by CR) and all but the last of each run of
   * call status lines ("[0:00:03] audio=64000/64000 (bit/s)", also redrawn with CR). */
  log() {
    const lines = this.out.replace(/\x1b\[[0-9;]*m/g, '').split(/[\r\n]/)
      .map((l) => l.trimEnd()).filter((l) => l.trim() !== '');
    const status = /^\s*\[\d+:\d\d:\d\d\] audio=/;
    return lines.filter((l, i) => {
      const next = lines[i + 1] ?? '';
      if (l.startsWith('/') && next.startsWith(l)) return false;
      return !(status.test(l) && status.test(next));
    }).join('\n');
  }

  send(cmd) {
    this.proc.stdin.write(`${cmd}\n`);
  }

  /** Waits until the output matches `re` (returns the match); fails fast on `fail`. */
  async waitFor(re, what, timeout = 10000, fail = null) {
    const deadline = Date.now() + timeout;
    for (;;) {
      const m = this.out.replace(/\x1b\[[0-9;]*m/g, '').match(re);
      if (m) return m;
      const bad = fail && this.out.replace(/\x1b\[[0-9;]*m/g, '').match(fail);
      if (bad) {
        const hint = /Function not implemented/.test(bad[0])
          ? ' (baresip 1.0.0 gives up on a whole challenge when one of its WWW-Authenticate headers'
            + ' has an algorithm it lacks, such as SHA-256: over UDP it needs a single MD5 challenge)'
          : '';
        throw new Error(`${this.ext}: ${what}: failed: ${bad[0]}${hint}`);
      }
      if (this.done) throw new Error(`${this.ext}: ${what}: baresip is not running`);
      if (Date.now() > deadline) throw new Error(`${this.ext}: ${what}: no sign after ${timeout} ms`);
      await sleep(100);
    }
  }

  /** Quits (SIGTERM, then SIGKILL), bounded. */
  async stop() {
    if (!this.done) {
      this.send('/quit');
      const quit = await Promise.race([this.exited.then(() => true), sleep(2000).then(() => false)]);
      if (!quit) this.proc.kill('SIGTERM');
      const term = quit || await Promise.race([this.exited.then(() => true), sleep(2000).then(() => false)]);
      if (!term) { this.proc.kill('SIGKILL'); await this.exited; }
    }
    writeFileSync(`${ARTIFACTS}/baresip-${this.ext}.log`, this.log());
  }
}

/** The decoded (received) audio baresip's sndfile wrote: 16-bit PCM samples (mono, 8 kHz). */
function decodedAudio(phone) {
  const files = readdirSync(phone.snd).filter((f) => f.endsWith('-dec.wav'));
  assert.equal(files.length, 1, `${phone.ext}: one decoded-audio file in ${phone.snd}: ${files}`);
  const buf = readFileSync(join(phone.snd, files[0]));
  assert.equal(buf.toString('ascii', 0, 4), 'RIFF', `${phone.ext}: a WAV file`);
  const channels = buf.readUInt16LE(22);
  const rate = buf.readUInt32LE(24);
  assert.equal(buf.readUInt16LE(34), 16, `${phone.ext}: 16-bit samples`);
  // Walk the chunks to "data"; read to the end of the file (its size field may not be final).
  let off = 12;
  while (off + 8 <= buf.length && buf.toString('ascii', off, off + 4) !== 'data') {
    off += 8 + buf.readUInt32LE(off + 4);
  }
  assert.ok(off + 8 <= buf.length, `${phone.ext}: WAV has a data chunk`);
  const samples = [];
  for (let i = off + 8; i + 2 * channels <= buf.length; i += 2 * channels) samples.push(buf.readInt16LE(i));
  return { rate, samples };
}

/** The loud part of the audio: its length in seconds, RMS and pitch (by zero crossings). */
function tone({ rate, samples }) {
  const first = samples.findIndex((s) => Math.abs(s) > 1000);
  if (first < 0) return { seconds: 0, rms: 0, hz: 0 };
  let last = samples.length - 1;
  while (Math.abs(samples[last]) <= 1000) last--;
  const loud = samples.slice(first, last + 1);
  let crossings = 0;
  for (let i = 1; i < loud.length; i++) if ((loud[i - 1] < 0) !== (loud[i] < 0)) crossings++;
  const seconds = loud.length / rate;
  const rms = Math.sqrt(loud.reduce((a, s) => a + s * s, 0) / loud.length);
  return { seconds, rms: Math.round(rms), hz: Math.round(crossings / 2 / seconds) };
}

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
  const a = new Baresip('101');
  const b = new Baresip('102');
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
