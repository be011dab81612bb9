// Real headless Chromium (Debian's package, driven by playwright-core) walks tweestap's
// sign-in as people do: on a phone-sized screen, in Dutch and in English, with and without
// JavaScript. Every page is checked with axe-core. Screenshots go to artifacts/screenshots.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { devices } from 'playwright-core';
import { AXE, assertAccessible, launch } from './chromium.mjs';
import { SHOTS, startDemo, startServe, codeIn } from './harness.mjs';

const PHONE = devices['Pixel 7'];

let browser;
before(async () => {
  browser = await launch();
});
after(async () => { await browser?.close(); });

async function shot(page, name) {
  await page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });
}

test('a newcomer walks the demo in Dutch on a phone: sign in, add a phone, code, done', async () => {
  const demo = await startDemo();
  try {
    assert.match(demo.output(), /student \/ welkom-demo-1/);
    const ctx = await browser.newContext({ ...PHONE, locale: 'nl-NL', bypassCSP: true });
    const page = await ctx.newPage();
    await page.goto(demo.base + '/sign-in');
    assert.equal(await page.locator('html').getAttribute('lang'), 'nl');
    await assertAccessible(page);
    await page.getByLabel('Gebruikersnaam').fill('student');
    await page.getByLabel('Wachtwoord', { exact: true }).fill('welkom-demo-1');
    await shot(page, 'nl-1-sign-in');
    await page.getByRole('button', { name: 'Inloggen' }).click();

    // The interrupt carries the phone form: Nederland preselected.
    await page.waitForURL('**/sign-in/phone');
    await page.getByRole('heading', { name: 'Beveilig je account' }).waitFor();
    assert.equal(await page.getByLabel('Land of regio').inputValue(), 'NL');
    await assertAccessible(page);
    await page.getByLabel('Mobiel nummer').fill('06 12345678');
    await shot(page, 'nl-2-add-phone');
    await page.getByRole('button', { name: 'Stuur mij een code' }).click();

    await page.waitForURL('**/sign-in/code');
    await page.getByText('We hebben een sms gestuurd naar +31 6 •••• ••78').waitFor();
    await assertAccessible(page);
    await shot(page, 'nl-3-code');

    // The demo phone, in another tab, shows the text message.
    const phone = await ctx.newPage();
    await phone.goto(demo.base + '/demo/phone');
    const text = await phone.locator('.sms-text').first().textContent();
    assert.match(text, /is je code voor tweestap demo/);
    await assertAccessible(phone);
    await shot(phone, 'nl-4-demo-phone');
    await phone.close();

    // Typing the sixth digit submits the form by itself, and the page it leads to says it is
    // all set: two screens (phone, code) for the whole registration.
    await page.getByLabel('Code').pressSequentially(codeIn(text));
    await page.waitForURL(demo.base + '/?welcome=1');
    await page.getByRole('heading', { name: 'Je bent ingelogd' }).waitFor();
    await page.getByText('Klaar! Je tweede stap is ingesteld').waitFor();
    await page.getByText('Hallo Sam Student!').waitFor();
    await assertAccessible(page);
    await shot(page, 'nl-6-signed-in');
    await ctx.close();
  } finally {
    demo.stop();
  }
});

test('later sign-ins without JavaScript: straight to the code, wrong code, another way', async () => {
  const server = await startServe([{ username: 'docent', name: 'Dana Docent', password: 'geheim-wachtwoord', phone: '06 87654321' }]);
  try {
    const ctx = await browser.newContext({ locale: 'nl-NL', javaScriptEnabled: false, bypassCSP: true });
    const page = await ctx.newPage();
    await page.goto(server.base + '/sign-in');
    await page.getByLabel('Gebruikersnaam').fill('docent');
    await page.getByLabel('Wachtwoord', { exact: true }).fill('geheim-wachtwoord');
    await page.getByRole('button', { name: 'Inloggen' }).click();
    await page.waitForURL('**/sign-in/code');
    await page.getByText('+31 6 •••• ••21').waitFor();

    await page.getByLabel('Code').fill('000000' === codeIn(server.sms().at(-1).text) ? '111111' : '000000');
    await page.getByRole('button', { name: 'Controleren' }).click();
    await page.getByRole('alert').waitFor();
    assert.match(await page.getByRole('alert').textContent(), /Deze code klopt niet\. Je kunt het nog 4 keer proberen\./);
    assert.equal(await page.getByLabel('Code').getAttribute('aria-invalid'), 'true');
    await shot(page, 'nl-7-wrong-code');

    await page.getByRole('link', { name: 'Lukt het niet? Log op een andere manier in' }).click();
    await page.waitForURL('**/sign-in/other-way');
    await page.getByRole('button', { name: 'Sms naar +31 6 •••• ••21' }).waitFor();
    await shot(page, 'nl-8-other-way');
    await page.getByRole('button', { name: 'Annuleren' }).click();
    await page.waitForURL('**/sign-in');

    // Back to the start, then in with the code, clicking "Controleren" by hand.
    await page.getByLabel('Gebruikersnaam').fill('docent');
    await page.getByLabel('Wachtwoord', { exact: true }).fill('geheim-wachtwoord');
    await page.getByRole('button', { name: 'Inloggen' }).click();
    await page.waitForURL('**/sign-in/code**');
    // Within the minute no second text is sent: the page says so and offers to send one.
    if (page.url().includes('problem=')) {
      await page.getByRole('button', { name: 'Stuur een code' }).waitFor();
    }
    await ctx.close();
  } finally {
    server.stop();
  }
});

