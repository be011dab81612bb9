"""Self-test of fake_entra.py: python3 -m unittest tests/entra/test_fake_entra.py (from the repository root).

Starts the fake as a subprocess against a tiny in-test OpenID provider (discovery + JWKS with x5c), checks the
hints it mints, and checks that its response validation accepts a good id_token and rejects bad ones.
"""
from __future__ import annotations

import base64
import datetime
import hashlib
import json
import os
import subprocess
import sys
import threading
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

FAKE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fake_entra.py")
APP_ID = "11111111-2222-3333-4444-555555555555"
CLIENT_ID = "entra-client"
TID = "72f988bf-86f1-41af-91ab-2d7cd011db47"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_int(value: int) -> str:
    return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


def unb64url_int(text: str) -> int:
    return int.from_bytes(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)), "big")


def new_key_and_jwk(kid: str) -> tuple[rsa.RSAPrivateKey, dict]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test provider")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
    der = cert.public_bytes(Encoding.DER)
    numbers = key.public_key().public_numbers()
    return key, {"kty": "RSA", "use": "sig", "kid": kid, "alg": "RS256", "n": b64url_int(numbers.n),
                 "e": b64url_int(numbers.e), "x5c": [base64.b64encode(der).decode()],
                 "x5t": b64url(hashlib.sha1(der).digest())}


class Provider:
    """A minimal provider: discovery and JWKS only; `mode` breaks one thing for the rejection tests."""

    def __init__(self):
        self.key, self.jwk = new_key_and_jwk("provider-key-1")
        self.mode = "good"
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                body = provider.body(self.path)
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", "application/json")
                if provider.mode != "no_length":
                    self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.issuer = f"{self.base}/p"
        self.discovery = f"{self.issuer}/.well-known/openid-configuration"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def body(self, path: str) -> bytes | None:
        if path == "/p/.well-known/openid-configuration":
            doc = {"issuer": self.issuer + ("/" if self.mode == "issuer_slash" else ""),
                   "authorization_endpoint": f"{self.issuer}/authorize", "jwks_uri": f"{self.issuer}/jwks",
                   "scopes_supported": ["openid"], "response_types_supported": ["id_token"],
                   "response_modes_supported": ["form_post"], "subject_types_supported": ["pairwise"],
                   "id_token_signing_alg_values_supported": ["RS256"], "claim_types_supported": ["normal"]}
            return json.dumps(doc).encode()
        if path == "/p/jwks":
            jwk = dict(self.jwk)
            if self.mode == "bad_x5c":  # certificate of another key
                jwk["x5c"] = new_key_and_jwk("x")[1]["x5c"]
            return json.dumps({"keys": [jwk]}).encode()
        return None

    def id_token(self, request: dict, key=None, kid=None, alg="RS256", **changes) -> str:
        """A good answer to `request` (a /_request result), with `changes` applied (None removes a claim)."""
        hint = jwt.decode(request["fields"]["id_token_hint"], options={"verify_signature": False})
        now = int(time.time())
        claims = {"iss": self.issuer, "aud": request["fields"]["client_id"], "sub": hint["sub"],
                  "nonce": request["fields"].get("nonce"), "iat": now, "exp": now + 300,
                  "acr": "possessionorinherence", "amr": ["sms"]}
        claims.update(changes)
        claims = {k: v for k, v in claims.items() if v is not None}
        signing_key = key or (self.key if alg == "RS256" else "a-shared-secret-of-32-bytes-long!")
        return jwt.encode(claims, signing_key, algorithm=alg, headers={"kid": kid or self.jwk["kid"]})


class FakeEntraTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.provider = Provider()
        cls.proc = subprocess.Popen(
            [sys.executable, FAKE, "--provider-discovery", cls.provider.discovery, "--app-id", APP_ID],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        cls.started = json.loads(cls.proc.stdout.readline())
        cls.base = cls.started["base"]
        # The fake names itself "localhost"; talk to it on the address it bound so IPv6 localhost cannot interfere.
        cls.local = f"http://127.0.0.1:{cls.started['port']}"

    @classmethod
    def tearDownClass(cls):
        cls.proc.terminate()
        cls.stderr = cls.proc.communicate(timeout=10)[1]
        cls.provider.server.shutdown()
        assert cls.proc.returncode == 0, cls.stderr

    def setUp(self):
        self.provider.mode = "good"

    # -- helpers --

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.local + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read())

    def request(self, **options) -> dict:
        options = {"provider_authorize": f"{self.provider.issuer}/authorize", "client_id": CLIENT_ID,
                   "tid": TID, **options}
        status, result = self.call("POST", "/_request", options)
        self.assertEqual(status, 200, result)
        return result

    def respond(self, fields: dict) -> str:
        """POST a form to the fake's redirect_uri as the provider's auto-submitting page would."""
        req = urllib.request.Request(self.local + "/common/federation/externalauthprovider",
                                     data=urllib.parse.urlencode(fields).encode(), method="POST",
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        with urllib.request.urlopen(req) as resp:
            return resp.read().decode()

    def outcome(self, state: str) -> dict:
        return self.call("GET", "/_outcome?" + urllib.parse.urlencode({"state": state}))[1]

    def fake_jwks(self) -> dict:
        return self.call("GET", f"/{TID}/discovery/v2.0/keys")[1]

    # -- hints --

    def test_hint_is_entra_shaped_and_verifies_against_the_served_jwks(self):
        before = self.call("GET", f"/_fetches?tid={TID}")[1]["count"]
        req = self.request(oid="00000000-0000-0000-0000-0000000000aa", sub="pairwise-sub")
        self.assertEqual(list(req["fields"]), ["scope", "response_type", "response_mode", "client_id",
                                               "redirect_uri", "nonce", "state", "id_token_hint", "claims",
                                               "client-request-id"])
        self.assertEqual(req["fields"]["redirect_uri"], f"{self.base}/common/federation/externalauthprovider")
        self.assertEqual(json.loads(req["fields"]["claims"])["id_token"]["amr"]["values"],
                         ["face", "fido", "fpt", "hwk", "iris", "otp", "pop", "retina", "sc", "sms", "swk",
                          "tel", "vbm"])
        token = req["fields"]["id_token_hint"]
        header = jwt.get_unverified_header(token)
        self.assertEqual((header["alg"], header["typ"]), ("RS256", "JWT"))

        keys = {k["kid"]: k for k in self.fake_jwks()["keys"]}
        self.assertEqual(self.call("GET", f"/_fetches?tid={TID}")[1]["count"], before + 1)
        jwk = keys[header["kid"]]
        der = base64.b64decode(jwk["x5c"][0])
        cert_numbers = x509.load_der_x509_certificate(der).public_key().public_numbers()
        self.assertEqual((cert_numbers.n, cert_numbers.e), (unb64url_int(jwk["n"]), unb64url_int(jwk["e"])))
        self.assertEqual(jwk["x5t"], b64url(hashlib.sha1(der).digest()))
        self.assertEqual((jwk["kty"], jwk["use"]), ("RSA", "sig"))

        public = jwt.PyJWK(jwk, algorithm="RS256").key
        with self.assertRaises(jwt.ExpiredSignatureError):  # issued already expired, like Microsoft's
            jwt.decode(token, public, algorithms=["RS256"], audience=APP_ID)
        claims = jwt.decode(token, public, algorithms=["RS256"], audience=APP_ID, options={"verify_exp": False})
        self.assertEqual(claims["iss"], f"{self.base}/{TID}/v2.0")
        self.assertEqual(claims["exp"], claims["iat"] - 1)
        self.assertEqual(claims["nbf"], claims["iat"])
        self.assertLessEqual(abs(claims["iat"] - time.time()), 5)
        self.assertEqual((claims["tid"], claims["oid"], claims["sub"], claims["ver"]),
                         (TID, "00000000-0000-0000-0000-0000000000aa", "pairwise-sub", "2.0"))
        for claim in ("preferred_username", "name", "uti"):
            self.assertIn(claim, claims)

    def test_hint_options(self):
        req = self.request(iat_offset=-600, omit=["oid", "name"], aud="other-app", iss="https://evil/v2.0",
                           nonce=None)
        claims = jwt.decode(req["fields"]["id_token_hint"], options={"verify_signature": False})
        self.assertNotIn("oid", claims)
        self.assertNotIn("name", claims)
        self.assertEqual((claims["aud"], claims["iss"]), ("other-app", "https://evil/v2.0"))
        self.assertLess(claims["iat"], time.time() - 590)
        self.assertNotIn("nonce", req["fields"])
        raw = self.request(claims_raw="not json")
        self.assertEqual(raw["fields"]["claims"], "not json")
        status, error = self.call("POST", "/_request", {"client_id": "x", "tid": TID})
        self.assertEqual(status, 400, error)

    def test_rotation_forgery_and_unpublished_kids(self):
        old = self.request()
        rotated = self.call("POST", "/_rotate", {"publish": True})[1]["kid"]
        kids = {k["kid"]: k for k in self.fake_jwks()["keys"]}
        self.assertIn(rotated, kids)
        self.assertIn(jwt.get_unverified_header(old["fields"]["id_token_hint"])["kid"], kids)  # old key stays
        new = self.request()
        self.assertEqual(jwt.get_unverified_header(new["fields"]["id_token_hint"])["kid"], rotated)
        old_kid = jwt.get_unverified_header(old["fields"]["id_token_hint"])["kid"]
        pinned = self.request(kid=old_kid)
        self.assertEqual(jwt.get_unverified_header(pinned["fields"]["id_token_hint"])["kid"], old_kid)

        forged = self.request(forge=True)["fields"]["id_token_hint"]
        jwk = kids[jwt.get_unverified_header(forged)["kid"]]
        with self.assertRaises(jwt.InvalidSignatureError):
            jwt.decode(forged, jwt.PyJWK(jwk, algorithm="RS256").key, algorithms=["RS256"],
                       options={"verify_exp": False, "verify_aud": False})
        unpublished = self.request(unpublished_kid=True)["fields"]["id_token_hint"]
        self.assertNotIn(jwt.get_unverified_header(unpublished)["kid"], kids)
        hidden = self.call("POST", "/_rotate", {"publish": False})[1]["kid"]
        self.assertNotIn(hidden, {k["kid"] for k in self.fake_jwks()["keys"]})

    def test_start_page_posts_the_form_to_the_provider(self):
        with urllib.request.urlopen(self.local + "/_start?" + urllib.parse.urlencode(
                {"provider_authorize": "http://127.0.0.1:9/authorize", "client_id": CLIENT_ID, "tid": TID,
                 "amr_values": "sms,otp", "state": "start-state"})) as resp:
            self.assertEqual(resp.headers["Content-Type"], "text/html; charset=utf-8")
            page = resp.read().decode()
        self.assertIn('<form method="post" action="http://127.0.0.1:9/authorize">', page)
        self.assertIn('name="id_token_hint"', page)
        self.assertIn('name="state" value="start-state"', page)
        self.assertIn('id="go"', page)
        self.assertIn("submit()", page)
        self.assertEqual(self.outcome("start-state"), {"outcome": "pending"})

    # -- responses --

    def test_accepts_a_good_id_token_once(self):
        req = self.request()
        page = self.respond({"id_token": self.provider.id_token(req), "state": req["state"]})
        self.assertIn('<h1 id="outcome">accepted</h1>', page)
        outcome = self.outcome(req["state"])
        self.assertEqual(outcome["outcome"], "accepted", outcome)
        self.assertEqual(outcome["claims"]["amr"], ["sms"])
        page = self.respond({"id_token": self.provider.id_token(req), "state": req["state"]})
        self.assertIn('<h1 id="outcome">rejected</h1>', page)
        self.assertIn("state already answered", page)

    def test_error_and_unknown_state(self):
        req = self.request()
        page = self.respond({"error": "access_denied", "error_description": "user said no", "state": req["state"]})
        self.assertIn('<h1 id="outcome">error</h1>', page)
        self.assertEqual(self.outcome(req["state"]),
                         {"outcome": "error", "error": "access_denied", "error_description": "user said no"})
        self.assertIn("unknown state", self.respond({"id_token": "x", "state": "never-issued"}))
        self.assertIn("unknown state", self.respond({"id_token": "x"}))
        self.assertEqual(self.outcome("never-issued"), {"outcome": "unknown"})

    def test_rejects_bad_id_tokens_naming_the_check(self):
        other_key, _ = new_key_and_jwk("provider-key-1")
        cases = [
            ("header", {"alg": "HS256"}, {}),
            ("header", {"kid": "not-published"}, {}),
            ("signature", {"key": other_key}, {}),
            ("iss", {"iss": self.provider.issuer + "/"}, {}),
            ("aud", {"aud": "someone-else"}, {}),
            ("aud", {"aud": [CLIENT_ID]}, {}),
            ("sub", {"sub": "another-user"}, {}),
            ("nonce", {"nonce": "wrong"}, {}),
            ("nonce", {"nonce": None}, {}),
            ("iat", {"iat": int(time.time()) + 900}, {}),
            ("iat", {"iat": None}, {}),
            ("exp", {"exp": int(time.time()) - 1}, {}),
            ("acr", {"acr": "knowledge"}, {}),
            ("acr", {"acr": ["possessionorinherence"]}, {}),
            ("amr", {"amr": "sms"}, {}),
            ("amr", {"amr": ["sms", "otp"]}, {}),
            ("amr", {"amr": ["pwd"]}, {}),
            ("amr", {"amr": ["otp"]}, {"amr_values": ["sms"]}),
        ]
        for check, changes, options in cases:
            with self.subTest(check=check, changes=changes):
                req = self.request(**options)
                page = self.respond({"id_token": self.provider.id_token(req, **changes), "state": req["state"]})
                self.assertIn('<h1 id="outcome">rejected</h1>', page)
                outcome = self.outcome(req["state"])
                self.assertEqual((outcome["outcome"], outcome["check"]), ("rejected", check), outcome)

    def test_rejects_a_bad_provider_configuration(self):
        for mode, check in (("no_length", "discovery"), ("issuer_slash", "discovery"), ("bad_x5c", "jwks")):
            with self.subTest(mode=mode):
                self.provider.mode = mode
                req = self.request()
                self.respond({"id_token": self.provider.id_token(req), "state": req["state"]})
                outcome = self.outcome(req["state"])
                self.assertEqual((outcome["outcome"], outcome["check"]), ("rejected", check), outcome)
        self.provider.mode = "good"
        req = self.request()
        self.respond({"state": req["state"]})
        self.assertEqual(self.outcome(req["state"])["check"], "id_token")


if __name__ == "__main__":
    unittest.main()
