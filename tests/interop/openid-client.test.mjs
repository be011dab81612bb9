// An independent OpenID Connect client, panva's openid-client v6 (built on oauth4webapi),
// against a real tweestap: discovery, the authorization code flow with PKCE, the ID token,
// userinfo, refresh-token rotation and reuse detection, revocation and RP-initiated logout.
// The sign-in pages are walked with plain HTTP (harness.mjs): password, then the SMS code
// from the outbox gateway's file.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { startServer, Browser, walk, params, jwtHeader, discoveryDocument } from './harness.mjs';

// openid-client's own errors say little ("invalid response encountered"); the reason is in
// their cause. Put it in the message so a failing test says what the server did wrong.
function explained(name, fn) {
  return async (...args) => {
    try {
      return await fn(...args);
    } catch (e) {
      const why = [];
      for (let c = e.cause, i = 0; c && i < 3; c = c instanceof Error ? c.cause : undefined, i++) {
        why.push(c instanceof Error ? c.message : JSON.stringify(c));
      }
      e.message = `${name}: ${e.message}${why.length ? ` (${why.join(' ← ')})` : ''}`;
      throw e;
    }
  };
}
const client = { ...oidc };
for (const f of ['discovery', 'authorizationCodeGrant', 'refreshTokenGrant', 'fetchUserInfo', 'tokenRevocation']) {
  client[f] = explained(f, oidc[f]);
}

const APP = 'https://app.school.example';
const USERS = [
  { username: 'anna', name: 'Anna de Vries', password: 'anna-correct-horse-1', phone: '+31612345671', email: 'anna@school.example' },
  { username: 'bram', name: 'Bram Jansen', password: 'bram-correct-horse-2', phone: '+31612345672', email: 'bram@school.example' },
  { username: 'cato', name: 'Cato Bakker', password: 'cato-correct-horse-3', phone: '+31612345673', email: 'cato@school.example' },
  { username: 'daan', name: 'Daan Visser', password: 'daan-correct-horse-4', phone: '+31612345674', email: 'daan@school.example' },
  { username: 'eefje', name: 'Eefje Bos', password: 'eefje-correct-horse-5', phone: '+31612345675', email: 'eefje@school.example' },
  { username: 'femke', name: 'Femke Dekker', password: 'femke-correct-horse-6', phone: '+31612345676' },
];
// One user per sign-in: a second code to the same account within a minute waits for the
// resend cooldown (policy code.resend_cooldown_secs).
const CLIENTS = {
  portal: { redirectUris: [`${APP}/portal/callback`], postLogoutUris: [`${APP}/portal/signed-out`], firstParty: true },
  spa: { redirectUris: [`${APP}/spa/callback`], public: true },
  poster: { redirectUris: [`${APP}/poster/callback`], firstParty: true },
  legacy: { redirectUris: [`${APP}/legacy/callback`], firstParty: true, idTokenAlg: 'RS256' },
};

let server;
before(async () => { server = await startServer({ users: USERS, clients: CLIENTS }); });
after(async () => { await server?.stop(); });

/** Every response openid-client received: {method, url, status, headers}. */
const seen = [];
async function recordingFetch(url, options) {
  const res = await fetch(url, options);
  seen.push({ method: options.method, url: String(url), status: res.status, headers: res.headers });
  return res;
}

/** openid-client's configuration for one of the registered clients. */
async function configFor(key, auth) {
  const c = server.clients[key];
  const metadata = { id_token_signed_response_alg: c.idTokenAlg ?? 'ES256' };
  if (c.clientSecret) metadata.client_secret = c.clientSecret;
  return client.discovery(new URL(server.base), c.clientId, metadata, auth(c), {
    // http://localhost in tests; and check the ID token's signature against the JWKS too.
    execute: [client.allowInsecureRequests, client.enableNonRepudiationChecks],
    [client.customFetch]: recordingFetch,
  });
}

/** Starts an authorization request and returns what the client must remember. */
async function authorize(config, key, extra = {}) {
  const codeVerifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: server.clients[key].redirectUris[0],
    scope: 'openid profile email',
    code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    ...extra,
  });
  return { url, codeVerifier, state, nonce };
}

const atRedirect = (key) => (loc) => loc.startsWith(server.clients[key].redirectUris[0]);

/** A full sign-in of `user` for client `key`: returns the tokens and the request's checks. */
async function signInAndExchange(config, key, user, browser = new Browser()) {
  const req = await authorize(config, key);
  const steps = [];
  const callback = await walk(browser, server, req.url.href, { until: atRedirect(key), user, steps });
  const tokens = await client.authorizationCodeGrant(config, new URL(callback), {
    pkceCodeVerifier: req.codeVerifier,
    expectedState: req.state,
    expectedNonce: req.nonce,
  });
  return { tokens, req, callback, steps, browser };
}

