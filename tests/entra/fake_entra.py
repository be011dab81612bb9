#!/usr/bin/env python3
"""Fake Microsoft Entra ID, client side of an "external MFA method" (EAM), for tests.

Written from the EAM contract (shared/reference/entra-eam.md) and Microsoft's "External MFA method provider
reference", independently of tweestap's Rust code, so that a shared misreading cannot pass both sides.

It plays Entra in the two places Entra touches a provider:
  * it mints id_token_hints signed with its own RSA keys and publishes those keys, Microsoft-shaped, at
    GET /{tid}/discovery/v2.0/keys, then hands the browser a form that POSTs to the provider;
  * it receives the provider's form_post at POST /common/federation/externalauthprovider and makes the
    checks Entra makes on the id_token, recording an outcome per state.
Test-only control endpoints start with "/_" (see Handler below).

Usage: fake_entra.py --provider-discovery URL --app-id APPID [--port 0] [--host 127.0.0.1] [--public-host localhost]
Prints one JSON line {"port": N, "base": "http://<public-host>:N"} once listening; logs to stderr, never tokens.
"""
from __future__ import annotations

import argparse
import base64
import datetime
import hashlib
import html
import http.client
import json
import re
import secrets
import signal
import socket
import sys
import threading
import time
import uuid
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

DISCOVERY_SUFFIX = "/.well-known/openid-configuration"
RESPONSE_PATH = "/common/federation/externalauthprovider"
JWKS_PATH = re.compile(r"^/([^/]+)/discovery/v2\.0/keys$")

POSSESSION_AMR = ("fido", "hwk", "otp", "pop", "sc", "sms", "swk", "tel")
INHERENCE_AMR = ("face", "fpt", "iris", "retina", "vbm")
# What Entra puts in the claims request (the contract's example, alphabetical).
DEFAULT_AMR = sorted(POSSESSION_AMR + INHERENCE_AMR)
DEFAULT_ACR = ["possessionorinherence"]

MAX_IAT_FUTURE = 300  # seconds of clock skew tolerated on the response's iat
RESPONSE_DEADLINE = 300  # Entra gives up about 5 minutes after sending the user to the provider
FETCH_TIMEOUT = 10
# Microsoft insists on https; plain http is tolerated only where no network is crossed.
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


def log(message: str) -> None:
    print(f"fake-entra: {message}", file=sys.stderr, flush=True)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_uint(value: int) -> str:
    return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


def b64url_decode_uint(text: str) -> int:
    # Strict alphabet: urlsafe_b64decode silently drops stray characters, which would hide a bad n/e.
    if not re.fullmatch(r"[A-Za-z0-9_-]+={0,2}", text):
        raise ValueError("not base64url")
    text = text.rstrip("=")
    return int.from_bytes(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)), "big")


# ---------------------------------------------------------------------------------------------------------------
# Entra's signing keys


class SigningKey:
    """An RSA-2048 key with a self-signed certificate, so its JWK can carry x5c/x5t like Microsoft's."""

    def __init__(self, kid: str | None = None):
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fake-entra signing key")])
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.private.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=365))
            .sign(self.private, hashes.SHA256())
        )
        self.cert_der = cert.public_bytes(Encoding.DER)
        self.x5t = b64url(hashlib.sha1(self.cert_der).digest())
        # Microsoft's kid is the certificate thumbprint; a forged key passes a published kid instead.
        self.kid = kid or self.x5t

    def jwk(self, base: str) -> dict:
        numbers = self.private.public_key().public_numbers()
        return {
            "kty": "RSA",
            "use": "sig",
            "kid": self.kid,
            "x5t": self.x5t,
            "n": b64url_uint(numbers.n),
            "e": b64url_uint(numbers.e),
            "x5c": [base64.b64encode(self.cert_der).decode("ascii")],
            # Microsoft publishes the issuer template with each key; kept for realism.
            "issuer": f"{base}/{{tenantid}}/v2.0",
        }


# ---------------------------------------------------------------------------------------------------------------
# Response validation: one function per Entra check; each raises Rejected naming itself.


class Rejected(Exception):
    def __init__(self, check: str, reason: str):
        super().__init__(f"{check}: {reason}")
        self.check = check
        self.reason = reason


