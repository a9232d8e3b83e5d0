"""Field encryption: per-owner data keys, AES-256-GCM with location-bound AAD, key ring, blind indexes.

Ciphertext layout (all fields fixed length, stored as bytes)::

    version (1 byte, FORMAT_VERSION) | key id (16 bytes, data key UUID) | nonce (12 bytes) | ciphertext | tag (16)

The AAD is a length-prefixed encoding (4-byte big-endian length + bytes per part) of
(format version, key id, table, column, row id), so a ciphertext copied to another row, column or
table, or decrypted with another owner's data key, fails loudly with `DecryptionError`.

This module is a plain library: no Flask import.
"""

from __future__ import annotations

import logging
import os
import struct
import unicodedata
import uuid
from collections.abc import Iterable
from typing import NoReturn

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from caseapp.security.keys import KEY_BYTES, KeyProvider, KeyUnwrapError

__all__ = [
    "BLIND_INDEX_BYTES",
    "FORMAT_VERSION",
    "HEADER_BYTES",
    "MIN_CIPHERTEXT_BYTES",
    "PURPOSE_NAME_TOKEN",
    "PURPOSE_PERSONNUMMER",
    "BlindIndexer",
    "CryptoError",
    "DataKey",
    "DataKeyCache",
    "DataKeyUnwrapError",
    "DecryptionError",
    "KeyRing",
    "RowId",
    "ShreddedError",
    "UnknownDataKey",
    "field_aad",
    "name_tokens",
    "peek_key_id",
    "uuid_location_prefix",
    "wrap_aad",
    "wrap_aad_uuid_bytes",
]

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
NONCE_BYTES = 12
TAG_BYTES = 16
KEY_ID_BYTES = 16
HEADER_BYTES = 1 + KEY_ID_BYTES + NONCE_BYTES
MIN_CIPHERTEXT_BYTES = HEADER_BYTES + TAG_BYTES

#: Blind index length in bytes (64 bits). See docs/crypto.md: false positives are negligible (~5e-14 per
#: lookup at 1M people), and shorter truncations would not hide equality at our scale without making
#: every search decrypt dozens of false candidates.
BLIND_INDEX_BYTES = 8
PURPOSE_PERSONNUMMER = "person.personnummer"
PURPOSE_NAME_TOKEN = "person.name_token"  # noqa: S105 (a label, not a secret)

RowId = uuid.UUID | str | int
_WRAP_CONTEXT = b"caseapp/data-key-wrap/v1"
_INDEX_CONTEXT = b"caseapp/blind-index/v1:"
_LEN = struct.Struct(">I")
_TAMPERED = "authentication failed (tampered, or copied from another row/column)"


class _NoncePool:
    """Fresh random 96-bit GCM nonces, fetched from the OS random generator 256 at a time.

    Every nonce is still 12 bytes straight from `os.urandom` (random nonces, as docs/crypto.md says); only the
    system call is shared by 256 of them (a getrandom call per field cost as much as the AES-GCM work itself).
    `list.pop` is atomic, so two threads never take the same nonce. A forked child drops the pool it
    inherited (`os.register_at_fork`): otherwise parent and child would hand out the same nonces."""

    BATCH = 256

    def __init__(self) -> None:
        self._pool: list[bytes] = []
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self.clear)

    def clear(self) -> None:
        self._pool = []

    def take(self) -> bytes:
        try:
            return self._pool.pop()
        except IndexError:
            raw = os.urandom(NONCE_BYTES * self.BATCH)
            fresh = [raw[i:i + NONCE_BYTES] for i in range(0, len(raw), NONCE_BYTES)]
            nonce = fresh.pop()
            self._pool = fresh  # a concurrent refill only wastes a batch; each list's nonces go out once
            return nonce


_nonces = _NoncePool()
_nonce = _nonces.take


class CryptoError(Exception):
    """Base class of every field-encryption failure."""


class DecryptionError(CryptoError):
    """A field could not be decrypted. Names the record, never the plaintext."""

    def __init__(self, table: str, column: str, row_id: RowId, reason: str) -> None:
        self.table = table
        self.column = column
        self.row_id = row_id
        self.reason = reason
        super().__init__(f"cannot decrypt {table}.{column} of row {row_id}: {reason}")