/** Asserts a promise fails with the given OAuth error code (from the server's JSON body). */
async function rejectsWith(promise, error, why) {
  await assert.rejects(promise, (e) => {
    const got = e.error ?? e.cause?.error ?? (e instanceof client.WWWAuthenticateChallengeError
      ? e.cause?.[0]?.parameters?.error : undefined);
    assert.equal(got, error, `${why}: expected OAuth error ${error}, got ${e.name}: ${e.message} (${JSON.stringify(e.cause ?? {})})`);
    return true;
  }, why);
}

test('discovery document describes a code-flow-only provider with PKCE S256 and RFC 9207 iss', async () => {
  const d = await discoveryDocument(server.base);
  assert.equal(d.issuer, server.base, 'issuer is public_url without a trailing slash');
  for (const [k, path] of Object.entries({
    authorization_endpoint: '/oauth2/authorize', token_endpoint: '/oauth2/token',
    userinfo_endpoint: '/oauth2/userinfo', jwks_uri: '/oauth2/jwks',
    end_session_endpoint: '/oauth2/logout', revocation_endpoint: '/oauth2/revoke',
  })) assert.equal(d[k], server.base + path, k);
  assert.deepEqual(d.response_types_supported, ['code']);
  assert.ok(d.code_challenge_methods_supported?.includes('S256'), 'S256 PKCE advertised');
  assert.ok(!d.code_challenge_methods_supported.includes('plain'), 'plain PKCE not advertised');
  assert.ok(d.id_token_signing_alg_values_supported?.includes('ES256'));
  assert.equal(d.authorization_response_iss_parameter_supported, true);
  for (const m of ['client_secret_basic', 'client_secret_post', 'none']) {
    assert.ok(d.token_endpoint_auth_methods_supported?.includes(m), `token endpoint auth ${m} advertised`);
  }
  assert.ok(d.scopes_supported?.includes('openid'));
  assert.ok(d.grant_types_supported?.includes('refresh_token'));
});

