// Debian's Chromium for the browser tests, and the accessibility check every page gets.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost , EXCLUDE 127.0.0.1'];

export const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

/** Headless Chromium that can reach only this machine. */
export function launch() {
  return chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', headless: true, args: ARGS });
}

/** axe-core finds no accessibility violations on the current page. (The contexts bypass the
 * CSP for this only: the CSP rightly refuses the injected axe script.) */
export async function assertAccessible(page) {
  await page.addScriptTag({ path: AXE });
  const violations = await page.evaluate(async () => (await window.axe.run()).violations
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`));
  assert.deepEqual(violations, [], `${page.url()} has accessibility violations`);
}
