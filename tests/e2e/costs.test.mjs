// Prices and spending in the web app (issue 15): the admin's Costs page shows a recorded
// call's cost by person and in the statement, changes a person's flat rate and the company's
// limit (a bad amount is refused in the form), and offers the statement as CSV; an employee
// sees their own costs under the history.
import { test, before, after } from 'node:test';
import { execFileSync } from 'node:child_process';
import { gateway, launch, login, assert } from './lib.mjs';

let browser;
before(async () => {
  // A rated call of 102 to a Polish mobile (61 s, billed as 2 minutes: 0.24 PLN), written to
  // the database as the gateway writes a finished call (the rating has its own Rust tests;
  // there are no trunks here to make a real one).
  const now = Date.now() - 60_000;
  execFileSync('sqlite3', [`${process.env.CENTRALA_DATA_DIR}/centrala.db`, `
    INSERT INTO calls (company_id, sip_call_id, caller_id, caller_number, dialled, started_ms,
      answered_ms, ended_ms, outcome, class, billed_seconds, cost_micros, currency)
    SELECT company_id, 'e2e-costs-1', id, ext, '601 234 567', ${now}, ${now + 2000}, ${now + 63000},
      'answered', 'mobile', 120, 240000, 'PLN' FROM employees WHERE ext = '102';`]);
  await gateway.start();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await gateway.kill();
  // The data folder is shared by the test files that follow: leave it as it was.
  execFileSync('sqlite3', [`${process.env.CENTRALA_DATA_DIR}/centrala.db`, `
    DELETE FROM calls WHERE sip_call_id = 'e2e-costs-1';
    UPDATE employees SET flat_rate = 'none', spend_limit_micros = NULL;
    UPDATE companies SET spend_limit_micros = NULL, person_spend_limit_micros = NULL;`]);
});

test('the admin sees costs by person and the statement, and sets flat rates and limits', async () => {
  const { page } = await login(browser, '101');
  await page.click('#nav-admin');
  await page.click('#nav-admin-costs');
  await page.waitForSelector('#cost-people tr[data-ext="102"]');
  assert.match(await page.textContent('#cost-people tr[data-ext="102"] .cost'), /0[.,]24/);
  assert.match(await page.textContent('#cost-total'), /0[.,]24/);
  assert.ok(await page.$('#cost-statement tr[data-item="calls"][data-class="mobile"]'), 'calls in the statement');
  // Bob gets the landline flat rate: its fee appears in the statement.
  await page.selectOption('#cost-people tr[data-ext="102"] select.cost-flat', 'landline');
  await page.waitForSelector('#cost-statement tr[data-item="flat_landline"]');
  // The company's limit: words are refused in the form, an amount is saved.
  await page.fill('#cost-company-limit', 'lots');
  await page.click('#cost-save-limits');
  await page.waitForSelector('#costs-error:not([hidden])');
  await page.fill('#cost-company-limit', '150,50');
  await page.click('#cost-save-limits');
  await page.waitForSelector('#costs-saved:not([hidden])');
  const settings = await page.evaluate(async () => (await fetch('/api/v1/billing/settings')).json());
  assert.equal(settings.spend_limit_micros, 150_500_000);
  // The statement as CSV, from the page's link.
  const href = await page.getAttribute('#cost-csv', 'href');
  const csv = await page.evaluate(async (h) => {
    const r = await fetch(h);
    return { type: r.headers.get('content-type'), disposition: r.headers.get('content-disposition'), body: await r.text() };
  }, href);
  assert.equal(csv.type, 'text/csv; charset=utf-8');
  assert.match(csv.disposition, /attachment; filename="statement-\d{4}-\d\d\.csv"/);
  assert.match(csv.body, /^month,item,class,quantity,unit_price_pln,billed_seconds,amount_pln\n/);
  assert.match(csv.body, /,calls,mobile,1,,120,0\.24\n/);
  assert.match(csv.body, /,flat_landline,,1,10\.00,,10\.00\n/);
});

test('an employee sees their own costs under the history', async () => {
  const { page } = await login(browser, '102');
  await page.click('#nav-history');
  await page.waitForSelector('#my-cost-calls tr[data-class="mobile"]');
  assert.match(await page.textContent('#my-spend'), /0[.,]24/);
  assert.match(await page.textContent('#cost-statement-total'), /10[.,]24/);
  // Another person's page shows nothing of Bob's.
  const other = await login(browser, '103');
  await other.page.click('#nav-history');
  await other.page.waitForSelector('#my-costs-empty');
});
