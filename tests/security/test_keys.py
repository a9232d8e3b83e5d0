"""FileKeyProvider: key files, permissions, wrapping, KEK versions."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest

from caseapp.security.keys import (
    AUDIT_KEY_FILE,
    INDEX_KEY_FILE,
    FileKeyProvider,
    KeyConfigError,
    KeyProvider,
    KeyUnwrapError,
    UnknownKeyVersion,
    check_key_files,
    ensure_key_files,
    kek_file_name,
)

ALL_FILES = {"kek-v1.key", INDEX_KEY_FILE, AUDIT_KEY_FILE}


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def key_dir(tmp_path: Path) -> Path:
    d = tmp_path / "keys"
    ensure_key_files(d)
    return d


@pytest.fixture
def provider(key_dir: Path) -> FileKeyProvider:
    return FileKeyProvider(key_dir, strict_permissions=True)


def test_ensure_creates_private_files_even_with_open_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        created = ensure_key_files(tmp_path / "a" / "keys")
    finally:
        os.umask(old)
    d = tmp_path / "a" / "keys"
    assert set(created) == ALL_FILES
    assert set(os.listdir(d)) == ALL_FILES  # no temp files left behind
    assert mode(d) == 0o700
    for name in ALL_FILES:
        assert mode(d / name) == 0o600, name
    assert len(base64.b64decode((d / "kek-v1.key").read_bytes())) == 32
    assert (d / AUDIT_KEY_FILE).read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")


def test_ensure_twice_creates_nothing_and_never_overwrites(key_dir: Path) -> None:
    before = {n: (key_dir / n).read_bytes() for n in ALL_FILES}
    assert ensure_key_files(key_dir) == []
    assert {n: (key_dir / n).read_bytes() for n in ALL_FILES} == before


def test_ensure_recreates_only_what_is_missing(key_dir: Path) -> None:
    kek = (key_dir / "kek-v1.key").read_bytes()
    (key_dir / INDEX_KEY_FILE).unlink()
    assert ensure_key_files(key_dir) == [INDEX_KEY_FILE]
    assert (key_dir / "kek-v1.key").read_bytes() == kek


def test_provider_satisfies_protocol_and_check_passes(provider: FileKeyProvider, key_dir: Path) -> None:
    assert isinstance(provider, KeyProvider)
    check_key_files(key_dir)
    assert provider.kek_versions() == [1]
    assert provider.active_kek_version() == 1
    assert len(provider.index_key()) == 32


def test_strict_refuses_world_readable_file_with_clear_message(key_dir: Path) -> None:
    os.chmod(key_dir / "kek-v1.key", 0o644)
    with pytest.raises(KeyConfigError) as exc:
        FileKeyProvider(key_dir, strict_permissions=True)
    msg = str(exc.value)
    assert str(key_dir / "kek-v1.key") in msg
    assert "0644" in msg and "chmod 0600" in msg
    with pytest.raises(KeyConfigError):
        check_key_files(key_dir)
    FileKeyProvider(key_dir, strict_permissions=False)  # development mode tolerates it


@pytest.mark.parametrize("name", [INDEX_KEY_FILE, AUDIT_KEY_FILE])
def test_strict_refuses_group_readable_other_files(key_dir: Path, name: str) -> None:
    os.chmod(key_dir / name, 0o640)
    with pytest.raises(KeyConfigError, match=name):
        FileKeyProvider(key_dir, strict_permissions=True)


def test_strict_refuses_open_directory(key_dir: Path) -> None:
    os.chmod(key_dir, 0o755)  # noqa: S103 (the point of the test)
    with pytest.raises(KeyConfigError, match="chmod 0700"):
        FileKeyProvider(key_dir, strict_permissions=True)


def test_strict_refuses_files_owned_by_someone_else(key_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = os.getuid()
    monkeypatch.setattr(os, "getuid", lambda: real + 1)
    with pytest.raises(KeyConfigError, match="owned by uid"):
        FileKeyProvider(key_dir, strict_permissions=True)


def test_missing_directory_says_run_init(tmp_path: Path) -> None:
    with pytest.raises(KeyConfigError, match="caseapp init") as exc:
        FileKeyProvider(tmp_path / "nope", strict_permissions=True)
    assert str(tmp_path / "nope") in str(exc.value)


@pytest.mark.parametrize("name", ["kek-v1.key", INDEX_KEY_FILE, AUDIT_KEY_FILE])
def test_missing_file_names_path_and_says_run_init(key_dir: Path, name: str) -> None:
    (key_dir / name).unlink()
    with pytest.raises(KeyConfigError, match="caseapp init"):
        FileKeyProvider(key_dir, strict_permissions=True)


def test_malformed_key_file(key_dir: Path) -> None:
    (key_dir / INDEX_KEY_FILE).write_bytes(base64.b64encode(b"short"))
    with pytest.raises(KeyConfigError, match="expected 32"):
        FileKeyProvider(key_dir, strict_permissions=False)
    (key_dir / INDEX_KEY_FILE).write_bytes(b"not base64 !!")
    with pytest.raises(KeyConfigError, match="base64"):
        FileKeyProvider(key_dir, strict_permissions=False)


def test_wrap_unwrap_binds_aad(provider: FileKeyProvider) -> None:
    dk = os.urandom(32)
    wrapped = provider.wrap_data_key(1, dk, b"owner-a")
    assert len(wrapped) == 12 + 32 + 16
    assert provider.unwrap_data_key(1, wrapped, b"owner-a") == dk
    assert provider.wrap_data_key(1, dk, b"owner-a") != wrapped  # fresh nonce
    with pytest.raises(KeyUnwrapError):
        provider.unwrap_data_key(1, wrapped, b"owner-b")
    tampered = bytearray(wrapped)
    tampered[20] ^= 1
    with pytest.raises(KeyUnwrapError):
        provider.unwrap_data_key(1, bytes(tampered), b"owner-a")
    with pytest.raises(KeyUnwrapError):
        provider.unwrap_data_key(1, wrapped[:-1], b"owner-a")
    with pytest.raises(UnknownKeyVersion):
        provider.unwrap_data_key(7, wrapped, b"owner-a")


def test_create_and_retire_versions(provider: FileKeyProvider, key_dir: Path) -> None:
    dk = os.urandom(32)
    old = provider.wrap_data_key(1, dk, b"x")
    assert provider.create_kek_version() == 2
    assert mode(key_dir / kek_file_name(2)) == 0o600
    assert provider.active_kek_version() == 2
    assert provider.kek_versions() == [1, 2]
    with pytest.raises(KeyConfigError, match="active"):
        provider.retire_kek_version(2)
    provider.retire_kek_version(1)
    assert not (key_dir / kek_file_name(1)).exists()
    assert provider.kek_versions() == [2]
    with pytest.raises(UnknownKeyVersion) as exc:
        provider.unwrap_data_key(1, old, b"x")
    assert exc.value.version == 1
    assert isinstance(exc.value, KeyConfigError)
    with pytest.raises(UnknownKeyVersion):
        provider.retire_kek_version(1)
    FileKeyProvider(key_dir, strict_permissions=True)  # still a valid directory


def test_other_process_sees_new_version(provider: FileKeyProvider, key_dir: Path) -> None:
    cli = FileKeyProvider(key_dir, strict_permissions=True)  # e.g. `caseapp keys rotate`
    assert cli.create_kek_version() == 2
    wrapped = cli.wrap_data_key(2, b"k" * 32, b"a")
    assert provider.unwrap_data_key(2, wrapped, b"a") == b"k" * 32
    assert provider.active_kek_version() == 2


def test_concurrent_creators_never_clobber(key_dir: Path) -> None:
    a = FileKeyProvider(key_dir, strict_permissions=True)
    b = FileKeyProvider(key_dir, strict_permissions=True)
    assert {a.create_kek_version(), b.create_kek_version()} == {2, 3}


def test_audit_key_signs(provider: FileKeyProvider, key_dir: Path) -> None:
    sig = provider.audit_signing_key().sign(b"checkpoint")
    provider.audit_public_key().verify(sig, b"checkpoint")
    again = FileKeyProvider(key_dir, strict_permissions=True)
    again.audit_public_key().verify(sig, b"checkpoint")  # same key after reload


def test_wrong_audit_key_type(key_dir: Path) -> None:
    (key_dir / AUDIT_KEY_FILE).write_bytes(b"garbage")
    with pytest.raises(KeyConfigError, match="PEM"):
        FileKeyProvider(key_dir, strict_permissions=False)


def test_kek_file_name_validates() -> None:
    assert kek_file_name(12) == "kek-v12.key"
    for bad in (0, -1, True):
        with pytest.raises(ValueError):
            kek_file_name(bad)
