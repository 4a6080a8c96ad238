// The admin panel's API tokens screen: an admin creates a token (shown once), a script uses
// it, the admin revokes it, and the script is refused from then on.
import { test, before, after } from 'node:test';
import { gateway, launch, login, BASE, assert } from './lib.mjs';

let browser;
before(async () => { await gateway.start(); browser = await launch(); });
after(async () => { await browser?.close(); await gateway.kill(); });

async function asScript(token) {
  const r = await fetch(`${BASE}/api/v1/employees`, { headers: { authorization: `Bearer ${token}` } });
  return r.status;
}

test('an admin creates an API token, a script uses it, the admin revokes it', async () => {
  const { page } = await login(browser, '101');
  page.on('dialog', (d) => d.accept());
  await page.click('#nav-admin');
  await page.click('#nav-admin-tokens');
  // A bad number of days is refused in the form, with the field named.
  await page.fill('#token-name', 'CRM sync');
  await page.fill('#token-days', '999');
  await page.click('#token-create');
  await page.waitForSelector('#token-secret-note', { state: 'detached', timeout: 2000 }).catch(() => {});
  assert.equal(await page.$('#token-secret'), null, 'nothing created with 999 days');
  await page.fill('#token-days', '30');
  await page.click('#token-create');
  await page.waitForSelector('#token-secret');
  const token = await page.inputValue('#token-secret');
  assert.ok(token.length >= 20, `a token: ${token}`);
  assert.match(await page.textContent('#tokens'), /CRM sync/);
  assert.equal(await asScript(token), 200, 'the script may list employees');
  // Shown once: leaving the section and coming back does not show it again.
  await page.click('#nav-admin');
  await page.click('#nav-admin-tokens');
  await page.waitForSelector('#tokens');
  assert.equal(await page.$('#token-secret'), null, 'the secret is shown only once');
  await page.click('#tokens .token-revoke');
  await page.waitForFunction(() => !/CRM sync/.test(document.querySelector('#tokens')?.textContent ?? ''), null, { timeout: 10000 });
  assert.equal(await asScript(token), 401, 'a revoked token is refused');
});
