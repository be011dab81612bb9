"""An independent OpenID Connect client in Python, Authlib, against a real tweestap.

Discovery, the authorization code flow with PKCE S256, the ID token checked with Authlib's
JOSE (signature against the JWKS, iss, aud, exp, nonce), userinfo, refresh-token rotation and
reuse detection, revocation and RP-initiated logout. The sign-in pages are walked with
requests: password, then the SMS code from the outbox gateway's file.

Run: python3 -m unittest tests/interop/test_authlib.py  (TEST_TWEESTAP_BIN: the binary)
"""

import html
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
import unittest
import warnings
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import requests
from authlib.deprecate import AuthlibDeprecationWarning

with warnings.catch_warnings():
    # Authlib 1.7+ points to joserfc for new code; authlib.jose stays supported until 2.0.
    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    from authlib.common.security import generate_token
    from authlib.integrations.base_client import OAuthError
    from authlib.integrations.requests_client import OAuth2Session
    from authlib.jose import JsonWebKey, JsonWebToken
    from authlib.jose.errors import BadSignatureError
    from authlib.oidc.core import CodeIDToken

REPO = Path(__file__).resolve().parents[2]
APP = "https://app.school.example"
USERS = {
    "eva": dict(name="Eva Smit", password="eva-correct-horse-5", phone="+31612345691", email="eva@school.example"),
    "finn": dict(name="Finn de Boer", password="finn-correct-horse-6", phone="+31612345692", email="finn@school.example"),
    "gijs": dict(name="Gijs Mulder", password="gijs-correct-horse-7", phone="+31612345693", email="gijs@school.example"),
}
CLIENTS = {
    "portal": dict(redirect=f"{APP}/portal/callback", post_logout=f"{APP}/portal/signed-out", first_party=True),
    "spa": dict(redirect=f"{APP}/spa/callback", public=True),
}


def binary():
    candidates = [
        os.environ.get("TEST_TWEESTAP_BIN"),
        os.environ.get("CARGO_TARGET_DIR") and os.path.join(os.environ["CARGO_TARGET_DIR"], "debug/tweestap"),
        os.path.expanduser("~/.cache/tweestap-target/debug/tweestap"),
        str(REPO / "target/debug/tweestap"),
    ]
    for c in candidates:
        if c and os.path.exists(c):
            return c
    raise RuntimeError(f"tweestap binary not found (tried {candidates}); run cargo build first")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`tweestap serve` with its own config, users and clients added through the CLI."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="tweestap-authlib-")
        self.proc = None
        self.log = None
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self):
        self.port = free_port()
        self.base = f"http://localhost:{self.port}"
        self.config = os.path.join(self.dir, "tweestap.toml")
        self.outbox = os.path.join(self.dir, "outbox.jsonl")
        with open(self.config, "w") as f:
            f.write(
                f'listen = "127.0.0.1:{self.port}"\n'
                f'public_url = "{self.base}"\n'
                f'data_dir = "{self.dir}"\n'
                'organisation = "Testschool"\n'
                "[[sms.gateways]]\n"
                'kind = "outbox"\n'
                f'path = "{self.outbox}"\n'
            )
        for username, u in USERS.items():
            self.cli(["user", "add", username, "--display-name", u["name"], "--password-stdin",
                      "--phone", u["phone"], "--email", u["email"]], u["password"] + "\n")
        self.clients = {}
        for key, c in CLIENTS.items():
            args = ["client", "add", key, "--json", "--redirect-uri", c["redirect"]]
            if c.get("post_logout"):
                args += ["--post-logout-uri", c["post_logout"]]
            if c.get("public"):
                args.append("--public")
            if c.get("first_party"):
                args.append("--first-party")
            out = json.loads(self.cli(args))
            self.clients[key] = dict(c, client_id=out["client_id"], client_secret=out.get("client_secret"))
        self.log = open(os.path.join(self.dir, "serve.log"), "w+")
        self.proc = subprocess.Popen([binary(), "serve", "--config", self.config],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 15
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"tweestap serve exited with {self.proc.returncode}:\n{self.read_log()}")
            try:
                if requests.get(self.base + "/healthz", timeout=1).ok:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("tweestap did not become healthy")
            time.sleep(0.05)

    def cli(self, args, stdin=None):
        r = subprocess.run([binary(), "--config", self.config, *args], input=stdin, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"tweestap {' '.join(args)} exited {r.returncode}: {r.stderr}{r.stdout}")
        return r.stdout

    def read_log(self):
        self.log.seek(0)
        return self.log.read()

    def sms(self, phone):
        if not os.path.exists(self.outbox):
            return []
        digits = re.sub(r"\D", "", phone)
        with open(self.outbox) as f:
            msgs = [json.loads(line) for line in f if line.strip()]
        return [m for m in msgs if re.sub(r"\D", "", m.get("to", "")) == digits]

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.log:
            self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class _Forms(HTMLParser):
    """The POST forms of a page: action, inputs (name → value), buttons."""

    def __init__(self):
        super().__init__()
        self.forms, self.current = [], None

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "form" and a.get("method", "get").lower() == "post":
            self.current = dict(action=a.get("action", ""), inputs={}, buttons=[])
            self.forms.append(self.current)
        elif tag == "input" and self.current is not None and a.get("name"):
            if a.get("type", "text").lower() == "checkbox" and "checked" not in a:
                return
            self.current["inputs"][a["name"]] = a.get("value", "")
        elif tag == "button" and self.current is not None:
            self.current["buttons"].append(a)

    def handle_endtag(self, tag):
        if tag == "form":
            self.current = None


