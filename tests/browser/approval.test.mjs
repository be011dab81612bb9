// Push approval with number matching and passkeys, in real headless Chromium with its virtual
// authenticator (user verification on): two browser contexts, the computer signing in and the
// phone running the tweestap app. Served on http://localhost (WebAuthn refuses IP addresses).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { devices } from 'playwright-core';
import { assertAccessible, launch } from './chromium.mjs';
import { SHOTS, startServe, codeIn, freePort, entraConfig, startEntra, phoneExport } from './harness.mjs';

const PHONE = devices['Pixel 7'];
const USER = { username: 'leerling', name: 'Lotte Leerling', password: 'geheim-wachtwoord', phone: '06 12121278' };

let browser;
before(async () => {
  browser = await launch();
});
after(async () => { await browser?.close(); });

/** A context with a virtual platform authenticator that verifies the user (fingerprint). */
async function withAuthenticator(options) {
  const ctx = await browser.newContext({ locale: 'nl-NL', bypassCSP: true, ...options });
  const page = await ctx.newPage();
  const cdp = await ctx.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', { options: {
    protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true } });
  return { ctx, page, cdp, authenticatorId };
}

async function signInWithPassword(page, base) {
  await page.goto(base + '/sign-in');
  await page.getByLabel('Gebruikersnaam').fill(USER.username);
  await page.getByLabel('Wachtwoord', { exact: true }).fill(USER.password);
  await page.getByRole('button', { name: 'Inloggen' }).click();
}

/** The computer signs in by SMS and links the phone (the test approval included). */
async function linkPhone(server, computer, phone) {
  await signInWithPassword(computer, server.base);
  await computer.waitForURL('**/sign-in/code');
  await computer.getByLabel('Code').fill(codeIn(server.sms().at(-1).text));
  await computer.waitForURL(server.base + '/');
  await computer.goto(server.base + '/security-info');
  await computer.getByRole('button', { name: 'Telefoon koppelen' }).click();
  const qr = computer.getByRole('img', { name: 'QR-code om je telefoon te koppelen' });
  await qr.waitFor();
  await assertAccessible(computer);
  await computer.screenshot({ path: `${SHOTS}/nl-20-link-qr.png`, fullPage: true });
  const link = await qr.getAttribute('data-link');
  assert.match(link, /^http:\/\/localhost:\d+\/app\/link\?t=[0-9a-f]{64}$/);

  await phone.goto(link);
  await assertAccessible(phone);
  await phone.getByLabel('Naam van deze telefoon').fill('Pixel');
  await phone.getByRole('button', { name: 'Koppelen' }).click();
  await phone.waitForURL('**/app/');
  await phone.getByRole('heading', { name: 'Koppelen afronden' }).waitFor();
  await phone.getByText('Geef op de computer waar je de code scande aan dat dit jouw telefoon is').waitFor();
  await assertAccessible(phone);

  // The computer's page follows by itself: it asks whether this phone (browser, place) is
  // the user's before anything can be answered…
  await computer.getByRole('heading', { name: 'Is dit jouw telefoon?' }).waitFor({ timeout: 10000 });
  await computer.getByText('Android').waitFor();
  await assertAccessible(computer);
  await computer.screenshot({ path: `${SHOTS}/nl-21-link-is-this-your-phone.png`, fullPage: true });
  await computer.getByRole('button', { name: 'Ja, dat is mijn telefoon' }).click();
  // …then shows the number, and the phone (which looks again by itself) asks for it.
  // Linking: the number is typed, not picked (someone holding only the QR code cannot guess).
  const number = await computer.locator('#link-number').textContent({ timeout: 10000 });
  await phone.getByLabel('Typ het getal dat op je computer staat').fill(number.trim());
  await phone.getByRole('button', { name: 'Bevestigen' }).click();
  await phone.waitForURL('**/app/?result=approved');
  await computer.waitForURL('**/security-info?notice=push-added', { timeout: 10000 });
  await computer.getByText('tweestap-app (Pixel)').first().waitFor();
}

