// Presence with standard clients, no web app: SIP.js (from npm) watches a colleague's
// presence over WebSocket and gets PIDF NOTIFYs for each transition (offline, available,
// ringing, on the phone, available, do not disturb set by PUBLISH, offline), and sipp over
// UDP watches the same colleague's busy lamp (dialog event, RFC 4235). The calls are placed
// and answered by SIP.js too.
import { test, before, after } from 'node:test';
import { spawn } from 'node:child_process';
import { writeFileSync, mkdirSync, readFileSync, existsSync } from 'node:fs';
import { gateway, launch, newPage, addBundle, BASE, PASSWORDS, ARTIFACTS, assert } from './lib.mjs';

let browser;
before(async () => {
  await gateway.start(['--sip-udp', '127.0.0.1:5060']);
  browser = await launch();
});
after(async () => { await browser?.close(); await gateway.kill(); });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A page with SIP.js loaded and the SIP domain in `window.domain`. */
async function sipjsPage(name) {
  const page = await newPage(browser, name);
  await page.goto(`${BASE}/healthz`);
  await addBundle(page, 'sipjs.js');
  await page.evaluate(async () => {
    window.domain = (await (await fetch('/api/v1/config')).json()).sip_domain;
  });
  return page;
}

/** A registered SIP.js SimpleUser for `ext`; with `autoAnswer`, incoming calls are answered. */
async function phone(ext, { autoAnswer = false } = {}) {
  const page = await sipjsPage(`presence-${ext}`);
  await page.evaluate(async ({ ext, password, autoAnswer }) => {
    const audio = document.createElement('audio');
    document.body.appendChild(audio);
    const user = new SIP.Web.SimpleUser(`ws://${location.host}/sip`, {
      aor: `sip:${ext}@${window.domain}`,
      media: { constraints: { audio: true, video: false }, remote: { audio } },
      userAgentOptions: {
        authorizationUsername: ext,
        authorizationPassword: password,
        sessionDescriptionHandlerFactoryOptions: { peerConnectionConfiguration: { iceServers: [] }, iceGatheringTimeout: 500 },
      },
    });
    window.user = user;
    window.events = [];
    user.delegate = {
      onCallReceived: () => {
        window.events.push('received');
        if (autoAnswer) setTimeout(() => user.answer().then(() => window.events.push('answered')), 1500);
      },
      onCallAnswered: () => window.events.push('answered'),
      onCallHangup: () => window.events.push('hangup'),
    };
    await user.connect();
    await user.register();
  }, { ext, password: PASSWORDS[ext], autoAnswer });
  return page;
}

/** What the watcher's NOTIFYs said so far: one entry per NOTIFY, the PIDF reduced to a word. */
async function seen(page) {
  return page.evaluate(() => window.states);
}

async function waitFor(page, want, what, timeout = 15000) {
  const until = Date.now() + timeout;
  for (;;) {
    const states = await seen(page);
    if (states.at(-1) === want) return states;
    if (Date.now() > until) assert.fail(`${what}: expected "${want}", NOTIFYs said ${JSON.stringify(states)}`);
    await sleep(100);
  }
}

