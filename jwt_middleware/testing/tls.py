"""``LocalCA``: a private certificate authority, so tests can serve an issuer over real TLS.

Companies run identity providers and proxies whose certificates chain to a root of their own,
which the system trust store does not know. To test that the library trusts exactly the CA it is
given (and nothing else), a test needs such a root, a server certificate for ``127.0.0.1``
signed by it, and client certificates for mutual TLS. ``LocalCA`` makes them with
``cryptography`` (ECDSA P-256, valid for a day).

``ssl`` loads certificates and keys only from files, so the CA keeps its PEM files in a private
temporary directory (mode 0700) that ``close()`` removes; ``bundle`` is the path to give as
``CacheSettings(ca_bundle=...)``. Test material only: the keys are unencrypted.
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import shutil
import ssl
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Self

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["IssuedCertificate", "LocalCA"]

#: The names a loopback server's certificate covers.
LOOPBACK_NAMES: Final = ("127.0.0.1", "localhost")
_LIFETIME: Final = datetime.timedelta(days=1)


@dataclass(frozen=True, slots=True)
class IssuedCertificate:
    """A certificate the CA signed, and its private key, as PEM files in the CA's directory."""

    certificate: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        """A server-side TLS context presenting this certificate."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.certificate, self.key)
        return context


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _alternative_name(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def _der(tag: int, content: bytes) -> bytes:
    size = len(content)
    if size < 0x80:
        return bytes([tag, size]) + content
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(length)]) + length + content


def _subject_hash(common_name: str) -> str:
    """OpenSSL's ``X509_NAME_hash`` of a name holding only this common name.

    OpenSSL hashes a canonical form: each value as a UTF8String, trimmed, inner whitespace
    collapsed and lower-cased, the RDN sets concatenated without the outer SEQUENCE; the hash is
    the first four bytes of its SHA-1, little-endian.
    """
    canonical = " ".join(common_name.split()).lower().encode()
    common_name_oid = bytes([0x06, 0x03, 0x55, 0x04, 0x03])
    rdn = _der(0x31, _der(0x30, common_name_oid + _der(0x0C, canonical)))
    digest = hashlib.sha1(rdn, usedforsecurity=False).digest()
    return f"{int.from_bytes(digest[:4], 'little'):08x}"


def _write_private(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    path.chmod(0o600)
    return path


class LocalCA:
    """A root certificate authority for tests, and the certificates it issues.

    ``with LocalCA() as ca:`` then ``ca.bundle`` (trust it), ``ca.server_context()`` (serve as
    ``127.0.0.1``), ``ca.issue("client-name", client=True)`` (a client certificate for mutual
    TLS). Another ``LocalCA`` is a different root: certificates of one are untrusted by the other.
    """

    def __init__(self, name: str = "jwt-middleware test CA") -> None:
        self.name = name
        self._key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        self._not_before = now - datetime.timedelta(minutes=5)
        public = self._key.public_key()
        self._certificate = (
            x509.CertificateBuilder()
            .subject_name(_name(name))
            .issuer_name(_name(name))
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(self._not_before)
            .not_valid_after(now + _LIFETIME)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .sign(self._key, hashes.SHA256())
        )
        self.directory = Path(tempfile.mkdtemp(prefix="jwt-middleware-ca-"))
        self.directory.chmod(0o700)
        #: The CA's certificate as a PEM file: what a client must trust.
        self.bundle = self.directory / "ca.pem"
        self.bundle.write_bytes(self.certificate_pem)
        self._lock = threading.Lock()
        self._issued = 0
        self._server: IssuedCertificate | None = None

    @property
    def certificate_pem(self) -> bytes:
        return self._certificate.public_bytes(serialization.Encoding.PEM)

    def hashed_directory(self) -> Path:
        """A directory holding the CA certificate under OpenSSL's subject-hash name (``{hash}.0``).

        That is the layout ``SSL_CERT_DIR`` and ``ssl.create_default_context(capath=...)`` read,
        as ``openssl rehash`` makes it.
        """
        directory = self.directory / "hashed"
        directory.mkdir(mode=0o700, exist_ok=True)
        (directory / f"{_subject_hash(self.name)}.0").write_bytes(self.certificate_pem)
        return directory

    def issue(self, *names: str, client: bool = False) -> IssuedCertificate:
        """A certificate for ``names`` (host names or IP addresses; the first is its common name).

        A server certificate by default; ``client=True`` makes one for TLS client authentication.
        """
        if not names:
            raise ValueError("a certificate needs at least one name")
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        usage = ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(names[0]))
            .issuer_name(self._certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(self._not_before)
            .not_valid_after(now + _LIFETIME)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()), critical=False
            )
        )
        if not client:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([_alternative_name(name) for name in names]), critical=False
            )
        certificate = builder.sign(self._key, hashes.SHA256())
        with self._lock:
            self._issued += 1
            stem = f"{'client' if client else 'server'}-{self._issued}"
        key_pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        return IssuedCertificate(
            certificate=_write_private(
                self.directory / f"{stem}.pem", certificate.public_bytes(serialization.Encoding.PEM)
            ),
            key=_write_private(self.directory / f"{stem}.key", key_pem),
        )

    def server_context(self, *, require_client_certificate: bool = False) -> ssl.SSLContext:
        """A server-side TLS context for ``127.0.0.1``/``localhost``, signed by this CA.

        ``require_client_certificate=True`` refuses clients without a certificate this CA issued.
        """
        with self._lock:
            server = self._server
        if server is None:
            server = self.issue(*LOOPBACK_NAMES)
            with self._lock:
                self._server = server
        context = server.server_context()
        if require_client_certificate:
            context.verify_mode = ssl.CERT_REQUIRED
            context.load_verify_locations(cafile=self.bundle)
        return context

    def close(self) -> None:
        """Remove the CA's files (certificates and keys)."""
        shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"LocalCA({self.name!r})"