test('confidential first-party client (client_secret_basic): code + PKCE, ID token, userinfo, refresh rotation, logout', async () => {
  const config = await configFor('portal', (c) => client.ClientSecretBasic(c.clientSecret));
  const { tokens, req, callback, steps, browser } = await signInAndExchange(config, 'portal', 'anna');
  assert.deepEqual(steps, ['password', 'code'], 'first-party: password, SMS code, no consent page');
  const tokenResponses = () => seen.filter((r) => r.url === config.serverMetadata().token_endpoint);
  assert.equal(params(callback).iss, server.base, 'iss in the authorization response (RFC 9207)');
  assert.ok(browser.cookie('localhost', 'tweestap_session'), 'session cookie tweestap_session set');

  // ID token: signed with ES256 by a key in the JWKS (enableNonRepudiationChecks verified it).
  const header = jwtHeader(tokens.id_token);
  assert.equal(header.alg, 'ES256');
  assert.ok(header.kid, 'ID token header has a kid');
  const jwks = await (await fetch(config.serverMetadata().jwks_uri)).json();
  assert.ok(jwks.keys.some((k) => k.kid === header.kid), `kid ${header.kid} is published in the JWKS`);
  for (const k of jwks.keys) {
    for (const secret of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']) {
      assert.ok(!(secret in k), `JWKS key ${k.kid} must not contain the private parameter "${secret}"`);
    }
  }
  const claims = tokens.claims();
  assert.equal(claims.iss, server.base);
  assert.deepEqual([claims.aud].flat(), [server.clients.portal.clientId]);
  assert.equal(claims.nonce, req.nonce);
  assert.ok(claims.sub && claims.sub !== 'anna', `sub is an opaque identifier, not the username (got ${claims.sub})`);
  assert.ok(Array.isArray(claims.amr), 'amr present');
  for (const m of ['sms', 'mfa']) assert.ok(claims.amr.includes(m), `amr includes ${m} (got ${claims.amr})`);
  const now = Math.floor(Date.now() / 1000);
  assert.equal(typeof claims.auth_time, 'number');
  assert.ok(claims.auth_time <= now + 5 && claims.auth_time > now - 120, `auth_time is the sign-in just now (${claims.auth_time} vs ${now})`);
  assert.ok(claims.exp > now && claims.iat <= now + 5);
  assert.ok(tokens.access_token && tokens.refresh_token, 'access and refresh tokens issued');
  assert.equal(tokens.token_type.toLowerCase(), 'bearer');
  assert.ok(tokens.expiresIn() > 0);

  // Userinfo.
  const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
  assert.equal(info.sub, claims.sub);
  assert.equal(info.preferred_username, 'anna');
  assert.equal(info.name, 'Anna de Vries');
  assert.equal(info.email, 'anna@school.example');

  // Refresh rotation: each use returns a new refresh token; reusing an old one revokes the family.
  const rt1 = tokens.refresh_token;
  const second = await client.refreshTokenGrant(config, rt1);
  const rt2 = second.refresh_token;
  assert.ok(rt2, 'refresh returns a new refresh token');
  assert.notEqual(rt2, rt1, 'refresh token rotated');
  assert.ok(second.access_token && second.access_token !== tokens.access_token, 'new access token');
  const info2 = await client.fetchUserInfo(config, second.access_token, claims.sub);
  assert.equal(info2.sub, claims.sub, 'the refreshed access token works at userinfo');
  await rejectsWith(client.refreshTokenGrant(config, rt1), 'invalid_grant', 'reusing the rotated-out refresh token');
  await rejectsWith(client.refreshTokenGrant(config, rt2), 'invalid_grant', 'the newest refresh token after reuse (family revoked)');
  // Token responses must not be cached (RFC 6749 §5.1), errors included.
  assert.ok(tokenResponses().length >= 4, 'the token requests were seen');
  for (const r of tokenResponses()) {
    assert.match(r.headers.get('cache-control') ?? '', /no-store/, `Cache-Control of a ${r.status} token response`);
  }

  // The same code cannot be used twice (checked after the refresh tests: RFC 6749 §4.1.2 lets a
  // server revoke the tokens issued for a code that is replayed).
  await rejectsWith(client.authorizationCodeGrant(config, new URL(callback), {
    pkceCodeVerifier: req.codeVerifier, expectedState: req.state, expectedNonce: req.nonce,
  }), 'invalid_grant', 'a second exchange of the same code');

  // Still signed in at tweestap: prompt=none gives a code without any page.
  const silent = await authorize(config, 'portal', { prompt: 'none' });
  const silentSteps = [];
  const silentCb = await walk(browser, server, silent.url.href, { until: atRedirect('portal'), steps: silentSteps });
  assert.deepEqual(silentSteps, [], 'prompt=none while signed in needs no page');
  const silentTokens = await client.authorizationCodeGrant(config, new URL(silentCb), {
    pkceCodeVerifier: silent.codeVerifier, expectedState: silent.state, expectedNonce: silent.nonce,
  });
  assert.equal(silentTokens.claims().sub, claims.sub);

  // An unregistered post_logout_redirect_uri is never redirected to (RP-Initiated Logout §3).
  const foreign = client.buildEndSessionUrl(config, {
    id_token_hint: silentTokens.id_token, post_logout_redirect_uri: 'https://evil.example/after', state: 's',
  });
  const refused = await browser.get(foreign.href);
  assert.ok(!(refused.location ?? '').startsWith('https://evil.example'), `logout redirected to an unregistered URI: ${refused.location}`);
  assert.ok(refused.status >= 400, `logout with an unregistered post_logout_redirect_uri: ${refused.status}`);

  // RP-initiated logout back to the registered post-logout URI, with state.
  const logoutState = client.randomState();
  const endSession = client.buildEndSessionUrl(config, {
    id_token_hint: silentTokens.id_token,
    post_logout_redirect_uri: CLIENTS.portal.postLogoutUris[0],
    state: logoutState,
  });
  assert.equal(endSession.origin + endSession.pathname, server.base + '/oauth2/logout');
  const back = await walk(browser, server, endSession.href, { until: (l) => l.startsWith(CLIENTS.portal.postLogoutUris[0]) });
  assert.equal(params(back).state, logoutState, 'logout returns the state');

  // The session is gone: prompt=none now answers login_required at the redirect URI.
  const after = await authorize(config, 'portal', { prompt: 'none' });
  const afterCb = await walk(browser, server, after.url.href, { until: atRedirect('portal') });
  assert.equal(params(afterCb).error, 'login_required', `after logout: ${afterCb}`);
  await rejectsWith(client.authorizationCodeGrant(config, new URL(afterCb), {
    pkceCodeVerifier: after.codeVerifier, expectedState: after.state, expectedNonce: after.nonce,
  }), 'login_required', 'openid-client reads the error response (state and iss checked)');
});

