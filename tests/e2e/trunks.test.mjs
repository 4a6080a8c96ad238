// Calls to and from the phone network through SIP trunks. The "phone network" is sipp from
// Debian on loopback (and baresip for a caller whose audio is checked), in three roles: a carrier that answers any number with RTP echo
// (sipp's built-in UAS, -rtp_echo), an overloaded carrier that answers 503 (a scenario of
// ours), and the network calling the company's public number (a scenario of ours, network-call.xml). A
// fourth trunk has nothing behind it (silence). The operator adds them with
// `centrala trunk add` before the gateway starts; they are removed again at the end (the
// data folder is shared with the other test files).
import { test, before, after } from 'node:test';
import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { gateway, login, callState, inboundBytes, assert, launchWithTone, ARTIFACTS, BASE } from './lib.mjs';
import { Baresip, GW_SIP, sleep, decodedAudio, tone } from './baresip-lib.mjs';

const DATA = process.env.CENTRALA_DATA_DIR;
const BIN = process.env.CENTRALA_BIN;
const SILENT = 5099; // nothing listens here
const BUSY = 5098; // sipp answering 503
const CARRIER = 5090; // sipp answering 200 with RTP echo
const NETWORK_CALLER = 5093; // sipp calling the company's number

const CERTS = `${ARTIFACTS}/carrier-tls`;

