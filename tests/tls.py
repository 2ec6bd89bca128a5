"""Throw-away certificate authorities and certificates for tests, made with openssl."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Issued:
    """A certificate, its private key and the CA file that trusts it (all PEM)."""

    cert: Path
    key: Path
    cafile: Path


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)


def make_ca(folder: Path, name: str) -> Issued:
    """A self-signed CA (valid one day) under ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    cert, key = folder / f"{name}.pem", folder / f"{name}.key"
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        "-subj", f"/CN={name}", "-keyout", str(key), "-out", str(cert),
    )  # fmt: skip
    return Issued(cert, key, cert)


def issue(ca: Issued, folder: Path, name: str, hosts: tuple[str, ...]) -> Issued:
    """A server certificate for ``hosts`` (IP addresses or DNS names), signed by ``ca``."""
    key, csr, cert = folder / f"{name}.key", folder / f"{name}.csr", folder / f"{name}.pem"
    names = ",".join(f"IP:{h}" if h.replace(".", "").isdigit() else f"DNS:{h}" for h in hosts)
    extensions = folder / f"{name}.ext"
    extensions.write_text(f"subjectAltName={names}\nextendedKeyUsage=serverAuth,clientAuth\n")
    _openssl(
        "req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}",
        "-keyout", str(key), "-out", str(csr),
    )  # fmt: skip
    _openssl(
        "x509", "-req", "-in", str(csr), "-CA", str(ca.cert), "-CAkey", str(ca.key),
        "-CAcreateserial", "-days", "1", "-extfile", str(extensions), "-out", str(cert),
    )  # fmt: skip
    return Issued(cert, key, ca.cert)


def pkcs12(issued: Issued, path: Path, password: str) -> Path:
    """The certificate and key as a PKCS#12 keystore (what the broker reads)."""
    _openssl(
        "pkcs12", "-export", "-in", str(issued.cert), "-inkey", str(issued.key),
        "-name", "broker", "-out", str(path), "-passout", f"pass:{password}",
    )  # fmt: skip
    return path
