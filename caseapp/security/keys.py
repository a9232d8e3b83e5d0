"""Key providers: where the key-encryption keys (KEKs), the blind-index key and the audit key live.

Callers depend only on the `KeyProvider` protocol, so an HSM (PKCS#11) or KMS provider can replace
`FileKeyProvider` without touching them. The file provider keeps everything in one directory::

    key_dir/                 mode 0700, owned by the service user
      kek-v1.key             32 random bytes, base64 text, mode 0600 (one file per KEK version)
      index.key              32 random bytes, base64 text, mode 0600 (blind indexes)
      audit-ed25519.pem      Ed25519 private key, PKCS#8 PEM, mode 0600 (audit checkpoints)

This module is a plain library: no Flask import.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import re
import secrets
import stat
import threading
from pathlib import Path
from typing import Protocol, runtime_checkable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = [
    "AUDIT_KEY_FILE",
    "INDEX_KEY_FILE",
    "KEY_BYTES",
    "FileKeyProvider",
    "KeyConfigError",
    "KeyProvider",
    "KeyUnwrapError",
    "UnknownKeyVersion",
    "check_key_files",
    "ensure_key_files",
    "kek_file_name",
]

KEY_BYTES = 32
NONCE_BYTES = 12
INDEX_KEY_FILE = "index.key"
AUDIT_KEY_FILE = "audit-ed25519.pem"
_KEK_RE = re.compile(r"^kek-v([1-9][0-9]{0,8})\.key$")
_INIT_HINT = "run `caseapp init` to create the key files"


class KeyConfigError(Exception):
    """A key file or the key directory is missing, unreadable, malformed or too open. The message names it."""


class UnknownKeyVersion(KeyConfigError):
    """A KEK version was asked for that this provider does not have (never created, or retired)."""

    def __init__(self, version: int, path: Path | None = None) -> None:
        self.version = version
        where = f" ({path})" if path else ""
        super().__init__(
            f"KEK version {version} is not available{where}: it was never created or has been retired. "
            "Restore the key file from the key backup, or rewrap the affected data keys."
        )


class KeyUnwrapError(Exception):
    """A wrapped data key failed authentication: wrong KEK, wrong AAD (copied to another owner) or tampered."""


def kek_file_name(version: int) -> str:
    """File name of KEK `version`, e.g. ``kek-v3.key``."""
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ValueError(f"KEK version must be a positive int, got {version!r}")
    return f"kek-v{version}.key"


@runtime_checkable
class KeyProvider(Protocol):
    """What the rest of the app needs from key storage. Implementations must be thread-safe."""

    def active_kek_version(self) -> int:
        """The KEK version new data keys are wrapped with (the highest existing one)."""
        ...

    def kek_versions(self) -> list[int]:
        """All KEK versions available, ascending."""
        ...

    def wrap_data_key(self, version: int, data_key: bytes, aad: bytes) -> bytes:
        """Encrypt `data_key` under KEK `version`, binding `aad`."""
        ...

    def unwrap_data_key(self, version: int, wrapped: bytes, aad: bytes) -> bytes:
        """Inverse of `wrap_data_key`; raises `KeyUnwrapError` or `UnknownKeyVersion`."""
        ...

    def create_kek_version(self) -> int:
        """Create a new KEK version, which becomes the active one; returns it."""
        ...

    def retire_kek_version(self, version: int) -> None:
        """Destroy KEK `version`. Callers must first check that no data key is still wrapped with it."""
        ...

    def index_key(self) -> bytes:
        """The 32-byte blind-index key."""
        ...

    def audit_signing_key(self) -> Ed25519PrivateKey:
        """The Ed25519 key that signs audit checkpoints."""
        ...

    def audit_public_key(self) -> Ed25519PublicKey:
        """Public half of `audit_signing_key`."""
        ...


# --------------------------------------------------------------------------------------------- file helpers


def _write_new_file(path: Path, data: bytes) -> bool:
    """Atomically create `path` (mode 0600) with `data`; never overwrite. Returns False if it already existed.

    Written to a temp file created with ``os.open(..., 0o600)`` and fsynced, then published with
    ``os.link`` (atomic and refuses to replace an existing file, so two concurrent `create_kek_version`
    calls cannot clobber each other). Falls back to ``os.replace`` after an existence check on filesystems
    without hard links.
    """
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        try:
            os.fchmod(fd, 0o600)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        except OSError:  # no hard links here (some network/FUSE filesystems)
            if path.exists():
                return False
            os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    _fsync_dir(path.parent)
    return True


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _check_mode(path: Path, st: os.stat_result, *, is_dir: bool) -> None:
    if hasattr(os, "getuid") and st.st_uid != os.getuid():
        raise KeyConfigError(
            f"{path} is owned by uid {st.st_uid}, not by the user running caseapp (uid {os.getuid()}). "
            f"Fix: chown {os.getuid()} {path}"
        )
    if stat.S_IMODE(st.st_mode) & 0o077:
        want = "0700" if is_dir else "0600"
        raise KeyConfigError(
            f"{path} has mode {stat.S_IMODE(st.st_mode):04o}: it is accessible by group or others. "
            f"Fix: chmod {want} {path}"
        )


def _kek_versions_on_disk(key_dir: Path) -> list[int]:
    try:
        names = os.listdir(key_dir)
    except OSError as exc:
        raise KeyConfigError(f"cannot read key directory {key_dir}: {exc.strerror}; {_INIT_HINT}") from exc
    return sorted(int(m.group(1)) for n in names if (m := _KEK_RE.match(n)))


def _read_key_file(path: Path, *, strict: bool) -> bytes:
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError as exc:
        raise KeyConfigError(f"key file {path} is missing; {_INIT_HINT}") from exc
    except OSError as exc:
        raise KeyConfigError(f"cannot read key file {path}: {exc.strerror}") from exc
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise KeyConfigError(f"key file {path} is not a regular file")
        if strict:
            _check_mode(path, st, is_dir=False)
        with os.fdopen(fd, "rb", closefd=False) as fh:
            return fh.read()
    finally:
        os.close(fd)


def _decode_raw_key(path: Path, text: bytes) -> bytes:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise KeyConfigError(f"key file {path} is not valid base64") from exc
    if len(raw) != KEY_BYTES:
        raise KeyConfigError(f"key file {path} holds {len(raw)} bytes, expected {KEY_BYTES}")
    return raw


def _new_raw_key_text() -> bytes:
    return base64.b64encode(os.urandom(KEY_BYTES)) + b"\n"


def _new_audit_pem() -> bytes:
    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


# ------------------------------------------------------------------------------------------ module functions


def ensure_key_files(key_dir: str | Path) -> list[str]:
    """Create whatever key material is absent (dir 0700, KEK v1, index key, audit key); never overwrite.

    Returns the names created (empty when everything existed), so it is safe to run any number of times.
    An already existing directory keeps its mode; `check_key_files` reports it if it is too open.
    """
    key_dir = Path(key_dir)
    created: list[str] = []
    if not key_dir.exists():
        key_dir.mkdir(mode=0o700, parents=True)
        os.chmod(key_dir, 0o700)  # mkdir's mode is filtered by the umask
    elif not key_dir.is_dir():
        raise KeyConfigError(f"{key_dir} exists but is not a directory")
    if not _kek_versions_on_disk(key_dir):
        name = kek_file_name(1)
        if _write_new_file(key_dir / name, _new_raw_key_text()):
            created.append(name)
    if not (key_dir / INDEX_KEY_FILE).exists() and _write_new_file(
        key_dir / INDEX_KEY_FILE, _new_raw_key_text()
    ):
        created.append(INDEX_KEY_FILE)
    if not (key_dir / AUDIT_KEY_FILE).exists() and _write_new_file(
        key_dir / AUDIT_KEY_FILE, _new_audit_pem()
    ):
        created.append(AUDIT_KEY_FILE)
    return created


def check_key_files(key_dir: str | Path) -> None:
    """Raise `KeyConfigError` unless `key_dir` is fit for production: everything present, valid, 0700/0600, ours."""
    FileKeyProvider(key_dir, strict_permissions=True)


# ------------------------------------------------------------------------------------------------- provider


class FileKeyProvider:
    """`KeyProvider` backed by files in `key_dir` (see the module docstring for the layout).

    With ``strict_permissions=True`` (production) loading refuses a directory or file that is not owned by
    the current uid or is accessible by group/others. All material is loaded and validated at construction,
    so a broken key directory fails at start-up rather than on the first request.
    """

    def __init__(self, key_dir: str | Path, *, strict_permissions: bool) -> None:
        self.key_dir = Path(key_dir)
        self.strict_permissions = strict_permissions
        self._lock = threading.RLock()
        self._aeads: dict[int, AESGCM] = {}
        self._check_dir()
        versions = _kek_versions_on_disk(self.key_dir)
        if not versions:
            raise KeyConfigError(f"no KEK file ({self.key_dir / kek_file_name(1)}) found; {_INIT_HINT}")
        for version in versions:
            self._load_kek(version)
        self._index_key = _decode_raw_key(
            self.key_dir / INDEX_KEY_FILE, self._read(self.key_dir / INDEX_KEY_FILE)
        )
        self._audit_key = self._load_audit_key()

    def __repr__(self) -> str:
        return f"FileKeyProvider({str(self.key_dir)!r}, strict_permissions={self.strict_permissions})"

    # -- loading

    def _check_dir(self) -> None:
        try:
            st = os.stat(self.key_dir)
        except FileNotFoundError as exc:
            raise KeyConfigError(f"key directory {self.key_dir} is missing; {_INIT_HINT}") from exc
        if not stat.S_ISDIR(st.st_mode):
            raise KeyConfigError(f"{self.key_dir} is not a directory")
        if self.strict_permissions:
            _check_mode(self.key_dir, st, is_dir=True)

    def _read(self, path: Path) -> bytes:
        return _read_key_file(path, strict=self.strict_permissions)

    def _load_kek(self, version: int) -> AESGCM:
        path = self.key_dir / kek_file_name(version)
        aead = AESGCM(_decode_raw_key(path, self._read(path)))
        self._aeads[version] = aead
        return aead

    def _load_audit_key(self) -> Ed25519PrivateKey:
        path = self.key_dir / AUDIT_KEY_FILE
        pem = self._read(path)
        try:
            key = serialization.load_pem_private_key(pem, password=None)
        except (ValueError, TypeError) as exc:
            raise KeyConfigError(f"{path} is not an unencrypted PKCS#8 PEM private key") from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise KeyConfigError(f"{path} does not hold an Ed25519 key")
        return key

    def _aead(self, version: int) -> AESGCM:
        aead = self._aeads.get(version)
        if aead is not None:
            return aead
        with self._lock:  # another process (the CLI) may have created it since we started
            if version in self._aeads:
                return self._aeads[version]
            path = self.key_dir / kek_file_name(version)
            if not path.exists():
                raise UnknownKeyVersion(version, path)
            return self._load_kek(version)

    def refresh(self) -> None:
        """Pick up KEK versions created by another process (e.g. `caseapp keys rotate`) and drop retired ones."""
        with self._lock:
            on_disk = set(_kek_versions_on_disk(self.key_dir))
            for version in list(self._aeads):
                if version not in on_disk:
                    del self._aeads[version]
            for version in sorted(on_disk - set(self._aeads)):
                self._load_kek(version)

    # -- KeyProvider

    def active_kek_version(self) -> int:
        """Highest KEK version; rescans the directory so a rotation by the CLI is seen without a restart."""
        self.refresh()
        with self._lock:
            if not self._aeads:
                raise KeyConfigError(f"no KEK file left in {self.key_dir}; {_INIT_HINT}")
            return max(self._aeads)

    def kek_versions(self) -> list[int]:
        self.refresh()
        with self._lock:
            return sorted(self._aeads)

    def wrap_data_key(self, version: int, data_key: bytes, aad: bytes) -> bytes:
        if len(data_key) != KEY_BYTES:
            raise ValueError(f"data key must be {KEY_BYTES} bytes")
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead(version).encrypt(nonce, data_key, aad)

    def unwrap_data_key(self, version: int, wrapped: bytes, aad: bytes) -> bytes:
        aead = self._aead(version)
        if len(wrapped) != NONCE_BYTES + KEY_BYTES + 16:
            raise KeyUnwrapError(
                f"wrapped data key has {len(wrapped)} bytes, expected {NONCE_BYTES + KEY_BYTES + 16}"
            )
        try:
            return aead.decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], aad)
        except InvalidTag as exc:
            raise KeyUnwrapError(
                f"wrapped data key does not authenticate under KEK v{version} "
                "(tampered, or copied from another owner)"
            ) from exc

    def create_kek_version(self) -> int:
        with self._lock:
            self._check_dir()
            while True:
                existing = _kek_versions_on_disk(self.key_dir)
                version = (max(existing) if existing else 0) + 1
                if _write_new_file(self.key_dir / kek_file_name(version), _new_raw_key_text()):
                    break  # else another process won the race for this number: take the next
            self._load_kek(version)
            return version

    def retire_kek_version(self, version: int) -> None:
        with self._lock:
            self.refresh()
            if version not in self._aeads:
                raise UnknownKeyVersion(version, self.key_dir / kek_file_name(version))
            if version == max(self._aeads):
                raise KeyConfigError(
                    f"KEK v{version} is the active version; create a new version and rewrap before retiring it"
                )
            path = self.key_dir / kek_file_name(version)
            # Overwriting in place gives no guarantee on journaling/CoW filesystems or SSDs; the unlink is
            # what matters here, and key backups must be rotated out separately (docs/crypto.md).
            os.unlink(path)
            _fsync_dir(self.key_dir)
            del self._aeads[version]

    def index_key(self) -> bytes:
        return self._index_key

    def audit_signing_key(self) -> Ed25519PrivateKey:
        return self._audit_key

    def audit_public_key(self) -> Ed25519PublicKey:
        return self._audit_key.public_key()