test('in English: a bad number is explained and kept, then registration completes', async () => {
  const server = await startServe([{ username: 'erik', name: 'Erik Exchange', password: 'exchange-student' }]);
  try {
    const ctx = await browser.newContext({ ...PHONE, locale: 'en-GB', bypassCSP: true });
    const page = await ctx.newPage();
    await page.goto(server.base + '/sign-in');
    assert.equal(await page.locator('html').getAttribute('lang'), 'en');
    await page.getByLabel('Username').fill('erik');
    await page.getByLabel('Password', { exact: true }).fill('exchange-student');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL('**/sign-in/phone');
    await page.getByLabel('Mobile number').fill('071 512 3456');
    await page.getByRole('button', { name: 'Send me a code' }).click();
    await page.getByRole('alert').waitFor();
    assert.equal(await page.getByRole('alert').textContent(), 'This is not a mobile number. Enter a number that can receive text messages.');
    assert.equal(await page.getByLabel('Mobile number').inputValue(), '071 512 3456');
    await assertAccessible(page);
    await shot(page, 'en-1-bad-number');

    await page.getByLabel('Mobile number').fill('+31 6 1234 5678');
    await page.getByRole('button', { name: 'Send me a code' }).click();
    await page.waitForURL('**/sign-in/code');
    const sms = server.sms().at(-1);
    assert.equal(sms.to, '+31612345678');
    assert.match(sms.text, /is your Testschool code/);
    await page.getByLabel('Code').fill(codeIn(sms.text));
    await page.waitForURL('**/?welcome=1');
    await page.getByRole('heading', { name: "You're signed in" }).waitFor();
    await page.getByText('All set! Your second step is ready').waitFor();
    await assertAccessible(page);
    await shot(page, 'en-2-done');
    await ctx.close();
  } finally {
    server.stop();
  }
});

/** A stand-in application: "/" links to tweestap's authorize endpoint, "/callback" shows what
 * came back. It only records; the protocol checks are the interop tests' job. */