/** Starts a sign-in that waits for the phone; returns the number on the screen. */
async function waitingSignIn(page, base) {
  await signInWithPassword(page, base);
  await page.waitForURL('**/sign-in/push');
  return (await page.locator('#push-number').textContent()).trim();
}

async function pick(phone, base, number) {
  await phone.goto(base + '/app/');
  await phone.getByRole('button', { name: number, exact: true }).click();
}

test('link the tweestap app, then sign in by push: right number, wrong number, deny, "this wasn\'t me"', async () => {
  const server = await startServe([USER], ['[policy]', 'ask_strongest_first = true']);
  try {
    const computerCtx = await browser.newContext({ locale: 'nl-NL', bypassCSP: true });
    const computer = await computerCtx.newPage();
    const { ctx: phoneCtx, page: phone } = await withAuthenticator({ ...PHONE });
    await linkPhone(server, computer, phone);

    // Sign in on another computer: the page shows a number and waits; the phone picks it and
    // confirms with the fingerprint; the page continues by itself.
    const laptopCtx = await browser.newContext({ locale: 'nl-NL', bypassCSP: true });
    const laptop = await laptopCtx.newPage();
    const number = await waitingSignIn(laptop, server.base);
    assert.match(number, /^\d\d$/);
    await assertAccessible(laptop);
    await laptop.screenshot({ path: `${SHOTS}/nl-21-push-wait.png`, fullPage: true });
    await phone.goto(server.base + '/app/');
    await phone.getByText('Inloggen bij Testschool?').waitFor();
    await phone.getByText('127.0.0.1').waitFor();
    await assertAccessible(phone);
    await phone.screenshot({ path: `${SHOTS}/nl-22-app-request.png`, fullPage: true });
    await phone.getByRole('button', { name: number, exact: true }).click();
    await phone.waitForURL('**/app/?result=approved');
    await laptop.waitForURL(server.base + '/', { timeout: 10000 });
    await laptop.getByRole('heading', { name: 'Je bent ingelogd' }).waitFor();
    await laptopCtx.close();

    // The wrong number: refused, and the computer says so.
    const second = await (await browser.newContext({ locale: 'nl-NL' })).newPage();
    const right = await waitingSignIn(second, server.base);
    await phone.goto(server.base + '/app/');
    const offered = await phone.locator('form.numbers button').allTextContents();
    const wrong = offered.map((s) => s.trim()).find((n) => n !== right);
    await phone.getByRole('button', { name: wrong, exact: true }).click();
    await phone.waitForURL('**/app/?result=wrong_number');
    await second.getByText('Op je telefoon werd een ander getal gekozen').waitFor({ timeout: 10000 });

    // Deny: a new request, refused on the phone.
    await second.getByRole('button', { name: 'Nieuw verzoek sturen' }).click();
    await second.locator('#push-number').waitFor();
    await phone.goto(server.base + '/app/');
    await phone.getByRole('button', { name: 'Weigeren' }).click();
    await phone.waitForURL('**/app/?result=denied');
    await second.getByText('Je hebt dit verzoek geweigerd').waitFor({ timeout: 10000 });

    // "This wasn't me": push and texts stop, the helpdesk sees the flag.
    await second.getByRole('button', { name: 'Nieuw verzoek sturen' }).click();
    await second.locator('#push-number').waitFor();
    await phone.goto(server.base + '/app/');
    await phone.getByRole('button', { name: 'Dit was ik niet' }).click();
    await phone.waitForURL('**/app/?result=reported');
    await second.getByText('Je hebt gemeld dat jij dit niet was').waitFor({ timeout: 10000 });
    const shown = server.cli(['user', 'show', USER.username]);
    assert.match(shown, /FLAGGED/);
    await second.getByRole('button', { name: 'Nieuw verzoek sturen' }).click();
    await second.getByText('staat voor dit account tijdelijk uit').waitFor();
    await phoneCtx.close();
    await computerCtx.close();
  } finally {
    server.stop();
  }
});

