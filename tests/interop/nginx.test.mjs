// Forward-auth with a real reverse proxy: Debian's nginx, run as the current user with a
// generated configuration, protects an application with `auth_request` against tweestap's
// /auth/nginx, and sends anonymous visitors to /auth/start. Also checks the Traefik/Caddy-style
// /auth/forward endpoint directly. Without nginx the nginx test is skipped (failed under CI=true).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, existsSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, freePort, Browser, walk } from './harness.mjs';

const USERS = [
  { username: 'anna', name: 'Anna de Vries', password: 'anna-correct-horse-1', phone: '+31612345681', email: 'anna@school.example' },
  { username: 'bram', name: 'Bram Jansen', password: 'bram-correct-horse-2', phone: '+31612345682', email: 'bram@school.example' },
];

function findNginx() {
  if (process.env.NGINX) return existsSync(process.env.NGINX) ? process.env.NGINX : undefined;
  for (const p of ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/bin/nginx']) if (existsSync(p)) return p;
  const r = spawnSync('sh', ['-c', 'command -v nginx'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}
const NGINX = findNginx();
const CI = process.env.CI === 'true';
const nginxSkip = !NGINX && !CI ? 'nginx is not installed (apt-get install nginx); set CI=true to make this a failure' : false;
if (nginxSkip) console.log(`# skipping the nginx test: ${nginxSkip}`);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let server;
before(async () => {
  server = await startServer({ users: USERS, extraConfig: '[forward_auth]\ndomains = ["localhost"]' });
});
after(async () => { await server?.stop(); });

/** nginx in the foreground with everything (logs, temp files, pid) in a temp dir. */
async function startNginx(tweestapPort) {
  const dir = mkdtempSync(join(tmpdir(), 'tweestap-nginx-'));
  chmodSync(dir, 0o755); // when run as root, the workers run as nobody
  const port = await freePort();
  const appPort = await freePort();
  const conf = join(dir, 'nginx.conf');
  writeFileSync(conf, `
worker_processes 1;
error_log ${dir}/error.log info;
events { worker_connections 64; }
http {
  access_log ${dir}/access.log;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  default_type text/plain;

  # The protected application: shows who nginx says is signed in.
  server {
    listen 127.0.0.1:${appPort};
    location / { return 200 "secret for $http_remote_user ($http_remote_name) at $request_uri\\n"; }
  }

  server {
    listen 127.0.0.1:${port};
    server_name localhost;

    location /protected/ {
      auth_request /_auth;
      auth_request_set $user $upstream_http_remote_user;
      auth_request_set $name $upstream_http_remote_name;
      error_page 401 = @signin;
      proxy_set_header Remote-User $user;
      proxy_set_header Remote-Name $name;
      proxy_pass http://127.0.0.1:${appPort};
    }

    location = /_auth {
      internal;
      proxy_pass http://127.0.0.1:${tweestapPort}/auth/nginx;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Original-URL $scheme://$http_host$request_uri;
    }

    location @signin {
      return 302 http://localhost:${tweestapPort}/auth/start?rd=$scheme://$http_host$request_uri;
    }
  }
}
`);
  let out = '';
  const child = spawn(NGINX, ['-e', join(dir, 'error.log'), '-p', dir, '-c', conf, '-g', `daemon off; pid ${dir}/nginx.pid;`],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { out += d; });
  const errorLog = () => (existsSync(join(dir, 'error.log')) ? readFileSync(join(dir, 'error.log'), 'utf8') : '');
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM'); // fast shutdown: the master stops its workers
      await Promise.race([exited, sleep(5000)]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  };
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) {
      const log = out + errorLog();
      await stop();
      throw new Error(`nginx exited with ${child.exitCode}:\n${log}`);
    }
    try {
      await fetch(`http://127.0.0.1:${port}/`);
      break;
    } catch { /* not listening yet */ }
    if (i > 200) { const log = out + errorLog(); await stop(); throw new Error(`nginx did not start:\n${log}`); }
    await sleep(25);
  }
  return { base: `http://localhost:${port}`, stop, errorLog };
}

test('nginx auth_request: anonymous → tweestap sign-in (password + SMS code) → back to the page, signed in', { skip: nginxSkip }, async () => {
  assert.ok(NGINX, 'nginx is required when CI=true (apt-get install nginx)');
  const nginx = await startNginx(server.port);
  try {
    const page = `${nginx.base}/protected/page?x=1`;
    const startUrl = `${server.base}/auth/start?rd=${page}`;

    // Anonymous: nginx asks tweestap, gets 401 and sends the browser to the sign-in.
    const browser = new Browser();
    const anon = await browser.get(page);
    assert.equal(anon.status, 302, `anonymous request: ${anon.status} ${anon.body}\n${nginx.errorLog()}`);
    assert.equal(anon.location, startUrl);

    // Sign in through tweestap's forms; the last redirect is back to the protected page.
    const steps = [];
    const back = await walk(browser, server, anon.location, {
      user: 'anna', steps, until: (loc) => loc.startsWith(nginx.base),
    });
    assert.deepEqual(steps, ['password', 'code']);
    assert.equal(back, page, 'after signing in the browser goes back to the page it asked for');

    const res = await browser.get(back);
    assert.equal(res.status, 200, `signed-in request: ${res.status} ${res.body}\n${nginx.errorLog()}`);
    assert.equal(res.body.trim(), 'secret for anna (Anna de Vries) at /protected/page?x=1');
    // A Remote-User header sent by the browser itself is replaced by tweestap's answer.
    const spoofed = await browser.get(page, { headers: { 'remote-user': 'admin', 'remote-name': 'Admin' } });
    assert.equal(spoofed.body.trim(), 'secret for anna (Anna de Vries) at /protected/page?x=1');
    const other = await browser.get(`${nginx.base}/protected/other`);
    assert.equal(other.status, 200, 'the session covers every protected path');

    // Without the cookie: sign-in again.
    const stranger = await new Browser().get(page);
    assert.equal(stranger.status, 302);
    assert.equal(stranger.location, startUrl);

    // Signed in already: another protected URL goes through /auth/start without any page.
    const second = `${nginx.base}/protected/second`;
    const again = [];
    const direct = await walk(browser, server, `${server.base}/auth/start?rd=${encodeURIComponent(second)}`, {
      user: 'anna', steps: again, until: (loc) => loc.startsWith(nginx.base),
    });
    assert.equal(direct, second);
    assert.deepEqual(again, [], 'a signed-in browser is sent straight back');

    // Signing out at tweestap ends access through nginx too.
    const out = [];
    await walk(browser, server, `${server.base}/`, { steps: out, until: (loc) => new URL(loc).pathname === '/sign-in' });
    assert.deepEqual(out, ['logout-confirm'], 'signed out with the home page\'s sign-out button');
    const afterOut = await browser.get(page);
    assert.equal(afterOut.status, 302, 'after signing out nginx sends the browser to the sign-in again');
    assert.equal(afterOut.location, startUrl);

    // A forged cookie does not pass either.
    const forged = await fetch(page, { redirect: 'manual', headers: { cookie: 'tweestap_session=forged-value' } });
    assert.equal(forged.status, 302, 'a forged session cookie is not signed in');
  } finally {
    await nginx.stop();
  }
});

test('forward-auth endpoints: /auth/nginx headers, /auth/start open-redirect check, /auth/forward', async () => {
  const browser = new Browser();

  // Not signed in.
  const anon = await browser.get(`${server.base}/auth/nginx`);
  assert.equal(anon.status, 401, '/auth/nginx without a session');

  // rd on a host outside forward_auth.domains: an error page, never a redirect.
  for (const rd of [
    'http://evil.example/', 'http://localhost.evil.example/', 'http://evil.example/?localhost',
    'http://localhost@evil.example/', 'http://evillocalhost/', '//evil.example/', 'javascript:alert(1)',
  ]) {
    const evil = await browser.get(`${server.base}/auth/start?rd=${encodeURIComponent(rd)}`);
    assert.equal(evil.status, 400, `/auth/start?rd=${rd} → ${evil.status} ${evil.location ?? ''}`);
    assert.equal(evil.location, undefined, `/auth/start?rd=${rd} must not redirect`);
  }

  // /auth/forward (Traefik/Caddy): the original URL from X-Forwarded-*.
  const fwdHeaders = { 'x-forwarded-proto': 'http', 'x-forwarded-host': 'localhost:9', 'x-forwarded-uri': '/app/page?y=2' };
  const fwdAnon = await browser.get(`${server.base}/auth/forward`, { headers: fwdHeaders });
  // Traefik and Caddy hand any non-2xx answer to the browser: a 302 or 303 both redirect a GET.
  assert.ok([302, 303].includes(fwdAnon.status), `/auth/forward without a session: ${fwdAnon.status}, expected a redirect`);
  const start = new URL(fwdAnon.location);
  assert.equal(start.origin + start.pathname, `${server.base}/auth/start`);
  assert.equal(start.searchParams.get('rd'), 'http://localhost:9/app/page?y=2');

  // A forwarded host outside forward_auth.domains never becomes a way back to that host.
  const evilFwd = await browser.get(`${server.base}/auth/forward`, { headers: { ...fwdHeaders, 'x-forwarded-host': 'evil.example' } });
  assert.notEqual(evilFwd.status, 200, '/auth/forward for a host outside the domains');
  assert.ok(!(evilFwd.location ?? '').includes('evil.example'), `/auth/forward must not send the browser towards evil.example: ${evilFwd.location}`);

  // Sign in through /auth/start (a subdomain of an allowed domain is allowed too).
  const rd = 'http://app.localhost:9/welcome';
  const steps = [];
  const back = await walk(browser, server, `${server.base}/auth/start?rd=${encodeURIComponent(rd)}`, {
    user: 'bram', steps, until: (loc) => loc.startsWith('http://app.localhost:9/'),
  });
  assert.deepEqual(steps, ['password', 'code']);
  assert.equal(back, rd);

  const ok = await browser.get(`${server.base}/auth/nginx`);
  assert.equal(ok.status, 200, '/auth/nginx with a signed-in session');
  assert.equal(ok.headers.get('remote-user'), 'bram');
  assert.equal(ok.headers.get('remote-name'), 'Bram Jansen');
  assert.equal(ok.headers.get('remote-email'), 'bram@school.example');
  const subject = ok.headers.get('remote-subject');
  assert.ok(subject && subject !== 'bram', `Remote-Subject is an opaque identifier (got ${subject})`);

  const fwd = await browser.get(`${server.base}/auth/forward`, { headers: fwdHeaders });
  assert.equal(fwd.status, 200, '/auth/forward with a signed-in session');
  assert.equal(fwd.headers.get('remote-user'), 'bram');
  assert.equal(fwd.headers.get('remote-subject'), subject);
});