/** sipp over UDP as 103's desk phone, watching 102's busy lamp until the scenario ends. */
function busyLamp(domain) {
  const dir = `${ARTIFACTS}/sipp-blf`;
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}/fields.csv`, `SEQUENTIAL\n102;${domain};103;${PASSWORDS['103']};\n`);
  const proc = spawn('sipp', [
    '127.0.0.1:5060', '-sf', `${process.env.ROOT}/tests/e2e/sipp/blf-subscribe.xml`,
    '-inf', `${dir}/fields.csv`, '-au', '103', '-ap', PASSWORDS['103'],
    // The digest covers the Request-URI (sipp's default is the gateway's address).
    '-auth_uri', `102@${domain}`,
    '-i', '127.0.0.1', '-p', '5399', '-m', '1', '-l', '1',
    '-nostdin', '-trace_msg', '-message_file', `${dir}/messages.log`,
    '-trace_err', '-error_file', `${dir}/errors.log`, '-timeout', '90s', '-timeout_error',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; });
  const done = new Promise((resolve) => proc.on('exit', (code) => resolve({ code, stderr, dir })));
  return { proc, done };
}

test('SIP.js watches a colleague through every status; sipp watches the busy lamp over UDP', { timeout: 180_000 }, async () => {
  // 103 watches 102 with SIP.js (not registered: a watcher need not be).
  const watcher = await sipjsPage('presence-watcher');
  await watcher.evaluate(async ({ password }) => {
    const ua = new SIP.UserAgent({
      uri: SIP.UserAgent.makeURI(`sip:103@${window.domain}`),
      transportOptions: { server: `ws://${location.host}/sip` },
      authorizationUsername: '103',
      authorizationPassword: password,
    });
    window.states = [];
    window.bodies = [];
    const word = (xml) => {
      if (/<basic>\s*closed\s*</.test(xml)) return 'offline';
      if (/on-the-phone/.test(xml)) return 'in-call';
      if (/<(\w+:)?other>\s*ringing\s*</.test(xml)) return 'ringing';
      if (/<(\w+:)?busy\s*\/>/.test(xml)) return 'dnd';
      if (/<(\w+:)?away\s*\/>/.test(xml)) return 'away';
      if (/<basic>\s*open\s*</.test(xml)) return 'available';
      return `unknown: ${xml}`;
    };
    await ua.start();
    const sub = new SIP.Subscriber(ua, SIP.UserAgent.makeURI(`sip:102@${window.domain}`), 'presence', { expires: 600 });
    sub.delegate = {
      onNotify: (n) => {
        n.accept();
        window.bodies.push({ type: n.request.getHeader('Content-Type'), body: n.request.body });
        window.states.push(word(n.request.body));
      },
    };
    window.sub = sub;
    await sub.subscribe();
  }, { password: PASSWORDS['103'] });
  await waitFor(watcher, 'offline', 'nobody logged in as 102');

  // 103's desk phone watches 102's busy lamp over UDP.
  const domain = await watcher.evaluate(() => window.domain);
  const lamp = busyLamp(domain);
  await sleep(1500);

  const bob = await phone('102', { autoAnswer: true });
  await waitFor(watcher, 'available', '102 logged in');

  const alice = await phone('101');
  const answered = alice.evaluate(() => new Promise((resolve, reject) => {
    window.user.delegate = { ...window.user.delegate, onCallAnswered: () => resolve('answered') };
    window.user.call(`sip:102@${window.domain}`).catch(reject);
  }));
  await waitFor(watcher, 'ringing', '101 calls 102');
  assert.equal(await answered, 'answered');
  await waitFor(watcher, 'in-call', '102 answered');
  await sleep(700);
  await alice.evaluate(() => window.user.hangup());
  await waitFor(watcher, 'available', 'hung up');

  // 102 sets do not disturb by PUBLISH (RFC 3903) from another SIP.js user agent.
  const publisherPage = await sipjsPage('presence-publisher');
  await publisherPage.evaluate(async ({ password }) => {
    const ua = new SIP.UserAgent({
      uri: SIP.UserAgent.makeURI(`sip:102@${window.domain}`),
      transportOptions: { server: `ws://${location.host}/sip` },
      authorizationUsername: '102',
      authorizationPassword: password,
    });
    await ua.start();
    const entity = `sip:102@${window.domain}`;
    const pidf = `<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" entity="${entity}">
  <tuple id="sipjs"><status><basic>open</basic></status></tuple>
  <dm:person id="p"><rpid:activities><rpid:busy/></rpid:activities><dm:note>Focus time</dm:note></dm:person>
</presence>`;
    const pub = new SIP.Publisher(ua, SIP.UserAgent.makeURI(entity), 'presence', { expires: 600, contentType: 'application/pidf+xml' });
    window.pub = pub;
    window.published = new Promise((resolve) => {
      pub.stateChange.addListener((s) => { if (s === SIP.PublisherState.Published) resolve('published'); });
    });
    window.pubStates = [];
    pub.stateChange.addListener((s) => window.pubStates.push(s));
    await pub.publish(pidf);
  }, { password: PASSWORDS['102'] });
  const published = await publisherPage.evaluate(() => Promise.race([
    window.published, new Promise((r) => setTimeout(() => r(`not published: ${JSON.stringify(window.pubStates)}`), 10000)),
  ]));
  assert.equal(published, 'published');
  await waitFor(watcher, 'dnd', '102 published do not disturb');

  // A call to 102 now gets busy, and nothing rings there.
  const refused = await alice.evaluate(() => new Promise((resolve) => {
    const { Inviter } = SIP;
    const ua = window.user.sessionManager.userAgent;
    const inviter = new Inviter(ua, SIP.UserAgent.makeURI(`sip:102@${window.domain}`), {
      sessionDescriptionHandlerOptions: { constraints: { audio: true, video: false } },
    });
    inviter.invite({
      requestDelegate: { onReject: (r) => resolve(`${r.message.statusCode} ${r.message.reasonPhrase}`) },
    }).catch((e) => resolve(String(e)));
  }));
  assert.match(refused, /^486 .*do not disturb/);

  // The publication withdrawn (Expires: 0): available again, and kept so in the store.
  await publisherPage.evaluate(() => window.pub.unpublish());
  await waitFor(watcher, 'available', '102 withdrew do not disturb');
  // 102 closes its tab: offline.
  await bob.close();
  await publisherPage.close();
  await waitFor(watcher, 'offline', '102 closed the tab');

  const lampResult = await lamp.done;
  const log = existsSync(`${lampResult.dir}/messages.log`) ? readFileSync(`${lampResult.dir}/messages.log`, 'utf8') : '';
  assert.equal(lampResult.code, 0, `sipp busy lamp failed (${lampResult.code}):\n${lampResult.stderr}\n${log.slice(-4000)}`);
  assert.match(log, /Event: dialog/);
  assert.match(log, /state="full"/);

  // Wire captures of the watcher's NOTIFY bodies.
  const bodies = await watcher.evaluate(() => window.bodies);
  mkdirSync(`${ARTIFACTS}/captures`, { recursive: true });
  bodies.forEach((b, i) => writeFileSync(`${ARTIFACTS}/captures/presence-notify-${i}.xml`, b.body));
  assert.ok(bodies.every((b) => b.type === 'application/pidf+xml'));
  const states = await seen(watcher);
  assert.deepEqual(states.slice(0, 5), ['offline', 'available', 'ringing', 'in-call', 'available']);
  for (const s of ['offline', 'available', 'ringing', 'in-call', 'dnd']) {
    assert.ok(states.includes(s), `no "${s}" NOTIFY in ${JSON.stringify(states)}`);
  }
});