class UnknownDataKey(CryptoError):
    """A ciphertext refers to a data key id that is not available (not in the cache / not the owner's key)."""

    def __init__(self, key_id: uuid.UUID, detail: str = "") -> None:
        self.key_id = key_id
        super().__init__(f"data key {key_id} is not available" + (f": {detail}" if detail else ""))


class ShreddedError(CryptoError):
    """The owner's wrapped data key was deleted (crypto-shredded); the data is gone for good."""

    def __init__(self, owner_id: RowId, key_id: uuid.UUID | None = None) -> None:
        self.owner_id = owner_id
        self.key_id = key_id
        super().__init__(f"the data key of {owner_id} has been shredded; its encrypted fields cannot be read")


class DataKeyUnwrapError(CryptoError):
    """A wrapped data key failed to unwrap for this owner (tampered, or copied from another owner)."""

    def __init__(self, owner_id: RowId, key_id: uuid.UUID, kek_version: int) -> None:
        self.owner_id = owner_id
        self.key_id = key_id
        self.kek_version = kek_version
        super().__init__(
            f"data key {key_id} of {owner_id} does not unwrap under KEK v{kek_version} "
            "(tampered, or copied from another owner)"
        )


# ---------------------------------------------------------------------------------------------------- AAD


def _lp(part: bytes) -> bytes:
    return _LEN.pack(len(part)) + part


def _row_id_bytes(row_id: RowId) -> bytes:
    """Canonical, type-tagged encoding of a row id.

    UUIDs (objects or their text in any case, with or without hyphens) become b"U" + the 16 UUID bytes, so
    ``uuid``, ``str(uuid)`` and ``uuid.hex`` agree; other ids become b"T" + UTF-8 text (ints as decimal).
    """
    if isinstance(row_id, uuid.UUID):
        return b"U" + row_id.bytes
    if isinstance(row_id, str):
        if len(row_id) in (32, 36):
            try:
                return b"U" + uuid.UUID(row_id).bytes
            except ValueError:
                pass
        return b"T" + row_id.encode("utf-8")
    if isinstance(row_id, int) and not isinstance(row_id, bool):
        return b"T" + str(row_id).encode()
    raise TypeError(f"row id must be a UUID, str or int, not {type(row_id).__name__}")


_TABLE_COLUMN: dict[tuple[str, str], bytes] = {}
#: (table, column) -> its AAD part followed by the length and tag of a UUID row id, so the hot path only
#: appends the 16 UUID bytes. Bounded by the schema (capped against misuse).
_UUID_LOCATION: dict[tuple[str, str], bytes] = {}
_UUID_ROW_PREFIX = _LEN.pack(17) + b"U"


def _location_aad(table: str, column: str, row_id: RowId) -> bytes:
    """The (table, column, row id) part of the AAD: the three parts, each length-prefixed."""
    tc = _TABLE_COLUMN.get((table, column))
    if tc is None:
        if not isinstance(table, str) or not isinstance(column, str) or not table or not column:
            raise ValueError("table and column must be non-empty strings")
        tc = _lp(table.encode()) + _lp(column.encode())
        if len(_TABLE_COLUMN) < 4096:
            _TABLE_COLUMN[(table, column)] = tc
            _UUID_LOCATION[(table, column)] = tc + _UUID_ROW_PREFIX
    return tc + _lp(_row_id_bytes(row_id))


def uuid_location_prefix(table: str, column: str) -> bytes:
    """The AAD's (table, column) part followed by the length and tag of a UUID row id. A column computes it
    once; the AAD of a UUID row is then the key's prefix + this + ``row_id.bytes``, byte for byte what
    `field_aad` gives (see `DataKey.encrypt_at` / `decrypt_at`)."""
    return _location_aad(table, column, 0)[:-len(_lp(b"T0"))] + _UUID_ROW_PREFIX


def field_aad(key_id: uuid.UUID, table: str, column: str, row_id: RowId) -> bytes:
    """AAD of a field: length-prefixed (format version, key id, table, column, row id)."""
    return _lp(bytes((FORMAT_VERSION,))) + _lp(key_id.bytes) + _location_aad(table, column, row_id)


