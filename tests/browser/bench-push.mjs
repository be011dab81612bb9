// Benchmark: the time from the phone's approval to the sign-in page continuing, in real
// headless Chromium (two contexts, the virtual authenticator), as a user sees it. Not a test:
// run `node bench-push.mjs [rounds]` after `cargo build`; results go in docs/benchmarks.md.
import { chromium, devices } from 'playwright-core';
import { startServe, codeIn } from './harness.mjs';

const ROUNDS = Number(process.argv[2] ?? 30);
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
  '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost , EXCLUDE 127.0.0.1'];
const USER = { username: 'bench', name: 'Bench', password: 'geheim-wachtwoord', phone: '06 12121278' };

const server = await startServe([USER], ['[policy]', 'ask_strongest_first = true',
  '[policy.push]', 'max_per_hour = 100000']);
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: ARGS });
try {
  const computer = await (await browser.newContext({ locale: 'nl-NL' })).newPage();
  const phoneCtx = await browser.newContext({ ...devices['Pixel 7'], locale: 'nl-NL' });
  const phone = await phoneCtx.newPage();
  const cdp = await phoneCtx.newCDPSession(phone);
  await cdp.send('WebAuthn.enable');
  await cdp.send('WebAuthn.addVirtualAuthenticator', { options: {
    protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true } });
  const signIn = async (page) => {
    await page.goto(server.base + '/sign-in');
    await page.getByLabel('Gebruikersnaam').fill(USER.username);
    await page.getByLabel('Wachtwoord', { exact: true }).fill(USER.password);
    await page.getByRole('button', { name: 'Inloggen' }).click();
  };
  await signIn(computer);
  await computer.waitForURL('**/sign-in/code');
  await computer.getByLabel('Code').fill(codeIn(server.sms().at(-1).text));
  await computer.waitForURL(server.base + '/');
  await computer.goto(server.base + '/security-info');
  await computer.getByRole('button', { name: 'Telefoon koppelen' }).click();
  await phone.goto(await computer.locator('img[data-link]').getAttribute('data-link'));
  await phone.getByRole('button', { name: 'Koppelen' }).click();
  await phone.waitForURL('**/app/');
  const linkNumber = (await computer.locator('#link-number').textContent({ timeout: 10000 })).trim();
  await phone.getByLabel('Typ het getal dat op je computer staat').fill(linkNumber);
  await phone.getByRole('button', { name: 'Bevestigen' }).click();
  await phone.waitForURL('**/app/?result=approved');

  const times = [];
  for (let i = 0; i < ROUNDS; i++) {
    const ctx = await browser.newContext({ locale: 'nl-NL' });
    const laptop = await ctx.newPage();
    await signIn(laptop);
    await laptop.waitForURL('**/sign-in/push');
    const number = (await laptop.locator('#push-number').textContent()).trim();
    await phone.goto(server.base + '/app/');
    const continued = laptop.waitForURL(server.base + '/', { timeout: 15000 });
    await phone.getByRole('button', { name: number, exact: true }).click();
    await phone.waitForURL('**/app/?result=approved');
    const approved = performance.now();
    await continued;
    times.push(performance.now() - approved);
    await ctx.close();
  }
  times.sort((a, b) => a - b);
  const q = (p) => times[Math.min(times.length - 1, Math.floor(p * times.length))].toFixed(0);
  console.log(`approval -> sign-in page continued, ${ROUNDS} rounds: p50 ${q(0.5)} ms, p99 ${q(0.99)} ms, min ${times[0].toFixed(0)} ms, max ${times.at(-1).toFixed(0)} ms`);
} finally {
  await browser.close();
  server.stop();
}