def code_in(text):
    m = re.search(r"#(\d{6})\s*$", text)
    if not m:
        raise AssertionError(f"no code in {text!r}")
    return m.group(1)


def summary(resp):
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", re.sub(r"(?s)<(script|style).*?</\1>", "", resp.text)))
    return f"{resp.status_code} at {resp.url}: {html.unescape(text).strip()[:400]}"


def walk(browser, server, url, until, user=None, consent="allow", steps=None):
    """Follows redirects and fills tweestap's forms until a Location for which until() holds."""
    steps = steps if steps is not None else []
    u = USERS.get(user)
    sms_before = 0
    resp = browser.get(url, allow_redirects=False)
    for _ in range(25):
        if resp.is_redirect or resp.status_code in (301, 302, 303, 307, 308):
            loc = urljoin(resp.url, resp.headers["Location"])
            if until(loc):
                return loc
            resp = browser.get(loc, allow_redirects=False)
            continue
        if resp.status_code != 200:
            raise AssertionError(f"unexpected page: {summary(resp)}")
        parser = _Forms()
        parser.feed(resp.text)
        forms = {urlsplit(urljoin(resp.url, f["action"])).path: f for f in reversed(parser.forms)}
        if "/sign-in" in forms and "password" in forms["/sign-in"]["inputs"]:
            if not u:
                raise AssertionError(f"sign-in form but no user given: {summary(resp)}")
            steps.append("password")
            sms_before = len(server.sms(u["phone"]))
            f = forms["/sign-in"]
            resp = browser.post(urljoin(resp.url, f["action"]),
                                data={**f["inputs"], "username": user, "password": u["password"]}, allow_redirects=False)
        elif "/sign-in/code" in forms:
            if not u:
                raise AssertionError(f"code form but no user given: {summary(resp)}")
            steps.append("code")
            for _ in range(100):  # the gateway writes the outbox asynchronously
                msgs = server.sms(u["phone"])
                if len(msgs) > sms_before:
                    break
                time.sleep(0.05)
            else:
                raise AssertionError(f"no text message to {u['phone']} arrived")
            sms_before = len(msgs)
            f = forms["/sign-in/code"]
            resp = browser.post(urljoin(resp.url, f["action"]),
                                data={**f["inputs"], "code": code_in(msgs[-1]["text"])}, allow_redirects=False)
        elif "/oauth2/consent" in forms:
            steps.append(f"consent:{consent}")
            f = forms["/oauth2/consent"]
            values = [b.get("value") for b in f["buttons"] if b.get("name") == "decision"]
            if consent not in values:
                raise AssertionError(f"consent page has no decision={consent} button: {f['buttons']}")
            resp = browser.post(urljoin(resp.url, f["action"]), data={**f["inputs"], "decision": consent},
                                allow_redirects=False)
        elif any("logout" in p or "sign-out" in p for p in forms):
            steps.append("logout-confirm")
            path = next(p for p in forms if "logout" in p or "sign-out" in p)
            f = forms[path]
            extra = {b["name"]: b.get("value", "") for b in f["buttons"][:1] if b.get("name")}
            resp = browser.post(urljoin(resp.url, f["action"]), data={**f["inputs"], **extra}, allow_redirects=False)
        else:
            raise AssertionError(f"no form to fill on {summary(resp)}")
    raise AssertionError("too many redirects/pages")