_WRAP_PREFIX = _lp(_WRAP_CONTEXT)
_UUID_OWNER_PREFIX = _WRAP_PREFIX + _LEN.pack(17) + b"U"
_KEY_ID_LP = _LEN.pack(KEY_ID_BYTES)
_VERSION_BYTE = bytes((FORMAT_VERSION,))
_VERSION_LP = _lp(_VERSION_BYTE)


def wrap_aad(owner_id: RowId, kek_version: int, key_id: uuid.UUID) -> bytes:
    """AAD used when wrapping a data key: binds the owner, the KEK version and the data key id.

    A wrapped key copied into another owner's row, or relabelled with another key id or KEK version,
    fails to unwrap.
    """
    if owner_id.__class__ is uuid.UUID:  # the hot path (every person read): the same bytes, fewer calls
        return wrap_aad_uuid_bytes(owner_id.bytes, kek_version, key_id.bytes)
    return _WRAP_PREFIX + _lp(_row_id_bytes(owner_id)) + _lp(str(int(kek_version)).encode()) + _lp(key_id.bytes)


def wrap_aad_uuid_bytes(owner_uuid: bytes, kek_version: int, key_id: bytes) -> bytes:
    """`wrap_aad` of a UUID owner given as its 16 bytes and the key id as 16 bytes (bulk jobs that read
    the ids raw, e.g. `keys rotate`): byte for byte the same AAD."""
    if len(owner_uuid) != 16 or len(key_id) != KEY_ID_BYTES:
        raise ValueError("owner and key id must be 16 bytes each")
    middle = _WRAP_VERSION_PART.get(kek_version) if kek_version.__class__ is int else None
    if middle is None:
        version = str(int(kek_version)).encode()
        middle = _LEN.pack(len(version)) + version + _KEY_ID_LP
        if kek_version.__class__ is int and len(_WRAP_VERSION_PART) < 1024:
            _WRAP_VERSION_PART[kek_version] = middle
    return _UUID_OWNER_PREFIX + owner_uuid + middle + key_id


#: KEK version -> its length-prefixed AAD part and the key id's length prefix (every person read needs it).
_WRAP_VERSION_PART: dict[int, bytes] = {}


def peek_key_id(blob: bytes) -> uuid.UUID:
    """Key id in a ciphertext header (unauthenticated until decrypted). Raises `CryptoError` on a bad header."""
    if len(blob) < MIN_CIPHERTEXT_BYTES or blob[0] != FORMAT_VERSION:
        raise CryptoError("not a caseapp ciphertext of a known format version")
    return uuid.UUID(bytes=bytes(blob[1 : HEADER_BYTES - NONCE_BYTES]))


# ------------------------------------------------------------------------------------------------ data key