test('an unanswered request expires, and the page says so', async () => {
  const server = await startServe([USER], ['[policy]', 'ask_strongest_first = true', '[policy.push]', 'ttl_secs = 3']);
  try {
    const computer = await (await browser.newContext({ locale: 'nl-NL', bypassCSP: true })).newPage();
    const { page: phone } = await withAuthenticator({ ...PHONE });
    // Linking has its own three seconds: pick quickly.
    await linkPhone(server, computer, phone);
    const laptop = await (await browser.newContext({ locale: 'nl-NL' })).newPage();
    await waitingSignIn(laptop, server.base);
    await laptop.getByText('Dit verzoek is verlopen').waitFor({ timeout: 10000 });
    await phone.goto(server.base + '/app/');
    await phone.getByText('Er wachten geen verzoeken').waitFor();
  } finally {
    server.stop();
  }
});

test('register a passkey with a fresh second factor, then sign in with it', async () => {
  const server = await startServe([USER], ['[policy]', 'ask_strongest_first = true']);
  try {
    const { ctx, page, cdp, authenticatorId } = await withAuthenticator({});
    await signInWithPassword(page, server.base);
    await page.waitForURL('**/sign-in/code');
    await page.getByLabel('Code').fill(codeIn(server.sms().at(-1).text));
    await page.waitForURL(server.base + '/');
    await page.goto(server.base + '/security-info');
    await page.getByRole('link', { name: 'Toegangssleutel toevoegen' }).click();
    await page.waitForURL('**/security-info/passkey');
    await assertAccessible(page);
    await page.getByLabel('Naam van deze toegangssleutel').fill('Laptop');
    await page.getByRole('button', { name: 'Toegangssleutel maken' }).click();
    await page.waitForURL('**/security-info?notice=passkey-added');
    await page.getByText('Toegangssleutel (Laptop)').first().waitFor();
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    assert.equal(credentials.length, 1);

    await page.goto(server.base + '/');
    await page.getByRole('button', { name: 'Uitloggen' }).click();
    await page.waitForURL('**/sign-in?signed_out=1');
    await signInWithPassword(page, server.base);
    await page.waitForURL('**/sign-in/passkey');
    await assertAccessible(page);
    // Without user verification the device refuses, and the page says so.
    await cdp.send('WebAuthn.setUserVerified', { authenticatorId, isUserVerified: false });
    await page.getByRole('button', { name: 'Toegangssleutel gebruiken' }).click();
    await page.getByText('Je toestel gaf geen bevestiging').waitFor({ timeout: 10000 });
    await cdp.send('WebAuthn.setUserVerified', { authenticatorId, isUserVerified: true });
    await page.getByRole('button', { name: 'Toegangssleutel gebruiken' }).click();
    await page.waitForURL(server.base + '/');
    await page.getByRole('heading', { name: 'Je bent ingelogd' }).waitFor();
    await ctx.close();
  } finally {
    server.stop();
  }
});

// Microsoft Entra ID's external method (played by tests/entra/fake_entra.py): the account is
// linked by the import of Entra's numbers (same username, same number).
const LEERLING = { upn: USER.username, oid: '33333333-3333-4333-8333-333333333333', name: USER.name, phone: '+31 612121278' };

async function entraVerdict(page, entra, state) {
  await page.waitForURL(`${entra.base}/common/federation/externalauthprovider`, { timeout: 10000 });
  return entra.outcome(state);
}

