// dpk-pkm's operator pages in headless Chromium (Debian's), driven by
// puppeteer-core (tools/package.json). Run by test_pkm_web, which starts
// the PKM, the chain and the devices. One step per run:
//   enrol   log in (challenge answered by dpkctl respond on the operator's
//           device), enrol a UUID device, download its token once; enrol
//           another and withdraw its token; prints "identity UUID"
//   revoke  log in, see IDENTITY approved, revoke it, see it revoked
// Environment: PKM_URL, CHROMIUM, DPKCTL, OPERATOR, OPERATOR_SOCKET,
// SHOTS (a folder for the screenshots), TOKEN_FILE (enrol), IDENTITY (revoke).
'use strict';
const puppeteer = require('puppeteer-core');
const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const env = (k) => {
  if (!process.env[k]) throw new Error(`${k} is not set`);
  return process.env[k];
};
const url = (p) => env('PKM_URL') + p;
let shot = 0;
const screenshot = async (page, name) => {
  shot += 1;
  await page.screenshot({ path: path.join(env('SHOTS'), `${process.argv[2]}-${shot}-${name}.png`), fullPage: true });
};

async function login(page) {
  await page.goto(url('/devices'));
  if (!page.url().endsWith('/login')) throw new Error(`not sent to /login: ${page.url()}`);
  await page.type('#operator', env('OPERATOR'));
  await Promise.all([page.waitForNavigation(), page.click('#challenge-button')]);
  const challenge = await page.$eval('#challenge', (e) => e.textContent);
  await screenshot(page, 'challenge');
  // what the operator does on their own device
  const response = execFileSync(env('DPKCTL'), ['--socket', env('OPERATOR_SOCKET'), 'respond', '--yes', challenge],
    { encoding: 'utf8' }).trim();
  await page.type('#response', response);
  await Promise.all([page.waitForNavigation(), page.click('#login')]);
  if (!page.url().endsWith('/devices')) {
    throw new Error(`login failed: ${await page.$eval('body', (e) => e.innerText)}`);
  }
  const cookies = await page.cookies();
  const c = cookies.find((x) => x.name === 'dpk_session');
  if (!c || !c.httpOnly || !c.secure || c.sameSite !== 'Strict') throw new Error(`session cookie: ${JSON.stringify(c)}`);
  if (await page.evaluate(() => document.cookie.includes('dpk_session'))) throw new Error('script can read the session');
}

async function stateOf(page, identity) {
  return page.$eval(`tr[data-identity="${identity}"] td.state`, (e) => e.textContent).catch(() => '');
}

async function main() {
  const browser = await puppeteer.launch({
    executablePath: env('CHROMIUM'),
    headless: true,
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--no-first-run'],
  });
  try {
    const page = await browser.newPage();
    page.on('dialog', (d) => d.accept()); // the pages confirm withdrawals and revocations
    await login(page);
    await screenshot(page, 'devices');
    if (process.argv[2] === 'enrol') {
      await page.goto(url('/enrol'));
      await Promise.all([page.waitForNavigation(), page.click('#enrol-uuid')]);
      const identity = await page.$eval('#identity', (e) => e.textContent);
      const href = await page.$eval('#download', (e) => e.getAttribute('href'));
      await screenshot(page, 'enrolled');
      const fetchText = (h) => page.evaluate(async (u) => {
        const r = await fetch(u);
        return { status: r.status, text: await r.text() };
      }, h);
      const first = await fetchText(href);
      if (first.status !== 200) throw new Error(`download: ${first.status} ${first.text}`);
      fs.writeFileSync(env('TOKEN_FILE'), first.text, { mode: 0o600 });
      const second = await fetchText(href);
      if (second.status !== 410) throw new Error(`second download: ${second.status}`);
      await page.goto(url('/devices'));
      const st = await stateOf(page, identity);
      if (st !== 'issued') throw new Error(`new device is '${st}', not issued`);
      await screenshot(page, 'issued');
      // a second device, whose token the operator withdraws before it is used
      await page.goto(url('/enrol'));
      await Promise.all([page.waitForNavigation(), page.click('#enrol-uuid')]);
      const spare = await page.$eval('#identity', (e) => e.textContent);
      await page.goto(url('/devices'));
      await Promise.all([page.waitForNavigation(), page.click(`tr[data-identity="${spare}"] button.withdraw`)]);
      const withdrawn = await stateOf(page, spare);
      if (withdrawn !== 'revoked') throw new Error(`withdrawn token's device is '${withdrawn}'`);
      await screenshot(page, 'withdrawn');
      console.log(`identity ${identity}`);
    } else {
      const identity = env('IDENTITY');
      await page.goto(url('/devices'));
      const st = await stateOf(page, identity);
      if (st !== 'approved') throw new Error(`device ${identity} is '${st}', not approved`);
      await screenshot(page, 'approved');
      await Promise.all([page.waitForNavigation(),
        page.click(`tr[data-identity="${identity}"] button.revoke`)]);
      if (!page.url().endsWith('/devices')) throw new Error(`revoke: ${await page.$eval('body', (e) => e.innerText)}`);
      const after = await stateOf(page, identity);
      if (after !== 'revoked') throw new Error(`device ${identity} is '${after}' after revoking`);
      await screenshot(page, 'revoked');
      await page.goto(url('/audit'));
      const audit = await page.$eval('#audit', (e) => e.textContent);
      if (!audit.includes(`action=revoke-identity target=${identity}`)) throw new Error('revocation not in the audit log');
      await screenshot(page, 'audit');
      console.log(`revoked ${identity}`);
    }
  } finally {
    await browser.close();
  }
}

main().catch((e) => {
  console.error(`pkm_web_browser: ${e.stack || e}`);
  process.exit(1);
});
