// Shared by the interoperability tests: starts the real tweestap binary with its own
// configuration, adds users and OIDC clients through the CLI (as an operator would), and
// walks the HTML sign-in with plain HTTP requests: a cookie jar, forms parsed from the page,
// redirects followed by hand. Nothing here is shared with the server's code.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const repo = new URL('../../', import.meta.url).pathname;

export function binary() {
  const candidates = [
    process.env.TEST_TWEESTAP_BIN,
    process.env.CARGO_TARGET_DIR && join(process.env.CARGO_TARGET_DIR, 'debug/tweestap'),
    join(process.env.HOME ?? '/root', '.cache/tweestap-target/debug/tweestap'),
    join(repo, 'target/debug/tweestap'),
  ].filter(Boolean);
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`tweestap binary not found (tried ${candidates.join(', ')}); run cargo build first`);
  return found;
}

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

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function cli(config, args, input) {
  const r = spawnSync(binary(), ['--config', config, ...args], { input, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tweestap ${args.join(' ')} exited ${r.status}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

/**
 * `tweestap serve` on a free port with a fresh data dir and the outbox SMS gateway.
 * users: [{username, name, password, phone, email?}]
 * clients: {key: {redirectUris: [], postLogoutUris?: [], public?: bool, firstParty?: bool, idTokenAlg?: 'RS256'}}
 * extraConfig: more TOML appended to the configuration (e.g. a [forward_auth] table).
 */
export async function startServer({ users = [], clients = {}, extraConfig = '' } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'tweestap-interop-'));
  const port = await freePort();
  const config = join(dir, 'tweestap.toml');
  const outbox = join(dir, 'outbox.jsonl');
  writeFileSync(config, [
    `listen = "127.0.0.1:${port}"`,
    `public_url = "http://localhost:${port}"`,
    `data_dir = "${dir}"`,
    'organisation = "Testschool"',
    extraConfig,
    '[[sms.gateways]]',
    'kind = "outbox"',
    `path = "${outbox}"`,
  ].join('\n') + '\n');
  try {
    return await serve({ dir, port, config, outbox, users, clients });
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

async function serve({ dir, port, config, outbox, users, clients }) {
  for (const u of users) {
    const args = ['user', 'add', u.username, '--display-name', u.name, '--password-stdin', '--phone', u.phone];
    if (u.email) args.push('--email', u.email);
    cli(config, args, u.password + '\n');
  }
  const registered = {};
  for (const [key, c] of Object.entries(clients)) {
    const args = ['client', 'add', c.name ?? key, '--json'];
    for (const u of c.redirectUris) args.push('--redirect-uri', u);
    for (const u of c.postLogoutUris ?? []) args.push('--post-logout-uri', u);
    if (c.public) args.push('--public');
    if (c.firstParty) args.push('--first-party');
    if (c.idTokenAlg) args.push('--id-token-alg', c.idTokenAlg);
    const out = JSON.parse(cli(config, args));
    if (!out.client_id) throw new Error(`client add ${key}: no client_id in ${JSON.stringify(out)}`);
    registered[key] = { ...c, clientId: out.client_id, clientSecret: out.client_secret ?? undefined };
  }
  let log = '';
  const child = spawn(binary(), ['serve', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', (d) => { log += d; });
  child.stderr.on('data', (d) => { log += d; });
  const base = `http://localhost:${port}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`tweestap serve exited with ${child.exitCode}:\n${log}`);
    try {
      if ((await fetch(base + '/healthz')).ok) break;
    } catch { /* not listening yet */ }
    if (i > 300) { child.kill('SIGTERM'); throw new Error(`tweestap did not become healthy:\n${log}`); }
    await sleep(50);
  }
  return {
    base,
    port,
    dir,
    clients: registered,
    users: Object.fromEntries(users.map((u) => [u.username, u])),
    log: () => log,
    /** Text messages sent so far (the outbox file), oldest first. */
    sms: () => (existsSync(outbox) ? readFileSync(outbox, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)) : []),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await Promise.race([exited, sleep(5000)]);
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The code in a text message: its last line is the WebOTP line "@host #123456". */
export function codeIn(text) {
  const m = /#(\d{6})\s*$/.exec(text);
  if (!m) throw new Error(`no code in ${JSON.stringify(text)}`);
  return m[1];
}

/** Fetches the discovery document, with a clear message when the server has none yet. */
export async function discoveryDocument(base) {
  const res = await fetch(base + '/.well-known/openid-configuration');
  if (!res.ok) throw new Error(`GET ${base}/.well-known/openid-configuration: ${res.status} (is the OIDC provider built into this binary?)`);
  return res.json();
}

// ---------------------------------------------------------------------------------------
// A minimal browser: cookies per host name (host-only cookies on "localhost" are shared
// across ports, as browsers do), no automatic redirects.

export class Browser {
  constructor() { this.jar = new Map(); /* host -> Map(name -> value) */ }

  cookieHeader(url) {
    const cookies = this.jar.get(new URL(url).hostname);
    return cookies && cookies.size ? [...cookies].map(([k, v]) => `${k}=${v}`).join('; ') : undefined;
  }

  cookie(host, name) { return this.jar.get(host)?.get(name); }

  store(url, res) {
    const host = new URL(url).hostname;
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attrs.some((a) => /^\s*max-age\s*=\s*(0|-\d+)\s*$/i.test(a))
        || attrs.some((a) => /^\s*expires\s*=/i.test(a) && Date.parse(a.split('=').slice(1).join('=')) < Date.now());
      if (!this.jar.has(host)) this.jar.set(host, new Map());
      if (expired || value === '') this.jar.get(host).delete(name);
      else this.jar.get(host).set(name, value);
    }
  }

  /** One request, no redirects followed. Returns {status, location (absolute), body, url, headers}. */
  async request(url, { method = 'GET', form, headers = {} } = {}) {
    const h = { ...headers };
    const cookie = this.cookieHeader(url);
    if (cookie) h.cookie = cookie;
    let body;
    if (form) {
      body = new URLSearchParams(form).toString();
      h['content-type'] = 'application/x-www-form-urlencoded';
    }
    const res = await fetch(url, { method, headers: h, body, redirect: 'manual' });
    this.store(url, res);
    const loc = res.headers.get('location');
    return {
      url,
      status: res.status,
      headers: res.headers,
      location: loc ? new URL(loc, url).href : undefined,
      body: await res.text(),
    };
  }

  get(url, opts) { return this.request(url, opts); }
  post(url, form, opts) { return this.request(url, { ...opts, method: 'POST', form }); }
}

// ---------------------------------------------------------------------------------------
// Forms.

const decode = (s) => s
  .replace(/&quot;/g, '"').replace(/&#0*39;/g, "'").replace(/&#x0*27;/gi, "'")
  .replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&#x2F;/gi, '/').replace(/&#0*47;/g, '/')
  .replace(/&amp;/g, '&');

function attrs(tag) {
  const out = {};
  for (const m of tag.matchAll(/([a-zA-Z_:][-a-zA-Z0-9_:.]*)\s*(?:=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?/g)) {
    out[m[1].toLowerCase()] = decode(m[2] ?? m[3] ?? m[4] ?? '');
  }
  return out;
}

/** The POST forms of a page: [{action (absolute), inputs: {name: value}, hidden: {…}, buttons: [{name, value, text}]}]. */
export function postForms(html, pageUrl) {
  const forms = [];
  for (const m of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const fa = attrs(m[1]);
    if ((fa.method ?? 'get').toLowerCase() !== 'post') continue;
    const inputs = {};
    const hidden = {};
    for (const i of m[2].matchAll(/<input\b([^>]*)>/gi)) {
      const a = attrs(i[1].replace(/\/$/, ''));
      if (!a.name) continue;
      if ((a.type ?? 'text').toLowerCase() === 'checkbox' && !('checked' in a)) continue;
      inputs[a.name] = a.value ?? '';
      if ((a.type ?? '').toLowerCase() === 'hidden') hidden[a.name] = a.value ?? '';
    }
    const buttons = [...m[2].matchAll(/<button\b([^>]*)>([\s\S]*?)<\/button>/gi)]
      .map((b) => ({ ...attrs(b[1]), text: b[2].replace(/<[^>]*>/g, '').trim() }));
    forms.push({ action: new URL(fa.action || pageUrl, pageUrl).href, inputs, hidden, buttons });
  }
  return forms;
}

function pageSummary(res) {
  const text = res.body.replace(/<(script|style)[\s\S]*?<\/\1>/gi, '').replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim();
  return `${res.status} at ${res.url}${res.location ? ` → ${res.location}` : ''}: ${text.slice(0, 400)}`;
}

/**
 * Follows an interactive flow from `url` as a person would, until a redirect whose Location
 * satisfies `until` (returned). Fills the sign-in form (password), the code form (newest
 * text message to the user's phone), the consent form (`consent`: 'allow' or 'deny') and
 * an optional logout confirmation. `steps` records what was done (e.g. ['password', 'code']).
 */
export async function walk(browser, server, url, { until, user, consent = 'allow', steps = [] }) {
  const u = user && server.users[user];
  const digits = (s) => String(s ?? '').replace(/\D/g, '');
  const toUser = () => server.sms().filter((m) => digits(m.to) === digits(u.phone));
  let smsBefore = 0;
  let res = await browser.get(url);
  for (let hop = 0; hop < 25; hop++) {
    if (res.status >= 300 && res.status < 400 && res.location) {
      if (until(res.location)) return res.location;
      res = await browser.get(res.location);
      continue;
    }
    if (res.status !== 200) throw new Error(`unexpected page: ${pageSummary(res)}`);
    const forms = postForms(res.body, res.url);
    const path = (f) => new URL(f.action).pathname;
    const signIn = forms.find((f) => path(f) === '/sign-in');
    const code = forms.find((f) => path(f) === '/sign-in/code');
    const consentForm = forms.find((f) => path(f) === '/oauth2/consent');
    const logout = forms.find((f) => /logout|sign-out/.test(path(f)));
    if (signIn && 'password' in signIn.inputs) {
      if (!u) throw new Error(`sign-in form shown but no user given: ${pageSummary(res)}`);
      steps.push('password');
      smsBefore = toUser().length;
      res = await browser.post(signIn.action, { ...signIn.inputs, username: u.username, password: u.password });
    } else if (code) {
      if (!u) throw new Error(`code form shown but no user given: ${pageSummary(res)}`);
      steps.push('code');
      let msgs = [];
      for (let i = 0; i < 100; i++) { // the gateway writes the outbox asynchronously
        msgs = toUser();
        if (msgs.length > smsBefore) break;
        await sleep(50);
      }
      if (msgs.length <= smsBefore) throw new Error(`no text message to ${u.phone} arrived (outbox: ${JSON.stringify(server.sms())})`);
      res = await browser.post(code.action, { ...code.inputs, code: codeIn(msgs.at(-1).text) });
      smsBefore = msgs.length;
    } else if (consentForm) {
      steps.push(`consent:${consent}`);
      const button = consentForm.buttons.find((b) => b.name === 'decision' && b.value === consent);
      if (!button) throw new Error(`consent page has no decision=${consent} button: ${JSON.stringify(consentForm.buttons)}`);
      res = await browser.post(consentForm.action, { ...consentForm.inputs, decision: consent });
    } else if (logout) {
      steps.push('logout-confirm');
      const button = logout.buttons.find((b) => b.name) ?? {};
      res = await browser.post(logout.action, { ...logout.inputs, ...(button.name ? { [button.name]: button.value ?? '' } : {}) });
    } else {
      throw new Error(`no form to fill on ${pageSummary(res)}`);
    }
  }
  throw new Error('too many redirects/pages');
}

/** The query parameters of a URL as a plain object. */
export const params = (url) => Object.fromEntries(new URL(url).searchParams);

/** The decoded JOSE header of a JWT. */
export const jwtHeader = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[0], 'base64url').toString());