def require_secure_url(check: str, what: str, url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme == "https":
        return
    if parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS:
        return
    raise Rejected(check, f"{what} must be https (http only on loopback): {url}")


def http_get(check: str, url: str, to_eof: bool) -> tuple[int, http.client.HTTPMessage, bytes]:
    """GET with http.client, so the caller sees the headers exactly as sent.

    With to_eof the body is read from the raw stream up to the connection's end instead of via resp.read():
    resp.read() trusts Content-Length (it would cut a longer body or fail on a shorter one), and the
    discovery check must compare that header against what really arrived.
    """
    parts = urlsplit(url)
    cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        conn = cls(parts.hostname, parts.port, timeout=FETCH_TIMEOUT)
        try:
            conn.request("GET", target, headers={"Accept": "application/json", "Connection": "close",
                                                 "User-Agent": "fake-entra"})
            resp = conn.getresponse()
            if to_eof:
                body = resp.fp.read() if resp.fp is not None else b""
            else:
                body = resp.read()
            return resp.status, resp.headers, body
        finally:
            conn.close()
    except (OSError, http.client.HTTPException, ValueError) as exc:
        raise Rejected(check, f"fetching {url} failed: {exc!r}") from None


def check_discovery(url: str) -> dict:
    """Fetched fresh for every response (Entra caches 24 h; tests want to see key rotation at once)."""
    name = "discovery"
    parts = urlsplit(url)
    if parts.query or parts.fragment or "?" in url or "#" in url:
        raise Rejected(name, "discovery URL must have no query or fragment")
    if not parts.path.endswith(DISCOVERY_SUFFIX):
        raise Rejected(name, f"discovery URL must end in {DISCOVERY_SUFFIX}")
    require_secure_url(name, "discovery URL", url)

    status, headers, body = http_get(name, url, to_eof=True)
    if status != 200:
        raise Rejected(name, f"discovery answered HTTP {status}")
    lengths = headers.get_all("Content-Length") or []
    if len(lengths) != 1:
        raise Rejected(name, f"discovery response needs exactly one Content-Length header, got {len(lengths)}")
    if not re.fullmatch(r"[0-9]+", lengths[0].strip()):
        raise Rejected(name, f"Content-Length is not a number: {lengths[0]!r}")
    if int(lengths[0]) != len(body):
        raise Rejected(name, f"Content-Length {lengths[0]} but the body has {len(body)} bytes")
    try:
        doc = json.loads(body)
    except ValueError as exc:
        raise Rejected(name, f"discovery document is not JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise Rejected(name, "discovery document is not a JSON object")

    issuer = doc.get("issuer")
    expected = url[: -len(DISCOVERY_SUFFIX)]
    if issuer != expected:
        raise Rejected(name, f"issuer {issuer!r} is not the discovery URL minus {DISCOVERY_SUFFIX} ({expected!r})")
    if urlsplit(issuer).query or urlsplit(issuer).fragment:
        raise Rejected(name, "issuer must have no query or fragment")
    for field in ("issuer", "authorization_endpoint", "jwks_uri", "scopes_supported", "response_types_supported",
                  "subject_types_supported", "id_token_signing_alg_values_supported"):
        if field not in doc:
            raise Rejected(name, f"discovery lacks {field}")
    for field, needed in (("scopes_supported", "openid"), ("response_types_supported", "id_token"),
                          ("id_token_signing_alg_values_supported", "RS256")):
        if not isinstance(doc[field], list) or needed not in doc[field]:
            raise Rejected(name, f"{field} must be a list containing {needed!r}")
    if "claim_types_supported" in doc:
        if not isinstance(doc["claim_types_supported"], list) or "normal" not in doc["claim_types_supported"]:
            raise Rejected(name, "claim_types_supported, when present, must contain 'normal'")
    jwks_uri = doc["jwks_uri"]
    if not isinstance(jwks_uri, str) or urlsplit(jwks_uri).query or "?" in jwks_uri:
        raise Rejected(name, "jwks_uri must be a URL without a query")
    require_secure_url(name, "jwks_uri", jwks_uri)
    return doc


def check_jwks(jwks_uri: str) -> dict[str, dict]:
    """Every key must be a signing RSA key with a certificate matching it; returns the keys by kid."""
    name = "jwks"
    status, _, body = http_get(name, jwks_uri, to_eof=False)
    if status != 200:
        raise Rejected(name, f"jwks_uri answered HTTP {status}")
    try:
        doc = json.loads(body)
    except ValueError as exc:
        raise Rejected(name, f"JWKS is not JSON: {exc}") from None
    keys = doc.get("keys") if isinstance(doc, dict) else None
    if not isinstance(keys, list) or not keys:
        raise Rejected(name, "JWKS has no keys")
    by_kid: dict[str, dict] = {}
    for index, key in enumerate(keys):
        check_jwk(name, index, key)
        if key["kid"] in by_kid:
            raise Rejected(name, f"kid {key['kid']!r} appears twice")
        by_kid[key["kid"]] = key
    return by_kid


def check_jwk(name: str, index: int, key: object) -> None:
    where = f"key {index}"
    if not isinstance(key, dict):
        raise Rejected(name, f"{where} is not an object")
    if key.get("kty") != "RSA":
        raise Rejected(name, f"{where}: kty must be RSA")
    if key.get("use") != "sig":
        raise Rejected(name, f"{where}: use must be sig")
    for field in ("kid", "x5t", "n", "e"):
        if not isinstance(key.get(field), str) or not key[field]:
            raise Rejected(name, f"{where}: {field} missing")
    x5c = key.get("x5c")
    if not isinstance(x5c, list) or not x5c or not isinstance(x5c[0], str):
        raise Rejected(name, f"{where}: x5c missing or empty")
    try:
        der = base64.b64decode(x5c[0], validate=True)  # x5c is standard base64, not base64url
        cert = x509.load_der_x509_certificate(der)
    except ValueError as exc:
        raise Rejected(name, f"{where}: x5c[0] is not a base64 DER certificate: {exc}") from None
    public = cert.public_key()
    if not isinstance(public, rsa.RSAPublicKey):
        raise Rejected(name, f"{where}: x5c[0] does not hold an RSA key")
    try:
        n, e = b64url_decode_uint(key["n"]), b64url_decode_uint(key["e"])
    except ValueError:
        raise Rejected(name, f"{where}: n or e is not base64url") from None
    numbers = public.public_numbers()
    if (numbers.n, numbers.e) != (n, e):
        raise Rejected(name, f"{where}: x5c certificate's key differs from n/e")
    if key["x5t"] != b64url(hashlib.sha1(der).digest()):
        raise Rejected(name, f"{where}: x5t is not the SHA-1 thumbprint of x5c[0]")


def check_header(id_token: str, jwks: dict[str, dict]) -> dict:
    name = "header"
    try:
        header = jwt.get_unverified_header(id_token)
    except jwt.PyJWTError as exc:
        raise Rejected(name, f"id_token is not a JWT: {exc}") from None
    if header.get("alg") != "RS256":
        raise Rejected(name, f"alg must be RS256, got {header.get('alg')!r}")
    kid = header.get("kid")
    if not isinstance(kid, str):
        raise Rejected(name, "kid missing")
    if kid not in jwks:
        raise Rejected(name, f"kid {kid!r} is not in the provider's JWKS")
    return jwks[kid]


def check_signature(id_token: str, jwk: dict) -> dict:
    name = "signature"
    public = rsa.RSAPublicNumbers(b64url_decode_uint(jwk["e"]), b64url_decode_uint(jwk["n"])).public_key()
    # Only the signature here: every claim gets its own named check below.
    options = {"verify_signature": True, "verify_exp": False, "verify_nbf": False, "verify_iat": False,
               "verify_aud": False, "verify_iss": False, "verify_sub": False, "verify_jti": False, "require": []}
    try:
        return jwt.decode(id_token, public, algorithms=["RS256"], options=options)
    except jwt.PyJWTError as exc:
        raise Rejected(name, f"signature not valid: {exc}") from None


def check_iss(claims: dict, issuer: str) -> None:
    if claims.get("iss") != issuer:  # character for character: no normalisation of ports or slashes
        raise Rejected("iss", f"iss {claims.get('iss')!r} is not the discovery issuer {issuer!r}")


def check_aud(claims: dict, client_id: str) -> None:
    aud = claims.get("aud")
    if not isinstance(aud, str):
        raise Rejected("aud", "aud must be a single string")
    if aud != client_id:
        raise Rejected("aud", "aud is not the request's client_id")


def check_sub(claims: dict, hint_sub: str | None) -> None:
    if hint_sub is None:
        raise Rejected("sub", "the hint carried no sub to compare with")
    if claims.get("sub") != hint_sub:
        raise Rejected("sub", "sub does not match the hint's sub")


def check_nonce(claims: dict, nonce: str | None) -> None:
    if claims.get("nonce") != nonce:
        raise Rejected("nonce", "nonce does not match")


def is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_iat(claims: dict, now: float) -> None:
    if not is_number(claims.get("iat")):
        raise Rejected("iat", "iat missing or not a number")
    if claims["iat"] > now + MAX_IAT_FUTURE:
        raise Rejected("iat", "iat is more than 5 minutes in the future")


def check_exp(claims: dict, now: float) -> None:
    if not is_number(claims.get("exp")):
        raise Rejected("exp", "exp missing or not a number")
    if claims["exp"] <= now:
        raise Rejected("exp", "id_token has expired")


def check_acr(claims: dict, requested: list[str]) -> None:
    acr = claims.get("acr")
    if not isinstance(acr, str):
        raise Rejected("acr", "acr must be one string")
    if acr not in requested:
        raise Rejected("acr", f"acr {acr!r} was not requested")


def check_amr(claims: dict, requested: list[str]) -> None:
    amr = claims.get("amr")
    if not isinstance(amr, list) or len(amr) != 1 or not isinstance(amr[0], str):
        raise Rejected("amr", "amr must be an array of exactly one string")
    if amr[0] not in POSSESSION_AMR + INHERENCE_AMR:
        raise Rejected("amr", f"amr {amr[0]!r} is not a possession or inherence method")
    if amr[0] not in requested:
        raise Rejected("amr", f"amr {amr[0]!r} was not requested")


def validate_id_token(id_token: str, discovery_url: str, pending: dict) -> dict:
    """Entra's checks in Entra's order; returns the claims or raises Rejected from the first that fails."""
    doc = check_discovery(discovery_url)
    jwks = check_jwks(doc["jwks_uri"])
    jwk = check_header(id_token, jwks)
    claims = check_signature(id_token, jwk)
    now = time.time()
    check_iss(claims, doc["issuer"])
    check_aud(claims, pending["client_id"])
    check_sub(claims, pending["hint_sub"])
    check_nonce(claims, pending["nonce"])
    check_iat(claims, now)
    check_exp(claims, now)
    check_acr(claims, pending["acr_values"])
    check_amr(claims, pending["amr_values"])
    return claims


# ---------------------------------------------------------------------------------------------------------------
# Requests: minting hints and remembering what was asked, per state


class BadOption(Exception):
    """A test asked for something malformed: answered 400, never recorded."""


# Option name -> type; "str?" may be null. Everything not marked required has a default in Fake.make_request.
REQUEST_OPTIONS = {
    "provider_authorize": "str", "client_id": "str", "tid": "str", "oid": "str", "sub": "str",
    "preferred_username": "str", "name": "str", "aud": "str", "iat_offset": "int", "kid": "str",
    "forge": "bool", "unpublished_kid": "bool", "iss": "str", "omit": "list", "acr_values": "list",
    "amr_values": "list", "redirect_uri": "str", "nonce": "str?", "state": "str", "response_type": "str",
    "response_mode": "str", "scope": "str", "claims_raw": "str",
}
REQUIRED_OPTIONS = ("provider_authorize", "client_id", "tid")


def check_option_types(options: dict) -> None:
    for key, value in options.items():
        kind = REQUEST_OPTIONS.get(key)
        if kind is None:
            raise BadOption(f"unknown option {key!r}")
        ok = {
            "str": isinstance(value, str),
            "str?": value is None or isinstance(value, str),
            "int": isinstance(value, int) and not isinstance(value, bool),
            "bool": isinstance(value, bool),
            "list": isinstance(value, list) and all(isinstance(v, str) for v in value),
        }[kind]
        if not ok:
            raise BadOption(f"option {key!r} must be {kind}")
    for key in REQUIRED_OPTIONS:
        if key not in options:
            raise BadOption(f"option {key!r} is required")


def options_from_query(query: str) -> dict:
    """/_start's query string: lists comma-separated, bools 1/true/0/false, empty nonce = no nonce."""
    options: dict = {}
    for key, values in parse_qs(query, keep_blank_values=True).items():
        if key == "autosubmit":
            continue
        if len(values) != 1:
            raise BadOption(f"option {key!r} given more than once")
        value, kind = values[0], REQUEST_OPTIONS.get(key)
        if kind == "int":
            try:
                options[key] = int(value)
            except ValueError:
                raise BadOption(f"option {key!r} must be an integer") from None
        elif kind == "bool":
            if value.lower() not in ("1", "true", "0", "false"):
                raise BadOption(f"option {key!r} must be 1/true/0/false")
            options[key] = value.lower() in ("1", "true")
        elif kind == "list":
            options[key] = [v for v in value.split(",") if v]
        elif kind == "str?":
            options[key] = value or None
        else:
            options[key] = value
    return options


def requested_values(claims_param: str, claim: str) -> list[str]:
    """The acr/amr values a claims parameter asks for, as the response will be judged against them."""
    try:
        values = json.loads(claims_param)["id_token"][claim]["values"]
    except (ValueError, TypeError, KeyError):
        return []
    return [v for v in values if isinstance(v, str)] if isinstance(values, list) else []


class Fake:
    def __init__(self, base: str, app_id: str, discovery_url: str):
        self.base = base
        self.app_id = app_id
        self.discovery_url = discovery_url
        self.lock = threading.Lock()
        self.keys: list[tuple[SigningKey, bool]] = [(SigningKey(), True)]  # (key, published), oldest first
        self.fetches: Counter[str] = Counter()
        self.pending: dict[str, dict] = {}  # state -> what the request asked, and later its outcome

    # -- keys --

    def jwks(self, tid: str) -> dict:
        with self.lock:
            self.fetches[tid] += 1
            return {"keys": [key.jwk(self.base) for key, published in self.keys if published]}

    def rotate(self, publish: bool) -> SigningKey:
        key = SigningKey()  # generated outside the lock: it takes a moment
        with self.lock:
            self.keys.append((key, publish))
        return key

    def signer(self, options: dict) -> SigningKey:
        with self.lock:
            published = [key for key, is_published in self.keys if is_published]
            held = {key.kid: key for key, _ in self.keys}
        if "kid" in options and options["kid"] not in held:
            raise BadOption(f"no key with kid {options['kid']!r}")
        # "kid" may also name a key rotated in unpublished.
        chosen = held[options["kid"]] if "kid" in options else published[-1]
        if options.get("forge"):
            return SigningKey(kid=chosen.kid)  # right kid, wrong key: the signature must fail
        if options.get("unpublished_kid"):
            return SigningKey()  # a kid nobody publishes
        return chosen

    # -- requests --

    def make_request(self, options: dict) -> dict:
        check_option_types(options)
        key = self.signer(options)
        now = int(time.time()) + options.get("iat_offset", 0)
        tid = options["tid"]
        hint = {
            "iss": options.get("iss", f"{self.base}/{tid}/v2.0"),
            "aud": options.get("aud", self.app_id),
            "iat": now,
            "nbf": now,
            "exp": now - 1,  # issued already expired, as Microsoft does, so it is good for nothing but a hint
            "tid": tid,
            "oid": options.get("oid", str(uuid.uuid4())),
            "sub": options.get("sub", b64url(secrets.token_bytes(32))),  # pairwise per app in Entra
            "preferred_username": options.get("preferred_username", "student@school.example"),
            "name": options.get("name", "Test Student"),
            "ver": "2.0",
            "uti": b64url(secrets.token_bytes(16)),
        }
        for claim in options.get("omit", []):
            hint.pop(claim, None)
        id_token_hint = jwt.encode(hint, key.private, algorithm="RS256", headers={"kid": key.kid, "typ": "JWT"})

        if "claims_raw" in options:
            claims_param = options["claims_raw"]
        else:
            claims_param = json.dumps({"id_token": {
                "acr": {"essential": True, "values": options.get("acr_values", DEFAULT_ACR)},
                "amr": {"essential": True, "values": options.get("amr_values", DEFAULT_AMR)},
            }}, separators=(",", ":"))
        nonce = options["nonce"] if "nonce" in options else b64url(secrets.token_bytes(16))
        state = options.get("state") or b64url(secrets.token_bytes(16))

        fields = {  # Entra's order
            "scope": options.get("scope", "openid"),
            "response_type": options.get("response_type", "id_token"),
            "response_mode": options.get("response_mode", "form_post"),
            "client_id": options["client_id"],
            "redirect_uri": options.get("redirect_uri", f"{self.base}{RESPONSE_PATH}"),
            "nonce": nonce,
            "state": state,
            "id_token_hint": id_token_hint,
            "claims": claims_param,
            "client-request-id": str(uuid.uuid4()),
        }
        if nonce is None:
            del fields["nonce"]
        with self.lock:
            if state in self.pending:
                raise BadOption(f"state {state!r} is already in use")
            self.pending[state] = {
                "created": time.monotonic(),
                "client_id": options["client_id"],
                "nonce": nonce,
                "hint_sub": hint.get("sub"),
                "acr_values": requested_values(claims_param, "acr"),
                "amr_values": requested_values(claims_param, "amr"),
                "answered": False,
                "outcome": {"outcome": "pending"},
            }
        log(f"request state={state[:8]}… tid={tid} kid={key.kid[:8]}…")
        return {"fields": fields, "action": options["provider_authorize"], "state": state,
                "kid": key.kid, "hint": hint}

    def answer(self, form: dict[str, list[str]]) -> dict:
        """Judge the provider's form_post; records and returns the outcome."""
        state_values = form.get("state", [])
        if len(state_values) != 1:
            return {"outcome": "rejected", "check": "state", "reason": "unknown state"}
        state = state_values[0]
        with self.lock:
            pending = self.pending.get(state)
            if pending is None:
                return {"outcome": "rejected", "check": "state", "reason": "unknown state"}
            if pending["answered"]:
                pending["replays"] = pending.get("replays", 0) + 1
                return {"outcome": "rejected", "check": "state", "reason": "state already answered"}
            pending["answered"] = True  # claimed before validating, so a concurrent replay is refused too

        outcome = self.judge(form, pending)
        with self.lock:
            pending["outcome"] = outcome
        log(f"response state={state[:8]}… {outcome['outcome']} {outcome.get('check', '')}".rstrip())
        return outcome

    def judge(self, form: dict[str, list[str]], pending: dict) -> dict:
        for field in ("id_token", "error", "error_description"):
            if len(form.get(field, [])) > 1:
                return {"outcome": "rejected", "check": "form", "reason": f"{field} posted more than once"}
        if time.monotonic() - pending["created"] > RESPONSE_DEADLINE:
            return {"outcome": "rejected", "check": "deadline", "reason": "answered more than 5 minutes late"}
        if "error" in form:
            return {"outcome": "error", "error": form["error"][0],
                    "error_description": form.get("error_description", [None])[0]}
        if not form.get("id_token", [""])[0]:
            return {"outcome": "rejected", "check": "id_token", "reason": "no id_token posted"}
        try:
            claims = validate_id_token(form["id_token"][0], self.discovery_url, pending)
        except Rejected as exc:
            return {"outcome": "rejected", "check": exc.check, "reason": exc.reason}
        return {"outcome": "accepted", "claims": claims}

    def outcome(self, state: str) -> dict | None:
        with self.lock:
            pending = self.pending.get(state)
            if pending is None:
                return None
            result = dict(pending["outcome"])
            if pending.get("replays"):
                result["replays"] = pending["replays"]
            return result


# ---------------------------------------------------------------------------------------------------------------
# HTTP


def start_page(action: str, fields: dict, autosubmit: bool) -> str:
    inputs = "\n".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">' for k, v in fields.items())
    script = ('<script>window.addEventListener("load", function () { document.forms[0].submit(); });</script>'
              if autosubmit else "")
    return (f'<!doctype html>\n<html><head><meta charset="utf-8"><title>Fake Entra</title></head><body>\n'
            f'<form method="post" action="{html.escape(action)}">\n{inputs}\n'
            f'<button type="submit" id="go">Continue</button>\n</form>\n{script}\n</body></html>\n')


def outcome_page(outcome: dict) -> str:
    if outcome["outcome"] == "error":
        detail = f"{outcome['error']}: {outcome.get('error_description') or ''}"
    elif outcome["outcome"] == "rejected":
        detail = f"{outcome['check']}: {outcome['reason']}"
    else:
        detail = f"sub={outcome['claims'].get('sub')} amr={outcome['claims'].get('amr')}"
    return (f'<!doctype html>\n<html><head><meta charset="utf-8"><title>Fake Entra</title></head><body>\n'
            f'<h1 id="outcome">{html.escape(outcome["outcome"])}</h1>\n'
            f'<p id="detail">{html.escape(detail)}</p>\n</body></html>\n')


class Handler(BaseHTTPRequestHandler):
    server_version = "fake-entra/1"

    @property
    def fake(self) -> Fake:
        return self.server.fake  # type: ignore[attr-defined]

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (BaseHTTPRequestHandler's name)
        # Path only: queries and bodies are never logged, so no token can reach the log.
        log(f"{self.command} {urlsplit(self.path).path} {args[1] if len(args) > 1 else ''}".rstrip())

    def send(self, status: int, body: str, content_type: str) -> None:
        data = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)

    def send_json(self, status: int, value: dict) -> None:
        self.send(status, json.dumps(value), "application/json")

    def read_body(self) -> bytes:
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            raise BadOption("Content-Length required")
        return self.rfile.read(int(length))

    def read_json(self) -> dict:
        try:
            value = json.loads(self.read_body() or b"{}")
        except ValueError:
            raise BadOption("body is not JSON") from None
        if not isinstance(value, dict):
            raise BadOption("body must be a JSON object")
        return value

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        try:
            if match := JWKS_PATH.match(url.path):
                self.send_json(200, self.fake.jwks(match.group(1)))
            elif url.path == "/_start":
                flag = query.get("autosubmit", ["1"])[0].lower()
                request = self.fake.make_request(options_from_query(url.query))
                self.send(200, start_page(request["action"], request["fields"], flag not in ("0", "false")),
                          "text/html; charset=utf-8")
            elif url.path == "/_fetches":
                if "tid" not in query:
                    raise BadOption("tid required")
                with self.fake.lock:
                    count = self.fake.fetches[query["tid"][0]]
                self.send_json(200, {"count": count})
            elif url.path == "/_outcome":
                outcome = self.fake.outcome(query.get("state", [""])[0])
                if outcome is None:
                    self.send_json(404, {"outcome": "unknown"})
                else:
                    self.send_json(200, outcome)
            else:
                self.send_json(404, {"error": "not found"})
        except BadOption as exc:
            self.send_json(400, {"error": str(exc)})

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        try:
            if path == RESPONSE_PATH:
                self.post_response()
            elif path == "/_request":
                self.send_json(200, self.fake.make_request(self.read_json()))
            elif path == "/_rotate":
                publish = self.read_json().get("publish", True)
                if not isinstance(publish, bool):
                    raise BadOption("publish must be a boolean")
                self.send_json(200, {"kid": self.fake.rotate(publish).kid, "published": publish})
            else:
                self.send_json(404, {"error": "not found"})
        except BadOption as exc:
            self.send_json(400, {"error": str(exc)})

    def post_response(self) -> None:
        content_type = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        body = self.read_body()
        try:
            if content_type != "application/x-www-form-urlencoded":
                raise ValueError(f"Content-Type {content_type!r}")
            form = parse_qs(body.decode("utf-8"), keep_blank_values=True)
        except ValueError as exc:
            outcome = {"outcome": "rejected", "check": "form", "reason": f"not a urlencoded form: {exc}"}
        else:
            outcome = self.fake.answer(form)
        self.send(200, outcome_page(outcome), "text/html; charset=utf-8")


def make_server(host: str, port: int) -> ThreadingHTTPServer:
    class Server(ThreadingHTTPServer):
        address_family = socket.AF_INET6 if ":" in host else socket.AF_INET

    return Server((host, port), Handler)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--provider-discovery", required=True, help="the provider's discovery URL")
    parser.add_argument("--app-id", required=True, help="default audience of the hints")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind")
    parser.add_argument("--public-host", default="localhost",
                        help="host name used in every URL handed out (a different site from 127.0.0.1)")
    args = parser.parse_args(argv)

    server = make_server(args.host, args.port)
    port = server.server_address[1]
    public_host = f"[{args.public_host}]" if ":" in args.public_host else args.public_host
    base = f"http://{public_host}:{port}"
    server.fake = Fake(base, args.app_id, args.provider_discovery)  # type: ignore[attr-defined]

    def stop(signum, frame):  # SIGTERM ends serve_forever the same way Ctrl-C does
        raise KeyboardInterrupt

    # SIGINT too, explicitly: a process started with "&" from a script inherits SIGINT ignored.
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(json.dumps({"port": port, "base": base}), flush=True)
    log(f"listening on {args.host}:{port} as {base}")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        log("stopped")


if __name__ == "__main__":
    main()
