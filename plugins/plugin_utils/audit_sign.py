# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""Ed25519 signatures of run-end records: whoever verifies needs only the public key, and cannot forge.

An HMAC proves a record was written by someone holding the key, but every verifier holds that key
and so can forge. A run-end signed with an Ed25519 private key (held by the writer: the wrapper, or
the callback of a standalone run) is checked with the public key alone: an auditor can verify a run
and still cannot forge one. The run-end's body carries ``chain_head`` (the hash of every record
before it) and the sha256 of the run's files, so its signature covers the whole run.

Keys are PEM files, the formats ``openssl genpkey -algorithm ED25519`` writes (private: PKCS#8,
unencrypted; public: SubjectPublicKeyInfo), or :func:`generate`. A public key may also be given as
an OpenSSH ``ssh-ed25519 AAAA...`` line. ``cryptography`` (a dependency of ansible-core) is imported
only when a key is used.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

from .audit_record import AuditKeyError, PathLike

ALGORITHM = "ed25519"
SIG_HEX_LEN = 128


def _crypto() -> Any:
    try:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ed25519
    except ImportError as exc:  # pragma: no cover - ansible-core depends on cryptography
        raise AuditKeyError(f"Ed25519 signatures need the Python package 'cryptography': {exc}") from exc
    return serialization, ed25519


def _read(path: PathLike, what: str) -> bytes:
    full = os.path.expanduser(os.fspath(path))
    try:
        with open(full, "rb") as handle:
            data = handle.read(1 << 16)
    except OSError as exc:
        raise AuditKeyError(f"cannot read the {what} {full}: {exc.strerror or exc}") from exc
    if not data.strip():
        raise AuditKeyError(f"the {what} {full} is empty")
    return data


def key_id(raw_public: bytes) -> str:
    """The public key's fingerprint written into signed records: sha256 of its 32 raw bytes, hex."""
    return hashlib.sha256(raw_public).hexdigest()


def _raw_public(public_key: Any) -> bytes:
    serialization = _crypto()[0]
    raw: bytes = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return raw


class Signer:
    """Signs body bytes with an Ed25519 private key; ``key_id`` names its public key."""

    def __init__(self, private_key: Any) -> None:
        self._key = private_key
        self.raw_public = _raw_public(private_key.public_key())
        self.key_id = key_id(self.raw_public)

    def __call__(self, body: bytes) -> bytes:
        signature: bytes = self._key.sign(body)
        return signature

    def verifier(self) -> Verifier:
        """The matching verifier (the wrapper checks a run it resumes with its own key's public half)."""
        return Verifier(self._key.public_key())

    def public_pem(self) -> bytes:
        serialization = _crypto()[0]
        pem: bytes = self._key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return pem


class Verifier:
    """Checks signatures with an Ed25519 public key."""

    def __init__(self, public_key: Any) -> None:
        self._key = public_key
        self.raw_public = _raw_public(public_key)
        self.key_id = key_id(self.raw_public)

    def verify(self, body: bytes, signature_hex: str) -> bool:
        try:
            signature = bytes.fromhex(signature_hex)
        except ValueError:
            return False
        try:
            self._key.verify(signature, body)
        except Exception:  # cryptography.exceptions.InvalidSignature, or a malformed signature
            return False
        return True


def load_signer(path: PathLike) -> Signer:
    """The signing key of a PEM file (PKCS#8, unencrypted Ed25519); :class:`AuditKeyError` otherwise."""
    serialization, ed25519 = _crypto()
    data = _read(path, "signing key file")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise AuditKeyError(
            f"the signing key file {os.fspath(path)} is not an unencrypted PEM private key: {exc}"
        ) from None
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise AuditKeyError(f"the signing key file {os.fspath(path)} holds a {type(key).__name__}, not an Ed25519 key")
    return Signer(key)


def load_verifier(path: PathLike) -> Verifier:
    """The public key of a PEM file (SubjectPublicKeyInfo) or an OpenSSH ``ssh-ed25519`` line."""
    serialization, ed25519 = _crypto()
    data = _read(path, "public key file")
    try:
        if data.lstrip().startswith(b"ssh-ed25519 "):
            key = serialization.load_ssh_public_key(data.strip())
        else:
            key = serialization.load_pem_public_key(data)
    except Exception as exc:  # ValueError, TypeError, cryptography's UnsupportedAlgorithm
        problem = f"is not a PEM or OpenSSH public key: {exc}"
        raise AuditKeyError(f"the public key file {os.fspath(path)} {problem}") from None
    if not isinstance(key, ed25519.Ed25519PublicKey):
        raise AuditKeyError(f"the public key file {os.fspath(path)} holds a {type(key).__name__}, not an Ed25519 key")
    return Verifier(key)


def generate(path: PathLike) -> tuple[str, str]:
    """Write a new Ed25519 signing key to ``path`` (mode 0600) and its public key to ``path.pub``.

    Refuses to overwrite either file. Returns (private path, public path).
    """
    serialization, ed25519 = _crypto()
    private_path = os.path.abspath(os.path.expanduser(os.fspath(path)))
    public_path = private_path + ".pub"
    for target in (private_path, public_path):
        if os.path.lexists(target):
            raise AuditKeyError(f"{target} exists: not overwritten (remove it first, or choose another name)")
    key = ed25519.Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    for target, data, mode in ((private_path, private_pem, 0o600), (public_path, public_pem, 0o644)):
        try:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
        except FileExistsError:
            raise AuditKeyError(f"{target} exists: not overwritten (remove it first, or choose another name)") from None
        except OSError as exc:
            raise AuditKeyError(f"cannot write {target}: {exc.strerror or exc}") from exc
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    return private_path, public_path
