// Zero-install onboarding, end to end: an admin logs in, adds an employee and grants app
// access; the invitation arrives at a real SMTP listener; the gateway restarts; a second
// browser opens the link, sets a password and is registered; the admin calls the new
// employee and the call connects (media flows). A used link then says so plainly.
import { test, before, after } from 'node:test';
import {
  gateway, launch, login, newPage, callState, inboundBytes, recordMetric, assert, BASE,
} from './lib.mjs';
import { startSmtp } from './smtp.mjs';

let browser;
let smtp;
before(async () => {
  smtp = await startSmtp();
  Object.assign(process.env, {
    CENTRALA_SMTP_HOST: '127.0.0.1',
    CENTRALA_SMTP_PORT: String(smtp.port),
    CENTRALA_SMTP_SECURITY: 'none',
    CENTRALA_MAIL_FROM: 'Centrala <no-reply@e2e.centrala>',
    CENTRALA_PUBLIC_URL: BASE,
  });
  await gateway.start();
  browser = await launch();
});
after(async () => { await browser?.close(); await gateway.kill(); await smtp?.close(); });

test('admin invites an employee by e-mail; the employee sets a password and takes a call', async () => {
  const t0 = Date.now();
  const admin = await login(browser, '101');
  const page = admin.page;
  await page.click('#nav-admin');
  await page.waitForSelector('#admin tr.employee[data-ext="101"]');
  // The next free extension is suggested.
  await page.waitForFunction(() => /^\d{3}$/.test(document.querySelector('#emp-ext')?.value ?? ''));
  const ext = await page.inputValue('#emp-ext');
  assert.equal(ext, '104');
  await page.fill('#emp-name', 'Nina Nowa');
  await page.fill('#emp-email', 'nina@example.com');
  await page.check('#emp-access');
  await page.click('#emp-save');
  await page.waitForSelector(`tr.employee[data-ext="${ext}"] .invite-state[data-state="invited"]`, { timeout: 15000 });

  const mail = await smtp.message(0);
  assert.match(mail, /nina@example\.com/);
  const link = mail.match(/(http:\/\/\S+\?invite=[A-Za-z0-9_-]+)/)?.[1];
  assert.ok(link, `an invitation link in:\n${mail}`);
  const invitedMs = Date.now() - t0;

  // The gateway restarts between the steps: nothing is lost.
  await gateway.kill();
  await gateway.start();

  const nina = await newPage(browser, 'nina');
  const t1 = Date.now();
  await nina.goto(link);
  await nina.waitForSelector('#setpw-password', { timeout: 15000 });
  await nina.fill('#setpw-password', 'short');
  await nina.fill('#setpw-confirm', 'short');
  await nina.click('#setpw-submit');
  await nina.waitForSelector('#setpw-error:not([hidden])');
  await nina.fill('#setpw-password', 'Blue-Tram-Sunday-9');
  await nina.fill('#setpw-confirm', 'Blue-Tram-Sunday-9');
  await nina.click('#setpw-submit');
  try {
    await nina.waitForSelector('#reg-status[data-state="registered"]', { timeout: 20000 });
  } catch (e) { console.error(nina.dumpLog()); throw e; }
  recordMetric('invitation_link_to_registered_ms', Date.now() - t1);
  recordMetric('admin_login_to_invitation_mail_ms', invitedMs);
  assert.ok(!(await nina.url()).includes('invite='), 'the token leaves the address bar');
  // Nothing of the web password is kept in the browser.
  const stored = await nina.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }) + document.cookie);
  assert.ok(!stored.includes('Blue-Tram-Sunday-9'), 'the password is not stored');

  // The admin's list shows the employee active; the admin's phone registered again after
  // the restart and calls the new extension.
  await page.waitForSelector('#reg-status[data-state="registered"]', { timeout: 40000 });
  await page.click('#nav-phone');
  await page.fill('#dial-input', ext);
  await page.click('#call-audio');
  await callState(nina, 'incoming');
  await nina.click('#answer-audio');
  await callState(page, 'connected');
  await callState(nina, 'connected');
  assert.ok((await inboundBytes(page)) > 0 && (await inboundBytes(nina)) > 0, 'media flows both ways');
  await page.click('#hangup');
  await callState(nina, 'idle');
  await page.click('#nav-admin');
  await page.waitForSelector(`tr.employee[data-ext="${ext}"] .invite-state[data-state="active"]`, { timeout: 15000 });

  // The link works once.
  const again = await newPage(browser, 'again');
  await again.goto(link);
  await again.waitForSelector('#link-problem', { timeout: 15000 });
  assert.match(await again.textContent('#link-problem'), /already been used/i);
  // ... and offers a new one: that sends a password link.
  await again.fill('#link-request-email', 'nina@example.com');
  await again.click('#link-request-submit');
  await again.waitForFunction(() => (document.querySelector('#link-request-message')?.textContent ?? '').length > 10);
  const reset = await smtp.message(1);
  assert.match(reset, /\?reset=/);
});
