"""Field encryption, key ring, rotation, shredding and blind indexes."""

from __future__ import annotations

import logging
import os
import uuid
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given, settings
from hypothesis import strategies as st

from caseapp.security.crypto import (
    BLIND_INDEX_BYTES,
    FORMAT_VERSION,
    HEADER_BYTES,
    MIN_CIPHERTEXT_BYTES,
    PURPOSE_NAME_TOKEN,
    PURPOSE_PERSONNUMMER,
    BlindIndexer,
    CryptoError,
    DataKey,
    DataKeyCache,
    DataKeyUnwrapError,
    DecryptionError,
    KeyRing,
    ShreddedError,
    UnknownDataKey,
    field_aad,
    name_tokens,
    peek_key_id,
    wrap_aad,
)
from caseapp.security.keys import FileKeyProvider, UnknownKeyVersion, ensure_key_files

KEY = DataKey.generate()
ROW = uuid.UUID("0b5c3d9e-6a53-4a43-9a53-4f1f5e2d1c10")
SECRET = "Orosanmälan: barnet berättar om våld i hemmet"


@pytest.fixture
def provider(tmp_path: Path) -> FileKeyProvider:
    ensure_key_files(tmp_path / "keys")
    return FileKeyProvider(tmp_path / "keys", strict_permissions=True)


@pytest.fixture
def ring(provider: FileKeyProvider) -> KeyRing:
    return KeyRing(provider)


# ------------------------------------------------------------------------------------------- round trips

long_text = st.builds(
    lambda s, n: (s * n)[:100_000], st.text(min_size=1, max_size=8), st.integers(0, 100_000)
)


@settings(max_examples=200)
@given(text=st.one_of(st.text(), long_text), row=st.one_of(st.uuids(), st.text(min_size=1), st.integers()))
def test_round_trip_any_text(text: str, row: uuid.UUID | str | int) -> None:
    blob = KEY.encrypt(text, "person", "name", row)
    assert isinstance(blob, bytes)
    assert len(blob) == MIN_CIPHERTEXT_BYTES + len(text.encode())
    assert KEY.decrypt(blob, "person", "name", row) == text


def test_round_trip_100k_chars() -> None:
    text = "Åäö ✓ 𝔘 " * 12_500
    assert len(text) == 100_000
    assert KEY.decrypt(KEY.encrypt(text, "journal", "text", ROW), "journal", "text", ROW) == text


def test_none_and_empty_are_distinct() -> None:
    assert KEY.encrypt(None, "person", "name", ROW) is None
    assert KEY.decrypt(None, "person", "name", ROW) is None
    empty = KEY.encrypt("", "person", "name", ROW)
    assert empty is not None and len(empty) == MIN_CIPHERTEXT_BYTES
    assert KEY.decrypt(empty, "person", "name", ROW) == ""


def test_header_layout() -> None:
    blob = KEY.encrypt("x", "person", "name", ROW)
    assert blob[0] == FORMAT_VERSION == 1
    assert blob[1:17] == KEY.key_id.bytes
    assert peek_key_id(blob) == KEY.key_id
    with pytest.raises(CryptoError):
        peek_key_id(b"\x02" + blob[1:])


@pytest.mark.parametrize("row", [ROW, "case-42", 42])
def test_format_matches_spec(row: uuid.UUID | str | int) -> None:
    """version | key id | nonce | ct||tag, AAD = field_aad(...): decryptable with plain AESGCM."""
    raw = os.urandom(32)
    key = DataKey(uuid.uuid4(), raw)
    blob = key.encrypt("hej", "person", "name", row)
    aad = field_aad(key.key_id, "person", "name", row)
    assert aad.startswith(
        b"\x00\x00\x00\x01\x01\x00\x00\x00\x10" + key.key_id.bytes + b"\x00\x00\x00\x06person"
    )
    assert AESGCM(raw).decrypt(blob[17:29], blob[29:], aad) == b"hej"


