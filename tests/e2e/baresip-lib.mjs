// A baresip softphone (Debian's baresip, no audio hardware) driven over stdin for the
// end-to-end tests: its own config folder, a sine tone as microphone, SIP trace kept.
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, readdirSync } from 'node:fs';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ARTIFACTS } from './lib.mjs';

export const BARESIP = process.env.BARESIP ?? '/usr/bin/baresip';
export const GW_SIP = '127.0.0.1:5060';
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const esc = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A baresip process with its own config folder; its stdout and stderr are kept in `out`.
 * `p`: `sip` (its listen address; baresip binds UDP and TCP on that port and TLS on the next,
 * so keep phones 10 apart), `rtp` ([first, last] port), `tone` (Hz), `auto` (answers by
 * itself), `user` and `pass` (the SIP user name, `ext` by default, and its password),
 * `webrtc` (accepts DTLS-SRTP, ICE and Opus offers), `mwi` (subscribes to its message-waiting
 * summary, RFC 3842, once registered), `regint` (registration interval, 0: it does not register,
 * as a carrier's switch does not), `tls` (a PEM file with its certificate and key: it also
 * serves SIP over TLS, on the port after `sip`). */
export class Baresip {
  constructor(ext, p) {
    this.ext = ext;
    this.dir = mkdtempSync(join(tmpdir(), `baresip-${ext}-`));
    this.snd = join(this.dir, 'snd');
    mkdirSync(this.snd);
    // No audio hardware: the source is a sine tone, the player aubridge (a device nobody
    // reads), and the sndfile filter writes what is sent and received to WAV files.
    // ausine only works at 48 kHz stereo; baresip resamples to and from G.711's 8 kHz mono.
    writeFileSync(join(this.dir, 'config'), [
      'poll_method epoll',
      `sip_listen ${p.sip}`,
      ...(p.tls ? [`sip_certificate ${p.tls}`] : []),
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
      ...(p.webrtc ? ['module opus.so', 'module dtls_srtp.so', 'module ice.so'] : []),
      // WebRTC peers (Chromium) require RTCP multiplexed on the RTP port (RFC 5761); without
      // it baresip also answers ICE with a=ice-mismatch (no RTCP candidate offered).
      ...(p.webrtc ? ['rtcp_mux yes'] : []),
      'module ausine.so',
      'module aubridge.so',
      'module sndfile.so',
      'module_app account.so',
      'module_app menu.so',
      ...(p.mwi ? ['module_app mwi.so'] : []),
      '',
    ].join('\n'));
    // `webrtc`: it takes the web app's offers (DTLS-SRTP, ICE, Opus), as a desk phone of
    // the media plane's issue will through the gateway.
    const params = [`auth_pass=${p.pass}`, `regint=${p.regint ?? 300}`,
      ...(p.webrtc ? ['audio_codecs=opus,PCMU', 'mediaenc=dtls_srtp', 'medianat=ice'] : ['audio_codecs=PCMU'])];
    if (p.auto) params.push('answermode=auto');
    writeFileSync(join(this.dir, 'accounts'),
      `<sip:${p.user ?? ext}@${GW_SIP};transport=udp>;${params.join(';')}\n`);
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

  /** Where its output is now: [`waitFor`] from here sees only what comes after. */
  mark() {
    return this.out.length;
  }

  /** Waits until the output (from `from` on) matches `re` (returns the match); fails fast on
   * `fail`. */
  async waitFor(re, what, timeout = 10000, fail = null, from = 0) {
    const deadline = Date.now() + timeout;
    for (;;) {
      const m = this.out.slice(from).replace(/\x1b\[[0-9;]*m/g, '').match(re);
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
export function decodedAudio(phone) {
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
export function tone({ rate, samples }) {
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