test('Entra: push finishes without typing, and a "no" on the phone tells Entra access_denied', async () => {
  const port = await freePort();
  const server = await startServe([USER], ['[policy]', 'ask_strongest_first = true', ...entraConfig(port)]);
  const entra = await startEntra(port, server.base);
  try {
    const computer = await (await browser.newContext({ locale: 'nl-NL', bypassCSP: true })).newPage();
    const { page: phone } = await withAuthenticator({ ...PHONE });
    await linkPhone(server, computer, phone);
    assert.match(server.cli(['entra', 'import-phones', '--link-existing', phoneExport([LEERLING])]), /1 unchanged/);

    const laptop = await (await browser.newContext({ locale: 'nl-NL', bypassCSP: true })).newPage();
    await laptop.goto(entra.startUrl(LEERLING, 'state-push'));
    await laptop.waitForURL(`${server.base}/sign-in/push`);
    const number = (await laptop.locator('#push-number').textContent()).trim();
    await laptop.getByText('Microsoft wacht nog op deze stap:').waitFor();
    await assertAccessible(laptop);
    await laptop.screenshot({ path: `${SHOTS}/nl-42-entra-push.png`, fullPage: true });
    await pick(phone, server.base, number);
    const approved = await entraVerdict(laptop, entra, 'state-push');
    assert.equal(approved.outcome, 'accepted', JSON.stringify(approved));
    assert.deepEqual(approved.claims.amr, ['swk']);

    await laptop.goto(entra.startUrl(LEERLING, 'state-deny'));
    await laptop.waitForURL(`${server.base}/sign-in/push`);
    await phone.goto(server.base + '/app/');
    await phone.getByRole('button', { name: 'Weigeren' }).click();
    await phone.waitForURL('**/app/?result=denied');
    const denied = await entraVerdict(laptop, entra, 'state-deny');
    assert.equal(denied.outcome, 'error', JSON.stringify(denied));
    assert.equal(denied.error, 'access_denied');
  } finally {
    entra.stop();
    server.stop();
  }
});

test('Entra: a passkey finishes without typing, and "sign in another way" leads to a code', async () => {
  const port = await freePort();
  const server = await startServe([USER], ['[policy]', 'ask_strongest_first = true', ...entraConfig(port)]);
  const entra = await startEntra(port, server.base);
  try {
    const { ctx, page } = await withAuthenticator({});
    await signInWithPassword(page, server.base);
    await page.waitForURL('**/sign-in/code');
    await page.getByLabel('Code').fill(codeIn(server.sms().at(-1).text));
    await page.waitForURL(server.base + '/');
    await page.goto(server.base + '/security-info/passkey');
    await page.getByLabel('Naam van deze toegangssleutel').fill('Laptop');
    await page.getByRole('button', { name: 'Toegangssleutel maken' }).click();
    await page.waitForURL('**/security-info?notice=passkey-added');
    server.cli(['entra', 'import-phones', '--link-existing', phoneExport([LEERLING])]);

    await page.goto(entra.startUrl(LEERLING, 'state-key'));
    await page.waitForURL(`${server.base}/sign-in/passkey`);
    await page.getByRole('button', { name: 'Toegangssleutel gebruiken' }).click();
    const key = await entraVerdict(page, entra, 'state-key');
    assert.equal(key.outcome, 'accepted', JSON.stringify(key));
    assert.deepEqual(key.claims.amr, ['fido']);

    const sent = server.sms().length;
    await page.goto(entra.startUrl(LEERLING, 'state-other'));
    await page.waitForURL(`${server.base}/sign-in/passkey`);
    await page.getByRole('link', { name: 'Lukt het niet? Log op een andere manier in' }).click();
    await page.getByRole('button', { name: /^Sms naar/ }).click();
    await page.waitForURL('**/sign-in/code');
    for (let i = 0; i < 100 && server.sms().length === sent; i++) await new Promise((r) => setTimeout(r, 50));
    await page.getByLabel('Code').fill(codeIn(server.sms().at(-1).text));
    const code = await entraVerdict(page, entra, 'state-other');
    assert.equal(code.outcome, 'accepted', JSON.stringify(code));
    assert.deepEqual(code.claims.amr, ['sms']);
    await ctx.close();
  } finally {
    entra.stop();
    server.stop();
  }
});