def test_row_id_forms_are_canonical() -> None:
    blob = KEY.encrypt("x", "person", "name", ROW)
    assert KEY.decrypt(blob, "person", "name", str(ROW)) == "x"
    assert KEY.decrypt(blob, "person", "name", str(ROW).upper()) == "x"
    assert KEY.decrypt(blob, "person", "name", ROW.hex) == "x"


def test_nonces_unique() -> None:
    blobs = [KEY.encrypt(SECRET, "person", "name", ROW) for _ in range(20_000)]
    nonces = {b[1 + 16 : HEADER_BYTES] for b in blobs}
    assert len(nonces) == len(blobs)
    assert len(set(blobs)) == len(blobs)


def test_nonces_from_threads_are_unique() -> None:
    """The nonce pool hands each nonce out once, also when threads refill it at the same time."""
    import threading

    from caseapp.security import crypto

    taken: list[list[bytes]] = [[] for _ in range(4)]

    def work(out: list[bytes]) -> None:
        for _ in range(5_000):
            out.append(crypto._nonce())

    threads = [threading.Thread(target=work, args=(out,)) for out in taken]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    every = [n for out in taken for n in out]
    assert len(every) == 20_000 and len(set(every)) == 20_000
    assert all(len(n) == 12 for n in every)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_forked_child_does_not_reuse_the_parents_nonces() -> None:
    """A worker forked from a process that had nonces pooled (gunicorn --preload) draws its own."""
    from caseapp.security import crypto

    crypto._nonce()  # the parent now holds a pool of unused nonces
    parent_next = list(crypto._nonces._pool)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its next nonces and leave without running pytest's exit handlers
        try:
            os.close(read)
            os.write(write, b"".join(crypto._nonce() for _ in range(50)))
        finally:
            os._exit(0)
    os.close(write)
    child = b""
    while chunk := os.read(read, 4096):
        child += chunk
    os.close(read)
    os.waitpid(pid, 0)
    child_nonces = {child[i:i + 12] for i in range(0, len(child), 12)}
    assert len(child_nonces) == 50
    assert not child_nonces & set(parent_next)


def test_rejects_non_str() -> None:
    with pytest.raises(TypeError):
        KEY.encrypt(b"bytes", "person", "name", ROW)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        KEY.encrypt("x", "person", "name", 1.5)  # type: ignore[arg-type]


def test_bytes_api() -> None:
    blob = KEY.encrypt_bytes(b"\xff\x00", "doc", "body", ROW)
    assert KEY.decrypt_bytes(blob, "doc", "body", ROW) == b"\xff\x00"
    with pytest.raises(DecryptionError, match="UTF-8"):
        KEY.decrypt(blob, "doc", "body", ROW)


# ------------------------------------------------------------------------------------- misplaced ciphertext

OTHER_ROW = uuid.UUID("6f1d6a52-0000-4000-8000-000000000001")


@pytest.mark.parametrize(
    ("table", "column", "row"),
    [
        ("person", "name", OTHER_ROW),  # another row
        ("person", "address", ROW),  # another column
        ("journal", "name", ROW),  # another table
        ("personn", "ame", ROW),  # same concatenation, different split
    ],
)
def test_copied_ciphertext_fails_naming_the_record(table: str, column: str, row: uuid.UUID, caplog) -> None:
    blob = KEY.encrypt(SECRET, "person", "name", ROW)
    with (
        caplog.at_level(logging.WARNING, logger="caseapp.security.crypto"),
        pytest.raises(DecryptionError) as exc,
    ):
        KEY.decrypt(blob, table, column, row)
    err = exc.value
    assert (err.table, err.column, err.row_id) == (table, column, row)
    msg = str(err)
    assert f"{table}.{column}" in msg and str(row) in msg
    assert SECRET not in msg and "våld" not in caplog.text
    assert str(row) in caplog.text


def test_other_persons_key_fails() -> None:
    blob = KEY.encrypt(SECRET, "person", "name", ROW)
    with pytest.raises(DecryptionError, match="another data key"):
        DataKey.generate().decrypt(blob, "person", "name", ROW)