class DataKey:
    """One owner's AES-256 data key. Holds only the key id and a reusable `AESGCM` object."""

    __slots__ = ("_aad_prefix", "_aead", "_header", "_key_id")

    def __init__(self, key_id: uuid.UUID, key: bytes) -> None:
        self._setup(key_id.bytes, key)
        self._key_id = key_id

    def _setup(self, key_id_bytes: bytes, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError(f"data key must be {KEY_BYTES} bytes")
        if len(key_id_bytes) != KEY_ID_BYTES:
            raise ValueError(f"data key id must be {KEY_ID_BYTES} bytes")
        self._aead = AESGCM(key)
        self._header = _VERSION_BYTE + key_id_bytes
        self._aad_prefix = _VERSION_LP + _KEY_ID_LP + key_id_bytes

    @classmethod
    def of_id_bytes(cls, key_id_bytes: bytes, key: bytes) -> DataKey:
        """The same key as ``DataKey(uuid.UUID(bytes=key_id_bytes), key)``; the UUID object is made only if
        asked for (`key_id`), which the field hot path never does."""
        self = cls.__new__(cls)
        self._setup(key_id_bytes, key)
        self._key_id = None
        return self

    @property
    def key_id(self) -> uuid.UUID:
        key_id = self._key_id
        if key_id is None:
            key_id = self._key_id = uuid.UUID(bytes=self._header[1:])
        return key_id

    @classmethod
    def generate(cls) -> DataKey:
        """A fresh random key with a new random (v4) key id."""
        return cls(uuid.uuid4(), AESGCM.generate_key(bit_length=256))

    def __repr__(self) -> str:
        return f"DataKey({self.key_id})"

    # The str methods inline the bytes ones: they are the hot path of every encrypted column.
    # Header offsets: [0] version, [1:17] key id, [17:29] nonce, [29:] ciphertext||tag.

    def encrypt_bytes(self, plaintext: bytes, table: str, column: str, row_id: RowId) -> bytes:
        """Encrypt raw bytes for (table, column, row_id)."""
        nonce = _nonce()
        aad = self._aad_prefix + _location_aad(table, column, row_id)
        return self._header + nonce + self._aead.encrypt(nonce, plaintext, aad)

    def decrypt_bytes(self, blob: bytes, table: str, column: str, row_id: RowId) -> bytes:
        """Decrypt raw bytes; raises `DecryptionError` naming the record on any mismatch or tampering."""
        if blob[:17] != self._header or len(blob) < MIN_CIPHERTEXT_BYTES:
            self._bad_header(blob, table, column, row_id)
        try:
            return self._aead.decrypt(
                blob[17:HEADER_BYTES],
                blob[HEADER_BYTES:],
                self._aad_prefix + _location_aad(table, column, row_id),
            )
        except InvalidTag:
            self._fail(table, column, row_id, _TAMPERED)

    def encrypt(self, plaintext: str | None, table: str, column: str, row_id: RowId) -> bytes | None:
        """Encrypt a str field. None stays None; "" gives a real ciphertext."""
        if plaintext is None:
            return None
        if not isinstance(plaintext, str):
            raise TypeError(f"{table}.{column}: expected str, got {type(plaintext).__name__}")
        if row_id.__class__ is uuid.UUID and (loc := _UUID_LOCATION.get((table, column))) is not None:
            aad = self._aad_prefix + loc + row_id.bytes  # type: ignore[union-attr]
        else:
            aad = self._aad_prefix + _location_aad(table, column, row_id)
        nonce = _nonce()
        return self._header + nonce + self._aead.encrypt(nonce, plaintext.encode(), aad)

    def decrypt(self, blob: bytes | None, table: str, column: str, row_id: RowId) -> str | None:
        """Inverse of `encrypt`: None stays None; anything wrong raises `DecryptionError`."""
        if blob is None:
            return None
        if blob[:17] != self._header or len(blob) < MIN_CIPHERTEXT_BYTES:
            self._bad_header(blob, table, column, row_id)
        if row_id.__class__ is uuid.UUID and (loc := _UUID_LOCATION.get((table, column))) is not None:
            aad = self._aad_prefix + loc + row_id.bytes  # type: ignore[union-attr]
        else:
            aad = self._aad_prefix + _location_aad(table, column, row_id)
        try:
            data = self._aead.decrypt(blob[17:HEADER_BYTES], blob[HEADER_BYTES:], aad)
        except InvalidTag:
            self._fail(table, column, row_id, _TAMPERED)
        try:
            return data.decode()
        except UnicodeDecodeError:
            self._fail(table, column, row_id, "plaintext is not UTF-8 (written as bytes, read as str?)")

    def encrypt_at(self, plaintext: str, location: bytes, row_id: uuid.UUID, table: str, column: str) -> bytes:
        """`encrypt` for a UUID row with the column's precomputed `uuid_location_prefix(table, column)`
        (the field descriptor's hot path); the same ciphertext format and AAD."""
        nonce = _nonce()
        return self._header + nonce + self._aead.encrypt(
            nonce, plaintext.encode(), self._aad_prefix + location + row_id.bytes)

    def decrypt_at(self, blob: bytes, location: bytes, row_id: uuid.UUID, table: str, column: str) -> str:
        """`decrypt` for a UUID row with the column's precomputed location prefix; the same checks, and
        the same `DecryptionError` naming table, column and row."""
        if blob[:17] != self._header or len(blob) < MIN_CIPHERTEXT_BYTES:
            self._bad_header(blob, table, column, row_id)
        try:
            data = self._aead.decrypt(blob[17:HEADER_BYTES], blob[HEADER_BYTES:],
                                      self._aad_prefix + location + row_id.bytes)
        except InvalidTag:
            self._fail(table, column, row_id, _TAMPERED)
        try:
            return data.decode()
        except UnicodeDecodeError:
            self._fail(table, column, row_id, "plaintext is not UTF-8 (written as bytes, read as str?)")

    def _bad_header(self, blob: bytes, table: str, column: str, row_id: RowId) -> NoReturn:
        if len(blob) < MIN_CIPHERTEXT_BYTES:
            self._fail(table, column, row_id, f"ciphertext truncated ({len(blob)} bytes)")
        if blob[0] != FORMAT_VERSION:
            self._fail(table, column, row_id, f"unknown ciphertext format version {blob[0]}")
        self._fail(table, column, row_id, "encrypted under another data key (copied from another owner?)")

    def _fail(self, table: str, column: str, row_id: RowId, reason: str) -> NoReturn:
        err = DecryptionError(table, column, row_id, reason)
        log.warning("%s (data key %s)", err, self.key_id)
        raise err


# ------------------------------------------------------------------------------------------------ key ring


class DataKeyCache:
    """Unwrapped data keys for ONE request or one CLI job, keyed by key id.

    Never make this global or process-wide: keep it in ``flask.g`` (or a local variable in a job) so that
    plaintext keys live no longer than the request that needed them and a shredded key cannot linger.
    """

    __slots__ = ("_keys",)

    def __init__(self) -> None:
        self._keys: dict[uuid.UUID, DataKey] = {}

    def get(self, key_id: uuid.UUID) -> DataKey | None:
        return self._keys.get(key_id)

    def require(self, key_id: uuid.UUID) -> DataKey:
        """Like `get` but raises `UnknownDataKey`."""
        try:
            return self._keys[key_id]
        except KeyError:
            raise UnknownDataKey(key_id, "not loaded in this request") from None

    def put(self, key: DataKey) -> None:
        self._keys[key.key_id] = key

    def discard(self, key_id: uuid.UUID) -> None:
        self._keys.pop(key_id, None)

    def clear(self) -> None:
        self._keys.clear()

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, key_id: object) -> bool:
        return key_id in self._keys


