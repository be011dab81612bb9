"""The independent side of the Web Push test: makes a browser's subscription keys, and later
decrypts what tweestap sent (http_ece, RFC 8291) and checks its VAPID token (PyJWT).
Usage: webpush_check.py keys            -> JSON {private, p256dh, auth}
       webpush_check.py check < JSON    -> prints the plaintext, or fails"""
import base64, json, os, sys

import http_ece
import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives import serialization


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


if sys.argv[1] == "keys":
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key().public_bytes(serialization.Encoding.X962,
                                           serialization.PublicFormat.UncompressedPoint)
    private = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    print(json.dumps({"private": b64(private), "p256dh": b64(public), "auth": b64(os.urandom(16))}))
else:
    job = json.load(sys.stdin)
    key = serialization.load_der_private_key(unb64(job["private"]), password=None)
    plaintext = http_ece.decrypt(unb64(job["body"]), private_key=key,
                                 auth_secret=unb64(job["auth"]), version="aes128gcm")
    scheme, params = job["authorization"].split(" ", 1)
    assert scheme == "vapid", scheme
    fields = dict(p.strip().split("=", 1) for p in params.split(","))
    vapid_key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64(fields["k"]))
    claims = jwt.decode(fields["t"], vapid_key, algorithms=["ES256"], audience=job["origin"])
    assert claims["sub"].startswith("mailto:"), claims
    sys.stdout.write(plaintext.decode())