def test_same_key_id_wrong_key_material_fails() -> None:
    impostor = DataKey(KEY.key_id, os.urandom(32))
    with pytest.raises(DecryptionError, match="authentication failed"):
        impostor.decrypt(KEY.encrypt("x", "person", "name", ROW), "person", "name", ROW)


def test_every_flipped_byte_fails() -> None:
    blob = KEY.encrypt("Åsa", "person", "name", ROW)
    for i in range(len(blob)):
        for mask in (0x01, 0x80):
            bad = bytearray(blob)
            bad[i] ^= mask
            with pytest.raises(DecryptionError):
                KEY.decrypt(bytes(bad), "person", "name", ROW)


@given(text=st.text(max_size=200), data=st.data())
def test_flipped_byte_fails_property(text: str, data: st.DataObject) -> None:
    blob = bytearray(KEY.encrypt(text, "person", "name", ROW))
    i = data.draw(st.integers(0, len(blob) - 1))
    blob[i] ^= data.draw(st.integers(1, 255))
    with pytest.raises(DecryptionError):
        KEY.decrypt(bytes(blob), "person", "name", ROW)


def test_unknown_format_version_fails() -> None:
    blob = KEY.encrypt("x", "person", "name", ROW)
    for version in (0, 2, 255):
        with pytest.raises(DecryptionError, match=f"format version {version}"):
            KEY.decrypt(bytes([version]) + blob[1:], "person", "name", ROW)


def test_truncated_fails() -> None:
    blob = KEY.encrypt("hej", "person", "name", ROW)
    for n in range(len(blob)):
        with pytest.raises(DecryptionError):
            KEY.decrypt(blob[:n], "person", "name", ROW)
    with pytest.raises(DecryptionError):
        KEY.decrypt(blob + b"\x00", "person", "name", ROW)


def test_aad_is_length_prefixed() -> None:
    k = uuid.uuid4()
    assert field_aad(k, "ab", "c", 1) != field_aad(k, "a", "bc", 1)
    assert field_aad(k, "a", "b", "1") == field_aad(k, "a", "b", 1)


# ------------------------------------------------------------------------------------------------ key ring


def test_new_data_key_unwraps_for_its_owner(ring: KeyRing) -> None:
    owner = uuid.uuid4()
    key, wrapped, version = ring.new_data_key(owner)
    assert version == 1
    blob = key.encrypt(SECRET, "person", "name", owner)
    again = ring.unwrap(owner, key.key_id, wrapped, version)
    assert again.key_id == key.key_id
    assert again.decrypt(blob, "person", "name", owner) == SECRET


def test_wrapped_key_copied_to_another_owner_fails(ring: KeyRing) -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    key, wrapped, version = ring.new_data_key(a)
    with pytest.raises(DataKeyUnwrapError) as exc:
        ring.unwrap(b, key.key_id, wrapped, version)
    assert str(b) in str(exc.value) and exc.value.kek_version == 1
    with pytest.raises(DataKeyUnwrapError):  # relabelled with another key id
        ring.unwrap(a, uuid.uuid4(), wrapped, version)


def test_wrap_aad_binds_owner_version_and_key() -> None:
    k = uuid.uuid4()
    base = wrap_aad("o", 1, k)
    assert base != wrap_aad("p", 1, k)
    assert base != wrap_aad("o", 2, k)
    assert base != wrap_aad("o", 1, uuid.uuid4())


def test_shredded_key(ring: KeyRing) -> None:
    owner = uuid.uuid4()
    key, _, version = ring.new_data_key(owner)
    with pytest.raises(ShreddedError, match="shredded"):
        ring.unwrap(owner, key.key_id, None, version)