test('public client (PKCE, no secret, not first-party): consent deny → access_denied, then allow', async () => {
  const config = await configFor('spa', () => client.None());
  const browser = new Browser();

  // Without PKCE a public client's request is refused (RFC 7636 §4.4.1: invalid_request).
  const noPkce = client.buildAuthorizationUrl(config, {
    redirect_uri: CLIENTS.spa.redirectUris[0], scope: 'openid', state: 'no-pkce', nonce: 'n',
  });
  const noPkceCb = await walk(browser, server, noPkce.href, { until: atRedirect('spa') });
  assert.equal(params(noPkceCb).error, 'invalid_request', `public client without PKCE: ${noPkceCb}`);
  assert.equal(params(noPkceCb).state, 'no-pkce');

  // Deny on the consent page.
  const denied = await authorize(config, 'spa');
  const deniedSteps = [];
  const deniedCb = await walk(browser, server, denied.url.href, { until: atRedirect('spa'), user: 'bram', consent: 'deny', steps: deniedSteps });
  assert.deepEqual(deniedSteps, ['password', 'code', 'consent:deny']);
  assert.equal(params(deniedCb).error, 'access_denied', deniedCb);
  await rejectsWith(client.authorizationCodeGrant(config, new URL(deniedCb), {
    pkceCodeVerifier: denied.codeVerifier, expectedState: denied.state, expectedNonce: denied.nonce,
  }), 'access_denied', 'openid-client reads the denial');

  // Allow: still signed in, so only the consent page.
  const req = await authorize(config, 'spa');
  const steps = [];
  const cb = await walk(browser, server, req.url.href, { until: atRedirect('spa'), user: 'bram', consent: 'allow', steps });
  assert.deepEqual(steps, ['consent:allow'], 'signed in already: consent page only');

  const tokens = await client.authorizationCodeGrant(config, new URL(cb), {
    pkceCodeVerifier: req.codeVerifier, expectedState: req.state, expectedNonce: req.nonce,
  });
  const claims = tokens.claims();
  assert.deepEqual([claims.aud].flat(), [server.clients.spa.clientId]);
  assert.equal(claims.nonce, req.nonce);
  assert.ok(tokens.refresh_token, 'public client gets a refresh token too');
  const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
  assert.equal(info.preferred_username, 'bram');
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
  assert.notEqual(refreshed.refresh_token, tokens.refresh_token, 'public client refresh token rotated');
});

test('public client: a code exchanged with the wrong PKCE verifier is refused', async () => {
  const config = await configFor('spa', () => client.None());
  const browser = new Browser();
  const req = await authorize(config, 'spa');
  const cb = await walk(browser, server, req.url.href, { until: atRedirect('spa'), user: 'daan', consent: 'allow' });
  await rejectsWith(client.authorizationCodeGrant(config, new URL(cb), {
    pkceCodeVerifier: client.randomPKCECodeVerifier(), expectedState: req.state, expectedNonce: req.nonce,
  }), 'invalid_grant', 'wrong code_verifier');
});

test('confidential client with client_secret_post', async () => {
  const config = await configFor('poster', (c) => client.ClientSecretPost(c.clientSecret));
  const { tokens, req, steps } = await signInAndExchange(config, 'poster', 'cato');
  assert.deepEqual(steps, ['password', 'code']);
  const claims = tokens.claims();
  assert.deepEqual([claims.aud].flat(), [server.clients.poster.clientId]);
  assert.equal(claims.nonce, req.nonce);
  const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
  assert.equal(info.preferred_username, 'cato');

  // The wrong secret is refused with invalid_client.
  const wrong = await client.discovery(new URL(server.base), server.clients.poster.clientId, 'not-the-secret',
    client.ClientSecretPost('not-the-secret'), { execute: [client.allowInsecureRequests] });
  await rejectsWith(client.refreshTokenGrant(wrong, tokens.refresh_token), 'invalid_client', 'refresh with a wrong client secret');
});

test('token revocation (RFC 7009): a revoked refresh token no longer refreshes', async () => {
  const config = await configFor('portal', (c) => client.ClientSecretBasic(c.clientSecret));
  const { tokens } = await signInAndExchange(config, 'portal', 'eefje');
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
  await client.tokenRevocation(config, refreshed.refresh_token, { token_type_hint: 'refresh_token' });
  await rejectsWith(client.refreshTokenGrant(config, refreshed.refresh_token), 'invalid_grant', 'refresh after revocation');
  // Unknown tokens are answered with 200 too (RFC 7009 §2.2).
  await client.tokenRevocation(config, 'no-such-token-' + client.randomState());
});

test('a client registered with --id-token-alg RS256 gets RS256 ID tokens that verify against the JWKS', async () => {
  const config = await configFor('legacy', (c) => client.ClientSecretBasic(c.clientSecret));
  const { tokens, req } = await signInAndExchange(config, 'legacy', 'femke');
  const header = jwtHeader(tokens.id_token);
  assert.equal(header.alg, 'RS256');
  const jwks = await (await fetch(config.serverMetadata().jwks_uri)).json();
  assert.equal(jwks.keys.find((k) => k.kid === header.kid)?.kty, 'RSA', `kid ${header.kid} is an RSA key in the JWKS`);
  assert.equal(tokens.claims().nonce, req.nonce);
  const info = await client.fetchUserInfo(config, tokens.access_token, tokens.claims().sub);
  assert.equal(info.preferred_username, 'femke');
  assert.equal(info.email, undefined, 'no email claim for a user without an email address');
});
