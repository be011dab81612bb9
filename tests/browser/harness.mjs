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

// Microsoft Entra ID, played by tests/entra/fake_entra.py (an independent implementation in
// Python): it starts the external-method sign-in from its own origin (127.0.0.1, another site
// than tweestap's localhost) and checks tweestap's answer as Entra does.
export const ENTRA = {
  tenant: '5c3a1f7e-2b4d-4e6f-8a9b-0c1d2e3f4a5b',
  appId: '8d2b6c0e-1f3a-4b5c-9d7e-6f8a9b0c1d2e',
  clientId: 'school-eam',
};

/** The configuration lines for a tenant whose Entra stand-in listens on `port`. */
export function entraConfig(port, unknownUsers = 'refuse') {
  return [
    '[entra]',
    `test_authority = "http://127.0.0.1:${port}"`,
    '[[entra.tenants]]',
    'name = "Testschool"',
    `tenant_ids = ["${ENTRA.tenant}"]`,
    `app_id = "${ENTRA.appId}"`,
    `client_id = "${ENTRA.clientId}"`,
    `unknown_users = "${unknownUsers}"`,
  ];
}

/** Starts the stand-in on `port` for the tweestap at `base`. */
export async function startEntra(port, base) {
  const python = process.env.TEST_PUSH_PYTHON ?? 'python3';
  const script = join(repo, 'tests/entra/fake_entra.py');
  const child = spawn(python, [script, '--port', String(port), '--public-host', '127.0.0.1',
    '--provider-discovery', `${base}/entra/.well-known/openid-configuration`, '--app-id', ENTRA.appId],
  { stdio: ['ignore', 'pipe', 'inherit'] });
  const ready = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => { out += d; if (out.includes('\n')) resolve(JSON.parse(out.split('\n')[0])); });
    child.once('exit', (code) => reject(new Error(`the Entra stand-in exited with ${code} (does ${python} have PyJWT and cryptography?)`)));
  });
  return {
    base: ready.base,
    /** Where a browser starts an Entra sign-in for this user (the page posts itself to tweestap). */
    startUrl: (user, state) => {
      const q = new URLSearchParams({ provider_authorize: `${base}/entra/authorize`, client_id: ENTRA.clientId,
        tid: ENTRA.tenant, oid: user.oid, sub: `pairwise-${user.oid}`, preferred_username: user.upn, name: user.name, state });
      return `${ready.base}/_start?${q}`;
    },
    outcome: async (state) => (await fetch(`${ready.base}/_outcome?state=${encodeURIComponent(state)}`)).json(),
    stop: () => child.kill('SIGTERM'),
  };
}

/** An export of Entra's phone methods for `tweestap entra import-phones`. */
export function phoneExport(users) {
  const dir = mkdtempSync(join(tmpdir(), 'tweestap-entra-'));
  const file = join(dir, 'phones.csv');
  writeFileSync(file, ['userPrincipalName,objectId,tenantId,phoneNumber,phoneType',
    ...users.map((u) => `${u.upn},${u.oid},${ENTRA.tenant},${u.phone},mobile`)].join('\n') + '\n');
  return file;
}
