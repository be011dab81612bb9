// tweestap as Microsoft Entra ID's external MFA method, in real headless Chromium. Entra is
// played by tests/entra/fake_entra.py on 127.0.0.1 (another site than tweestap on localhost):
// its page posts the request to tweestap, tweestap's pages ask for the second step, and the
// answer is posted back to the stand-in, which checks it as Entra does.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { devices } from 'playwright-core';
import { assertAccessible, launch } from './chromium.mjs';
import { SHOTS, startServe, codeIn, freePort, entraConfig, startEntra, phoneExport } from './harness.mjs';

const PHONE = devices['Pixel 7'];
const JAN = { upn: 'jan@school.nl', oid: '11111111-1111-4111-8111-111111111111', name: 'Jan Jansen', phone: '+31 612345678' };
const SARA = { upn: 'sara@school.nl', oid: '22222222-2222-4222-8222-222222222222', name: 'Sara Smit' };

let browser;
before(async () => {
  browser = await launch();
});
after(async () => { await browser?.close(); });

/** tweestap with a tenant, and Entra's stand-in. */
async function withEntra(unknownUsers) {
  const port = await freePort();
  const server = await startServe([], entraConfig(port, unknownUsers));
  const entra = await startEntra(port, server.base);
  return { server, entra, stop: () => { entra.stop(); server.stop(); } };
}

/** Waits for Entra's verdict page and returns the verdict the stand-in recorded. */
async function verdict(page, entra, state) {
  await page.waitForURL(`${entra.base}/common/federation/externalauthprovider`, { timeout: 10000 });
  const shown = (await page.locator('#outcome').textContent()).trim();
  const recorded = await entra.outcome(state);
  assert.equal(shown, recorded.outcome);
  return recorded;
}

test('a student whose number came from Entra answers with an SMS code (page CSP in force)', async () => {
  const { server, entra, stop } = await withEntra('refuse');
  try {
    assert.match(server.cli(['entra', 'import-phones', phoneExport([JAN])]), /1 new account/);
    // No bypassCSP: the answer form must be allowed to post to Microsoft by the page's CSP.
    const ctx = await browser.newContext({ ...PHONE, locale: 'nl-NL' });
    const page = await ctx.newPage();
    await page.goto(entra.startUrl(JAN, 'state-jan-1'));
    await page.waitForURL(`${server.base}/sign-in/code`);
    await page.getByText('Microsoft wacht nog op deze stap:').waitFor();
    await page.screenshot({ path: `${SHOTS}/nl-40-entra-code.png`, fullPage: true });
    // "Sign in another way" is there (an SMS-only student is offered a new code and the pass).
    await page.getByRole('link', { name: 'Lukt het niet? Log op een andere manier in' }).click();
    await page.getByRole('heading', { name: 'Op een andere manier inloggen' }).waitFor();
    await page.goBack();
    await page.getByLabel('Code').fill(codeIn(server.sms().at(-1).text));
    const seen = await verdict(page, entra, 'state-jan-1');
    assert.equal(seen.outcome, 'accepted', JSON.stringify(seen));
    assert.deepEqual(seen.claims.amr, ['sms']);
    await ctx.close();
  } finally {
    stop();
  }
});

test('an unknown student registers a phone inside Entra\'s sign-in, then cancels the next one', async () => {
  const { server, entra, stop } = await withEntra('register');
  try {
    const ctx = await browser.newContext({ ...PHONE, locale: 'nl-NL', bypassCSP: true });
    const page = await ctx.newPage();
    await page.goto(entra.startUrl(SARA, 'state-sara-1'));
    await page.waitForURL(`${server.base}/sign-in/phone`);
    await page.getByRole('heading', { name: 'Beveilig je account' }).waitFor();
    await assertAccessible(page);
    await page.screenshot({ path: `${SHOTS}/nl-41-entra-register.png`, fullPage: true });
    await page.getByLabel('Mobiel nummer').fill('06 2345 6789');
    await page.getByRole('button', { name: 'Stuur mij een code' }).click();
    await page.waitForURL('**/sign-in/code');
    await assertAccessible(page);
    await page.getByLabel('Code').fill(codeIn(server.sms().at(-1).text));
    const first = await verdict(page, entra, 'state-sara-1');
    assert.equal(first.outcome, 'accepted', JSON.stringify(first));
    assert.deepEqual(first.claims.amr, ['sms']);

    // The next sign-in asks for a fresh code at once; "this wasn't me" tells Entra no.
    await page.goto(entra.startUrl(SARA, 'state-sara-2'));
    await page.waitForURL(`${server.base}/sign-in/code`);
    await page.getByRole('button', { name: 'Annuleren: dit was ik niet' }).click();
    const second = await verdict(page, entra, 'state-sara-2');
    assert.equal(second.outcome, 'error');
    assert.equal(second.error, 'access_denied');
    await ctx.close();
  } finally {
    stop();
  }
});

test('without JavaScript the answer goes back with a button', async () => {
  const { server, entra, stop } = await withEntra('refuse');
  try {
    server.cli(['entra', 'import-phones', phoneExport([JAN])]);
    // The stand-in's own page needs a click too when scripts are off.
    const ctx = await browser.newContext({ locale: 'en-GB', javaScriptEnabled: false });
    const page = await ctx.newPage();
    await page.goto(entra.startUrl(JAN, 'state-jan-nojs'));
    await page.locator('#go').click();
    await page.waitForURL(`${server.base}/sign-in/code`);
    await page.getByText('Microsoft is waiting for this step:').waitFor();
    await page.getByLabel('Code').fill(codeIn(server.sms().at(-1).text));
    await page.getByRole('button', { name: 'Verify', exact: true }).click();
    await page.getByRole('heading', { name: 'Done' }).waitFor();
    await page.getByRole('button', { name: 'Back to Microsoft' }).click();
    const seen = await verdict(page, entra, 'state-jan-nojs');
    assert.equal(seen.outcome, 'accepted', JSON.stringify(seen));
    await ctx.close();
  } finally {
    stop();
  }
});