def query(url):
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


class AuthlibInterop(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server()
        r = requests.get(cls.server.base + "/.well-known/openid-configuration", timeout=5)
        if r.status_code != 200:
            cls.server.stop()
            raise AssertionError(f"discovery: {r.status_code} (is the OIDC provider built into this binary?)")
        cls.meta = r.json()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def session(self, key, **kw):
        c = self.server.clients[key]
        return OAuth2Session(
            c["client_id"], c["client_secret"], scope="openid profile email", redirect_uri=c["redirect"],
            code_challenge_method="S256",
            token_endpoint_auth_method="none" if c.get("public") else "client_secret_basic",
            revocation_endpoint_auth_method="none" if c.get("public") else "client_secret_basic",
            **kw,
        )

    def authorize(self, oauth, browser, key, user=None, consent="allow", steps=None, **extra):
        verifier = generate_token(64)
        nonce = generate_token(24)
        url, state = oauth.create_authorization_url(self.meta["authorization_endpoint"], code_verifier=verifier,
                                                    nonce=nonce, **extra)
        redirect = self.server.clients[key]["redirect"]
        callback = walk(browser, self.server, url, lambda loc: loc.startswith(redirect), user=user, consent=consent,
                        steps=steps)
        return callback, state, verifier, nonce

    def validate_id_token(self, id_token, key, nonce):
        jwks = requests.get(self.meta["jwks_uri"], timeout=5).json()
        keys = JsonWebKey.import_key_set(jwks)
        client_id = self.server.clients[key]["client_id"]
        jwt = JsonWebToken(["ES256"])
        claims = jwt.decode(
            id_token, keys, claims_cls=CodeIDToken,
            claims_options={"iss": {"essential": True, "value": self.meta["issuer"]},
                            "aud": {"essential": True, "value": client_id},
                            "sub": {"essential": True}, "exp": {"essential": True}},
            claims_params={"nonce": nonce, "client_id": client_id},
        )
        claims.validate(leeway=5)
        # A token whose signature was tampered with must not verify against the same keys.
        head, body, sig = id_token.split(".")
        bad_sig = ("A" if sig[0] != "A" else "B") + sig[1:]
        with self.assertRaises(BadSignatureError):
            jwt.decode(f"{head}.{body}.{bad_sig}", keys)
        return claims

    def test_discovery(self):
        self.assertEqual(self.meta["issuer"], self.server.base)
        self.assertEqual(self.meta["response_types_supported"], ["code"])
        self.assertIn("S256", self.meta["code_challenge_methods_supported"])
        self.assertIn("ES256", self.meta["id_token_signing_alg_values_supported"])
        self.assertTrue(self.meta.get("authorization_response_iss_parameter_supported"))
        for k in ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri",
                  "end_session_endpoint", "revocation_endpoint"):
            self.assertTrue(self.meta[k].startswith(self.server.base + "/"), k)

    def test_confidential_client_full_flow(self):
        oauth = self.session("portal")
        browser = requests.Session()
        steps = []
        callback, state, verifier, nonce = self.authorize(oauth, browser, "portal", user="eva", steps=steps)
        self.assertEqual(steps, ["password", "code"], "first-party: no consent page")
        self.assertEqual(query(callback).get("iss"), self.server.base, "iss in the authorization response (RFC 9207)")
        self.assertEqual(query(callback).get("state"), state)

        token = oauth.fetch_token(self.meta["token_endpoint"], authorization_response=callback, state=state,
                                  code_verifier=verifier)
        self.assertEqual(token["token_type"].lower(), "bearer")
        for k in ("access_token", "refresh_token", "id_token"):
            self.assertTrue(token.get(k), f"{k} in the token response")

        claims = self.validate_id_token(token["id_token"], "portal", nonce)
        self.assertEqual(claims["nonce"], nonce)
        self.assertNotEqual(claims["sub"], "eva", "sub is opaque, not the username")
        self.assertIn("mfa", claims["amr"])
        self.assertIn("sms", claims["amr"])
        self.assertAlmostEqual(claims["auth_time"], time.time(), delta=120)

        info = oauth.get(self.meta["userinfo_endpoint"], timeout=5)
        self.assertEqual(info.status_code, 200, info.text)
        info = info.json()
        self.assertEqual(info["sub"], claims["sub"])
        self.assertEqual(info["preferred_username"], "eva")
        self.assertEqual(info["name"], "Eva Smit")
        self.assertEqual(info["email"], "eva@school.example")

        # Without a token, or with a made-up one, userinfo refuses (RFC 6750).
        self.assertEqual(requests.get(self.meta["userinfo_endpoint"], timeout=5).status_code, 401)
        self.assertEqual(requests.get(self.meta["userinfo_endpoint"], headers={"Authorization": "Bearer nope"},
                                      timeout=5).status_code, 401)

        # Refresh rotation and reuse detection.
        rt1 = token["refresh_token"]
        second = oauth.refresh_token(self.meta["token_endpoint"], refresh_token=rt1)
        rt2 = second["refresh_token"]
        self.assertNotEqual(rt2, rt1, "refresh token rotated")
        self.assertNotEqual(second["access_token"], token["access_token"])
        if second.get("id_token"):
            again = self.validate_id_token(second["id_token"], "portal", None)
            self.assertEqual(again["sub"], claims["sub"])
        with self.assertRaises(OAuthError, msg="reusing the rotated-out refresh token must fail") as reuse:
            oauth.refresh_token(self.meta["token_endpoint"], refresh_token=rt1)
        self.assertEqual(reuse.exception.error, "invalid_grant")
        with self.assertRaises(OAuthError, msg="after a reuse the newest refresh token must fail too (family revoked)") as family:
            oauth.refresh_token(self.meta["token_endpoint"], refresh_token=rt2)
        self.assertEqual(family.exception.error, "invalid_grant", "reuse revokes the newest token too")

        # RP-initiated logout.
        post_logout = self.server.clients["portal"]["post_logout"]
        logout_state = secrets.token_urlsafe(12)
        url = self.meta["end_session_endpoint"] + "?" + urlencode(dict(
            id_token_hint=token["id_token"], post_logout_redirect_uri=post_logout, state=logout_state))
        back = walk(browser, self.server, url, lambda loc: loc.startswith(post_logout))
        self.assertEqual(query(back).get("state"), logout_state)

        callback, state, _, _ = self.authorize(oauth, browser, "portal", prompt="none")
        self.assertEqual(query(callback).get("error"), "login_required", callback)
        self.assertEqual(query(callback).get("state"), state)
        self.assertEqual(query(callback).get("iss"), self.server.base, "iss in error responses too (RFC 9207 §2)")

    def test_public_client_with_consent_and_revocation(self):
        oauth = self.session("spa")
        browser = requests.Session()
        steps = []
        callback, state, verifier, nonce = self.authorize(oauth, browser, "spa", user="finn", steps=steps)
        self.assertEqual(steps, ["password", "code", "consent:allow"])
        token = oauth.fetch_token(self.meta["token_endpoint"], authorization_response=callback, state=state,
                                  code_verifier=verifier)
        claims = self.validate_id_token(token["id_token"], "spa", nonce)
        self.assertEqual(oauth.get(self.meta["userinfo_endpoint"], timeout=5).json()["preferred_username"], "finn")

        r = oauth.revoke_token(self.meta["revocation_endpoint"], token=token["refresh_token"],
                               token_type_hint="refresh_token")
        self.assertEqual(r.status_code, 200, r.text)
        with self.assertRaises(OAuthError, msg="a revoked refresh token must not refresh") as revoked:
            oauth.refresh_token(self.meta["token_endpoint"], refresh_token=token["refresh_token"])
        self.assertEqual(revoked.exception.error, "invalid_grant")
        self.assertTrue(claims["sub"])

    def test_code_exchange_needs_redirect_uri_and_verifier(self):
        oauth = self.session("portal")
        browser = requests.Session()
        callback, state, _, _ = self.authorize(oauth, browser, "portal", user="gijs")
        # The code is bound to the redirect_uri it was issued for (RFC 6749 §4.1.3).
        with self.assertRaises(OAuthError, msg="a code exchanged with another redirect_uri must fail") as err:
            oauth.fetch_token(self.meta["token_endpoint"], authorization_response=callback, state=state,
                              redirect_uri=APP + "/elsewhere")
        self.assertEqual(err.exception.error, "invalid_grant")
        with self.assertRaises(OAuthError, msg="a PKCE code exchanged without code_verifier must fail") as err:
            oauth.fetch_token(self.meta["token_endpoint"], authorization_response=callback, state=state)
        # RFC 7636 §4.6 names invalid_grant for a mismatch; a missing verifier may be invalid_request.
        self.assertIn(err.exception.error, ("invalid_grant", "invalid_request"), "a PKCE code without code_verifier")


if __name__ == "__main__":
    unittest.main()