/** A CA, and a certificate for 127.0.0.1 that it signed (the TLS carrier's). */
function makeCarrierCertificates() {
  rmSync(CERTS, { recursive: true, force: true });
  mkdirSync(CERTS, { recursive: true });
  const ext = `${CERTS}/leaf.ext`;
  writeFileSync(ext, 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n');
  const openssl = (...args) => execFileSync('openssl', args, { cwd: CERTS, stdio: 'pipe' });
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=Test carrier CA');
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', '/CN=127.0.0.1');
  openssl('x509', '-req', '-in', 'leaf.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'leaf.pem', '-days', '2', '-extfile', ext);
  writeFileSync(`${CERTS}/carrier.pem`, readFileSync(`${CERTS}/leaf.pem`, 'utf8') + readFileSync(`${CERTS}/leaf.key`, 'utf8'));
}

function centrala(...args) {
  return execFileSync(BIN, [...args, '--data', DATA], { encoding: 'utf8' });
}

/** A sipp UAS on `port`: the built-in one (answers, echoes RTP) or a scenario file. */
function uas(name, port, scenario) {
  const dir = `${ARTIFACTS}/sipp-${name}`;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const how = scenario ? ['-sf', `${process.env.ROOT}/tests/e2e/sipp/${scenario}`] : ['-sn', 'uas', '-rtp_echo', '-mp', String(port + 1000)];
  const proc = spawn('sipp', [
    ...how, '-i', '127.0.0.1', '-p', String(port), '-nostdin',
    '-trace_msg', '-message_file', `${dir}/messages.log`,
  ], { stdio: 'ignore' });
  return { proc, log: () => (existsSync(`${dir}/messages.log`) ? readFileSync(`${dir}/messages.log`, 'utf8') : '') };
}

async function api(page, method, path, body) {
  return page.evaluate(async ([m, p, b]) => {
    const r = await fetch(p, {
      method: m,
      headers: b === undefined ? {} : { 'content-type': 'application/json' },
      body: b === undefined ? undefined : JSON.stringify(b),
    });
    const text = await r.text();
    return { status: r.status, body: text ? JSON.parse(text) : null };
  }, [method, path, body]);
}

async function endReason(page, re) {
  try {
    await page.waitForFunction((src) => new RegExp(src, 'i').test(document.querySelector('#call-end-reason')?.textContent ?? ''), re.source, { timeout: 20000 });
  } catch (e) {
    e.message += `\nthe page said ${JSON.stringify(await page.textContent('#call-end-reason').catch(() => null))}\n${page.dumpLog()}`;
    throw e;
  }
}

let browser;
let carrier;
let busy;
let admin;
let block;
const ids = {};
before(async () => {
  centrala('trunk', 'add', '--name', 'silent', '--host', '127.0.0.1', '--port', String(SILENT), '--priority', '1');
  centrala('trunk', 'add', '--name', 'busy', '--host', '127.0.0.1', '--port', String(BUSY), '--priority', '2');
  centrala('trunk', 'add', '--name', 'carrier', '--host', '127.0.0.1', '--port', String(CARRIER), '--priority', '3');
  assert.match(centrala('trunk', 'list'), /silent[\s\S]*busy[\s\S]*carrier/);
  carrier = uas('carrier', CARRIER);
  busy = uas('busy', BUSY, 'carrier-503.xml');
  makeCarrierCertificates();
  // The TLS carrier's certificate chains to a CA of the test's own.
  await gateway.start(['--sip-udp', GW_SIP, '--media-ports', '41300-41399', '--trunk-ca', `${CERTS}/ca.pem`]);
  browser = await launchWithTone(600);
  admin = (await login(browser, '101')).page;
  const b = await api(admin, 'POST', '/api/v1/number-blocks', { first_number: '+48226006100', size: 10 });
  assert.equal(b.status, 201, JSON.stringify(b.body));
  block = b.body.id;
  const list = await api(admin, 'GET', '/api/v1/employees');
  for (const e of list.body.items) ids[e.extension] = e.id;
});
after(async () => {
  if (admin && block) await api(admin, 'DELETE', `/api/v1/number-blocks/${block}`).catch(() => {});
  for (const e of ['102', '103']) {
    if (admin && ids[e]) await api(admin, 'PUT', `/api/v1/employees/${ids[e]}/calling`, { permission: null, premium: null, caller_id: null, mobile: null }).catch(() => {});
  }
  for (const t of ['silent', 'busy', 'carrier', 'registering', 'tcp', 'tls']) {
    try { centrala('trunk', 'remove', t); } catch { /* not there */ }
  }
  carrier?.proc.kill('SIGKILL');
  busy?.proc.kill('SIGKILL');
  await browser?.close();
  await gateway.kill();
});

test('a browser calls a mobile: a silent trunk and a 503 are passed over, the carrier gets E.164 with the caller\'s own number, and media flows', { timeout: 90000 }, async () => {
  const page = admin;
  await page.fill('#dial-input', '601 234 567');
  await page.click('#call-audio');
  try {
    await callState(page, 'connected', 30000);
    const first = await inboundBytes(page, 15000);
    await sleep(3000);
    const later = Number(await page.getAttribute('#call-stats', 'data-rx-bytes'));
    assert.ok(later > first + 8000, `the carrier's echo keeps arriving (${first} then ${later} bytes)`);
  } catch (e) {
    e.message += `\n--- page ---\n${page.dumpLog()}\n--- carrier ---\n${carrier.log().slice(-3000)}`;
    throw e;
  }
  await page.click('#hangup');
  await callState(page, 'idle');
  const seen = carrier.log();
  assert.match(seen, /INVITE sip:\+48601234567@127\.0\.0\.1:5090;user=phone SIP\/2\.0/, 'E.164 in the Request-URI');
  assert.match(seen, /From: "E2E 101" <sip:\+48226006101@/, 'the caller\'s own public number');
  assert.match(seen, /P-Asserted-Identity: <sip:\+48226006101@/);
  assert.match(busy.log(), /INVITE sip:\+48601234567@/, 'the 503 trunk was tried first');
  await rated(page, '+48601234567', 'mobile', 120000);
  assert.match(seen, /BYE sip:/, 'the hang-up reached the carrier');
});

/** The phone network calls `number` (sipp, network-call.xml): talks 4 s and hangs up. */
function networkCall(number, name, ruriUser = number) {
  const dir = `${ARTIFACTS}/sipp-${name}`;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const caller = spawn('sipp', [
    GW_SIP, '-sf', `${process.env.ROOT}/tests/e2e/sipp/network-call.xml`, '-s', ruriUser, '-key', 'to_user', number,
    '-i', '127.0.0.1', '-p', String(NETWORK_CALLER), '-m', '1', '-rtp_echo', '-mp', '6093', '-nostdin', '-timeout', '60s', '-timeout_error',
    '-trace_msg', '-message_file', `${dir}/messages.log`,
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  caller.stderr.on('data', (d) => { stderr += d; });
  const done = new Promise((resolve) => caller.on('exit', resolve));
  return { caller, done, log: () => `${stderr}\n${existsSync(`${dir}/messages.log`) ? readFileSync(`${dir}/messages.log`, 'utf8').slice(-3000) : ''}` };
}

/** `page` answers the network's call to `number`, hears it, and sipp completes the call. */
async function answerNetworkCall(page, number, name, ruriUser = number) {
  const call = networkCall(number, name, ruriUser);
  try {
    await callState(page, 'incoming', 20000);
    await page.click('#answer-audio');
    await callState(page, 'connected', 15000);
    await inboundBytes(page, 10000);
    const code = await call.done;
    assert.equal(code, 0, `sipp's call failed (${code}): ${call.log()}`);
    await callState(page, 'idle', 15000);
  } catch (e) {
    call.caller.kill('SIGKILL');
    e.message += `\n--- page ---\n${page.dumpLog()}`;
    throw e;
  }
}

test('a call from the network to +48 22 600 61 03 rings extension 103 in the browser; the main number rings where the admin says; a forward to a mobile goes back out through the trunk', { timeout: 120000 }, async () => {
  const celina = (await login(browser, '103')).page;
  try {
    await answerNetworkCall(celina, '+48226006103', 'network');
    // The admin makes +48 22 600 61 00 the main number and sends its calls to 103.
    await admin.click('#nav-admin');
    await admin.waitForSelector('#calling-company-save:not([disabled])');
    await admin.fill('#calling-company-main-number', '+48 22 600 61 99');
    await admin.fill('#calling-company-main-ext', '103');
    await admin.click('#calling-company-save');
    await admin.waitForSelector('#calling-company .calling-error');
    assert.match(await admin.textContent('#calling-company .calling-error'), /not one of the company's public numbers/);
    await admin.fill('#calling-company-main-number', '+48 22 600 61 00');
    await admin.click('#calling-company-save');
    await admin.waitForSelector('#calling-company .calling-saved');
    await admin.click('#nav-phone');
    // Without the setting +48 22 600 61 00 would be extension 100 (nobody).
    await answerNetworkCall(celina, '+48226006100', 'network-main');
    // A group instead: 101 and 103 ring at once, 103 answers, and 101 stops ringing.
    await admin.click('#nav-admin');
    await admin.waitForSelector('#calling-company-save:not([disabled])');
    assert.equal(await admin.inputValue('#calling-company-main-ext'), '103');
    await admin.fill('#calling-company-main-ext', '101, 103, 999');
    await admin.click('#calling-company-save');
    await admin.waitForSelector('#calling-company .calling-error');
    assert.match(await admin.textContent('#calling-company .calling-error'), /no extension 999/);
    await admin.fill('#calling-company-main-ext', '101, 103');
    await admin.click('#calling-company-save');
    await admin.waitForSelector('#calling-company .calling-saved');
    let g = await api(admin, 'GET', '/api/v1/company/calling');
    assert.deepEqual([g.body.main_extension, g.body.main_group], [null, ['101', '103']]);
    await admin.click('#nav-phone');
    const groupCallAt = Date.now() - 1000;
    const adminRang = callState(admin, 'incoming', 20000);
    await answerNetworkCall(celina, '+48226006100', 'network-group');
    await adminRang;
    await callState(admin, 'idle', 15000);
    // The answered call is 103's: in their history, incoming from the network, answered.
    let last;
    for (let i = 0; i < 50; i++) {
      g = await api(celina, 'GET', '/api/v1/history');
      assert.equal(g.status, 200, JSON.stringify(g.body));
      last = g.body.items.find((c) => c.direction === 'incoming' && c.started_ms > groupCallAt);
      if (last) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(last, `no incoming call in 103's history: ${JSON.stringify(g.body.items.slice(0, 3))}`);
    assert.equal(last.outcome, 'answered', JSON.stringify(last));
    assert.match(last.peer.number, /601234567/);
    // 103 forwards every call to a mobile: the network's call to 103 goes back out through
    // the trunk with 103's number, and completes there.
    let r = await api(celina, 'PUT', '/api/v1/me/routing', { always: { kind: 'external', number: '+48601111333' } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const mark = carrier.log().length;
    const call = networkCall('+48226006103', 'network-forwarded');
    const code = await call.done;
    assert.equal(code, 0, `the forwarded call failed (${code}): ${call.log()}`);
    const seen = carrier.log().slice(mark);
    assert.match(seen, /INVITE sip:\+48601111333@127\.0\.0\.1:5090;user=phone/);
    assert.match(seen, /From: <sip:\+48226006103@/);
    assert.match(seen, /Diversion: /);
    // The outside leg is 103's call: rated as a mobile for every started minute.
    await rated(admin, '+48601111333', 'mobile', 120000);
    r = await api(celina, 'PUT', '/api/v1/me/routing', {});
    assert.equal(r.status, 200, JSON.stringify(r.body));
  } finally {
    await api(celina, 'PUT', '/api/v1/me/routing', {}).catch(() => {});
    await api(admin, 'PUT', '/api/v1/company/calling', { permission: 'national', premium: false, caller_id: 'own', main_number: null, main_extension: null, main_group: [] }).catch(() => {});
    await celina.context().close();
  }
});

/** The admin's costs list has the last call to `number` rated as `cls` at `perMinute` micros
 * for every started minute (the price list's per-minute rounding). */
async function rated(page, number, cls, perMinute) {
  let call;
  for (let i = 0; i < 50 && !call; i++) {
    const r = await api(page, 'GET', '/api/v1/billing/calls');
    // Dialled as typed: compare the last 9 digits.
    call = r.body.items.find((c) => c.dialled.replace(/\D/g, '').endsWith(number.slice(-9)) && c.outcome === 'answered');
    if (!call) await sleep(100);
  }
  assert.ok(call, `the call to ${number} is in the admin's costs`);
  assert.equal(call.class, cls);
  assert.ok(call.billed_seconds >= 60 && call.billed_seconds % 60 === 0, `billed ${call.billed_seconds} s`);
  assert.equal(call.cost_micros, call.billed_seconds / 60 * perMinute);
}

/** The admin sets 102's permission and caller ID on 102's Devices page. */
async function setPerson(ext, permission, callerId) {
  await admin.click('#nav-admin');
  await admin.click(`tr.employee[data-ext="${ext}"] .emp-devices`);
  await admin.waitForSelector('#calling-person-save:not([disabled])');
  await admin.selectOption('#calling-person-permission', permission);
  await admin.selectOption('#calling-person-caller-id', callerId);
  await admin.click('#calling-person-save');
  await admin.waitForSelector('#calling-person .calling-saved');
  await admin.click('#admin-devices-back');
}

test('a national-only person is refused an international number with the reason shown; an emergency number goes out even for an internal-only person', { timeout: 90000 }, async () => {
  await setPerson('102', 'national', 'withheld');
  let r = await api(admin, 'GET', `/api/v1/employees/${ids['102']}/calling`);
  assert.equal(r.body.permission, 'national');
  assert.equal(r.body.own.caller_id, 'withheld');
  // Bad input: 400 with the field.
  r = await api(admin, 'PUT', `/api/v1/employees/${ids['102']}/calling`, { permission: 'everywhere', premium: null, caller_id: null, mobile: null });
  assert.ok(r.status === 400 || r.status === 422, `${r.status} ${JSON.stringify(r.body)}`);
  const bartek = (await login(browser, '102')).page;
  // Not an admin: cannot change anyone's permission, including their own.
  r = await api(bartek, 'PUT', `/api/v1/employees/${ids['102']}/calling`, { permission: 'international', premium: true, caller_id: null, mobile: null });
  assert.equal(r.status, 403);
  await bartek.fill('#dial-input', '+49 30 1234567');
  await bartek.click('#call-audio');
  await endReason(bartek, /international calls are not allowed for you/);
  await callState(bartek, 'idle');
  await setPerson('102', 'internal', 'withheld');
  await bartek.fill('#dial-input', '601 234 567');
  await bartek.click('#call-audio');
  await endReason(bartek, /calls inside the company only/);
  await callState(bartek, 'idle');
  await bartek.fill('#dial-input', '112');
  await bartek.click('#call-audio');
  await callState(bartek, 'connected', 30000);
  await bartek.click('#hangup');
  await callState(bartek, 'idle');
  const seen = carrier.log();
  assert.match(seen, /INVITE sip:112@127\.0\.0\.1:5090;user=phone/, 'the emergency call reached the network');
  // Withheld: anonymous in From, the number for the network only.
  assert.match(seen, /From: "Anonymous" <sip:anonymous@anonymous\.invalid>/);
  assert.match(seen, /Privacy: id/);
  assert.match(seen, /P-Asserted-Identity: <sip:\+48226006102@/);
  await bartek.context().close();
});

test('the company\'s spending limit stops calls outside with the reason shown; an emergency number still goes out', { timeout: 60000 }, async () => {
  try {
    // The calls above cost more than 0.01 PLN.
    const r = await api(admin, 'PUT', '/api/v1/billing/settings', { spend_limit_micros: 10000, person_spend_limit_micros: null });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    await admin.fill('#dial-input', '601 234 567');
    await admin.click('#call-audio');
    await endReason(admin, /spending limit for calls is reached/);
    await callState(admin, 'idle');
    await admin.fill('#dial-input', '112');
    await admin.click('#call-audio');
    await callState(admin, 'connected', 30000);
    await admin.click('#hangup');
    await callState(admin, 'idle');
  } finally {
    await api(admin, 'PUT', '/api/v1/billing/settings', { spend_limit_micros: null, person_spend_limit_micros: null });
  }
  // Lifted: calls go out again.
  await admin.fill('#dial-input', '601 234 567');
  await admin.click('#call-audio');
  await callState(admin, 'connected', 30000);
  await admin.click('#hangup');
  await callState(admin, 'idle');
});

test('*8 moves a call from the network to the mobile: the browser leg ends and the far end keeps talking', { timeout: 120000 }, async () => {
  const celina = (await login(browser, '103')).page;
  // 103 sets their mobile in Settings: a wrong number is refused with the reason.
  await celina.click('#nav-settings');
  await celina.waitForSelector('#calling-me-save:not([disabled])');
  await celina.fill('#calling-me-mobile', '12 ab');
  await celina.click('#calling-me-save');
  await celina.waitForSelector('#calling-me .calling-error');
  assert.match(await celina.textContent('#calling-me .calling-error'), /not a phone number/i);
  await celina.fill('#calling-me-mobile', '+48 601 111 222');
  await celina.click('#calling-me-save');
  await celina.waitForSelector('#calling-me .calling-saved');
  assert.equal(await celina.inputValue('#calling-me-mobile'), '+48601111222');
  await celina.click('#nav-phone');
  // A customer on the phone network (baresip over UDP from the carrier's address, not
  // registered) calls 103's public number; its microphone plays 440 Hz.
  const customer = new Baresip('network', { sip: '127.0.0.1:5351', rtp: [20600, 20619], tone: 440, pass: 'x', user: '+48601234567', regint: 0 });
  try {
    await sleep(1000);
    customer.send(`/dial sip:+48226006103@${GW_SIP}`);
    await callState(celina, 'incoming', 20000);
    await celina.click('#answer-audio');
    await callState(celina, 'connected', 15000);
    await inboundBytes(celina, 10000);
    await sleep(2000);
    const mark = carrier.log().length;
    await celina.click('#keypad-toggle');
    await celina.waitForSelector('#call-keypad');
    await celina.click('#call-keypad [data-digit="*"]');
    await celina.click('#call-keypad [data-digit="8"]');
    await celina.waitForSelector('#move-hint');
    // The mobile answers (the carrier), the browser's leg is hung up.
    await callState(celina, 'idle', 20000);
    const moved = carrier.log().slice(mark);
    assert.match(moved, /INVITE sip:\+48601111222@127\.0\.0\.1:5090;user=phone/, 'the mobile was called through the trunk');
    assert.match(moved, /From: <sip:\+48226006103@/, 'as 103\'s own number');
    // The customer is still in the call, now with the mobile (which echoes their voice).
    await sleep(4000);
    assert.doesNotMatch(customer.log(), /terminated|closed/i, 'the customer\'s call goes on');
    customer.send('/hangup');
    await customer.waitFor(/terminated|closed/i, 'the customer hangs up', 10000);
  } catch (e) {
    e.message += `\n--- page ---\n${celina.dumpLog()}\n--- customer ---\n${customer.log().slice(-4000)}`;
    throw e;
  } finally {
    await customer.stop();
    await celina.context().close();
  }
  // What the customer heard: the browser's 600 Hz first, then (after *8) their own 440 Hz
  // back from the mobile: the media went on through the new leg.
  const audio = decodedAudio(customer);
  const tail = audio.samples.slice(-audio.rate * 3, -Math.round(audio.rate * 0.3));
  const end = tone({ rate: audio.rate, samples: tail });
  assert.ok(end.seconds > 1.5, `the customer heard ${end.seconds} s at the end`);
  assert.ok(Math.abs(end.hz - 440) < 40, `after *8 the customer heard ${end.hz} Hz, not their own 440 Hz echoed by the mobile`);
});

test('a registering trunk: the gateway registers with its account (the carrier checks the digest), the carrier\'s call to that account rings the number in To, and a call out answers the carrier\'s challenge', { timeout: 90000 }, async () => {
  const REGISTRAR = 5094;
  const dir = `${ARTIFACTS}/sipp-registrar`;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const registrar = spawn('sipp', [
    '-sf', `${process.env.ROOT}/tests/e2e/sipp/carrier-registrar.xml`, '-i', '127.0.0.1', '-p', String(REGISTRAR),
    '-m', '1', '-nostdin', '-timeout', '40s', '-timeout_error', '-trace_msg', '-message_file', `${dir}/messages.log`,
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  registrar.stderr.on('data', (d) => { stderr += d; });
  const done = new Promise((resolve) => registrar.on('exit', resolve));
  // The operator adds it while the gateway runs; the password goes in on standard input.
  const out = execFileSync(BIN, ['trunk', 'add', '--data', DATA, '--name', 'registering', '--host', '127.0.0.1',
    '--port', String(REGISTRAR), '--priority', '9', '--username', 'acme-trunk', '--codecs', 'PCMU'], { input: 'carrier-secret\n', encoding: 'utf8' });
  assert.match(out, /registering as acme-trunk/);
  assert.doesNotMatch(centrala('trunk', 'list'), /carrier-secret/);
  const code = await done;
  const seen = existsSync(`${dir}/messages.log`) ? readFileSync(`${dir}/messages.log`, 'utf8') : '';
  assert.equal(code, 0, `the registrar did not accept the registration (${code}): ${stderr}\n${seen.slice(-3000)}`);
  assert.match(seen, /REGISTER sip:127\.0\.0\.1 SIP\/2\.0/);
  assert.match(seen, /Authorization: Digest username="acme-trunk", realm="carrier\.test"/);
  assert.doesNotMatch(seen, /carrier-secret/, 'the password never travels');
  assert.match(readFileSync(`${ARTIFACTS}/gateway.log`, 'utf8'), /registered to the trunk/);
  // The carrier calls the account it registered; the number is in To.
  const celina = (await login(browser, '103')).page;
  try {
    await answerNetworkCall(celina, '+48226006103', 'network-registered', 'acme-trunk');
  } finally {
    await celina.context().close();
  }
  // The operator takes the other trunks away through the operator API (its token from the
  // command line); calls out now go to this carrier, which asks who calls.
  const token = centrala('operator', 'token').trim();
  assert.match(token, /^cop_/);
  for (const name of ['silent', 'busy', 'carrier']) {
    const r = await fetch(`${BASE}/api/v1/operator/trunks/${name}`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } });
    assert.equal(r.status, 204, `${name}: ${await r.text()}`);
  }
  const list = await (await fetch(`${BASE}/api/v1/operator/trunks`, { headers: { authorization: `Bearer ${token}` } })).json();
  assert.deepEqual(list.items.map((t) => t.name), ['registering']);
  assert.equal(JSON.stringify(list).includes('carrier-secret'), false);
  const adir = `${ARTIFACTS}/sipp-carrier-auth`;
  rmSync(adir, { recursive: true, force: true });
  mkdirSync(adir, { recursive: true });
  const carrierAuth = spawn('sipp', [
    '-sf', `${process.env.ROOT}/tests/e2e/sipp/carrier-auth.xml`, '-i', '127.0.0.1', '-p', String(REGISTRAR),
    '-m', '1', '-rtp_echo', '-mp', '7094', '-nostdin', '-timeout', '60s', '-timeout_error',
    '-trace_msg', '-message_file', `${adir}/messages.log`,
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let aerr = '';
  carrierAuth.stderr.on('data', (d) => { aerr += d; });
  const adone = new Promise((resolve) => carrierAuth.on('exit', resolve));
  await sleep(500);
  try {
    await admin.fill('#dial-input', '22 123 45 67');
    await admin.click('#call-audio');
    await callState(admin, 'connected', 20000);
    await inboundBytes(admin, 10000);
    await admin.click('#hangup');
    await callState(admin, 'idle');
    const acode = await adone;
    const aseen = readFileSync(`${adir}/messages.log`, 'utf8');
    assert.equal(acode, 0, `the carrier did not take the call (${acode}): ${aerr}\n${aseen.slice(-3000)}`);
    assert.match(aseen, /Proxy-Authorization: Digest username="acme-trunk"/);
    assert.match(aseen, /INVITE sip:\+48221234567@127\.0\.0\.1:5094;user=phone/);
    // The carrier's codecs alone (PCMU), and DTMF.
    assert.match(aseen, /m=audio \d+ RTP\/AVP 0 101\r?\n/);
  } catch (e) {
    carrierAuth.kill('SIGKILL');
    e.message += `\n--- page ---\n${admin.dumpLog()}`;
    throw e;
  }
});

test('a TCP trunk: the gateway connects to the carrier and the call goes over that connection', { timeout: 60000 }, async () => {
  const TCP = 5096;
  const token = centrala('operator', 'token').trim();
  const op = (method, path, body) => fetch(`${BASE}/api/v1/operator/trunks${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  let r = await op('POST', '', { name: 'tcp', host: '127.0.0.1', port: TCP, transport: 'sctp', priority: 1 });
  assert.equal(r.status, 400, 'an unknown transport is refused with the reason');
  r = await op('POST', '', { name: 'tcp', host: '127.0.0.1', port: TCP, transport: 'tcp', priority: 1 });
  assert.equal(r.status, 201, await r.text());
  const dir = `${ARTIFACTS}/sipp-tcp`;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const carrierTcp = spawn('sipp', [
    '-sn', 'uas', '-t', 't1', '-i', '127.0.0.1', '-p', String(TCP), '-m', '1', '-rtp_echo', '-mp', '7096',
    '-nostdin', '-timeout', '40s', '-timeout_error', '-trace_msg', '-message_file', `${dir}/messages.log`,
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  carrierTcp.stderr.on('data', (d) => { err += d; });
  const done = new Promise((resolve) => carrierTcp.on('exit', resolve));
  await sleep(500);
  try {
    await admin.fill('#dial-input', '+48 58 301 22 33');
    await admin.click('#call-audio');
    await callState(admin, 'connected', 20000);
    await inboundBytes(admin, 10000);
    await admin.click('#hangup');
    await callState(admin, 'idle');
    const code = await done;
    const seen = readFileSync(`${dir}/messages.log`, 'utf8');
    assert.equal(code, 0, `the TCP carrier's call failed (${code}): ${err}\n${seen.slice(-3000)}`);
    assert.match(seen, /INVITE sip:\+48583012233@127\.0\.0\.1:5096;user=phone;transport=tcp SIP\/2\.0/);
    assert.match(seen, /Via: SIP\/2\.0\/TCP /);
    await rated(admin, '+48583012233', 'landline', 50000);
  } catch (e) {
    carrierTcp.kill('SIGKILL');
    e.message += `\n--- page ---\n${admin.dumpLog()}`;
    throw e;
  } finally {
    await op('DELETE', '/tcp');
  }
  // Nothing answers at the one trunk left: the caller is told so in words.
  await admin.fill('#dial-input', '601 234 567');
  await admin.click('#call-audio');
  await endReason(admin, /phone network does not answer/);
  await callState(admin, 'idle');
});

test('a TLS trunk: the gateway checks the carrier\'s certificate and the call goes over TLS with media', { timeout: 60000 }, async () => {
  const token = centrala('operator', 'token').trim();
  const op = (method, path, body) => fetch(`${BASE}/api/v1/operator/trunks${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  // baresip as the carrier: SIP over TLS on 5421 with the certificate our CA signed; it
  // answers by itself and plays 440 Hz.
  const tlsCarrier = new Baresip('tls-carrier', { sip: '127.0.0.1:5420', rtp: [20700, 20719], tone: 440, pass: 'x', user: '+48221112233', regint: 0, auto: true, tls: `${CERTS}/carrier.pem` });
  try {
    await sleep(1000);
    const r = await op('POST', '', { name: 'tls', host: '127.0.0.1', port: 5421, transport: 'tls', priority: 1, codecs: ['PCMU'] });
    assert.equal(r.status, 201, await r.text());
    await admin.fill('#dial-input', '22 111 22 33');
    await admin.click('#call-audio');
    await callState(admin, 'connected', 20000);
    const first = await inboundBytes(admin, 10000);
    await sleep(2000);
    const later = Number(await admin.getAttribute('#call-stats', 'data-rx-bytes'));
    assert.ok(later > first + 8000, `the carrier's audio keeps arriving (${first} then ${later} bytes)`);
    await admin.click('#hangup');
    await callState(admin, 'idle');
    const log = readFileSync(`${ARTIFACTS}/gateway.log`, 'utf8');
    assert.match(log, /connected to a trunk over TLS/);
    assert.match(tlsCarrier.log(), /SIP\/2\.0\/TLS/, 'the carrier took the call over TLS');
  } catch (e) {
    e.message += `\n--- page ---\n${admin.dumpLog()}\n--- carrier ---\n${tlsCarrier.log().slice(-4000)}`;
    throw e;
  } finally {
    await op('DELETE', '/tls');
    await tlsCarrier.stop();
  }
});
