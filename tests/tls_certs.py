"""A throwaway certificate authority for tests of https deliveries: a CA and server
certificates it signs for given DNS names, written as PEM files (``cryptography``, which the
local stack's moto already needs). Clients trust the CA through ``SSL_CERT_FILE``, which
``ssl``'s default verify paths read at each new context."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


@dataclass(frozen=True)
class ServerCert:
    cert: Path  # PEM certificate
    key: Path  # PEM private key


class TestCA:
    """``TestCA(folder)``: ``ca.pem`` (the file to trust) and :meth:`issue` for server certs."""

    __test__ = False  # not a pytest class

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.now(timezone.utc)
        self._cert = (
            x509.CertificateBuilder().subject_name(_name("gamification tests CA")).issuer_name(_name("gamification tests CA"))
            .public_key(self._key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(hours=1)).not_valid_after(now + timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False, key_agreement=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .sign(self._key, hashes.SHA256())
        )  # fmt: skip
        self.pem = folder / "ca.pem"
        self.pem.write_bytes(self._cert.public_bytes(serialization.Encoding.PEM))

    def issue(self, *names: str) -> ServerCert:
        """A server certificate for the DNS ``names`` (subjectAltName), signed by this CA."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.now(timezone.utc)
        cert = (
            x509.CertificateBuilder().subject_name(_name(names[0])).issuer_name(self._cert.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(hours=1)).not_valid_after(now + timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(self._key, hashes.SHA256())
        )  # fmt: skip
        out = ServerCert(self.folder / f"{names[0]}.crt", self.folder / f"{names[0]}.key")
        out.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        out.key.write_bytes(_pem_key(key))
        return out
