// Starts tweestap for the browser tests: the real binary, a fresh SQLite file, the outbox
// gateway. Nothing here is shared with the server's code: it drives the CLI like an operator.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const repo = new URL('../../', import.meta.url).pathname;

export function binary() {
  const candidates = [
    process.env.TEST_TWEESTAP_BIN,
    process.env.CARGO_TARGET_DIR && join(process.env.CARGO_TARGET_DIR, 'debug/tweestap'),
    join(repo, 'target/debug/tweestap'),
  ].filter(Boolean);
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`tweestap binary not found (tried ${candidates.join(', ')}); run cargo build first`);
  return found;
}

export const SHOTS = process.env.SCREENSHOT_DIR ?? join(repo, 'artifacts/screenshots');
mkdirSync(SHOTS, { recursive: true });

export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function waitForHealth(base, child) {
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`tweestap exited with ${child.exitCode}`);
    try {
      const res = await fetch(base + '/healthz');
      if (res.ok) return;
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('tweestap did not become healthy');
}

/** `tweestap demo` on a free port, as a newcomer would start it. */
export async function startDemo() {
  const port = await freePort();
  const child = spawn(binary(), ['demo', '--listen', `127.0.0.1:${port}`], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  const base = `http://localhost:${port}`;
  await waitForHealth(base, child);
  return { base, child, output: () => out, stop: () => child.kill('SIGTERM') };
}

/** `tweestap serve` with its own configuration and the given users, added through the CLI. */
export async function startServe(users, extraConfig = []) {
  const dir = mkdtempSync(join(tmpdir(), 'tweestap-browser-'));
  const port = await freePort();
  const config = join(dir, 'tweestap.toml');
  const outbox = join(dir, 'outbox.jsonl');
  writeFileSync(config, [
    `listen = "127.0.0.1:${port}"`,
    `public_url = "http://localhost:${port}"`,
    `data_dir = "${dir}"`,
    'organisation = "Testschool"',
    '[[sms.gateways]]',
    'kind = "outbox"',
    `path = "${outbox}"`,
    ...extraConfig,
  ].join('\n') + '\n');
  for (const u of users) {
    const args = ['--config', config, 'user', 'add', u.username, '--display-name', u.name, '--password-stdin'];
    if (u.phone) args.push('--phone', u.phone);
    const r = spawnSync(binary(), args, { input: u.password + '\n', encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`user add ${u.username}: ${r.stderr}`);
  }
  const child = spawn(binary(), ['serve', '--config', config], { stdio: ['ignore', 'inherit', 'inherit'] });
  const base = `http://localhost:${port}`;
  await waitForHealth(base, child);
  return {
    base,
    /** Runs the tweestap CLI against this server's configuration; returns its standard output. */
    cli: (args) => {
      const r = spawnSync(binary(), ['--config', config, ...args], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`tweestap ${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    },
    /** Text messages sent so far (the outbox file). */
    sms: () => (existsSync(outbox) ? readFileSync(outbox, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)) : []),
    stop: () => child.kill('SIGTERM'),
  };
}

/** The code in a text message: its last line is the WebOTP line "@host #123456". */
export function codeIn(text) {
  const m = /#(\d{6})\s*$/.exec(text);
  if (!m) throw new Error(`no code in ${JSON.stringify(text)}`);
  return m[1];
}