def test_request_cache(ring: KeyRing) -> None:
    owner = uuid.uuid4()
    key, wrapped, version = ring.new_data_key(owner)
    cache = DataKeyCache()
    with pytest.raises(UnknownDataKey):
        cache.require(key.key_id)
    first = ring.unwrap(owner, key.key_id, wrapped, version, cache=cache)
    assert ring.unwrap(owner, key.key_id, wrapped, version, cache=cache) is first
    assert cache.require(key.key_id) is first and key.key_id in cache and len(cache) == 1
    cache.clear()
    assert cache.get(key.key_id) is None


def test_rotation_rewrap_then_retire(ring: KeyRing, provider: FileKeyProvider) -> None:
    owners = [uuid.uuid4() for _ in range(5)]
    records = []
    for owner in owners:
        key, wrapped, version = ring.new_data_key(owner)
        records.append(
            (owner, key.key_id, wrapped, version, key.encrypt(f"namn {owner}", "person", "name", owner))
        )

    assert provider.create_kek_version() == 2
    assert ring.new_data_key(uuid.uuid4())[2] == 2  # new keys use the new version at once
    rewrapped = [(o, k, ring.rewrap(o, k, w, v), blob) for o, k, w, v, blob in records]

    provider.retire_kek_version(1)
    for owner, key_id, wrapped, blob in rewrapped:
        key = ring.unwrap(owner, key_id, wrapped, 2)
        assert key.decrypt(blob, "person", "name", owner) == f"namn {owner}"  # fields untouched
    owner, key_id, old_wrapped, _, _ = records[0]
    with pytest.raises(UnknownKeyVersion):
        ring.unwrap(owner, key_id, old_wrapped, 1)


def test_rewrap_checks_owner(ring: KeyRing) -> None:
    owner = uuid.uuid4()
    key, wrapped, version = ring.new_data_key(owner)
    with pytest.raises(DataKeyUnwrapError):
        ring.rewrap(uuid.uuid4(), key.key_id, wrapped, version, 1)


def test_data_key_validation_and_repr() -> None:
    with pytest.raises(ValueError):
        DataKey(uuid.uuid4(), b"short")
    assert repr(KEY) == f"DataKey({KEY.key_id})"


# ------------------------------------------------------------------------------------------- blind indexes


def test_blind_index_stable_and_separated() -> None:
    key = os.urandom(32)
    a, b = BlindIndexer(key), BlindIndexer(key)
    pnr = "189001019802"
    idx = a.compute(PURPOSE_PERSONNUMMER, pnr)
    assert len(idx) == BLIND_INDEX_BYTES == 8
    assert (
        idx == a.compute(PURPOSE_PERSONNUMMER, pnr) == b.personnummer_index(pnr)
    )  # stable, cached MAC reusable
    assert idx != a.compute(PURPOSE_NAME_TOKEN, pnr)  # per-purpose subkeys
    assert idx != BlindIndexer(os.urandom(32)).compute(PURPOSE_PERSONNUMMER, pnr)  # per index key
    assert idx != a.compute(PURPOSE_PERSONNUMMER, "189001019803")
    with pytest.raises(ValueError):
        BlindIndexer(b"too short")


@pytest.mark.parametrize(
    ("name", "tokens"),
    [
        ("Åsa", {"asa"}),
        ("Müller", {"muller"}),
        ("Lind-Öberg", {"lind", "oberg"}),
        ("  ÅSA   lind–öberg ", {"asa", "lind", "oberg"}),
        ("Søren O'Brien", {"soren", "obrien"}),
        ("Straße", {"strasse"}),
        ("", set()),
        (" - ", set()),
    ],
)
def test_name_tokens(name: str, tokens: set[str]) -> None:
    assert name_tokens(name) == tokens


def test_name_token_indexes_fold_case_and_accents() -> None:
    ix = BlindIndexer(os.urandom(32))
    got = ix.name_token_indexes("Åsa Lind-Öberg")
    assert got == ix.name_token_indexes("asa LIND oberg") == sorted(got)
    assert len(got) == 3
    assert ix.compute(PURPOSE_NAME_TOKEN, "asa") in got
