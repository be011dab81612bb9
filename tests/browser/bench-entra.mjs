// Benchmark: Entra's external-method round trip in real headless Chromium, as a student sees
// it: from Entra's page posting the request until tweestap's code page is shown, and from
// the code typed until Entra's page has the verdict (which includes the stand-in's own checks:
// it fetches tweestap's discovery document and keys for every answer, as a cold Entra would).
// Not a test: run `node bench-entra.mjs [rounds]` after `cargo build`; results go in
// docs/benchmarks.md.
import { chromium } from 'playwright-core';
import { startServe, codeIn, freePort, entraConfig, startEntra, phoneExport } from './harness.mjs';

const ROUNDS = Number(process.argv[2] ?? 20);
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
  '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost , EXCLUDE 127.0.0.1'];
const students = Array.from({ length: ROUNDS }, (_, i) => {
  const n = String(i).padStart(4, '0');
  return { upn: `s${n}@school.nl`, oid: `00000000-0000-4000-8000-00000000${n}`, name: `Student ${n}`, phone: `+31 61234${n}` };
});

const port = await freePort();
const server = await startServe([], entraConfig(port));
const entra = await startEntra(port, server.base);
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: ARGS });
try {
  server.cli(['entra', 'import-phones', phoneExport(students)]);
  const there = [];
  const back = [];
  for (const [i, student] of students.entries()) {
    const ctx = await browser.newContext({ locale: 'nl-NL' });
    const page = await ctx.newPage();
    const state = `bench-${i}`;
    const start = performance.now();
    await page.goto(entra.startUrl(student, state));
    await page.waitForURL(`${server.base}/sign-in/code`);
    await page.getByLabel('Code').waitFor();
    there.push(performance.now() - start);
    for (let t = 0; t < 200 && server.sms().length <= i; t++) await new Promise((r) => setTimeout(r, 10));
    const typed = performance.now();
    await page.getByLabel('Code').fill(codeIn(server.sms().at(-1).text));
    await page.waitForURL(`${entra.base}/common/federation/externalauthprovider`);
    await page.locator('#outcome').waitFor();
    back.push(performance.now() - typed);
    const outcome = await entra.outcome(state);
    if (outcome.outcome !== 'accepted') throw new Error(JSON.stringify(outcome));
    await ctx.close();
  }
  const report = (name, times) => {
    times.sort((a, b) => a - b);
    const q = (p) => times[Math.min(times.length - 1, Math.floor(p * times.length))].toFixed(0);
    console.log(`${name}, ${ROUNDS} rounds: p50 ${q(0.5)} ms, p90 ${q(0.9)} ms, max ${times.at(-1).toFixed(0)} ms`);
  };
  report('Entra page -> tweestap code page (hint checked, text queued)', there);
  report('code typed -> Entra verdict page (id_token signed, posted, checked)', back);
} finally {
  await browser.close();
  entra.stop();
  server.stop();
}