class KeyRing:
    """Creates, unwraps and rewraps per-owner data keys through a `KeyProvider`."""

    def __init__(self, provider: KeyProvider) -> None:
        self.provider = provider

    def new_data_key(self, owner_id: RowId) -> tuple[DataKey, bytes, int]:
        """A new data key for `owner_id`: (key, wrapped key to store, KEK version used)."""
        version = self.provider.active_kek_version()
        raw = AESGCM.generate_key(bit_length=256)
        key = DataKey(uuid.uuid4(), raw)
        wrapped = self.provider.wrap_data_key(version, raw, wrap_aad(owner_id, version, key.key_id))
        return key, wrapped, version

    def unwrap(
        self,
        owner_id: RowId,
        key_id: uuid.UUID,
        wrapped: bytes | None,
        kek_version: int,
        cache: DataKeyCache | None = None,
    ) -> DataKey:
        """The owner's data key, from `cache` if present. `wrapped=None` means shredded (`ShreddedError`).

        Raises `DataKeyUnwrapError` if the wrapped key does not belong to this owner/key id/version, and
        `keys.UnknownKeyVersion` if the KEK version is not available.
        """
        if cache is not None and (hit := cache.get(key_id)) is not None:
            return hit
        if wrapped is None:
            raise ShreddedError(owner_id, key_id)
        try:
            raw = self.provider.unwrap_data_key(kek_version, wrapped, wrap_aad(owner_id, kek_version, key_id))
        except KeyUnwrapError as exc:
            err = DataKeyUnwrapError(owner_id, key_id, kek_version)
            log.warning("%s", err)
            raise err from exc
        key = DataKey(key_id, raw)
        if cache is not None:
            cache.put(key)
        return key

    def unwrap_id_bytes(self, owner_id: uuid.UUID, key_id_bytes: bytes, wrapped: bytes | None,
                        kek_version: int) -> DataKey:
        """`unwrap` (without a cache) for a UUID owner and the key id as its 16 bytes, as a key row read
        without type conversion gives it: the same checks, the same errors, the same key."""
        if wrapped is None:
            raise ShreddedError(owner_id, uuid.UUID(bytes=key_id_bytes))
        try:
            raw = self.provider.unwrap_data_key(
                kek_version, wrapped, wrap_aad_uuid_bytes(owner_id.bytes, kek_version, key_id_bytes))
        except KeyUnwrapError as exc:
            err = DataKeyUnwrapError(owner_id, uuid.UUID(bytes=key_id_bytes), kek_version)
            log.warning("%s", err)
            raise err from exc
        return DataKey.of_id_bytes(key_id_bytes, raw)

    def rewrap(
        self,
        owner_id: RowId,
        key_id: uuid.UUID,
        wrapped: bytes,
        from_version: int,
        to_version: int | None = None,
    ) -> bytes:
        """Unwrap with KEK `from_version`, wrap with `to_version` (default: active). Fields stay as they are."""
        if to_version is None:
            to_version = self.provider.active_kek_version()
        try:
            raw = self.provider.unwrap_data_key(
                from_version, wrapped, wrap_aad(owner_id, from_version, key_id)
            )
        except KeyUnwrapError as exc:
            raise DataKeyUnwrapError(owner_id, key_id, from_version) from exc
        return self.provider.wrap_data_key(to_version, raw, wrap_aad(owner_id, to_version, key_id))