async function startApp() {
  const seen = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    if (url.pathname === '/callback') {
      seen.push(Object.fromEntries(url.searchParams));
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(`<!doctype html><title>App</title><h1>Welcome back</h1><p id="code">${url.searchParams.get('code') ?? ''}</p>`);
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { base: `http://127.0.0.1:${server.address().port}`, seen, stop: () => server.close() };
}

/** axe-core on a page whose CSP stays in force: evaluated through DevTools, not injected. */
async function assertAccessibleUnderCsp(page) {
  await page.evaluate(readFileSync(AXE, 'utf8'));
  const violations = await page.evaluate(async () => (await window.axe.run()).violations
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`));
  assert.deepEqual(violations, [], `${page.url()} has accessibility violations`);
}

test('an application signs a user in through tweestap, with the page CSP in force', async () => {
  const server = await startServe([{ username: 'leerling', name: 'Lotte Leerling', password: 'geheim-wachtwoord', phone: '06 11223344' }]);
  const app = await startApp();
  try {
    const { client_id } = JSON.parse(server.cli(['client', 'add', 'Het Rooster', '--redirect-uri', `${app.base}/callback`, '--json']));
    const authorize = `${server.base}/oauth2/authorize?` + new URLSearchParams({
      client_id, redirect_uri: `${app.base}/callback`, response_type: 'code', scope: 'openid profile',
      state: 'st8', nonce: 'n0', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256',
    });
    // No bypassCSP: browsers apply form-action to the redirects after a form, and the last one
    // leaves tweestap for the application. The pages must allow exactly that.
    const ctx = await browser.newContext({ ...PHONE, locale: 'nl-NL' });
    const page = await ctx.newPage();
    const blocked = [];
    page.on('console', (m) => { if (/Content Security Policy/.test(m.text())) blocked.push(m.text()); });
    await page.goto(authorize);
    await page.waitForURL('**/sign-in?return_to=**');
    await page.getByLabel('Gebruikersnaam').fill('leerling');
    await page.getByLabel('Wachtwoord', { exact: true }).fill('geheim-wachtwoord');
    await page.getByRole('button', { name: 'Inloggen' }).click();
    await page.waitForURL('**/sign-in/code**');
    await page.getByLabel('Code').fill(codeIn(server.sms().at(-1).text));
    // The page may submit by itself on the sixth digit; otherwise click.
    await page.getByRole('button', { name: 'Controleren' }).click({ timeout: 2000 }).catch(() => {});
    // Not a first-party application: the user is asked, once.
    await page.getByRole('heading', { name: 'Het Rooster toestaan?' }).waitFor();
    await page.getByText('Je naam en gebruikersnaam').waitFor();
    await assertAccessibleUnderCsp(page);
    await shot(page, 'nl-oidc-consent');
    await page.getByRole('button', { name: 'Toestaan', exact: true }).click();
    await page.waitForURL(`${app.base}/callback**`);
    await page.getByRole('heading', { name: 'Welcome back' }).waitFor();
    assert.deepEqual(blocked, [], 'no form submission was blocked by the CSP');
    const back = app.seen.at(-1);
    assert.equal(back.state, 'st8');
    assert.equal(back.iss, server.base);
    assert.match(back.code, /^[A-Za-z0-9_-]{43}$/);
    await shot(page, 'nl-oidc-back-at-the-app');
    await ctx.close();
  } finally {
    app.stop();
    server.stop();
  }
});

test('in a rush the sign-in says so and tries again by itself with the password already typed', async () => {
  // Three students: an attempt that happens to find the thread free proves nothing, so the
  // next student tries, until one was told to wait.
  const users = [1, 2, 3].map((n) => ({ username: `drukte${n}`, name: `Daan Drukte ${n}`, password: 'geheim-wachtwoord', phone: `06 1212129${n}` }));
  const server = await startServe(users, [
    // Slow hashes (t=20) keep the one thread taken nearly all the time while others rush.
    '[policy.password]', 'max_concurrent_hashes = 1', 'max_wait_ms = 0', 'argon2_iterations = 20',
    '[policy.throttle]', 'password_failures_per_ip = 1000000', 'password_failures_per_username_total = 1000000']);
  // Others keep the one hashing thread busy: sign-ins with names that are not accounts.
  let rushing = true;
  const rush = async () => {
    while (rushing) {
      const page = await fetch(server.base + '/sign-in');
      const cookie = (page.headers.get('set-cookie') ?? '').split(';')[0];
      const csrf = /name="csrf" value="([^"]+)"/.exec(await page.text())[1];
      await fetch(server.base + '/sign-in', { method: 'POST', redirect: 'manual',
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ csrf, username: `niemand-${Math.random()}`, password: 'fout' }) });
    }
  };
  const rushers = Array.from({ length: 6 }, rush);
  try {
    let waited = false;
    for (const user of users) {
      const ctx = await browser.newContext({ ...PHONE, locale: 'nl-NL', bypassCSP: true });
      const page = await ctx.newPage();
      await page.goto(server.base + '/sign-in');
      await page.getByLabel('Gebruikersnaam').fill(user.username);
      await page.getByLabel('Wachtwoord', { exact: true }).fill(user.password);
      await page.getByRole('button', { name: 'Inloggen' }).click();
      const notice = page.getByText('We proberen het over een paar seconden vanzelf opnieuw');
      const first = await Promise.race([
        notice.waitFor({ timeout: 15000 }).then(() => 'busy'),
        page.waitForURL('**/sign-in/code', { timeout: 15000 }).then(() => 'in'),
      ]);
      if (first === 'busy') {
        waited = true;
        await assertAccessible(page);
        await shot(page, 'nl-busy-retrying');
        rushing = false;
        await Promise.all(rushers);
        // The page sends the form again by itself, password and all.
        await page.waitForURL('**/sign-in/code', { timeout: 15000 });
        await ctx.close();
        break;
      }
      await ctx.close();
    }
    assert.ok(waited, 'one of the students was asked to wait');
  } finally {
    rushing = false;
    server.stop();
  }
});

/** Reads a QR code from a screenshot of it, as a phone camera would (zbarimg, zbar-tools). */
function scanQr(png) {
  const dir = mkdtempSync(join(tmpdir(), 'tweestap-qr-'));
  const file = join(dir, 'qr.png');
  writeFileSync(file, png);
  const r = spawnSync('zbarimg', ['--raw', '-q', file], { encoding: 'utf8' });
  assert.equal(r.status, 0, `zbarimg could not read the QR code: ${r.stderr}`);
  return r.stdout.trim();
}

/** The code an authenticator app shows now (oathtool, an independent TOTP implementation). */
function totp(secret) {
  const r = spawnSync('oathtool', ['--totp', '-b', secret], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

test('from SMS to an authenticator app and back, without the helpdesk', async () => {
  const server = await startServe([{ username: 'docent2', name: 'Dirk Docent', password: 'geheim-wachtwoord', phone: '06 12121278' }],
    // The fallback to SMS comes within a minute of the first text: no wait between them here.
    ['[policy.code]', 'resend_cooldown_secs = 0']);
  try {
    const ctx = await browser.newContext({ ...PHONE, locale: 'nl-NL', bypassCSP: true });
    const page = await ctx.newPage();
    await page.goto(server.base + '/sign-in');
    await page.getByLabel('Gebruikersnaam').fill('docent2');
    await page.getByLabel('Wachtwoord', { exact: true }).fill('geheim-wachtwoord');
    await page.getByRole('button', { name: 'Inloggen' }).click();
    await page.waitForURL('**/sign-in/code');
    await page.getByLabel('Code').fill(codeIn(server.sms().at(-1).text));
    await page.waitForURL(server.base + '/');

    // Security info: add an app by scanning the QR code from the screen.
    await page.getByRole('link', { name: 'Beveiligingsgegevens' }).click();
    await page.getByRole('heading', { name: 'Beveiligingsgegevens' }).waitFor();
    await assertAccessible(page);
    await page.getByLabel('Naam voor deze app (mag leeg)').fill('Aegis');
    await page.getByRole('button', { name: 'App instellen' }).click();
    await page.waitForURL('**/security-info/app');
    await assertAccessible(page);
    await shot(page, 'nl-9-app-qr');
    const uri = scanQr(await page.getByRole('img', { name: 'QR-code voor je authenticator-app' }).screenshot());
    assert.match(uri, /^otpauth:\/\/totp\/Testschool:docent2\?secret=[A-Z2-7]+&issuer=Testschool/);
    const secret = new URL(uri).searchParams.get('secret');
    await page.getByLabel('Code uit de app').fill(totp(secret));
    await page.getByRole('button', { name: 'Controleren' }).click();
    await page.waitForURL('**/security-info?notice=app-added');
    await page.getByText('Authenticator-app (Aegis)').first().waitFor();
    await shot(page, 'nl-10-app-added');

    // Sign out; sign in with the app's code.
    await page.goto(server.base + '/');
    await page.getByRole('button', { name: 'Uitloggen' }).click();
    await page.waitForURL('**/sign-in?signed_out=1');
    await page.getByLabel('Gebruikersnaam').fill('docent2');
    await page.getByLabel('Wachtwoord', { exact: true }).fill('geheim-wachtwoord');
    await page.getByRole('button', { name: 'Inloggen' }).click();
    await page.waitForURL('**/sign-in/app');
    await assertAccessible(page);
    await shot(page, 'nl-11-app-code');
    // "Sign in another way" falls back to SMS.
    await page.getByRole('link', { name: 'Lukt het niet? Log op een andere manier in' }).click();
    await page.waitForURL('**/sign-in/other-way');
    await page.getByRole('button', { name: 'Authenticator-app (Aegis)' }).waitFor();
    await page.getByRole('button', { name: 'Sms naar +31 6 •••• ••78' }).click();
    await page.waitForURL('**/sign-in/code**');
    await page.getByLabel('Code').fill(codeIn(server.sms().at(-1).text));
    await page.waitForURL(server.base + '/');
    await page.getByRole('heading', { name: 'Je bent ingelogd' }).waitFor();
    await ctx.close();
  } finally {
    server.stop();
  }
});
