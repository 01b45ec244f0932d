"""The sandbox's own certificate authority and serving certificate.

kubectl (1.37 and newer) sends bearer tokens only over TLS, and a real API
server serves HTTPS anyway, so the sandbox does too: an ECDSA P-256 CA and a
server certificate for 127.0.0.1/localhost, made once per state directory and
reused across restarts (the kubeconfig's ``certificate-authority-data`` stays
valid). Without a state directory they live in a temporary directory.
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import os
import ssl
import tempfile
from pathlib import Path

FILES = ("ca.crt", "server.crt", "server.key")


def _write(path: Path, data: bytes, mode: int = 0o600) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def generate(directory: Path) -> None:
    """Create ca.crt, server.crt and server.key in ``directory``."""
    # Imported here: a restart reuses the files and skips the cost of loading cryptography.
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    def _name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    now = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (x509.CertificateBuilder()
               .subject_name(_name("kk-sandbox-ca")).issuer_name(_name("kk-sandbox-ca"))
               .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now).not_valid_after(now + dt.timedelta(days=3650))
               .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                            content_commitment=False, key_encipherment=False,
                                            data_encipherment=False, key_agreement=False,
                                            encipher_only=False, decipher_only=False), critical=True)
               .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    sans = [x509.DNSName(n) for n in ("localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
                                      "kubernetes.default.svc.cluster.local", "kk-control-plane")]
    sans += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ("127.0.0.1", "10.96.0.1", "::1")]
    cert = (x509.CertificateBuilder()
            .subject_name(_name("kube-apiserver")).issuer_name(ca_cert.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + dt.timedelta(days=3650))
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    directory.mkdir(parents=True, exist_ok=True)
    _write(directory / "ca.crt", ca_cert.public_bytes(serialization.Encoding.PEM), 0o644)
    _write(directory / "server.crt", cert.public_bytes(serialization.Encoding.PEM), 0o644)
    _write(directory / "server.key", key.private_bytes(serialization.Encoding.PEM,
                                                        serialization.PrivateFormat.PKCS8,
                                                        serialization.NoEncryption()))


class TLS:
    """Serving material for one sandbox."""

    def __init__(self, state_dir: Path | None) -> None:
        if state_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="kk-tls-")
            self.dir = Path(self._tmp.name)
        else:
            self.dir = Path(state_dir) / "tls"
        if not all((self.dir / f).exists() for f in FILES):
            generate(self.dir)

    def server_context(self) -> ssl.SSLContext:
        # A plain server context: clients are not asked for certificates, so the system trust store that
        # create_default_context() would load (about 30 ms) is never needed.
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(self.dir / "server.crt", self.dir / "server.key")
        return ctx

    @property
    def ca_path(self) -> Path:
        return self.dir / "ca.crt"

    @property
    def ca_data(self) -> str:
        """base64 of the CA's PEM, for a kubeconfig's certificate-authority-data."""
        return base64.b64encode(self.ca_path.read_bytes()).decode()

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_path))