# ------------------------------------------------------------------------------------------- blind indexes

_FOLD = str.maketrans({"ø": "o", "æ": "ae", "œ": "oe", "ð": "d", "þ": "th", "ł": "l", "đ": "d", "ı": "i"})
_SEPARATORS = str.maketrans(dict.fromkeys("-\u2010\u2011\u2012\u2013\u2014\u2015\u2212,;/", " "))


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return text.translate(_FOLD)


def name_tokens(full_name: str) -> set[str]:
    """Search tokens of a name: split on whitespace/hyphens, case- and accent-folded, punctuation dropped.

    ``"Åsa Lind-Öberg"`` -> ``{"asa", "lind", "oberg"}``.
    """
    tokens = set()
    for raw in _fold(full_name).translate(_SEPARATORS).split():
        token = "".join(ch for ch in raw if ch.isalnum())
        if token:
            tokens.add(token)
    return tokens


class BlindIndexer:
    """Keyed blind indexes: HMAC-SHA256 under an HKDF-derived per-purpose subkey, truncated to 8 bytes."""

    def __init__(self, index_key: bytes) -> None:
        if len(index_key) < 32:
            raise ValueError("index key must be at least 32 bytes")
        self._index_key = index_key
        self._macs: dict[str, hmac.HMAC] = {}

    def __repr__(self) -> str:
        return "BlindIndexer(<key>)"

    def _mac(self, purpose: str) -> hmac.HMAC:
        mac = self._macs.get(purpose)
        if mac is None:
            if not purpose:
                raise ValueError("purpose must be non-empty")
            subkey = HKDF(
                algorithm=hashes.SHA256(), length=32, salt=None, info=_INDEX_CONTEXT + purpose.encode()
            ).derive(self._index_key)
            mac = self._macs[purpose] = hmac.HMAC(subkey, hashes.SHA256())
        return mac.copy()

    def compute(self, purpose: str, normalised: str) -> bytes:
        """Index of an already normalised value (e.g. 12-digit personnummer, one name token)."""
        mac = self._mac(purpose)
        mac.update(normalised.encode("utf-8"))
        return mac.finalize()[:BLIND_INDEX_BYTES]

    def compute_many(self, purpose: str, values: Iterable[str]) -> list[bytes]:
        """Indexes of several values, sorted and de-duplicated."""
        return sorted({self.compute(purpose, v) for v in values})

    def personnummer_index(self, digits12: str) -> bytes:
        """Index of a normalised 12-digit identity number."""
        return self.compute(PURPOSE_PERSONNUMMER, digits12)

    def name_token_indexes(self, full_name: str, purpose: str = PURPOSE_NAME_TOKEN) -> list[bytes]:
        """One index per token of `name_tokens(full_name)`, sorted (the order carries no information)."""
        return self.compute_many(purpose, name_tokens(full_name))


# ----------------------------------------------------------------------------------------- system texts


def system_data_key(index_key: bytes, purpose: str) -> DataKey:
    """A data key for staff-written texts that belong to no single person (e.g. log-review notes),
    derived with HKDF from the index key under a per-purpose label. Same ciphertext format and location-bound
    AAD as person fields; not crypto-shreddable per person (these texts are kept with the audit log)."""
    label = f"caseapp/system-text/v1:{purpose}".encode()
    key = HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=label).derive(index_key)
    return DataKey(uuid.uuid5(uuid.NAMESPACE_URL, "caseapp:" + purpose), key)
