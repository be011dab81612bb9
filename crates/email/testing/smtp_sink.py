"""An independent SMTP server for tweestap's tests, on aiosmtpd (not written with the code it
tests): STARTTLS is required before AUTH and MAIL, AUTH takes one account, recipients at
bounce.invalid are refused (550), and every accepted message is kept as a JSON file.

    python smtp_sink.py --port P --dir D [--user U --password W]

Writes D/cert.pem (a private CA that signed the server's certificate for localhost and
127.0.0.1: what a client must trust; kept when started again on the same directory), then prints one line "ready" and serves until its
standard input closes.
"""
import argparse
import datetime
import email
import email.policy
import ipaddress
import json
import os
import ssl
import sys

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def certificate(directory):
    """A private CA (ca.pem, what the client trusts) and a server certificate it signed for
    localhost and 127.0.0.1, as a school's own relay would have."""
    ca_path = os.path.join(directory, "cert.pem")
    chain_path = os.path.join(directory, "server.pem")
    key_path = os.path.join(directory, "key.pem")
    if not (os.path.exists(ca_path) and os.path.exists(chain_path) and os.path.exists(key_path)):
        now = datetime.datetime.now(datetime.timezone.utc)

        def build(subject, issuer, public_key, signing_key, ca, extra):
            builder = (
                x509.CertificateBuilder()
                .subject_name(subject)
                .issuer_name(issuer)
                .public_key(public_key)
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(minutes=5))
                .not_valid_after(now + datetime.timedelta(days=1))
                .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            )
            for ext in extra:
                builder = builder.add_extension(ext, critical=False)
            return builder.sign(signing_key, hashes.SHA256())

        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tweestap test CA")])
        ca_cert = build(ca_name, ca_name, ca_key.public_key(), ca_key, True, [])
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
        san = x509.SubjectAlternativeName(
            [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
        )
        cert = build(name, ca_name, key.public_key(), ca_key, False, [san])
        pem = serialization.Encoding.PEM
        with open(ca_path, "wb") as f:
            f.write(ca_cert.public_bytes(pem))
        with open(chain_path, "wb") as f:
            f.write(cert.public_bytes(pem) + ca_cert.public_bytes(pem))
        with open(key_path, "wb") as f:
            f.write(
                key.private_bytes(
                    pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
                )
            )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(chain_path, key_path)
    return context


class Sink:
    def __init__(self, directory):
        self.directory = directory
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower().endswith("@bounce.invalid"):
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        # Decoded by Python's own e-mail package, not by the code under test.
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        body = message.get_body(("plain",))
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "tls": session.ssl is not None,
            "authenticated": bool(session.authenticated),
            "data": envelope.original_content.decode("utf-8", "replace"),
            "from": str(message["from"]),
            "to": str(message["to"]),
            "subject": str(message["subject"]),
            "content_type": message.get_content_type(),
            "body": body.get_content() if body is not None else None,
        }
        path = os.path.join(self.directory, "%04d.json" % self.count)
        with open(path + ".tmp", "w") as f:
            json.dump(record, f)
        os.replace(path + ".tmp", path)
        return "250 Message accepted"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--user")
    parser.add_argument("--password")
    args = parser.parse_args()

    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == (args.user or "").encode()
            and auth_data.password == (args.password or "").encode()
        )
        return AuthResult(success=ok)

    controller = Controller(
        Sink(args.dir),
        hostname="127.0.0.1",
        port=args.port,
        tls_context=certificate(args.dir),
        require_starttls=True,
        authenticator=authenticate,
        auth_required=bool(args.user),
        auth_require_tls=True,
    )
    controller.start()
    print("ready", flush=True)
    sys.stdin.read()
    controller.stop()


if __name__ == "__main__":
    main()
